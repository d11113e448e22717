import { asNumber } from './selection';

/** A numeric range: what a selection's `gt` / `gte` / `lt` / `lte` conditions on one field leave together. */
export interface NumericRange {
  low: number;
  lowInclusive: boolean;
  high: number;
  highInclusive: boolean;
}

const COMPARISONS: ReadonlySet<string> = new Set(['gt', 'gte', 'lt', 'lte']);

/**
 * The range each field's comparisons in one map of AND-ed conditions leave (their intersection),
 * read as the predicate reads them (selection.ts: one number, or a string that is one); conditions
 * it refuses are left out. Shared by the rule index (a range key) and the subscription filter
 * (a decimal block a line must hold), so both read a rule's ranges alike.
 */
export function selectionRanges(selection: Record<string, unknown>): Map<string, NumericRange> {
  const ranges = new Map<string, NumericRange>();
  for (const [key, value] of Object.entries(selection)) {
    const [field = '', ...mods] = key.split('|');
    const op = mods.find((m) => COMPARISONS.has(m));
    if (op === undefined) continue;
    const list = Array.isArray(value) ? value : [value];
    const only = list.length === 1 ? list[0] : undefined;
    const bound = typeof only === 'number' || typeof only === 'string' ? asNumber(only) : undefined;
    if (bound === undefined) continue;
    const r = ranges.get(field) ?? {
      low: Number.NEGATIVE_INFINITY,
      lowInclusive: true,
      high: Number.POSITIVE_INFINITY,
      highInclusive: true,
    };
    if (op === 'gt' || op === 'gte') {
      if (bound > r.low || (bound === r.low && op === 'gt')) {
        r.low = bound;
        r.lowInclusive = op === 'gte';
      }
    } else if (bound < r.high || (bound === r.high && op === 'lt')) {
      r.high = bound;
      r.highInclusive = op === 'lte';
    }
    ranges.set(field, r);
  }
  return ranges;
}
