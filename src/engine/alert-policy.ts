import type { CorrelationRule, DetectionRule, Escalation } from '../schema/rule';
import { type Tier, tierFor } from '../schema/severity';
import { DEFAULT_FLAP_GRACE, DEFAULT_REPEAT_INTERVAL, type LifecyclePolicy, MIN_RESOLVE_AFTER, SWEEP_PERIOD_MS } from './lifecycle';

/** Stateless rules forward an open condition at most this often unless they set `suppress`. */
export const DEFAULT_EVENT_SUPPRESS_MS = 15 * 60_000;

/** The tier a rule's alerts go to: its `tier:` override, else the one its severity implies. */
export function ruleTier(rule: Pick<DetectionRule, 'severity' | 'tier'>): Tier {
  return rule.tier ?? tierFor(rule.severity);
}

/**
 * How often an open condition is forwarded to correlation: stateful rules once per window,
 * new terms on every new term (each is its own condition), stateless rules every 15 minutes.
 */
export function refreshInterval(rule: DetectionRule): number {
  if (rule.suppress !== undefined) return rule.suppress;
  if (rule.newTerm) return 0;
  if (rule.absence) return rule.absence.after;
  return countingWindow(rule) ?? DEFAULT_EVENT_SUPPRESS_MS;
}

/** The window a rule counts in (threshold, distinct values, sequence, spike); none for a rule that opens on one event. */
function countingWindow(rule: DetectionRule): number | undefined {
  return rule.threshold?.window ?? rule.distinct?.window ?? rule.sequence?.window ?? rule.spike?.window;
}

/** The lifecycle timing of a detection rule's conditions: defaults from its tier and window, per-rule overrides. */
export function detectionPolicy(rule: DetectionRule): LifecyclePolicy {
  const tier = ruleTier(rule);
  // An absence is observed at every check while it lasts (src/engine/absence.ts): two checks
  // without one mean the sweeper is not running, and the events' return resolves it anyway.
  const window =
    (rule.absence ? absenceTiming(rule.absence.after).recheck : undefined) ??
    countingWindow(rule) ??
    rule.suppress ??
    DEFAULT_EVENT_SUPPRESS_MS;
  const policy: LifecyclePolicy = {
    tier,
    repeatInterval: rule.alert?.repeatInterval ?? DEFAULT_REPEAT_INTERVAL[tier],
    resolveAfter: rule.alert?.resolveAfter ?? Math.max(2 * window, MIN_RESOLVE_AFTER),
    flapGrace: rule.alert?.flapGrace ?? DEFAULT_FLAP_GRACE,
    refresh: refreshInterval(rule),
    notifyResolved: rule.alert?.notifyResolved ?? resolvedIsNews(rule, tier),
  };
  const step = escalationOf(rule);
  if (step) {
    const stepTier = tierFor(step.severity);
    policy.escalation = {
      count: step.count,
      tier: stepTier,
      repeatInterval: rule.alert?.repeatInterval ?? DEFAULT_REPEAT_INTERVAL[stepTier],
      notifyResolved: rule.alert?.notifyResolved ?? resolvedIsNews(rule, stepTier),
    };
  }
  return policy;
}

/** A rule's escalation step, where it has one that applies (a threshold or distinct rule without a tier override). */
function escalationOf(rule: DetectionRule): Escalation | undefined {
  return rule.escalate && (rule.threshold || rule.distinct) && rule.tier === undefined ? rule.escalate : undefined;
}

/**
 * The rule as an alert that stepped up to its escalation step shows it (steppedUp, in
 * src/engine/lifecycle.ts, says when): the step's severity, the tier a responder reads from it.
 */
export function ruleAtStep<R extends DetectionRule>(rule: R): R {
  const step = escalationOf(rule);
  return step ? { ...rule, severity: step.severity } : rule;
}

/**
 * An absence rule's clock: a detector records an entity's newer events at most every `refresh` (a
 * quarter of `after`, at most 15 minutes: its record may lag the last event that much), and the
 * sweeper looks again at an absence that lasts every `recheck`.
 */
export function absenceTiming(after: number): { refresh: number; recheck: number } {
  const refresh = Math.min(after / 4, 15 * 60_000);
  return { refresh, recheck: Math.max(SWEEP_PERIOD_MS, refresh) };
}

/** Fields that name who acts (an address, an account) rather than what is affected (a host, a service, a function). */
const ACTOR_FIELDS = new Set(['source.ip', 'source.address', 'client.ip', 'user.name', 'user.id']);

/**
 * Whether a counting rule's condition ending is worth a message. A fault, flood or spike on a
 * service, host or function is news when it ends, and a page must be closed (respond tier). A
 * notify-tier condition keyed on who acts — failed logins from an address, denials of a user, a
 * scan — ends when they stop, which asks nothing of anyone: on a real internet-facing SSH server
 * (OpenSSH_2k) those notices were a third of what the team channel got.
 */
function resolvedIsNews(rule: DetectionRule, tier: Tier): boolean {
  if (rule.absence) return true; // the events are back: what the team waits to hear
  const counting = rule.threshold ?? rule.distinct ?? rule.spike;
  if (!counting) return false;
  if (tier !== 'notify') return true;
  const key = counting.groupBy[0];
  return key === undefined || !ACTOR_FIELDS.has(key);
}

/**
 * How long before a condition opened the events that opened it can lie: the rule's counting
 * window (a correlation's window for an incident; none for a rule that opens on one event). A
 * resolved notice spans it, so its link shows the events that made the alert, not only those after.
 */
export function openingWindow(rule: DetectionRule | CorrelationRule): number {
  return 'correlation' in rule ? rule.correlation.window : (countingWindow(rule) ?? 0);
}

/** Incidents: every new member observation is weighed (refresh 0); they close silently after 2 × the correlation window. */
export function incidentPolicy(rule: CorrelationRule): LifecyclePolicy {
  const tier = ruleTier(rule);
  return {
    tier,
    repeatInterval: rule.alert?.repeatInterval ?? DEFAULT_REPEAT_INTERVAL[tier],
    resolveAfter: rule.alert?.resolveAfter ?? Math.max(2 * rule.correlation.window, MIN_RESOLVE_AFTER),
    flapGrace: rule.alert?.flapGrace ?? DEFAULT_FLAP_GRACE,
    refresh: 0,
    // An incident is closed by the people handling it, not by a quiet spell.
    notifyResolved: rule.alert?.notifyResolved ?? false,
  };
}
