import type { FieldValue } from '../../schema/event';
import type { BuiltinParser } from '../builtin-parsers';
import { authFailure, IP } from './parts';

/** Web servers' own logs: the access log (nginx and Apache combined), nginx's and Apache's error logs. */

const QUOTED = String.raw`(?:[^"\\]|\\.){0,8192}`;

/** %h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-agent}i" ["$http_x_forwarded_for"]]: the combined format and nginx's `main`. */
const COMBINED = String.raw`(?<source__address>\S{1,255}) \S{1,255} (?<user__name>\S{1,255}) \[(?<timestamp>[^\]]{1,40})\] "(?<request>${QUOTED})" (?<http__response__status_code>\d{3}|-) (?<http__response__body__bytes>\d{1,15}|-)(?: "(?<http__request__referrer>${QUOTED})" "(?<user_agent__original>${QUOTED})"(?: "(?<http__request__x_forwarded_for>${QUOTED})")?)?`;

export const ACCESS_LOG: BuiltinParser = {
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

export const NGINX_ERROR: BuiltinParser = {
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

export const APACHE_ERROR: BuiltinParser = {
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
