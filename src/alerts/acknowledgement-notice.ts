import type { Acknowledgement } from '../engine/acknowledgements';
import type { Alert } from '../schema/alert';
import { formatTime } from '../schema/duration';
import { type AlertContext, stableId } from './build';
import { tableArgs } from './cloud';
import { logsInsightsQuery, logsInsightsUrl } from './insights';
import { redact } from './redact';
import { ACKNOWLEDGEMENT_NOTICE, teamNoticeAlert } from './team-notice';

/** How far back the notice's Logs Insights link looks: the hour before the acknowledgement. */
const LOOK_BACK_MS = 3_600_000;
/** Alerts a notice lists one by one; `detect ack list` shows the rest. */
const LISTED = 20;

/**
 * The team is told who has which alerts (src/engine/acknowledgements.ts): a page several
 * responders got is not worked twice, and a page silenced by nobody on the team shows — an
 * acknowledgement stops the reminders, so a responder's credentials in an intruder's hands would
 * be used for one. Notify tier, whoever wrote them: one notice per responder for what a sweep
 * finds new (acknowledging a hundred alerts of an outbreak is one message, not a hundred), each
 * acknowledgement told once (a takeover by another responder is a new one).
 */
export function buildAcknowledgementNotice(acks: readonly Acknowledgement[], ctx: AlertContext): Alert {
  const ordered = [...acks].sort((a, b) => a.at - b.at || a.alertId.localeCompare(b.alertId));
  const first = ordered[0];
  if (!first) throw new Error('an acknowledgement notice needs an acknowledgement');
  const by = first.by;
  const last = ordered[ordered.length - 1] ?? first;
  const reasons = new Set(ordered.map((a) => a.reason));
  const shared = reasons.size === 1 ? first.reason : undefined;
  const lines = ordered.slice(0, LISTED).map((a) => alertLine(a, shared === undefined));
  const more = ordered.length > LISTED ? [`… and ${ordered.length - LISTED} more (npx detect ack list ${tableArgs(ctx.stateTable)})`] : [];
  const what = first.about ? redact(first.about.title) : first.alertId;
  const query = logsInsightsQuery(first.about ? redact(first.about.entity.value) : '');
  const ids = ordered.length === 1 ? first.alertId : '<alert id>';
  const notice = teamNoticeAlert({
    id: stableId('ack', ...ordered.map((a) => `${a.alertId}#${a.at}`)),
    ruleId: ACKNOWLEDGEMENT_NOTICE,
    title:
      ordered.length === 1
        ? `${by} has ${first.alertId}: ${what}`
        : `${by} has ${ordered.length} alerts: ${what} and ${ordered.length - 1} more`,
    description:
      `${by} acknowledged ${ordered.length === 1 ? 'an alert' : `${ordered.length} alerts`}${shared ? ` (${redact(shared)})` : ''}: ` +
      `their reminders are silent, an escalation and the resolution are still told.\n${[...lines, ...more].join('\n')}`,
    entity: { field: 'acknowledgement.by', value: by },
    at: last.at,
    window: { from: first.at, to: last.at },
    runbook: 'docs/runbooks/sentinel.acknowledgement.md',
    recommendedActions: [
      `Nothing to do if ${by} is on it; to take one over: npx detect ack add ${tableArgs(ctx.stateTable)} ${ids}`,
      `If nobody on the team acknowledged ${ordered.length === 1 ? 'it' : 'them'}: npx detect ack end ${tableArgs(ctx.stateTable)} ${ids} (its reminders are told again), then find who wrote ${ordered.length === 1 ? 'it' : 'them'} (CloudTrail data events on the state table)`,
    ],
    logsInsightsQuery: query,
    consoleUrl: logsInsightsUrl(ctx.region, [], query, first.at - LOOK_BACK_MS, last.at),
    // Their one account (the caller groups by it), so the notice reaches a team routed that account's alerts.
    ...(first.about?.account ? { cloud: { account: { id: first.about.account }, region: ctx.region } } : {}),
  });
  return { ...notice, acknowledgedAlerts: ordered.map((a) => a.alertId) };
}

/** One acknowledged alert: its id, what it is, until when, and why when the reasons differ. */
function alertLine(ack: Acknowledgement, withReason: boolean): string {
  const about = ack.about;
  const what = about
    ? `${redact(about.title)} (rule ${about.ruleId}, ${about.tier} tier, ${about.entity.field}=${redact(about.entity.value)})`
    : 'an alert the open alerts did not list';
  const span = ack.until === null ? 'while it lasts' : `until ${formatTime(ack.until)}`;
  return `- ${ack.alertId}: ${what}, ${span}${withReason && ack.reason ? `: ${redact(ack.reason)}` : ''}`;
}
