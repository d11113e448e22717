import { CoreFields, type NormalizedEvent } from '../schema/event';
import { addressesToIps } from './address-fields';
import type { Calendar } from './calendar';
import { criWrapper } from './container-wrappers';
import { writeDeliveryFields } from './delivery-fields';
import { entriesFor } from './field-maps';
import { FlowLogParser } from './flow-log-format';
import type { CompiledSource, LogContext, NormalizeResult } from './normalize';
import { epochTextToMs, plausibleLineTime } from './timestamp';

/**
 * VPC flow records' own way through normalization, taken first by a source that reads nothing
 * else (Normalizer.read). Flow logs are most of an AWS account's log volume, and most of the
 * general way's steps are for lines of other kinds: control characters and ANSI colours, JSON,
 * a container runtime's wrapper, multi-line stack traces, field maps, a log level, a URL, an HTTP
 * status, a forwarded-for header, a time in one of six shapes. A record that a strict flow format
 * accepted can hold none of them — every value is checked to be of its field — so the lane does
 * only what such a record needs, in the general way's order: the same event, field for field
 * (test/flow-log-format.test.ts compares the two ways on the benchmark's records, strict custom
 * formats and generated lines, damaged, wrapped or coloured). Normalizing the benchmark's
 * records took 1.95–2.2 µs each this way and 2.5 the general way (each in a process of its own).
 *
 * A line no format accepts returns undefined and goes the general way, which reads it exactly as
 * before (an ANSI-coloured record, a wrapped one, a line of another kind in a flow log group).
 */

/** Fields the general way's finishing reads to set others: a source whose records may hold one takes the general way. */
const FINISH_INPUTS: readonly string[] = [
  CoreFields.message,
  'log.level',
  'error.stack_trace',
  'url.original',
  'url.path',
  'http.response.status_code',
  'http.request.x_forwarded_for',
  CoreFields.repeatCount,
];

/** What of a compiled source decides whether its lines can take the lane. */
type LaneCandidate = Pick<CompiledSource, 'parsers' | 'fieldMap' | 'valueMap' | 'lookups' | 'fields' | 'format' | 'derives'>;

/**
 * The formats a source's lines take the lane with, or undefined: every parser is a strict flow
 * format, no field map entry, value map, lookup or constant field can apply to its records, and
 * neither they nor its derivation (`derives`, what a built-in source sets from other fields) can
 * hold a field the general way's finishing reads.
 */
export function flowLaneOf(source: LaneCandidate): readonly FlowLogParser[] | undefined {
  const flows = source.parsers.filter((p): p is FlowLogParser => p instanceof FlowLogParser && p.strict);
  if (flows.length === 0 || flows.length !== source.parsers.length || source.format === 'json') return undefined;
  if (source.valueMap.size > 0 || source.lookups.length > 0 || source.fields.length > 0) return undefined;
  if (FINISH_INPUTS.some((f) => source.derives?.includes(f))) return undefined;
  for (const flow of flows) {
    if (entriesFor(source.fieldMap, flow.writes).length > 0) return undefined;
    if (FINISH_INPUTS.some((f) => flow.writes.has(f))) return undefined;
  }
  return flows;
}

/** A record's event, as the general way answers for a line it understood. */
type LaneResult = Extract<NormalizeResult, { ok: true }>;

/**
 * Fields a record's event may get after its start (flowRecordStart) and before rules read it: its
 * time and calendar, its addresses as IPs, its delivery and account (finishRecord); a default
 * service and an account set aside (Normalizer.normalize); a Keycloak user's name (the detector,
 * before matching). Any other field holds — or lacks — at the start what the rules will read
 * (test/flow-gate.test.ts compares the two on every kind of record).
 */
export const FIELDS_AFTER_START: ReadonlySet<string> = new Set([
  CoreFields.timestamp,
  'event.hour_utc',
  'event.weekday_utc',
  'event.hour_local',
  'event.weekday_local',
  'source.ip',
  'source.domain',
  'destination.ip',
  'destination.domain',
  CoreFields.logGroup,
  CoreFields.logStream,
  CoreFields.eventId,
  CoreFields.owner,
  'cloud.account.id',
  'cloud.account.claimed_id',
  'service.name',
  'user.name',
]);

/**
 * What of a record's start its reader needs (src/engine/flow-gate.ts reads a few fields of every
 * record): those `fields` of the format's values (with the constants), and the source's derivation
 * only when `derive` (then `fields` holds what it reads).
 */
export interface StartPart {
  fields: ReadonlySet<string>;
  derive: boolean;
}

/**
 * A record's event as far as the line alone makes it — its values and its source's derivation
 * (its message, the line, is written with its time: fields keep the general way's order) — or
 * undefined when no format accepts the line (or one throws: the general way then reads the line
 * and reports that as it does). `message` is the line without its carriage return and within the
 * size limit; `openWrapper` as the general way has it. With `part`, only that part of the start
 * (the line is checked whole all the same: a line no format accepts has no start either way).
 */
export function flowRecordStart(
  message: string,
  logGroup: string,
  flows: readonly FlowLogParser[],
  derive: ((event: NormalizedEvent, logGroup: string) => void) | undefined,
  openWrapper: boolean,
  part?: StartPart,
): NormalizedEvent | undefined {
  // The general way opens a container runtime's wrapper first (no strict format accepts one).
  if (openWrapper && criWrapper(message)) return undefined;
  try {
    for (const flow of flows) {
      if (part) {
        const event = flow.parseOnly(message, part.fields);
        if (!event) continue;
        if (part.derive) derive?.(event, logGroup);
        return event;
      }
      const outcome = flow.parse(message);
      if (!outcome) continue;
      const event: NormalizedEvent = outcome.fields;
      event['event.dataset'] ??= outcome.pattern;
      derive?.(event, logGroup);
      return event;
    }
  } catch {
    // The general way reads the line again, from its text, and reports what threw as it does.
  }
  return undefined;
}

/** The record's event, as the general way answers for a line it understood; undefined as flowRecordStart. */
export function readFlowRecord(
  message: string,
  ctx: LogContext,
  flows: readonly FlowLogParser[],
  derive: ((event: NormalizedEvent, logGroup: string) => void) | undefined,
  calendar: Calendar,
  maxAhead: number | undefined,
  openWrapper: boolean,
): LaneResult | undefined {
  const event = flowRecordStart(message, ctx.logGroup, flows, derive, openWrapper);
  if (!event) return undefined;
  return { ok: true, event, parsed: true, timeFallback: !finishRecord(event, message, ctx, calendar, maxAhead) };
}

/** The general way's finishing (normalize.ts, finish) less the steps whose fields a record cannot hold. */
function finishRecord(event: NormalizedEvent, message: string, ctx: LogContext, calendar: Calendar, maxAhead: number | undefined): boolean {
  const start = event[CoreFields.timestamp];
  const ts =
    maxAhead === undefined
      ? undefined
      : plausibleLineTime(typeof start === 'string' ? epochTextToMs(start) : undefined, ctx.timestamp, maxAhead);
  const time = ts ?? ctx.timestamp;
  event[CoreFields.timestamp] = time;
  calendar.apply(event, time, ctx.timestamp);
  event.message = message;
  event['event.original'] = message;
  addressesToIps(event);
  writeDeliveryFields(event, ctx);
  return ts !== undefined || maxAhead === undefined;
}
