import { type FieldValue, textValue } from '../schema/event';

/**
 * journald records shipped as JSON: `journalctl -o json`, Fluent Bit's `systemd` input, Vector's
 * `journald` source. Amazon Linux 2023 keeps its system log in the journal only (no rsyslog, no
 * /var/log/secure), so this is how sshd, sudo and PAM reach CloudWatch Logs from its hosts. A
 * record becomes the syslog line rsyslog would have written for it — ISO time, host,
 * `identifier[pid]: message` — and that line is read by the same parsers as /var/log/secure.
 */
export interface JournalRecord {
  /** The equivalent syslog line. */
  line: string;
  /** Whether the record carried its own time (else the CloudWatch timestamp stands in). */
  ownTime: boolean;
  /** Journal fields with no place in the syslog line, in ECS names. */
  fields: Record<string, FieldValue>;
}

/** syslog priorities (0 emerg … 7 debug) as the normalized log levels. */
const PRIORITY_LEVELS = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'];
/** The levels a record's `PRIORITY` becomes (the subscription filter's field model). */
export const JOURNAL_LEVELS: readonly string[] = [...new Set(PRIORITY_LEVELS)];
/** The journal's own fields a record keeps, as written, under names of their own. */
export const JOURNAL_FIELDS: readonly string[] = ['systemd.unit', 'process.executable', 'log.syslog.appname'];
/** Header fields of the syslog line a record stands for, made one token each (spaces become `_`). */
export const JOURNAL_TOKENS: readonly string[] = ['host.name', 'process.name'];
/** Keys one of which every record holds: what names its program. */
export const JOURNAL_MARKERS: readonly string[] = ['_COMM', 'SYSLOG_IDENTIFIER'];

/**
 * The level of a `PRIORITY` the journal writes as a digit string (a number from some shippers).
 * Anything else — empty, null, a boolean — names no level: `Number('')` is 0, which would read
 * as emergency and make the line a fatal one.
 */
function priorityLevel(priority: unknown): string | undefined {
  const text = textValue(priority);
  const digit = typeof priority === 'number' ? priority : text !== undefined && /^\d$/.test(text) ? Number(text) : Number.NaN;
  return Number.isInteger(digit) ? PRIORITY_LEVELS[digit] : undefined;
}

const field = (o: object, key: string): unknown => Reflect.get(o, key);

/** A header token: no whitespace, or it would move every field after it. */
const token = (s: string): string => s.replace(/\s+/g, '_').slice(0, 255);

/**
 * The record as a syslog line, when `value` is a journal record: a string message and what
 * logged it. A message the journal kept as bytes (an array: not UTF-8) is not one.
 *
 * The program the line is read as is `_COMM`, the kernel's name for the process that wrote the
 * record, where the record has it; `SYSLOG_IDENTIFIER` is any text the writer chose
 * (`logger -t sshd`), kept as `log.syslog.appname`. So a line that says it is sshd but was written
 * by `logger` is not read as sshd's — it cannot frame an address or fake a login — and a rule sees
 * the two names differ (integrity.forged_auth_log).
 */
export function journalRecord(value: unknown, receivedAt: number): JournalRecord | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const claimed = textValue(field(value, 'SYSLOG_IDENTIFIER'));
  const writer = textValue(field(value, '_COMM'));
  const identifier = writer ?? claimed;
  // Vector's journald source renames MESSAGE and _HOSTNAME to message and host.
  const message = textValue(field(value, 'MESSAGE')) ?? (identifier ? textValue(field(value, 'message')) : undefined);
  if (!identifier || message === undefined) return undefined;
  const host = textValue(field(value, '_HOSTNAME')) ?? textValue(field(value, 'host')) ?? '-';
  const pid = textValue(String(field(value, '_PID') ?? field(value, 'SYSLOG_PID') ?? ''));
  // __REALTIME_TIMESTAMP: microseconds since the epoch, as a string.
  const micros = Number(textValue(field(value, '__REALTIME_TIMESTAMP')) ?? Number.NaN);
  const ownTime = Number.isFinite(micros) && micros > 0 && micros < 8.64e18;
  const at = new Date(ownTime ? Math.floor(micros / 1000) : receivedAt);
  if (Number.isNaN(at.getTime())) return undefined;
  const pidPart = pid && /^\d{1,10}$/.test(pid) ? `[${pid}]` : '';
  const fields: Record<string, FieldValue> = {};
  const unit = textValue(field(value, '_SYSTEMD_UNIT'));
  if (unit) fields['systemd.unit'] = unit;
  const exe = textValue(field(value, '_EXE'));
  if (exe) fields['process.executable'] = exe;
  if (claimed) fields['log.syslog.appname'] = claimed;
  const level = priorityLevel(field(value, 'PRIORITY'));
  if (level) fields['log.level'] = level;
  return { line: `${at.toISOString()} ${token(host)} ${token(identifier)}${pidPart}: ${message}`, ownTime, fields };
}
