import type { Alert } from '../schema/alert';

/**
 * The state port. Every stateful rule kind is expressed with five primitives that map 1:1 to
 * single DynamoDB item operations, so the in-memory adapter (embedded default, CLI, tests) and
 * the DynamoDB adapter (Lambda) behave identically:
 *
 * - counters: per (key, bucket) numbers, added atomically and idempotently per batch id;
 * - sets: per (key, bucket) string sets, capped (adding is idempotent by nature);
 * - terms: first-seen values per key, claimed once (the claim records its owner, so a replay
 *   of the same event claims it again and a different event sees it as known);
 * - markers: suppression windows, owned by the alert that set them;
 * - receipts: the alerts a batch decided, so a redelivered batch re-sends them instead of
 *   deciding again over state that already holds its own events.
 *
 * Items carry an expiry; reads ignore expired items (DynamoDB TTL deletes lazily).
 */
export interface CounterIncrement {
  key: string;
  bucket: number;
  delta: number;
  expiresAt: number;
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
}

export interface SetAdd {
  key: string;
  bucket: number;
  members: string[];
  /** Stop adding once the set holds this many members: the decision never needs more. */
  cap: number;
  expiresAt: number;
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
}

export interface MarkerClaim {
  key: string;
  owner: string;
  /** The trigger's time: the suppression window runs from here to expiresAt. */
  at: number;
  expiresAt: number;
}

export type StoredMarker = Omit<MarkerClaim, 'key'>;

export interface StateStore {
  incrementCounters(batchId: string, increments: readonly CounterIncrement[], now: number): Promise<CounterResult[]>;
  readCounters(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, number>>>;
  addToSets(adds: readonly SetAdd[], now: number): Promise<void>;
  readSets(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, string[]>>>;
  /** Claims are processed in order, so a later claim for the same key sees the earlier one. Each is judged at its own `at`. */
  claimTerms(claims: readonly TermClaim[], now: number): Promise<TermClaimResult[]>;
  /**
   * True for each marker this owner may set: absent, expired at the claim's `at`, already its
   * own, or set by a trigger after this claim's window ends (an out-of-order batch: allowed, but
   * the marker is not moved back). Concurrent claims within one window: the first one wins.
   */
  claimMarkers(claims: readonly MarkerClaim[]): Promise<boolean[]>;
  /** The markers stored for these keys (absent keys have none); expired ones too: callers compare event times. */
  readMarkers(keys: readonly string[]): Promise<Map<string, StoredMarker>>;
  /** The alerts recorded for a batch, or undefined when it was never decided. */
  readReceipt(batchId: string): Promise<Alert[] | undefined>;
  writeReceipt(batchId: string, alerts: readonly Alert[], expiresAt: number): Promise<void>;
  /** Number of store round trips so far (reads + writes), for benchmarks. */
  readonly calls: { reads: number; writes: number };
}
