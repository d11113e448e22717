import { describe, expect, it } from 'vitest';
import { PACK_SHARDS, PackedSets } from '../bench/write-mix';

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
