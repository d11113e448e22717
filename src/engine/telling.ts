import type { Alert, Message } from '../schema/alert';
import type { Severity } from '../schema/severity';
import { DEFAULT_DIGEST_INTERVAL_MS } from './digests';
import { type ConditionState, type Emission, isDigested, isPublished, type LifecyclePolicy } from './lifecycle';
import {
  DEFAULT_OUTBREAK_AFTER,
  DEFAULT_OUTBREAK_WINDOW_MS,
  heldAlert,
  heldPolicy,
  type OutbreakTerms,
  outbreakOf,
  outbreakTermsOf,
} from './outbreak';
import { DEFAULT_PAGE_FOLD_MS, foldedAlert, foldOf, type PageTerms, pageTermsOf } from './page-fold';

/**
 * How a deployment tells alerts — review digests, one page per entity, one message per outbreak —
 * shared by the detector and the sweeper (which opens absence rules' alerts).
 */
export interface AlertTerms {
  digestInterval: number;
  pageFoldWindow: number;
  outbreakAfter: number;
  outbreakWindow: number;
}

/** The terms a deployment set, the defaults for the rest. */
export function alertTerms(terms: Partial<AlertTerms> = {}): AlertTerms {
  return {
    digestInterval: terms.digestInterval ?? DEFAULT_DIGEST_INTERVAL_MS,
    pageFoldWindow: terms.pageFoldWindow ?? DEFAULT_PAGE_FOLD_MS,
    outbreakAfter: terms.outbreakAfter ?? DEFAULT_OUTBREAK_AFTER,
    outbreakWindow: terms.outbreakWindow ?? DEFAULT_OUTBREAK_WINDOW_MS,
  };
}

/**
 * What a detection rule's condition update claims: its entity's page (respond tier — for a rule
 * that escalates there, the alert that steps up claims it, with the step's severity) and its place
 * in an outbreak (the tier it opens at).
 */
export function detectionTerms(
  policy: Pick<LifecyclePolicy, 'tier' | 'escalation'>,
  rule: {
    severity: Severity;
    riskScore: number;
    alert?: { outbreakAfter?: number | undefined } | undefined;
    escalate?: { severity: Severity } | undefined;
  },
  terms: AlertTerms,
): { page?: PageTerms; outbreak?: OutbreakTerms } {
  const step = policy.escalation && rule.escalate ? { tier: policy.escalation.tier, severity: rule.escalate.severity } : undefined;
  return {
    ...(step
      ? pageTermsOf(step.tier, { ...rule, severity: step.severity }, terms.pageFoldWindow)
      : pageTermsOf(policy.tier, rule, terms.pageFoldWindow)),
    ...outbreakTermsOf(policy.tier, rule.alert?.outbreakAfter ?? terms.outbreakAfter, terms.outbreakWindow),
  };
}

/**
 * The message of one lifecycle step of a detection: its alert as told — folded into its entity's
 * page, held by its rule's outbreak (told in the review digest only, its resolved notice not at
 * all) — and whether it is published, digested and correlated.
 */
export function detectionMessage(
  alert: Alert,
  e: Emission,
  state: Pick<ConditionState, 'pages' | 'outbreaks'>,
  policy: LifecyclePolicy,
  /** It stepped up to its rule's escalation step (steppedUp): its rule's outbreak does not hold it. */
  stepped = false,
): Message {
  const outbreak = stepped ? undefined : outbreakOf(state.outbreaks, e.alertId);
  const told = heldPolicy(policy, outbreak);
  const resolved = e.status === 'resolved';
  return {
    alert: heldAlert(foldedAlert(alert, foldOf(state.pages, e.alertId)), outbreak),
    key: `${e.alertId}#${e.seq}`,
    publish: isPublished(e.status, told),
    digest: !resolved && isDigested(e.status, told),
    correlate: !resolved,
  };
}
