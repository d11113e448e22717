/**
 * What the backtested history would have cost in DynamoDB, and for which rule: the detector's
 * state calls as the DynamoDB adapter makes them (src/engine/memory-store.ts counts them alike),
 * at one write or read unit a call — items stay under 1 KB (packed counters and sets always; 4 KB
 * for a busy spike counter slot, which costs up to four units a write; the bench's busy streams
 * measured 1.024 units a write on dynalite, and `detect replay --state dynalite` reports the units
 * of any history) — priced at on-demand list prices (us-east-1, from
 * shared/design/aws-facts.md; other Regions differ by a few percent). DynamoDB is most of a
 * deployment's bill: a rule that counts every visitor or every flow costs writes per batch that
 * grow with its entities (packed: a write per 480 bytes of them), and this is where a team sees
 * that on its own logs before it deploys.
 */

/** On-demand price per write request unit and per strongly consistent read request unit (us-east-1). */
const PRICE = { write: 0.625 / 1e6, read: 0.125 / 1e6 };
const DAYS_PER_MONTH = 365 / 12;
/** Owners listed one by one; the rest are summed in one row. */
const LISTED = 10;

export interface StateCost {
  writes: number;
  reads: number;
  /** At this history's daily volume, for a month. */
  usdPerMonth: number;
  /** Most writes first: a rule id, or a parenthesized part of the engine (the lifecycle's pages, digests, batch receipts …). */
  byOwner: { owner: string; writes: number; share: number; usdPerMonth: number }[];
}

/** `days`: the history's span, over which the calls were made. */
export function stateCost(
  usage: { reads: number; writes: number; byOwner: readonly { owner: string; writes: number }[] },
  days: number,
): StateCost {
  const perMonth = (writes: number, reads = 0) => ((writes * PRICE.write + reads * PRICE.read) / days) * DAYS_PER_MONTH;
  const listed = usage.byOwner.slice(0, LISTED);
  const rest = usage.byOwner.slice(LISTED).reduce((n, o) => n + o.writes, 0);
  const rows = rest > 0 ? [...listed, { owner: `(${usage.byOwner.length - LISTED} more)`, writes: rest }] : listed;
  return {
    writes: usage.writes,
    reads: usage.reads,
    usdPerMonth: perMonth(usage.writes, usage.reads),
    byOwner: rows.map((o) => ({ ...o, share: usage.writes === 0 ? 0 : o.writes / usage.writes, usdPerMonth: perMonth(o.writes) })),
  };
}

/** Dollars as a person reads them: cents below a dollar, whole dollars above a hundred. */
export function usd(amount: number): string {
  if (amount < 0.01) return amount === 0 ? '$0' : '< $0.01';
  return amount >= 100 ? `$${Math.round(amount).toLocaleString('en-US')}` : `$${amount.toFixed(2)}`;
}

/** A monthly figure in a sentence: `about $0.42`, or `under $0.01`. */
export function aboutUsd(amount: number): string {
  return amount < 0.01 ? 'under $0.01' : `about ${usd(amount)}`;
}
