import { eventTime, eventWeight, type NormalizedEvent } from '../../schema/event';
import { getOrCreate } from '../map-entry';
import type { CounterIncrement } from '../state-store';
import { bucketExpiry, bucketOf } from '../windows';

/**
 * Pre-aggregation: one counter increment per (key, bucket) for the whole batch, however many
 * events it holds. The list is time-sorted, so each bucket's events are one contiguous run.
 */
export function addBucketIncrements(
  increments: CounterIncrement[],
  key: string,
  list: readonly NormalizedEvent[],
  width: number,
  keepMs: number,
): void {
  let bucket = Number.NaN;
  let delta = 0;
  for (const e of list) {
    const b = bucketOf(eventTime(e), width);
    if (b !== bucket) {
      if (delta > 0) increments.push({ key, bucket, delta, expiresAt: bucketExpiry(bucket, width, keepMs), width });
      bucket = b;
      delta = 0;
    }
    delta += eventWeight(e);
  }
  if (delta > 0) increments.push({ key, bucket, delta, expiresAt: bucketExpiry(bucket, width, keepMs), width });
}

/** The inner map under `key`, made when missing (counts per key and bucket). */
export function mapOf<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  return getOrCreate(outer, key, () => new Map<K, V>());
}
