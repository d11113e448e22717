import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { compileFilterPattern, filterPasses } from '../src/rules/filter-pattern';
import type { RulePack } from '../src/rules/rule-pack';
import type { DetectionRule, SourceDefinition } from '../src/schema/rule';

/** Share of events the compiled subscription filter drops before Lambda (read as CloudWatch reads it: filterPasses). */
export function filterShare(
  payloads: Iterable<SubscriptionPayload>,
  pack: RulePack,
): { delivered: number; total: number; perGroup: Map<string, { pattern: string; reason: string; delivered: number; total: number }> } {
  const perGroup = new Map<string, { pattern: string; reason: string; delivered: number; total: number }>();
  for (const p of payloads) {
    let g = perGroup.get(p.logGroup);
    if (!g) {
      const { pattern, reason } = compileFilterPattern(p.logGroup, pack.rules, pack.sources);
      g = { pattern, reason, delivered: 0, total: 0 };
      perGroup.set(p.logGroup, g);
    }
    for (const e of p.logEvents) {
      g.total++;
      if (filterPasses(g.pattern, e.message)) g.delivered++;
    }
  }
  let delivered = 0;
  let total = 0;
  for (const g of perGroup.values()) {
    delivered += g.delivered;
    total += g.total;
  }
  return { delivered, total, perGroup };
}

/**
 * The payloads as CloudWatch would deliver them under the rules' compiled filters: each payload's
 * events the group's pattern passes, and no payload whose every event it drops.
 */
export function deliveredPayloads(
  payloads: Iterable<SubscriptionPayload>,
  rules: readonly DetectionRule[],
  sources: readonly SourceDefinition[],
): SubscriptionPayload[] {
  const patterns = new Map<string, string>();
  const out: SubscriptionPayload[] = [];
  for (const p of payloads) {
    let pattern = patterns.get(p.logGroup);
    if (pattern === undefined) {
      pattern = compileFilterPattern(p.logGroup, rules, sources).pattern;
      patterns.set(p.logGroup, pattern);
    }
    const passing = pattern;
    const logEvents = p.logEvents.filter((e) => filterPasses(passing, e.message));
    if (logEvents.length > 0) out.push({ ...p, logEvents });
  }
  return out;
}
