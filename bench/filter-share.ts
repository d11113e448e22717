import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { compileFilterPattern } from '../src/rules/filter-pattern';
import type { RulePack } from '../src/rules/rule-pack';

/**
 * Share of events the compiled subscription filter drops before Lambda. The compiled patterns
 * are an OR of quoted literals (`?"a" ?"b"`) or empty (deliver all), so CloudWatch's match is
 * "the message contains one of the terms, case-sensitively" — which is what this evaluates.
 */
export function filterShare(
  payloads: Iterable<SubscriptionPayload>,
  pack: RulePack,
): { delivered: number; total: number; perGroup: Map<string, { pattern: string; delivered: number; total: number }> } {
  const perGroup = new Map<string, { pattern: string; terms: string[]; delivered: number; total: number }>();
  for (const p of payloads) {
    let g = perGroup.get(p.logGroup);
    if (!g) {
      const { pattern } = compileFilterPattern(p.logGroup, pack.rules, pack.sources);
      g = { pattern, terms: termsOf(pattern), delivered: 0, total: 0 };
      perGroup.set(p.logGroup, g);
    }
    for (const e of p.logEvents) {
      g.total++;
      if (g.terms.length === 0 || g.terms.some((t) => e.message.includes(t))) g.delivered++;
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

function termsOf(pattern: string): string[] {
  return [...pattern.matchAll(/\?"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? '').replaceAll('\\"', '"').replaceAll('\\\\', '\\'));
}
