import type { CustomParser } from '../schema/rule';

/**
 * Built-in text parsers, declared exactly like the custom parsers users write in a source file:
 * an ordered list of regexes with named groups. Group names use `__` for dots (`source__ip` → `source.ip`);
 * a group named `timestamp` is parsed as the event time, and `json` is parsed and merged as app fields.
 * The first pattern that matches a line wins, so specific patterns come before generic ones.
 */
type BuiltinParser = Omit<CustomParser, 'fields'> & { fields: Record<string, string | number | boolean> };

const SYSLOG = String.raw`^(?<syslog_time>[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d) (?<host__name>\S+) `;
const SSHD = String.raw`${SYSLOG}sshd\[(?<process__pid>\d+)\]: `;
const PY_TIME = String.raw`^(?<timestamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?<log__level>[A-Z]+) (?<log__logger>\S+) `;

const auth = (outcome: 'success' | 'failure', action: string) => ({
  'event.category': 'authentication',
  'event.action': action,
  'event.outcome': outcome,
});

export const BUILTIN_PARSERS: Record<string, BuiltinParser[]> = {
  openssh: [
    {
      name: 'sshd_failed',
      pattern: String.raw`${SSHD}Failed (?<ssh__method>\S+) for (?:invalid user )?(?<user__name>\S*) from (?<source__ip>\S+) port (?<source__port>\d+)`,
      fields: auth('failure', 'ssh_login'),
    },
    {
      name: 'sshd_accepted',
      pattern: String.raw`${SSHD}Accepted (?<ssh__method>\S+) for (?<user__name>\S+) from (?<source__ip>\S+) port (?<source__port>\d+)`,
      fields: auth('success', 'ssh_login'),
    },
    {
      name: 'sshd_invalid_user',
      pattern: String.raw`${SSHD}Invalid user (?<user__name>\S*) from (?<source__ip>\S+)`,
      fields: auth('failure', 'ssh_invalid_user'),
    },
    {
      name: 'sshd_max_auth',
      pattern: String.raw`${SSHD}error: maximum authentication attempts exceeded for (?:invalid user )?(?<user__name>\S+) from (?<source__ip>\S+)`,
      fields: auth('failure', 'ssh_max_auth_exceeded'),
    },
    {
      name: 'sshd_command',
      pattern: String.raw`${SYSLOG}sudo(?:\[\d+\])?: +(?<user__name>\S+) : (?:TTY=\S+ ; )?PWD=\S+ ; USER=(?<user__target__name>\S+) ; COMMAND=(?<process__command_line>.*)$`,
      fields: { 'event.category': 'process', 'event.action': 'command_executed' },
    },
    {
      name: 'ssh_host_key_failed',
      pattern: `(?:Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED)`,
      fields: { 'event.category': 'network', 'event.action': 'host_key_verification_failed', 'event.outcome': 'failure' },
    },
    {
      name: 'sshd_other',
      pattern: `${SSHD}(?<message>.*)$`,
      fields: { 'event.category': 'network', 'event.action': 'ssh_session' },
    },
  ],
  paramiko: [
    {
      name: 'paramiko_auth_failed',
      pattern: String.raw`${PY_TIME}Authentication \((?<ssh__method>[\w-]+)\) failed\.`,
      fields: auth('failure', 'ssh_login'),
    },
    {
      name: 'paramiko_auth_ok',
      pattern: String.raw`${PY_TIME}Authentication \((?<ssh__method>[\w-]+)\) successful!`,
      fields: auth('success', 'ssh_login'),
    },
    {
      name: 'paramiko_unknown_host_key',
      pattern: String.raw`${PY_TIME}Unknown (?<ssh__key_type>\S+) host key for (?<destination__address>[^:\s]+): (?<ssh__fingerprint>\S+)`,
      fields: { 'event.category': 'network', 'event.action': 'host_key_unknown', 'event.outcome': 'failure' },
    },
    {
      name: 'paramiko_bad_host_key',
      pattern: `${PY_TIME}.*(?:BadHostKeyException|Host key for server '?(?<destination__address>[^' ]+)'? does not match)`,
      fields: { 'event.category': 'network', 'event.action': 'host_key_verification_failed', 'event.outcome': 'failure' },
    },
    {
      name: 'paramiko_exec',
      pattern: `${PY_TIME}(?:Running|Executing|exec_command):? (?<process__command_line>.+)$`,
      fields: { 'event.category': 'process', 'event.action': 'command_executed' },
    },
  ],
  python_logging: [
    {
      name: 'python_asctime',
      pattern: `${PY_TIME}(?<message>.*)$`,
      fields: {},
    },
    {
      name: 'python_basic',
      pattern: String.raw`^(?<log__level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?<log__logger>[\w.]+):(?<message>.*)$`,
      fields: {},
    },
  ],
  nginx_combined: [
    {
      name: 'combined',
      pattern: String.raw`^(?<source__ip>[0-9a-fA-F.:]+) \S+ (?<user__name>\S+) \[(?<timestamp>[^\]]+)\] "(?<http__request__method>[A-Z]+) (?<url__original>\S+)(?: HTTP/(?<http__version>[\d.]+))?" (?<http__response__status_code>\d{3}) (?<http__response__body__bytes>\d+|-)(?: "(?<http__request__referrer>[^"]*)" "(?<user_agent__original>[^"]*)")?`,
      fields: { 'event.category': 'web' },
    },
  ],
  laravel: [
    {
      name: 'laravel',
      pattern: String.raw`^\[(?<timestamp>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:?\d\d|Z)?)\] (?<service__environment>[\w-]+)\.(?<log__level>[A-Z]+): (?<message>[^{]*?) ?(?<json>\{.*\})?$`,
      fields: {},
    },
  ],
};
BUILTIN_PARSERS.apache_combined = BUILTIN_PARSERS.nginx_combined ?? [];

export const BUILTIN_PARSER_NAMES = Object.keys(BUILTIN_PARSERS);
