import type { CompiledRule } from '../../rules/compile';
import { CoreFields, eventTime, eventWeight, type NormalizedEvent } from '../../schema/event';
import type { CounterIncrement } from '../state-store';
import type { WatchSighting } from '../term-learning';
import { bucketExpiry, bucketOf, spikeLevelBucket } from '../windows';
import { addBucketIncrements, mapOf } from './counters';
import { type BatchContext, type QualifiedGroup, type Qualifier, storeClock } from './evaluator';
import { bucketSpan, groupBy, logGroupKeyed } from './grouping';

/** Spike rules: a window's count at `factor` times the mean of the `baseline` windows before it, counted in buckets per batch. */
export async function spikeRule(rule: CompiledRule, events: NormalizedEvent[], batch: BatchContext): Promise<QualifiedGroup[]> {
  const clause = rule.rule.spike;
  if (!clause) return [];
  // Spike buckets are whole windows: the baseline is the mean count of the previous windows.
  const width = clause.window;
  const baselineBuckets = Math.round(clause.baseline / clause.window);
  const groups = clause.groupBy.length > 0 ? groupBy(events, clause.groupBy) : logGroupKeyed(events);
  const pk = (key: string) => `p#${rule.rule.id}#${key}`;
  const increments: CounterIncrement[] = [];
  for (const [key, list] of groups) addBucketIncrements(increments, pk(key), list, width, clause.baseline);
  const now = storeClock(events);
  // The counts of the baseline windows and, beside them, the levels any of them spiked at.
  const ranges = [...groups].map(([key, list]) => {
    const [first, last] = bucketSpan(list, width);
    return { key: pk(key), from: first - baselineBuckets, to: last };
  });
  // Incremented and read at once, one round trip: a window this batch adds to is taken from the
  // increment's result (as if read after it), so a batch spanning two windows sees its own
  // events in the earlier one's count, whichever call the store answers first.
  const [results, stored, watchedSince] = await Promise.all([
    batch.store.incrementCounters(batch.batchId, increments, now),
    batch.store.readCounters(ranges, now),
    batch.learning.watchedSince(rule.rule.id, ownerSightings(events), clause.baseline),
  ]);
  const totals = new Map(results.map((r) => [`${r.key}@${r.bucket}`, r.total]));
  for (const r of results) mapOf(stored, r.key).set(r.bucket, r.total);
  const qualified: QualifiedGroup[] = [];
  const levels: CounterIncrement[] = [];
  for (const [key, list] of groups) {
    const storedBuckets = stored.get(pk(key)) ?? new Map<number, number>();
    const qualifiers: Qualifier[] = [];
    // The list is sorted, so each bucket's events are one contiguous run starting at `from`.
    const firstIndex = new Map<number, number>();
    const perBucket = new Map<number, number>();
    list.forEach((e, i) => {
      const b = bucketOf(eventTime(e), width);
      if (!firstIndex.has(b)) firstIndex.set(b, i);
      perBucket.set(b, (perBucket.get(b) ?? 0) + eventWeight(e));
    });
    for (const [bucket, inBatch] of perBucket) {
      const { needed, held, mean, atLevel } = spikeThreshold(clause, storedBuckets, bucket, baselineBuckets);
      const total = totals.get(`${pk(key)}@${bucket}`) ?? inBatch;
      const before = total - inBatch;
      if (before >= needed || total < needed) continue; // only the batch that crosses qualifies
      const from = firstIndex.get(bucket) ?? 0;
      // The trigger is the event whose (weighted) occurrence crosses the threshold.
      let index = from;
      for (let seen = before + eventWeight(list[index] as NormalizedEvent); seen < needed && index + 1 < list.length; ) {
        index++;
        seen += eventWeight(list[index] as NormalizedEvent);
      }
      // The count at the crossing event, not the bucket's total after this batch: the same however events were batched.
      qualifiers.push({
        index,
        from,
        count: needed,
        windowStart: bucket * width,
        baseline: { mean, windowMs: width, baselineMs: clause.baseline, threshold: needed, held: atLevel },
        ...(before > 0 ? { countedFrom: bucket * width } : {}),
      });
      // A spike in the rule's first baseline of watching these logs is against a baseline it
      // never saw (deploy day: every busy service "spikes"): no level, so the baseline learns
      // its normal as it fills. After that, the level this window spiked at holds for the
      // windows after it (a later window of this batch reads it here).
      const since = watchedSince.get(ownerOf(list[index] as NormalizedEvent));
      if (!held && (since === undefined || since + clause.baseline > bucket * width)) continue;
      const level = spikeLevelBucket(bucket);
      storedBuckets.set(level, needed);
      levels.push({ key: pk(key), bucket: level, delta: needed, expiresAt: bucketExpiry(bucket, width, clause.baseline) });
    }
    if (qualifiers.length > 0) qualified.push({ key, list, entityField: clause.groupBy[0], qualifiers });
  }
  // Its own batch id: the counts' increment above already holds `batchId` on these items, and a
  // redelivered batch must write its levels once too.
  if (levels.length > 0) await batch.store.incrementCounters(`${batch.batchId}#level`, levels, now);
  return qualified;
}

/**
 * The count a spike window must reach: `factor` times the mean of the baseline windows before it,
 * and at least `min` — or, when one of those windows spiked, the level the latest of them spiked
 * at, if that is lower. A spike's own windows would otherwise become its baseline: a fault that
 * multiplies a service's errors stops "spiking" once it fills the baseline (a quarter of an hour
 * into an all-day outage, for a 5-minute window over an hour), resolves, and is never told
 * again. Each window that reaches the level records it in turn, so the level carries through a
 * fault of any length; it lapses a baseline after the last window that reached it, when the
 * baseline holds what came after the fault. `held`: a level applies (the caller records the first
 * level of a spike only once the rule has watched the logs for a baseline); `atLevel`: it is the
 * threshold (lower than the learned one). `mean`: the baseline windows' mean, for the alert. A level
 * written by two batches (both crossing one window: only when late events raised its baseline
 * between them) adds up: that makes the rule less sensitive for a baseline, never noisier.
 */
function spikeThreshold(
  clause: { factor: number; min: number },
  stored: ReadonlyMap<number, number>,
  bucket: number,
  baselineBuckets: number,
): { needed: number; held: boolean; mean: number; atLevel: boolean } {
  let sum = 0;
  let level: number | undefined;
  for (let x = bucket - baselineBuckets; x < bucket; x++) {
    sum += stored.get(x) ?? 0;
    level = stored.get(spikeLevelBucket(x)) ?? level;
  }
  const mean = sum / baselineBuckets;
  const learned = Math.max(clause.min, Math.ceil(clause.factor * mean));
  const needed = level === undefined ? learned : Math.min(learned, level);
  return { needed, held: level !== undefined, mean, atLevel: level !== undefined && level < learned };
}

/** The account that owns an event's log group (src/engine/term-learning.ts: what a rule watches). */
function ownerOf(e: NormalizedEvent): string | undefined {
  const owner = e[CoreFields.owner];
  return owner === undefined ? undefined : String(owner);
}

/** Per owner of the logs, the earliest of a batch's events (the batch is in time order; a payload has one owner). */
function ownerSightings(events: readonly NormalizedEvent[]): WatchSighting[] {
  const sightings = new Map<string | undefined, WatchSighting>();
  let last: string | undefined | null = null;
  for (const e of events) {
    const account = ownerOf(e);
    if (account === last) continue;
    last = account;
    if (!sightings.has(account)) sightings.set(account, { account, earliest: eventTime(e), watchedBefore: false });
  }
  return [...sightings.values()];
}
