import type { ExceptionSpec } from '../engine/exceptions';
import type { Alert } from '../schema/alert';
import { formatTime } from '../schema/duration';
import { type AlertContext, stableId } from './build';
import { tableArgs } from './cloud';
import { logsInsightsQuery, logsInsightsUrl } from './insights';
import { redact } from './redact';
import { teamNoticeAlert } from './team-notice';

/**
 * The team is told when an exception is added (src/engine/exceptions.ts): a rule told to leave an
 * address or a user alone is a blind spot, and a blind spot nobody announced is what an intruder
 * with a responder's credentials would add first. Notify tier, once per exception, whoever or
 * whatever wrote it (the command, or a write straight to the table).
 */
export function buildExceptionNotice(spec: ExceptionSpec, ctx: AlertContext): Alert {
  const span = spec.until === null ? 'until it is ended' : `until ${formatTime(spec.until)}`;
  const values = spec.values.join(', ');
  // What the exception hides, to look at by hand: lines holding its first exact value (choose the log groups in the console).
  const exact = spec.values.find((v) => !v.includes('/'));
  const query = logsInsightsQuery(exact ?? '');
  return teamNoticeAlert({
    id: stableId('exc', spec.id),
    ruleId: 'sentinel.exception',
    title: `Exception ${spec.id} by ${spec.createdBy}: ${spec.rules.join(', ')} leave ${spec.field} ${values} out ${span}`,
    description:
      `A responder's exception: from ${formatTime(spec.from)} ${span}, the rules ${spec.rules.join(', ')} do not count events whose ` +
      `${spec.field} is ${values}. No alert of theirs opens for it, and nothing it does there feeds an incident. Reason given: ${redact(spec.reason)}`,
    entity: { field: 'exception.id', value: spec.id },
    at: spec.createdAt,
    window: { from: spec.from, to: spec.until ?? spec.from },
    runbook: 'docs/runbooks/sentinel.exception.md',
    recommendedActions: [
      `Confirm with ${spec.createdBy} that the exception is wanted, and that ${span} is as short as it can be`,
      `If nobody asked for it: npx detect exception end ${tableArgs(ctx.stateTable)} ${spec.id}, then find who wrote it (CloudTrail data events on the state table)`,
    ],
    logsInsightsQuery: query,
    consoleUrl: logsInsightsUrl(ctx.region, [], query, spec.from, spec.until ?? spec.from),
  });
}
