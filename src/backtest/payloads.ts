import type { ReplayItem } from '../cli/replay-input';
import type { SubscriptionPayload } from '../decode/cloudwatch';
import type { HistoryEvent } from './history';

/** How CloudWatch Logs delivers a subscription: per log stream, a batch every few seconds. */
export interface DeliveryShape {
  maxEvents: number;
  spanMs: number;
}
export const DELIVERY: DeliveryShape = { maxEvents: 200, spanMs: 5_000 };

interface Open {
  payload: SubscriptionPayload;
  started: number;
}

/**
 * Events in time order → subscription payloads as CloudWatch Logs would have delivered them:
 * per (group, stream), a payload closes after `spanMs` of event time or `maxEvents` events, and
 * payloads are emitted in order of their first event — so the engine sees the history the way
 * the deployed detector would have seen it live.
 */
export async function* asPayloads(
  events: AsyncIterable<HistoryEvent>,
  /** The account that owns each log group (a payload's `owner`), where known. */
  owners: Readonly<Record<string, string>> | ((logGroup: string) => string | undefined) = {},
  shape: DeliveryShape = DELIVERY,
): AsyncGenerator<ReplayItem> {
  const open = new Map<string, Open>();
  // Closed payloads wait here until no open payload started earlier, so output is in start order.
  const closed: { started: number; seq: number; payload: SubscriptionPayload }[] = [];
  let seq = 0;
  const drain = function* (all: boolean): Generator<ReplayItem> {
    let earliestOpen = Number.POSITIVE_INFINITY;
    for (const o of open.values()) earliestOpen = Math.min(earliestOpen, o.started);
    closed.sort((a, b) => a.started - b.started || a.seq - b.seq);
    while (closed.length > 0 && (all || (closed[0]?.started ?? 0) < earliestOpen)) {
      const next = closed.shift();
      if (next) yield { kind: 'payload', payload: next.payload };
    }
  };
  let clock = Number.NEGATIVE_INFINITY;
  let n = 0;
  for await (const e of events) {
    clock = Math.max(clock, e.timestamp);
    const key = `${e.owner ?? ''}\u0000${e.logGroupName}\u0000${e.logStreamName}`;
    let current = open.get(key);
    if (current && (e.timestamp - current.started > shape.spanMs || current.payload.logEvents.length >= shape.maxEvents)) {
      closed.push({ started: current.started, seq: seq++, payload: current.payload });
      open.delete(key);
      current = undefined;
    }
    if (!current) {
      const owner = e.owner ?? (typeof owners === 'function' ? owners(e.logGroupName) : owners[e.logGroupName]);
      current = {
        started: e.timestamp,
        payload: {
          ...(owner ? { owner } : {}),
          logGroup: e.logGroupName,
          logStream: e.logStreamName,
          subscriptionFilters: ['sentinel-backtest'],
          messageType: 'DATA_MESSAGE',
          logEvents: [],
        },
      };
      open.set(key, current);
    }
    current.payload.logEvents.push({ id: e.eventId, timestamp: e.timestamp, message: e.message });
    // Streams that went quiet: their payload is complete once event time has moved past its span.
    if (++n % 64 === 0) {
      for (const [k, o] of open) {
        if (clock - o.started > shape.spanMs) {
          closed.push({ started: o.started, seq: seq++, payload: o.payload });
          open.delete(k);
        }
      }
    }
    yield* drain(false);
  }
  for (const o of open.values()) closed.push({ started: o.started, seq: seq++, payload: o.payload });
  open.clear();
  yield* drain(true);
}
