import { getOrCreate } from '../engine/map-entry';
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

/**
 * A raw event through its source's field map, value maps, lookups and constant fields: the
 * normalized event (the same object). `fields`: how many fields the raw event holds, where known
 * (a JSON line's): when fewer than the map has entries, the map is applied from the event's own
 * names (see applyByEventNames) — a JSON line's event is a hash table, and the default map alone is 45
 * entries, two look-ups each, where an app's line has a dozen fields.
 */
export function mapFields(
  source: CompiledSource,
  raw: Record<string, FieldValue>,
  fieldMap = source.fieldMap,
  fields?: number,
): NormalizedEvent {
  const event: NormalizedEvent = raw;
  const keyed = fields !== undefined && fields < fieldMap.length ? keyedMap(fieldMap) : undefined;
  if (keyed) applyByEventNames(event, fieldMap, keyed);
  else for (const [from, to] of fieldMap) mapEntry(event, from, to);
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

/** One field map entry: `to` takes `from`'s value, unless the event already has a `to` (the first present wins). */
function mapEntry(event: NormalizedEvent, from: string, to: string): void {
  if (event[to] !== undefined) return;
  const v = event[from];
  if (v !== undefined) event[to] = v;
}

/**
 * A field map's entries by the name they read, in map order — or undefined when an entry reads a
 * name an earlier entry writes (its outcome then depends on what that entry did, and the map is
 * applied entry by entry). An entry mapping a name to itself never changes an event: left out.
 */
function keyedMap(fieldMap: readonly [string, string][]): Map<string, number[]> | undefined {
  let keyed = keyedMaps.get(fieldMap);
  if (keyed === undefined) {
    const written = new Set<string>();
    const byFrom = new Map<string, number[]>();
    let chained = false;
    fieldMap.forEach(([from, to], i) => {
      if (from === to) return;
      if (written.has(from)) chained = true;
      written.add(to);
      getOrCreate(byFrom, from, () => []).push(i);
    });
    keyed = chained ? null : byFrom;
    keyedMaps.set(fieldMap, keyed);
  }
  return keyed ?? undefined;
}
const keyedMaps = new WeakMap<readonly [string, string][], Map<string, number[]> | null>();

/** The entries of the map a raw event's names select, kept between calls. */
const selected: number[] = [];

/**
 * The field map applied from the event's names: the entries whose `from` the event holds, in map
 * order — what the entry-by-entry loop does, since no other entry can find a value (none reads a
 * name the map writes: see keyedMap).
 */
function applyByEventNames(
  event: NormalizedEvent,
  fieldMap: readonly [string, string][],
  byFrom: ReadonlyMap<string, readonly number[]>,
): void {
  let n = 0;
  for (const name in event) {
    const entries = byFrom.get(name);
    if (entries) for (const i of entries) selected[n++] = i;
  }
  // Map order (a handful of entries: insertion sort).
  for (let i = 1; i < n; i++) {
    const entry = selected[i] as number;
    let j = i - 1;
    while (j >= 0 && (selected[j] as number) > entry) {
      selected[j + 1] = selected[j] as number;
      j--;
    }
    selected[j + 1] = entry;
  }
  for (let i = 0; i < n; i++) {
    const [from, to] = fieldMap[selected[i] as number] as [string, string];
    mapEntry(event, from, to);
  }
}
