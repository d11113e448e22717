import type { CompiledRule } from '../../rules/compile';
import { eventTime, eventWeight, type NormalizedEvent } from '../../schema/event';
import type { CounterIncrement } from '../state-store';
import { bucketOf, bucketWidth, windowSpan } from '../windows';
import { addBucketIncrements, mapOf } from './counters';
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

/** Threshold rules: `count` events of an entity within `window`, counted in buckets per batch (one conditional increment per entity and slot). */
export async function thresholdRule(rule: CompiledRule, events: NormalizedEvent[], batch: BatchContext): Promise<QualifiedGroup[]> {
  const clause = rule.rule.threshold;
  if (!clause) return [];
  const width = bucketWidth(clause.window);
  const groups = groupBy(events, clause.groupBy);
  // In entity order: the packed store's chunks are cut in that order (packed-state.ts), and need no sort then.
  const windows = groupWindows(groups, `t#${rule.rule.id}#`, width, clause.window).sort(byKey);
  const increments: CounterIncrement[] = [];
  /** Per window, what this batch adds to its entity. */
  const added: number[] = [];
  for (const w of windows) {
    const from = increments.length;
    addBucketIncrements(increments, w.range.key, w.list, width, clause.window);
    let n = 0;
    for (let i = from; i < increments.length; i++) n += (increments[i] as CounterIncrement).delta;
    added.push(n);
  }
  const now = storeClock(events);
  // At once, one round trip: a bucket this batch adds to is counted from the increment's own
  // result below (countBefore), never from the read, so the read need not wait for it.
  const [results, stored] = await Promise.all([
    batch.store.incrementCounters(batch.batchId, increments, now),
    batch.store.readCounters(
      windows.map((w) => w.range),
      now,
    ),
  ]);

  // Most entities of busy traffic (a visitor's few requests) hold fewer occurrences in every
  // bucket they can reach — stored, and the totals of the buckets this batch added to, with this
  // batch's own added again (an upper bound whatever the store answered) — than the rule's
  // count: no window of theirs meets it, and their counts are not looked at bucket by bucket.
  const totals = new Map<string, number>();
  for (const r of results) totals.set(r.key, (totals.get(r.key) ?? 0) + r.total);
  const reaching = new Set<string>();
  windows.forEach(({ range }, i) => {
    if (sumOf(stored.get(range.key)) + (totals.get(range.key) ?? 0) + (added[i] ?? 0) >= clause.count) reaching.add(range.key);
  });
  if (reaching.size === 0) return [];

  // Counts before this batch: stored totals minus our own delta where the store holds it.
  const ownDelta = new Map<string, Map<number, number>>();
  for (const inc of increments) if (reaching.has(inc.key)) mapOf(ownDelta, inc.key).set(inc.bucket, inc.delta);
  const before = new Map<string, Map<number, number>>();
  for (const r of results) {
    if (reaching.has(r.key)) mapOf(before, r.key).set(r.bucket, r.total - (ownDelta.get(r.key)?.get(r.bucket) ?? 0));
  }

  const span = windowSpan(clause.window, width);
  const qualified: QualifiedGroup[] = [];
  for (const { key, list, range } of windows) {
    if (!reaching.has(range.key)) continue;
    const storedBuckets = stored.get(range.key);
    const priorOwn = before.get(range.key);
    const lastStored = storedBuckets || priorOwn ? lastCountedBucket(priorOwn, storedBuckets) : Number.NEGATIVE_INFINITY;
    if (list.length === 1) {
      // Most groups of busy traffic are one event (a visitor's one request in this batch): the
      // same decision as the loop below, without its per-group map.
      const e = list[0] as NormalizedEvent;
      const b = bucketOf(eventTime(e), width);
      const weight = eventWeight(e);
      let count = weight;
      let first = b - span;
      if (lastStored > b)
        ({ count, first } = largestWindow(b, span, (x) => countBefore(priorOwn, storedBuckets, x) + (x === b ? weight : 0), true));
      else for (let x = first; x <= b; x++) count += countBefore(priorOwn, storedBuckets, x);
      if (count >= clause.count) {
        const counted = earliestBucket(first, first + span, (x) => countBefore(priorOwn, storedBuckets, x) > 0);
        qualified.push(oneEventGroup(key, list, clause.groupBy[0], count, first * width, counted, width));
      }
      continue;
    }
    const batchPerBucket = new Map<number, number>();
    const qualifiers: Qualifier[] = [];
    const countAt = (x: number) => countBefore(priorOwn, storedBuckets, x) + (batchPerBucket.get(x) ?? 0);
    // The window's count is summed only when the event's bucket changes (events are sorted);
    // within a bucket each event adds its weight.
    let windowBucket = Number.NaN;
    let best = { count: 0, first: 0 };
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as NormalizedEvent;
      const b = bucketOf(eventTime(e), width);
      const weight = eventWeight(e);
      batchPerBucket.set(b, (batchPerBucket.get(b) ?? 0) + weight);
      if (b !== windowBucket || lastStored > b) {
        windowBucket = b;
        best = largestWindow(b, span, countAt, lastStored > b);
      } else best = { count: best.count + weight, first: best.first };
      if (best.count >= clause.count) {
        const counted = earliestBucket(best.first, best.first + span, (x) => countBefore(priorOwn, storedBuckets, x) > 0);
        qualifiers.push({ index: i, from: 0, count: best.count, windowStart: best.first * width, ...countedFromBucket(counted, width) });
      }
    }
    if (qualifiers.length > 0) qualified.push({ key, list, entityField: clause.groupBy[0], qualifiers });
  }
  return qualified;
}

/**
 * A bucket's count before this batch: what the store held before our own increment where it
 * answered for our item, else what a read found.
 */
function countBefore(
  priorOwn: ReadonlyMap<number, number> | undefined,
  stored: ReadonlyMap<number, number> | undefined,
  b: number,
): number {
  const own = priorOwn?.get(b);
  return own !== undefined ? own : (stored?.get(b) ?? 0);
}

function sumOf(counts: ReadonlyMap<number, number> | undefined): number {
  let n = 0;
  if (counts) for (const count of counts.values()) n += count;
  return n;
}

/** The last bucket other deliveries counted in (-Infinity: none), as countBefore reads them. */
function lastCountedBucket(priorOwn: ReadonlyMap<number, number> | undefined, stored: ReadonlyMap<number, number> | undefined): number {
  let last = Number.NEGATIVE_INFINITY;
  if (stored) for (const bucket of stored.keys()) if (bucket > last && countBefore(priorOwn, stored, bucket) > 0) last = bucket;
  if (priorOwn) for (const [bucket, n] of priorOwn) if (bucket > last && n > 0) last = bucket;
  return last;
}

/**
 * The largest window holding bucket `b` — its count, and its first bucket: the one ending at `b`
 * or, when buckets after `b` already hold counts (`storedAfter`: other streams' later events, this
 * event's delivery came late), one ending after it. In time order that is the window ending at `b`:
 * the count as of this event. Late, an event whose window's earlier and later halves were delivered
 * apart still meets the rule, as it would have in order.
 */
function largestWindow(
  b: number,
  span: number,
  countAt: (bucket: number) => number,
  storedAfter: boolean,
): { count: number; first: number } {
  let count = 0;
  for (let x = b - span; x <= b; x++) count += countAt(x);
  let best = { count, first: b - span };
  if (!storedAfter) return best;
  for (let y = b + 1; y <= b + span; y++) {
    count += countAt(y) - countAt(y - span - 1);
    if (count > best.count) best = { count, first: y - span };
  }
  return best;
}

function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
