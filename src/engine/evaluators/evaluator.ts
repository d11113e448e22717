import type { CompiledRule, RuleKind } from '../../rules/compile';
import type { CountedValues, SpikeBaseline } from '../../schema/alert';
import { eventTime, type NormalizedEvent } from '../../schema/event';
import type { StateStore } from '../state-store';
import type { LearningScope, TermLearning } from '../term-learning';

/**
 * One evaluator per rule kind (./index.ts): given a rule and the batch's events it matched, which
 * of them meet its full condition — a threshold crossed, a sequence completed, a term never seen —
 * each with the state as of that event. Evaluators read and write windowed state through the
 * store; the detector (../detector.ts) turns what they qualify into lifecycle steps and alerts.
 */
export type Evaluator = (
  rule: CompiledRule,
  events: NormalizedEvent[],
  batch: BatchContext,
) => QualifiedGroup[] | Promise<QualifiedGroup[]>;

/** What an evaluator knows of the batch and the deployment, besides its rule and events. */
export interface BatchContext {
  readonly store: StateStore;
  /** The batch's id: counters are incremented under it, so a retried batch counts once. */
  readonly batchId: string;
  /** The deployment's own account: distinct-value members named in it keep their plain values. */
  readonly account: string | undefined;
  /** Since when each rule has watched each account's logs (new-term learning, a spike's first baseline). */
  readonly learning: TermLearning;
  /** How long a new-term rule only learns, unless the rule sets its own `learn` (0: never). */
  readonly newTermLearning: number;
  /** Whose first week that is: the logs' owner's, or the account a CloudTrail record is about. */
  readonly learningScope: LearningScope;
  /** Reading history in (`detect learn`): new-term rules record what they saw and nothing alerts. */
  readonly learnOnly: boolean;
  /** New terms learned without an alert in their learning period, for the batch's result. */
  readonly tally: { learnedTerms: number };
}

/** The kinds an evaluator decides in the detector (an absence is decided by the sweeper). */
export type EvaluatedKind = Exclude<RuleKind, 'absence'>;

/** An event that met the rule's condition, with what the alert needs to describe it. */
export interface Qualifier {
  index: number;
  /** First index of the evidence run (events before windowStart are dropped). */
  from: number;
  /** The count that met the condition; 0 means "the number of evidence events". */
  count: number;
  windowStart: number;
  /** Spike rules: what the window was measured against (the alert's `baseline`). */
  baseline?: SpikeBaseline;
  /** Distinct-value rules: the values counted in that window, the first few (the alert's `distinct`). */
  distinct?: CountedValues;
  /**
   * When the counted occurrences began, where earlier deliveries counted some (the evidence holds
   * only this batch's): a sequence's first occurrence in its window; for counters and sets, which
   * keep no times, the start of the earliest bucket they counted in — at most a tenth of the
   * window early. Without it the alert's firstSeen was this batch's first event, minutes late.
   */
  countedFrom?: number;
  /**
   * What the alert counts when `count` is 0 and the evidence is not all there is: a sequence's
   * occurrences of its steps in the window, earlier batches' included (its evidence holds one
   * event per earlier step from those). Not an intensity: the lifecycle still takes 1.
   */
  shown?: number;
}

export interface QualifiedGroup {
  key: string;
  /** The group's events, time-sorted. */
  list: NormalizedEvent[];
  entityField: string | undefined;
  qualifiers: Qualifier[];
  /** Evidence runs forward from the trigger (stateless rules) rather than back over the window. */
  forward?: boolean;
  /** Sequences: the latest stored event of each earlier step (from earlier batches), oldest first. */
  prior?: NormalizedEvent[];
}

/** A one-event group whose event met its rule's count (threshold and distinct rules' fast path). */
export function oneEventGroup(
  key: string,
  list: NormalizedEvent[],
  entityField: string | undefined,
  count: number,
  windowStart: number,
  counted: number | undefined,
  width: number,
): QualifiedGroup {
  return { key, list, entityField, qualifiers: [{ index: 0, from: 0, count, windowStart, ...countedFromBucket(counted, width) }] };
}

/** The first bucket from..to that `counted` says earlier deliveries counted in, if any. */
export function earliestBucket(from: number, to: number, counted: (bucket: number) => boolean): number | undefined {
  for (let x = from; x <= to; x++) if (counted(x)) return x;
  return undefined;
}

export function countedFromBucket(bucket: number | undefined, width: number): Pick<Qualifier, 'countedFrom'> {
  return bucket === undefined ? {} : { countedFrom: bucket * width };
}

/**
 * The time the store filters expiry against: the earliest event of the rule's (time-sorted)
 * events. An item expired before it is dead for every event of the batch; using the latest
 * event instead would drop state that earlier events still need when a batch spans longer
 * than an item's grace.
 */
export function storeClock(events: readonly NormalizedEvent[]): number {
  return eventTime(events[0] ?? {});
}
