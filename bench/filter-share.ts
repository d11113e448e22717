import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { compileFilterPattern, filterPasses } from '../src/rules/filter-pattern';
import type { RulePack } from '../src/rules/rule-pack';

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
