import type { FieldValue } from '../schema/event';
import { API_GATEWAY_PATTERNS, LAMBDA_PATTERNS, RDS_PATTERNS, VPC_FLOW_PATTERNS } from './aws-sources';
import { KEYCLOAK_EVENT_START } from './keycloak';
import { LINUX_AUTH } from './text/linux-auth';
import { MAIL } from './text/mail';
import { PAM_PATTERNS } from './text/pam';
import { authFailure, fields } from './text/parts';
import { SSHD_PATTERNS } from './text/sshd';
import { SYSLOG_FALLBACK, syslog } from './text/syslog';
import { ACCESS_LOG, APACHE_ERROR, NGINX_ERROR } from './text/web-servers';

export { REPEATED_RE, RFC5424_HEADER, SYSLOG_HEADER } from './text/syslog';

/**
 * Built-in text parsers, declared as data (the larger families in ./text/: syslog, sshd, PAM, Linux
 * auth, mail, web servers; the AWS services' in ./aws/): ordered regexes with named groups, exactly like the
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

const PY_TIME = String.raw`^(?<timestamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?<log__level>[A-Z]{1,10}) (?<log__logger>\S{1,200}) `;

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
