import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { type CompiledFilter, compileFilterPattern, filterPasses } from '../src/rules/filter-pattern';
import type { RulePack } from '../src/rules/rule-pack';
import type { DetectionRule, SourceDefinition } from '../src/schema/rule';

/** Each log group's compiled subscription filter, compiled the first time the group is asked for. */
function groupFilters(rules: readonly DetectionRule[], sources: readonly SourceDefinition[]): (logGroup: string) => CompiledFilter {
  const compiled = new Map<string, CompiledFilter>();
  return (logGroup) => {
    let filter = compiled.get(logGroup);
    if (!filter) {
      filter = compileFilterPattern(logGroup, rules, sources);
      compiled.set(logGroup, filter);
    }
    return filter;
  };
}

/** Share of events the compiled subscription filter drops before Lambda (read as CloudWatch reads it: filterPasses). */
export function filterShare(
  payloads: Iterable<SubscriptionPayload>,
  pack: RulePack,
): { delivered: number; total: number; perGroup: Map<string, { pattern: string; reason: string; delivered: number; total: number }> } {
  const filterOf = groupFilters(pack.rules, pack.sources);
  const perGroup = new Map<string, { pattern: string; reason: string; delivered: number; total: number }>();
  for (const p of payloads) {
    let g = perGroup.get(p.logGroup);
    if (!g) {
      g = { ...filterOf(p.logGroup), delivered: 0, total: 0 };
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
  const filterOf = groupFilters(rules, sources);
  const out: SubscriptionPayload[] = [];
  for (const p of payloads) {
    const { pattern } = filterOf(p.logGroup);
    const logEvents = p.logEvents.filter((e) => filterPasses(pattern, e.message));
    if (logEvents.length > 0) out.push({ ...p, logEvents });
  }
  return out;
}
