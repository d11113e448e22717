import { getOrCreate } from './map-entry';
import type { CounterIncrement, SetAdd } from './state-store';
import { COUNTER_SLOT_BUCKETS } from './windows';

/**
 * The packed layout of window state: a rule's threshold counters and distinct-value sets kept for
 * many entities in one item per slot of buckets, where the per-key layout kept one item per entity
 * (and, for sets, per bucket). DynamoDB bills a write by the item's size (a unit per KB), not by
 * the entities in it, so a batch of 300 visitors costs a few writes of packed items instead of 300
 * writes of tiny ones, and a window's read one query per rule instead of one per entity.
 *
 * An item stays under one write unit: a batch's entries are cut into chunks of at most
 * CHUNK_BYTES, and an item takes chunks while what it holds is at most its `open` bytes
 * (packedItemOpen), so whatever chunk it takes it ends under 1 KB. An item past `open` is full for
 * good and the slot continues in its next item (`…#0001`), like the per-key counter items: the
 * first open item is always a slot's last. Counter chunks carry an id (the batch's, and the
 * chunk's place in it), recorded in the item they land in, so a retried batch adds nothing twice;
 * set chunks need none (adding a member again changes nothing).
 *
 * Both stores plan chunks with these functions: the DynamoDB adapter writes them, the in-memory
 * store counts the calls the adapter would make.
 */

/** DynamoDB bills a write a unit per KB of the larger of the item before and after. */
export const PACKED_ITEM_BYTES = 1024;
/** Largest chunk of entries one write adds (unless a single entry is larger). */
export const CHUNK_BYTES = 480;
/** Entities of a rule are spread over this many partitions (by a hash of the entity). */
export const PACK_SHARDS = 4;
/** An entity key longer than this (UTF-8 bytes) keeps its own items, as before packing. */
export const MAX_PACKED_MEMBER_BYTES = 192;
/** A number's stored size at most (DynamoDB: a byte per two digits and one), for the estimate. */
const NUMBER_BYTES = 8;
/** What an item holds besides its partition key and entries: `sk`, `expms`, `ttl`, `nb`, `bids` (names and values), with room to spare. */
const FIXED_BYTES = 96;

/** State kinds whose items are packed: threshold counters and distinct-value sets. */
const PACKED_KINDS: Readonly<Record<string, 'counter' | 'set'>> = { t: 'counter', d: 'set' };

export interface PackedKey {
  /** The packed item's partition: `pack#<kind>#<rule>#<shard>`. */
  pk: string;
  /** The entity's part of the state key, which names its entries in the item. */
  member: string;
}

/**
 * Where a state key's counters or sets are packed, or undefined when the key keeps the per-key
 * layout: other kinds (spike counters are few and long-lived; sequence steps keep their latest
 * line beside the set), keys scoped to an account, and entities longer than MAX_PACKED_MEMBER_BYTES.
 */
export function packedKeyOf(key: string, kind: 'counter' | 'set'): PackedKey | undefined {
  const known = packedKeys.get(key);
  if (known !== undefined) return known === NOT_PACKED || PACKED_KINDS[key.charAt(0)] !== kind ? undefined : known;
  const packed = readPackedKey(key);
  // A busy entity's key comes back every batch, in its increments and its window's read.
  if (packedKeys.size >= PACKED_KEYS_KEPT) packedKeys.clear();
  packedKeys.set(key, packed ?? NOT_PACKED);
  return packed && PACKED_KINDS[key.charAt(0)] === kind ? packed : undefined;
}

const NOT_PACKED = { pk: '', member: '' };
const PACKED_KEYS_KEPT = 50_000;
const packedKeys = new Map<string, PackedKey>();

function readPackedKey(key: string): PackedKey | undefined {
  const first = key.indexOf('#');
  const second = first === -1 ? -1 : key.indexOf('#', first + 1);
  if (first !== 1 || second === -1 || PACKED_KINDS[key.charAt(0)] === undefined) return undefined;
  const member = key.slice(second + 1);
  if (member.length === 0 || utf8Bytes(member) > MAX_PACKED_MEMBER_BYTES) return undefined;
  return { pk: `pack#${key.slice(0, second)}#${shardOf(member)}`, member };
}

/** The bytes an item under `pk` may hold in entries and ids and still take any chunk under 1 KB. */
export function packedItemOpen(pk: string): number {
  return PACKED_ITEM_BYTES - FIXED_BYTES - utf8Bytes(`pk${pk}`) - CHUNK_BYTES;
}

/** A counter entry's attribute: `n<bucket>|<member>` (a bucket may be a spike level's half bucket). */
export function counterAttr(bucket: number, member: string): string {
  return `n${bucket}|${member}`;
}
/** A set entry's attribute: `v<bucket>|<member>`, a string set of the bucket's values. */
export function setAttr(bucket: number, member: string): string {
  return `v${bucket}|${member}`;
}

/** An entry attribute's name in bytes (counterAttr, setAttr), without making it. */
function attrBytes(bucket: number, member: string): number {
  return 2 + String(bucket).length + utf8Bytes(member);
}

/** An entry attribute's bucket and member, or undefined for the item's other attributes. */
export function entryOf(name: string, prefix: 'n' | 'v'): { bucket: number; member: string } | undefined {
  if (name.charCodeAt(0) !== prefix.charCodeAt(0)) return undefined;
  const bar = name.indexOf('|');
  if (bar < 2) return undefined;
  const bucket = Number(name.slice(1, bar));
  return Number.isFinite(bucket) ? { bucket, member: name.slice(bar + 1) } : undefined;
}

export function slotOf(bucket: number): number {
  return Math.floor(bucket / COUNTER_SLOT_BUCKETS);
}

/**
 * When an item of this slot may go: its last bucket's expiry, from an entry's own. Every write of
 * the slot sets the same expiry, so a late batch's older bucket never shortens it. Without the
 * bucket's width the entry's own expiry is used.
 */
export function slotExpiry(bucket: number, expiresAt: number, width: number | undefined): number {
  if (width === undefined) return expiresAt;
  const last = (slotOf(bucket) + 1) * COUNTER_SLOT_BUCKETS - 1;
  return expiresAt + (last - Math.floor(bucket)) * width;
}

export interface CounterEntry {
  key: string;
  member: string;
  bucket: number;
  delta: number;
}

export interface SetEntry {
  key: string;
  member: string;
  bucket: number;
  values: string[];
}

export interface Chunk<E> {
  pk: string;
  slot: number;
  /** Counter chunks: recorded in the item that takes it (`<batch id>.<n>`, n its place in the slot's chunks). */
  id?: string;
  entries: E[];
  /** What the chunk adds to the item's estimate of its size (`nb`). */
  bytes: number;
  expiresAt: number;
}

/**
 * A batch's counter increments as packed chunks, per item chain (partition and slot) in a fixed
 * order — a retried batch cuts the same chunks with the same ids — and the increments that keep
 * the per-key layout.
 */
export function counterChunks(
  batchId: string,
  increments: readonly CounterIncrement[],
): { chunks: Chunk<CounterEntry>[]; perKey: CounterIncrement[] } {
  const { chains, perKey } = byChain(
    increments,
    (inc) => packedKeyOf(inc.key, 'counter'),
    (inc, member) => ({
      key: inc.key,
      member,
      bucket: inc.bucket,
      delta: inc.delta,
    }),
  );
  const chunks: Chunk<CounterEntry>[] = [];
  for (const { pk, slot, entries: unsorted, expiresAt } of sortedChains(chains)) {
    // One attribute once per write (DynamoDB refuses an update naming a path twice): the same entity and bucket twice add up.
    const entries = inOrder(unsorted, (into, from) => {
      into.delta += from.delta;
    });
    let chunk: Chunk<CounterEntry> | undefined;
    let n = 0;
    for (const entry of entries) {
      const bytes = attrBytes(entry.bucket, entry.member) + NUMBER_BYTES;
      if (!chunk || (chunk.bytes + bytes > CHUNK_BYTES && chunk.entries.length > 0)) {
        const id = `${batchId}.${n++}`;
        chunk = { pk, slot, id, entries: [], bytes: utf8Bytes(id), expiresAt };
        chunks.push(chunk);
      }
      chunk.entries.push(entry);
      chunk.bytes += bytes;
    }
  }
  return { chunks, perKey };
}

/**
 * A batch's set adds as packed chunks (a bucket's values split over chunks when they do not fit
 * one: a set is the union of its entries in every item of the slot), and the adds that keep the
 * per-key layout (any with a context: sequence steps).
 */
export function setChunks(adds: readonly SetAdd[]): { chunks: Chunk<SetEntry>[]; perKey: SetAdd[] } {
  const { chains, perKey } = byChain(
    adds.filter((add) => add.members.length > 0 || add.context !== undefined),
    (add) => (add.context === undefined ? packedKeyOf(add.key, 'set') : undefined),
    (add, member) => ({ key: add.key, member, bucket: add.bucket, values: add.members }),
  );
  const chunks: Chunk<SetEntry>[] = [];
  for (const { pk, slot, entries: unsorted, expiresAt } of sortedChains(chains)) {
    const entries = inOrder(unsorted, (into, from) => {
      into.values = [...into.values, ...from.values];
    });
    let chunk: Chunk<SetEntry> | undefined;
    for (const entry of entries) {
      const name = attrBytes(entry.bucket, entry.member);
      let part: SetEntry | undefined;
      for (const value of entry.values.length === 1 ? entry.values : [...new Set(entry.values)].sort(compare)) {
        const bytes = utf8Bytes(value);
        const fits = chunk !== undefined && chunk.bytes + bytes + (part ? 0 : name) <= CHUNK_BYTES;
        if (!chunk || (!fits && chunk.entries.length > 0)) {
          chunk = { pk, slot, entries: [], bytes: 0, expiresAt };
          chunks.push(chunk);
          part = undefined;
        }
        if (!part) {
          part = { key: entry.key, member: entry.member, bucket: entry.bucket, values: [] };
          chunk.entries.push(part);
          chunk.bytes += name;
        }
        part.values.push(value);
        chunk.bytes += bytes;
      }
    }
  }
  return { chunks, perKey };
}

/** A batch's entries of one item chain (partition and slot). */
interface Chain<E> {
  pk: string;
  slot: number;
  entries: E[];
  expiresAt: number;
}

/** Entries by entity and bucket, the same entity and bucket merged into the first of them. */
function inOrder<E extends { member: string; bucket: number }>(entries: E[], merge: (into: E, from: E) => void): E[] {
  if (entries.length < 2) return entries;
  // Evaluators write an entity's buckets in order, and the threshold evaluator its entities in
  // order too: then one pass checks what a sort (string compares of every pair it meets) would do.
  if (!ascending(entries)) entries.sort(byMemberThenBucket);
  const merged: E[] = [];
  for (const entry of entries) {
    const last = merged.at(-1);
    if (last && last.member === entry.member && last.bucket === entry.bucket) merge(last, entry);
    else merged.push(entry);
  }
  return merged;
}

function byMemberThenBucket(a: { member: string; bucket: number }, b: { member: string; bucket: number }): number {
  return compare(a.member, b.member) || a.bucket - b.bucket;
}

function ascending(entries: readonly { member: string; bucket: number }[]): boolean {
  for (let i = 1; i < entries.length; i++)
    if (byMemberThenBucket(entries[i - 1] as (typeof entries)[number], entries[i] as (typeof entries)[number]) > 0) return false;
  return true;
}

/** A batch's packed writes as entries by chain, and the writes that keep the per-key layout. */
function byChain<W extends { bucket: number; expiresAt: number; width?: number }, E>(
  writes: readonly W[],
  packedKey: (write: W) => PackedKey | undefined,
  entry: (write: W, member: string) => E,
): { chains: Chains<E>; perKey: W[] } {
  const perKey: W[] = [];
  const chains: Chains<E> = new Map();
  for (const write of writes) {
    const packed = packedKey(write);
    if (!packed) {
      perKey.push(write);
      continue;
    }
    const chain = chainOf(chains, packed.pk, slotOf(write.bucket));
    chain.entries.push(entry(write, packed.member));
    chain.expiresAt = Math.max(chain.expiresAt, slotExpiry(write.bucket, write.expiresAt, write.width));
  }
  return { chains, perKey };
}

/** A batch's chains by partition, then slot. */
type Chains<E> = Map<string, Map<number, Chain<E>>>;

function chainOf<E>(chains: Chains<E>, pk: string, slot: number): Chain<E> {
  const slots = getOrCreate(chains, pk, () => new Map<number, Chain<E>>());
  return getOrCreate(slots, slot, () => ({ pk, slot, entries: [], expiresAt: 0 }));
}

function sortedChains<E>(chains: Chains<E>): Chain<E>[] {
  const all: Chain<E>[] = [];
  for (const slots of chains.values()) for (const chain of slots.values()) all.push(chain);
  return all.length > 1 ? all.sort((a, b) => compare(a.pk, b.pk) || a.slot - b.slot) : all;
}

/**
 * The queries that read slots `from`…`to` of one partition when the reader already holds each
 * slot's first `known(slot)` items (full for good): one query from the first item it lacks per
 * slot with known items, consecutive slots without any in one. A range of 16 slots or more (a
 * window read after a long gap) is one query of everything.
 */
export function slotQueries(from: number, to: number, known: (slot: number) => number): { slot: number; item: number; toSlot: number }[] {
  if (to - from >= 16) return [{ slot: from, item: 0, toSlot: to }];
  const queries: { slot: number; item: number; toSlot: number }[] = [];
  for (let slot = from; slot <= to; slot++) {
    const item = known(slot);
    const last = queries.at(-1);
    // A slot read from its first item continues the query before it (nothing sorts between).
    if (last && item === 0) last.toSlot = slot;
    else queries.push({ slot, item, toSlot: slot });
  }
  return queries;
}

export function utf8Bytes(text: string): number {
  // Nearly every key and value here is ASCII: counted without a call into the runtime.
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return Buffer.byteLength(text, 'utf8');
  return text.length;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** FNV-1a of the entity: its shard, the same in every container and store. */
function shardOf(member: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < member.length; i++) h = Math.imul(h ^ member.charCodeAt(i), 0x01000193);
  return (h >>> 0) % PACK_SHARDS;
}
