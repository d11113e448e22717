/**
 * Who a state item is for, read from its key: the rule whose counters, sets, terms, watch or
 * conditions it holds, or the part of the engine that keeps it. What `detect backtest` sums its
 * state writes by, so a team sees which rule its DynamoDB bill would come from on its own logs.
 */

/** Key prefixes of items a rule owns: `<prefix>#<rule id>#…` (see each kind's key function). */
const RULE_PREFIXES: ReadonlySet<string> = new Set([
  't', // threshold counters (evaluators/threshold.ts)
  'p', // spike counters (evaluators/spike.ts)
  'd', // distinct-value sets (evaluators/distinct.ts)
  's', // sequence steps (evaluators/sequence.ts)
  'n', // first-seen terms (evaluators/new-term.ts)
  'a', // absence watches (absence.ts)
  'c', // a rule's conditions: the alert lifecycle (conditions.ts)
  'outbreak', // its outbreak decisions (outbreak.ts)
  'learn', // since when it has watched an account (term-learning.ts)
]);

/** Items of the engine as a whole, by key prefix. */
const ENGINE_ITEMS: Readonly<Record<string, string>> = {
  page: '(pages per entity)',
  dg: '(review digests)',
  un: '(user names)',
  lag: '(delivery lags)',
  exceptions: '(exceptions)',
  acks: '(acknowledgements)',
  'pd-applied': "(PagerDuty's events applied)",
  risk: '(correlation risk records)',
};

const AT = 64;
const PACKED = 'pack#';

/** A batch's receipt (its recorded messages), keyed by the batch id alone. */
export const RECEIPTS_OWNER = '(batch receipts)';

/** The rule id an item belongs to, or a parenthesized name of the engine's part that keeps it. */
export function stateKeyOwner(key: string): string {
  // A key scoped to an account (`@<account>|risk#…`, ./entity-scope.ts) is owned as its unscoped form.
  const scoped = key.charCodeAt(0) === AT ? key.slice(key.indexOf('|') + 1) : key;
  // A packed item (`pack#<kind>#<rule>#<shard>`, ./packed-state.ts) is its rule's as its entries' keys are.
  const pk = scoped.startsWith(PACKED) ? scoped.slice(PACKED.length) : scoped;
  const first = pk.indexOf('#');
  const prefix = first === -1 ? pk : pk.slice(0, first);
  if (RULE_PREFIXES.has(prefix)) {
    const second = pk.indexOf('#', first + 1);
    return second === -1 ? '(other)' : pk.slice(first + 1, second);
  }
  return ENGINE_ITEMS[prefix] ?? '(other)';
}

/** Writes per owner (stateKeyOwner), as a store counts its write calls. */
export class WritesByOwner {
  private readonly byOwner = new Map<string, number>();

  /** `n` write calls to items under `pk`. */
  add(pk: string, n = 1): void {
    this.addTo(stateKeyOwner(pk), n);
  }

  /** `n` write calls for `owner` (a receipt has no rule in its key). */
  addTo(owner: string, n = 1): void {
    this.byOwner.set(owner, (this.byOwner.get(owner) ?? 0) + n);
  }

  /** Per owner, most writes first. */
  totals(): { owner: string; writes: number }[] {
    return [...this.byOwner]
      .map(([owner, writes]) => ({ owner, writes }))
      .sort((a, b) => b.writes - a.writes || a.owner.localeCompare(b.owner));
  }

  clear(): void {
    this.byOwner.clear();
  }
}
