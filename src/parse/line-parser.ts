import type { FieldValue } from '../schema/event';
import { parseAuditFields } from './auditd';
import { BUILTIN_PARSERS, type BuiltinParser, type ParserPattern, REPEATED_RE, RFC5424_HEADER, SYSLOG_HEADER } from './builtin-parsers';
import { eventShape, newOpenEvent } from './event-record';
import { flattenInto } from './flatten';
import { FlowLogParser } from './flow-log-format';
import { parseKeycloakEvent } from './keycloak';
import { patternLiterals } from './required-literal';
import { readXmlElements } from './xml-elements';

/** What a parser made of a line: its fields, which pattern, whether it understood the content, and a syslog repeat count. */
export interface ParseOutcome {
  /** The event the line's fields were written to (see event-record.ts for why the parser makes it). */
  fields: Record<string, FieldValue>;
  pattern: string;
  /** Only the header was understood (a catch-all pattern): the line counts as unparsed. */
  fallback: boolean;
  /** `message repeated N times`: the line stands for N events. */
  repeat?: number;
  /**
   * Every field the pattern can write (one set per pattern, so it can key a cache); undefined
   * when it writes fields named by the line itself (JSON, XML or auditd groups).
   */
  writes?: ReadonlySet<string> | undefined;
}

export interface LineParser {
  /** Name shown when a parser throws (internal_error skips name it). */
  readonly name: string;
  /** The line's fields when it accepts the line. */
  parse(line: string): ParseOutcome | undefined;
}

export class UnknownParserError extends Error {}

type GroupKind = 'field' | 'timestamp' | 'json' | 'request' | 'message' | 'auditd' | 'keycloak' | 'xml';
interface GroupHandler {
  index: number;
  kind: GroupKind;
  field: string;
  numeric: boolean;
}

/** A capturing group's opening in a regex source; for a named group, where its `?<name>` ends. */
interface GroupOpening {
  name: string | undefined;
  /** Index of the `(`. */
  at: number;
  /** Index just past the `>` of `(?<name>`, or past the `(` of an unnamed group. */
  bodyAt: number;
}

/**
 * The capturing groups of a regex source, in index order: escapes, character classes,
 * lookarounds and non-capturing groups are skipped.
 */
function groupOpenings(source: string): GroupOpening[] {
  const groups: GroupOpening[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') inClass = true;
    else if (ch === '(') {
      if (source[i + 1] !== '?') groups.push({ name: undefined, at: i, bodyAt: i + 1 });
      else if (source[i + 2] === '<' && source[i + 3] !== '=' && source[i + 3] !== '!') {
        const end = source.indexOf('>', i + 3);
        groups.push({ name: source.slice(i + 3, end), at: i, bodyAt: end + 1 });
      }
    }
  }
  return groups;
}

/**
 * The named groups of a regex with the source of each one's body (what it captures), read from
 * the source; a group whose end cannot be found gets no body.
 */
export function namedGroupBodies(source: string): { name: string; body: string | undefined }[] {
  return groupOpenings(source).flatMap((g) => (g.name === undefined ? [] : [{ name: g.name, body: groupBody(source, g.bodyAt) }]));
}

/** The source from `from` to the parenthesis that closes the group opened just before it. */
function groupBody(source: string, from: number): string | undefined {
  let depth = 0;
  let inClass = false;
  for (let i = from; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) return source.slice(from, i);
      depth--;
    }
  }
  return undefined;
}

/**
 * Names of a regex's capturing groups by index (undefined for unnamed ones), read from the
 * source. Lets a match be read by index, with each group's handling decided once at compile
 * time instead of per line.
 */
export function captureNames(source: string): (string | undefined)[] {
  return groupOpenings(source).map((g) => g.name);
}

/**
 * The same regex with its named groups made plain (same indexes): a match with named groups
 * also builds a `groups` object, one property per name, on every line — and matches are read by
 * index here. Patterns with a named backreference (`\k<name>`) keep their names.
 */
export function withoutGroupNames(source: string): string {
  if (source.includes('\\k<')) return source;
  let out = '';
  let from = 0;
  for (const g of groupOpenings(source)) {
    if (g.name === undefined) continue;
    out += `${source.slice(from, g.at)}(`;
    from = g.bodyAt;
  }
  return out + source.slice(from);
}

const TEXT_FIELD_RE = /^(?:id|.*name|address|domain|fingerprint|tty|reason|message|line|original|logname|ruser|version|execution)$/;
const SPECIAL: Readonly<Record<string, GroupKind>> = {
  timestamp: 'timestamp',
  json: 'json',
  request: 'request',
  message: 'message',
  auditd: 'auditd',
  keycloak: 'keycloak',
  xml: 'xml',
};

function groupHandlers(source: string): GroupHandler[] {
  const handlers: GroupHandler[] = [];
  captureNames(source).forEach((name, i) => {
    if (name === undefined) return;
    const field = name.replaceAll('__', '.');
    // Digits become numbers (ports, pids, status codes), except in names and ids ("0101" is a user).
    const numeric = !TEXT_FIELD_RE.test(field.slice(field.lastIndexOf('.') + 1));
    handlers.push({ index: i + 1, kind: SPECIAL[name] ?? 'field', field, numeric });
  });
  return handlers;
}

/** `^\d{1,15}(?:\.\d{1,6})?$` without a regex (every numeric capture of every line goes through it). */
function isDecimal(value: string): boolean {
  const n = value.length;
  let i = 0;
  while (i < n && isDigit(value.charCodeAt(i))) i++;
  if (i === 0 || i > 15) return false;
  if (i === n) return true;
  if (value.charCodeAt(i) !== DOT) return false;
  const fraction = n - i - 1;
  if (fraction < 1 || fraction > 6) return false;
  for (let j = i + 1; j < n; j++) if (!isDigit(value.charCodeAt(j))) return false;
  return true;
}

const DOT = 46;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function applyGroup(h: GroupHandler, raw: string, out: Record<string, FieldValue>): void {
  switch (h.kind) {
    case 'timestamp':
      out['@timestamp'] = raw;
      return;
    case 'message':
      out.message = raw;
      return;
    case 'json':
      try {
        flattenInto(out, JSON.parse(raw));
      } catch {
        out['log.context'] = raw; // context that is not JSON is kept verbatim
      }
      return;
    case 'request':
      readRequestLine(raw, out);
      return;
    case 'auditd':
      parseAuditFields(raw, String(out['auditd.type'] ?? ''), out);
      return;
    case 'keycloak':
      parseKeycloakEvent(raw, out);
      return;
    case 'xml':
      readXmlElements(raw, out);
      return;
    case 'field': {
      const value = raw.trim();
      if (value === '' || value === '-') return;
      out[h.field] = h.numeric && isDecimal(value) ? Number(value) : value;
    }
  }
}

/** What readRequestLine can write. */
const REQUEST_FIELDS = ['http.request.method', 'url.original', 'http.version', 'http.request.malformed', 'http.request.line'];

/** The fields a pattern's groups can write; undefined when a group writes fields named by the line. */
function writtenFields(handlers: readonly GroupHandler[]): string[] | undefined {
  const fields: string[] = [];
  for (const h of handlers) {
    if (h.kind === 'json' || h.kind === 'auditd' || h.kind === 'keycloak' || h.kind === 'xml') return undefined;
    if (h.kind === 'request') fields.push(...REQUEST_FIELDS);
    else if (h.kind === 'timestamp') fields.push('@timestamp');
    else if (h.kind === 'message') fields.push('message');
    else fields.push(h.field);
  }
  return fields;
}

const REQUEST_RE = /^([A-Z]{1,20}) (\S{1,8192}) HTTP\/(\d(?:\.\d)?)$/;
const LOOSE_REQUEST_RE = /^(\S{1,40})(?: (\S{1,8192}))?/;

/** `GET /x HTTP/1.1`; anything else (no version, binary, `-`) is kept with `http.request.malformed`. */
function readRequestLine(raw: string, out: Record<string, FieldValue>): void {
  const m = REQUEST_RE.exec(raw);
  if (m) {
    out['http.request.method'] = m[1] ?? '';
    out['url.original'] = m[2] ?? '';
    out['http.version'] = m[3] ?? '';
    return;
  }
  out['http.request.malformed'] = true;
  if (raw === '' || raw === '-') return;
  out['http.request.line'] = raw.slice(0, 1024);
  const loose = LOOSE_REQUEST_RE.exec(raw);
  if (loose?.[1] && /^[A-Za-z]{1,20}$/.test(loose[1])) out['http.request.method'] = loose[1].toUpperCase();
  if (loose?.[2]) out['url.original'] = loose[2];
}

/** A syslog header shape: its regex, its groups' handling, and the group holding the program name. */
interface SyslogHeader {
  regex: RegExp;
  handlers: GroupHandler[];
  program: number;
}

function syslogHeader(source: string): SyslogHeader {
  const handlers = groupHandlers(source);
  return { regex: new RegExp(withoutGroupNames(source)), handlers, program: handlers.find((h) => h.field === 'process.name')?.index ?? 0 };
}

/** BSD (and its ISO-time variant) first: most lines are; RFC 5424 only when that fails. Both write the same fields. */
const BSD_HEADER = syslogHeader(SYSLOG_HEADER);
const HEADERS: readonly SyslogHeader[] = [BSD_HEADER, syslogHeader(RFC5424_HEADER)];
const HEADER_WRITES = writtenFields(BSD_HEADER.handlers) ?? [];
/** Every field a syslog header of either shape writes (the subscription filter's field model). */
export const SYSLOG_HEADER_FIELDS: readonly string[] = HEADERS.flatMap((h) => writtenFields(h.handlers) ?? []);
/** The fields special groups write from the line: a request line's parts. */
export const REQUEST_GROUP_FIELDS: readonly string[] = REQUEST_FIELDS;

function holdsAny(text: string, literals: readonly string[]): boolean {
  for (const literal of literals) if (text.includes(literal)) return true;
  return false;
}

/** One compiled pattern: literal pre-check, regex, precomputed group handling, constant fields. */
class PatternMatcher {
  private readonly regex: RegExp;
  /** The same regex for lines too short for its bounded quoted fields' bounds to bind (see shortLineRegex). */
  private readonly short: { regex: RegExp; maxLength: number } | undefined;
  private readonly handlers: GroupHandler[];
  private readonly constants: [string, FieldValue][];
  readonly name: string;
  readonly fallback: boolean;
  private readonly literals: readonly string[] | undefined;
  private readonly once: string | undefined;
  private readonly twice: string | undefined;
  /** Fields a match writes (see ParseOutcome.writes), without and with a syslog header's. */
  readonly writes: ReadonlySet<string> | undefined;
  readonly writesWithHeader: ReadonlySet<string> | undefined;
  /** This pattern's events: a class of their own, sized by this pattern's lines (see eventShape). */
  private readonly newEvent = eventShape();

  constructor(spec: ParserPattern) {
    this.name = spec.name;
    const source = withoutGroupNames(spec.pattern);
    this.regex = new RegExp(source);
    this.short = shortLineRegex(source);
    this.handlers = groupHandlers(spec.pattern);
    this.constants = Object.entries(spec.fields);
    this.fallback = spec.fallback ?? false;
    this.literals = patternLiterals(spec);
    this.once = spec.once;
    this.twice = spec.twice;
    const own = writtenFields(this.handlers);
    const constants = Object.keys(spec.fields);
    this.writes = own && new Set([...own, ...constants]);
    this.writesWithHeader = own && new Set([...own, ...constants, ...HEADER_WRITES]);
  }

  /**
   * The fields of a matching line, or undefined. A pattern with a JSON or auditd group writes
   * names the line chooses, so its event is a hash table (newOpenEvent); others a fixed shape.
   */
  apply(text: string): Record<string, FieldValue> | undefined {
    if (this.literals !== undefined && !holdsAny(text, this.literals)) return undefined;
    if (this.once !== undefined && occurrences(text, this.once) !== 1) return undefined;
    if (this.twice !== undefined && occurrences(text, this.twice) !== 2) return undefined;
    const regex = this.short && text.length <= this.short.maxLength ? this.short.regex : this.regex;
    const m = regex.exec(text);
    if (!m) return undefined;
    const out = this.writes ? this.newEvent() : newOpenEvent();
    for (const [k, v] of this.constants) out[k] = v;
    for (const h of this.handlers) {
      const v = m[h.index];
      if (v !== undefined) applyGroup(h, v, out);
    }
    return out;
  }
}

/** A quoted field's content as web server patterns bound it: characters or escape pairs, at most N of them. */
const BOUNDED_QUOTED = /\(\?:\[\^"\\\\\]\|\\\\\.\)\{0,(\d+)\}/g;
/** The same content unbounded, each run of plain characters one greedy loop (V8 scans it in two thirds of the time). */
const UNROLLED_QUOTED = String.raw`[^"\\]*(?:\\.[^"\\]*)*`;

/**
 * The pattern with each bounded quoted field `(?:[^"\\]|\\.){0,N}` unbounded and unrolled, for
 * lines of at most the smallest N characters, or undefined when it has none. On such a line no
 * field can reach its bound, and both forms take the same characters in the same order (an escape
 * pair is one step of either, and a plain character one), so they match alike and capture alike
 * (a test compares them on generated lines); longer lines keep the bounded form.
 */
export function shortLineRegex(source: string): { regex: RegExp; maxLength: number } | undefined {
  let maxLength = Number.POSITIVE_INFINITY;
  const unrolled = source.replace(BOUNDED_QUOTED, (_, bound: string) => {
    maxLength = Math.min(maxLength, Number(bound));
    return UNROLLED_QUOTED;
  });
  return unrolled === source ? undefined : { regex: new RegExp(unrolled), maxLength };
}

/** How often `text` holds `part`: 0, 1, or 2 for twice or more (all a pattern's checks need). */
function occurrences(text: string, part: string): 0 | 1 | 2 {
  const at = text.indexOf(part);
  if (at === -1) return 0;
  return text.indexOf(part, at + 1) === -1 ? 1 : 2;
}

/** Whole-line patterns, first match wins. */
class RegexParser implements LineParser {
  constructor(
    readonly name: string,
    private readonly matchers: PatternMatcher[],
  ) {}

  parse(line: string): ParseOutcome | undefined {
    for (const m of this.matchers) {
      const fields = m.apply(line);
      if (fields) return { fields, pattern: m.name, fallback: m.fallback, writes: m.writes };
    }
    return undefined;
  }
}

interface ProgramGroup {
  program: RegExp | undefined;
  matchers: PatternMatcher[];
}

/** Syslog families: the header is parsed once, then the body patterns of the line's program. */
class SyslogParser implements LineParser {
  constructor(
    readonly name: string,
    private readonly groups: ProgramGroup[],
  ) {}

  parse(line: string): ParseOutcome | undefined {
    let shape: SyslogHeader | undefined;
    let header: RegExpExecArray | null = null;
    for (const candidate of HEADERS) {
      header = candidate.regex.exec(line);
      if (header) {
        shape = candidate;
        break;
      }
    }
    if (!header || !shape) return undefined;
    let body = line.slice(header[0].length);
    let repeat: number | undefined;
    if (body.startsWith('message repeated ')) {
      const r = REPEATED_RE.exec(body);
      if (r) {
        repeat = Number(r[1]);
        body = r[2] ?? '';
      }
    }
    const program = header[shape.program] ?? '';
    for (const g of this.groups) {
      if (g.program && !g.program.test(program)) continue;
      for (const m of g.matchers) {
        const fields = m.apply(body);
        if (!fields) continue;
        for (const h of shape.handlers) {
          const v = header[h.index];
          if (v !== undefined) applyGroup(h, v, fields);
        }
        const outcome: ParseOutcome = { fields, pattern: m.name, fallback: m.fallback, writes: m.writesWithHeader };
        if (repeat !== undefined) outcome.repeat = repeat;
        return outcome;
      }
    }
    return undefined;
  }
}

export interface CustomParserSpec {
  name: string;
  pattern: string;
  fields: Record<string, FieldValue>;
}

/**
 * A source's parser list, compiled: built-in families by name and the source's own regexes, in
 * the order listed (custom parsers not listed run after). Adjacent parsers of the same kind are
 * merged so a line's syslog header is parsed once. `vpcflow` reads records in `flowLogFormat`
 * (the default format when absent).
 */
export function compileParsers(
  names: readonly string[],
  custom: readonly CustomParserSpec[],
  sourceName: string,
  flowLogFormat?: string,
): LineParser[] {
  const byName = new Map(custom.map((p) => [p.name, p]));
  const units: { name: string; parser: BuiltinParser }[] = [];
  for (const name of names) {
    const own = byName.get(name);
    const builtin = BUILTIN_PARSERS[name];
    if (own) units.push({ name, parser: { patterns: [own] } });
    else if (builtin) for (const p of builtin) units.push({ name, parser: p });
    else {
      throw new UnknownParserError(
        `source '${sourceName}': unknown parser '${name}' (built-in: ${Object.keys(BUILTIN_PARSERS).join(', ')}; or declare it under customParsers)`,
      );
    }
  }
  for (const p of custom) if (!names.includes(p.name)) units.push({ name: p.name, parser: { patterns: [p] } });

  const out: LineParser[] = [];
  let run: { header: boolean; name: string; groups: ProgramGroup[] } | undefined;
  const flush = () => {
    if (!run) return;
    out.push(
      run.header
        ? new SyslogParser(run.name, run.groups)
        : new RegexParser(
            run.name,
            run.groups.flatMap((g) => g.matchers),
          ),
    );
    run = undefined;
  };
  for (const { name, parser } of units) {
    if (parser.flowLog) {
      flush();
      out.push(new FlowLogParser(flowLogFormat));
      continue;
    }
    const header = parser.header === 'syslog';
    if (!run || run.header !== header) {
      flush();
      run = { header, name, groups: [] };
    }
    run.groups.push({
      program: parser.program ? new RegExp(parser.program) : undefined,
      matchers: parser.patterns.map((p) => new PatternMatcher(p)),
    });
  }
  flush();
  return out;
}
