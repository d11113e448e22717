import { compileAccessLogFormat } from '../parse/access-log-format';
import { BUILTIN_SOURCES, type BuiltinSource } from '../parse/aws-sources';
import { builtinPatterns } from '../parse/builtin-parsers';
import { DEFAULT_FIELD_MAP, LEVEL_NAMES } from '../parse/field-maps';
import { FLOW_LOG_OUTPUT_FIELDS } from '../parse/flow-log-format';
import { globToRegExp } from '../parse/glob';
import { JOURNAL_FIELDS, JOURNAL_LEVELS, JOURNAL_MARKERS, JOURNAL_TOKENS } from '../parse/journald';
import { KEYCLOAK_DERIVES, KEYCLOAK_FIELDS, KEYCLOAK_LOGGER } from '../parse/keycloak';
import { namedGroupBodies, REQUEST_GROUP_FIELDS, SYSLOG_HEADER_FIELDS } from '../parse/line-parser';
import { DEFAULT_PARSERS, FORGED_AS, serviceGroupBuiltin } from '../parse/normalize';
import { patternLiterals } from '../parse/required-literal';
import { CoreFields, type FieldValue } from '../schema/event';
import type { SourceDefinition } from '../schema/rule';
import { ANY_RUN, exactTextOf, isWeakText, minimalTexts, textOf } from './filter-text';
import { normalizeForEquality } from './selection';

/**
 * How a log group's lines give a field its value, for the subscription filter: which texts a line
 * that gives a field a wanted value must hold. A value is in the line when a text pattern captured
 * it (`plain`), or after its key when the line named the field itself (JSON, XML, a container
 * runtime's wrapper: `"status":503`); a derivation can set it without either, on the lines holding
 * its markers or on any line.
 */

/** One way a field gets a value the line need not hold. */
interface Derivation {
  /** The values it gives the field (as equality compares them), or any value. */
  values: ReadonlySet<string> | 'any';
  /** Texts one of which every line it applies to holds (as written); undefined: any line. */
  markers: readonly string[] | undefined;
}

/** What the normalizer computes on every line from the delivery, the clock or other fields. */
const COMPUTED = [
  '@timestamp',
  'event.hour_utc',
  'event.weekday_utc',
  'event.hour_local',
  'event.weekday_local',
  'http.request.malformed',
  // The payload's owner when the line names no account.
  'cloud.account.id',
  CoreFields.logGroup,
  CoreFields.logStream,
  CoreFields.eventId,
  CoreFields.owner,
  CoreFields.repeatCount,
];

/** Fields every text line may carry as written: the whole line, and what finish() copies from other plain fields. */
const ALWAYS_PLAIN = [
  'message',
  'event.original',
  'error.stack_trace',
  // A JSON context group's text, kept whole when it is not JSON.
  'log.context',
  'source.ip',
  'source.domain',
  'destination.ip',
  'destination.domain',
  'source.proxy.address',
  // Cut from url.original as the line writes it (up to `?`, after the last dot), never decoded.
  'url.path',
  'url.query',
  'url.extension',
  // The client X-Forwarded-For names, in place of the address the line gave under its own key.
  'source.address',
  // A container runtime's wrapper names the container under its own keys.
  'container.name',
  // The exception class a stack trace names (src/parse/exception-type.ts), from whichever key held it.
  'error.type',
];

/** Lookups reading fields other lookups set: a chain longer than this gets no texts. */
const MAX_LOOKUP_DEPTH = 4;

export class FieldOrigins {
  private readonly byField = new Map<string, Derivation[]>();
  private readonly byPrefix: [string, Derivation][] = [];
  /**
   * Per field, raw value → the value the normalizer puts in its place (a source's valueMap, as
   * written: it compares exactly; log level names, in any case: it lower-cases first).
   */
  private readonly renames = new Map<string, { from: string; raw: string; to: string; exact: boolean }[]>();
  /** Per field, the lookups that set it from another field's value as written (a source's `lookups`). */
  private readonly lookups = new Map<string, { from: string; values: { raw: string; key: string; to: string }[] }[]>();
  /**
   * Fields a text pattern captures as the line writes them: the regexes of the groups that capture
   * each (`any` when one captures anything, or what captures it has no group of its own).
   */
  private readonly plain = new Map<string, RegExp[] | 'any'>(ALWAYS_PLAIN.map((f) => [f, 'any']));
  private plainAll = false;
  /** Field map entries (app name → normalized name): the names a line may give a field under. */
  private readonly mapped = new Map<string, Set<string>>();

  /** The field (or `prefix*`, a family) may get one of these values, or any, on lines holding a marker (any line without markers). */
  add(field: string, values: Iterable<FieldValue> | 'any', markers?: readonly string[]): void {
    const derivation: Derivation = {
      values: values === 'any' ? 'any' : new Set([...values].map(normalizeForEquality)),
      markers: markers && markers.length > 0 ? markers : undefined,
    };
    if (field.endsWith('*')) {
      this.byPrefix.push([field.slice(0, -1), derivation]);
      return;
    }
    const list = this.byField.get(field);
    if (list) list.push(derivation);
    else this.byField.set(field, [derivation]);
  }

  /** The normalizer replaces the field's raw value `from` by `to` (`exact`: only `from` as written, not in another case). */
  rename(field: string, from: string, to: FieldValue, exact: boolean): void {
    const list = this.renames.get(field) ?? [];
    list.push({ from: normalizeForEquality(from), raw: from, to: normalizeForEquality(to), exact });
    this.renames.set(field, list);
  }

  /** A lookup sets `to` from the value of `from` (as written), when the line has no `to` of its own. */
  lookup(from: string, to: string, values: Readonly<Record<string, FieldValue>>): void {
    const list = this.lookups.get(to) ?? [];
    list.push({
      from,
      values: Object.entries(values).map(([raw, v]) => ({ raw, key: normalizeForEquality(raw), to: normalizeForEquality(v) })),
    });
    this.lookups.set(to, list);
  }

  /**
   * A text pattern writes the field as the line has it (`*`: any field), through a group whose
   * regex is `body` (undefined: a value of any shape).
   */
  capture(field: string, body?: string): void {
    if (field === '*') {
      this.plainAll = true;
      return;
    }
    const known = this.plain.get(field);
    if (known === 'any') return;
    const regex = body === undefined ? undefined : wholeValue(body);
    if (regex === undefined) this.plain.set(field, 'any');
    else this.plain.set(field, [...(known ?? []), regex]);
  }

  /** A field map copies app field `from` to `to`. */
  map(from: string, to: string): void {
    const names = this.mapped.get(to) ?? new Set<string>();
    names.add(from);
    this.mapped.set(to, names);
  }

  /**
   * Whether a line may hold the field's value with no key before it: a text pattern captured it,
   * directly or through a field map. With `value` (the whole value, as equality compares it): a
   * group whose regex could have captured that value — `[A-Z]{3,5}` does not capture a pino level's `50`.
   */
  isPlain(field: string, value?: string, depth = 0): boolean {
    if (this.plainAll || depth >= MAX_LOOKUP_DEPTH) return true;
    const groups = this.plain.get(field);
    if (groups === 'any' || (groups && (value === undefined || groups.some((g) => mayCapture(g, value))))) return true;
    for (const from of this.mapped.get(field) ?? []) if (this.isPlain(from, value, depth + 1)) return true;
    return false;
  }

  /**
   * The keys a line that names the field itself writes before its value, as written: the field's
   * last name (`status_code` of `http.response.status_code`, nested or dotted), and those of the
   * app fields a field map copies to it (`status`, `statusCode`).
   */
  keysOf(field: string, depth = 0): string[] {
    const keys = new Set([lastName(field)]);
    if (depth < MAX_LOOKUP_DEPTH)
      for (const from of this.mapped.get(field) ?? []) for (const k of this.keysOf(from, depth + 1)) keys.add(k);
    return [...keys];
  }

  /**
   * Texts one of which every line holds that gives `field` a value `wanted` accepts: `own`, the
   * wanted values' texts (a line that names the field itself holds them after its key, so a weak
   * text — digits, three letters — goes with the key), the raw spellings renamed to a wanted value
   * (`err` for `error`), what a lookup read to set one (`user_login` for `authentication`), and
   * the markers of the derivations that can set one. Undefined when a derivation can set one on
   * any line, or a spelling has no text.
   */
  textsFor(field: string, own: readonly OwnText[], wanted: (value: string) => boolean, depth = 0): string[] | undefined {
    // A raw spelling renamed to a wanted value is wanted as well: the line holds the raw one.
    const spellings = new Set<string>();
    const accepts = (v: string) => wanted(v) || spellings.has(v);
    const renames = this.renames.get(field) ?? [];
    const values = [...own];
    for (let grew = true; grew; ) {
      grew = false;
      for (const { from, raw, to, exact } of renames) {
        if (!accepts(to) || spellings.has(from)) continue;
        spellings.add(from);
        grew = true;
        const text = exact ? exactTextOf(raw) : textOf(raw);
        if (text === undefined) return undefined;
        values.push({ text, value: from });
      }
    }
    const texts = this.withKeys(field, values);
    for (const { from, values: table } of this.lookups.get(field) ?? []) {
      const read = table.filter(({ to }) => accepts(to));
      if (read.length === 0) continue;
      const keys = new Set(read.map(({ key }) => key));
      const keyTexts: OwnText[] = [];
      for (const { raw, key } of read) {
        const text = exactTextOf(raw);
        if (text === undefined || depth >= MAX_LOOKUP_DEPTH) return undefined;
        keyTexts.push({ text, value: key });
      }
      const inner = this.textsFor(from, keyTexts, (v) => keys.has(v), depth + 1);
      if (!inner) return undefined;
      texts.push(...inner);
    }
    const derivations = [...(this.byField.get(field) ?? []), ...this.byPrefix.filter(([p]) => field.startsWith(p)).map(([, d]) => d)];
    for (const d of derivations) {
      if (d.values !== 'any' && ![...d.values].some(accepts)) continue;
      if (!d.markers) return undefined;
      for (const m of d.markers) {
        const text = exactTextOf(m);
        if (text === undefined) return undefined;
        texts.push(text);
      }
    }
    return [...new Set(texts)];
  }

  /** Weak texts of values no text pattern can capture as they are, each after every key the field can be named by. */
  private withKeys(field: string, values: readonly OwnText[]): string[] {
    const keys = this.keysOf(field).map(exactTextOf);
    const named = keys.every((k) => k !== undefined) ? minimalTexts(keys as string[]) : undefined;
    return values.flatMap(({ text, value }) =>
      named && isWeakText(text) && !this.isPlain(field, value) ? named.map((k) => `${k}${ANY_RUN}${text}`) : [text],
    );
  }
}

/** A text a line must hold for a wanted value, and the whole value when it is one (not a needle inside one). */
export interface OwnText {
  text: string;
  value?: string;
}

/**
 * A group's regex, matching a whole captured value (case aside); undefined when the body does not
 * compile alone or looks outside the group (anchors, boundaries, lookaround, backreferences).
 */
function wholeValue(body: string): RegExp | undefined {
  if (/\(\?<?[=!]|\\[bBk1-9]|[\^$]/.test(body.replaceAll(/\[\^/g, '['))) return undefined;
  try {
    return new RegExp(`^(?:${body})$`, 'i');
  } catch {
    return undefined;
  }
}

/**
 * Whether a group can have captured the value: the value itself, or with the spaces a capture is
 * trimmed of; a number also as the digits a numeric group reads as it (`050`, `50.0`).
 */
function mayCapture(group: RegExp, value: string): boolean {
  const spellings = [value, ` ${value}`, `${value} `];
  if (/^\d+(?:\.\d+)?$/.test(value)) spellings.push(`0${value}`, `00${value}`, `${value}.0`, `${value}.00`);
  return spellings.some((v) => group.test(v));
}

function lastName(field: string): string {
  return field.slice(field.lastIndexOf('.') + 1);
}

/** How the lines of a log group give fields their values: its source (as the normalizer picks it) and the normalizer. */
export function groupOrigins(logGroup: string, sources: readonly SourceDefinition[]): FieldOrigins {
  const out = new FieldOrigins();
  for (const field of COMPUTED) out.add(field, 'any');
  // From the HTTP status, when the line has no outcome of its own.
  out.add('event.outcome', ['success', 'failure']);
  for (const [from, to] of Object.entries(LEVEL_NAMES)) out.rename('log.level', from, to, false);
  for (const [from, to] of DEFAULT_FIELD_MAP) out.map(from, to);
  // A line that names no service is its container's, else its log group's (withDefaultService).
  out.map('container.name', 'service.name');
  out.add('service.name', [logGroup]);
  const named = sources.find((s) => s.source.logGroups.some((g) => globToRegExp(g).test(logGroup)))?.source;
  const builtinName = named ? named.builtin : serviceGroupBuiltin(logGroup);
  const builtin = BUILTIN_SOURCES.find((b) => b.definition.name === builtinName);
  // A source file naming a built-in parses with the built-in's format (mergeBuiltin in src/parse/normalize.ts).
  const format = builtin?.definition.format ?? named?.format;
  if (format !== 'text') addJsonLines(out);
  // In any group: a container runtime's wrapper is opened whatever the source's format, and the
  // line inside may be Keycloak's JSON.
  addKeycloak(out);
  if (!named && !builtin) {
    // No source for the group: the default parsers, or any built-in AWS source that recognizes its lines.
    for (const name of DEFAULT_PARSERS) addParser(out, name);
    for (const b of BUILTIN_SOURCES) addBuiltin(out, b, b.recognizedBy);
    // Or, where the service does not write, read as the app's and marked as its imitation.
    for (const b of BUILTIN_SOURCES) if (b.deliveredIn) out.add(FORGED_AS, [b.definition.name], b.recognizedBy);
    return out;
  }
  if (builtin) addBuiltin(out, builtin);
  if (named) {
    addDefinition(out, named);
    if (named.accessLogFormat !== undefined) {
      // An API Gateway access log format becomes a pattern of its own (src/parse/normalize.ts).
      const compiled = compileAccessLogFormat(named.accessLogFormat);
      if (compiled.ok) addPattern(out, 'apigateway_format', compiled.pattern, {}, [], patternLiterals({ pattern: compiled.pattern }));
    }
    for (const p of named.customParsers) addPattern(out, p.name, p.pattern, p.fields, [], patternLiterals(p));
  }
  return out;
}

/** What lines of JSON bring beyond their own keys: a journald record's (src/parse/journald.ts). */
function addJsonLines(out: FieldOrigins): void {
  for (const field of JOURNAL_FIELDS) out.capture(field);
  out.add('log.level', JOURNAL_LEVELS, ['PRIORITY']);
  for (const field of JOURNAL_TOKENS) out.add(field, 'any', JOURNAL_MARKERS);
}

/**
 * Keycloak's events compute their category, action and outcome and read their key=value list
 * (src/parse/keycloak.ts), in text logging (its parser) or JSON logging (any source that takes
 * JSON); every such line names the logger.
 */
function addKeycloak(out: FieldOrigins): void {
  for (const field of KEYCLOAK_DERIVES) out.add(field, 'any', [KEYCLOAK_LOGGER]);
  out.add('event.dataset', ['keycloak.event'], [KEYCLOAK_LOGGER]);
  for (const field of KEYCLOAK_FIELDS) out.capture(field);
}

/**
 * A built-in AWS source: what its derive sets, its parsers' and its definition's — on every line,
 * or only on the lines holding one of `onLines` (where it parses only what it recognizes).
 */
function addBuiltin(out: FieldOrigins, source: BuiltinSource, onLines?: readonly string[]): void {
  for (const field of source.derives) {
    const claims = source.derivesOn?.[field] ?? [{}];
    for (const claim of claims) out.add(field, claim.values ?? 'any', claim.markers ?? onLines);
  }
  addDefinition(out, source.definition, onLines);
}

/** A source definition's parsers, field and value maps, lookups and constant fields. */
function addDefinition(out: FieldOrigins, source: SourceDefinition['source'], onLines?: readonly string[]): void {
  for (const name of source.parsers) addParser(out, name, onLines);
  if (source.parsers.includes('vpcflow') || source.flowLogFormat !== undefined)
    for (const field of FLOW_LOG_OUTPUT_FIELDS) out.capture(field);
  for (const [from, to] of Object.entries(source.fieldMap)) out.map(from, to);
  for (const [field, map] of Object.entries(source.valueMap))
    for (const [from, to] of Object.entries(map)) out.rename(field, from, to, true);
  for (const l of source.lookups) out.lookup(l.from, l.to, l.values);
  for (const [field, value] of Object.entries(source.fields)) out.add(field, [value], onLines);
}

function addParser(out: FieldOrigins, name: string, onLines?: readonly string[]): void {
  for (const p of builtinPatterns(name)) addPattern(out, p.name, p.pattern, p.fields, p.derives, patternLiterals(p) ?? onLines);
}

/**
 * A text pattern: the fields its groups capture, its constant fields, its name (the dataset of
 * its lines unless a constant says otherwise) and what its special groups compute — on the lines
 * holding a marker (its literal: the parser does not try the pattern on other lines) or on any line.
 */
function addPattern(
  out: FieldOrigins,
  name: string,
  pattern: string,
  fields: Readonly<Record<string, FieldValue>>,
  derives: readonly string[] = [],
  markers?: readonly string[],
): void {
  for (const { name: group, body } of namedGroupBodies(pattern)) {
    if (group === 'json' || group === 'xml') continue; // these name their fields in the line
    if (group === 'timestamp') continue; // the time is computed
    if (group === 'request') for (const field of REQUEST_GROUP_FIELDS) out.capture(field);
    else if (group === 'auditd' || group === 'keycloak') out.capture('*');
    else out.capture(group.replaceAll('__', '.'), body);
  }
  for (const field of SYSLOG_HEADER_FIELDS) out.capture(field);
  for (const [field, value] of Object.entries(fields)) out.add(field, [value], markers);
  out.add('event.dataset', [name], markers);
  for (const field of derives) out.add(field, 'any', markers);
}
