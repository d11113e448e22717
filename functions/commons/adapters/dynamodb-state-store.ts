import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { getOrCreate } from '../../../src/engine/map-entry';
import {
  type Chunk,
  type CounterEntry,
  counterAttr,
  counterChunks,
  entryOf,
  packedItemOpen,
  packedKeyOf,
  type SetEntry,
  setAttr,
  setChunks,
  slotOf,
  slotQueries,
} from '../../../src/engine/packed-state';
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
} from '../../../src/engine/state-store';

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;
/** Stale due documents taken off the list at once (conditional updates in flight). */
const DROP_DUE_PARALLEL = 25;
/** The sparse index of documents with a due time (conditions to resolve, digests to publish). */
export const DUE_INDEX = 'due';
/** Due documents are spread over this many index partitions so no single one runs hot. */
export const DUE_SHARDS = 4;
/**
 * Batch ids a counter item records before the slot's next item takes over: 22 characters each,
 * so a full item (with its counts) stays under 4 KB — one read unit, at most four write units.
 */
export const BATCH_IDS_PER_COUNTER_ITEM = 160;
/** Items of one slot at most (`#9999`): 1.6 million batches of one key in one window. */
const MAX_SLOT_ITEMS = 10_000;
/** Times a batch finds the item it tried changed under it before the slot is given up on. */
const MAX_SLOT_RACES = 8;
/** Receipts above this (gzipped) are not stored: the item limit is 400 KB; the batch is re-decided instead. */
const MAX_RECEIPT_BYTES = 300_000;
/** The item recording when this table's packed layout began (src/engine/packed-state.ts). */
const LAYOUT_KEY = { pk: { S: 'meta#layout' }, sk: { S: 'packed' } };
/**
 * How long after the packed layout began a per-key item may still have been written: by a
 * container of the version before, finishing its batch, or for an event up to a day ahead of its
 * delivery (the detector's bound on a line's own time).
 */
const LAYOUT_OVERLAP_MS = 24 * 3_600_000 + 15 * 60_000;
/**
 * A table made this shortly before its first packing container ran is new with this version: a
 * stack deployed and upgraded within the hour reads none of the per-key items of that hour.
 */
const FRESH_TABLE_MS = 3_600_000;

/**
 * DynamoDB adapter of the StateStore port. One table, string keys `pk` / `sk`, TTL on `ttl`
 * (epoch seconds); `expms` (epoch ms) is the logical expiry every read filters on, because TTL
 * deletes lazily and expired items are still returned until then.
 *
 * Threshold counters and distinct-value sets are packed: many entities' entries in one item per
 * rule, shard and slot, each write one unit (src/engine/packed-state.ts, placeChunk); a table that
 * held per-key items before reads them beside the packed ones for buckets from before (layoutStart).
 *
 * Idempotency without transactions: a counter item holds, next to its bucket counts, the set of
 * batch ids already added to it (a packed one, the ids of the chunks it took). The update `ADD c<bucket> :d, …, bids :id` runs under the
 * condition `NOT contains(bids, :id)`, so a redelivered batch fails the condition and changes
 * nothing. An item records at most BATCH_IDS_PER_COUNTER_ITEM ids; a busy slot continues in
 * further items (incrementSlot).
 *
 * Documents (alert conditions, risk records, digest entries) carry a version `v`: a write names
 * the version it read (`v = :v`), so concurrent detectors never overwrite each other's decision;
 * the loser re-reads and decides again. Documents with a due time are in the sparse `due` index
 * (partition `dshard`, sort `due`), which the sweeper queries for conditions to resolve.
 *
 * Redelivered batches: before deciding, the detector reads the batch's receipt (`r#<batchId>`),
 * which holds what it decided the first time (gzipped JSON), and re-sends that.
 *
 * Hot keys: the detector pre-aggregates per batch, so one flooding IP costs one write per
 * (rule, slot of buckets) per batch, not per event; reserved concurrency caps batches in flight, which
 * bounds writes per key far below the 1,000 WCU/s partition limit.
 */
export class DynamoStateStore implements StateStore {
  readonly calls = { reads: 0, writes: 0 };

  /** Counter and packed items found full, by key: they never change again (see incrementSlot, placeChunk). */
  private readonly fullItems = new FullItems();
  /** Before when a bucket may have per-key items beside packed ones: read once per container. */
  private legacyBefore: Promise<number> | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly concurrency = 16,
    private readonly batchIdsPerItem = BATCH_IDS_PER_COUNTER_ITEM,
  ) {}

  private ttl(expMs: number): string {
    // Physical deletion a day after logical expiry, so late (retried) batches still find state.
    return String(Math.ceil(expMs / 1000) + 86_400);
  }

  async incrementCounters(batchId: string, increments: readonly CounterIncrement[], now: number): Promise<CounterResult[]> {
    const { chunks, perKey } = counterChunks(batchId, increments);
    // One conditional update per (key, slot) item, however many of its buckets this batch touches.
    const slots = new Map<string, CounterIncrement[]>();
    for (const inc of perKey) {
      const id = `${inc.key}\u0000${slotOf(inc.bucket)}`;
      const list = slots.get(id);
      if (list) list.push(inc);
      else slots.set(id, [inc]);
    }
    const [perSlot, packed] = await Promise.all([
      mapLimit([...slots.values()], this.concurrency, (incs) => this.incrementSlot(batchId, incs)),
      this.incrementPacked(chunks, increments, now),
    ]);
    return [...perSlot.flat(), ...packed];
  }

  /**
   * A batch's packed counter chunks, chain by chain (side by side; a chain's chunks in order), and
   * each packed increment's total: its entity's count in the bucket over every item of the slot,
   * and, for a bucket from before the packed layout, its per-key items'.
   */
  private async incrementPacked(
    chunks: readonly Chunk<CounterEntry>[],
    increments: readonly CounterIncrement[],
    now: number,
  ): Promise<CounterResult[]> {
    if (chunks.length === 0) return [];
    const legacyBefore = await this.layoutStart();
    const packed = increments.flatMap((inc) => {
      const key = packedKeyOf(inc.key, 'counter');
      return key ? [{ inc, key }] : [];
    });
    // Buckets from before the packed layout: the slot's per-key items too (a day after an upgrade,
    // none), read beside the chunks' writes.
    const legacy = new Map<string, Promise<Map<number, number>>>();
    for (const { inc } of packed) {
      const id = `${inc.key}\u0000${slotOf(inc.bucket)}`;
      if (!beganBefore(inc.bucket, inc.width, legacyBefore) || legacy.has(id)) continue;
      const slot = slotOf(inc.bucket);
      const read = this.queryRange(inc.key, slotItemSk(slot, 0), slotEndSk(slot)).then((items) =>
        sumCounts(items.filter((i) => Number(i.expms?.N ?? 0) > now)),
      );
      // Awaited below; should a chunk's write fail first, its failure is the batch's, not an unhandled one.
      read.catch(() => undefined);
      legacy.set(id, read);
    }
    const applied = new Map<string, boolean>();
    const totals = new Map<string, number>();
    await mapLimit([...groupChunks(chunks).values()], this.concurrency, async (chain) => {
      const walk = newWalk();
      for (const chunk of chain) {
        const done = await this.placeChunk(chunk, counterUpdate(chunk), walk);
        for (const e of chunk.entries) applied.set(counterAttr(e.bucket, e.key), done);
      }
      const first = chain[0] as Chunk<CounterEntry>;
      // Every chunk was applied before and found in items this container knew full: the rest of
      // the slot is still to read for the totals.
      if (!walk.current) await this.readRest(first.pk, first.slot, walk);
      for (const item of walk.items.values()) {
        for (const [name, value] of Object.entries(item)) {
          const entry = entryOf(name, 'n');
          if (!entry) continue;
          const id = `${first.pk}\u0000${entry.bucket}\u0000${entry.member}`;
          totals.set(id, (totals.get(id) ?? 0) + Number(value.N ?? 0));
        }
      }
    });
    return Promise.all(
      packed.map(async ({ inc, key }) => {
        const legacyCounts = await legacy.get(`${inc.key}\u0000${slotOf(inc.bucket)}`);
        const total = (totals.get(`${key.pk}\u0000${inc.bucket}\u0000${key.member}`) ?? 0) + (legacyCounts?.get(inc.bucket) ?? 0);
        return { key: inc.key, bucket: inc.bucket, total, applied: applied.get(counterAttr(inc.bucket, inc.key)) ?? true };
      }),
    );
  }

  /**
   * One chunk into its chain's open item: the slot's first item not full for good, which is its
   * last (an item takes any chunk while it is open, so nothing is ever written past one). A
   * counter chunk's id in an item means an earlier delivery of its batch wrote it: nothing is
   * added (false). The walk carries what the chain's items hold, for the totals.
   */
  private async placeChunk(chunk: Chunk<CounterEntry | SetEntry>, update: PackedUpdate, walk: ChainWalk): Promise<boolean> {
    const open = packedItemOpen(chunk.pk);
    // The full items this container knows of: no call needed to pass them.
    for (let full = this.fullItems.get(chunk.pk, slotItemSk(chunk.slot, walk.next)); full; ) {
      passFull(walk, walk.next, full.item);
      full = this.fullItems.get(chunk.pk, slotItemSk(chunk.slot, walk.next));
    }
    for (let races = 0; races < MAX_SLOT_RACES && walk.next < MAX_SLOT_ITEMS; ) {
      // In an item the walk has passed (full for good): an earlier delivery of this batch wrote it.
      if (chunk.id !== undefined && walk.fullIds.has(chunk.id)) return false;
      const tried = walk.next;
      try {
        this.calls.writes++;
        const out = await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: chunk.pk }, sk: { S: slotItemSk(chunk.slot, walk.next) } },
            UpdateExpression: update.expression,
            ConditionExpression:
              chunk.id === undefined
                ? 'attribute_not_exists(nb) OR nb <= :open'
                : 'attribute_not_exists(nb) OR (nb <= :open AND NOT contains(bids, :id))',
            ExpressionAttributeNames: update.names,
            ExpressionAttributeValues: { ...update.values, ':open': { N: String(open) }, ...this.expiry(chunk.expiresAt) },
            ReturnValues: 'ALL_NEW',
          }),
        );
        const item = out.Attributes ?? {};
        // The slot as of this write: a later item would be a later batch's.
        walk.current = true;
        // Past `open` now: what this write returned is all the item will ever hold.
        if (Number(item.nb?.N ?? 0) > open) {
          this.keepFull(chunk.pk, item);
          passFull(walk, walk.next, item);
        } else walk.items.set(walk.next, item);
        return true;
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
      // Full, or holding this chunk already: the slot's items from this one on, in one read.
      if (await this.readRest(chunk.pk, chunk.slot, walk, chunk.id)) return false;
      // The item tried changed meanwhile (it expired and began again): try again.
      if (walk.next === tried) races++;
    }
    throw new Error(`packed ${chunk.pk} slot ${chunk.slot}: no item took a chunk (${walk.next} items, ${MAX_SLOT_RACES} lost races)`);
  }

  /**
   * The chain's items from `walk.next` on, in one query: each is kept in the walk, the full ones
   * for the container too, and `walk.next` moves past the full ones. True when one holds chunk `id`.
   */
  private async readRest(pk: string, slot: number, walk: ChainWalk, id?: string): Promise<boolean> {
    const open = packedItemOpen(pk);
    let holds = false;
    for (const read of await this.queryRange(pk, slotItemSk(slot, walk.next), slotEndSk(slot))) {
      const index = slotItemIndex(read.sk?.S ?? '');
      if (id !== undefined && (read.bids?.SS ?? []).includes(id)) holds = true;
      if (Number(read.nb?.N ?? 0) > open) {
        this.keepFull(pk, read);
        passFull(walk, index, read);
      } else walk.items.set(index, read);
    }
    walk.current = true;
    return holds;
  }

  private keepFull(pk: string, item: Record<string, AttributeValue>): void {
    const ids = item.bids?.SS ?? [];
    this.fullItems.set(pk, item.sk?.S ?? '', { ids: `\n${ids.join('\n')}\n`, item, expiresAt: Number(item.expms?.N ?? 0) });
  }

  /** `expms` and `ttl` values for an item expiring at `expiresAt`. */
  private expiry(expiresAt: number): Record<string, AttributeValue> {
    return { ':exp': { N: String(expiresAt) }, ':ttl': { N: this.ttl(expiresAt) } };
  }

  /**
   * Before when a bucket may have per-key items beside its packed ones: the packed layout's start
   * in this table and LAYOUT_OVERLAP_MS, or never for a table the packed layout began in. The
   * first container that packs records the start (conditionally: one record per table), having
   * asked when the table was made: within FRESH_TABLE_MS of it, no earlier version ran there.
   */
  private layoutStart(): Promise<number> {
    this.legacyBefore ??= (async () => {
      for (;;) {
        this.calls.reads++;
        const found = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: LAYOUT_KEY, ConsistentRead: true }));
        if (found.Item) {
          return found.Item.fresh?.BOOL === true ? Number.NEGATIVE_INFINITY : Number(found.Item.since?.N ?? 0) + LAYOUT_OVERLAP_MS;
        }
        const table = await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
        const since = Date.now();
        const created = table.Table?.CreationDateTime?.getTime() ?? 0;
        try {
          this.calls.writes++;
          await this.client.send(
            new PutItemCommand({
              TableName: this.tableName,
              Item: { ...LAYOUT_KEY, since: { N: String(since) }, fresh: { BOOL: since - created < FRESH_TABLE_MS } },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
        } catch (err) {
          if (!isConditionFailure(err)) throw err; // another container recorded it first: read that
        }
      }
    })();
    this.legacyBefore.catch(() => {
      this.legacyBefore = undefined; // a failed read is tried again by the next batch
    });
    return this.legacyBefore;
  }

  /**
   * One batch's increments of one key and slot. The slot's item records the ids of the batches it
   * has added (its idempotency) up to `batchIdsPerItem`; a full item is never written again, and
   * the slot continues in a next item (`…#0001`, `#0002`, …). A batch walks the slot's items in
   * order: one holding its id means it was applied already (a retried batch); a full one without
   * it adds its counts to the totals; the first with room takes the batch. Every write and read
   * thus costs what one small item costs, where one item holding every id of a busy slot cost a
   * write unit per KB of ids at every delivery (one a second over a spike rule's 50-minute slot:
   * 32.8 write and 8.6 read units a delivery, against 2.3 and 1.0 now, measured on dynalite) and
   * outgrew 400 KB at 18,600 ids (every later delivery of the slot failed).
   */
  private async incrementSlot(batchId: string, incs: readonly CounterIncrement[]): Promise<CounterResult[]> {
    const first = incs[0] as CounterIncrement;
    const slot = slotOf(first.bucket);
    const names: Record<string, string> = { '#ttl': 'ttl' };
    const values: Record<string, AttributeValue> = {
      ':b': { SS: [batchId] },
      ':id': { S: batchId },
      ':max': { N: String(this.batchIdsPerItem) },
    };
    const adds = incs.map((inc, i) => {
      names[`#c${i}`] = bucketAttr(inc.bucket);
      values[`:d${i}`] = { N: String(inc.delta) };
      return `#c${i} :d${i}`;
    });
    const expiresAt = Math.max(...incs.map((i) => i.expiresAt));
    values[':exp'] = { N: String(expiresAt) };
    values[':ttl'] = { N: this.ttl(expiresAt) };
    const totals = (counts: ReadonlyMap<number, number>, applied: boolean) =>
      incs.map((inc) => ({ key: inc.key, bucket: inc.bucket, total: counts.get(inc.bucket) ?? 0, applied }));
    // A batch applied before gets the slot's current totals (every item of it), as one item gave.
    const current = async () => totals(sumCounts(await this.queryRange(first.key, slotItemSk(slot, 0), slotEndSk(slot))), false);

    // The full items this container knows of: no call needed to pass them.
    const carried = new Map<number, number>();
    let item = 0;
    for (
      let full = this.fullItems.get(first.key, slotItemSk(slot, 0));
      full;
      full = this.fullItems.get(first.key, slotItemSk(slot, item))
    ) {
      if (full.ids.includes(`\n${batchId}\n`)) return current();
      addCounts(carried, counterValues(full.item));
      item++;
    }
    for (let races = 0; races < MAX_SLOT_RACES && item < MAX_SLOT_ITEMS; ) {
      let tooBig = false;
      try {
        this.calls.writes++;
        const out = await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: first.key }, sk: { S: slotItemSk(slot, item) } },
            // expms only grows: SET with if_not_exists would lose that, so the max is computed client-side per batch.
            UpdateExpression: `ADD ${adds.join(', ')}, bids :b SET expms = :exp, #ttl = :ttl`,
            ConditionExpression: 'attribute_not_exists(bids) OR (NOT contains(bids, :id) AND size(bids) < :max)',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        );
        return totals(addCounts(carried, counterValues(out.Attributes)), true);
      } catch (err) {
        tooBig = isItemTooLarge(err);
        if (!tooBig && !isConditionFailure(err)) throw err;
      }
      // Applied already, or full (an item from before the bound may be full by size instead): the
      // slot's items from this one on, in one read.
      const rest = await this.queryRange(first.key, slotItemSk(slot, item), slotEndSk(slot));
      const tried = item;
      for (const read of rest) {
        const ids = read.bids?.SS ?? [];
        if (ids.includes(batchId)) return current();
        const index = slotItemIndex(read.sk?.S ?? '');
        if (ids.length < this.batchIdsPerItem && !(tooBig && index === tried)) break; // room: the batch goes here
        // Full for good (nothing adds to it again): kept for the container's later batches.
        this.keepFull(first.key, read);
        addCounts(carried, counterValues(read));
        item = index + 1;
      }
      // The item tried changed meanwhile (it expired and began again, or another batch filled it): try again.
      if (item === tried) races++;
    }
    throw new Error(`counter ${first.key} slot ${slot}: no item took batch ${batchId} (${item} items, ${MAX_SLOT_RACES} lost races)`);
  }

  async readCounters(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, number>>> {
    const { packed, perKey } = await this.splitRanges(ranges, 'counter');
    const out = new Map<string, Map<number, number>>();
    const found = (key: string) => getOrCreate(out, key, () => new Map<number, number>());
    const add = (key: string, bucket: number, n: number) => found(key).set(bucket, (found(key).get(bucket) ?? 0) + n);
    for (const r of ranges) found(r.key);
    await Promise.all([
      mapLimit(perKey, this.concurrency, async (r) => {
        // Full items this container knows of are read from memory (they never change): only the
        // rest of each slot is read, which for a busy slot is its last, small item.
        for (const item of await this.readSlotItems(r.key, slotOf(r.from), slotOf(r.to), now)) {
          for (const [bucket, n] of counterValues(item)) if (bucket >= r.from && bucket <= r.to) add(r.key, bucket, n);
        }
      }),
      this.readPacked(packed, 'counter', now, (key, bucket, value) => add(key, bucket, Number(value.N ?? 0))),
    ]);
    return out;
  }

  /**
   * Ranges of packed keys, and the ranges read in the per-key layout: keys that keep it, and
   * packed keys whose buckets began before the table's packed layout (their items from before).
   */
  private async splitRanges(
    ranges: readonly BucketRange[],
    kind: 'counter' | 'set',
  ): Promise<{ packed: BucketRange[]; perKey: BucketRange[] }> {
    const packed = ranges.filter((r) => packedKeyOf(r.key, kind) !== undefined);
    if (packed.length === 0) return { packed, perKey: [...ranges] };
    const legacyBefore = await this.layoutStart();
    return { packed, perKey: ranges.filter((r) => !packedKeyOf(r.key, kind) || beganBefore(r.from, r.width, legacyBefore)) };
  }

  /**
   * Packed entries of these ranges' entities and buckets, one read per partition (the slots the
   * ranges span; items known full from memory): `deliver` gets each entry's value.
   */
  private async readPacked(
    ranges: readonly BucketRange[],
    kind: 'counter' | 'set',
    now: number,
    deliver: (key: string, bucket: number, value: AttributeValue) => void,
  ): Promise<void> {
    const partitions = new Map<string, { members: Map<string, BucketRange[]>; from: number; to: number }>();
    for (const r of ranges) {
      const packed = packedKeyOf(r.key, kind);
      if (!packed) continue;
      const p = getOrCreate(partitions, packed.pk, () => ({
        members: new Map<string, BucketRange[]>(),
        from: slotOf(r.from),
        to: slotOf(r.to),
      }));
      getOrCreate(p.members, packed.member, () => []).push(r);
      p.from = Math.min(p.from, slotOf(r.from));
      p.to = Math.max(p.to, slotOf(r.to));
    }
    const prefix = kind === 'counter' ? 'n' : 'v';
    await mapLimit([...partitions], this.concurrency, async ([pk, p]) => {
      for (const item of await this.readSlotItems(pk, p.from, p.to, now)) {
        for (const [name, value] of Object.entries(item)) {
          const entry = entryOf(name, prefix);
          const wanted = entry && p.members.get(entry.member);
          if (!entry || !wanted) continue;
          for (const r of wanted) if (entry.bucket >= r.from && entry.bucket <= r.to) deliver(r.key, entry.bucket, value);
        }
      }
    });
  }

  /**
   * The live items of slots `from`…`to` of a partition: the full ones this container knows from
   * memory, the rest in one query per slot that has known ones (side by side: a query more, not
   * a round trip more), consecutive slots without in one (slotQueries).
   */
  private async readSlotItems(pk: string, from: number, to: number, now: number): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    const queries = slotQueries(from, to, (slot) => {
      let known = 0;
      for (let full = this.fullItems.get(pk, slotItemSk(slot, 0)); full; full = this.fullItems.get(pk, slotItemSk(slot, known))) {
        if (full.expiresAt > now) items.push(full.item);
        known++;
      }
      return known;
    });
    const read = await Promise.all(queries.map((q) => this.queryRange(pk, slotItemSk(q.slot, q.item), slotEndSk(q.toSlot))));
    for (const page of read) for (const item of page) if (Number(item.expms?.N ?? 0) > now) items.push(item);
    return items;
  }

  async addToSets(adds: readonly SetAdd[]): Promise<void> {
    const { chunks, perKey } = setChunks(adds);
    await Promise.all([
      mapLimit(perKey, this.concurrency, (add) => this.addToSet(add)),
      // A chain's chunks in order (each into the slot's open item), chains side by side.
      mapLimit([...groupChunks(chunks).values()], this.concurrency, async (chain) => {
        const walk = newWalk();
        for (const chunk of chain) await this.placeChunk(chunk, setUpdate(chunk), walk);
      }),
    ]);
  }

  /** One set in the per-key layout (an item per key and bucket): a sequence step's, or a long entity's. */
  private async addToSet(add: SetAdd): Promise<void> {
    if (add.members.length === 0) return;
    try {
      this.calls.writes++;
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: add.key }, sk: { S: bucketSk(add.bucket) } },
          UpdateExpression: `ADD vals :m SET expms = :exp, #ttl = :ttl${add.context === undefined ? '' : ', ctx = :ctx'}`,
          ConditionExpression: 'attribute_not_exists(vals) OR size(vals) < :cap',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':m': { SS: [...new Set(add.members)] }, // a string set refuses duplicates
            ':cap': { N: String(add.cap) },
            ...this.expiry(add.expiresAt),
            ...(add.context === undefined ? {} : { ':ctx': { S: add.context } }),
          },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err; // the set is full: the decision needs no more members
    }
  }

  async readSets(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, ReadonlySet<string>>>> {
    const { packed, perKey } = await this.splitRanges(ranges, 'set');
    const out = new Map<string, Map<number, Set<string>>>();
    const setOf = (key: string, bucket: number) =>
      getOrCreate(
        getOrCreate(out, key, () => new Map()),
        bucket,
        () => new Set<string>(),
      );
    for (const r of ranges) getOrCreate(out, r.key, () => new Map());
    await Promise.all([
      mapLimit(perKey, this.concurrency, async (r) => {
        for (const item of await this.queryRange(r.key, bucketSk(r.from), bucketSk(r.to), 'sk, vals, expms')) {
          if (Number(item.expms?.N ?? 0) <= now) continue;
          const set = setOf(r.key, skBucket(item.sk?.S ?? ''));
          for (const v of item.vals?.SS ?? []) set.add(v);
        }
      }),
      this.readPacked(packed, 'set', now, (key, bucket, value) => {
        const set = setOf(key, bucket);
        for (const v of value.SS ?? []) set.add(v);
      }),
    ]);
    return out;
  }

  async readSetContexts(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, string>>> {
    const out = new Map<string, Map<number, string>>();
    await mapLimit(ranges, this.concurrency, async (r) => {
      const found = new Map<number, string>();
      for (const item of await this.queryRange(r.key, bucketSk(r.from), bucketSk(r.to), 'sk, ctx, expms')) {
        const context = item.ctx?.S;
        if (context === undefined || Number(item.expms?.N ?? 0) <= now) continue;
        found.set(skBucket(item.sk?.S ?? ''), context);
      }
      out.set(r.key, found);
    });
    return out;
  }

  async claimTerms(claims: readonly TermClaim[]): Promise<TermClaimResult[]> {
    // In order within a key (a later claim for the same entity must see the earlier one); keys
    // side by side — a login service's batch of 2,000 users took 2,000 sequential pairs of round
    // trips (40 s at 5 ms each, of a 60 s timeout).
    const byKey = new Map<string, number[]>();
    claims.forEach((c, i) => {
      const list = byKey.get(c.key);
      if (list) list.push(i);
      else byKey.set(c.key, [i]);
    });
    const results = new Array<TermClaimResult>(claims.length);
    await mapLimit([...byKey.values()], this.concurrency, async (indexes) => {
      for (const i of indexes) results[i] = await this.claimTerm(claims[i] as TermClaim);
    });
    return results;
  }

  /**
   * A known term (nearly every claim: a user's usual country, an account's usual region) is one
   * write: its expiry runs from this sighting, on condition that it is live, someone else's and
   * would be extended. Only when that is refused is the term claimed — new, expired, or this
   * batch's own on a retry — and, refused again, extended as before. A claim tried first was
   * refused for every known term and billed anyway (a refused conditional write costs its units):
   * two writes for a term seen again, where one does now; a new term costs the refused extension.
   */
  private async claimTerm(c: TermClaim): Promise<TermClaimResult> {
    const { hadHistory, legacy } = await this.termHistory(c);
    const extend = 'SET expms = :exp, #ttl = :ttl';
    const claim = 'SET own = :o, expms = :exp, #ttl = :ttl, claimed = :now';
    // Live, someone else's, and extended by this sighting.
    const known = 'attribute_exists(pk) AND expms > :now AND own <> :o AND expms < :exp';
    if (await this.updateTerm(c, extend, known)) return { isNew: false, hadHistory, legacy };
    // New, expired, or this batch's own (a retry).
    if (await this.updateTerm(c, claim, 'attribute_not_exists(pk) OR expms <= :now OR own = :o'))
      return { isNew: true, hadHistory, legacy };
    // Known already (a late delivery, or a claim that won a race just now): its expiry runs from this sighting.
    await this.updateTerm(c, extend, 'expms < :exp');
    return { isNew: false, hadHistory, legacy };
  }

  /** One conditional update of a claim's term item: whether its condition held. */
  private async updateTerm(c: TermClaim, update: string, condition: string): Promise<boolean> {
    const values: Record<string, AttributeValue> = {
      ':o': { S: c.owner },
      ':exp': { N: String(c.expiresAt) },
      ':ttl': { N: this.ttl(c.expiresAt) },
      ':now': { N: String(c.at) },
    };
    // DynamoDB refuses a value the expressions do not use.
    const named = new Set(`${update} ${condition}`.match(/:\w+/g));
    const used = Object.fromEntries(Object.entries(values).filter(([name]) => named.has(name)));
    this.calls.writes++;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: c.key }, sk: { S: `t#${c.term}` } },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: used,
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return false;
    }
  }

  /**
   * Whether the key holds a live term other than the claimed one, read 20 items at a time (by
   * term, not by age) until one is found: expired items wait for TTL (up to days), and an
   * entity's first 20 terms all expired must not make its history look empty — its next new term
   * would then be learned instead of told.
   */
  private async termHistory(c: TermClaim): Promise<{ hadHistory: boolean; legacy: boolean }> {
    let hadHistory = false;
    let legacy = false;
    let start: Record<string, AttributeValue> | undefined;
    do {
      this.calls.reads++;
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :t)',
          ExpressionAttributeValues: { ':pk': { S: c.key }, ':t': { S: 't#' } },
          ProjectionExpression: 'sk, expms, claimed',
          ConsistentRead: true,
          Limit: 20,
          ExclusiveStartKey: start,
        }),
      );
      const live = (page.Items ?? []).filter((i) => Number(i.expms?.N ?? 0) > c.at);
      hadHistory ||= live.some((i) => i.sk?.S !== `t#${c.term}`);
      // Items this version writes say when they were claimed; one that does not is from before learning starts existed.
      legacy ||= live.some((i) => i.claimed === undefined);
      start = page.LastEvaluatedKey;
    } while (start && !hadHistory);
    return { hadHistory, legacy };
  }

  async readDocs(keys: readonly DocKey[], now: number): Promise<Map<string, StoredDoc>> {
    const out = new Map<string, StoredDoc>();
    for (const item of await this.batchGet(keys, 'pk, sk, v, doc, expms')) {
      if (Number(item.expms?.N ?? 0) <= now) continue;
      out.set(docId({ pk: item.pk?.S ?? '', sk: item.sk?.S ?? '' }), { version: Number(item.v?.N ?? 0), body: item.doc?.S ?? '' });
    }
    return out;
  }

  async writeDoc(w: DocWrite): Promise<boolean> {
    const names: Record<string, string> = { '#ttl': 'ttl' };
    const values: Record<string, AttributeValue> = {
      ':b': { S: w.body },
      ':e': { N: String(w.expiresAt) },
      ':ttl': { N: this.ttl(w.expiresAt) },
      ':zero': { N: '0' },
      ':one': { N: '1' },
    };
    let condition: string | undefined;
    if (w.ifVersion === null) {
      condition = 'attribute_not_exists(pk) OR expms <= :now';
      values[':now'] = { N: String(w.now) };
    } else if (w.ifVersion !== undefined) {
      condition = 'v = :v';
      values[':v'] = { N: String(w.ifVersion) };
    }
    let update = 'SET doc = :b, expms = :e, #ttl = :ttl, v = if_not_exists(v, :zero) + :one';
    if (w.dueAt === undefined) update += ' REMOVE due, dshard';
    else {
      update += ', due = :due, dshard = :shard';
      values[':due'] = { N: String(w.dueAt) };
      values[':shard'] = { S: dueShard(w.pk) };
    }
    try {
      this.calls.writes++;
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: w.pk }, sk: { S: w.sk } },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async queryDocs(pk: string, now: number): Promise<(DocKey & StoredDoc)[]> {
    const items = await this.queryPartition(pk, 'pk, sk, v, doc, expms');
    return items
      .filter((i) => Number(i.expms?.N ?? 0) > now)
      .map((i) => ({ pk, sk: i.sk?.S ?? '', version: Number(i.v?.N ?? 0), body: i.doc?.S ?? '' }));
  }

  async listDue(now: number, limit: number): Promise<DocKey[]> {
    const due: (DocKey & { at: number })[] = [];
    for (let shard = 0; shard < DUE_SHARDS; shard++) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        this.calls.reads++;
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: DUE_INDEX,
            KeyConditionExpression: 'dshard = :s AND due <= :now',
            ExpressionAttributeValues: { ':s': { S: `due#${shard}` }, ':now': { N: String(now) } },
            Limit: limit,
            ExclusiveStartKey: start,
          }),
        );
        for (const i of page.Items ?? []) due.push({ pk: i.pk?.S ?? '', sk: i.sk?.S ?? '', at: Number(i.due?.N ?? 0) });
        start = due.length < limit * DUE_SHARDS ? page.LastEvaluatedKey : undefined;
      } while (start);
    }
    return earliestDue(due, limit);
  }

  async dropDue(keys: readonly DocKey[], now: number): Promise<void> {
    // One conditional update each, a few at a time: the condition is the expiry readers judge by,
    // so a document written again since (live) keeps its due time, and a deleted one is left alone.
    for (let i = 0; i < keys.length; i += DROP_DUE_PARALLEL) {
      await Promise.all(
        keys.slice(i, i + DROP_DUE_PARALLEL).map(async (k) => {
          this.calls.writes++;
          try {
            await this.client.send(
              new UpdateItemCommand({
                TableName: this.tableName,
                Key: { pk: { S: k.pk }, sk: { S: k.sk } },
                UpdateExpression: 'REMOVE due, dshard',
                ConditionExpression: 'expms <= :now',
                ExpressionAttributeValues: { ':now': { N: String(now) } },
              }),
            );
          } catch (err) {
            if (!isConditionFailure(err)) throw err;
          }
        }),
      );
    }
  }

  async readReceipt(batchId: string): Promise<string | undefined> {
    this.calls.reads++;
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: `r#${batchId}` }, sk: { S: 'receipt' } }, ConsistentRead: true }),
    );
    const body = res.Item?.body?.B;
    return body ? gunzipSync(body).toString('utf8') : undefined;
  }

  async writeReceipt(batchId: string, receipt: string, expiresAt: number): Promise<void> {
    const body = gzipSync(receipt);
    if (body.length > MAX_RECEIPT_BYTES) return;
    this.calls.writes++;
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: { S: `r#${batchId}` },
          sk: { S: 'receipt' },
          body: { B: body },
          expms: { N: String(expiresAt) },
          ttl: { N: this.ttl(expiresAt) },
        },
      }),
    );
  }

  /** BatchGetItem in chunks of 100; throttled (unprocessed) keys are retried with backoff, never dropped. */
  private async batchGet(keys: readonly DocKey[], projection: string): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    const unique = [...new Map(keys.map((k) => [docId(k), k])).values()];
    for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
      let pending: Record<string, AttributeValue>[] = unique
        .slice(i, i + BATCH_GET_LIMIT)
        .map((k) => ({ pk: { S: k.pk }, sk: { S: k.sk } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`BatchGetItem: ${pending.length} keys still unprocessed after ${attempt} attempts`);
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        this.calls.reads++;
        const res = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: projection } },
          }),
        );
        items.push(...(res.Responses?.[this.tableName] ?? []));
        pending = res.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return items;
  }

  private queryPartition(pk: string, projection: string) {
    return this.query(pk, undefined, projection);
  }

  private queryRange(pk: string, from: string, to: string, projection?: string) {
    return this.query(pk, { from, to }, projection);
  }

  /** Every item of a partition (or of a sort-key range of it), page by page. */
  private async query(pk: string, range: { from: string; to: string } | undefined, projection: string | undefined) {
    const items = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      this.calls.reads++;
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: range ? 'pk = :pk AND sk BETWEEN :from AND :to' : 'pk = :pk',
          ExpressionAttributeValues: range
            ? { ':pk': { S: pk }, ':from': { S: range.from }, ':to': { S: range.to } }
            : { ':pk': { S: pk } },
          ProjectionExpression: projection,
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}

/**
 * Counters (per key) and packed items (per partition): one item per slot of COUNTER_SLOT_BUCKETS
 * consecutive buckets (a whole window's worth), so a batch costs one update per key and slot
 * instead of one per bucket, and a window read is a query over two or three slots. A slot's first
 * item, and the ones that take over when it is full (`…#0001`: string order is item order).
 */
function slotItemSk(slot: number, item: number): string {
  const sk = `s#${String(slot).padStart(16, '0')}`;
  return item === 0 ? sk : `${sk}#${String(item).padStart(4, '0')}`;
}
/** After every item of the slot, before the next slot's. */
function slotEndSk(slot: number): string {
  return `${slotItemSk(slot, 0)}#~`;
}
/** Which item of its slot a sort key names (0 for the first). */
function slotItemIndex(sk: string): number {
  const suffix = sk.split('#')[2];
  return suffix === undefined ? 0 : Number(suffix);
}
/** An item's counts (and spike levels) by bucket. */
function counterValues(item: Record<string, AttributeValue> | undefined): Map<number, number> {
  const counts = new Map<number, number>();
  for (const [name, value] of Object.entries(item ?? {})) {
    const bucket = attrBucket(name);
    if (bucket !== undefined) counts.set(bucket, Number(value.N ?? 0));
  }
  return counts;
}
/** Adds `counts` into `into`, bucket by bucket; returns `into`. */
function addCounts(into: Map<number, number>, counts: ReadonlyMap<number, number>): Map<number, number> {
  for (const [bucket, n] of counts) into.set(bucket, (into.get(bucket) ?? 0) + n);
  return into;
}
/** Every item's counts added up, bucket by bucket. */
function sumCounts(items: readonly Record<string, AttributeValue>[]): Map<number, number> {
  const total = new Map<number, number>();
  for (const item of items) addCounts(total, counterValues(item));
  return total;
}
function bucketAttr(bucket: number): string {
  return `c${bucket}`;
}
function attrBucket(name: string): number | undefined {
  // A half bucket is a spike's level beside its window's count (spikeLevelBucket).
  return /^c\d+(?:\.5)?$/.test(name) ? Number(name.slice(1)) : undefined;
}

/** Bucket sort keys are zero-padded so BETWEEN on strings orders like numbers. */
function bucketSk(bucket: number): string {
  return `b#${String(bucket).padStart(16, '0')}`;
}
function skBucket(sk: string): number {
  return Number(sk.slice(2));
}

/** A stable index partition for a document (FNV-1a of its pk). */
function dueShard(pk: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < pk.length; i++) h = Math.imul(h ^ pk.charCodeAt(i), 0x01000193);
  return `due#${(h >>> 0) % DUE_SHARDS}`;
}

/**
 * Items a container has found full, at most 4,096 (up to 4 KB each; the oldest read goes first):
 * counter items past their batch ids' bound and packed items past their open bytes, which nothing
 * writes again. A busy entity's later batches and window reads pass them without a call. A
 * service's request-rate spike slot (50 minutes) at 10 deliveries a second fills 188 of them.
 */
class FullItems {
  private readonly items = new Map<string, FullItem>();

  get(pk: string, sk: string): FullItem | undefined {
    return this.items.get(`${pk}\u0000${sk}`);
  }

  set(pk: string, sk: string, item: FullItem): void {
    const id = `${pk}\u0000${sk}`;
    this.items.delete(id);
    this.items.set(id, item);
    if (this.items.size > 4_096) this.items.delete(this.items.keys().next().value ?? id);
  }
}

interface FullItem {
  /** Its batch or chunk ids, each between newlines (a base64url id holds none). */
  ids: string;
  item: Record<string, AttributeValue>;
  expiresAt: number;
}

/** What a walk along one packed chain (partition and slot) has seen of its items. */
interface ChainWalk {
  /** The item to write next: the first not known full. */
  next: number;
  /** The chain's items by index, as last seen: full ones final. */
  items: Map<number, Record<string, AttributeValue>>;
  /** The chunk ids of the full items passed: a chunk among them was written before. */
  fullIds: Set<string>;
  /** Whether `items` holds the whole slot as of some write or read of this walk. */
  current: boolean;
}

function newWalk(): ChainWalk {
  return { next: 0, items: new Map(), fullIds: new Set(), current: false };
}

/** The walk passes full item `index`: its content is final, its ids are kept, the next item is after it. */
function passFull(walk: ChainWalk, index: number, item: Record<string, AttributeValue>): void {
  walk.items.set(index, item);
  for (const id of item.bids?.SS ?? []) walk.fullIds.add(id);
  walk.next = Math.max(walk.next, index + 1);
}

/** Chunks by chain (partition and slot), each chain's in their order. */
function groupChunks<E>(chunks: readonly Chunk<E>[]): Map<string, Chunk<E>[]> {
  const chains = new Map<string, Chunk<E>[]>();
  for (const chunk of chunks) getOrCreate(chains, `${chunk.pk}\u0000${chunk.slot}`, () => []).push(chunk);
  return chains;
}

interface PackedUpdate {
  expression: string;
  names: Record<string, string>;
  values: Record<string, AttributeValue>;
}

/** A counter chunk's update: its counts added, its bytes to `nb`, its id to `bids`. */
function counterUpdate(chunk: Chunk<CounterEntry>): PackedUpdate {
  const names: Record<string, string> = { '#ttl': 'ttl' };
  const values: Record<string, AttributeValue> = { ':nb': { N: String(chunk.bytes) } };
  const adds = chunk.entries.map((e, i) => {
    names[`#e${i}`] = counterAttr(e.bucket, e.member);
    values[`:e${i}`] = { N: String(e.delta) };
    return `#e${i} :e${i}`;
  });
  if (chunk.id !== undefined) {
    values[':b'] = { SS: [chunk.id] };
    values[':id'] = { S: chunk.id };
  }
  return {
    expression: `ADD ${adds.join(', ')}, nb :nb${chunk.id === undefined ? '' : ', bids :b'} SET expms = :exp, #ttl = :ttl`,
    names,
    values,
  };
}

/** A set chunk's update: its members added to their sets, its bytes to `nb`. */
function setUpdate(chunk: Chunk<SetEntry>): PackedUpdate {
  const names: Record<string, string> = { '#ttl': 'ttl' };
  const values: Record<string, AttributeValue> = { ':nb': { N: String(chunk.bytes) } };
  const adds = chunk.entries.map((e, i) => {
    names[`#e${i}`] = setAttr(e.bucket, e.member);
    values[`:e${i}`] = { SS: e.values };
    return `#e${i} :e${i}`;
  });
  return { expression: `ADD ${adds.join(', ')}, nb :nb SET expms = :exp, #ttl = :ttl`, names, values };
}

/** Whether a bucket began before `before`; without its width, it may have. */
function beganBefore(bucket: number, width: number | undefined, before: number): boolean {
  return width === undefined || bucket * width < before;
}

/** DynamoDB refused a write that would take the item past 400 KB. */
function isItemTooLarge(err: unknown): boolean {
  return err instanceof Error && err.name === 'ValidationException' && /item size/i.test(err.message);
}

function isConditionFailure(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err instanceof Error && err.name === 'ConditionalCheckFailedException');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i];
      if (item !== undefined) results[i] = await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
