import type { ZodType } from 'zod';

/**
 * The state port. Every stateful rule kind and the alert lifecycle are expressed with primitives
 * that map to conditional DynamoDB item operations, so the in-memory adapter (embedded default,
 * CLI, tests) and the DynamoDB adapter (Lambda) behave identically (the DynamoDB adapter keeps
 * many keys' threshold counters and distinct sets in one item: ./packed-state.ts):
 *
 * - counters: per (key, bucket) numbers, added atomically and idempotently per batch id;
 * - sets: per (key, bucket) string sets, capped (adding is idempotent by nature), each with an
 *   optional context text that the last add replaces;
 * - terms: first-seen values per key, claimed once (the claim records its owner, so a replay
 *   of the same event claims it again and a different event sees it as known);
 * - documents: small versioned JSON documents (alert conditions, risk records, digest entries),
 *   written with optimistic concurrency: a write names the version it read, and loses (returns
 *   false) when another writer got there first. A document may carry a due time: `listDue`
 *   finds those whose time has come (conditions to resolve, digests to publish);
 * - receipts: what a batch decided, so a redelivered batch re-sends it instead of deciding again
 *   over state that already holds its own events.
 *
 * Items carry an expiry; reads ignore expired items (DynamoDB TTL deletes lazily).
 */
export interface CounterIncrement {
  key: string;
  bucket: number;
  delta: number;
  expiresAt: number;
  /** The bucket's width (ms), when known: the DynamoDB adapter's packed items need it (see BucketRange.width). */
  width?: number;
}

export interface CounterResult {
  key: string;
  bucket: number;
  /** Value after this batch's increment (or the current value when it was already applied). */
  total: number;
  /** False when this batch id had already been applied to the item (a retried batch). */
  applied: boolean;
}

export interface BucketRange {
  key: string;
  from: number;
  to: number;
  /**
   * The buckets' width (ms), when known. The DynamoDB adapter reads the items of its per-key
   * layout beside the packed ones only for buckets that began before the table's packed layout
   * did (src/engine/packed-state.ts); without a width it reads them always.
   */
  width?: number;
}

export interface SetAdd {
  key: string;
  bucket: number;
  members: string[];
  /** Stop adding once the set holds this many members: the decision never needs more. */
  cap: number;
  expiresAt: number;
  /** The bucket's width (ms), when known (see BucketRange.width). */
  width?: number;
  /**
   * Kept beside the set, the last write's replacing the one before (not once the set is full):
   * what a sequence step shows of its latest event (src/engine/step-context.ts).
   */
  context?: string;
}

export interface TermClaim {
  key: string;
  term: string;
  /** The event claiming the term; a replay of the same event gets the same answer. */
  owner: string;
  at: number;
  expiresAt: number;
}

export interface TermClaimResult {
  isNew: boolean;
  /** Whether the key already had another live term (the entity has history). */
  hadHistory: boolean;
  /**
   * Whether the key holds terms written before term items recorded when they were claimed: a
   * table from before learning periods existed (src/engine/term-learning.ts). Never in memory.
   */
  legacy: boolean;
}

export interface DocKey {
  pk: string;
  sk: string;
}

export interface StoredDoc {
  version: number;
  /** JSON text; its schema belongs to the engine module that wrote it. */
  body: string;
}

export interface DocWrite extends DocKey {
  body: string;
  /**
   * The version this write was decided on: a number (the stored one), `null` (the document must
   * be absent or expired at `now`), or `undefined` (unconditional).
   */
  ifVersion: number | null | undefined;
  /** The writer's clock (event time): an expired document counts as absent. */
  now: number;
  expiresAt: number;
  /** Listed by `listDue` once this time has passed; undefined takes the document off the list. */
  dueAt?: number;
}

/**
 * A document's body read by `schema`, or undefined when it does not parse: for documents whose loss
 * only costs a message more (an entity's page, a rule's outbreak), one another version wrote
 * counts as none rather than failing the batch.
 */
export function readDocBody<T>(schema: ZodType<T>, body: string): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** An expiry far enough ahead that a document outlives any deployment (DynamoDB's TTL never removes it). */
export const KEPT_FOREVER = Date.UTC(2200, 0, 1);

/** The `limit` documents that fell due first (ties by key): the order `listDue` answers in, in every store. */
export function earliestDue(due: readonly (DocKey & { at: number })[], limit: number): DocKey[] {
  return [...due]
    .sort((a, b) => a.at - b.at || a.pk.localeCompare(b.pk) || a.sk.localeCompare(b.sk))
    .slice(0, limit)
    .map(({ pk, sk }) => ({ pk, sk }));
}

/** `pk` and `sk` joined: the key of `readDocs` results. */
export function docId(key: DocKey): string {
  return `${key.pk}\u0000${key.sk}`;
}

export interface StateStore {
  incrementCounters(batchId: string, increments: readonly CounterIncrement[], now: number): Promise<CounterResult[]>;
  /** Live counter totals per key and bucket; keys with no live bucket may be left out. */
  readCounters(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, number>>>;
  addToSets(adds: readonly SetAdd[], now: number): Promise<void>;
  /** Live set members per key and bucket; keys with no live bucket may be left out. The sets are read-only views. */
  readSets(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, ReadonlySet<string>>>>;
  /** The context of each live set that has one, per key and bucket (read only when a sequence completes). */
  readSetContexts(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, string>>>;
  /** Claims are processed in order, so a later claim for the same key sees the earlier one. Each is judged at its own `at`. */
  claimTerms(claims: readonly TermClaim[], now: number): Promise<TermClaimResult[]>;
  /** Live documents by `docId`; absent and expired ones are left out. */
  readDocs(keys: readonly DocKey[], now: number): Promise<Map<string, StoredDoc>>;
  /** False when the stored version is not the one the write was decided on (re-read and decide again). */
  writeDoc(write: DocWrite): Promise<boolean>;
  /** Every live document of one partition (risk records of an entity, entries of a digest). */
  queryDocs(pk: string, now: number): Promise<(DocKey & StoredDoc)[]>;
  /** Documents whose due time is at or before `now`, oldest first, at most `limit`. */
  listDue(now: number, limit: number): Promise<DocKey[]>;
  /**
   * Takes these documents off the due list when they expired by `now` (ones written again since
   * are live and stay): a document that fell due and expired while nothing swept it is listed
   * until TTL deletes it, which takes up to days, and the oldest due are listed first — ahead of
   * every live document behind them.
   */
  dropDue(keys: readonly DocKey[], now: number): Promise<void>;
  /** What a batch decided (JSON), or undefined when it was never decided. */
  readReceipt(batchId: string): Promise<string | undefined>;
  writeReceipt(batchId: string, body: string, expiresAt: number): Promise<void>;
  /** Number of store round trips so far (reads + writes), for benchmarks. */
  readonly calls: { reads: number; writes: number };
}
