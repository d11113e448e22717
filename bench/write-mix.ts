import { MemoryStateStore } from '../src/engine/memory-store';
import type { CounterIncrement, CounterResult, SetAdd } from '../src/engine/state-store';
import { COUNTER_SLOT_BUCKETS } from '../src/engine/windows';

/**
 * The in-memory store, recording what a different item layout would have written: counters and
 * sets of all rules that share an entity (group key) and slot in one batch merged into one item
 * (one attribute per rule). An estimate of that design's saving, not an implementation of it.
 */
export class WriteMixStore extends MemoryStateStore {
  private readonly mergedCounters = new Set<string>();
  private readonly mergedSets = new Set<string>();
  /** The batch being evaluated (the detector reads its receipt first). */
  private batch = '';

  override async readReceipt(batchId: string): Promise<string | undefined> {
    this.batch = batchId;
    return super.readReceipt(batchId);
  }

  /** `t#<rule>#<group>` → `<group>`. */
  private static group(key: string): string {
    const second = key.indexOf('#', key.indexOf('#') + 1);
    return second === -1 ? key : key.slice(second + 1);
  }

  override async incrementCounters(batchId: string, increments: readonly CounterIncrement[], now: number): Promise<CounterResult[]> {
    for (const i of increments)
      this.mergedCounters.add(`${batchId}\u0000${WriteMixStore.group(i.key)}\u0000${Math.floor(i.bucket / COUNTER_SLOT_BUCKETS)}`);
    return super.incrementCounters(batchId, increments, now);
  }

  /** Set writes per rule id. */
  readonly setWritesByRule = new Map<string, number>();

  override async addToSets(adds: readonly SetAdd[], now: number): Promise<void> {
    for (const a of adds) {
      const rule = a.key.split('#')[1] ?? a.key;
      this.setWritesByRule.set(rule, (this.setWritesByRule.get(rule) ?? 0) + 1);
    }
    for (const a of adds) this.mergedSets.add(`${this.batch}\u0000${WriteMixStore.group(a.key)}\u0000${a.bucket}`);
    return super.addToSets(adds, now);
  }

  get merged(): { counters: number; sets: number } {
    return { counters: this.mergedCounters.size, sets: this.mergedSets.size };
  }
}
