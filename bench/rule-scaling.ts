import type { CompiledRule } from '../src/rules/compile';
import type { NormalizedEvent } from '../src/schema/event';
import type { DetectionRule } from '../src/schema/rule';

/**
 * Rule packs for the scaling benchmark.
 *
 * `representative`: the shipped rules that carry the workload, taken round-robin across its log
 * groups by how many events each matches — so even the 10-rule row does the work the traffic
 * asks for (nginx, flows, Lambda, identity …), not only rules that never fire.
 *
 * `scaledRules`: that base, then the rest of the shipped rules, then variants. A variant keeps its
 * rule's shape (fields, modifiers, kind, window) but every literal changes — strings get a
 * suffix, numbers move out of any real range, booleans become strings no value equals, CIDRs move
 * to an unused network — as a large real pack is many rules over different actions, users and
 * paths: variants go through the same index and predicates and select disjoint (here: no)
 * traffic, so matches and alerts stay flat as the pack grows.
 */
export function representativeRules(
  shipped: readonly DetectionRule[],
  matchesByGroup: ReadonlyMap<string, ReadonlyMap<string, number>>,
  size: number,
): DetectionRule[] {
  const byId = new Map(shipped.map((r) => [r.id, r]));
  // An absence rule matches every event of its kind but only notes, once per refresh, that they
  // still arrive: it carries none of the per-event work, so it comes after the rules that do.
  const heartbeat = (id: string) => (byId.get(id)?.absence ? 1 : 0);
  const queues = [...matchesByGroup.values()].map((hits) =>
    [...hits].sort((a, b) => heartbeat(a[0]) - heartbeat(b[0]) || b[1] - a[1] || a[0].localeCompare(b[0])).map(([id]) => id),
  );
  const chosen: string[] = [];
  for (let round = 0; chosen.length < size && queues.some((q) => q.length > round); round++) {
    for (const q of queues) {
      const id = q[round];
      if (id && !chosen.includes(id) && chosen.length < size) chosen.push(id);
    }
  }
  for (const r of shipped) if (chosen.length < size && !chosen.includes(r.id)) chosen.push(r.id);
  return chosen.flatMap((id) => byId.get(id) ?? []);
}

/** Events each rule matches, per log group: the input of `representativeRules`. */
export function matchesByGroup(
  batches: Iterable<NormalizedEvent[]>,
  matchAll: (events: NormalizedEvent[]) => Map<CompiledRule, NormalizedEvent[]>,
): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const events of batches) {
    const group = String(events[0]?.['cloudwatch.log_group'] ?? '');
    const hits = out.get(group) ?? new Map<string, number>();
    for (const [rule, list] of matchAll(events)) hits.set(rule.rule.id, (hits.get(rule.rule.id) ?? 0) + list.length);
    out.set(group, hits);
  }
  return out;
}

export function scaledRules(base: readonly DetectionRule[], size: number): DetectionRule[] {
  const rules: DetectionRule[] = base.slice(0, size);
  for (let k = 1; rules.length < size; k++) {
    for (const rule of base) {
      if (rules.length >= size) break;
      rules.push({
        ...structuredClone(rule),
        id: `${rule.id}_v${k}`,
        match: perturb(rule.match, k),
        ...(rule.sequence
          ? { sequence: { ...rule.sequence, steps: rule.sequence.steps.map((s) => ({ ...s, match: perturb(s.match, k) })) } }
          : {}),
      });
    }
  }
  return rules;
}

/** Every literal of a selection changed so the variant selects no real traffic. */
export function perturb(selection: Record<string, unknown>, k: number): Record<string, unknown> {
  const walk = (key: string, value: unknown): unknown => {
    const mods = key.split('|').slice(1);
    if (mods.includes('expand')) return value; // a named list with no values (src/rules/value-lists.ts): nothing to vary
    if (mods.includes('cidr')) return `100.${64 + (k % 64)}.${k % 256}.0/24`; // carrier-grade NAT space: nothing logs it here
    if (mods.includes('exists') || mods.includes('fieldref')) return value;
    if (typeof value === 'string') return `${value}_v${k}`;
    if (typeof value === 'number') {
      // Comparisons move past any value the traffic has; equalities to a value it never has.
      if (mods.includes('lt') || mods.includes('lte')) return value - 1e9 * k;
      return value + 1e9 * k;
    }
    if (typeof value === 'boolean') return `${value}_v${k}`;
    if (Array.isArray(value)) return value.map((v) => walk(key, v));
    if (value && typeof value === 'object') return perturb(Object.fromEntries(Object.entries(value)), k);
    return value; // null: the field is absent — a shape, not a literal
  };
  return Object.fromEntries(Object.entries(selection).map(([key, v]) => [key, walk(key, v)]));
}

/** The shipped rules in representative order for this workload (see `representativeRules`). */
export function workloadOrder(
  shipped: readonly DetectionRule[],
  batches: Iterable<NormalizedEvent[]>,
  matchAll: (events: NormalizedEvent[]) => Map<CompiledRule, NormalizedEvent[]>,
): DetectionRule[] {
  return representativeRules(shipped, matchesByGroup(batches, matchAll), shipped.length);
}
