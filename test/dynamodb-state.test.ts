import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { loadPack } from '../src/cli/load-pack';
import { replay } from '../src/cli/replay';
import { runCorrelateTask } from '../src/correlation/correlate-task';
import { ENVELOPE_BUDGET_BYTES, envelopeOf } from '../src/correlation/envelope';
import { generateDemo } from '../src/demo/generate';
import { MAX_VALUE_CHARS } from '../src/engine/bounded-value';
import { MemoryStateStore } from '../src/engine/memory-store';
import { PassThroughSink } from '../src/engine/ports';
import { docId, type StateStore } from '../src/engine/state-store';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import type { Alert } from '../src/schema/alert';
import { detector, ev, rule, T0, takeoverCorrelation, takeoverMember } from './helpers';

let local: LocalDynamo;
beforeAll(async () => {
  local = await startLocalDynamo();
});
afterAll(async () => local.close());

describe('DynamoDB state store (dynalite)', () => {
  it('every rule kind keeps working when an attacker chooses long, multi-byte values (keys stop at 2,048 bytes)', async () => {
    // The longest value kept as it is, in characters of 3 bytes: five of them and a term exceed a key unbounded.
    const wide = (n: number) => `${n}${'語'.repeat(MAX_VALUE_CHARS - 1)}`;
    const groupBy = ['user.name', 'host.name', 'source.domain', 'user.domain', 'process.name'];
    const rules = [
      rule({ id: 'k.threshold', match: { 'event.outcome': 'failure' }, threshold: { count: 2, window: '10m', groupBy } }),
      rule({ id: 'k.distinct', match: { 'event.outcome': 'failure' }, distinct: { field: 'url.path', count: 2, window: '10m', groupBy } }),
      rule({ id: 'k.term', match: { 'event.outcome': 'failure' }, newTerm: { field: 'url.path', baseline: '1d', groupBy } }),
      rule({ id: 'k.event', match: { 'event.outcome': 'failure' }, entity: 'user.name' }),
    ];
    const events = [0, 1, 2].map((n) =>
      ev({ 'event.outcome': 'failure', ...Object.fromEntries(groupBy.map((f) => [f, wide(0)])), 'url.path': wide(n) }, T0 + n * 1000),
    );
    const tooLong = checkKeyLimits(local.client);
    const store = new DynamoStateStore(local.client, local.tableName);
    const out = await detector(rules, store)
      .evaluate('wide', events)
      .finally(() => tooLong.remove());
    expect(tooLong.found).toEqual([]);
    expect(new Set(out.alerts.map((a) => a.ruleId))).toEqual(new Set(['k.threshold', 'k.distinct', 'k.term', 'k.event']));
    for (const a of out.alerts) expect(Buffer.byteLength(a.entity.value)).toBeLessThan(400);
  });
  it('property: any values an attacker chooses, every key within DynamoDB limits and every envelope within budget', async () => {
    const groupBy = ['user.name', 'host.name', 'source.domain'];
    const rules = [
      rule({ id: 'p.threshold', match: { 'event.outcome': 'failure' }, threshold: { count: 2, window: '10m', groupBy } }),
      rule({ id: 'p.distinct', match: { 'event.outcome': 'failure' }, distinct: { field: 'url.path', count: 2, window: '10m', groupBy } }),
      rule({ id: 'p.term', match: { 'event.outcome': 'failure' }, newTerm: { field: 'url.path', baseline: '1d', groupBy } }),
      rule({ id: 'p.event', match: { 'event.outcome': 'failure' }, entity: 'user.name' }),
    ];
    // Short, or long enough that three of them overflow a key; any code point; quotes, backslashes, 3-byte and 4-byte characters.
    const value = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', minLength: 700, maxLength: 3_000 }),
      fc.string({ unit: fc.constantFrom('"', '\\', '語', '😀', 'a'), minLength: 700, maxLength: 3_000 }),
    );
    const tooLong = checkKeyLimits(local.client);
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(value, value, value, value, value), { minLength: 2, maxLength: 4 }), async (rows) => {
          run++;
          // An app's JSON line can state its own cloud.account.id; the log group's owner is CloudWatch's.
          const events = rows.map(([user, host, domain, path, account], n) =>
            ev(
              {
                'event.outcome': 'failure',
                'user.name': user,
                'host.name': host,
                'source.domain': domain,
                'url.path': path,
                'cloud.account.id': account,
                'cloudwatch.owner': '123456789012',
              },
              T0 + n * 1000,
            ),
          );
          const out = await detector(rules, new DynamoStateStore(local.client, local.tableName)).evaluate(`fuzz-${run}`, events);
          for (const m of out.messages) expect(Buffer.byteLength(JSON.stringify(envelopeOf(m)))).toBeLessThanOrEqual(ENVELOPE_BUDGET_BYTES);
          expect(tooLong.found).toEqual([]);
        }),
        { numRuns: 30 },
      );
    } finally {
      tooLong.remove();
    }
  });
  it('200 concurrent increments of one counter are exact', async () => {
    const store: StateStore = new DynamoStateStore(local.client, local.tableName);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.incrementCounters(`batch-${i}`, [{ key: 'hot', bucket: 7, delta: 1, expiresAt: T0 * 2 }], T0),
      ),
    );
    const counts = await store.readCounters([{ key: 'hot', from: 0, to: 100 }], T0);
    expect(counts.get('hot')?.get(7)).toBe(200);
  });
  it('a busy counter slot continues in further items once one is full: every total exact and in order, every replay a no-op', async () => {
    // Three batch ids an item here (8,000 deployed): 40 concurrent batches fill thirteen items and start a fourteenth.
    const store: StateStore = new DynamoStateStore(local.client, local.tableName, 16, 3);
    const inc = (id: string, bucket = 1) => store.incrementCounters(id, [{ key: 'busy', bucket, delta: 1, expiresAt: T0 * 2 }], T0);
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => inc(`busy-${i}`)));
    // Totals are what one item gave: each batch saw every count applied before its own, once.
    expect(first.map((r) => r[0]?.total).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(first.every((r) => r[0]?.applied)).toBe(true);
    // Replays (this container, which knows the full items, and a new one, which reads them) change nothing.
    for (const again of [store, new DynamoStateStore(local.client, local.tableName, 16, 3)] as StateStore[]) {
      for (const id of ['busy-0', 'busy-17', 'busy-39']) {
        expect(await again.incrementCounters(id, [{ key: 'busy', bucket: 1, delta: 1, expiresAt: T0 * 2 }], T0)).toEqual([
          { key: 'busy', bucket: 1, total: 40, applied: false },
        ]);
      }
    }
    expect((await inc('busy-40', 2))[0]).toMatchObject({ total: 1, applied: true });
    const counts = await store.readCounters([{ key: 'busy', from: 0, to: 9 }], T0);
    expect(Object.fromEntries(counts.get('busy') ?? [])).toEqual({ 1: 40, 2: 1 });
    // The next slot's items are not read as this one's; a window over both reads both, in a
    // container that knows the full items and in one that does not.
    expect((await inc('busy-next', 10))[0]).toMatchObject({ total: 1, applied: true });
    expect(Object.fromEntries((await store.readCounters([{ key: 'busy', from: 0, to: 9 }], T0)).get('busy') ?? [])).toEqual({
      1: 40,
      2: 1,
    });
    for (const reader of [store, new DynamoStateStore(local.client, local.tableName, 16, 3)] as StateStore[]) {
      const both = await reader.readCounters([{ key: 'busy', from: 1, to: 19 }], T0);
      expect(Object.fromEntries(both.get('busy') ?? [])).toEqual({ 1: 40, 2: 1, 10: 1 });
    }
  });
  it('every item of a busy counter slot stays under 4 KB: one read unit, at most four write units, whatever the delivery rate', async () => {
    const store: StateStore = new DynamoStateStore(local.client, local.tableName);
    // 500 deliveries of one service in one window (a service's request rate over 50 minutes: one every 6 s).
    for (let i = 0; i < 500; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          store.incrementCounters(`svc-${String(i + j).padStart(18, '0')}`, [{ key: 'svc', bucket: 4, delta: 3, expiresAt: T0 * 2 }], T0),
        ),
      );
    }
    expect((await store.readCounters([{ key: 'svc', from: 0, to: 9 }], T0)).get('svc')?.get(4)).toBe(1500);
    const items = await local.client.send(
      new QueryCommand({
        TableName: local.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'svc' } },
      }),
    );
    // DynamoDB's item size: attribute names and values in bytes (numbers about one byte for two digits).
    const size = (item: Record<string, AttributeValue>) =>
      Object.entries(item).reduce((n, [name, v]) => n + name.length + (v.S?.length ?? v.N?.length ?? (v.SS ?? []).join('').length), 0);
    const sizes = (items.Items ?? []).map(size);
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThan(4096);
  });
  it('a counter item that reached 400 KB (batch ids recorded before items had a bound) hands its slot on instead of failing every batch', async () => {
    const store: StateStore = new DynamoStateStore(local.client, local.tableName);
    await store.incrementCounters('legacy-0', [{ key: 'legacy', bucket: 3, delta: 5, expiresAt: T0 * 2 }], T0);
    // 18,615 more ids of 22 characters: just under DynamoDB's limit, so the next id takes the item past it.
    const ids = Array.from({ length: 18_615 }, (_, i) => `legacy-${String(i).padStart(15, '0')}`);
    await local.client.send(
      new UpdateItemCommand({
        TableName: local.tableName,
        Key: { pk: { S: 'legacy' }, sk: { S: `s#${'0'.repeat(16)}` } },
        UpdateExpression: 'ADD bids :b',
        ExpressionAttributeValues: { ':b': { SS: ids } },
      }),
    );
    const unbounded: StateStore = new DynamoStateStore(local.client, local.tableName, 16, Number.MAX_SAFE_INTEGER);
    expect(
      await unbounded.incrementCounters('legacy-new-0000000000', [{ key: 'legacy', bucket: 3, delta: 2, expiresAt: T0 * 2 }], T0),
    ).toEqual([{ key: 'legacy', bucket: 3, total: 7, applied: true }]);
    expect(
      (await unbounded.incrementCounters('legacy-0', [{ key: 'legacy', bucket: 3, delta: 5, expiresAt: T0 * 2 }], T0))[0],
    ).toMatchObject({
      total: 7,
      applied: false,
    });
    expect((await store.readCounters([{ key: 'legacy', from: 0, to: 9 }], T0)).get('legacy')?.get(3)).toBe(7);
  });
  it('a replayed batch is a no-op', async () => {
    const store: StateStore = new DynamoStateStore(local.client, local.tableName);
    const first = await store.incrementCounters('dup', [{ key: 'k', bucket: 1, delta: 5, expiresAt: T0 * 2 }], T0);
    const again = await store.incrementCounters('dup', [{ key: 'k', bucket: 1, delta: 5, expiresAt: T0 * 2 }], T0);
    expect(first[0]).toMatchObject({ total: 5, applied: true });
    expect(again[0]).toMatchObject({ total: 5, applied: false });
  });
  it('ignores expired items on read', async () => {
    const store: StateStore = new DynamoStateStore(local.client, local.tableName);
    await store.incrementCounters('b', [{ key: 'old', bucket: 3, delta: 2, expiresAt: T0 - 1 }], T0 - 10);
    expect((await store.readCounters([{ key: 'old', from: 0, to: 10 }], T0)).get('old')?.size).toBe(0);
  });
  it('an entity whose first 20 terms expired still has history, in memory and on DynamoDB alike (TTL deletes lazily)', async () => {
    for (const store of [new DynamoStateStore(local.client, local.tableName), new MemoryStateStore()] as StateStore[]) {
      const key = `terms-${store.constructor.name}`;
      const claim = (term: string, at: number, expiresAt: number) =>
        store.claimTerms([{ key, term, owner: `${term}@${at}`, at, expiresAt }], at);
      // 25 countries seen once long ago (expired, not yet deleted), sorting before the one still live.
      for (let i = 0; i < 25; i++) await claim(`a${String(i).padStart(2, '0')}`, T0 - 10_000, T0 - 5_000);
      await claim('zz', T0 - 1_000, T0 + 60_000);
      const [fresh] = await claim('mm', T0, T0 + 60_000);
      expect(fresh).toMatchObject({ isNew: true, hadHistory: true });
      // With nothing live but the term itself, there is no history.
      const [alone] = await store.claimTerms([{ key: `${key}-alone`, term: 'x', owner: 'x@0', at: T0, expiresAt: T0 + 1 }], T0);
      expect(alone).toMatchObject({ isNew: true, hadHistory: false });
    }
  });
  it('property: term claims of many entities in one call, side by side on DynamoDB, answer as the memory store does in order', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom('de', 'fr', 'us'), fc.integer({ min: 0, max: 5_000 })), {
          minLength: 1,
          maxLength: 25,
        }),
        async (rows) => {
          run++;
          const claims = rows.map(([user, term, dt], i) => ({
            key: `n#prop${run}#u${user}`,
            term,
            owner: `e${i}`,
            at: T0 + dt,
            expiresAt: T0 + dt + 2_000,
          }));
          const dynamo: StateStore = new DynamoStateStore(local.client, local.tableName);
          const memory: StateStore = new MemoryStateStore();
          expect(await dynamo.claimTerms(claims, T0)).toEqual(await memory.claimTerms(claims, T0));
        },
      ),
      { numRuns: 25 },
    );
  });
  it('buckets written out of order read back by range alike, in memory and on DynamoDB', async () => {
    const read = async (store: StateStore) => {
      // Late events land in older buckets: bucket 2 after 5 and 9, then 2 again from another batch.
      for (const [batch, bucket] of [
        ['o1', 5],
        ['o2', 9],
        ['o3', 2],
        ['o4', 2],
        ['o5', 31],
      ] as const) {
        await store.incrementCounters(batch, [{ key: 'late', bucket, delta: bucket, expiresAt: T0 * 2 }], T0);
        await store.addToSets([{ key: 'late-set', bucket, members: [`${batch}`], cap: 10, expiresAt: T0 * 2 }], T0);
      }
      const counters = await store.readCounters([{ key: 'late', from: 2, to: 9 }], T0);
      const sets = await store.readSets([{ key: 'late-set', from: 0, to: 5 }], T0);
      return {
        counters: [...(counters.get('late') ?? [])].sort((a, b) => a[0] - b[0]),
        sets: [...(sets.get('late-set') ?? [])].map(([b, members]) => [b, [...members].sort()]).sort(),
      };
    };
    const memory = await read(new MemoryStateStore());
    expect(memory).toEqual({
      counters: [
        [2, 4],
        [5, 5],
        [9, 9],
      ],
      sets: [
        [2, ['o3', 'o4']],
        [5, ['o1']],
      ],
    });
    expect(await read(new DynamoStateStore(local.client, local.tableName))).toEqual(memory);
  });
  it('a set keeps the last add’s context (not once full, not once expired), in memory and on DynamoDB alike', async () => {
    const read = async (store: StateStore) => {
      const add = (bucket: number, member: string, context: string | undefined, expiresAt = T0 * 2) =>
        store.addToSets([{ key: 'ctx', bucket, members: [member], cap: 2, expiresAt, ...(context ? { context } : {}) }], T0);
      await add(1, 'a', 'first');
      await add(1, 'b', 'second'); // replaces
      await add(1, 'c', 'third'); // the set is full: neither member nor context
      await add(2, 'd', undefined); // no context: none read
      await add(3, 'e', 'gone', T0 - 1); // expired
      await add(4, 'f', 'fourth');
      await add(4, 'g', undefined); // an add without context keeps the one there
      const contexts = await store.readSetContexts(
        [
          { key: 'ctx', from: 0, to: 4 },
          { key: 'none', from: 0, to: 4 },
        ],
        T0,
      );
      return [...contexts].map(([key, buckets]) => [key, [...buckets].sort((a, b) => a[0] - b[0])]);
    };
    const memory = await read(new MemoryStateStore());
    expect(memory).toEqual([
      [
        'ctx',
        [
          [1, 'second'],
          [4, 'fourth'],
        ],
      ],
      ['none', []],
    ]);
    expect(await read(new DynamoStateStore(local.client, local.tableName))).toEqual(memory);
  });
  it('threshold window edges behave as in memory', async () => {
    const r = rule({
      id: 'edge.rule',
      match: { 'event.outcome': 'failure' },
      threshold: { count: 3, window: '10m', groupBy: ['user.name'] },
    });
    const base = T0 - (T0 % 60_000);
    const events = [0, 5, 10, 14].map((m) => ev({ 'event.outcome': 'failure', 'user.name': 'edge' }, base + m * 60_000));
    const mem = await detector([r], new MemoryStateStore()).evaluate('e', events);
    const ddb = await detector([r], new DynamoStateStore(local.client, local.tableName)).evaluate('e', events);
    expect(ddb.alerts.map((a) => a.id)).toEqual(mem.alerts.map((a) => a.id));
    expect(ddb.alerts).toHaveLength(1);
  });
  it('a login stored before the failures just ahead of it (another stream) is told when they arrive, in memory and on DynamoDB alike', async () => {
    const r = rule({
      id: 'late.sequence',
      match: { 'event.category': 'authentication' },
      sequence: {
        window: '15m',
        groupBy: ['user.name'],
        steps: [
          { name: 'failures', count: 2, match: { 'event.outcome': 'failure' } },
          { name: 'login', match: { 'event.outcome': 'success' } },
        ],
      },
    });
    const login = (outcome: string, at: number, message: string) =>
      ev(
        { 'event.category': 'authentication', 'event.outcome': outcome, 'user.name': 'late-user', message, 'source.ip': '203.0.113.8' },
        at,
      );
    const success = [login('success', T0 + 3_000, 'Accepted password for late-user')];
    const failures = [login('failure', T0, 'Failed password'), login('failure', T0 + 2_000, 'Failed password')];
    const told = async (store: StateStore) => {
      const d = detector([r], store);
      await d.evaluate('instance-2', success);
      const out = await d.evaluate('instance-1', failures);
      return out.alerts.map((a) => [a.id, a.lastSeen, a.events.map((e) => e.message)]);
    };
    const memory = await told(new MemoryStateStore());
    expect(memory).toEqual([
      [expect.any(String), new Date(T0 + 3_000).toISOString(), ['Failed password', 'Failed password', 'Accepted password for late-user']],
    ]);
    expect(await told(new DynamoStateStore(local.client, local.tableName))).toEqual(memory);
  });
  it('a spike that outlasts its baseline holds at its level, in memory and on DynamoDB alike (the level sits beside the count)', async () => {
    const r = rule({
      id: 'spike.rule',
      match: { 'log.level': 'error' },
      spike: { window: '5m', baseline: '30m', factor: 3, min: 10, groupBy: ['service.name'] },
    });
    const start = T0 - (T0 % 300_000);
    const rates = [...Array<number>(6).fill(4), ...Array<number>(18).fill(30), ...Array<number>(6).fill(4)];
    const run = async (store: StateStore) => {
      const d = detector([r], store);
      const detected: number[] = [];
      for (const [w, n] of rates.entries()) {
        const at = start + w * 300_000;
        const events = Array.from({ length: n }, (_, i) => ev({ 'log.level': 'error', 'service.name': 'api' }, at + i * 1000));
        if ((await d.evaluate(`spike-${w}`, events)).detections > 0) detected.push(w);
      }
      const bucket = start / 300_000 + 6;
      return {
        detected,
        stored: (await store.readCounters([{ key: 'p#spike.rule#api', from: bucket, to: bucket + 0.5 }], start)).get('p#spike.rule#api'),
      };
    };
    const mem = await run(new MemoryStateStore());
    const ddb = await run(new DynamoStateStore(local.client, local.tableName));
    expect(mem.detected).toEqual(Array.from({ length: 18 }, (_, w) => w + 6));
    expect(ddb).toEqual(mem);
    expect(ddb.stored).toEqual(
      new Map([
        [start / 300_000 + 6, 30],
        [start / 300_000 + 6.5, 12],
      ]),
    );
  });
  it('the demo gives the same detections with memory and dynalite state, ', async () => {
    const { pack } = loadPack(['rules'], { checkRegexes: false });
    const dir = mkdtempSync(join(tmpdir(), 'cmp-'));
    const input = join(dir, 'p.jsonl');
    // Hour-long payloads: the same events and store paths, a fraction of the round trips to dynalite.
    const demo = generateDemo(20250303, { payloadSpanMs: 3_600_000, maxEventsPerPayload: 10_000 });
    writeFileSync(input, demo.payloads.map((p) => JSON.stringify(p)).join('\n'));
    const run = async (store: MemoryStateStore | DynamoStateStore) => {
      const out: Alert[] = [];
      await replay([input], { pack, store, sink: new PassThroughSink(), onAlert: (a) => void out.push(a) });
      return out.map((a) => a.id).sort();
    };
    const fresh = await startLocalDynamo('cmp');
    try {
      const ddbStore = new DynamoStateStore(fresh.client, fresh.tableName);
      const [mem, ddb] = [await run(new MemoryStateStore()), await run(ddbStore)];
      expect(ddb).toEqual(mem);
      expect(mem.length).toBeGreaterThan(20);
    } finally {
      await fresh.close();
    }
  });
});

describe('DynamoDB receipts and documents (dynalite)', () => {
  it('stores a batch receipt and returns the same alerts', async () => {
    const store = new DynamoStateStore(local.client, local.tableName);
    const r = rule({
      id: 'receipt.rule',
      match: { 'event.outcome': 'failure' },
      threshold: { count: 2, window: '5m', groupBy: ['user.name'] },
    });
    const events = [0, 1, 2].map((i) => ev({ 'event.outcome': 'failure', 'user.name': 'rc' }, T0 + i * 1000));
    const first = await detector([r], store).evaluate('rcpt', events);
    const again = await detector([r], store).evaluate('rcpt', events);
    expect(first.alerts).toHaveLength(1);
    expect(again.redelivered).toBe(true);
    expect(again.alerts).toEqual(first.alerts);
    expect(await store.readReceipt('never-seen')).toBeUndefined();
  });
  it('reads documents in batches of 100 keys and leaves out absent and expired ones', async () => {
    const store = new DynamoStateStore(local.client, local.tableName);
    const keys = Array.from({ length: 230 }, (_, i) => ({ pk: `doc-${i}`, sk: 'cond' }));
    await Promise.all(
      keys.map((k, i) =>
        i % 2 === 0
          ? store.writeDoc({ ...k, body: `{"n":${i}}`, ifVersion: null, now: T0, expiresAt: i === 4 ? T0 - 1 : T0 + 1000 })
          : undefined,
      ),
    );
    const before = store.calls.reads;
    const docs = await store.readDocs(keys, T0);
    expect(store.calls.reads - before).toBe(3);
    expect(docs.size).toBe(114); // 115 written, one of them expired
    expect(docs.get(docId({ pk: 'doc-6', sk: 'cond' }))).toEqual({ version: 1, body: '{"n":6}' });
    expect(docs.has(docId({ pk: 'doc-4', sk: 'cond' }))).toBe(false);
  });
  it('versioned writes: a write decided on an old version loses; an expired document counts as absent', async () => {
    for (const store of [new DynamoStateStore(local.client, local.tableName), new MemoryStateStore()]) {
      const key = { pk: `v-${store.constructor.name}`, sk: 'cond' };
      expect(await store.writeDoc({ ...key, body: 'a', ifVersion: null, now: T0, expiresAt: T0 + 60_000 })).toBe(true);
      expect(await store.writeDoc({ ...key, body: 'b', ifVersion: null, now: T0, expiresAt: T0 + 60_000 })).toBe(false);
      expect(await store.writeDoc({ ...key, body: 'c', ifVersion: 1, now: T0, expiresAt: T0 + 60_000 })).toBe(true);
      expect(await store.writeDoc({ ...key, body: 'd', ifVersion: 1, now: T0, expiresAt: T0 + 60_000 })).toBe(false); // lost the race
      expect((await store.readDocs([key], T0)).get(docId(key))).toEqual({ version: 2, body: 'c' });
      // Past its expiry the document is gone for readers, and a writer that expects it absent wins.
      expect((await store.readDocs([key], T0 + 60_000)).size).toBe(0);
      expect(await store.writeDoc({ ...key, body: 'e', ifVersion: null, now: T0 + 60_000, expiresAt: T0 + 120_000 })).toBe(true);
    }
  });
  it('lists due documents oldest first, in memory and on DynamoDB alike', async () => {
    const fresh = await startLocalDynamo('due');
    try {
      for (const store of [new DynamoStateStore(fresh.client, fresh.tableName), new MemoryStateStore()]) {
        const write = (pk: string, dueAt?: number) =>
          store.writeDoc({
            pk,
            sk: 'cond',
            body: '{}',
            ifVersion: undefined,
            now: T0,
            expiresAt: T0 + 86_400_000,
            ...(dueAt === undefined ? {} : { dueAt }),
          });
        await Promise.all(Array.from({ length: 12 }, (_, i) => write(`due-${i}`, T0 + i * 1000)));
        await write('never');
        await write('due-3'); // re-written without a due time: off the list
        const due = await store.listDue(T0 + 5_000, 10);
        expect(due.map((k) => k.pk)).toEqual(['due-0', 'due-1', 'due-2', 'due-4', 'due-5']);
        expect((await store.listDue(T0 + 60_000, 4)).map((k) => k.pk)).toEqual(['due-0', 'due-1', 'due-2', 'due-4']);
      }
    } finally {
      await fresh.close();
    }
  });
  it('counts the due index’s write units as DynamoDB bills a sparse keys-only index: in 1, out 1, moved 2, unchanged 0', async () => {
    const store = new MemoryStateStore({ attributeWrites: true });
    const key = { pk: 'c#rule.a#10.0.0.1', sk: 'cond' };
    const write = (ifVersion: number | null | undefined, dueAt?: number, now = T0) =>
      store.writeDoc({ ...key, body: '{}', ifVersion, now, expiresAt: T0 + 60_000, ...(dueAt === undefined ? {} : { dueAt }) });
    const units = async (step: () => Promise<unknown>) => {
      const before = store.dueIndexWrites;
      await step();
      return store.dueIndexWrites - before;
    };
    expect(await units(() => write(null))).toBe(0); // never in the index
    expect(await units(() => write(1, T0 + 5_000))).toBe(1); // put into it
    expect(await units(() => write(2, T0 + 5_000))).toBe(0); // the same due time: nothing the index holds changed
    expect(await units(() => write(3, T0 + 9_000))).toBe(2); // moved: the old entry deleted, the new put
    expect(await units(() => write(1, T0 + 20_000))).toBe(0); // refused (an old version): no write at all
    expect(await units(() => write(4))).toBe(1); // taken out
    expect(await units(() => write(5, T0 + 30_000))).toBe(1);
    // The sweeper takes an expired document off the list: one delete from the index, none when it is not in it.
    expect(await units(() => store.dropDue([key], T0 + 60_000))).toBe(1);
    expect(await units(() => store.dropDue([key], T0 + 60_000))).toBe(0);
    // A bill counts them, so the rule whose document it is owns them beside its calls.
    const owned = store.writesByOwner?.totals().reduce((n, o) => n + o.writes, 0);
    expect(owned).toBe(store.calls.writes + store.dueIndexWrites);
    store.clear();
    expect(store.dueIndexWrites).toBe(0);
  });
});

describe('parallel detectors (dynalite)', () => {
  it('detectors running concurrently on overlapping keys give the counts of one detector, and one alert per window', async () => {
    const r = rule({
      id: 'par.rule',
      match: { 'event.outcome': 'failure' },
      threshold: { count: 20, window: '10m', groupBy: ['user.name'] },
    });
    const users = ['p1', 'p2', 'p3'];
    // 8 batches (as 8 log streams would deliver them), every one touching every user.
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 30 }, (_, i) => ev({ 'event.outcome': 'failure', 'user.name': users[i % 3] ?? 'p1' }, T0 + b * 1000 + i * 10)),
    );
    const sumFor = async (store: DynamoStateStore, user: string) => {
      const counts = await store.readCounters([{ key: `t#par.rule#${user}`, from: 0, to: Number.MAX_SAFE_INTEGER }], T0);
      return [...(counts.get(`t#par.rule#${user}`)?.values() ?? [])].reduce((x, y) => x + y, 0);
    };
    const parallelDb = await startLocalDynamo('par');
    const serialDb = await startLocalDynamo('ser');
    try {
      const parallelStore = new DynamoStateStore(parallelDb.client, parallelDb.tableName);
      const parallel = await Promise.all(batches.map((events, b) => detector([r], parallelStore).evaluate(`batch-${b}`, events)));
      const serialStore = new DynamoStateStore(serialDb.client, serialDb.tableName);
      const serialDetector = detector([r], serialStore);
      for (const [b, events] of batches.entries()) await serialDetector.evaluate(`batch-${b}`, events);
      for (const u of users) expect(await sumFor(parallelStore, u)).toBe(await sumFor(serialStore, u));
      expect(await sumFor(parallelStore, 'p1')).toBe(80);
      // 80 failures per user within the window: one alert per user however the batches raced.
      const alerts = parallel.flatMap((p) => p.alerts);
      expect(alerts.map((a) => a.entity.value).sort()).toEqual(users);
      // And each pages: a detector whose condition write lost the race had claimed the user's page
      // for an alert never published; the winner must not fold into it.
      expect(alerts.map((a) => `${a.tier}${a.foldedInto ? ` → ${a.foldedInto.id}` : ''}`)).toEqual(users.map(() => 'respond'));
    } finally {
      await parallelDb.close();
      await serialDb.close();
    }
  });
});

/** A local table whose every call takes 3–7 ms, as a round trip in a region does: racing writers interleave as they would there. */
async function slowDynamo(name: string): Promise<LocalDynamo> {
  const db = await startLocalDynamo(name);
  db.client.middlewareStack.add(
    (next) => async (args) => {
      await new Promise((resolve) => setTimeout(resolve, 3 + Math.random() * 4));
      return next(args);
    },
    { step: 'initialize', name: 'latency' },
  );
  return db;
}

describe('a flood seen by many detectors at once (dynalite, 3–7 ms round trips)', () => {
  it('32 concurrent batches on one source all decide: lost races wait and retry, the counts are exact and one alert opens', async () => {
    const db = await slowDynamo('flood');
    try {
      const flood = rule({
        id: 'flood.rule',
        match: { 'event.outcome': 'failure' },
        threshold: { count: 5, window: '10m', groupBy: ['source.ip'] },
      });
      const store = new DynamoStateStore(db.client, db.tableName);
      const results = await Promise.allSettled(
        Array.from({ length: 32 }, (_, b) =>
          detector([flood], store).evaluate(
            `flood-${b}`,
            Array.from({ length: 10 }, (_, i) => ev({ 'event.outcome': 'failure', 'source.ip': '203.0.113.9' }, T0 + b * 100 + i)),
          ),
        ),
      );
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      expect(failures).toEqual([]);
      const counts = await store.readCounters([{ key: 't#flood.rule#203.0.113.9', from: 0, to: Number.MAX_SAFE_INTEGER }], T0);
      expect([...(counts.get('t#flood.rule#203.0.113.9')?.values() ?? [])].reduce((x, y) => x + y, 0)).toBe(320);
      const opened = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.alerts : [])).filter((a) => a.status === 'open');
      expect(opened).toHaveLength(1);
    } finally {
      await db.close();
    }
  });
  it('20 correlations of one entity and rule at once (a detector batch each) all fold into its risk record', async () => {
    const db = await slowDynamo('corr');
    try {
      const incident = takeoverCorrelation();
      const store = new DynamoStateStore(db.client, db.tableName);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, n) =>
          runCorrelateTask(takeoverMember('t.failures', T0 + n * 1000, `det-${n}`), {
            store,
            rules: [incident],
            ctx: { region: 'eu-west-1' },
          }),
        ),
      );
      expect(results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))).toEqual([]);
      const [record] = (await store.queryDocs('risk#user.name#m.silva', T0)).map((d) => JSON.parse(d.body));
      expect(record.occurrences.map((o: { id: string }) => o.id).sort()).toEqual(Array.from({ length: 20 }, (_, n) => `det-${n}`).sort());
    } finally {
      await db.close();
    }
  });
});

/** dynalite measures key sizes loosely: every key the client sends is checked here against DynamoDB's own limits. */
function checkKeyLimits(client: LocalDynamo['client']): { found: string[]; remove: () => void } {
  const found: string[] = [];
  const check = (value: unknown, limit = 0): void => {
    if (typeof value === 'string' && limit > 0 && Buffer.byteLength(value) > limit) found.push(value.slice(0, 40));
    if (value === null || typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value)) check(v, k === 'pk' || k === ':pk' ? 2048 : k === 'sk' ? 1024 : k === 'S' ? limit : 0);
  };
  client.middlewareStack.add(
    (next) => async (args) => {
      check(args.input);
      return next(args);
    },
    { step: 'initialize', name: 'keyLimits' },
  );
  return { found, remove: () => client.middlewareStack.remove('keyLimits') };
}
