import { lowerBound } from './sorted';

/**
 * One key's buckets in the in-memory store, in bucket order: a window read is a binary search and
 * a scan of just the buckets inside it, however many (expired but unswept) buckets the key holds,
 * and appending the newest bucket — what time-ordered traffic does — is a push.
 */
export class BucketList<T extends { expiresAt: number }> {
  private readonly buckets: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.buckets.length;
  }

  get(bucket: number): T | undefined {
    const i = this.lowerBound(bucket);
    return this.buckets[i] === bucket ? this.items[i] : undefined;
  }

  set(bucket: number, item: T): void {
    const n = this.buckets.length;
    if (n === 0 || (this.buckets[n - 1] as number) < bucket) {
      this.buckets.push(bucket);
      this.items.push(item);
      return;
    }
    const i = this.lowerBound(bucket);
    if (this.buckets[i] === bucket) this.items[i] = item;
    else {
      this.buckets.splice(i, 0, bucket);
      this.items.splice(i, 0, item);
    }
  }

  /** Visits the buckets within [from, to], in order. */
  forEachInRange(from: number, to: number, visit: (bucket: number, item: T) => void): void {
    for (let i = this.lowerBound(from); i < this.buckets.length; i++) {
      const bucket = this.buckets[i] as number;
      if (bucket > to) return;
      visit(bucket, this.items[i] as T);
    }
  }

  /** Drops the items that expired before `before`. */
  sweep(before: number): void {
    let kept = 0;
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i] as T;
      if (item.expiresAt <= before) continue;
      this.buckets[kept] = this.buckets[i] as number;
      this.items[kept] = item;
      kept++;
    }
    this.buckets.length = kept;
    this.items.length = kept;
  }

  private lowerBound(bucket: number): number {
    const n = this.buckets.length;
    // Most lookups are for the newest bucket.
    if (n > 0 && (this.buckets[n - 1] as number) < bucket) return n;
    return lowerBound(this.buckets, bucket);
  }
}
