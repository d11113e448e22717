import type { Acknowledgement } from '../engine/acknowledgements';
import type { Alert } from '../schema/alert';
import { formatTime } from '../schema/duration';
import { type AlertContext, stableId } from './build';
import { logsInsightsQuery, logsInsightsUrl } from './insights';
import { redact } from './redact';
import { teamNoticeAlert } from './team-notice';

/** How far back the notice's Logs Insights link looks: the hour before the acknowledgement. */
const LOOK_BACK_MS = 3_600_000;

/**
 * The team is told who has an alert (src/engine/acknowledgements.ts): a page several responders
 * got is not worked twice, and a page silenced by nobody on the team shows — an acknowledgement
 * stops the reminders, so a responder's credentials in an intruder's hands would be used for one.
 * Notify tier, once per acknowledgement (a takeover by another responder is a new one), whoever
 * wrote it.
 */
export function buildAcknowledgementNotice(ack: Acknowledgement, ctx: AlertContext): Alert {
  const about = ack.about;
  const what = about ? redact(about.title) : ack.alertId;
  const entity = about ? `, ${about.entity.field}=${redact(about.entity.value)}` : '';
  const span = ack.until === null ? 'while it lasts' : `until ${formatTime(ack.until)}`;
  const query = logsInsightsQuery(about ? redact(about.entity.value) : '');
  return teamNoticeAlert({
    id: stableId('ack', ack.alertId, String(ack.at)),
    ruleId: 'sentinel.acknowledgement',
    title: `${ack.by} has ${ack.alertId}: ${what}`,
    description:
      `${ack.by} acknowledged ${ack.alertId} (${about ? `rule ${about.ruleId}, ${about.tier} tier` : 'an alert the open alerts did not list'}${entity}) ` +
      `at ${formatTime(ack.at)}${ack.reason ? `: ${redact(ack.reason)}` : ''}. Its reminders are silent ${span}; an escalation and its resolution are still told.`,
    entity: { field: 'alert.id', value: ack.alertId },
    at: ack.at,
    window: { from: ack.at, to: ack.until ?? ack.at },
    runbook: 'docs/runbooks/sentinel.acknowledgement.md',
    recommendedActions: [
      `Nothing to do if ${ack.by} is on it; to take it over: npx detect ack add --table <StateTableName> ${ack.alertId}`,
      `If nobody on the team acknowledged it: npx detect ack end --table <StateTableName> ${ack.alertId} (its reminders are told again), then find who wrote it (CloudTrail data events on the state table)`,
    ],
    logsInsightsQuery: query,
    consoleUrl: logsInsightsUrl(ctx.region, [], query, ack.at - LOOK_BACK_MS, ack.at),
  });
}
