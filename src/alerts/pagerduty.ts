import { z } from 'zod';
import { Alert } from '../schema/alert';
import type { Severity } from '../schema/severity';
import { ACKNOWLEDGEMENT_NOTICE } from './team-notice';
import { type TeamPager, teamPagerOf } from './team-pagers';
import { bounded } from './truncate';

/**
 * Alerts as PagerDuty Events API v2 events (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
 *
 * An alert keeps one id from the moment it opens to its resolved notice (src/engine/lifecycle.ts),
 * so that id is the event's dedup key: its escalation is the same PagerDuty alert (no second
 * page), its resolved notice resolves it, and a retried delivery is a duplicate PagerDuty drops.
 * Without it, a pager fed by e-mail or a plain webhook opens an incident for every message,
 * resolved notices included.
 *
 * Reminders are not sent. They are for channels that keep no state (e-mail, chat); PagerDuty keeps
 * its alert open until someone resolves it and re-notifies by its own escalation policy. A
 * reminder could only add to a PagerDuty alert already open, or, after a responder resolved it in
 * PagerDuty while the condition still fires, open a new one and page them again every 4 hours for
 * what they already judged. An escalation is still sent: it is news, and pages again if they did.
 */

/** Where events are sent (the Events API v2 enqueue endpoint; EU accounts use events.eu.pagerduty.com). */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** PagerDuty's severities: an alert's, mapped (high is PagerDuty's `error`). */
const PAGERDUTY_SEVERITY: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
  info: 'info',
};

/** PagerDuty caps a summary at 1,024 characters. */
const MAX_SUMMARY = 1024;
/** Evidence lines sent along (each already redacted and cut to 2 KB in the alert): the page's context, not the whole record. */
const MAX_EVIDENCE_LINES = 5;
const MAX_EVIDENCE_CHARS = 1000;

export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve' | 'acknowledge';
  dedup_key: string;
  client?: string;
  client_url?: string;
  links?: { href: string; text: string }[];
  payload?: {
    summary: string;
    source: string;
    severity: 'critical' | 'error' | 'warning' | 'info';
    timestamp: string;
    component: string;
    group?: string;
    class: string;
    custom_details: Record<string, unknown>;
  };
}

/**
 * The event for one published alert: `resolve` for its resolved notice, else `trigger` (opened or
 * escalated: the same dedup key, so PagerDuty adds an escalation to its open alert). Digests and
 * the stack's own notices to the team (`sentinel.*`: an exception added, who acknowledged what)
 * are no pages, and nothing would ever resolve them; reminders are PagerDuty's own to make (see
 * above): undefined.
 */
export function pagerDutyEvent(alert: Alert, routingKey: string): PagerDutyEvent | undefined {
  if (!isPage(alert) || alert.status === 'reminder') return undefined;
  if (alert.status === 'resolved') return { routing_key: routingKey, event_action: 'resolve', dedup_key: alert.id };
  const entity = `${alert.entity.field}=${alert.entity.value}`;
  const account = alert.cloud?.account.id ?? alert.entity.account;
  const links = [{ href: alert.consoleUrl, text: 'Logs Insights: the events behind this alert' }];
  if (/^https:\/\//.test(alert.runbook)) links.push({ href: alert.runbook, text: `Runbook: ${alert.ruleId}` });
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: alert.id,
    client: 'Sentinel',
    client_url: alert.consoleUrl,
    links,
    payload: {
      summary: bounded(`${alert.kind === 'incident' ? 'INCIDENT ' : ''}${alert.severity}: ${alert.title}`, MAX_SUMMARY),
      source: account === undefined ? entity : `${entity} (account ${account})`,
      severity: PAGERDUTY_SEVERITY[alert.severity],
      timestamp: alert.lastSeen,
      component: alert.ruleId,
      ...(account === undefined ? {} : { group: account }),
      class: alert.kind,
      custom_details: {
        alert_id: alert.id,
        status: alert.status,
        description: alert.description,
        entity,
        risk_score: alert.riskScore,
        count: alert.count,
        occurrences: alert.occurrences,
        window: `${alert.window.start} → ${alert.window.end}`,
        opened_at: alert.openedAt,
        log_groups: alert.logGroups,
        ...(Object.keys(alert.related).length > 0 ? { related: alert.related } : {}),
        ...(alert.memberDetections ? { member_detections: alert.memberDetections.map((m) => `${m.ruleId}: ${m.title}`) } : {}),
        ...(alert.distinct ? { counted: alert.distinct } : {}),
        ...(alert.acknowledged ? { acknowledged: alert.acknowledged } : {}),
        recommended_actions: alert.recommendedActions,
        runbook: alert.runbook,
        evidence: alert.events.slice(-MAX_EVIDENCE_LINES).map((e) => bounded(e.message, MAX_EVIDENCE_CHARS)),
      },
    },
  };
}

/** A detection or an incident; not a digest nor one of the stack's notices to the team. */
function isPage(alert: Alert): boolean {
  return alert.kind !== 'digest' && !alert.ruleId.startsWith('sentinel.');
}

/** How an acknowledgement made in PagerDuty names its responder in Sentinel (src/alerts/pagerduty-webhook.ts). */
export const ACKNOWLEDGED_IN_PAGERDUTY = ' (PagerDuty)';
/** Acknowledge events one notice sends at most (a responder taking over an outbreak's hundred alerts). */
const MAX_ACKNOWLEDGEMENTS = 100;

/**
 * A responder acknowledged alerts in Sentinel (`detect ack add`; the team's notice lists them):
 * their PagerDuty alerts are acknowledged too, so PagerDuty stops escalating what someone has.
 * Not the acknowledgements PagerDuty made itself (the webhook's): they came from there.
 */
export function pagerDutyAcknowledgements(alert: Alert, routingKey: string): PagerDutyEvent[] {
  if (alert.ruleId !== ACKNOWLEDGEMENT_NOTICE || alert.entity.value.endsWith(ACKNOWLEDGED_IN_PAGERDUTY)) return [];
  return (alert.acknowledgedAlerts ?? [])
    .slice(0, MAX_ACKNOWLEDGEMENTS)
    .map((id) => ({ routing_key: routingKey, event_action: 'acknowledge', dedup_key: id }));
}

/** What the forwarder needs from its surroundings: the routing key, and an HTTP POST (tests stand in for both). */
export interface PagerDutyDeps {
  routingKey: () => Promise<string>;
  post: (url: string, body: string) => Promise<{ status: number; text: string }>;
  url?: string;
  /**
   * The teams' own PagerDuty services this one leaves their pages to (`pagerDuty.leaveTeamPages`):
   * an alert one of them pages for is not triggered here too. Its resolved notice and
   * acknowledgements still are — they only touch an alert this service had, which it has when it
   * paged before the team's did (opened at a tier only this service pages, then escalated).
   */
  teamPagers?: readonly TeamPager[];
}

/**
 * PagerDuty did not take the event. The invocation fails: Lambda retries it twice (the dedup key
 * makes a repeat harmless) and then parks it in the failure queue, whose alarm tells the team —
 * a page that was never delivered must not be only a log line. `retryable`: PagerDuty was
 * unreachable, throttled (429) or failing (5xx); otherwise it refused the event (a wrong routing
 * key, an invalid event), which no retry changes.
 */
export class PagerDutyDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'PagerDutyDeliveryError';
  }
}

export type ForwardOutcome =
  | { sent: PagerDutyEvent['event_action']; dedupKeys: string[] }
  | { skipped: 'not_a_page' | 'reminder' | 'not_an_alert' | 'team_paged'; detail: string };

/**
 * Sends one published message (the SNS body: an alert's JSON; PagerDuty answers 202 when it took
 * the event). A digest or a notice to the team, or a message on the topic that is no alert (a
 * stack-health alarm), is skipped and said why; an acknowledgement notice acknowledges the
 * PagerDuty alerts of the alerts it lists.
 */
export async function forwardToPagerDuty(message: string, deps: PagerDutyDeps): Promise<ForwardOutcome> {
  let raw: unknown;
  try {
    raw = JSON.parse(message);
  } catch (err) {
    return { skipped: 'not_an_alert', detail: `message is not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = Alert.safeParse(raw);
  if (!parsed.success) return { skipped: 'not_an_alert', detail: z.prettifyError(parsed.error).slice(0, 500) };
  const alert = parsed.data;
  if (alert.status === 'reminder' && isPage(alert))
    return {
      skipped: 'reminder',
      detail: `${alert.ruleId} ${alert.id} is a reminder: PagerDuty keeps its alert open and re-notifies itself`,
    };
  const routingKey = await deps.routingKey();
  const acknowledgements = pagerDutyAcknowledgements(alert, routingKey);
  if (acknowledgements.length > 0) {
    // An acknowledgement PagerDuty refuses (an alert it never had: one below the paging tiers) is
    // no page lost: said, not thrown. Throttled or down: thrown, and the retry sends them again.
    const refused: string[] = [];
    for (const event of acknowledgements) {
      if (!(await send(event, deps, { refusalThrows: false }))) refused.push(event.dedup_key);
    }
    const sent = acknowledgements.map((e) => e.dedup_key).filter((k) => !refused.includes(k));
    if (sent.length === 0) return { skipped: 'not_a_page', detail: `PagerDuty refused acknowledging ${refused.join(', ')}` };
    return { sent: 'acknowledge', dedupKeys: sent };
  }
  const event = pagerDutyEvent(alert, routingKey);
  if (!event) return { skipped: 'not_a_page', detail: `${alert.ruleId} ${alert.id} is for the team or the review digest, not a page` };
  const team = event.event_action === 'trigger' ? teamPagerOf(alert, deps.teamPagers ?? []) : undefined;
  if (team)
    return {
      skipped: 'team_paged',
      detail: `${alert.ruleId} ${alert.id} pages ${team.name ? `${team.name}'s` : "its team's"} own PagerDuty service (pagerDuty.leaveTeamPages)`,
    };
  await send(event, deps, { refusalThrows: true });
  return { sent: event.event_action, dedupKeys: [event.dedup_key] };
}

/** Posts one event; whether PagerDuty took it. Unreachable, throttled or failing: thrown, retryable; refused: thrown unless told not to. */
async function send(event: PagerDutyEvent, deps: PagerDutyDeps, options: { refusalThrows: boolean }): Promise<boolean> {
  let answer: { status: number; text: string };
  try {
    answer = await deps.post(deps.url ?? PAGERDUTY_EVENTS_URL, JSON.stringify(event));
  } catch (err) {
    throw new PagerDutyDeliveryError(`PagerDuty unreachable: ${err instanceof Error ? err.message : String(err)}`, true);
  }
  if (answer.status === 202 || answer.status === 200) return true;
  const retryable = answer.status === 429 || answer.status >= 500;
  if (!retryable && !options.refusalThrows) return false;
  throw new PagerDutyDeliveryError(`PagerDuty answered ${answer.status} for ${event.dedup_key}: ${answer.text.slice(0, 300)}`, retryable);
}
