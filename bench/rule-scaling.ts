import type { DetectionRule } from '../src/schema/rule';

/**
 * A rule pack of `size` rules for the scaling benchmark: the shipped rules first, then variants
 * of them. A variant keeps its rule's shape (fields, modifiers, kind, window) but every literal
 * gets a suffix, as a large real pack is many rules over different actions, users and paths:
 * variants go through the same index and predicates and almost never match.
 */
export function scaledRules(shipped: readonly DetectionRule[], size: number): DetectionRule[] {
  const rules: DetectionRule[] = shipped.slice(0, size);
  for (let k = 1; rules.length < size; k++) {
    for (const rule of shipped) {
      if (rules.length >= size) break;
      rules.push({ ...structuredClone(rule), id: `${rule.id}_v${k}`, match: perturb(rule.match, `_v${k}`) });
    }
  }
  return rules;
}

function perturb(selection: Record<string, unknown>, suffix: string): Record<string, unknown> {
  const walk = (key: string, value: unknown): unknown => {
    if (key.includes('|cidr')) return value; // a suffixed CIDR is not a CIDR
    if (typeof value === 'string') return `${value}${suffix}`;
    if (Array.isArray(value)) return value.map((v) => walk(key, v));
    if (value && typeof value === 'object') return perturb(Object.fromEntries(Object.entries(value)), suffix);
    return value; // numbers, booleans, null: comparisons stay as they are
  };
  return Object.fromEntries(Object.entries(selection).map(([k, v]) => [k, walk(k, v)]));
}
