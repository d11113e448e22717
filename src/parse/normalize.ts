import type { Skip } from '../decode/skips';
import { CoreFields, type FieldValue, type NormalizedEvent, textValue } from '../schema/event';
import type { SourceDefinition } from '../schema/rule';
import { compileAccessLogFormat } from './access-log-format';
import { addressesToIps } from './address-fields';
import { withoutAnsi } from './ansi';
import { deliveredBy, type Provenance } from './aws/builtin-source';
import { dropAwsClaims } from './aws-claims';
import { AWS_JSON_MARKERS_RE, BUILTIN_SOURCES } from './aws-sources';
import { Calendar } from './calendar';
import { type ContainerWrapper, criWrapper, wrapperOf } from './container-wrappers';
import { type Delivery, refuseForeignAccount, writeDeliveryFields } from './delivery-fields';
import { newEvent, newOpenEvent } from './event-record';
import { exceptionType } from './exception-type';
import { DEFAULT_FIELD_MAP, fieldMapFor, LEVEL_NAMES, mapFields } from './field-maps';
import { boundedJson, flattenInto } from './flatten';
import { flowLaneOf, flowRecordStart, readFlowRecord, type StartPart } from './flow-lane';
import type { FlowLogParser } from './flow-log-format';
import { TrustedProxies } from './forwarded-for';
import { globToRegExp } from './glob';
import { type JournalRecord, journalRecord } from './journald';
import { readKeycloakJson } from './keycloak';
import { compileParsers, type LineParser, type ParseOutcome, UnknownParserError } from './line-parser';
import { MAX_AHEAD_OF_DELIVERY_MS, parseTimestamp, plausibleLineTime } from './timestamp';
import { maskTypedPassword } from './typed-password';

/** Log events larger than this are skipped (CloudWatch caps events at 1 MB; real lines are far smaller). */
export const MAX_MESSAGE_CHARS = 256 * 1024;
// Control characters other than tab, newline, carriage return, ESC and GS (auditd's enriched
// format separates its interpreted fields with GS) mark binary data.
const BINARY_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001A\u001C\u001E\u001F]/;
/** Any control character but tab, newline and carriage return: binary data, colour codes or GS. */
const CONTROL_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;
/** Whole objects kept as JSON text (CloudTrail requestParameters) are cut here. */
const MAX_KEPT_JSON = 8192;

export interface CompiledSource {
  name: string;
  /** The `logGroups` globs as written, for explanations. */
  globs: string[];
  logGroups: RegExp[];
  format: 'auto' | 'json' | 'text';
  parsers: LineParser[];
  fieldMap: [string, string][];
  /** Per set of fields a text pattern writes (ParseOutcome.writes), the field map entries that can apply. */
  fieldMapsByWrites: WeakMap<ReadonlySet<string>, [string, string][]>;
  valueMap: Map<string, Map<string, FieldValue>>;
  lookups: { from: string; to: string; values: Map<string, FieldValue> }[];
  fields: [string, FieldValue][];
  timezone: string | undefined;
  /** Whose time the event takes in the deployed detector (SourceDefinition `time`). */
  time: 'line' | 'delivery';
  /** Built-in AWS sources: is this line of my kind (content recognition)? */
  recognize?: (line: string) => boolean;
  /** Built-in AWS sources: fields a map cannot express (a user from an ARN, a function from its group). */
  derive?: (event: NormalizedEvent, logGroup: string) => void;
  /** The fields `derive` may set. */
  derives?: readonly string[];
  /** The fields `derive` reads, when its built-in says (BuiltinSource.deriveReads). */
  deriveReads?: readonly string[];
  /** Top-level JSON keys also kept whole, as (bounded) JSON text. */
  keepJson?: string[];
  /** Built-in AWS sources: where the service writes its records, when AWS fixes it (recognized lines elsewhere are not believed). */
  deliveredIn?: Provenance;
  /** The default source, for a line that looked like this built-in's but arrived where the service does not write (FORGED_AS). */
  forgedAs?: string;
  /** Whose X-Forwarded-For to believe (see forwarded-for.ts). */
  proxies: TrustedProxies;
  /** Its flow formats, when it reads nothing else and its records can take their own way (./flow-lane.ts). */
  flowLane?: readonly FlowLogParser[];
}

/** A line's delivery (its log group, stream, event id and owner account), and when CloudWatch received it. */
export interface LogContext extends Delivery {
  /** CloudWatch event timestamp: the event time when the line has none, and the syslog year reference. */
  timestamp: number;
}

export type NormalizeResult =
  | {
      ok: true;
      event: NormalizedEvent;
      /** A parser or field map understood the line; false when only the raw message (and perhaps a syslog header) is known. */
      parsed: boolean;
      /** The line carried no usable time: the CloudWatch timestamp was used. */
      timeFallback: boolean;
    }
  | { ok: false; skip: Skip };

export { UnknownParserError };

export function compileSource(def: SourceDefinition['source']): CompiledSource {
  const builtin = def.builtin ? BUILTIN_SOURCES.find((b) => b.definition.name === def.builtin) : undefined;
  const spec = builtin ? mergeBuiltin(builtin.definition, def) : def;
  const compiled: CompiledSource = {
    name: def.name,
    globs: def.logGroups,
    logGroups: def.logGroups.map(globToRegExp),
    format: spec.format,
    parsers: compileParsers(...withAccessLogFormat(spec), def.name, spec.flowLogFormat),
    fieldMap: [...Object.entries(spec.fieldMap), ...DEFAULT_FIELD_MAP],
    fieldMapsByWrites: new WeakMap(),
    valueMap: new Map(Object.entries(spec.valueMap).map(([field, m]) => [field, new Map(Object.entries(m))])),
    lookups: spec.lookups.map((l) => ({ from: l.from, to: l.to, values: new Map(Object.entries(l.values)) })),
    fields: Object.entries(spec.fields),
    timezone: spec.timezone,
    time: spec.time ?? 'line',
    proxies: spec.trustedProxies ? new TrustedProxies(spec.trustedProxies) : DEFAULT_PROXIES,
    ...(builtin
      ? {
          recognize: builtin.recognize,
          derive: builtin.derive,
          derives: builtin.derives,
          ...(builtin.deriveReads ? { deriveReads: builtin.deriveReads } : {}),
          ...(builtin.keepJson ? { keepJson: builtin.keepJson } : {}),
          ...(builtin.deliveredIn ? { deliveredIn: builtin.deliveredIn } : {}),
        }
      : {}),
  };
  const flowLane = flowLaneOf(compiled);
  return flowLane ? { ...compiled, flowLane } : compiled;
}

const DEFAULT_PROXIES = new TrustedProxies();

/** A source's parsers and custom parsers, with its API Gateway access log format first when it declares one. */
function withAccessLogFormat(spec: SourceDefinition['source']): [string[], SourceDefinition['source']['customParsers']] {
  if (spec.accessLogFormat === undefined) return [spec.parsers, spec.customParsers];
  const compiled = compileAccessLogFormat(spec.accessLogFormat);
  if (!compiled.ok) throw new Error(`accessLogFormat: ${compiled.error}`);
  const own = { name: 'apigateway_format', pattern: compiled.pattern, fields: {} };
  return [
    [own.name, ...spec.parsers],
    [own, ...spec.customParsers],
  ];
}

/** A source file naming a built-in: the built-in's parsing, plus the file's own maps and fields on top. */
function mergeBuiltin(builtin: SourceDefinition['source'], own: SourceDefinition['source']): SourceDefinition['source'] {
  return {
    ...builtin,
    parsers: [...builtin.parsers, ...own.parsers],
    customParsers: own.customParsers,
    fieldMap: { ...own.fieldMap, ...builtin.fieldMap },
    valueMap: { ...builtin.valueMap, ...own.valueMap },
    lookups: [...builtin.lookups, ...own.lookups],
    fields: { ...builtin.fields, ...own.fields },
    timezone: own.timezone ?? builtin.timezone,
    ...(own.time !== undefined ? { time: own.time } : {}),
    ...(own.trustedProxies !== undefined ? { trustedProxies: own.trustedProxies } : {}),
    ...(own.flowLogFormat !== undefined ? { flowLogFormat: own.flowLogFormat } : {}),
    ...(own.accessLogFormat !== undefined ? { accessLogFormat: own.accessLogFormat } : {}),
  };
}

/** The built-in AWS sources, tried by content when no source file lists a log group. */
export const RECOGNIZED_SOURCES: readonly CompiledSource[] = BUILTIN_SOURCES.map((b) =>
  compileSource({ ...b.definition, builtin: b.definition.name as 'cloudtrail' }),
);

function recognizedSource(name: string): CompiledSource {
  const found = RECOGNIZED_SOURCES.find((s) => s.name === name);
  if (!found) throw new Error(`no built-in source '${name}'`);
  return found;
}

/**
 * Log groups AWS names after the service that writes them: Lambda writes a function's logs to
 * `/aws/lambda/<function>` unless it is given a log group of its own, and RDS exports a
 * database's logs to `/aws/rds/instance|cluster/<id>/<log>`. Every line of such a group is that
 * service's, whatever it holds (a function's own JSON logger, a database's multi-line statement).
 */
const SERVICE_GROUPS: readonly { prefix: string; source: CompiledSource; reason: string }[] = [
  { prefix: '/aws/lambda/', source: recognizedSource('lambda'), reason: "a Lambda function's log group (/aws/lambda/…)" },
  { prefix: '/aws/rds/', source: recognizedSource('rds'), reason: "an RDS or Aurora database's log group (/aws/rds/…)" },
];

/** The AWS service's source for a log group named after it, whatever its lines hold. */
function serviceGroup(logGroup: string): { source: CompiledSource; reason: string } | undefined {
  return SERVICE_GROUPS.find((g) => logGroup.startsWith(g.prefix));
}

/** The built-in source (its name) every line of a log group named after an AWS service gets, when no source file names the group. */
export function serviceGroupBuiltin(logGroup: string): string | undefined {
  return serviceGroup(logGroup)?.source.name;
}

/** The text parsers tried on log groups no source file claims. */
export const DEFAULT_PARSERS: readonly string[] = [
  'openssh',
  'paramiko',
  'laravel',
  'nginx_combined',
  'nginx_error',
  'apache_error',
  'keycloak',
  'python_logging',
  'spring_boot',
  'ssh_client',
];

/** Source for log groups no source file claims: JSON or any built-in text shape. */
export const DEFAULT_SOURCE: CompiledSource = compileSource({
  name: 'default',
  description: 'any JSON, or any built-in text format',
  logGroups: ['*'],
  format: 'auto',
  parsers: [...DEFAULT_PARSERS],
  customParsers: [],
  lookups: [],
  fieldMap: {},
  valueMap: {},
  fields: {},
});

/**
 * Set on a line that looked like an AWS service's record (CloudTrail's, an EventBridge finding's,
 * a Kubernetes audit event, a WAF log, a flow record) but arrived where the service does not write:
 * read as the app's, it names the service it imitated, for integrity.forged_aws_record.
 */
export const FORGED_AS = 'log.forged_as';

const forgedSources = new Map<string, CompiledSource>();

/** The default source, marking what it reads as an imitation of `name`'s records. */
function forgedAs(name: string): CompiledSource {
  let source = forgedSources.get(name);
  if (!source) {
    source = { ...DEFAULT_SOURCE, forgedAs: name };
    forgedSources.set(name, source);
  }
  return source;
}

/**
 * Turns raw CloudWatch log events into normalized events: JSON lines are flattened and renamed
 * through the source's field map; text lines go through its named parsers; anything else is
 * kept as a `message`-only event (counted as unparsed). Binary, oversized and truncated-JSON
 * lines are skips, and so is any line that makes a parser throw: one hostile line never fails
 * the batch it arrived in.
 */
export class Normalizer {
  private readonly sources: CompiledSource[];
  private readonly explicit = new Map<string, CompiledSource | null>();
  /** Per log group, the built-in source its lines were last recognized as. */
  private readonly recognized = new Map<string, CompiledSource>();
  /** Per log group, the built-in source its lines looked like where the service does not write (BuiltinSource.deliveredIn). */
  private readonly unbelieved = new Map<string, CompiledSource>();

  private readonly calendar: Calendar;
  private readonly maxAhead: number;
  private readonly realDelivery: boolean;
  private readonly accountsFor: ReadonlySet<string> | undefined;
  /** Whether flow records take their own way (./flow-lane.ts); off only to compare it with the general way. */
  private readonly useFlowLane: boolean;

  /**
   * `timeZone`: the deployment's (config `timeZone`), for `event.hour_local` and `event.weekday_local`; UTC unless set.
   * `realDelivery`: delivery times are CloudWatch's (the detector function), so a line's time more
   * than a day ahead of its delivery is not used (src/parse/timestamp.ts, plausibleLineTime), and
   * a source with `time: delivery` takes its events' delivery times.
   * `flowLane: false`: flow records take the general way too (for tests comparing the two).
   * `accountsFor`: the accounts whose log groups may hold lines about other accounts (the stack's
   * own, and those holding an organization trail); a line another account delivered is about that
   * account whatever it names (refuseForeignAccount). Unset: every account's (local runs).
   */
  constructor(
    definitions: readonly SourceDefinition[] = [],
    options: { timeZone?: string; realDelivery?: boolean; flowLane?: boolean; accountsFor?: ReadonlySet<string> } = {},
  ) {
    this.sources = definitions.map((d) => compileSource(d.source));
    this.accountsFor = options.accountsFor;
    this.useFlowLane = options.flowLane !== false;
    this.calendar = new Calendar(options.timeZone);
    this.maxAhead = options.realDelivery ? MAX_AHEAD_OF_DELIVERY_MS : Number.POSITIVE_INFINITY;
    this.realDelivery = options.realDelivery === true;
  }

  /** The source a source file assigns to this log group (its `logGroups` globs), if any. */
  explicitSource(logGroup: string): CompiledSource | undefined {
    let found = this.explicit.get(logGroup);
    if (found === undefined) {
      found = this.sources.find((s) => s.logGroups.some((g) => g.test(logGroup))) ?? null;
      if (this.explicit.size > 10_000) this.explicit.clear();
      this.explicit.set(logGroup, found);
    }
    return found ?? undefined;
  }

  /**
   * The source every line of a log group gets whatever it holds: the one a source file names, else
   * the AWS service's for a group named after it (SERVICE_GROUPS: a function's own group, where
   * every line is the runtime's or the function's, JSON of any logger among them; a database's);
   * undefined when lines are recognized one by one.
   */
  groupSource(logGroup: string): CompiledSource | undefined {
    return this.explicitSource(logGroup) ?? serviceGroup(logGroup)?.source;
  }

  /**
   * The source for a line of a log group: the one a source file names (always wins); else the AWS
   * service's for a group named after it (a function's, a database's); else the built-in AWS
   * source the group's lines were recognized as, as long as this line still is of that kind; else
   * whichever built-in recognizes this line (the decision is cached per group, and re-made when
   * lines stop matching); else the default (any JSON, any built-in text shape).
   *
   * A line recognized as a service's that AWS writes only to streams or groups of its own
   * (CloudTrail's and flow logs' streams, EventBridge's, EKS's and WAF's groups:
   * BuiltinSource.deliveredIn) is believed only in one, `logStream` being the delivery's; elsewhere
   * it is read as the app's own line.
   */
  sourceFor(logGroup: string, line?: string, logStream?: string): CompiledSource {
    if (line === undefined) return this.groupSource(logGroup) ?? this.recognized.get(logGroup) ?? DEFAULT_SOURCE;
    return this.lineSources(logGroup, logStream)(line);
  }

  /**
   * `sourceFor` for each line of one delivery: what depends only on its log group and stream (a
   * source file's or service's group, whether a recognized service writes to this stream) is
   * worked out once for the payload rather than once a line.
   */
  lineSources(logGroup: string, logStream?: string): (line: string) => CompiledSource {
    const fixed = this.groupSource(logGroup);
    if (fixed) return () => fixed;
    let judged: CompiledSource | undefined;
    let delivered = false;
    return (line) => {
      const cached = this.recognized.get(logGroup);
      if (cached?.recognize?.(line)) {
        if (cached !== judged) {
          judged = cached;
          delivered = deliveredBy(cached.deliveredIn, logGroup, logStream);
        }
        if (delivered) return cached;
      }
      return this.recognize(logGroup, line, logStream);
    };
  }

  /** A line's built-in source by its content (the group's cached one did not take it), cached for the group. */
  private recognize(logGroup: string, line: string, logStream: string | undefined): CompiledSource {
    // A JSON recognizer never takes a text line and the reverse: skip the checks that cannot apply.
    const json = line.charCodeAt(firstNonSpace(line)) === OPEN_BRACE;
    if (json && !AWS_JSON_MARKERS_RE.test(line)) return DEFAULT_SOURCE;
    const found = RECOGNIZED_SOURCES.find((s) => (json ? s.format !== 'text' : s.format !== 'json') && s.recognize?.(line));
    if (!found) return DEFAULT_SOURCE;
    if (!deliveredBy(found.deliveredIn, logGroup, logStream)) {
      if (this.unbelieved.size > 10_000) this.unbelieved.clear();
      this.unbelieved.set(logGroup, found);
      return forgedAs(found.name);
    }
    if (this.recognized.size > 10_000) this.recognized.clear();
    this.recognized.set(logGroup, found);
    return found;
  }

  /** Which source a log group's lines go to, and why (for `detect sources check`). */
  describeSource(logGroup: string): { source: CompiledSource; reason: string; unbelieved?: string } {
    const explicit = this.explicitSource(logGroup);
    if (explicit) {
      const glob = explicit.globs.find((g) => globToRegExp(g).test(logGroup)) ?? '';
      return { source: explicit, reason: `its logGroups pattern '${glob}' matches` };
    }
    const service = serviceGroup(logGroup);
    if (service) return service;
    const recognized = this.recognized.get(logGroup);
    if (recognized) return { source: recognized, reason: 'no source lists this log group; its lines were recognized by content' };
    const unbelieved = this.unbelieved.get(logGroup);
    if (unbelieved?.deliveredIn) {
      return {
        source: DEFAULT_SOURCE,
        unbelieved: unbelieved.name,
        reason: `no source lists this log group; its lines look like ${unbelieved.name} records but did not arrive where AWS writes them (${unbelieved.deliveredIn.where}), so they are read as the app's own lines — if they are the service's, name the group in a source file with builtin: ${unbelieved.name}`,
      };
    }
    return { source: DEFAULT_SOURCE, reason: 'no source lists this log group: JSON, or any built-in text format' };
  }

  /**
   * A flow record's event as far as its line alone makes it (src/parse/flow-lane.ts,
   * flowRecordStart), with the line as its message: undefined unless `normalize` would read this
   * line of the log group with `source` through the flow lane. What the event gets after
   * (FIELDS_AFTER_START) comes from its delivery; the rest is what the rules will read
   * (src/engine/flow-gate.ts).
   */
  flowRecordStart(line: string, logGroup: string, source: CompiledSource, part?: StartPart): NormalizedEvent | undefined {
    if (!source.flowLane || !this.useFlowLane) return undefined;
    const message = withoutCr(line);
    if (message.length > MAX_MESSAGE_CHARS) return undefined;
    const start = flowRecordStart(message, logGroup, source.flowLane, source.derive, true, part);
    if (start) {
      start.message = message;
      start['event.original'] = message;
    }
    return start;
  }

  normalize(line: string, ctx: LogContext, source: CompiledSource = this.sourceFor(ctx.logGroup)): NormalizeResult {
    const result = this.read(line, ctx, source, true);
    if (result.ok) {
      withDefaultService(result.event, ctx.logGroup);
      maskTypedPassword(result.event);
      if (this.accountsFor) refuseForeignAccount(result.event, this.accountsFor);
    }
    return result;
  }

  /** `normalize`, with whether a container runtime's wrapper may be opened (not inside one: that is an app's JSON). */
  private read(line: string, ctx: LogContext, source: CompiledSource, openWrapper: boolean): NormalizeResult {
    // A CRLF line (an app writing Windows line ends, shipped by Docker's awslogs driver) keeps its
    // CR: without it, patterns anchored at the end of the line read it as they read any other.
    let message = withoutCr(line);
    if (message.length > MAX_MESSAGE_CHARS) {
      return skip('oversized_message', ctx, `message is ${message.length} characters (limit ${MAX_MESSAGE_CHARS})`);
    }
    const maxAhead = this.realDelivery && source.time === 'delivery' ? undefined : this.maxAhead;
    if (source.flowLane && this.useFlowLane) {
      const record = readFlowRecord(message, ctx, source.flowLane, source.derive, this.calendar, maxAhead, openWrapper);
      if (record) return record;
    }
    // A JSON line is parsed first, once. JSON has no raw control character (U+0000–U+001F only
    // escaped, tab, newline and CR only between tokens), so a line that parses needs no scan for
    // them, and a container runtime's wrapper is told from the parsed value (an includes() over a
    // CloudTrail record cost as much as that scan).
    let early = this.parsedJsonLine(message, source, openWrapper, false);
    // One scan finds a line with no control character at all, nearly every line.
    if (early?.ok !== true && CONTROL_RE.test(message)) {
      // Colour codes (an app writing to a TTY) hide every field from the patterns: removed first.
      message = withoutAnsi(message);
      if (BINARY_RE.test(message)) return skip('binary_message', ctx, 'message contains control characters (binary data)');
      // The text changed: parsed again, past whatever control characters still lead it (as firstNonSpace steps over them).
      early = this.parsedJsonLine(message, source, openWrapper, true);
    }
    // Which step threw, for the skip's reason: the text is composed only then, not for every line.
    let stage: Stage = 'source';
    try {
      const start = firstNonSpace(message);
      const startsJson = message.charCodeAt(start) === OPEN_BRACE;
      // A container runtime's wrapper (Docker, Fluent Bit, FireLens, Container Insights): the line
      // the app wrote is inside, and is what the source's parsers are for.
      if (early?.ok && openWrapper) {
        const wrapped = wrapperOf(early.value);
        if (wrapped) return this.unwrap(wrapped, ctx, source);
      }
      if (openWrapper && !startsJson) {
        const wrapped = criWrapper(message);
        if (wrapped) return this.unwrap(wrapped, ctx, source);
      }
      const json = source.format !== 'text' && startsJson;
      let raw: Record<string, FieldValue> | undefined;
      let parsed = false;
      let repeat: number | undefined;
      let writes: ReadonlySet<string> | undefined;
      let fields: number | undefined;
      if (json) {
        const outcome = early ?? parseJson(start === 0 ? message : message.slice(start));
        if (!outcome.ok) {
          const err = outcome.error;
          return skip(
            'malformed_json',
            ctx,
            `line looks like JSON but does not parse: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
        const value = outcome.value;
        // A journald record (Amazon Linux 2023's system log): the syslog line it stands for.
        const journal = openWrapper ? journalRecord(value, ctx.timestamp) : undefined;
        if (journal) return this.unwrapJournal(journal, ctx, source);
        stage = 'JSON flattening';
        // A JSON line names its own fields: a hash table (see event-record.ts).
        raw = newOpenEvent();
        fields = flattenInto(raw, value);
        dropAwsClaims(raw);
        readKeycloakJson(raw);
        if (source.keepJson && value !== null && typeof value === 'object') {
          for (const key of source.keepJson) {
            const whole: unknown = Reflect.get(value, key);
            if (whole !== null && typeof whole === 'object') raw[key] = boundedJson(whole, MAX_KEPT_JSON);
          }
        }
        parsed = true;
      } else if (source.format === 'json') {
        return skip('malformed_json', ctx, 'source expects JSON lines but the line is not a JSON object');
      } else {
        stage = 'parsers';
        let outcome = parseText(source.parsers, message);
        const newline = !outcome || outcome.fallback ? message.indexOf('\n') : -1;
        if (newline !== -1) {
          // A multi-line event no pattern takes whole: an error with its stack trace under it
          // (Laravel, Python's logging, Java), as the CloudWatch agent's multi-line setting
          // ships it. Its first line is the entry; the rest is kept as its trace.
          stage = 'parsers, first line';
          const head = withoutCr(message.slice(0, newline));
          const first = parseText(source.parsers, head);
          if (first && (!outcome || !first.fallback)) {
            first.fields['error.stack_trace'] ??= message.slice(newline + 1);
            outcome = first;
          }
        }
        if (outcome) {
          raw = outcome.fields;
          parsed = !outcome.fallback;
          repeat = outcome.repeat;
          writes = outcome.writes;
          raw['event.dataset'] ??= outcome.pattern;
        }
      }
      stage = 'field mapping';
      // No parser understood the line: a message-only event, of the fixed shape finish gives it.
      raw ??= newEvent();
      // A JSON line's field count (Keycloak's and kept JSON's few more aside) only chooses how its map is applied.
      const event = mapFields(source, raw, writes && fieldMapFor(source, writes), fields);
      source.derive?.(event, ctx.logGroup);
      if (source.forgedAs !== undefined) event[FORGED_AS] = source.forgedAs;
      const timeAsAsked = finish(event, message, ctx, source, repeat, this.calendar, maxAhead);
      return { ok: true, event, parsed, timeFallback: !timeAsAsked };
    } catch (err) {
      return skip('internal_error', ctx, `${stageText(stage, source.name)} threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * A line starting with `{` parsed as JSON, where `read` would parse it: every line of a source
   * that takes JSON, and in a text source the lines a wrapper may hold. Undefined when not parsed.
   */
  private parsedJsonLine(message: string, source: CompiledSource, openWrapper: boolean, scanned: boolean): JsonOutcome | undefined {
    // Before the control-character scan, only spaces, tabs, newlines and CRs may come before it: any
    // other character below a space is one, and the line goes to the scan. After it, as firstNonSpace.
    let start = 0;
    if (scanned) start = firstNonSpace(message);
    else while (start < message.length && SPACES.has(message.charCodeAt(start))) start++;
    if (message.charCodeAt(start) !== OPEN_BRACE) return undefined;
    if (source.format === 'text' && !(openWrapper && message.includes('"log"'))) return undefined;
    return parseJson(start === 0 ? message : message.slice(start));
  }

  /**
   * The wrapped line, normalized as if it had come alone (the runtime's time standing in for
   * CloudWatch's when the line has none), with the wrapper's fields added where the line has no
   * field of that name. A wrapper inside a wrapper is not opened again.
   */
  private unwrap(wrapped: ContainerWrapper, ctx: LogContext, source: CompiledSource): NormalizeResult {
    const runtimeTime = plausibleLineTime(parseTimestamp(wrapped.meta.time), ctx.timestamp, this.maxAhead);
    const r = this.read(wrapped.line, { ...ctx, timestamp: runtimeTime ?? ctx.timestamp }, anyFormat(source), false);
    if (!r.ok) return r;
    const meta = newOpenEvent();
    flattenInto(meta, wrapped.meta);
    for (const [k, v] of Object.entries(meta)) if (r.event[k] === undefined) r.event[k] = v;
    const container = textValue(r.event['kubernetes.container_name']) ?? textValue(r.event.container_name);
    if (container) r.event['container.name'] ??= container;
    return { ...r, timeFallback: r.timeFallback && runtimeTime === undefined };
  }

  /** A journald record, normalized as the syslog line it stands for, with the journal's own fields where the line has none. */
  private unwrapJournal(journal: JournalRecord, ctx: LogContext, source: CompiledSource): NormalizeResult {
    const r = this.read(journal.line, ctx, anyFormat(source), false);
    if (!r.ok) return r;
    for (const [k, v] of Object.entries(journal.fields)) if (r.event[k] === undefined) r.event[k] = v;
    return { ...r, timeFallback: r.timeFallback || !journal.ownTime };
  }
}

/**
 * The first parser's outcome that understood the line; a header-only (fallback) outcome only when
 * no later parser understands more — a syslog header fits any line that starts with an ISO time
 * and a word, a Spring Boot line among them.
 */
function parseText(parsers: readonly LineParser[], text: string): ParseOutcome | undefined {
  let fallback: ParseOutcome | undefined;
  for (const parser of parsers) {
    let outcome: ParseOutcome | undefined;
    try {
      outcome = parser.parse(text);
    } catch (err) {
      // Named for the skip's detail (normalize's per-line catch): which parser threw.
      throw new Error(`parser ${parser.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!outcome) continue;
    if (!outcome.fallback) return outcome;
    fallback ??= outcome;
  }
  return fallback;
}

/** The source for a wrapped line: `format` described the wrappers (JSON); the line inside may be either. */
function anyFormat(source: CompiledSource): CompiledSource {
  if (source.format === 'auto') return source;
  let auto = autoFormat.get(source);
  if (!auto) {
    auto = { ...source, format: 'auto' };
    autoFormat.set(source, auto);
  }
  return auto;
}

const autoFormat = new WeakMap<CompiledSource, CompiledSource>();

const OPEN_BRACE = 123;
/** Space, tab, newline, carriage return: what JSON allows between tokens. */
const SPACES: ReadonlySet<number> = new Set([32, 9, 10, 13]);

type JsonOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

function parseJson(text: string): JsonOutcome {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error };
  }
}
const CR = 13;

const withoutCr = (text: string): string => (text.charCodeAt(text.length - 1) === CR ? text.slice(0, -1) : text);

function firstNonSpace(text: string): number {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 32) i++;
  return i;
}

// The location string is only built for skipped events: normalize() is the per-event hot path.
function skip(reason: Skip['reason'], ctx: LogContext, detail: string): NormalizeResult {
  return { ok: false, skip: { reason, where: `${ctx.logGroup} ${ctx.logStream} event ${ctx.id}`, detail, events: 1 } };
}

/** A syslog repeat count is capped: the line still counts as many events, but never absurdly many. */
const MAX_REPEAT = 1_000_000;

/**
 * The service an event is about when its line names none: its container's (a container runtime's
 * wrapper names it), else its log group. Rules count per service — an error spike, a burst of 5xx,
 * a new error type — and most apps never log a service name: without this, those rules never fired
 * on a group no source file gives a `service.name`, and said nothing about it.
 */
export function withDefaultService(event: NormalizedEvent, logGroup: string): void {
  if (event['service.name'] !== undefined) return;
  event['service.name'] = textValue(event['container.name']) ?? logGroup;
}

type Stage = 'source' | 'JSON flattening' | 'parsers' | 'parsers, first line' | 'field mapping';

/** A normalizing step as a skip's reason names it: `parsers (source nginx, first line)`. */
function stageText(stage: Stage, sourceName: string): string {
  if (stage === 'source') return `source ${sourceName}`;
  const [step, detail] = stage.split(', ');
  return `${step} (source ${sourceName}${detail ? `, ${detail}` : ''})`;
}

/**
 * Completes the event; returns whether its time is the one its source asks for: the line's own
 * (false when the line had none it could use), or its delivery's (`maxAhead` undefined).
 */
function finish(
  event: NormalizedEvent,
  message: string,
  ctx: LogContext,
  source: CompiledSource,
  repeat: number | undefined,
  calendar: Calendar,
  maxAhead: number | undefined,
): boolean {
  // Without a bound (a source that takes delivery times), the line's time is not read at all.
  const ts =
    maxAhead === undefined
      ? undefined
      : plausibleLineTime(
          parseTimestamp(event[CoreFields.timestamp], { reference: ctx.timestamp, timezone: source.timezone }),
          ctx.timestamp,
          maxAhead,
        );
  const time = ts ?? ctx.timestamp;
  event[CoreFields.timestamp] = time;
  calendar.apply(event, time, ctx.timestamp);
  const level = event['log.level'];
  if (level !== undefined) {
    const lower = String(level).toLowerCase();
    event['log.level'] = LEVEL_NAMES[lower] ?? lower;
  }
  if (event.message === undefined) event.message = message;
  event['event.original'] = message;
  const trace = event['error.stack_trace'];
  if (typeof trace === 'string' && event['error.type'] === undefined) {
    const type = exceptionType(trace);
    if (type !== undefined) event['error.type'] = type;
  }
  const original = event['url.original'];
  if (typeof original === 'string') {
    const q = original.indexOf('?');
    if (event['url.path'] === undefined) event['url.path'] = q === -1 ? original : original.slice(0, q);
    if (q !== -1 && event['url.query'] === undefined) event['url.query'] = original.slice(q + 1);
  }
  const urlPath = event['url.path'];
  if (typeof urlPath === 'string' && event['url.extension'] === undefined) {
    // After the last dot of the path's last segment, when that dot neither starts nor ends it (no copy of the segment).
    const dot = urlPath.lastIndexOf('.');
    if (dot > urlPath.lastIndexOf('/') + 1 && dot < urlPath.length - 1) event['url.extension'] = urlPath.slice(dot + 1);
  }
  const status = event['http.response.status_code'];
  if (typeof status === 'number' && event['event.outcome'] === undefined) {
    event['event.outcome'] = status >= 400 ? 'failure' : 'success';
  }
  const forwardedFor = event['http.request.x_forwarded_for'];
  const remote = event['source.address'];
  if (typeof forwardedFor === 'string' && typeof remote === 'string') {
    // Through your load balancer: the client it saw, not the load balancer (kept as source.proxy.address).
    const client = source.proxies.clientOf(remote, forwardedFor);
    if (client !== undefined && client !== remote) {
      event['source.proxy.address'] = remote;
      event['source.address'] = client;
    }
  }
  // source.address may be a host name (PAM rhost, HostnameLookups): only an address becomes source.ip.
  addressesToIps(event);
  if (repeat !== undefined && repeat >= 1) event[CoreFields.repeatCount] = Math.min(repeat, MAX_REPEAT);
  writeDeliveryFields(event, ctx);
  return ts !== undefined || maxAhead === undefined;
}
