import { type AttributeValue, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { MemoryStateStore } from '../src/engine/memory-store';
import {
  CHUNK_BYTES,
  counterChunks,
  MAX_PACKED_MEMBER_BYTES,
  PACK_SHARDS,
  PACKED_ITEM_BYTES,
  packedKeyOf,
  setChunks,
  slotExpiry,
  utf8Bytes,
} from '../src/engine/packed-state';
import type { BucketRange, CounterIncrement, SetAdd, StateStore } from '../src/engine/state-store';
import { countConsumedCapacity } from '../src/local/consumed-capacity';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import { T0 } from './helpers';

const WIDTH = 6_000; // a one-minute window's buckets
const EXPIRES = T0 * 2;
const bucket0 = Math.floor(T0 / WIDTH);
const inc = (member: string, bucket: number, delta = 1, rule = 'r.flood'): CounterIncrement => ({
  key: `t#${rule}#${member}`,
  bucket,
  delta,
  expiresAt: EXPIRES,
  width: WIDTH,
});
const range = (member: string, from: number, to: number, rule = 'r.flood'): BucketRange => ({
  key: `t#${rule}#${member}`,
  from,
  to,
  width: WIDTH,
});
const add = (member: string, bucket: number, members: string[]): SetAdd => ({
  key: `d#r.scan#${member}`,
  bucket,
  members,
  cap: 1000,
  expiresAt: EXPIRES,
  width: WIDTH,
});
const setRange = (member: string, from: number, to: number): BucketRange => ({ key: `d#r.scan#${member}`, from, to, width: WIDTH });
const ip = (i: number) => `203.0.${Math.floor(i / 250)}.${i % 250}`;

/** Counters and sets as plain objects, sorted: what two stores are compared by. */
async function snapshot(store: StateStore, counters: BucketRange[], sets: BucketRange[]) {
  const c = await store.readCounters(counters, T0);
  const s = await store.readSets(sets, T0);
  // A key with no live bucket may be left out (StateStore): compared without them.
  return {
    counters: [...c]
      .filter(([, b]) => b.size > 0)
      .map(([k, b]) => [k, [...b].sort((x, y) => x[0] - y[0])])
      .sort(),
    sets: [...s]
      .filter(([, b]) => b.size > 0)
      .map(([k, b]) => [k, [...b].map(([n, m]) => [n, [...m].sort()]).sort()])
      .sort(),
  };
}

describe('packed layout: chunks', () => {
  it('which keys pack: threshold counters and distinct sets of entities up to the bound; spikes, sequences and scoped keys keep their items', () => {
    expect(packedKeyOf('t#r.flood#203.0.113.9', 'counter')).toMatchObject({ member: '203.0.113.9' });
    expect(packedKeyOf('t#r.flood#203.0.113.9', 'counter')?.pk).toMatch(/^pack#t#r\.flood#[0-3]$/);
    expect(packedKeyOf('d#r.scan#10.0.0.1', 'set')?.member).toBe('10.0.0.1');
    expect(packedKeyOf('d#r.scan#10.0.0.1', 'counter')).toBeUndefined();
    expect(packedKeyOf('p#r.spike#api', 'counter')).toBeUndefined();
    expect(packedKeyOf('s#r.seq#alice#1', 'set')).toBeUndefined();
    expect(packedKeyOf('@123|t#r.flood#alice', 'counter')).toBeUndefined();
    expect(packedKeyOf('hot', 'counter')).toBeUndefined();
    // A bounded value (64 characters, src/engine/bounded-value.ts) always packs; a longer grouping key may not.
    expect(utf8Bytes('語'.repeat(64))).toBe(MAX_PACKED_MEMBER_BYTES);
    expect(packedKeyOf(`t#r#${'語'.repeat(64)}`, 'counter')).toBeDefined();
    expect(packedKeyOf(`t#r#${'語'.repeat(64)}x`, 'counter')).toBeUndefined();
    // Every shard is used: an entity's shard is a hash of it.
    const shards = new Set(Array.from({ length: 200 }, (_, i) => packedKeyOf(`t#r#${ip(i)}`, 'counter')?.pk));
    expect(shards.size).toBe(PACK_SHARDS);
  });

  it('a batch is cut into chunks under the bound, in an order and with ids a retry repeats; one attribute once per chunk', () => {
    const increments = [...Array.from({ length: 300 }, (_, i) => inc(ip(i), bucket0 + (i % 3))), inc(ip(7), bucket0 + 1, 4)];
    const { chunks, perKey } = counterChunks('batch-1', increments);
    expect(perKey).toEqual([]);
    for (const c of chunks) {
      expect(c.bytes).toBeLessThanOrEqual(CHUNK_BYTES);
      const names = c.entries.map((e) => `${e.bucket}|${e.member}`);
      expect(new Set(names).size).toBe(names.length);
    }
    // ip(7) in bucket0 + 1 twice: merged into one entry of 5.
    expect(chunks.flatMap((c) => c.entries).find((e) => e.member === ip(7))?.delta).toBe(5);
    const total = chunks.flatMap((c) => c.entries).reduce((s, e) => s + e.delta, 0);
    expect(total).toBe(304);
    const again = counterChunks('batch-1', [...increments].reverse()).chunks;
    expect(again.map((c) => [c.pk, c.slot, c.id, c.entries.map((e) => e.member)])).toEqual(
      chunks.map((c) => [c.pk, c.slot, c.id, c.entries.map((e) => e.member)]),
    );
    // Already in entity and bucket order (as the threshold evaluator writes them, duplicates
    // side by side): no sort, the same chunks, the duplicate still merged.
    const inOrder = [...increments].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.bucket - b.bucket));
    const sorted = counterChunks('batch-1', inOrder).chunks;
    expect(sorted.map((c) => [c.pk, c.slot, c.id, c.entries.map((e) => `${e.member}:${e.delta}`)])).toEqual(
      chunks.map((c) => [c.pk, c.slot, c.id, c.entries.map((e) => `${e.member}:${e.delta}`)]),
    );
    // Ids name a chunk within its chain (partition and slot), where they are recorded.
    expect(new Set(chunks.map((c) => `${c.pk}/${c.slot}/${c.id}`)).size).toBe(chunks.length);
    // Far fewer writes than the 300 keys.
    expect(chunks.length).toBeLessThan(40);
  });

  it("a port scan's 600 ports of one source split over chunks, their union the set", () => {
    const ports = Array.from({ length: 600 }, (_, i) => String(1000 + i));
    const { chunks, perKey } = setChunks([add('10.0.0.1', bucket0, ports), { ...add('10.0.0.2', bucket0, ['22']), context: 'line' }]);
    expect(perKey.map((a) => a.key)).toEqual(['d#r.scan#10.0.0.2']);
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.bytes).toBeLessThanOrEqual(CHUNK_BYTES);
    expect(chunks.flatMap((c) => c.entries.flatMap((e) => e.values)).sort()).toEqual([...ports].sort());
  });

  it("every write of a slot sets the slot's last bucket's expiry: a late bucket never shortens it", () => {
    const slotStart = Math.ceil(bucket0 / 10) * 10;
    const expiryOf = (b: number) => (b + 1) * WIDTH + 60_000;
    expect(slotExpiry(slotStart + 2, expiryOf(slotStart + 2), WIDTH)).toBe(expiryOf(slotStart + 9));
    expect(slotExpiry(slotStart + 9, expiryOf(slotStart + 9), WIDTH)).toBe(expiryOf(slotStart + 9));
    expect(slotExpiry(slotStart + 9, 5, undefined)).toBe(5);
  });
});

describe('packed layout on DynamoDB (dynalite)', () => {
  let local: LocalDynamo;
  beforeAll(async () => {
    local = await startLocalDynamo('packed-state');
  });
  afterAll(async () => local.close());

  it('property: any batches, retries among them, answer as the memory store does, and the memory store counts the calls the adapter makes', async () => {
    const members = [...Array.from({ length: 40 }, (_, i) => ip(i)), 'ålice', `long-${'x'.repeat(MAX_PACKED_MEMBER_BYTES)}`];
    const batchArb = fc.record({
      incs: fc.array(fc.tuple(fc.constantFrom(...members), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 1, max: 5 })), {
        minLength: 1,
        maxLength: 60,
      }),
      adds: fc.array(
        fc.tuple(fc.constantFrom(...members), fc.integer({ min: 0, max: 24 }), fc.array(fc.nat(400), { minLength: 1, maxLength: 30 })),
        {
          maxLength: 40,
        },
      ),
      retryOf: fc.option(fc.nat(), { nil: undefined }),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(batchArb, { minLength: 1, maxLength: 14 }), async (batches) => {
        run++;
        // A rule of its own per run: a fresh key space in the shared table.
        const rule = `r.p${run}`;
        const dynamo: StateStore = new DynamoStateStore(local.client, local.tableName);
        const memory = new MemoryStateStore();
        await dynamo.readCounters([range('warm', bucket0, bucket0, rule)], T0); // the layout read, once per container
        const sent: { id: string; incs: CounterIncrement[]; adds: SetAdd[] }[] = [];
        for (const [i, b] of batches.entries()) {
          const earlier = b.retryOf === undefined || sent.length === 0 ? undefined : sent[b.retryOf % sent.length];
          const batch = earlier ?? {
            id: `b${i}`,
            // One increment per key and bucket in a batch, as the detector sends them (addBucketIncrements).
            incs: [...new Map(b.incs.map(([m, o, d]) => [`${m}@${o}`, inc(m, bucket0 + o, d, rule)])).values()],
            adds: b.adds.map(([m, o, vs]) => ({ ...add(m, bucket0 + o, vs.map(String)), key: `d#${rule}#${m}` })),
          };
          if (!earlier) sent.push(batch);
          const dynamoCalls = { ...dynamo.calls };
          const memoryCalls = { ...memory.calls };
          const fromDynamo = await dynamo.incrementCounters(batch.id, batch.incs, T0);
          const fromMemory = await memory.incrementCounters(batch.id, batch.incs, T0);
          const byKey = (rs: { key: string; bucket: number; total: number; applied: boolean }[]) =>
            rs.map((r) => `${r.key}@${r.bucket}=${r.total}/${r.applied}`).sort();
          expect(byKey(fromDynamo)).toEqual(byKey(fromMemory));
          await dynamo.addToSets(batch.adds, T0);
          await memory.addToSets(batch.adds, T0);
          const counterRanges = members.map((m) => range(m, bucket0, bucket0 + 24, rule));
          const setRanges = members.map((m) => ({ ...setRange(m, bucket0, bucket0 + 24), key: `d#${rule}#${m}` }));
          expect(await snapshot(dynamo, counterRanges, setRanges)).toEqual(await snapshot(memory, counterRanges, setRanges));
          expect({ reads: memory.calls.reads - memoryCalls.reads, writes: memory.calls.writes - memoryCalls.writes }).toEqual({
            reads: dynamo.calls.reads - dynamoCalls.reads,
            writes: dynamo.calls.writes - dynamoCalls.writes,
          });
        }
      }),
      { numRuns: 12 },
    );
  });

  it('every packed write is one write unit and every item stays under 1 KB, however busy the slot', async () => {
    const store: StateStore = new DynamoStateStore(local.client, local.tableName);
    await store.readCounters([range('warm', bucket0, bucket0, 'r.units')], T0);
    const units = countConsumedCapacity(local.client);
    const calls = { ...store.calls };
    for (let b = 0; b < 30; b++) {
      await store.incrementCounters(
        `u${b}`,
        Array.from({ length: 80 }, (_, i) => inc(ip((i * 7 + b) % 500), bucket0 + (b % 4), 1, 'r.units')),
        T0,
      );
      await store.addToSets(
        Array.from({ length: 20 }, (_, i) => ({
          ...add(ip(i + b), bucket0 + (b % 4), [String(b), String(i)]),
          key: `d#r.units#${ip(i + b)}`,
        })),
        T0,
      );
    }
    expect(units.write).toBe(store.calls.writes - calls.writes);
    expect(units.refusedWrites).toBe(0);
    for (let shard = 0; shard < PACK_SHARDS; shard++) {
      for (const kind of ['t', 'd']) {
        const items = await local.client.send(
          new QueryCommand({
            TableName: local.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: `pack#${kind}#r.units#${shard}` } },
          }),
        );
        expect(items.Items?.length).toBeGreaterThan(1); // the slots continued in further items
        for (const item of items.Items ?? []) expect(itemBytes(item)).toBeLessThan(PACKED_ITEM_BYTES);
      }
    }
  });

  it('a retried batch adds nothing: from the container that wrote it (its full items in memory) or from another', async () => {
    const store = new DynamoStateStore(local.client, local.tableName);
    const batch = (n: number) => Array.from({ length: 120 }, (_, i) => inc(ip(i), bucket0, n, 'r.retry'));
    const first = await store.incrementCounters('once', batch(1), T0);
    await store.incrementCounters('twice', batch(2), T0);
    const ranges = Array.from({ length: 120 }, (_, i) => range(ip(i), bucket0, bucket0, 'r.retry'));
    const before = await store.readCounters(ranges, T0);
    expect([...before.values()].map((b) => b.get(bucket0))).toEqual(Array(120).fill(3));
    for (const again of [store, new DynamoStateStore(local.client, local.tableName)]) {
      const results = await again.incrementCounters('once', batch(1), T0);
      expect(results.filter((r) => r.applied || r.total !== 3)).toEqual([]);
      expect(await again.readCounters(ranges, T0)).toEqual(before);
    }
    expect(first.every((r) => r.applied && r.total >= 1)).toBe(true);
  });

  it('24 batches at once on one rule and slot: every count exact, every batch applied once', async () => {
    const stores = Array.from({ length: 4 }, () => new DynamoStateStore(local.client, local.tableName));
    await Promise.all(
      Array.from({ length: 24 }, (_, b) =>
        (stores[b % 4] as DynamoStateStore).incrementCounters(
          `c${b}`,
          Array.from({ length: 50 }, (_, i) => inc(ip(i), bucket0 + (i % 2), 1, 'r.concurrent')),
          T0,
        ),
      ),
    );
    const reader = new DynamoStateStore(local.client, local.tableName);
    const counts = await reader.readCounters(
      Array.from({ length: 50 }, (_, i) => range(ip(i), bucket0, bucket0 + 1, 'r.concurrent')),
      T0,
    );
    for (let i = 0; i < 50; i++) expect(counts.get(`t#r.concurrent#${ip(i)}`)?.get(bucket0 + (i % 2))).toBe(24);
  });

  it('16 batches at once add to the sets of one rule and slot: every member kept, however the items fill', async () => {
    const stores = Array.from({ length: 4 }, () => new DynamoStateStore(local.client, local.tableName) as StateStore);
    const ports = (b: number) => Array.from({ length: 40 }, (_, p) => String(1000 + b * 40 + p));
    await Promise.all(
      Array.from({ length: 16 }, (_, b) =>
        (stores[b % 4] as StateStore).addToSets(
          Array.from({ length: 12 }, (_, i) => ({ ...add(ip(i), bucket0, ports(b)), key: `d#r.sets#${ip(i)}` })),
          T0,
        ),
      ),
    );
    const sets = await new DynamoStateStore(local.client, local.tableName).readSets(
      Array.from({ length: 12 }, (_, i) => ({ ...setRange(ip(i), bucket0, bucket0), key: `d#r.sets#${ip(i)}` })),
      T0,
    );
    const all = Array.from({ length: 16 }, (_, b) => ports(b))
      .flat()
      .sort();
    for (let i = 0; i < 12; i++) expect([...(sets.get(`d#r.sets#${ip(i)}`)?.get(bucket0) ?? [])].sort()).toEqual(all);
  });

  it('an upgraded table reads its per-key items beside the packed ones for buckets from before the upgrade, and not after', async () => {
    const upgraded = await startLocalDynamo('packed-upgrade');
    try {
      const slotSk = (bucket: number) => `s#${String(Math.floor(bucket / 10)).padStart(16, '0')}`;
      const old = Math.floor(Date.now() / WIDTH) - 100; // a bucket of 10 minutes ago
      const later = Math.floor((Date.now() + 2 * 86_400_000) / WIDTH); // two days after the upgrade
      // Items the version before wrote: a counter of 5 and a set {a, b} for an old bucket, and
      // (never by that version, but to show it is not read) a counter for a bucket after the upgrade.
      for (const [bucket, n] of [
        [old, 5],
        [later, 7],
      ] as const) {
        await upgraded.client.send(
          new UpdateItemCommand({
            TableName: upgraded.tableName,
            Key: { pk: { S: 't#r.up#alice' }, sk: { S: slotSk(bucket) } },
            UpdateExpression: 'ADD #c :n, bids :b SET expms = :exp',
            ExpressionAttributeNames: { '#c': `c${bucket}` },
            ExpressionAttributeValues: { ':n': { N: String(n) }, ':b': { SS: ['old-batch'] }, ':exp': { N: String(EXPIRES) } },
          }),
        );
      }
      await upgraded.client.send(
        new UpdateItemCommand({
          TableName: upgraded.tableName,
          Key: { pk: { S: 'd#r.up#alice' }, sk: { S: `b#${String(old).padStart(16, '0')}` } },
          UpdateExpression: 'ADD vals :v SET expms = :exp',
          ExpressionAttributeValues: { ':v': { SS: ['a', 'b'] }, ':exp': { N: String(EXPIRES) } },
        }),
      );
      // What the upgraded table's first packing container recorded (a table made before then: not new).
      await upgraded.client.send(
        new PutItemCommand({
          TableName: upgraded.tableName,
          Item: { pk: { S: 'meta#layout' }, sk: { S: 'packed' }, since: { N: String(Date.now()) }, fresh: { BOOL: false } },
        }),
      );
      const store: StateStore = new DynamoStateStore(upgraded.client, upgraded.tableName);
      const [result] = await store.incrementCounters('new-batch', [{ ...inc('alice', old, 1, 'r.up') }], T0);
      expect(result).toMatchObject({ total: 6, applied: true });
      await store.incrementCounters('new-batch-2', [{ ...inc('alice', later, 1, 'r.up') }], T0);
      await store.addToSets([{ ...add('alice', old, ['c']), key: 'd#r.up#alice' }], T0);
      const counters = await store.readCounters([range('alice', old, old, 'r.up'), range('alice', later, later, 'r.up')], T0);
      expect(counters.get('t#r.up#alice')?.get(old)).toBe(6);
      expect(counters.get('t#r.up#alice')?.get(later)).toBe(1); // the per-key 7 is not read: no such item after the upgrade
      const sets = await store.readSets([{ ...setRange('alice', old, old), key: 'd#r.up#alice' }], T0);
      expect([...(sets.get('d#r.up#alice')?.get(old) ?? [])].sort()).toEqual(['a', 'b', 'c']);
    } finally {
      await upgraded.close();
    }
  });

  it('a new table has no per-key items to read: one read per partition, whatever the entities', async () => {
    const fresh = await startLocalDynamo('packed-fresh');
    try {
      const store = new DynamoStateStore(fresh.client, fresh.tableName);
      const old = Math.floor(Date.now() / WIDTH) - 100;
      await store.incrementCounters('b1', [inc('alice', old)], T0); // records the layout: a new table
      const layout = await fresh.client.send(
        new GetItemCommand({ TableName: fresh.tableName, Key: { pk: { S: 'meta#layout' }, sk: { S: 'packed' } } }),
      );
      expect(layout.Item?.fresh?.BOOL).toBe(true);
      const calls = store.calls.reads;
      await store.readCounters(
        Array.from({ length: 100 }, (_, i) => range(ip(i), old, old)),
        T0,
      );
      expect(store.calls.reads - calls).toBeLessThanOrEqual(PACK_SHARDS);
    } finally {
      await fresh.close();
    }
  });
});

/** An item's size as DynamoDB bills it, closely enough (names and values in UTF-8, numbers as digits). */
function itemBytes(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += utf8Bytes(name);
    if (value.S !== undefined) bytes += utf8Bytes(value.S);
    if (value.N !== undefined) bytes += Math.ceil(value.N.length / 2) + 1;
    for (const member of value.SS ?? []) bytes += utf8Bytes(member);
  }
  return bytes;
}
