import type { BuiltinParser, ParserPattern } from '../builtin-parsers';

/** Syslog's headers (BSD and RFC 5424) and what the families that read syslog lines share. */

/**
 * BSD syslog (`Mar  2 03:12:40 host prog[pid]: `), its ISO-time variant (rsyslog, journald
 * exports) and the legacy `prog(pam_unix)[pid]:` tag; an optional `<PRI>`. Lines without a
 * program tag (`syslogd 1.4.1: restart.`) still give their time and host.
 */
export const SYSLOG_HEADER = String.raw`^(?:<\d{1,3}>)?(?<timestamp>[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,6})?|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) (?<host__name>\S{1,255}) (?:(?<process__name>[^\s\[\]:(]{1,64}(?:\([\w-]{1,32}\))?)(?:\[(?<process__pid>\d{1,10})\])?: )?`;

/**
 * RFC 5424 (`<38>1 2024-05-01T12:34:57.003Z host sshd 1234 - - message`): what syslog forwarders
 * and rsyslog's RFC 5424 templates write. Same fields as the BSD header; `-` (nil) values are
 * left out; structured data and a BOM before the message are skipped.
 */
export const RFC5424_HEADER = String.raw`^<\d{1,3}>1 (?:(?<timestamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d))|-) (?<host__name>\S{1,255}) (?<process__name>\S{1,48}) (?<process__pid>\S{1,128}) \S{1,32} (?:-|(?:\[(?:[^\]\\]|\\.){0,2048}\]){1,16}) ?\uFEFF?`;

/** rsyslog repeat reduction: the body stands for N more copies of the inner message. */
export const REPEATED_RE = /^message repeated (\d{1,9}) times: \[ ?(.*?) ?\]$/;

/** A syslog family: the header read once, then `patterns` on the body of lines whose program matches `program` (any, without). */
export const syslog = (program: string | undefined, patterns: ParserPattern[]): BuiltinParser => ({
  header: 'syslog',
  ...(program ? { program } : {}),
  patterns,
});

/** Any syslog line, understood to its header only: counted as unparsed, so a blind spot stays visible. */
export const SYSLOG_FALLBACK = syslog(undefined, [{ name: 'syslog', pattern: '(?<message>.*)', fields: {}, fallback: true }]);
