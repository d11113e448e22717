import { MemoryStateStore } from '../src/engine/memory-store';
import type { BucketRange, CounterIncrement, CounterResult, SetAdd } from '../src/engine/state-store';
import { COUNTER_SLOT_BUCKETS } from '../src/engine/windows';

interface KeyParts {
  /** The item kind: `t` a threshold counter, `d` a distinct-value set, … */
  kind: string;
  rule: string;
  /** The group key (entity) after the rule id. */
  entity: string;
}

/** A state key `<kind>#<rule>#<entity>` read into its parts; undefined when it has fewer. */
function keyParts(key: string): KeyParts | undefined {
  const first = key.indexOf('#');
  const second = key.indexOf('#', first + 1);
  if (first === -1 || second === -1) return undefined;
  return { kind: key.slice(0, first), rule: key.slice(first + 1, second), entity: key.slice(second + 1) };
}

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
    return keyParts(key)?.entity ?? key;
  }

  override async incrementCounters(batchId: string, increments: readonly CounterIncrement[], now: number): Promise<CounterResult[]> {
    this.spill.counters(batchId, increments);
    for (const i of increments)
      this.mergedCounters.add(`${batchId}\u0000${WriteMixStore.group(i.key)}\u0000${Math.floor(i.bucket / COUNTER_SLOT_BUCKETS)}`);
    return super.incrementCounters(batchId, increments, now);
  }

  /** Set writes per rule id. */
  readonly setWritesByRule = new Map<string, number>();

  override async addToSets(adds: readonly SetAdd[], now: number): Promise<void> {
    for (const a of adds) {
      const rule = keyParts(a.key)?.rule ?? a.key;
      this.setWritesByRule.set(rule, (this.setWritesByRule.get(rule) ?? 0) + 1);
    }
    for (const a of adds) this.mergedSets.add(`${this.batch}\u0000${WriteMixStore.group(a.key)}\u0000${a.bucket}`);
    this.packed.write(adds);
    this.spill.sets(adds);
    return super.addToSets(adds, now);
  }

  override async readSets(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, ReadonlySet<string>>>> {
    this.packed.read(ranges);
    return super.readSets(ranges, now);
  }

  /** Distinct-value sets as a packed layout would bill them (PackedSets). */
  readonly packed = new PackedSets();
  /** Counters and sets packed under one write unit, spilling beyond it (SpillPacked). */
  readonly spill = new SpillPacked();

  get merged(): { counters: number; sets: number } {
    return { counters: this.mergedCounters.size, sets: this.mergedSets.size };
  }
}

/** A write unit (and what a packed item may hold so that every write to it costs one). */
const WRITE_UNIT_BYTES = 1024;
/** A strongly consistent read unit. */
const READ_UNIT_BYTES = 4096;

/** Shard counts the packed layout is measured at. */
export const PACK_SHARDS = [1, 16, 256] as const;
/** An item's keys, expiry and attribute names, before its members. */
const ITEM_BASE_BYTES = 100;
/** Per member: the entity's key beside the member (a map of entity to members), and the type bytes. */
const PER_MEMBER_OVERHEAD = 8;

interface PackedFigures {
  shards: number;
  writes: number;
  writeUnits: number;
  reads: number;
  readUnits: number;
}

/**
 * What distinct-value sets (`d#` keys) would cost with every entity of a rule, bucket and shard
 * (a hash of the entity, modulo the shard count) in one item: DynamoDB bills a write by the
 * whole item's size (1 KB a unit, the larger of before and after) and a read by the size it
 * returns (4 KB a unit, strongly consistent), not per entity. An estimate replayed from the
 * per-entity adds, not an implementation: exact all the same (a set is a set wherever it is kept).
 */
export class PackedSets {
  /** Members already stored, per entity key and bucket. */
  private readonly seen = new Map<string, Set<string>>();
  /** Bytes of each packed item, per shard count. */
  private readonly bytes = PACK_SHARDS.map(() => new Map<string, number>());
  private readonly figures: PackedFigures[] = PACK_SHARDS.map((shards) => ({ shards, writes: 0, writeUnits: 0, reads: 0, readUnits: 0 }));

  /** The per-entity layout's set writes and reads of `d#` keys, for comparison. */
  readonly perEntity = { writes: 0, reads: 0 };

  /** Distinct-value sets' keys only. */
  private static parts(key: string): KeyParts | undefined {
    const parts = keyParts(key);
    return parts?.kind === 'd' ? parts : undefined;
  }

  private static shardOf(entity: string, shards: number): number {
    let h = 0;
    for (let i = 0; i < entity.length; i++) h = (Math.imul(h, 31) + entity.charCodeAt(i)) | 0;
    return (h >>> 0) % shards;
  }

  /** A batch's window reads: one query per (rule, shard) its entities fall in, over the buckets they read. */
  read(ranges: readonly BucketRange[]): void {
    PACK_SHARDS.forEach((shards, s) => {
      const queries = new Map<string, { from: number; to: number; rule: string; shard: number }>();
      for (const r of ranges) {
        const p = PackedSets.parts(r.key);
        if (!p) continue;
        if (s === 0) this.perEntity.reads++;
        const shard = PackedSets.shardOf(p.entity, shards);
        const id = `${p.rule}\u0000${shard}`;
        const q = queries.get(id);
        if (q) {
          q.from = Math.min(q.from, r.from);
          q.to = Math.max(q.to, r.to);
        } else queries.set(id, { from: r.from, to: r.to, rule: p.rule, shard });
      }
      const figures = this.figures[s] as PackedFigures;
      const bytes = this.bytes[s] as Map<string, number>;
      for (const q of queries.values()) {
        let found = 0;
        for (let b = q.from; b <= q.to; b++) found += bytes.get(`${q.rule}\u0000${b}\u0000${q.shard}`) ?? 0;
        figures.reads++;
        figures.readUnits += Math.max(1, Math.ceil(found / READ_UNIT_BYTES));
      }
    });
  }

  /** A batch's set adds: each packed item it changes written once, billed by its size after. */
  write(adds: readonly SetAdd[]): void {
    const added: { rule: string; entity: string; bucket: number; bytes: number }[] = [];
    for (const a of adds) {
      const p = PackedSets.parts(a.key);
      if (!p) continue;
      this.perEntity.writes++;
      const at = `${a.key}\u0000${a.bucket}`;
      let members = this.seen.get(at);
      if (!members) {
        members = new Set();
        this.seen.set(at, members);
      }
      let bytes = 0;
      for (const m of a.members) {
        if (members.size >= a.cap || members.has(m)) continue;
        members.add(m);
        bytes += p.entity.length + m.length + PER_MEMBER_OVERHEAD;
      }
      if (bytes > 0) added.push({ ...p, bucket: a.bucket, bytes });
    }
    PACK_SHARDS.forEach((shards, s) => {
      const bytes = this.bytes[s] as Map<string, number>;
      const touched = new Set<string>();
      for (const a of added) {
        const id = `${a.rule}\u0000${a.bucket}\u0000${PackedSets.shardOf(a.entity, shards)}`;
        bytes.set(id, (bytes.get(id) ?? ITEM_BASE_BYTES) + a.bytes);
        touched.add(id);
      }
      const figures = this.figures[s] as PackedFigures;
      for (const id of touched) {
        figures.writes++;
        figures.writeUnits += Math.ceil((bytes.get(id) ?? 0) / WRITE_UNIT_BYTES);
      }
    });
  }

  /** Per shard count: writes, write units, reads and read units; and the largest item (bytes), which DynamoDB caps at 400 KB. */
  results(): (PackedFigures & { largestItem: number })[] {
    return this.figures.map((f, s) => ({ ...f, largestItem: Math.max(0, ...(this.bytes[s] as Map<string, number>).values()) }));
  }
}

/** A packed item's bytes per batch id it keeps (22 characters and their overhead), so a retried batch adds nothing. */
const BATCH_ID_BYTES = 24;

interface SpillItem {
  bytes: number;
  batches: Set<string>;
  /** What it holds: `entity\0bucket` for counters, `entity\0bucket\0member` for sets. */
  held: Set<string>;
  /** Entities that did not fit: they keep an item of their own for this slot, as today. */
  spilled: Set<string>;
}

/**
 * An exact layout bounded by today's: per rule and slot of ten buckets, one item holds every
 * entity's counts (or set members) while it stays under one write unit (1 KB), the batch ids
 * that changed it beside them; an entity that does not fit keeps an item of its own for that slot,
 * as every entity does today. A batch writes the packed item once, if it changed it, and each
 * spilled entity's item as today: never more writes than today (each packed write stands for at
 * least one entity that today writes alone), and on light traffic — few entities a minute, most writes today — one write where today makes one
 * per entity. An estimate replayed from the per-entity calls (writes only; the packed item is
 * read back by the update that writes it), not an implementation.
 */
export class SpillPacked {
  private readonly items = new Map<string, SpillItem>();
  readonly perEntity = { counters: 0, sets: 0 };
  readonly packed = { counters: 0, sets: 0 };

  /** The item a key's entity packs into is its kind's and rule's: a rule's counters and sets apart. */
  private static parts(key: string): { rule: string; entity: string } | undefined {
    const parts = keyParts(key);
    return parts && { rule: `${parts.kind}#${parts.rule}`, entity: parts.entity };
  }

  private item(rule: string, slot: number): SpillItem {
    const id = `${rule}\u0000${slot}`;
    let item = this.items.get(id);
    if (!item) {
      item = { bytes: ITEM_BASE_BYTES, batches: new Set(), held: new Set(), spilled: new Set() };
      this.items.set(id, item);
    }
    return item;
  }

  /**
   * One entity's part of a batch: into the packed item when it fits (returned: written once per
   * batch), else its own item (a write counted here). `changesHeld`: the entries it already holds
   * change too (a count), so the item is written even when nothing is new in it.
   */
  private place(
    item: SpillItem,
    entity: string,
    entries: readonly string[],
    entryBytes: number,
    batchId: string | undefined,
    kind: 'counters' | 'sets',
    changesHeld: boolean,
  ): SpillItem | undefined {
    const fresh = entries.filter((e) => !item.held.has(e));
    if (fresh.length === 0 && !changesHeld) return undefined; // nothing new: today's layout writes nothing either
    const bytes = fresh.length * entryBytes + (batchId === undefined || item.batches.has(batchId) ? 0 : BATCH_ID_BYTES);
    if (item.spilled.has(entity) || item.bytes + bytes > WRITE_UNIT_BYTES) {
      item.spilled.add(entity);
      this.packed[kind]++;
      return undefined;
    }
    item.bytes += bytes;
    for (const e of fresh) item.held.add(e);
    if (batchId !== undefined) item.batches.add(batchId);
    return item;
  }

  /** A batch's counter increments: today one write per key and slot. */
  counters(batchId: string, increments: readonly CounterIncrement[]): void {
    const bySlot = new Map<string, { rule: string; entity: string; slot: number; buckets: Set<number> }>();
    for (const i of increments) {
      const p = SpillPacked.parts(i.key);
      if (!p) continue;
      const slot = Math.floor(i.bucket / COUNTER_SLOT_BUCKETS);
      const id = `${i.key}\u0000${slot}`;
      const entry = bySlot.get(id) ?? { ...p, slot, buckets: new Set<number>() };
      entry.buckets.add(i.bucket);
      bySlot.set(id, entry);
    }
    const touched = new Set<SpillItem>();
    for (const { rule, entity, slot, buckets } of bySlot.values()) {
      this.perEntity.counters++;
      const entries = [...buckets].map((b) => `${entity}\u0000${b}`);
      // A count per bucket beside the entity's key; a count changes with every batch that adds to it.
      const placed = this.place(this.item(rule, slot), entity, entries, entity.length + 12, batchId, 'counters', true);
      if (placed) touched.add(placed);
    }
    this.packed.counters += touched.size;
  }

  /** A batch's set adds: today one write per key and bucket that gains a member. */
  sets(adds: readonly SetAdd[]): void {
    const touched = new Set<SpillItem>();
    for (const a of adds) {
      const p = SpillPacked.parts(a.key);
      if (!p) continue;
      this.perEntity.sets++;
      // A sequence step's set keeps its latest event's context beside it: such sets stay per entity.
      if (a.context !== undefined) {
        this.packed.sets++;
        continue;
      }
      const item = this.item(p.rule, Math.floor(a.bucket / COUNTER_SLOT_BUCKETS));
      const entries = a.members.map((m) => `${p.entity}\u0000${a.bucket}\u0000${m}`);
      const placed = this.place(item, p.entity, entries, p.entity.length + 16, undefined, 'sets', false);
      if (placed) touched.add(placed);
    }
    this.packed.sets += touched.size;
  }
}
