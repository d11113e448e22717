import { getOrCreate } from './map-entry';
import { type Chunk, packedItemOpen, packedKeyOf, slotOf, slotQueries } from './packed-state';
import type { BucketRange } from './state-store';

/** What the adapter's items of one packed chain (partition and slot) would hold, without their entries. */
interface ChainFill {
  /** Items full for good. */
  full: number;
  /** Bytes the open item holds (its `nb`). */
  bytes: number;
  /** Chunk ids in the open item, and in the full ones. */
  openIds: Set<string>;
  fullIds: Set<string>;
  expiresAt: number;
}

/**
 * The calls the DynamoDB adapter makes for packed state (src/engine/packed-state.ts), counted
 * without its items: the in-memory store keeps state per key and counts with this what the
 * adapter would call, as one container that made every write would (it knows every full item).
 */
export class PackedCalls {
  /** By partition, then slot. */
  private readonly chains = new Map<string, Map<number, ChainFill>>();

  /**
   * Places a batch's chunks as the adapter does, each chain's in order; `wrote` hears each
   * chunk's write calls. Returns the read calls: a retried chunk found in the open item costs its
   * refused write and a read of the slot; a retried batch whose chunks all sit in full items, a
   * read of the slot's rest for its totals.
   */
  place<E>(chunks: readonly Chunk<E>[], wrote: (chunk: Chunk<E>, writes: number) => void): number {
    let reads = 0;
    let chain: ChainFill | undefined;
    let current = true;
    for (const chunk of chunks) {
      const next = this.chainOf(chunk.pk, chunk.slot, chunk.expiresAt);
      if (next !== chain) {
        if (!current) reads++;
        chain = next;
        current = false;
      }
      if (chunk.id !== undefined && chain.fullIds.has(chunk.id)) continue;
      current = true;
      if (chunk.id !== undefined && chain.openIds.has(chunk.id)) {
        wrote(chunk, 1);
        reads++;
        continue;
      }
      wrote(chunk, 1);
      chain.bytes += chunk.bytes;
      if (chunk.id !== undefined) chain.openIds.add(chunk.id);
      if (chain.bytes > packedItemOpen(chunk.pk)) {
        chain.full++;
        chain.bytes = 0;
        for (const held of chain.openIds) chain.fullIds.add(held);
        chain.openIds.clear();
      }
    }
    return current ? reads : reads + 1;
  }

  /**
   * The read calls for these ranges: per partition of packed keys, the queries over the slots its
   * ranges span (slotQueries); a query per range of the others. `perKey`: count every range so.
   */
  reads(ranges: readonly BucketRange[], kind: 'counter' | 'set', perKey: boolean): number {
    if (perKey) return ranges.length;
    let queries = 0;
    const partitions = new Map<string, { from: number; to: number }>();
    for (const r of ranges) {
      const packed = packedKeyOf(r.key, kind);
      if (!packed) {
        queries++;
        continue;
      }
      const span = partitions.get(packed.pk);
      if (span) {
        span.from = Math.min(span.from, slotOf(r.from));
        span.to = Math.max(span.to, slotOf(r.to));
      } else partitions.set(packed.pk, { from: slotOf(r.from), to: slotOf(r.to) });
    }
    for (const [pk, { from, to }] of partitions) {
      const slots = this.chains.get(pk);
      queries += slotQueries(from, to, (slot) => slots?.get(slot)?.full ?? 0).length;
    }
    return queries;
  }

  /** Forgets chains whose items expired before `before`. */
  sweep(before: number): void {
    for (const [pk, slots] of this.chains) {
      for (const [slot, chain] of slots) if (chain.expiresAt <= before) slots.delete(slot);
      if (slots.size === 0) this.chains.delete(pk);
    }
  }

  clear(): void {
    this.chains.clear();
  }

  private chainOf(pk: string, slot: number, expiresAt: number): ChainFill {
    const slots = getOrCreate(this.chains, pk, () => new Map<number, ChainFill>());
    const chain = getOrCreate(slots, slot, () => ({
      full: 0,
      bytes: 0,
      openIds: new Set<string>(),
      fullIds: new Set<string>(),
      expiresAt,
    }));
    chain.expiresAt = Math.max(chain.expiresAt, expiresAt);
    return chain;
  }
}
