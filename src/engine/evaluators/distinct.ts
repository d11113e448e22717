import { MAX_DISTINCT_SHOWN } from '../../alerts/build';
import type { CompiledRule } from '../../rules/compile';
import type { DistinctMembers } from '../../rules/distinct-members';
import { eventTime, type NormalizedEvent } from '../../schema/event';
import { boundedValue, MAX_MEMBER_CHARS } from '../bounded-value';
import { memberAccount, scopedKey } from '../entity-scope';
import type { SetAdd } from '../state-store';
import { bucketExpiry, bucketOf, bucketWidth, windowSpan } from '../windows';
import {
  type BatchContext,
  countedFromBucket,
  earliestBucket,
  oneEventGroup,
  type QualifiedGroup,
  type Qualifier,
  storeClock,
} from './evaluator';
import { groupBy, groupWindows } from './grouping';

const MAX_SET_CAP = 1000;

/** Distinct rules: `count` different values of a field for an entity within `window`, kept as sets per bucket. */
export async function distinctRule(rule: CompiledRule, events: NormalizedEvent[], batch: BatchContext): Promise<QualifiedGroup[]> {
  const clause = rule.rule.distinct;
  const reader = rule.distinctMembers;
  if (!clause || !reader) return [];
  const width = bucketWidth(clause.window);
  const groups = groupBy(
    events.filter((e) => reader.has(e)),
    clause.groupBy,
  );
  const windows = groupWindows(groups, `d#${rule.rule.id}#`, width, clause.window);
  const now = storeClock(events);
  const stored = await batch.store.readSets(
    windows.map((w) => w.range),
    now,
  );
  // A bucket keeps the values the rule counts to: its own count, or its escalation step's.
  const cap = Math.min(MAX_SET_CAP, Math.max(clause.count, rule.rule.escalate?.count ?? 0));
  const span = windowSpan(clause.window, width);
  const field = typeof clause.field === 'string' ? clause.field : clause.field.join(' / ');
  const adds: SetAdd[] = [];
  const qualified: QualifiedGroup[] = [];
  for (const { key, list, range } of windows) {
    const pk = range.key;
    const storedBuckets = stored.get(pk);
    const lastStored = storedBuckets ? lastHeldBucket(storedBuckets) : Number.NEGATIVE_INFINITY;
    const only = list.length === 1 ? (list[0] as NormalizedEvent) : undefined;
    const onlyFields = only && reader.fieldsOf(only);
    if (only && onlyFields?.length === 1) {
      // Most groups of busy traffic are one event with one value (a flow's new source and
      // port): the same decision as the loop below, without its per-group map and sets.
      const b = bucketOf(eventTime(only), width);
      const value = memberOf(only, onlyFields[0] as string, reader, batch.account);
      let first = b - span;
      let count: number;
      if (lastStored > b) ({ count, first } = largestUnion(b, span, (x) => [storedBuckets?.get(x), x === b ? [value] : undefined]));
      else count = unionSizeWith(storedBuckets, first, b, value);
      if (count >= clause.count) {
        const counted = earliestBucket(first, first + span, (x) => (storedBuckets?.get(x)?.size ?? 0) > 0);
        const group = oneEventGroup(key, list, clause.groupBy[0], count, first * width, counted, width);
        const values = countedValues(first, span, (x) => [storedBuckets?.get(x), x === b ? [value] : undefined]);
        for (const q of group.qualifiers) q.distinct = { field, values, total: count };
        qualified.push(group);
      }
      const storedMembers = storedBuckets?.get(b);
      if (!(storedMembers && (storedMembers.size >= cap || storedMembers.has(value)))) {
        adds.push({ key: pk, bucket: b, members: [value], cap, expiresAt: bucketExpiry(b, width, clause.window), width });
      }
      continue;
    }
    const qualifiers: Qualifier[] = [];
    // What the group's first qualifying event counted, listed once for all its qualifiers in this batch.
    let listed: string[] | undefined;
    const batchBuckets = new Map<number, Set<string>>();
    // The window's union is rebuilt only when the event's bucket changes (events are sorted);
    // within a bucket each new value is simply added.
    let unionBucket = Number.NaN;
    let union = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as NormalizedEvent;
      const b = bucketOf(eventTime(e), width);
      const values = reader.fieldsOf(e).map((field) => memberOf(e, field, reader, batch.account));
      let set = batchBuckets.get(b);
      if (!set) {
        set = new Set<string>();
        batchBuckets.set(b, set);
      }
      for (const value of values) set.add(value);
      let first = b - span;
      let count: number;
      if (lastStored > b) {
        // A delivery that came late: the windows ending after it hold other streams' later values.
        ({ count, first } = largestUnion(b, span, (x) => [storedBuckets?.get(x), batchBuckets.get(x)]));
      } else {
        if (b !== unionBucket) {
          unionBucket = b;
          union = new Set<string>();
          for (let x = first; x <= b; x++) {
            const storedMembers = storedBuckets?.get(x);
            if (storedMembers) for (const v of storedMembers) union.add(v);
            const batchMembers = batchBuckets.get(x);
            if (batchMembers) for (const v of batchMembers) union.add(v);
          }
        } else for (const value of values) union.add(value);
        count = union.size;
      }
      if (count >= clause.count) {
        const counted = earliestBucket(first, first + span, (x) => (storedBuckets?.get(x)?.size ?? 0) > 0);
        listed ??= countedValues(first, span, (x) => [storedBuckets?.get(x), batchBuckets.get(x)]);
        qualifiers.push({
          index: i,
          from: 0,
          count,
          windowStart: first * width,
          ...countedFromBucket(counted, width),
          distinct: { field, values: listed, total: count },
        });
      }
    }
    if (qualifiers.length > 0) qualified.push({ key, list, entityField: clause.groupBy[0], qualifiers });
    for (const [bucket, members] of batchBuckets) {
      // Nothing new for this bucket (the same values again, or the set is already full): the write
      // would not change the item, so it is not made. Benign traffic repeats itself; this is most of it.
      const storedMembers = storedBuckets?.get(bucket);
      if (storedMembers && (storedMembers.size >= cap || containsAll(storedMembers, members))) continue;
      adds.push({ key: pk, bucket, members: [...members].sort(), cap, expiresAt: bucketExpiry(bucket, width, clause.window), width });
    }
  }
  await batch.store.addToSets(adds, now);
  return qualified;
}

/**
 * A distinct-value set's member: the value, bounded. A name inside another account than the
 * stack's own is a different thing per account (../entity-scope.ts): one address trying `admin`
 * in ten member accounts has tried ten accounts. The stack's own account keeps plain values, so a
 * single account's sets read the same as before accounts were told apart.
 */
function memberOf(e: NormalizedEvent, field: string, reader: DistinctMembers, ownAccount: string | undefined): string {
  const value = String(e[field]);
  const account = memberAccount(e, field, reader.kindOf(field));
  return boundedValue(account === undefined || account === ownAccount ? value : scopedKey(value, account), MAX_MEMBER_CHARS);
}

/** The last bucket holding a stored set (-Infinity: none). */
function lastHeldBucket(stored: ReadonlyMap<number, ReadonlySet<string>>): number {
  let last = Number.NEGATIVE_INFINITY;
  for (const [bucket, members] of stored) if (bucket > last && members.size > 0) last = bucket;
  return last;
}

/**
 * The values counted in buckets first..first+span (earlier deliveries' and this batch's), the
 * first MAX_DISTINCT_SHOWN in natural order — ports as numbers — whatever order a store keeps a
 * set's members in: what the alert lists. Read once per group and batch, when it first qualifies.
 */
function countedValues(first: number, span: number, membersAt: (bucket: number) => readonly (Iterable<string> | undefined)[]): string[] {
  const union = new Set<string>();
  for (let x = first; x <= first + span; x++) for (const source of membersAt(x)) if (source) for (const v of source) union.add(v);
  return [...union].sort(naturalOrder).slice(0, MAX_DISTINCT_SHOWN);
}

const DIGITS = /^\d{1,15}$/;

/** Numbers by value, everything else by code unit, numbers first. */
function naturalOrder(a: string, b: string): number {
  const an = DIGITS.test(a);
  const bn = DIGITS.test(b);
  if (an && bn) return Number(a) - Number(b);
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `largestWindow` for distinct values: the largest union of the members of a window holding `b` (each bucket's from its sources). */
function largestUnion(
  b: number,
  span: number,
  membersAt: (bucket: number) => readonly (Iterable<string> | undefined)[],
): { count: number; first: number } {
  let best = { count: -1, first: b - span };
  for (let first = b - span; first <= b; first++) {
    const union = new Set<string>();
    for (let x = first; x <= first + span; x++) for (const source of membersAt(x)) if (source) for (const v of source) union.add(v);
    if (union.size > best.count) best = { count: union.size, first };
  }
  return best;
}

/** Distinct values in stored buckets `from`..`to` plus `value`; a set is built only when two buckets hold members. */
function unionSizeWith(stored: ReadonlyMap<number, ReadonlySet<string>> | undefined, from: number, to: number, value: string): number {
  let only: ReadonlySet<string> | undefined;
  let union: Set<string> | undefined;
  if (stored) {
    for (let x = from; x <= to; x++) {
      const members = stored.get(x);
      if (!members || members.size === 0) continue;
      if (!only) only = members;
      else {
        union ??= new Set(only);
        for (const v of members) union.add(v);
      }
    }
  }
  const base = union ?? only;
  return base ? base.size + (base.has(value) ? 0 : 1) : 1;
}

/** Whether every one of `wanted` is among `have`. */
function containsAll(have: ReadonlySet<string>, wanted: ReadonlySet<string>): boolean {
  if (wanted.size > have.size) return false;
  for (const v of wanted) if (!have.has(v)) return false;
  return true;
}
