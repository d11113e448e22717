import type { FieldValue, NormalizedEvent } from '../schema/event';
import type { CompiledSource } from './normalize';

/**
 * Field names common structured loggers use, mapped to ECS: pino, bunyan, winston, zap, Python's
 * json loggers (`levelname`, `asctime`), Log4j2's JsonLayout (`timeMillis`) and Serilog's compact
 * JSON (`@t`, `@l`, `@m`, `@mt`). Where several apply, the first present wins.
 */
export const DEFAULT_FIELD_MAP: [string, string][] = [
  ['msg', 'message'],
  ['@m', 'message'],
  ['@mt', 'message'],
  // .NET's console JSON formatter (ASP.NET Core in a container): PascalCase names.
  ['Message', 'message'],
  // structlog's message.
  ['event', 'message'],
  ['time', '@timestamp'],
  ['timestamp', '@timestamp'],
  ['ts', '@timestamp'],
  ['@t', '@timestamp'],
  ['timeMillis', '@timestamp'],
  ['asctime', '@timestamp'],
  ['Timestamp', '@timestamp'],
  ['level', 'log.level'],
  ['lvl', 'log.level'],
  ['severity', 'log.level'],
  ['levelname', 'log.level'],
  ['@l', 'log.level'],
  ['LogLevel', 'log.level'],
  // A request log line (Rails' lograge, GitLab, Express): its status and method, so 5xx bursts and
  // failed requests count without a source file. Only a number is a status to the rules (ranges).
  ['status', 'http.response.status_code'],
  ['status_code', 'http.response.status_code'],
  ['statusCode', 'http.response.status_code'],
  ['method', 'http.request.method'],
  // The client and the user, under the names apps most often give them (GitLab, Rails, Express, Flask …).
  ['client_ip', 'source.address'],
  ['remote_ip', 'source.address'],
  ['remote_addr', 'source.address'],
  ['clientIp', 'source.address'],
  ['source_ip', 'source.address'],
  ['ip', 'source.address'],
  ['username', 'user.name'],
  ['user_name', 'user.name'],
  ['userName', 'user.name'],
  // An error's class and trace as loggers write them (ECS's own names need no map): pino's and
  // bunyan's serialized `err`, Log4j2's JsonLayout; structlog, python-json-logger, Logback's
  // encoder, winston's errors format, .NET's console formatter, Serilog's compact JSON.
  ['err.type', 'error.type'],
  ['err.name', 'error.type'],
  ['thrown.name', 'error.type'],
  ['err.stack', 'error.stack_trace'],
  ['exception', 'error.stack_trace'],
  ['exc_info', 'error.stack_trace'],
  ['stack_trace', 'error.stack_trace'],
  ['stack', 'error.stack_trace'],
  ['Exception', 'error.stack_trace'],
  ['@x', 'error.stack_trace'],
  ['context.exception', 'error.stack_trace'],
];
/** pino's numeric levels and common spellings, normalized to lower-case names. */
export const LEVEL_NAMES: Readonly<Record<string, string>> = {
  '10': 'trace',
  '20': 'debug',
  '30': 'info',
  '40': 'warn',
  '50': 'error',
  '60': 'fatal',
  warning: 'warn',
  // .NET and Serilog spellings.
  information: 'info',
  verbose: 'trace',
  err: 'error',
  critical: 'fatal',
  crit: 'fatal',
  emergency: 'fatal',
  alert: 'fatal',
};

/**
 * The field map entries that can apply to a line a text pattern parsed: only fields it writes
 * (and the `event.dataset` normalize adds) are on the event, so the other entries would look up
 * fields that are not there — ten lookups per line for the default map alone.
 */
export function fieldMapFor(source: CompiledSource, writes: ReadonlySet<string>): [string, string][] {
  let entries = source.fieldMapsByWrites.get(writes);
  if (!entries) {
    entries = entriesFor(source.fieldMap, writes);
    source.fieldMapsByWrites.set(writes, entries);
  }
  return entries;
}

/** The entries of `fieldMap` whose field a line a pattern writing `writes` can have. */
export function entriesFor(fieldMap: readonly [string, string][], writes: ReadonlySet<string>): [string, string][] {
  return fieldMap.filter(([from]) => writes.has(from) || from === 'event.dataset');
}

/** A raw event through its source's field map, value maps, lookups and constant fields: the normalized event (the same object). */
export function mapFields(source: CompiledSource, raw: Record<string, FieldValue>, fieldMap = source.fieldMap): NormalizedEvent {
  const event: NormalizedEvent = raw;
  for (const [from, to] of fieldMap) {
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
