import { z } from 'zod';
import { AlertCloud, AlertEntity, type AlertStatus } from '../schema/alert';
import { Tier, tierRank } from '../schema/severity';
import { type Acknowledgement, acknowledgementAt } from './acknowledgements';
import { OutbreakDecision } from './outbreak';
import { PageDecision } from './page-fold';

/**
 * The alert lifecycle, decided here and nowhere else. A condition is one (rule, entity) — for
 * incidents (correlation rule, entity) — and it is one alert for its whole life: its id stays
 * the same while later occurrences update it silently. Only these are published:
 *
 * - `open`: the first occurrence (or the first after the condition resolved and stayed quiet
 *   past the flap grace, which starts a new alert with a new id);
 * - `escalated`: the tier rose — the count reached the rule's `escalate` step (told at once, not a
 *   refresh later), or a rule change raised its severity — or the intensity (the count in the
 *   rule's window) reached 10× what it was when responders were last told;
 * - `reminder`: still firing `repeatInterval` after the last notification (notify 24 h, respond 4 h),
 *   unless a responder acknowledged the alert (src/engine/acknowledgements.ts): then an update;
 * - `resolved`: no qualifying occurrence for `resolveAfter` (2 × the rule window, ≥ 15 min), for
 *   ongoing conditions (threshold, distinct, spike); past events close silently.
 *
 * Re-opening within `flapGrace` continues the same alert (a flap, published as `open` again);
 * after 3 flaps in a day the condition must be quiet for a full hour before it resolves.
 * Review-tier conditions are never published on their own: they go to the digest.
 *
 * Everything else is an `update`: stored, forwarded to correlation at most once per `refresh`
 * (the rule's suppression window) so risk stays fresh, never published.
 */
export type EmissionStatus = AlertStatus | 'update';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const DEFAULT_REPEAT_INTERVAL: Readonly<Record<Tier, number>> = { review: 0, notify: DAY, respond: 4 * HOUR };
export const DEFAULT_FLAP_GRACE = HOUR;
export const MIN_RESOLVE_AFTER = 15 * MINUTE;
/** How often the sweeper runs (a schedule in AWS; event time in a replay). */
export const SWEEP_PERIOD_MS = 5 * MINUTE;
/** Flaps within a day before a condition must be quiet for FLAP_QUIET to resolve. */
export const FLAP_LIMIT = 3;
export const FLAP_QUIET = HOUR;
/** Intensity growth that escalates an open condition. */
export const ESCALATION_FACTOR = 10;
/** Observations remembered per condition, so a retried one re-sends its decision instead of counting again. */
const RECENT_OBSERVATIONS = 8;

export interface LifecyclePolicy {
  tier: Tier;
  /** 0: never remind. */
  repeatInterval: number;
  resolveAfter: number;
  flapGrace: number;
  /** Open conditions are forwarded (silently) to correlation at most this often. */
  refresh: number;
  /**
   * Publish `resolved` when the condition goes quiet: for ongoing conditions (a rate, a count,
   * a spike) that tells responders it is over. A past event (a new country, a log cleared, an
   * incident) does not resolve: its condition closes silently.
   */
  notifyResolved: boolean;
  /**
   * A threshold rule's `escalate` step: an occurrence counting `count` raises the alert to `tier`,
   * whose own reminder interval and resolved notice then apply (policyAtTier).
   */
  escalation?: { count: number; tier: Tier; repeatInterval: number; notifyResolved: boolean };
}

/** The tier an occurrence of this intensity asks for: the escalation step's once its count is reached. */
export function tierAt(policy: LifecyclePolicy, count: number): Tier {
  const step = policy.escalation;
  return step && count >= step.count ? step.tier : policy.tier;
}

/**
 * Whether an alert at `tier` stepped up to its rule's escalation step: then it is news above its
 * rule's outbreak, which holds the rule's alerts at the tier they open at (src/engine/outbreak.ts).
 */
export function steppedUp(policy: LifecyclePolicy, tier: Tier | undefined): boolean {
  return policy.escalation !== undefined && tier === policy.escalation.tier && tier !== policy.tier;
}

/** The policy as it applies to an alert told at `tier` (an escalated one: its step's tier, reminders and resolved notice). */
export function policyAtTier(policy: LifecyclePolicy, tier: Tier | undefined): LifecyclePolicy {
  const step = policy.escalation;
  if (!step || tier !== step.tier) return policy;
  return { ...policy, tier, repeatInterval: step.repeatInterval, notifyResolved: step.notifyResolved };
}

/** One qualifying occurrence, in time order: what the rule saw, how much of it, how intense. */
export interface Occurrence {
  at: number;
  /** How many events it stands for (syslog `message repeated N times`). */
  weight: number;
  /** The rule's count in its window at this occurrence (threshold count, distinct values, …): the intensity. */
  count: number;
}

const EmissionRecord = z.object({
  status: z.enum(['open', 'escalated', 'reminder', 'resolved', 'update']),
  seq: z.number().int(),
  at: z.number(),
  /** The occurrence that triggered it (index in the observation); absent for `resolved`. */
  index: z.number().int().optional(),
  alertId: z.string(),
  openedAt: z.number(),
  /** The condition's last occurrence when this was decided (for `resolved`: when it went quiet). */
  lastSeen: z.number(),
  occurrences: z.number(),
  count: z.number(),
  /** The tier the alert was at when this was decided (absent in records written before tiers could step). */
  tier: Tier.optional(),
  /** The alert was acknowledged when this was decided: a reminder it silenced, or an escalation told anyway. */
  acknowledged: z.object({ by: z.string(), at: z.number(), reason: z.string().optional() }).optional(),
  /** A `resolved` decided by what happened rather than a quiet spell (an absence's events came back): what its notice says. */
  note: z.string().optional(),
  /**
   * When the condition was last delivered, where later than `at` (ConditionState.heardAt): a
   * review-tier detection is digested in the interval it was heard in. Recorded, so a retried
   * batch digests it where the first attempt did.
   */
  heardAt: z.number().optional(),
});
export type Emission = z.infer<typeof EmissionRecord>;

/** A condition as stored (a versioned document in the state store). */
export const ConditionState = z.object({
  /** A detection rule's condition, or a correlation rule's (an incident). */
  kind: z.enum(['detection', 'incident']),
  ruleId: z.string(),
  groupKey: z.string(),
  entity: AlertEntity,
  alertId: z.string(),
  status: z.enum(['open', 'resolved']),
  tier: Tier,
  openedAt: z.number(),
  lastSeen: z.number(),
  /**
   * When its last occurrence was delivered, on the sweeper's clock, where that is later than the
   * occurrence's own time (a stream whose times run behind the clock: an app logging local time
   * west of UTC without a zone, an agent catching up on a backlog). Quiet is judged from the later
   * of the two: judged by the event times alone, such a stream was "quiet" at every sweep.
   */
  heardAt: z.number().optional(),
  /**
   * Open again without a word: an event from its quiet spell was delivered after the sweep ended it
   * (a late or retried batch). Its next resolution is not told again, unless something was told
   * since. What follows is decided as if it had never been resolved, as a stream delivered in
   * order decides it: its events are one continuing activity.
   */
  reopenedLate: z.literal(true).optional(),
  occurrences: z.number(),
  /** Intensity at the last occurrence. */
  count: z.number(),
  notifiedAt: z.number(),
  notifiedCount: z.number(),
  /** Last time an emission (published or not) was forwarded: the refresh cadence. */
  emittedAt: z.number(),
  resolvedAt: z.number().optional(),
  /** Re-open times within the last day. */
  flaps: z.array(z.number()),
  /** Messages decided so far for this alert: the dedup key of each is `alertId#seq`. */
  seq: z.number().int(),
  title: z.string(),
  logGroups: z.array(z.string()),
  /** The account the condition is about (for the resolved notice and its link). */
  cloud: AlertCloud.optional(),
  /** A resolved notice decided by the sweeper and not yet confirmed delivered (outbox). */
  pending: EmissionRecord.optional(),
  recent: z.array(z.object({ id: z.string(), emissions: z.array(EmissionRecord) })),
  /** Respond-tier detections: whether each recent alert paged or folded into its entity's page (src/engine/page-fold.ts). */
  pages: z.array(PageDecision).optional(),
  /** Notify- and respond-tier detections: whether each recent alert was told, told an outbreak, or held (src/engine/outbreak.ts). */
  outbreaks: z.array(OutbreakDecision).optional(),
});
export type ConditionState = z.infer<typeof ConditionState>;

/** What a new condition needs besides its first occurrence. */
export interface ConditionIdentity {
  kind: 'detection' | 'incident';
  ruleId: string;
  groupKey: string;
  entity: AlertEntity;
  title: string;
  logGroups: string[];
  cloud?: AlertCloud;
}

export interface Observation {
  /** Batch id (detections) or detection message key (incidents): a retried observation changes nothing. */
  id: string;
  occurrences: readonly Occurrence[];
  identity: ConditionIdentity;
  /** The alert id a condition opened by occurrence `index` gets (deterministic: same input, same id). */
  alertIdFor: (index: number) => string;
  /** When the observation was delivered, on the sweeper's clock (the detector's `deliveryClock`); unset: its events' time. */
  heardAt?: number;
}

export interface Advance {
  state: ConditionState;
  emissions: Emission[];
  /** The observation had been applied before: its recorded emissions are returned, nothing changed. */
  replayed: boolean;
}

/** Quiet time before an open condition resolves; a flapping one needs a full quiet hour. */
export function effectiveResolveAfter(state: ConditionState, policy: LifecyclePolicy, at: number): number {
  const recentFlaps = state.flaps.filter((t) => t > at - DAY).length;
  return recentFlaps >= FLAP_LIMIT ? Math.max(policy.resolveAfter, FLAP_QUIET) : policy.resolveAfter;
}

/** Since when an open condition has been quiet on the sweeper's clock: its last occurrence, or its delivery if later. */
export function quietSince(state: ConditionState): number {
  return Math.max(state.lastSeen, state.heardAt ?? state.lastSeen);
}

/** When an open condition resolves if nothing else happens (the sweeper's due time). */
export function resolveAt(state: ConditionState, policy: LifecyclePolicy): number | undefined {
  return state.status === 'open' ? quietSince(state) + effectiveResolveAfter(state, policy, state.lastSeen) : undefined;
}

/** Whether a decided emission is published to its tier's topic (the rest are stored or digested). */
export function isPublished(status: EmissionStatus, policy: Pick<LifecyclePolicy, 'tier' | 'notifyResolved'>): boolean {
  if (status === 'update' || policy.tier === 'review') return false;
  return status !== 'resolved' || policy.notifyResolved;
}

/** Review-tier conditions are told in the digest: when they open (or re-open) and escalate; never resolved notices. */
export function isDigested(status: EmissionStatus, policy: Pick<LifecyclePolicy, 'tier'>): boolean {
  return policy.tier === 'review' && status !== 'update' && status !== 'resolved';
}

function emit(state: ConditionState, status: EmissionStatus, at: number, index: number | undefined): Emission {
  const e: Emission = {
    status,
    seq: state.seq,
    at,
    alertId: state.alertId,
    openedAt: state.openedAt,
    lastSeen: state.lastSeen,
    occurrences: state.occurrences,
    count: state.count,
    tier: state.tier,
  };
  if (index !== undefined) e.index = index;
  if (state.heardAt !== undefined && state.heardAt > at) e.heardAt = state.heardAt;
  state.seq++;
  state.emittedAt = Math.max(state.emittedAt, at);
  if (status !== 'update') {
    state.notifiedAt = at;
    state.notifiedCount = state.count;
    delete state.reopenedLate; // told something since: its end is news again
  }
  return e;
}

/** Resolves an open condition at `at` for the reason `note` gives (not a quiet spell); undefined when it is not open. */
export function resolveWith(state: ConditionState, at: number, note: string): Emission | undefined {
  if (state.status !== 'open') return undefined;
  state.status = 'resolved';
  state.resolvedAt = at;
  return { ...emit(state, 'resolved', at, undefined), note };
}

/**
 * The sweeper's resolution: an open condition quiet long enough by `now`, on the sweeper's clock
 * (since its last occurrence and its last delivery) is resolved. Returns the `resolved` emission;
 * undefined when it is not quiet yet, or when it resolved without a word (`reopenedLate`).
 */
export function resolveIfQuiet(state: ConditionState, policy: LifecyclePolicy, now: number): Emission | undefined {
  const due = resolveAt(state, policy);
  return due === undefined || now < due ? undefined : resolveQuiet(state, policy);
}

/** Resolves an open condition as of the end of its quiet spell in its events' own time. */
function resolveQuiet(state: ConditionState, policy: LifecyclePolicy): Emission | undefined {
  const at = state.lastSeen + effectiveResolveAfter(state, policy, state.lastSeen);
  state.status = 'resolved';
  state.resolvedAt = at;
  if (state.reopenedLate) {
    delete state.reopenedLate; // its end was told; a late event from before it is not news
    return undefined;
  }
  return emit(state, 'resolved', at, undefined);
}

/** The occurrence at `at` is the condition's latest: its time, and when it was heard if that is later. */
function lastHeard(state: ConditionState, at: number, heardAt: number | undefined): void {
  state.lastSeen = at;
  const heard = Math.max(heardAt ?? at, state.heardAt ?? at);
  if (heard > at) state.heardAt = heard;
  else delete state.heardAt;
}

/**
 * Applies one observation's occurrences (time order) to a condition: the whole lifecycle walk.
 * Pure: the caller reads the stored state and writes the returned one (with optimistic
 * concurrency), so the memory and DynamoDB stores decide exactly alike.
 */
export function advanceCondition(
  stored: ConditionState | undefined,
  obs: Observation,
  policy: LifecyclePolicy,
  /** Acknowledgements of the alerts this observation may remind of or escalate (src/engine/conditions.ts reads them). */
  acks?: ReadonlyMap<string, Acknowledgement>,
): Advance {
  const seen = stored?.recent.find((r) => r.id === obs.id);
  if (stored && seen) return { state: stored, emissions: seen.emissions, replayed: true };
  let state: ConditionState | undefined = stored ? structuredClone(stored) : undefined;
  const emissions: Emission[] = [];
  // The log groups as merged with this observation's: the same merge again changes nothing (a
  // flood's observation holds an occurrence per event past its count).
  let merged: string[] | undefined;

  obs.occurrences.forEach((occ, index) => {
    // Quiet in the events' own time before this one: resolved first (the sweeper may not have run).
    if (state?.status === 'open' && occ.at >= state.lastSeen + effectiveResolveAfter(state, policy, state.lastSeen)) {
      const resolved = resolveQuiet(state, policy);
      if (resolved) emissions.push(resolved);
    }
    if (!state || (state.status === 'resolved' && occ.at - (state.resolvedAt ?? 0) > policy.flapGrace)) {
      // A new condition: a new alert (its id a digest: made once).
      const alertId = obs.alertIdFor(index);
      state = {
        ...obs.identity,
        alertId,
        status: 'open',
        tier: tierAt(policy, occ.count),
        openedAt: occ.at,
        lastSeen: occ.at,
        occurrences: occ.weight,
        count: occ.count,
        notifiedAt: occ.at,
        notifiedCount: occ.count,
        emittedAt: occ.at,
        flaps: [],
        seq: state?.alertId === alertId ? state.seq : 0,
        recent: state?.recent ?? [],
        ...(state?.pending ? { pending: state.pending } : {}),
        // The last alert's page decision: its resolved notice may still be sent.
        ...(state?.pages ? { pages: state.pages } : {}),
        ...(state?.outbreaks ? { outbreaks: state.outbreaks } : {}),
      };
      lastHeard(state, occ.at, obs.heardAt);
      emissions.push(emit(state, 'open', occ.at, index));
      return;
    }
    state.title = obs.identity.title;
    if (state.logGroups !== merged) {
      state.logGroups = [...new Set([...state.logGroups, ...obs.identity.logGroups])].sort().slice(0, 10);
      merged = state.logGroups;
    }
    if (obs.identity.cloud) state.cloud = obs.identity.cloud;
    if (state.status === 'resolved') {
      // From before the time the sweep resolved it, delivered after (a batch late or retried):
      // not a return. Within the activity already known it is counted and decides nothing; inside
      // the quiet spell the condition was not quiet after all, so it is open again without a word
      // (an escalation or reminder this event warrants is still decided) and the next quiet spell
      // resolves it without telling its end twice. Read as a return, it re-opened an alert that
      // never came back.
      const late = occ.at <= (state.resolvedAt ?? Number.NEGATIVE_INFINITY);
      if (late && occ.at <= state.lastSeen) {
        state.occurrences += occ.weight;
        return;
      }
      state.status = 'open';
      delete state.resolvedAt;
      if (!late) {
        // Back within the flap grace: the same alert continues, and responders are told it is back.
        state.flaps = [...state.flaps.filter((t) => t > occ.at - DAY), occ.at];
        state.occurrences += occ.weight;
        lastHeard(state, occ.at, obs.heardAt);
        state.count = occ.count;
        // Told at the tier its return asks for: a flood back at the team's count is the team's again.
        state.tier = tierAt(policy, occ.count);
        emissions.push(emit(state, 'open', occ.at, index));
        return;
      }
      state.reopenedLate = true;
    }
    state.occurrences += occ.weight;
    if (occ.at < state.lastSeen) return; // a late event: counted, decides nothing
    lastHeard(state, occ.at, obs.heardAt);
    state.count = occ.count;
    // The count reached the escalation step: told now, a page does not wait for the refresh.
    const stepTier = tierAt(policy, occ.count);
    const stepsUp = tierRank(stepTier) > tierRank(state.tier);
    if (!stepsUp && occ.at - state.emittedAt < policy.refresh) return;
    const told = policyAtTier(policy, state.tier);
    let status: EmissionStatus = 'update';
    if (stepsUp) {
      status = 'escalated';
      state.tier = stepTier;
    } else if (tierRank(policy.tier) > tierRank(state.tier)) {
      status = 'escalated';
      state.tier = policy.tier;
    } else if (state.notifiedCount > 0 && occ.count >= ESCALATION_FACTOR * state.notifiedCount) {
      status = 'escalated';
    } else if (told.repeatInterval > 0 && occ.at - state.notifiedAt >= told.repeatInterval) {
      status = 'reminder';
    }
    // An acknowledgement ends on the wall clock: held against when this was delivered, where known
    // (a log 5 hours behind kept a 2-hour acknowledgement silencing reminders for 7).
    const ack = status === 'update' ? undefined : acknowledgementAt(acks, state.alertId, obs.heardAt ?? occ.at);
    if (ack && status === 'reminder') {
      // Somebody has it: decided silently, and due again a repeat interval from now. What
      // responders were last told (notifiedCount, the escalation's base) is unchanged.
      status = 'update';
      state.notifiedAt = occ.at;
    }
    const e = emit(state, status, occ.at, index);
    if (ack) e.acknowledged = { by: ack.by, at: ack.at, ...(ack.reason ? { reason: ack.reason } : {}) };
    emissions.push(e);
  });
  if (!state) throw new Error('advanceCondition needs at least one occurrence');
  const final: ConditionState = state;
  final.recent = [...final.recent.filter((r) => r.id !== obs.id), { id: obs.id, emissions }].slice(-RECENT_OBSERVATIONS);
  return { state: final, emissions, replayed: false };
}
