import { createHash, type Hash, hash } from 'node:crypto';
import type { SubscriptionPayload } from '../decode/cloudwatch';
import { SkipLedger } from '../decode/skips';
import { joinAuditRecords } from '../parse/auditd';
import type { CompiledSource, LogContext, NormalizeResult, Normalizer } from '../parse/normalize';
import { ParseStats } from '../parse/parse-stats';
import type { Alert, Message } from '../schema/alert';
import { CoreFields, eventTime, type NormalizedEvent } from '../schema/event';
import type { DeliveryNote, Detector } from './detector';
import { GATE_SAMPLE_EVERY, type LineGate, type LineTest } from './line-gate';

export interface PayloadResult {
  /** What the detector decided (see Detector.evaluate). */
  messages: Message[];
  /** The alerts responders are told about (published or digested). */
  alerts: Alert[];
  eventsIn: number;
  eventsProcessed: number;
  /** Lines the line gate left: no rule can match them (src/engine/line-gate.ts). */
  eventsGated: number;
  matchedEvents: number;
  /** Events that met a rule's full condition (see Detector.evaluate). */
  detections: number;
  /** The payload had been processed before (at-least-once delivery): its recorded messages were re-sent. */
  redelivered: boolean;
  /** New terms learned without an alert (see Detector.evaluate). */
  learnedTerms: number;
  /** Rule matches an exception left out (see Detector.evaluate). */
  exceptedEvents: number;
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
  // Two accounts can have the same group and stream names; a payload without an owner keeps its old id.
  let text = payload.owner ? `${payload.owner}\n${payload.logGroup}\n${payload.logStream}` : `${payload.logGroup}\n${payload.logStream}`;
  // One-shot: a Hash object and a call per update cost more than hashing a delivery's few ids. A
  // busy group's thousands of 56-digit ids as one text would be a string in V8's large-object space
  // (page faults for every delivery: see src/decode/json-pieces.ts), so those are hashed in parts.
  let digest: Hash | undefined;
  let n = 0;
  for (const e of payload.logEvents) {
    text += `\n${e.id}`;
    if (++n % IDS_PER_UPDATE === 0) {
      digest = (digest ?? createHash('sha256')).update(text);
      text = '';
    }
  }
  return (digest ? digest.update(text).digest('base64url') : hash('sha256', text, 'base64url')).slice(0, 22);
}

/** Ids hashed per update of a large delivery's batch id (about 30 KB of text). */
const IDS_PER_UPDATE = 512;

/**
 * Normalizes a payload's events; malformed ones are counted in the ledger and skipped, and every
 * normalized event is counted as parsed or unparsed. With a line gate, the lines it leaves (no rule
 * can match them) are added to `gated.lines` instead, one in GATE_SAMPLE_EVERY of them
 * normalized for the parse statistics alone.
 */
export function normalizePayload(
  payload: SubscriptionPayload,
  normalizer: Normalizer,
  skips: SkipLedger,
  parse = new ParseStats(),
  gate?: LineGate,
  gated = { lines: 0 },
): NormalizedEvent[] {
  const events: NormalizedEvent[] = [];
  // A source file's source (or a Lambda function's group) applies to the whole payload; otherwise each line is recognized by content.
  const sourceOf = normalizer.lineSources(payload.logGroup, payload.logStream);
  // One context for the payload, its per-event parts updated in place (normalize keeps no reference).
  const ctx: LogContext = { logGroup: payload.logGroup, logStream: payload.logStream, id: '', timestamp: 0, owner: payload.owner };
  const test = gate?.forPayload(payload.logGroup, payload.logEvents.length, normalizer);
  const sample = test && new GateSample(test, payload.logGroup, parse);
  let left = 0;
  for (const logEvent of payload.logEvents) {
    ctx.id = logEvent.id;
    ctx.timestamp = logEvent.timestamp;
    const source = sourceOf(logEvent.message);
    if (sample?.leaves(logEvent.message, source)) {
      if (left++ % GATE_SAMPLE_EVERY === 0) sample.take(normalizer.normalize(logEvent.message, ctx, source), logEvent.message);
      else sample.standFor();
      continue;
    }
    const result = normalizer.normalize(logEvent.message, ctx, source);
    if (!result.ok) {
      skips.add(result.skip);
      continue;
    }
    events.push(result.event);
    parse.record(payload.logGroup, parsedLine(result, logEvent.message), result.parsed, result.timeFallback);
  }
  sample?.flush();
  if (test !== undefined) gate?.tested(payload.logGroup, payload.logEvents.length, left);
  gated.lines += left;
  if (events.some((e) => e['auditd.serial'] !== undefined)) joinAuditRecords(events);
  return events;
}

/** An unparsed line is reported as the line itself, not the container runtime's wrapper around it. */
function parsedLine(result: Extract<NormalizeResult, { ok: true }>, message: string): string {
  return result.parsed ? message : String(result.event['event.original'] ?? message);
}

/**
 * The gate's test of a payload's lines, and its sample of the lines it leaves: each sampled line counts in the parse statistics
 * for itself and the left lines after it, up to the next sample. A sampled line that does not
 * normalize (malformed) is not counted: a left line is not the detector's, as a line CloudWatch's
 * filter drops is not.
 */
class GateSample {
  private line: { text: string; parsed: boolean; timeFallback: boolean } | undefined;
  private lines = 0;

  constructor(
    private readonly test: LineTest,
    private readonly logGroup: string,
    private readonly parse: ParseStats,
  ) {}

  /** Whether the gate leaves this line, which `source` reads: no rule can match it. */
  leaves(message: string, source: CompiledSource): boolean {
    return !this.test.passes(message, source);
  }

  take(result: NormalizeResult, message: string): void {
    this.flush();
    if (result.ok) this.line = { text: parsedLine(result, message), parsed: result.parsed, timeFallback: result.timeFallback };
    this.lines = 1;
  }

  standFor(): void {
    this.lines++;
  }

  flush(): void {
    if (this.line) this.parse.record(this.logGroup, this.line.text, this.line.parsed, this.line.timeFallback, this.lines);
    this.line = undefined;
    this.lines = 0;
  }
}

/**
 * Decode → normalize → evaluate for one CloudWatch Logs payload. CONTROL_MESSAGE payloads carry no events.
 * `arrivedAt`: when the payload entered the pipeline where its transport says (a hub's Kinesis
 * record): how late it arrives is measured from that rather than from its events' times. `gate`:
 * the lines no rule can match are left before they are normalized (src/engine/line-gate.ts).
 */
export async function processPayload(
  payload: SubscriptionPayload,
  normalizer: Normalizer,
  detector: Detector,
  options: { arrivedAt?: number | undefined; gate?: LineGate | undefined } = {},
): Promise<PayloadResult> {
  const skips = new SkipLedger();
  const parse = new ParseStats();
  if (payload.messageType === 'CONTROL_MESSAGE') return payloadResult(0, [], skips, parse, undefined);
  const gated = { lines: 0 };
  const events = normalizePayload(payload, normalizer, skips, parse, options.gate, gated);
  const decided = await detector.evaluate(batchIdOf(payload), events, deliveryOf(payload, options.arrivedAt));
  return { ...payloadResult(payload.logEvents.length, events, skips, parse, decided), eventsGated: gated.lines };
}

/** The payload as a delivery: its group, account, newest CloudWatch time and, where known, when it entered the pipeline. */
function deliveryOf(payload: SubscriptionPayload, arrivedAt?: number): DeliveryNote {
  let newest = Number.NEGATIVE_INFINITY;
  for (const e of payload.logEvents) if (e.timestamp > newest) newest = e.timestamp;
  return { logGroup: payload.logGroup, owner: payload.owner, newestEventAt: newest, ...(arrivedAt === undefined ? {} : { arrivedAt }) };
}

/** What a replay does around each run of `processPayloadInSpans`. */
export interface SpanHooks {
  /** Before a run is evaluated, with the time of its first event (a replay catches its sweeper up to it). */
  before: (runStart: number) => Promise<void>;
  /** After each run, with its result. */
  after: (result: PayloadResult) => Promise<void>;
}

/**
 * `processPayload` for replays of files: the payload's events cut, in their order, into runs of
 * at most `spanMs` of event time, each evaluated as its own batch (its id a digest of its own
 * event ids, so a replay run twice is still idempotent), with the hooks around each — where the
 * replay sweeps. CloudWatch delivers minutes of a stream per payload and the sweeper runs every
 * five minutes; 500 lines of a quiet syslog file can span weeks, and evaluated as one batch their
 * conditions could not resolve between them, and review-tier entries older than the late-arrival
 * grace when the sweep came were lost.
 */
export async function processPayloadInSpans(
  payload: SubscriptionPayload,
  normalizer: Normalizer,
  detector: Detector,
  spanMs: number,
  hooks: SpanHooks,
): Promise<void> {
  if (payload.messageType === 'CONTROL_MESSAGE') return hooks.after(payloadResult(0, [], new SkipLedger(), new ParseStats(), undefined));
  const skips = new SkipLedger();
  const parse = new ParseStats();
  const events = normalizePayload(payload, normalizer, skips, parse);
  // Every run of the payload is the same delivery.
  const delivery = deliveryOf(payload);
  const runs = timeRuns(events, spanMs);
  if (runs.length <= 1) {
    const first = events[0];
    if (first) await hooks.before(eventTime(first));
    return hooks.after(
      payloadResult(payload.logEvents.length, events, skips, parse, await detector.evaluate(batchIdOf(payload), events, delivery)),
    );
  }
  // The payload's skips, parse counts and skipped events go with its first run, so totals add up.
  let eventsIn = payload.logEvents.length - events.length;
  let ledger = skips;
  let stats = parse;
  for (const run of runs) {
    await hooks.before(eventTime(run[0] ?? {}));
    const ids = run.map((e) => ({ id: String(e[CoreFields.eventId] ?? '') }));
    const decided = await detector.evaluate(batchIdOf({ ...payload, logEvents: ids }), run, delivery);
    await hooks.after(payloadResult(eventsIn + run.length, run, ledger, stats, decided));
    eventsIn = 0;
    ledger = new SkipLedger();
    stats = new ParseStats();
  }
}

/** Events in their order, cut wherever one lies more than `spanMs` from the first of its run (either way). */
function timeRuns(events: NormalizedEvent[], spanMs: number): NormalizedEvent[][] {
  const runs: NormalizedEvent[][] = [];
  let run: NormalizedEvent[] = [];
  let start = 0;
  for (const e of events) {
    const t = eventTime(e);
    if (run.length > 0 && Math.abs(t - start) > spanMs) {
      runs.push(run);
      run = [];
    }
    if (run.length === 0) start = t;
    run.push(e);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** A run's result: its events' counts and latest time, with what the detector decided (none for a control message). */
function payloadResult(
  eventsIn: number,
  events: readonly NormalizedEvent[],
  skips: SkipLedger,
  parse: ParseStats,
  decided: Awaited<ReturnType<Detector['evaluate']>> | undefined,
): PayloadResult {
  for (const s of decided?.skips ?? []) skips.add(s);
  let latestEventTime = Number.NEGATIVE_INFINITY;
  for (const e of events) latestEventTime = Math.max(latestEventTime, eventTime(e));
  return {
    messages: decided?.messages ?? [],
    alerts: decided?.alerts ?? [],
    eventsIn,
    eventsProcessed: events.length,
    eventsGated: 0,
    matchedEvents: decided?.matchedEvents ?? 0,
    detections: decided?.detections ?? 0,
    redelivered: decided?.redelivered ?? false,
    learnedTerms: decided?.learnedTerms ?? 0,
    exceptedEvents: decided?.exceptedEvents ?? 0,
    skips,
    parse,
    latestEventTime,
  };
}
