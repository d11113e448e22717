/**
 * Window semantics. A window of length W is tracked in buckets of width b = W / BUCKETS_PER_WINDOW.
 * The window of an event at time t holds the events of the BUCKETS_PER_WINDOW buckets ending with
 * t's bucket: [bucketStart(t) - (W - b), t]. It therefore spans between W - b and W of history —
 * never more than W, so a rule never fires on events further apart than its window, and at most
 * one bucket (10%) less. Counting per bucket is what lets a batch write one item per key and bucket.
 */
export const BUCKETS_PER_WINDOW = 10;

export function bucketWidth(windowMs: number): number {
  return Math.max(1000, Math.ceil(windowMs / BUCKETS_PER_WINDOW));
}

export function bucketOf(t: number, width: number): number {
  return Math.floor(t / width);
}

/** How many buckets a window reaches back from its last: a window is that many and one. */
export function windowSpan(windowMs: number, width: number): number {
  return Math.max(1, Math.round(windowMs / width)) - 1;
}

/** First bucket inside the window of an event in `bucket`. */
export function windowFirstBucket(bucket: number, windowMs: number, width: number): number {
  return bucket - windowSpan(windowMs, width);
}

/**
 * Counter buckets stored together: the DynamoDB adapter keeps one item per key and slot of this
 * many consecutive buckets (a whole window's worth), so a batch costs one update per key and slot.
 */
export const COUNTER_SLOT_BUCKETS = 10;

/** State outlives its window by a day so late (retried) batches still find it; TTL cleans up after. */
export const LATE_ARRIVAL_GRACE_MS = 24 * 3_600_000;

/**
 * Where a spike rule keeps the level a window spiked at (src/engine/evaluators/spike.ts, spikeThreshold):
 * under the window's own counter key at the half bucket after it. A read of the baseline's counts
 * returns the levels with them (the DynamoDB adapter keeps both in one item), so remembering a
 * spike costs a write when a window spikes and no read.
 */
export function spikeLevelBucket(bucket: number): number {
  return bucket + 0.5;
}

/** When a bucket's item may go: after the window it counts in, and the grace for late deliveries. */
export function bucketExpiry(bucket: number, width: number, keepMs: number): number {
  return (bucket + 1) * width + keepMs + LATE_ARRIVAL_GRACE_MS;
}
