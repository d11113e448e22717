import { describe, expect, it } from 'vitest';
import { PACK_SHARDS, PackedSets, SpillPacked } from '../bench/write-mix';

const add = (entity: string, bucket: number, members: string[], cap = 1000) => ({
  key: `d#vpc.scan#${entity}`,
  bucket,
  members,
  cap,
  expiresAt: 0,
});

describe('the packed-sets estimate (bench/write-mix.ts)', () => {
  it('bills one write per packed item a batch changes, by the item’s size, and none for members already held', () => {
    const packed = new PackedSets();
    // Two entities of one rule and bucket: two per-entity writes, one packed item with one shard.
    packed.write([add('10.0.0.1|22', 7, ['10.0.1.1']), add('10.0.0.2|22', 7, ['10.0.1.2'])]);
    const one = () => packed.results()[PACK_SHARDS.indexOf(1)];
    expect(packed.perEntity.writes).toBe(2);
    expect(one()).toMatchObject({ writes: 1, writeUnits: 1 });
    // The same members again add nothing: no packed write at all.
    packed.write([add('10.0.0.1|22', 7, ['10.0.1.1'])]);
    expect(one()).toMatchObject({ writes: 1, writeUnits: 1 });
    // Past 1 KB the item costs two units a write, whatever this batch added.
    const many = Array.from({ length: 40 }, (_, i) => `10.0.2.${i}`);
    packed.write([add('10.0.0.1|22', 7, many)]);
    expect(one()?.writes).toBe(2);
    expect(one()?.writeUnits).toBe(1 + 2);
    expect(one()?.largestItem).toBeGreaterThan(1024);
    // Other buckets and rules are other items.
    packed.write([add('10.0.0.1|22', 8, ['x']), { ...add('10.0.0.1|22', 7, ['y']), key: 'd#other#10.0.0.1|22' }]);
    expect(one()).toMatchObject({ writes: 4 });
  });
  it('reads one query per rule and shard over the buckets the batch’s windows cover, billed per 4 KB returned', () => {
    const packed = new PackedSets();
    const members = Array.from({ length: 120 }, (_, i) => `10.0.3.${i}`);
    packed.write([add('10.0.0.9|443', 5, members), add('10.0.0.8|443', 6, members)]);
    packed.read([
      { key: 'd#vpc.scan#10.0.0.9|443', from: 0, to: 5 },
      { key: 'd#vpc.scan#10.0.0.7|443', from: 6, to: 9 },
      { key: 'c#not-a-set', from: 0, to: 9 },
    ]);
    expect(packed.perEntity.reads).toBe(2);
    const r = packed.results()[PACK_SHARDS.indexOf(1)];
    expect(r?.reads).toBe(1);
    // Both buckets' items come back (about 3.3 KB each): two units.
    expect(r?.readUnits).toBe(2);
  });
  it('stores no member past a set’s cap, as the store does not', () => {
    const packed = new PackedSets();
    packed.write([add('10.0.0.5|80', 9, ['a', 'b', 'c'], 1)]);
    // The item's base, and one member beside its entity's key (11 characters) with its overhead.
    expect(packed.results()[PACK_SHARDS.indexOf(1)]?.largestItem).toBe(100 + 11 + 1 + 8);
  });
});

const inc = (entity: string, bucket: number, rule = 't#web.flood') => ({ key: `${rule}#${entity}`, bucket, delta: 1, expiresAt: 0 });

describe('the packed-under-one-unit estimate (bench/write-mix.ts SpillPacked)', () => {
  it('writes one packed item for the entities of a rule and slot that fit, where today writes one each', () => {
    const spill = new SpillPacked();
    spill.counters('b1', [inc('198.51.100.1', 10), inc('198.51.100.2', 11), inc('198.51.100.2', 12), inc('198.51.100.3', 25)]);
    // Today: one write per key and slot of ten buckets (the second address twice in one slot: one write).
    expect(spill.perEntity.counters).toBe(4 - 1 + 0);
    // Buckets 10–12 share slot 1, bucket 25 is slot 2: two packed items.
    expect(spill.packed.counters).toBe(2);
    // Another rule is another item.
    spill.counters('b2', [inc('198.51.100.1', 10, 't#other')]);
    expect(spill.packed.counters).toBe(3);
  });
  it('spills the entities that do not fit under 1 KB to items of their own, for the rest of the slot', () => {
    const spill = new SpillPacked();
    const many = Array.from({ length: 60 }, (_, i) => inc(`203.0.113.${i}`, 40));
    spill.counters('b1', many);
    expect(spill.perEntity.counters).toBe(60);
    const packedFirst = spill.packed.counters;
    // Some fit (one packed write), the rest spill (a write each): fewer than 60, more than 1.
    expect(packedFirst).toBeGreaterThan(1);
    expect(packedFirst).toBeLessThan(60);
    // Next batch, the same addresses: the full item has no room for another batch's id, so its
    // entities spill too — today's cost, never more (the layout's limit under sustained load).
    spill.counters('b2', many);
    expect(spill.packed.counters - packedFirst).toBe(60);
    // A batch that fits in an item with room rewrites it once for all its entities.
    const few = Array.from({ length: 5 }, (_, i) => inc(`192.0.2.${i}`, 70));
    spill.counters('b3', few);
    spill.counters('b4', few);
    expect(spill.packed.counters - packedFirst - 60).toBe(2);
  });
  it('never writes more than today, whatever the traffic (property)', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const spill = new SpillPacked();
    for (let batch = 0; batch < 300; batch++) {
      const size = 1 + random(40);
      spill.counters(
        `batch-${batch}`,
        Array.from({ length: size }, () => inc(`10.${random(3)}.${random(50)}.${random(250)}`, random(60), `t#rule${random(3)}`)),
      );
      spill.sets(
        Array.from({ length: 1 + random(10) }, () => ({
          key: `d#scan${random(2)}#10.0.0.${random(30)}|${random(3)}`,
          bucket: random(60),
          members: [`10.1.${random(4)}.${random(200)}`],
          cap: 1000,
          expiresAt: 0,
        })),
      );
      expect(spill.packed.counters).toBeLessThanOrEqual(spill.perEntity.counters);
      expect(spill.packed.sets).toBeLessThanOrEqual(spill.perEntity.sets);
    }
    expect(spill.packed.counters).toBeLessThan(spill.perEntity.counters);
  });
  it('writes no packed item for set members it already holds, and keeps sequence steps (with their context) per entity', () => {
    const spill = new SpillPacked();
    const member = (entity: string, m: string, context?: string) => ({
      key: `d#scan#${entity}`,
      bucket: 3,
      members: [m],
      cap: 1000,
      expiresAt: 0,
      ...(context === undefined ? {} : { context }),
    });
    spill.sets([member('10.0.0.1|22', '10.1.0.1'), member('10.0.0.2|22', '10.1.0.2')]);
    expect(spill.packed.sets).toBe(1);
    spill.sets([member('10.0.0.1|22', '10.1.0.1')]);
    expect(spill.packed.sets).toBe(1);
    spill.sets([member('user-a', 'step0', '{"t":1}')]);
    expect(spill.packed.sets).toBe(2);
    expect(spill.perEntity.sets).toBe(4);
  });
});
