import { createHash } from 'node:crypto';
import type { SubscriptionPayload } from '../decode/cloudwatch';
import { SkipLedger } from '../decode/skips';
import { joinAuditRecords } from '../parse/auditd';
import type { LogContext, Normalizer } from '../parse/normalize';
import { ParseStats } from '../parse/parse-stats';
import type { Alert, Message } from '../schema/alert';
import { eventTime, type NormalizedEvent } from '../schema/event';
import type { Detector } from './detector';

export interface PayloadResult {
  /** What the detector decided (see Detector.evaluate). */
  messages: Message[];
  /** The alerts responders are told about (published or digested). */
  alerts: Alert[];
  eventsIn: number;
  eventsProcessed: number;
  matchedEvents: number;
  /** Events that met a rule's full condition (see Detector.evaluate). */
  detections: number;
  /** The payload had been processed before (at-least-once delivery): its recorded messages were re-sent. */
  redelivered: boolean;
  skips: SkipLedger;
  /** Parsed / unparsed per log group, with the shapes no parser understood. */
  parse: ParseStats;
  /** The newest event time in the payload (the replay's sweep clock); -Infinity when it had none. */
  latestEventTime: number;
}

/**
 * Batch id: a digest of the log group, stream and every event id. CloudWatch event ids are
 * unique, so a redelivered payload has the same id: the detector finds its receipt and re-sends
 * the recorded alerts, and any counter write it repeats is a no-op.
 */
export function batchIdOf(
  payload: Pick<SubscriptionPayload, 'owner' | 'logGroup' | 'logStream'> & { logEvents: readonly { id: string }[] },
): string {
  const h = createHash('sha256');
  // Two accounts can have the same group and stream names; a payload without an owner keeps its old id.
  if (payload.owner) h.update(payload.owner).update('\n');
  // One update of the whole text: two native calls per event cost twice the hashing itself.
  let text = `${payload.logGroup}\n${payload.logStream}`;
  for (const e of payload.logEvents) text += `\n${e.id}`;
  return h.update(text).digest('base64url').slice(0, 22);
}

/**
 * Normalizes a payload's events; malformed ones are counted in the ledger and skipped, and every
 * normalized event is counted as parsed or unparsed.
 */
export function normalizePayload(
  payload: SubscriptionPayload,
  normalizer: Normalizer,
  skips: SkipLedger,
  parse = new ParseStats(),
): NormalizedEvent[] {
  const events: NormalizedEvent[] = [];
  // A source file's source (or a Lambda function's group) applies to the whole payload; otherwise each line is recognized by content.
  const explicit = normalizer.groupSource(payload.logGroup);
  // One context for the payload, its per-event parts updated in place (normalize keeps no reference).
  const ctx: LogContext = { logGroup: payload.logGroup, logStream: payload.logStream, id: '', timestamp: 0, owner: payload.owner };
  for (const logEvent of payload.logEvents) {
    ctx.id = logEvent.id;
    ctx.timestamp = logEvent.timestamp;
    const result = normalizer.normalize(logEvent.message, ctx, explicit ?? normalizer.sourceFor(payload.logGroup, logEvent.message));
    if (!result.ok) {
      skips.add(result.skip);
      continue;
    }
    events.push(result.event);
    // An unparsed line is reported as the line itself, not the container runtime's wrapper around it.
    const line = result.parsed ? logEvent.message : String(result.event['event.original'] ?? logEvent.message);
    parse.record(payload.logGroup, line, result.parsed, result.timeFallback);
  }
  if (events.some((e) => e['auditd.serial'] !== undefined)) joinAuditRecords(events);
  return events;
}

/** Decode → normalize → evaluate for one CloudWatch Logs payload. CONTROL_MESSAGE payloads carry no events. */
export async function processPayload(payload: SubscriptionPayload, normalizer: Normalizer, detector: Detector): Promise<PayloadResult> {
  const skips = new SkipLedger();
  const parse = new ParseStats();
  if (payload.messageType === 'CONTROL_MESSAGE') {
    return {
      messages: [],
      alerts: [],
      eventsIn: 0,
      eventsProcessed: 0,
      matchedEvents: 0,
      detections: 0,
      redelivered: false,
      skips,
      parse,
      latestEventTime: Number.NEGATIVE_INFINITY,
    };
  }
  const events = normalizePayload(payload, normalizer, skips, parse);
  const {
    messages,
    alerts,
    matchedEvents,
    detections,
    redelivered,
    skips: ruleSkips,
  } = await detector.evaluate(batchIdOf(payload), events);
  for (const s of ruleSkips) skips.add(s);
  let latestEventTime = Number.NEGATIVE_INFINITY;
  for (const e of events) latestEventTime = Math.max(latestEventTime, eventTime(e));
  return {
    messages,
    alerts,
    eventsIn: payload.logEvents.length,
    eventsProcessed: events.length,
    matchedEvents,
    detections,
    redelivered,
    skips,
    parse,
    latestEventTime,
  };
}
