import type { Skip } from '../decode/skips';
import { CoreFields, type FieldValue, type NormalizedEvent } from '../schema/event';
import type { SourceDefinition } from '../schema/rule';
import { BUILTIN_PARSERS } from './builtin-parsers';
import { flattenInto } from './flatten';
import { globToRegExp } from './glob';
import { parseTimestamp } from './timestamp';

/** Log events larger than this are skipped (CloudWatch caps events at 1 MB; real lines are far smaller). */
export const MAX_MESSAGE_CHARS = 256 * 1024;
// Control characters other than tab/newline/carriage return mark binary data.
const BINARY_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001A\u001C-\u001F]/;

/** Field names common structured loggers (pino, winston, structlog, bunyan) use, mapped to ECS. */
const DEFAULT_FIELD_MAP: [string, string][] = [
  ['msg', 'message'],
  ['time', '@timestamp'],
  ['timestamp', '@timestamp'],
  ['ts', '@timestamp'],
  ['level', 'log.level'],
  ['lvl', 'log.level'],
  ['severity', 'log.level'],
];
/** pino's numeric levels and common spellings, normalized to lower-case names. */
const LEVEL_NAMES: Readonly<Record<string, string>> = {
  '10': 'trace',
  '20': 'debug',
  '30': 'info',
  '40': 'warn',
  '50': 'error',
  '60': 'fatal',
  warning: 'warn',
  err: 'error',
  critical: 'fatal',
  crit: 'fatal',
  emergency: 'fatal',
  alert: 'fatal',
};

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface CompiledPattern {
  name: string;
  regex: RegExp;
  fields: Record<string, FieldValue>;
}

export interface CompiledSource {
  name: string;
  logGroups: RegExp[];
  format: 'auto' | 'json' | 'text';
  patterns: CompiledPattern[];
  fieldMap: [string, string][];
  valueMap: Map<string, Map<string, FieldValue>>;
  lookups: { from: string; to: string; values: Map<string, FieldValue> }[];
  fields: [string, FieldValue][];
}

export interface LogContext {
  logGroup: string;
  logStream: string;
  id: string;
  timestamp: number;
}

export type NormalizeResult = { ok: true; event: NormalizedEvent } | { ok: false; skip: Skip };

export class UnknownParserError extends Error {}

function compilePatterns(def: SourceDefinition['source']): CompiledPattern[] {
  const custom = new Map(def.customParsers.map((p) => [p.name, p]));
  const out: CompiledPattern[] = [];
  for (const name of def.parsers) {
    const builtin = BUILTIN_PARSERS[name];
    const own = custom.get(name);
    const list = own ? [own] : builtin;
    if (!list) {
      throw new UnknownParserError(
        `source '${def.name}': unknown parser '${name}' (built-in: ${Object.keys(BUILTIN_PARSERS).join(', ')}; or declare it under customParsers)`,
      );
    }
    for (const p of list) out.push({ name: p.name, regex: new RegExp(p.pattern), fields: p.fields });
  }
  // Custom parsers not listed in `parsers` still apply, after the listed ones.
  for (const p of def.customParsers) {
    if (!def.parsers.includes(p.name)) out.push({ name: p.name, regex: new RegExp(p.pattern), fields: p.fields });
  }
  return out;
}

export function compileSource(def: SourceDefinition['source']): CompiledSource {
  return {
    name: def.name,
    logGroups: def.logGroups.map(globToRegExp),
    format: def.format,
    patterns: compilePatterns(def),
    fieldMap: [...Object.entries(def.fieldMap), ...DEFAULT_FIELD_MAP],
    valueMap: new Map(Object.entries(def.valueMap).map(([field, m]) => [field, new Map(Object.entries(m))])),
    lookups: def.lookups.map((l) => ({ from: l.from, to: l.to, values: new Map(Object.entries(l.values)) })),
    fields: Object.entries(def.fields),
  };
}

/** Source for log groups no source file claims: JSON or any built-in text shape. */
export const DEFAULT_SOURCE: CompiledSource = compileSource({
  name: 'default',
  description: 'any JSON, or any built-in text format',
  logGroups: ['*'],
  format: 'auto',
  parsers: ['openssh', 'paramiko', 'laravel', 'nginx_combined', 'python_logging'],
  customParsers: [],
  lookups: [],
  fieldMap: {},
  valueMap: {},
  fields: {},
});

/**
 * Turns raw CloudWatch log events into normalized events: JSON lines are flattened and renamed
 * through the source's field map; text lines go through its named parsers; anything else is
 * kept as a `message`-only event. Binary, oversized and truncated-JSON lines are skips.
 */
export class Normalizer {
  private readonly sources: CompiledSource[];
  private readonly bySourceCache = new Map<string, CompiledSource>();

  constructor(definitions: readonly SourceDefinition[] = []) {
    this.sources = definitions.map((d) => compileSource(d.source));
  }

  sourceFor(logGroup: string): CompiledSource {
    let found = this.bySourceCache.get(logGroup);
    if (!found) {
      found = this.sources.find((s) => s.logGroups.some((g) => g.test(logGroup))) ?? DEFAULT_SOURCE;
      this.bySourceCache.set(logGroup, found);
    }
    return found;
  }

  normalize(message: string, ctx: LogContext): NormalizeResult {
    if (message.length > MAX_MESSAGE_CHARS) {
      return skip('oversized_message', ctx, `message is ${message.length} characters (limit ${MAX_MESSAGE_CHARS})`);
    }
    if (BINARY_RE.test(message)) {
      return skip('binary_message', ctx, 'message contains control characters (binary data)');
    }
    const source = this.sourceFor(ctx.logGroup);
    const raw: Record<string, FieldValue> = {};
    const trimmed = message.trimStart();
    if (source.format !== 'text' && trimmed.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(trimmed);
      } catch (err) {
        return skip('malformed_json', ctx, `line looks like JSON but does not parse: ${err instanceof Error ? err.message : String(err)}`);
      }
      flattenInto(raw, parsed);
    } else if (source.format === 'json') {
      return skip('malformed_json', ctx, 'source expects JSON lines but the line is not a JSON object');
    } else {
      applyParsers(source, message, raw);
    }
    const event = mapFields(source, raw);
    finish(event, message, ctx);
    return { ok: true, event };
  }
}

// The location string is only built for skipped events: normalize() is the per-event hot path.
function skip(reason: Skip['reason'], ctx: LogContext, detail: string): NormalizeResult {
  return { ok: false, skip: { reason, where: `${ctx.logGroup} ${ctx.logStream} event ${ctx.id}`, detail, events: 1 } };
}

function applyParsers(source: CompiledSource, message: string, out: Record<string, FieldValue>): void {
  for (const p of source.patterns) {
    const m = p.regex.exec(message);
    if (!m) continue;
    for (const [k, v] of Object.entries(p.fields)) out[k] = v;
    const groups = m.groups ?? {};
    for (const [name, value] of Object.entries(groups)) {
      if (value === undefined || value === '' || value === '-') continue;
      if (name === 'json') {
        try {
          flattenInto(out, JSON.parse(value));
        } catch {
          out['log.context'] = value; // context that is not JSON is kept verbatim
        }
      } else if (name === 'timestamp') {
        out['@timestamp'] = value;
      } else {
        out[name.replaceAll('__', '.')] = /^\d{1,15}$/.test(value) && !name.endsWith('name') ? Number(value) : value;
      }
    }
    out['event.dataset'] = p.name;
    return;
  }
}

function mapFields(source: CompiledSource, raw: Record<string, FieldValue>): NormalizedEvent {
  const event: NormalizedEvent = raw;
  for (const [from, to] of source.fieldMap) {
    if (event[to] !== undefined) continue;
    const v = raw[from];
    if (v !== undefined) event[to] = v;
  }
  for (const [field, map] of source.valueMap) {
    const v = event[field];
    if (v === undefined) continue;
    const mapped = map.get(String(v));
    if (mapped !== undefined) event[field] = mapped;
  }
  for (const lookup of source.lookups) {
    const from = event[lookup.from];
    if (event[lookup.to] !== undefined || from === undefined) continue;
    const derived = lookup.values.get(String(from));
    if (derived !== undefined) event[lookup.to] = derived;
  }
  for (const [k, v] of source.fields) if (event[k] === undefined) event[k] = v;
  return event;
}

/** Derived calendar fields (UTC) so rules can express off-hours without code. */
export function addCalendarFields(event: NormalizedEvent, time: number): void {
  const date = new Date(time);
  event['event.hour_utc'] = date.getUTCHours();
  event['event.weekday_utc'] = WEEKDAYS[date.getUTCDay()] ?? 'unknown';
}

function finish(event: NormalizedEvent, message: string, ctx: LogContext): void {
  const ts = parseTimestamp(event[CoreFields.timestamp]);
  const time = ts ?? ctx.timestamp;
  event[CoreFields.timestamp] = time;
  addCalendarFields(event, time);
  const level = event['log.level'];
  if (level !== undefined) {
    const lower = String(level).toLowerCase();
    event['log.level'] = LEVEL_NAMES[lower] ?? lower;
  }
  if (event.message === undefined) event.message = message;
  event['event.original'] = message;
  const path = event['url.original'];
  if (typeof path === 'string' && event['url.path'] === undefined) {
    const q = path.indexOf('?');
    event['url.path'] = q === -1 ? path : path.slice(0, q);
  }
  const status = event['http.response.status_code'];
  if (typeof status === 'number' && event['event.outcome'] === undefined) {
    event['event.outcome'] = status >= 400 ? 'failure' : 'success';
  }
  event[CoreFields.logGroup] = ctx.logGroup;
  event[CoreFields.logStream] = ctx.logStream;
  event[CoreFields.eventId] = ctx.id;
}
