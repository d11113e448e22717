import type { SubscriptionPayload } from '../decode/cloudwatch';
import { byTime } from './history';

/**
 * Payloads of one log group as `aws logs filter-log-events --log-group-name G` prints them (the
 * CLI follows every nextToken and writes one document): the demo writes these so the backtest
 * can be tried offline, and tests use them as fixtures.
 */
export function filterLogEventsJson(payloads: readonly SubscriptionPayload[], logGroup: string) {
  const events = payloads
    .filter((p) => p.logGroup === logGroup && p.messageType === 'DATA_MESSAGE')
    .flatMap((p) =>
      p.logEvents.map((e) => ({
        logStreamName: p.logStream,
        timestamp: e.timestamp,
        message: e.message,
        ingestionTime: e.timestamp + 200,
        eventId: e.id,
      })),
    )
    .sort(byTime);
  const streams = [...new Set(events.map((e) => e.logStreamName))].sort();
  return { events, searchedLogStreams: streams.map((logStreamName) => ({ logStreamName, searchedCompletely: true })) };
}

/** A file name for a log group's export (`/sentinel-demo/bastion/sshd` → `sentinel-demo-bastion-sshd.json`). */
export function exportFileName(logGroup: string): string {
  return `${logGroup.replace(/^\/+/, '').replace(/[^\w.-]+/g, '-')}.json`;
}
