import type { FieldValue } from '../schema/event';
import { API_GATEWAY_PATTERNS, LAMBDA_PATTERNS, RDS_PATTERNS, VPC_FLOW_PATTERNS } from './aws-sources';
import { KEYCLOAK_EVENT_START } from './keycloak';

/**
 * Built-in text parsers, declared as data: ordered regexes with named groups, exactly like the
 * custom parsers users write in a source file. Group names use `__` for dots (`source__ip` →
 * `source.ip`); special groups: `timestamp` (the event time), `json` (parsed and merged as app
 * fields), `xml` (flat `<name>value</name>` elements, each a field: src/parse/xml-elements.ts),
 * `request` (an HTTP request line, read leniently), `message`.
 *
 * Syslog-style families declare `header: 'syslog'`: the header (time, host, program[pid]) is
 * parsed once per line and the body patterns of the matching `program` run on the rest.
 * `literal` is a substring the body must contain before its regex is worth running.
 * A `fallback` pattern accepts any line of its kind but understands only the header: such lines
 * count as unparsed, so a blind spot stays visible.
 */
export interface ParserPattern {
  name: string;
  pattern: string;
  fields: Record<string, FieldValue>;
  /** One text, or several of which the line must hold one (a pattern whose alternatives share none). */
  literal?: string | readonly string[];
  /**
   * Text the line must hold exactly once for this pattern to apply. Where a server writes what a
   * client sent unescaped on both sides of a field (nginx's error log: a typed user name before
   * `, client: `, the request after it), a second occurrence means someone wrote one: the line is
   * left to a pattern that does not read that field rather than read a forged value.
   */
  once?: string;
  /** Text the line must hold at least twice: the pattern for the lines a `once` turned away (someone wrote a second one). */
  twice?: string;
  /**
   * Fields a special group (auditd) computes rather than copies from the line, so a
   * subscription filter must not look for their values in it; `prefix*` names a family, `*` all.
   */
  derives?: string[];
  fallback?: boolean;
}

export interface BuiltinParser {
  header?: 'syslog';
  /**
   * VPC Flow Logs records in the source's `flowLogFormat` (src/parse/flow-log-format.ts), read
   * by splitting; `patterns` then declares the default format, for the field check and as the
   * reference the split reader is tested against.
   */
  flowLog?: true;
  /** Regex source the syslog program name must match (header parsers only). */
  program?: string;
  patterns: ParserPattern[];
}

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

const IP = String.raw`[0-9a-fA-F.:]{2,45}`;
const PORT = String.raw`(?: port (?<source__port>\d{1,5}))?`;
const USER_ANY = String.raw`(?<user__name>.{0,100}?)`;
const PREAUTH = String.raw`(?: \[preauth\])?$`;
/** `: RSA SHA256:…` after a public-key attempt. */
const KEY_SUFFIX = String.raw`(?:: (?<ssh__key__type>\S{1,40}) (?<ssh__key__fingerprint>\S{1,200}))?`;

const fields = (category: string, action: string, outcome?: 'success' | 'failure'): Record<string, FieldValue> => ({
  'event.category': category,
  'event.action': action,
  ...(outcome ? { 'event.outcome': outcome } : {}),
});
const authFailure = (action: string) => fields('authentication', action, 'failure');

/**
 * OpenSSH's own messages (auth.c, sshd.c, packet.c, monitor.c log format strings), sshd and
 * sshd-session. sshd logs a typed user name as it was typed, so a name can hold ` from 10.0.0.1
 * port 22`: patterns with a user before the address are anchored at the line's end, where the
 * real address is (the name takes whatever comes before it).
 */
const SSHD_PATTERNS: ParserPattern[] = [
  {
    name: 'sshd_failed',
    literal: 'Failed ',
    pattern: String.raw`^Failed (?<ssh__method>[\w/-]{1,40}) for (?:invalid user )?${USER_ANY} from (?<source__ip>${IP}) port (?<source__port>\d{1,5})(?: ssh2)?${KEY_SUFFIX}$`,
    fields: authFailure('ssh_login'),
  },
  {
    name: 'sshd_accepted',
    literal: 'Accepted ',
    pattern: String.raw`^Accepted (?<ssh__method>[\w/-]{1,40}) for ${USER_ANY} from (?<source__ip>${IP}) port (?<source__port>\d{1,5})(?: ssh2)?${KEY_SUFFIX}$`,
    fields: fields('authentication', 'ssh_login', 'success'),
  },
  {
    name: 'sshd_postponed',
    literal: 'Postponed ',
    pattern: String.raw`^Postponed (?<ssh__method>[\w/-]{1,40}) for ${USER_ANY} from (?<source__ip>${IP}) port (?<source__port>\d{1,5})(?: ssh2)?${PREAUTH}`,
    fields: fields('authentication', 'ssh_login_postponed'),
  },
  {
    name: 'sshd_invalid_user',
    literal: 'nvalid user ',
    pattern: String.raw`^Invalid user ${USER_ANY} from (?<source__ip>${IP})${PORT}$`,
    fields: authFailure('ssh_invalid_user'),
  },
  {
    name: 'sshd_userauth_invalid',
    literal: 'input_userauth_request',
    pattern: String.raw`^input_userauth_request: invalid user ${USER_ANY}${PREAUTH}`,
    fields: authFailure('ssh_userauth_invalid_user'),
  },
  {
    name: 'sshd_max_auth',
    literal: 'maximum authentication attempts',
    pattern: String.raw`^(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?${USER_ANY} from (?<source__ip>${IP})${PORT}(?: ssh2)?${PREAUTH}`,
    fields: authFailure('ssh_max_auth_exceeded'),
  },
  {
    name: 'sshd_too_many_failures',
    literal: 'Too many authentication failures',
    pattern: String.raw`^Disconnecting(?: (?:invalid|authenticating) user (?<user__name>\S{1,100}) (?<source__ip>${IP})${PORT})?: Too many authentication failures(?: for (?:invalid user )?(?<user__target__name>.{0,100}?))?${PREAUTH}`,
    fields: authFailure('ssh_max_auth_exceeded'),
  },
  {
    name: 'sshd_received_disconnect',
    literal: 'Received disconnect from ',
    pattern: String.raw`^(?:error: )?Received disconnect from (?<source__ip>${IP})(?: port (?<source__port>\d{1,5}))?: ?(?<ssh__disconnect__code>\d{1,3}): (?<ssh__disconnect__reason>.{0,300}?)${PREAUTH}`,
    fields: fields('network', 'ssh_disconnect'),
  },
  {
    name: 'sshd_disconnected',
    literal: 'Disconnected from ',
    pattern: String.raw`^Disconnected from (?:(?:invalid |authenticating )?user (?<user__name>\S{1,100}) )?(?<source__ip>${IP})${PORT}${PREAUTH}`,
    fields: fields('network', 'ssh_disconnect'),
  },
  {
    name: 'sshd_connection_closed',
    literal: 'Connection ',
    pattern: String.raw`^Connection (?<ssh__close>closed|reset) by (?:(?:invalid |authenticating )?user (?<user__name>\S{1,100}) )?(?<source__ip>${IP})${PORT}${PREAUTH}`,
    fields: fields('network', 'ssh_connection_closed'),
  },
  {
    name: 'sshd_no_identification',
    literal: 'Did not receive identification string',
    pattern: String.raw`^Did not receive identification string from (?<source__ip>${IP})${PORT}$`,
    fields: fields('network', 'ssh_no_identification', 'failure'),
  },
  {
    name: 'sshd_reverse_mapping',
    literal: 'reverse mapping checking',
    pattern: String.raw`^reverse mapping checking getaddrinfo for (?<source__domain>\S{1,255}) \[(?<source__ip>${IP})\] failed`,
    fields: fields('network', 'ssh_reverse_mapping_failed', 'failure'),
  },
  {
    name: 'sshd_address_mismatch',
    literal: 'does not map back to the address',
    pattern: String.raw`^Address (?<source__ip>${IP}) maps to (?<source__domain>\S{1,255}), but this does not map back to the address`,
    fields: fields('network', 'ssh_reverse_mapping_failed', 'failure'),
  },
  {
    name: 'sshd_kex_identification',
    literal: 'kex_exchange_identification',
    pattern: String.raw`^(?:error: )?kex_exchange_identification: (?<error__message>.{0,300})$`,
    fields: fields('network', 'ssh_kex_error', 'failure'),
  },
  {
    name: 'sshd_bad_protocol',
    literal: 'Bad protocol version identification',
    pattern: String.raw`^Bad protocol version identification '(?<ssh__client_banner>.{0,300})' from (?<source__ip>${IP})${PORT}$`,
    fields: fields('network', 'ssh_bad_protocol', 'failure'),
  },
  {
    name: 'sshd_banner_error',
    literal: 'banner exchange: ',
    pattern: String.raw`^banner exchange: Connection from (?<source__ip>${IP})${PORT}: (?<error__message>.{0,300})$`,
    fields: fields('network', 'ssh_bad_protocol', 'failure'),
  },
  {
    // auth-pam.c, beside the `Failed keyboard-interactive/pam` line of the same attempt (its own
    // action, so the attempt is not counted twice). The host may be a name (UseDNS).
    name: 'sshd_pam_auth_failure',
    literal: 'PAM: Authentication failure for ',
    pattern: String.raw`^(?:error: )?PAM: Authentication failure for (?:illegal user )?${USER_ANY} from (?<source__address>\S{1,255})$`,
    fields: authFailure('ssh_pam_auth_failure'),
  },
  {
    // OpenSSH 9.8+ PerSourcePenalties: sshd refuses a source it has penalized (failed
    // authentication, crashes, no authentication at all).
    name: 'sshd_penalty_drop',
    literal: 'penalty: ',
    pattern: String.raw`^drop connection #\d{1,10} from \[(?<source__ip>${IP})\]:(?<source__port>\d{1,5}) on \[(?<destination__ip>${IP})\]:(?<destination__port>\d{1,5}) penalty: (?<event__reason>.{1,200})$`,
    fields: fields('network', 'ssh_penalty_drop', 'failure'),
  },
  {
    name: 'sshd_penalty_applied',
    literal: 'srclimit_penalise: ',
    pattern: String.raw`^srclimit_penalise: ipv[46]: (?:new|extend(?:ing)?) (?<source__ip>${IP})\/\d{1,3} deny for (?<ssh__penalty_seconds>\d{1,10}) seconds?`,
    fields: fields('network', 'ssh_penalty_applied', 'failure'),
  },
  {
    // MaxStartups: sshd is dropping unauthenticated connections (a connection flood or a brute-force wave).
    name: 'sshd_maxstartups',
    literal: 'MaxStartups throttling',
    pattern: String.raw`^(?<ssh__throttling>beginning|exited) MaxStartups throttling(?: after [\d:]{1,20}, (?<ssh__connections_dropped>\d{1,10}) connections dropped)?$`,
    fields: fields('network', 'ssh_maxstartups_throttling'),
  },
  {
    name: 'sshd_negotiation_failed',
    literal: 'Unable to negotiate with ',
    pattern: String.raw`^Unable to negotiate with (?<source__ip>${IP})${PORT}: (?<error__message>.{0,300}?)${PREAUTH}`,
    fields: fields('network', 'ssh_negotiation_failed', 'failure'),
  },
  {
    name: 'sshd_auth_timeout',
    literal: 'Timeout before authentication',
    pattern: String.raw`^(?:fatal: )?Timeout before authentication for (?<source__ip>${IP})${PORT}$`,
    fields: fields('network', 'ssh_auth_timeout', 'failure'),
  },
  {
    name: 'sshd_connection_from',
    literal: 'Connection from ',
    pattern: String.raw`^Connection from (?<source__ip>${IP}) port (?<source__port>\d{1,5}) on (?<destination__ip>${IP}) port (?<destination__port>\d{1,5})`,
    fields: fields('network', 'ssh_connection'),
  },
  {
    name: 'sshd_session_started',
    literal: 'Starting session: ',
    pattern: String.raw`^Starting session: (?<ssh__session_type>.{1,100}?) for (?<user__name>\S{1,100}) from (?<source__ip>${IP})${PORT}`,
    fields: fields('session', 'ssh_session_started'),
  },
  {
    name: 'sshd_subsystem',
    literal: 'subsystem request for ',
    pattern: String.raw`^subsystem request for (?<ssh__subsystem>\S{1,40}) by user (?<user__name>\S{1,100})`,
    fields: fields('session', 'ssh_subsystem'),
  },
  {
    name: 'sshd_service',
    pattern: String.raw`^(?:Server listening on \S{1,64} port \d{1,5}\.?|Received signal \d{1,3}; terminating\.|Received SIGHUP; restarting\.|Close session: .*|User child is on pid \d+|Accepted key .*)$`,
    fields: fields('process', 'sshd_service'),
  },
  {
    name: 'sshd_error',
    pattern: String.raw`^(?:fatal|error): (?<error__message>.{0,500})$`,
    fields: fields('network', 'ssh_error', 'failure'),
  },
];

const PAM_AUTH = String.raw`logname=(?<pam__logname>\S{0,100}) uid=(?<pam__uid>\d{1,10}) euid=\d{1,10} tty=(?<process__tty>\S{0,64}) ruser=(?<pam__ruser>\S{0,100}) rhost=(?<source__address>\S{0,255})(?: +user=(?<user__name>\S{1,100}))?`;

/** pam_unix's failed authentication, after its `pam_unix(svc:auth): ` tag. */
const PAM_FAILURE = String.raw`authentication failure; ${PAM_AUTH}\s*$`;

/** Linux-PAM pam_unix messages, in both the modern `pam_unix(svc:auth): …` and legacy `svc(pam_unix)[pid]:` forms. */
const PAM_PATTERNS: ParserPattern[] = [
  {
    name: 'pam_auth_failure',
    literal: 'authentication failure; ',
    pattern: String.raw`^(?:pam_unix\((?<pam__service>[\w-]{1,32}):auth\): )?${PAM_FAILURE}`,
    fields: authFailure('pam_auth_failure'),
  },
  {
    name: 'pam_more_failures',
    literal: 'more authentication failure',
    pattern: String.raw`^PAM (?<pam__more_failures>\d{1,6}) more authentication failures?; ${PAM_AUTH}\s*$`,
    fields: authFailure('pam_auth_failure_summary'),
  },
  {
    name: 'pam_user_unknown',
    literal: 'check pass; user unknown',
    pattern: String.raw`^(?:pam_unix\((?<pam__service>[\w-]{1,32}):auth\): )?check pass; user unknown$`,
    fields: authFailure('pam_user_unknown'),
  },
  {
    name: 'pam_max_retries',
    literal: 'ignoring max retries',
    pattern: String.raw`^PAM service\((?<pam__service>[\w-]{1,32})\) ignoring max retries; (?<pam__attempts>\d{1,6}) > \d{1,6}$`,
    fields: authFailure('pam_max_retries'),
  },
  {
    name: 'pam_session',
    literal: 'session ',
    pattern: String.raw`^(?:pam_unix\((?<pam__service>[\w-]{1,32}):session\): )?session (?<pam__session>opened|closed) for user (?<user__name>[^\s(]{1,100})(?:\(uid=\d{1,10}\))?(?: by (?<pam__by>.{0,100}))?$`,
    fields: fields('session', 'pam_session'),
  },
];

const SYSTEM_PATTERNS: { program: string; patterns: ParserPattern[] }[] = [
  {
    program: '^sudo$',
    patterns: [
      {
        name: 'sudo_command',
        literal: 'COMMAND=',
        pattern: String.raw`^\s{0,8}(?<user__name>\S{1,100}) : (?:(?<sudo__failure>\d{1,3} incorrect password attempts?|user NOT in sudoers|command not allowed) ; )?(?:TTY=(?<process__tty>\S{1,64}) ; )?PWD=(?<process__working_directory>\S{1,1024}) ; USER=(?<user__target__name>\S{1,100}) ;(?: GROUP=\S{1,100} ;)?(?: TSID=\S{1,64} ;)? COMMAND=(?<process__command_line>.*)$`,
        fields: fields('process', 'command_executed'),
      },
    ],
  },
  {
    program: '^su$',
    patterns: [
      {
        name: 'su_failed',
        literal: 'SU ',
        pattern: String.raw`^(?:FAILED|BAD) SU \(to (?<user__target__name>\S{1,100})\) (?<user__name>\S{1,100}) on (?<process__tty>\S{1,64})$`,
        fields: authFailure('su'),
      },
      {
        name: 'su_ok',
        literal: 'Successful su',
        pattern: String.raw`^Successful su for (?<user__target__name>\S{1,100}) by (?<user__name>\S{1,100})$`,
        fields: fields('authentication', 'su', 'success'),
      },
    ],
  },
  {
    program: '^(?:CRON|CROND|crond?)$',
    patterns: [
      {
        name: 'cron_command',
        literal: ' CMD ',
        pattern: String.raw`^\((?<user__name>[^)\s]{1,100})\) CMD \((?<process__command_line>.*)\)$`,
        fields: fields('process', 'cron_command'),
      },
    ],
  },
  {
    // The syslog daemon's own start and stop: the last line a host sends before its logging is
    // stopped (`systemctl stop rsyslog`, or a shutdown) is often its `exiting on signal 15`.
    program: '^rsyslogd$',
    patterns: [
      {
        name: 'syslog_daemon_start',
        literal: '] start',
        pattern: String.raw`^\[origin software="rsyslogd" swVersion="(?<service__version>[^"]{1,32})" x-pid="(?<process__pid>\d{1,10})"[^\]]{0,200}\] start$`,
        fields: fields('process', 'syslog_daemon_start'),
      },
      {
        name: 'syslog_daemon_exit',
        literal: 'exiting on signal',
        pattern: String.raw`^\[origin software="rsyslogd" swVersion="(?<service__version>[^"]{1,32})" x-pid="(?<process__pid>\d{1,10})"[^\]]{0,200}\] exiting on signal \d{1,3}\.?$`,
        fields: fields('process', 'syslog_daemon_exit'),
      },
    ],
  },
  {
    program: '^(?:login|klogind|ftpd|vsftpd)$',
    patterns: [
      {
        name: 'login_failed',
        literal: 'FAILED LOGIN',
        pattern: String.raw`^FAILED LOGIN (?:\(\d{1,3}\) )?(?:\d{1,3} )?(?:on '?(?<process__tty>[^' ]{1,64})'? )?FROM '?(?<source__address>[^' ,]{1,255})'? FOR '?(?<user__name>[^' ,]{1,100})'?, .*$`,
        fields: authFailure('host_login'),
      },
      {
        name: 'klogind_failed',
        literal: 'uthentication failed',
        pattern: String.raw`^Authentication failed from (?<source__address>${IP}) \((?<source__domain>[^)\s]{0,255})\): (?<error__message>.{0,300})$|^Kerberos authentication failed\s*$`,
        fields: authFailure('host_kerberos_login'),
      },
      {
        name: 'ftp_connection',
        literal: 'connection from ',
        pattern: String.raw`^connection from (?<source__ip>${IP}) \((?<source__domain>[^)\s]{0,255})\)(?: at .{0,40})?$`,
        fields: fields('network', 'ftp_connection'),
      },
    ],
  },
];

/**
 * Mail servers' logins, the other door an internet-facing host's passwords are guessed through:
 * Postfix's SMTP AUTH (smtpd's SASL lines, under any service name — `postfix/submission/smtpd`,
 * `postfix-incoming/smtpd`) and Dovecot's IMAP/POP3 logins. Written from Postfix's smtpd_sasl_glue.c
 * and smtpd.c log formats and Dovecot's login_log_format (`%s: %$` with `user=<%u>, method=%m,
 * rip=%r, lip=%l`), including 2.3's `Disconnected: Connection closed (auth failed, 3 attempts in
 * 12 secs)` and 2.3.18's trailing `(auth_failed)` reason code. Each Dovecot line closes one
 * connection and says how many passwords it tried: its `event.repeat_count` makes it count as
 * that many failures, as a syslog repeat does.
 */
// Postfix names the client `host[address]`, `unknown` when its reverse lookup failed or did not match.
const MAIL_CLIENT = String.raw`(?:unknown|(?<source__domain>[\w.-]{1,255}))\[(?<source__ip>${IP})\](?::\d{1,5})?`;
// A typed user name comes before the addresses Dovecot writes after it, and may hold `>, rip=`:
// the name takes everything up to the last `>, … rip=` of the line, which is Dovecot's own.
const DOVECOT_PEER = String.raw`(?:user=<(?<user__name>.{0,200})>, )?(?:method=(?<mail__auth_method>[\w-]{1,32}), )?rip=(?<source__ip>${IP}), lip=(?<destination__ip>${IP})`;
const MAIL_PATTERNS: { program: string; patterns: ParserPattern[] }[] = [
  {
    program: String.raw`^postfix(?:-[\w-]{1,40})?/[\w/-]{1,80}$`,
    patterns: [
      {
        // "Connection lost to authentication server" is the server's own failure, not a wrong password.
        name: 'postfix_sasl_unavailable',
        literal: 'Connection lost to authentication server',
        pattern: String.raw`^warning: ${MAIL_CLIENT}: SASL (?<mail__sasl_method>[\w-]{1,32}) authentication failed: (?<error__message>Connection lost to authentication server.{0,200})$`,
        fields: fields('authentication', 'mail_smtp_auth_unavailable'),
      },
      {
        name: 'postfix_sasl_failed',
        literal: ' authentication failed: ',
        pattern: String.raw`^warning: ${MAIL_CLIENT}: SASL (?<mail__sasl_method>[\w-]{1,32}) authentication failed: (?<error__message>.{0,300}?)(?:, sasl_username=(?<user__name>.{1,512}))?$`,
        fields: authFailure('mail_smtp_auth'),
      },
      {
        name: 'postfix_sasl_login',
        literal: 'sasl_username=',
        pattern: String.raw`^(?<mail__queue__id>\w{5,20}): client=${MAIL_CLIENT}, sasl_method=(?<mail__sasl_method>[\w-]{1,32}), sasl_username=(?<user__name>[^,\s]{1,512})`,
        fields: fields('authentication', 'mail_smtp_auth', 'success'),
      },
      {
        name: 'postfix_reject',
        literal: ': reject: ',
        pattern: String.raw`^(?<mail__queue__id>NOQUEUE|\w{5,20}): reject: (?<mail__smtp_command>[A-Z]{4,10}) from ${MAIL_CLIENT}: (?<mail__reply_code>\d{3}) (?:(?<mail__status_code>\d\.\d{1,3}\.\d{1,3}) )?(?<error__message>[^;]{0,1000})`,
        fields: fields('network', 'mail_smtp_reject', 'failure'),
      },
    ],
  },
  {
    program: '^dovecot(?:-auth)?$',
    patterns: [
      {
        name: 'dovecot_login_failed',
        literal: '(auth failed, ',
        pattern: String.raw`^(?<mail__protocol>[a-z0-9]{1,20})-login: (?:Info: )?[^(]{1,200}\(auth failed, (?<event__repeat_count>\d{1,6}) attempts?(?: in \d{1,9} secs?)?\)(?: \([\w-]{1,40}\))?: ${DOVECOT_PEER}`,
        fields: authFailure('mail_login'),
      },
      {
        name: 'dovecot_login',
        literal: '-login: ',
        pattern: String.raw`^(?<mail__protocol>[a-z0-9]{1,20})-login: (?:Info: )?Login: ${DOVECOT_PEER}`,
        fields: fields('authentication', 'mail_login', 'success'),
      },
      {
        // Dovecot's auth process passing PAM's line on (`dovecot: auth: pam_unix(dovecot:auth): …`).
        name: 'dovecot_pam_failure',
        literal: 'authentication failure; ',
        pattern: String.raw`^auth(?:-worker)?(?:\([^)]{0,64}\))?: (?:Info: )?pam_unix\((?<pam__service>[\w-]{1,32}):auth\): ${PAM_FAILURE}`,
        fields: authFailure('pam_auth_failure'),
      },
    ],
  },
];

const syslog = (program: string | undefined, patterns: ParserPattern[]): BuiltinParser => ({
  header: 'syslog',
  ...(program ? { program } : {}),
  patterns,
});
const SYSLOG_FALLBACK = syslog(undefined, [{ name: 'syslog', pattern: '(?<message>.*)', fields: {}, fallback: true }]);
const MAIL: BuiltinParser[] = MAIL_PATTERNS.map((s) => syslog(s.program, s.patterns));
/** Everything a Linux auth log (/var/log/secure, auth.log) carries besides sshd, and the mail servers' logins. */
const LINUX_AUTH: BuiltinParser[] = [
  syslog(undefined, PAM_PATTERNS),
  ...SYSTEM_PATTERNS.map((s) => syslog(s.program, s.patterns)),
  syslog('^sudo$', [{ name: 'sudo_other', pattern: '(?<message>.*)', fields: fields('process', 'sudo') }]),
  ...MAIL,
];

const PY_TIME = String.raw`^(?<timestamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?<log__level>[A-Z]{1,10}) (?<log__logger>\S{1,200}) `;
const QUOTED = String.raw`(?:[^"\\]|\\.){0,8192}`;

/** %h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-agent}i" ["$http_x_forwarded_for"]]: the combined format and nginx's `main`. */
const COMBINED = String.raw`(?<source__address>\S{1,255}) \S{1,255} (?<user__name>\S{1,255}) \[(?<timestamp>[^\]]{1,40})\] "(?<request>${QUOTED})" (?<http__response__status_code>\d{3}|-) (?<http__response__body__bytes>\d{1,15}|-)(?: "(?<http__request__referrer>${QUOTED})" "(?<user_agent__original>${QUOTED})"(?: "(?<http__request__x_forwarded_for>${QUOTED})")?)?`;

const ACCESS_LOG: BuiltinParser = {
  patterns: [
    {
      name: 'combined',
      // The request line is read leniently (scanners send no version, binary junk or nothing) so
      // that traffic stays visible; the last quoted field is nginx's default `main` format.
      pattern: `^${COMBINED}`,
      fields: { 'event.category': 'web' },
    },
    {
      // Apache's vhost_combined (Debian's other_vhosts_access.log): `%v:%p` before the rest.
      name: 'vhost_combined',
      pattern: String.raw`^(?<url__domain>[^\s:]{1,255}):(?<url__port>\d{1,5}) ${COMBINED}`,
      fields: { 'event.category': 'web' },
    },
  ],
};

// nginx error log: `2024/05/01 12:00:00 [error] 1234#1234: *5 <message>, client: 203.0.113.9, server: _, request: "GET / HTTP/1.1", …`
const NGINX_ERROR_HEAD = String.raw`^(?<timestamp>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?<log__level>[a-z]{1,8})\] (?<process__pid>\d{1,10})#\d{1,10}: (?:\*(?<nginx__connection_id>\d{1,20}) )?`;
const NGINX_ERROR_CLIENT = String.raw`, client: (?<source__address>${IP})(?:, server: (?<nginx__server>[^,]{0,255}))?(?:, request: "(?<request>${QUOTED})")?`;
/** How an auth_basic failure goes on after the typed user name: its closing quote and the reason. */
const NGINX_AUTH_FAILED = String.raw`"(?:: password mismatch| was not found in ")`;
const webAuthFailure = (): Record<string, FieldValue> => ({ ...authFailure('http_basic_auth'), 'event.dataset': 'nginx.error' });
const LOG_INJECTION: Record<string, FieldValue> = {
  'event.category': 'intrusion_detection',
  'event.action': 'log_injection',
  'event.dataset': 'nginx.error',
};

const NGINX_ERROR: BuiltinParser = {
  patterns: [
    {
      // auth_basic: a wrong password, or a user the password file does not have.
      name: 'nginx_auth_failed',
      once: ', client: ',
      literal: 'user "',
      pattern: String.raw`${NGINX_ERROR_HEAD}user "(?<user__name>[^"]{0,255})"(?:: password mismatch| was not found in "[^"]{0,1024}")${NGINX_ERROR_CLIENT}`,
      fields: webAuthFailure(),
    },
    {
      // The same failure with a second `, client: ` (a forged one in the user name or the request):
      // still a failure for the user rules, with no address to attribute it to.
      name: 'nginx_auth_failed_ambiguous',
      literal: 'user "',
      pattern: String.raw`${NGINX_ERROR_HEAD}user "(?<user__name>[^"]{0,255})${NGINX_AUTH_FAILED}`,
      fields: webAuthFailure(),
    },
    {
      name: 'nginx_rate_limited',
      once: ', client: ',
      literal: 'limiting ',
      pattern: String.raw`${NGINX_ERROR_HEAD}limiting (?:requests|connections)(?:, excess: [\d.]{1,20})? by zone "(?<nginx__zone>[^"]{1,255})"${NGINX_ERROR_CLIENT}`,
      fields: { 'event.category': 'web', 'event.action': 'rate_limited', 'event.outcome': 'failure', 'event.dataset': 'nginx.error' },
    },
    {
      name: 'nginx_forbidden',
      once: ', client: ',
      literal: 'access forbidden by rule',
      pattern: String.raw`${NGINX_ERROR_HEAD}access forbidden by rule${NGINX_ERROR_CLIENT}`,
      fields: { 'event.category': 'web', 'event.action': 'access_forbidden', 'event.outcome': 'failure', 'event.dataset': 'nginx.error' },
    },
    {
      name: 'nginx_error_client',
      once: ', client: ',
      pattern: String.raw`${NGINX_ERROR_HEAD}(?<message>.{0,4096}?)${NGINX_ERROR_CLIENT}`,
      fields: { 'event.category': 'web', 'event.dataset': 'nginx.error' },
    },
    {
      name: 'nginx_error',
      pattern: String.raw`${NGINX_ERROR_HEAD}(?<message>.*)$`,
      fields: { 'event.category': 'web', 'event.dataset': 'nginx.error' },
    },
    {
      // No head: the rest of an auth failure after a newline in the typed user name, which nginx
      // writes as typed. The lines before it were written by the name — whatever they claim, a
      // client is forging entries in this log. The address nginx wrote is the client's, unless
      // the name or the request wrote a second one (then none is taken).
      name: 'nginx_log_injection',
      once: ', client: ',
      literal: ', client: ',
      pattern: String.raw`^(?<nginx__injected_text>[^\n]{0,1024}?)"(?:: password mismatch| was not found in "[^"\n]{0,1024}")${NGINX_ERROR_CLIENT}`,
      fields: LOG_INJECTION,
    },
    {
      name: 'nginx_log_injection_ambiguous',
      literal: ', client: ',
      pattern: String.raw`^(?<nginx__injected_text>[^\n]{0,1024}?)${NGINX_AUTH_FAILED}`,
      fields: LOG_INJECTION,
    },
  ],
};

// Apache 2.4 error log: `[Wed May 01 12:00:04.123456 2024] [auth_basic:error] [pid 1234] [client 203.0.113.9:51234] AH01618: <message>`
// (the client address is matched lazily so that its `:port` is not read as part of it).
const APACHE_ERROR_HEAD = String.raw`^\[(?<timestamp>[A-Z][a-z]{2} [A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,6})? \d{4})\] \[(?:(?<apache__module>[\w-]{1,64}):)?(?<log__level>[a-z]{1,8}\d?)\] \[pid (?<process__pid>\d{1,10})(?::tid \d{1,20})?\](?: \[client (?<source__address>${IP}?)(?::(?<source__port>\d{1,5}))?\])? `;

const APACHE_ERROR: BuiltinParser = {
  patterns: [
    {
      // mod_auth_basic: AH01617 wrong password, AH01618 unknown user.
      name: 'apache_auth_failed',
      literal: 'AH0161',
      pattern: String.raw`${APACHE_ERROR_HEAD}(?<error__code>AH0161[78]): user (?<user__name>[^\s:]{1,255})(?:: authentication failure for "(?<url__original>[^"]{0,1024})": Password Mismatch| not found: (?<url__path>\S{0,1024}))`,
      fields: { ...authFailure('http_basic_auth'), 'event.dataset': 'apache.error' },
    },
    {
      name: 'apache_error',
      pattern: String.raw`${APACHE_ERROR_HEAD}(?:(?<error__code>AH\d{5}): )?(?<message>.*)$`,
      fields: { 'event.category': 'web', 'event.dataset': 'apache.error' },
    },
  ],
};

/** `[2025-03-02 03:12:40] production.WARNING: ` (Laravel / Monolog's line format). */
const LARAVEL_HEADER = String.raw`\[(?<timestamp>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:[+-]\d\d:?\d\d|Z)?)\] (?<service__environment>[\w-]{1,64})\.(?<log__level>[A-Z]{1,10}): `;

export const BUILTIN_PARSERS: Record<string, BuiltinParser[]> = {
  openssh: [
    syslog('^sshd(?:-session|-auth)?$', SSHD_PATTERNS),
    ...LINUX_AUTH,
    syslog('^sshd', [{ name: 'sshd_other', pattern: '(?<message>.*)', fields: fields('network', 'ssh_session'), fallback: true }]),
    SYSLOG_FALLBACK,
  ],
  syslog: [syslog('^sshd(?:-session|-auth)?$', SSHD_PATTERNS), ...LINUX_AUTH, SYSLOG_FALLBACK],
  mail: [...MAIL, syslog(undefined, PAM_PATTERNS), SYSLOG_FALLBACK],
  paramiko: [
    {
      patterns: [
        {
          name: 'paramiko_auth_failed',
          literal: 'Authentication (',
          pattern: String.raw`${PY_TIME}Authentication \((?<ssh__method>[\w/-]{1,40})\) failed\.`,
          fields: authFailure('ssh_login'),
        },
        {
          name: 'paramiko_auth_ok',
          literal: 'Authentication (',
          pattern: String.raw`${PY_TIME}Authentication \((?<ssh__method>[\w/-]{1,40})\) successful!`,
          fields: fields('authentication', 'ssh_login', 'success'),
        },
        {
          name: 'paramiko_unknown_host_key',
          literal: ' host key for ',
          pattern: String.raw`${PY_TIME}Unknown (?<ssh__key__type>\S{1,40}) host key for (?<destination__address>[^:\s]{1,255}): (?<ssh__key__fingerprint>\S{1,200})`,
          fields: fields('network', 'host_key_unknown', 'failure'),
        },
        {
          name: 'paramiko_bad_host_key',
          literal: 'ost key',
          pattern: `${PY_TIME}(?:BadHostKeyException|Host key for server '?(?<destination__address>[^' ]{1,255})'? does not match)`,
          fields: fields('network', 'host_key_verification_failed', 'failure'),
        },
        {
          name: 'paramiko_exec',
          literal: ['Running', 'Executing', 'exec_command'],
          pattern: `${PY_TIME}(?:Running|Executing|exec_command):? (?<process__command_line>.+)$`,
          fields: fields('process', 'command_executed'),
        },
      ],
    },
  ],
  ssh_client: [
    {
      patterns: [
        {
          name: 'ssh_host_key_failed',
          literal: ['Host key verification failed', 'REMOTE HOST IDENTIFICATION HAS CHANGED'],
          pattern: '(?:Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED)',
          fields: fields('network', 'host_key_verification_failed', 'failure'),
        },
      ],
    },
  ],
  spring_boot: [
    {
      patterns: [
        {
          // Spring Boot's console and file format, 2.x (`2025-03-02 03:12:41.554`) and 3.x (ISO time
          // with zone, optionally the application name in brackets): `%5p ${PID} --- [%15.15t] %-40.40logger : %m`.
          name: 'spring_boot',
          literal: ' --- [',
          pattern: String.raw`^(?<timestamp>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\.\d{3}(?:Z|[+-]\d\d:?\d\d)?) {1,2}(?<log__level>TRACE|DEBUG|INFO|WARN|ERROR|FATAL) (?<process__pid>\d{1,10}) --- (?:\[(?<service__name>[^\]\s][^\]\n]{0,99})\] )?\[ {0,15}(?<process__thread__name>[^\]\s][^\]\n]{0,99})\] (?<log__logger>\S{1,200}) {0,40}: (?<message>.*)$`,
          fields: {},
        },
      ],
    },
  ],
  python_logging: [
    {
      patterns: [
        { name: 'python_asctime', pattern: `${PY_TIME}(?<message>.*)$`, fields: {} },
        {
          name: 'python_basic',
          pattern: String.raw`^(?<log__level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?<log__logger>[\w.]{1,200}):(?<message>.*)$`,
          fields: {},
        },
      ],
    },
  ],
  vpcflow: [{ flowLog: true, patterns: VPC_FLOW_PATTERNS }],
  lambda: [{ patterns: LAMBDA_PATTERNS }],
  rds: [{ patterns: RDS_PATTERNS }],
  apigateway: [{ patterns: API_GATEWAY_PATTERNS }],
  auditd: [
    {
      patterns: [
        {
          name: 'auditd',
          literal: 'msg=audit(',
          // Group `auditd` reads the record's key=value list (see src/parse/auditd.ts); its type comes first.
          pattern: String.raw`^(?:node=(?<host__name>\S{1,255}) )?type=(?<auditd__type>[A-Z_0-9]{1,40}) msg=audit\((?<timestamp>\d{9,11}\.\d{1,6}):(?<auditd__serial>\d{1,20})\): ?(?<auditd>.*)$`,
          fields: {},
          // Values are hex-decoded, and the records of one event are joined across lines: a rule
          // can match what no single line says.
          derives: ['*'],
        },
      ],
    },
  ],
  nginx_combined: [ACCESS_LOG],
  apache_combined: [ACCESS_LOG],
  keycloak: [
    {
      patterns: [
        {
          // Keycloak (Quarkus) `%d %-5p [%c] (%t) %s`: the events logger's key=value list, login or admin events (src/parse/keycloak.ts).
          name: 'keycloak_event',
          literal: '[org.keycloak.events] ',
          pattern: String.raw`^(?<timestamp>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) {1,2}(?<log__level>[A-Z]{4,5}) {1,2}\[org\.keycloak\.events\] \((?<process__thread__name>[^)]{1,200})\) (?<keycloak>${KEYCLOAK_EVENT_START}.*)$`,
          // What the list computes (KEYCLOAK_DERIVES) is known to the filter compiler, for JSON logging too.
          fields: { 'event.dataset': 'keycloak.event' },
        },
      ],
    },
  ],
  nginx_error: [NGINX_ERROR],
  apache_error: [APACHE_ERROR],
  laravel: [
    {
      patterns: [
        {
          name: 'laravel',
          pattern: String.raw`^${LARAVEL_HEADER}(?<message>[^{\n]*?) ?(?<json>\{.*\})?$`,
          fields: {},
        },
        {
          // A context that is not one JSON object on the line: an exception's, whose stack trace
          // continues on the lines after (read as the event's first line, see normalize.ts).
          name: 'laravel_entry',
          pattern: String.raw`^${LARAVEL_HEADER}(?<message>.*)$`,
          fields: {},
        },
      ],
    },
  ],
};

export const BUILTIN_PARSER_NAMES = Object.keys(BUILTIN_PARSERS);

/** Every pattern of a built-in parser, for regex-safety checks and the filter compiler. */
export function builtinPatterns(name: string): ParserPattern[] {
  return (BUILTIN_PARSERS[name] ?? []).flatMap((p) => p.patterns);
}
