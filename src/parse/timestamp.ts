/**
 * Event time from the line itself. Apps write their time in a handful of shapes; the ones without
 * a zone are read in the source's `timezone` (IANA name, default UTC), and syslog's, which also
 * has no year, take the delivery time's year, rolled back when that lands in the future (a
 * December line read in January belongs to last year). Anything else is undefined and the caller falls back to
 * the CloudWatch timestamp (and counts that it did).
 */
export interface TimeContext {
  /** Delivery time (CloudWatch event timestamp, or the replay's clock): the syslog year is inferred from it. */
  reference: number;
  /** IANA zone for times written without one. */
  timezone?: string | undefined;
}

/** No log line of a system this stack watches was written before 2000 or after 2099: such a time is a default, a wrong clock or a field an attacker filled. */
const EARLIEST_LINE_TIME_MS = Date.UTC(2000, 0, 1);
const LATEST_LINE_TIME_MS = Date.UTC(2100, 0, 1);
/**
 * Ahead of a real delivery (a CloudWatch timestamp: CloudWatch takes no event 2 hours ahead) by
 * more than a day — zones run to UTC+14 — a line's time is not when it happened. The same day of
 * slack picks a year-less syslog line's year.
 */
export const MAX_AHEAD_OF_DELIVERY_MS = 86_400_000;

/**
 * A time read from the line, if it can be the event's: from 2000 to 2099 and, where the delivery
 * time is real (`maxAhead`), not further ahead of it. Anything else is not used and the delivery
 * time stands in, as for a line with no time: an event dated 2999 sat in windows no other event
 * reaches, kept its condition from ever resolving (every later event of it "late"), and a replay
 * swept toward it for hours. Replays of plain lines and rule tests deliver at a made-up time and
 * set no `maxAhead`.
 */
export function plausibleLineTime(ms: number | undefined, delivery: number, maxAhead: number): number | undefined {
  return ms !== undefined && ms >= EARLIEST_LINE_TIME_MS && ms < LATEST_LINE_TIME_MS && ms <= delivery + maxAhead ? ms : undefined;
}

const MONTH_INDEX: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// 2025-03-02T03:12:40.118Z, 2025-03-02 03:12:40,118 (Python), 2025-03-02 03:12:40 (Laravel), with or
// without a zone; 2025/03/02 03:12:40 (nginx error log); 20250302 03:12:40 (MariaDB's audit plugin).
const ISO_RE = /^(\d{4})([-/]?)(\d\d)\2(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d(?::?\d\d)?)?$/;
// Wed May 01 12:00:04.123456 2024 (Apache 2.4 error log), no zone.
const CTIME_RE = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))? (\d{4})$/;
// 02/Mar/2025:03:12:40 +0000 (Apache / nginx access logs).
const CLF_RE = /^(\d{1,2})\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d)(?: ([+-]\d\d)(\d\d))?$/;
// Mar  2 03:12:40 (BSD syslog, no year, no zone), optionally with fractions and a trailing year.
const SYSLOG_RE = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?: (\d{4}))?$/;
// Seconds (flow logs, with or without a fraction), milliseconds, microseconds (Aurora MySQL's audit log), nanoseconds.
const EPOCH_TEXT_RE = /^\d{10}(?:\.\d+)?$|^\d{13}$|^\d{16}$|^\d{19}$/;

/**
 * A time written as epoch text (a flow record's start): what parseTimestamp reads from a text of
 * digits alone, whose checks before this one (the last answer, the same hour) hold only texts
 * with separators in them.
 */
export function epochTextToMs(value: string): number | undefined {
  return EPOCH_TEXT_RE.test(value) ? epochToMs(Number(value)) : undefined;
}

export function parseTimestamp(value: unknown, ctx?: TimeContext): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? epochToMs(value) : undefined;
  if (typeof value !== 'string' || value.length < 8 || value.length > 40) return undefined;
  const timezone = ctx?.timezone;
  // Lines of one stream share their second: the last ISO / CLF answer is reused (syslog's depends on the reference).
  if (value === lastAbsolute.value && timezone === lastAbsolute.timezone) return lastAbsolute.ms;
  const inHour = sameHour(value, timezone);
  if (inHour !== undefined) return inHour;
  // Epoch text (flow logs' start) first: none of the shapes below is all digits.
  if (EPOCH_TEXT_RE.test(value)) return epochToMs(Number(value));
  const iso = ISO_RE.exec(value);
  if (iso) return rememberHour(value, 'iso', timezone, rememberAbsolute(value, timezone, fromIso(iso, timezone)));
  const clf = CLF_RE.exec(value);
  if (clf) return rememberHour(value, 'clf', timezone, rememberAbsolute(value, timezone, fromClf(clf, timezone)));
  const syslog = SYSLOG_RE.exec(value);
  if (syslog) return fromSyslog(syslog, ctx);
  // Its groups are the syslog shape's, in the same order, and it always has the year.
  const ctime = CTIME_RE.exec(value);
  if (ctime) return rememberAbsolute(value, timezone, fromSyslog(ctime, ctx));
  // Other shapes Date understands and that carry their own zone (RFC 2822, ...).
  if (!/(?:Z|GMT|UTC|[+-]\d\d:?\d\d)$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

const lastAbsolute: { value: string; timezone: string | undefined; ms: number | undefined } = {
  value: '',
  timezone: undefined,
  ms: undefined,
};

function rememberAbsolute(value: string, timezone: string | undefined, ms: number | undefined): number | undefined {
  lastAbsolute.value = value;
  lastAbsolute.timezone = timezone;
  lastAbsolute.ms = ms;
  return ms;
}

/**
 * The hour of the last ISO / CLF time read: lines of a stream share their hour far more often
 * than their second, and minutes and seconds then sit at fixed places. A time with the same text
 * up to its hour, two-digit minutes and seconds (and an ISO fraction), and the same zone text is
 * that hour's start plus those, which is what the full parse computes — without the regex and
 * the calendar. Times read in a configured zone are left to the full parse (its offset is looked
 * up per instant).
 */
const lastHour: { prefix: string; clf: boolean; zone: string; hourMs: number } = { prefix: '', clf: false, zone: '', hourMs: 0 };
const COLON = 58;
const DOT = 46;
const COMMA = 44;

function digitAt(value: string, i: number): number {
  const d = value.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : -1;
}

function sameHour(value: string, timezone: string | undefined): number | undefined {
  const { prefix, zone } = lastHour;
  if (prefix === '' || !value.startsWith(prefix) || (zone === '' && timezone !== undefined && timezone !== 'UTC')) return undefined;
  const i = prefix.length;
  const m1 = digitAt(value, i);
  const m2 = digitAt(value, i + 1);
  const s1 = digitAt(value, i + 3);
  const s2 = digitAt(value, i + 4);
  if (m1 < 0 || m2 < 0 || value.charCodeAt(i + 2) !== COLON || s1 < 0 || s2 < 0) return undefined;
  const minute = m1 * 10 + m2;
  const second = s1 * 10 + s2;
  if (minute > 59 || second > 60) return undefined;
  let at = i + 5;
  let ms = 0;
  const separator = value.charCodeAt(at);
  if (!lastHour.clf && (separator === DOT || separator === COMMA)) {
    // Up to nine digits; the first three are milliseconds.
    let digits = 0;
    for (at++; digits < 9 && digitAt(value, at) >= 0; at++, digits++) if (digits < 3) ms += digitAt(value, at) * 10 ** (2 - digits);
    if (digits === 0) return undefined;
  }
  if (value.length - at !== zone.length || !value.endsWith(zone)) return undefined;
  return lastHour.hourMs + minute * 60_000 + second * 1000 + ms;
}

/** Remembers the hour of a time just read (see sameHour). */
function rememberHour(value: string, shape: 'iso' | 'clf', timezone: string | undefined, ms: number | undefined): number | undefined {
  if (ms === undefined) return ms;
  // ISO: the minutes follow the hour's colon (YYYY-MM-DDTHH: or YYYYMMDD HH:). CLF: the day has one or two digits, then /Mon/YYYY:HH:.
  const i = value.indexOf(':') + (shape === 'iso' ? 1 : 4);
  let at = i + 5;
  let fraction = 0;
  if (shape === 'iso' && (value.charCodeAt(at) === DOT || value.charCodeAt(at) === COMMA)) {
    for (at++; digitAt(value, at) >= 0; at++) fraction++;
  }
  const zone = value.slice(at);
  if (zone === '' && timezone !== undefined && timezone !== 'UTC') return ms;
  const minute = digitAt(value, i) * 10 + digitAt(value, i + 1);
  const second = digitAt(value, i + 3) * 10 + digitAt(value, i + 4);
  const millis = fraction === 0 ? 0 : Number(value.slice(i + 6, i + 6 + Math.min(fraction, 3)).padEnd(3, '0'));
  lastHour.prefix = value.slice(0, i);
  lastHour.clf = shape === 'clf';
  lastHour.zone = zone;
  lastHour.hourMs = ms - minute * 60_000 - second * 1000 - millis;
  return ms;
}

/**
 * Epoch seconds, milliseconds, microseconds or nanoseconds: 1e11 ms is 1973 and 1e11 s the year
 * 5138, and the same factor of a thousand separates each unit from the next (1e14, 1e17).
 */
function epochToMs(n: number): number | undefined {
  const ms = n < 1e11 ? Math.round(n * 1000) : n < 1e14 ? Math.round(n) : n < 1e17 ? Math.round(n / 1000) : Math.round(n / 1e6);
  return ms > 0 && ms < 8.64e15 ? ms : undefined;
}

function fromIso(m: RegExpExecArray, timezone: string | undefined): number | undefined {
  const [, y, , mo, d, h, mi, s, frac, zone] = m;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms] as const;
  if (!validFields(...fields)) return undefined;
  if (zone !== undefined) return Date.UTC(...fields) - zoneOffsetMs(zone);
  return zonedTime(fields, timezone);
}

function fromClf(m: RegExpExecArray, timezone: string | undefined): number | undefined {
  const [, d, mon, y, h, mi, s, zh, zm] = m;
  const month = MONTH_INDEX[mon ?? ''];
  if (month === undefined) return undefined;
  const fields = [Number(y), month, Number(d), Number(h), Number(mi), Number(s), 0] as const;
  if (!validFields(...fields)) return undefined;
  if (zh === undefined) return zonedTime(fields, timezone);
  const sign = zh.startsWith('-') ? -1 : 1;
  return Date.UTC(...fields) - sign * (Math.abs(Number(zh)) * 60 + Number(zm)) * 60_000;
}

function fromSyslog(m: RegExpExecArray, ctx: TimeContext | undefined): number | undefined {
  const [, mon, d, h, mi, s, frac, year] = m;
  const month = MONTH_INDEX[mon ?? ''];
  if (month === undefined) return undefined;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const at = (y: number) => {
    const fields = [y, month, Number(d), Number(h), Number(mi), Number(s), ms] as const;
    return validFields(...fields) ? zonedTime(fields, ctx?.timezone) : undefined;
  };
  if (year !== undefined) return at(Number(year));
  if (!ctx) return undefined;
  // No year: the latest year that does not put the event in the future (a day of slack for zones
  // and skew), so a December line read in January is last year's and a January line read on
  // December 31 by a host ahead of UTC is next year's.
  const refYear = new Date(ctx.reference).getUTCFullYear();
  for (const y of [refYear + 1, refYear, refYear - 1]) {
    const t = at(y);
    if (t !== undefined && t <= ctx.reference + MAX_AHEAD_OF_DELIVERY_MS) return t;
  }
  return undefined;
}

function validFields(y: number, mo: number, d: number, h: number, mi: number, s: number, _ms: number): boolean {
  if (y < 1970 || y > 9999 || mo < 0 || mo > 11 || h > 23 || mi > 59 || s > 60) return false;
  // Reject 31 Feb and the like: the day must exist in that month (computed, not a Date per line).
  return d >= 1 && d <= (mo === 1 ? (isLeapYear(y) ? 29 : 28) : (DAYS_IN_MONTH[mo] ?? 0));
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);

function zoneOffsetMs(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0')) * 60_000;
}

type Fields = readonly [number, number, number, number, number, number, number];

/** Wall-clock fields in an IANA zone → epoch ms (UTC when no zone is configured). */
function zonedTime(fields: Fields, timezone: string | undefined): number {
  const wall = Date.UTC(...fields);
  if (!timezone || timezone === 'UTC') return wall;
  // The offset at the guess, then at the corrected instant (they differ only across a DST change).
  const first = wall - offsetAt(wall, timezone);
  return wall - offsetAt(first, timezone);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at an instant, in ms (Europe/Berlin in summer: +2 h). */
export function offsetAt(instant: number, timezone: string): number {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** True when the runtime knows this IANA zone name (validated when a source is loaded). */
export function isKnownTimezone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
