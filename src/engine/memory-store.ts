import { BucketList } from './bucket-list';
import { getOrCreate } from './map-entry';
import { PackedCalls } from './packed-calls';
import { counterChunks, setChunks, slotOf } from './packed-state';
import { RECEIPTS_OWNER, WritesByOwner } from './state-owners';
import {
  type BucketRange,
  type CounterIncrement,
  type CounterResult,
  type DocKey,
  type DocWrite,
  docId,
  earliestDue,
  type SetAdd,
  type StateStore,
  type StoredDoc,
  type TermClaim,
  type TermClaimResult,
} from './state-store';
import { LATE_ARRIVAL_GRACE_MS } from './windows';

interface CounterItem {
  total: number;
  /** Batches already applied: most items only ever see one, so a set is made for the second. */
  batches: string | Set<string>;
  expiresAt: number;
}

function hasBatch(item: CounterItem, batchId: string): boolean {
  return typeof item.batches === 'string' ? item.batches === batchId : item.batches.has(batchId);
}

function addBatch(item: CounterItem, batchId: string): void {
  if (item.batches === '') item.batches = batchId;
  else if (typeof item.batches === 'string') item.batches = new Set([item.batches, batchId]);
  else item.batches.add(batchId);
}
interface SetItem {
  members: Set<string>;
  expiresAt: number;
  context?: string;
}
interface TermItem {
  owner: string;
  expiresAt: number;
}
interface ReceiptItem {
  body: string;
  expiresAt: number;
}
interface DocItem {
  version: number;
  body: string;
  expiresAt: number;
  dueAt: number | undefined;
}

/**
 * Writes a table write makes to the sparse due index (a global secondary index: billed as write
 * units of its own): putting a document into it, taking one out, or both when its due time moves
 * (DynamoDB deletes the old index entry and puts the new). A write that leaves the due time as it
 * was changes no attribute the index holds (keys only) and writes nothing there.
 */
export function dueIndexWrites(before: number | undefined, after: number | undefined): number {
  if (before === after) return 0;
  return before === undefined || after === undefined ? 1 : 2;
}

/** Writes by item kind, none yet. */
const noWrites = () => ({ counters: 0, sets: 0, terms: 0, docs: 0, receipts: 0 });

/** How often (in store calls) expired items are swept, like DynamoDB TTL does in the background. */
const SWEEP_EVERY_CALLS = 20_000;
/**
 * Items are dropped this long (event time) after they expire. Event time is not a wall clock:
 * batches of different streams run ahead of each other (a sparse stream's batch can span days),
 * so the sweep lags the newest event by more than any batch of a time-ordered replay trails it.
 */
const SWEEP_LAG_MS = 30 * 86_400_000;

/**
 * The embedded default: same semantics as the DynamoDB adapter, in process memory.
 * Expired items are swept 30 days after they expire (event time), so a long replay
 * keeps memory bounded by the live windows rather than by the input size.
 */
export class MemoryStateStore implements StateStore {
  private readonly counters = new Map<string, BucketList<CounterItem>>();
  private readonly sets = new Map<string, BucketList<SetItem>>();
  private readonly terms = new Map<string, Map<string, TermItem>>();
  private readonly docs = new Map<string, Map<string, DocItem>>();
  private readonly receipts = new Map<string, ReceiptItem>();
  /** The DynamoDB adapter's packed items as they would fill: what its calls for them would be. */
  private readonly packedCalls = new PackedCalls();
  readonly calls = { reads: 0, writes: 0 };
  /** Writes by item kind, for the benchmark's cost breakdown. */
  readonly writesByKind = noWrites();
  /** Write units the due index's upkeep costs beside the calls' own (dueIndexWrites): DynamoDB bills them, no call makes them. */
  dueIndexWrites = 0;
  /**
   * Writes by the rule (or part of the engine) whose items they change, when asked for: `detect
   * backtest`'s state cost per rule (a key read per write, which the detector's path does without).
   */
  readonly writesByOwner: WritesByOwner | undefined;

  /**
   * Calls counted as the adapter's layout before packing made them (an item per key: the
   * benchmark's before column), not as it makes them now.
   */
  private readonly perKeyLayout: boolean;

  constructor(options: { attributeWrites?: boolean; perKeyLayout?: boolean } = {}) {
    this.writesByOwner = options.attributeWrites ? new WritesByOwner() : undefined;
    this.perKeyLayout = options.perKeyLayout ?? false;
  }

  private latest = 0;
  private lastSweepAt = 0;

  /** Number of stored items of every kind (tests check that sweeping empties the store). */
  get size(): number {
    let n = this.receipts.size;
    for (const m of [this.counters, this.sets, this.terms, this.docs]) for (const inner of m.values()) n += inner.size;
    return n;
  }

  /** `n` write calls to items of `kind` under `pk`, counted as the DynamoDB adapter makes them. */
  private wrote(kind: keyof ReturnType<typeof noWrites>, pk: string, n = 1): void {
    this.calls.writes += n;
    this.writesByKind[kind] += n;
    this.writesByOwner?.add(pk, n);
  }

  /** `n` write units of the due index for a document under `pk` (its owner's too: a bill counts them). */
  private indexWrote(pk: string, n: number): void {
    if (n === 0) return;
    this.dueIndexWrites += n;
    this.writesByOwner?.add(pk, n);
  }

  private tick(now: number): void {
    if (now > this.latest) this.latest = now;
    const calls = this.calls.reads + this.calls.writes;
    if (calls - this.lastSweepAt < SWEEP_EVERY_CALLS) return;
    this.lastSweepAt = calls;
    this.sweep(this.latest - SWEEP_LAG_MS);
  }

  /**
   * Drops every item and zeroes the call counts: a new store's state in the same object. What a
   * benchmark gives each timed run of one long-lived detector (a Lambda container builds its
   * detector once and serves every batch with it).
   */
  clear(): void {
    for (const items of [this.counters, this.sets, this.terms, this.docs, this.receipts]) items.clear();
    this.packedCalls.clear();
    this.calls.reads = 0;
    this.calls.writes = 0;
    Object.assign(this.writesByKind, noWrites());
    this.dueIndexWrites = 0;
    this.writesByOwner?.clear();
    this.latest = 0;
    this.lastSweepAt = 0;
  }

  /** Drops every item that expired before `before`. */
  sweep(before: number): void {
    sweepBuckets(this.counters, before);
    sweepBuckets(this.sets, before);
    sweepNested(this.terms, before);
    sweepNested(this.docs, before);
    sweepFlat(this.receipts, before);
    this.packedCalls.sweep(before);
  }

  async incrementCounters(batchId: string, increments: readonly CounterIncrement[], now: number): Promise<CounterResult[]> {
    this.tick(now);
    // Counted like the DynamoDB adapter's round trips: a write per packed chunk, and one update
    // per key and slot of buckets for keys that keep their own items.
    const { chunks, perKey } = this.perKeyLayout ? { chunks: [], perKey: increments } : counterChunks(batchId, increments);
    this.calls.reads += this.packedCalls.place(chunks, (chunk, n) => this.wrote('counters', chunk.entries[0]?.key ?? chunk.pk, n));
    const keySlot = (i: CounterIncrement) => `${i.key}\u0000${slotOf(i.bucket)}`;
    const slots = new Set(perKey.map(keySlot));
    for (const slot of slots) this.wrote('counters', slot.slice(0, slot.indexOf('\u0000')));
    const results = increments.map((inc) => {
      let buckets = this.counters.get(inc.key);
      if (!buckets) {
        buckets = new BucketList<CounterItem>();
        this.counters.set(inc.key, buckets);
      }
      let item = buckets.get(inc.bucket);
      if (item && item.expiresAt <= now) item = undefined; // expired: TTL would have removed it
      if (!item) {
        item = { total: 0, batches: '', expiresAt: inc.expiresAt };
        buckets.set(inc.bucket, item);
      }
      if (hasBatch(item, batchId)) return { key: inc.key, bucket: inc.bucket, total: item.total, applied: false };
      addBatch(item, batchId);
      item.total += inc.delta;
      item.expiresAt = Math.max(item.expiresAt, inc.expiresAt);
      return { key: inc.key, bucket: inc.bucket, total: item.total, applied: true };
    });
    // A retried batch's own item refuses it: the adapter reads the slot's rest, then its totals.
    if (perKey.length > 0) {
      const own = new Set(perKey);
      const retried = new Set(increments.filter((inc, i) => own.has(inc) && results[i]?.applied === false).map(keySlot));
      this.calls.reads += 2 * retried.size;
    }
    return results;
  }

  async readCounters(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, number>>> {
    const out = new Map<string, Map<number, number>>();
    this.calls.reads += this.packedCalls.reads(ranges, 'counter', this.perKeyLayout);
    for (const r of ranges) {
      const buckets = this.counters.get(r.key);
      if (!buckets) continue;
      const found = new Map<number, number>();
      buckets.forEachInRange(r.from, r.to, (bucket, item) => {
        if (item.expiresAt > now) found.set(bucket, item.total);
      });
      if (found.size > 0) out.set(r.key, found);
    }
    return out;
  }

  async addToSets(adds: readonly SetAdd[], now: number): Promise<void> {
    this.tick(now);
    const { chunks, perKey } = this.perKeyLayout ? { chunks: [], perKey: adds } : setChunks(adds);
    this.calls.reads += this.packedCalls.place(chunks, (chunk, n) => this.wrote('sets', chunk.entries[0]?.key ?? chunk.pk, n));
    for (const add of perKey) this.wrote('sets', add.key);
    for (const add of adds) {
      let buckets = this.sets.get(add.key);
      if (!buckets) {
        buckets = new BucketList<SetItem>();
        this.sets.set(add.key, buckets);
      }
      let item = buckets.get(add.bucket);
      if (!item || item.expiresAt <= now) {
        item = { members: new Set(), expiresAt: add.expiresAt };
        buckets.set(add.bucket, item);
      }
      if (item.members.size >= add.cap) continue;
      for (const m of add.members) item.members.add(m);
      item.expiresAt = Math.max(item.expiresAt, add.expiresAt);
      if (add.context !== undefined) item.context = add.context;
    }
  }

  async readSets(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, ReadonlySet<string>>>> {
    const out = new Map<string, Map<number, ReadonlySet<string>>>();
    this.calls.reads += this.packedCalls.reads(ranges, 'set', this.perKeyLayout);
    for (const r of ranges) {
      const buckets = this.sets.get(r.key);
      if (!buckets) continue; // most keys of benign traffic are new: nothing to read, nothing to allocate
      const found = new Map<number, ReadonlySet<string>>();
      // The live sets themselves, not copies: callers read them before they write (see StateStore).
      buckets.forEachInRange(r.from, r.to, (bucket, item) => {
        if (item.expiresAt > now) found.set(bucket, item.members);
      });
      if (found.size > 0) out.set(r.key, found);
    }
    return out;
  }
  async readSetContexts(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, string>>> {
    const out = new Map<string, Map<number, string>>();
    for (const r of ranges) {
      this.calls.reads++;
      const found = new Map<number, string>();
      this.sets.get(r.key)?.forEachInRange(r.from, r.to, (bucket, item) => {
        if (item.expiresAt > now && item.context !== undefined) found.set(bucket, item.context);
      });
      out.set(r.key, found);
    }
    return out;
  }

  async claimTerms(claims: readonly TermClaim[], now: number): Promise<TermClaimResult[]> {
    this.tick(now);
    // Each claim is judged at its own event time: a long batch must not expire terms early.
    // Calls counted as the DynamoDB adapter makes them: the history read, then one write for a
    // known term this sighting extends, two for a new one (the refused extension and the claim),
    // three for a known one it does not extend (a late delivery).
    return claims.map((c) => {
      this.calls.reads++;
      const terms = getOrCreate(this.terms, c.key, () => new Map<string, TermItem>());
      let hadHistory = false;
      for (const [term, item] of terms) if (term !== c.term && item.expiresAt > c.at) hadHistory = true;
      const existing = terms.get(c.term);
      if (!existing || existing.expiresAt <= c.at || existing.owner === c.owner) {
        this.wrote('terms', c.key, 2);
        terms.set(c.term, { owner: c.owner, expiresAt: c.expiresAt });
        return { isNew: true, hadHistory, legacy: false };
      }
      this.wrote('terms', c.key, existing.expiresAt < c.expiresAt ? 1 : 3);
      existing.expiresAt = Math.max(existing.expiresAt, c.expiresAt);
      return { isNew: false, hadHistory, legacy: false };
    });
  }

  async readDocs(keys: readonly DocKey[], now: number): Promise<Map<string, StoredDoc>> {
    this.calls.reads += Math.ceil(keys.length / 100); // one BatchGetItem per 100 keys in DynamoDB
    const out = new Map<string, StoredDoc>();
    for (const k of keys) {
      const item = this.docs.get(k.pk)?.get(k.sk);
      if (item && item.expiresAt > now) out.set(docId(k), { version: item.version, body: item.body });
    }
    return out;
  }

  async writeDoc(w: DocWrite): Promise<boolean> {
    this.wrote('docs', w.pk);
    this.tick(w.now);
    const partition = getOrCreate(this.docs, w.pk, () => new Map<string, DocItem>());
    const existing = partition.get(w.sk);
    const live = existing && existing.expiresAt > w.now ? existing : undefined;
    if (w.ifVersion === null && live) return false;
    if (typeof w.ifVersion === 'number' && live?.version !== w.ifVersion) return false;
    // The stored item, expired or not: TTL deletes lazily, and an expired item is still in the index.
    this.indexWrote(w.pk, dueIndexWrites(existing?.dueAt, w.dueAt));
    partition.set(w.sk, { version: (existing?.version ?? 0) + 1, body: w.body, expiresAt: w.expiresAt, dueAt: w.dueAt });
    return true;
  }

  async queryDocs(pk: string, now: number): Promise<(DocKey & StoredDoc)[]> {
    this.calls.reads++;
    const out: (DocKey & StoredDoc)[] = [];
    for (const [sk, item] of [...(this.docs.get(pk) ?? [])].sort((a, b) => a[0].localeCompare(b[0]))) {
      if (item.expiresAt > now) out.push({ pk, sk, version: item.version, body: item.body });
    }
    return out;
  }

  async listDue(now: number, limit: number): Promise<DocKey[]> {
    this.calls.reads++;
    const due: (DocKey & { at: number })[] = [];
    for (const [pk, partition] of this.docs) {
      for (const [sk, item] of partition) if (item.dueAt !== undefined && item.dueAt <= now) due.push({ pk, sk, at: item.dueAt });
    }
    return earliestDue(due, limit);
  }

  async dropDue(keys: readonly DocKey[], now: number): Promise<void> {
    for (const k of keys) {
      const item = this.docs.get(k.pk)?.get(k.sk);
      if (!item || item.expiresAt > now) continue;
      this.calls.writes++; // a conditional update per document in DynamoDB
      this.writesByOwner?.add(k.pk);
      this.indexWrote(k.pk, dueIndexWrites(item.dueAt, undefined));
      item.dueAt = undefined;
    }
  }

  async readReceipt(batchId: string): Promise<string | undefined> {
    this.calls.reads++;
    return this.receipts.get(batchId)?.body;
  }

  async writeReceipt(batchId: string, body: string, expiresAt: number): Promise<void> {
    this.calls.writes++;
    this.writesByKind.receipts++;
    this.writesByOwner?.addTo(RECEIPTS_OWNER);
    this.tick(expiresAt - LATE_ARRIVAL_GRACE_MS);
    this.receipts.set(batchId, { body, expiresAt });
  }
}

function sweepBuckets(outer: Map<string, BucketList<{ expiresAt: number }>>, before: number): void {
  for (const [key, buckets] of outer) {
    buckets.sweep(before);
    if (buckets.size === 0) outer.delete(key);
  }
}

function sweepNested<K>(outer: Map<string, Map<K, { expiresAt: number }>>, before: number): void {
  for (const [key, inner] of outer) {
    sweepFlat(inner, before);
    if (inner.size === 0) outer.delete(key);
  }
}

function sweepFlat<K>(items: Map<K, { expiresAt: number }>, before: number): void {
  for (const [k, item] of items) if (item.expiresAt <= before) items.delete(k);
}
