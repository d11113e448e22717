import type { BuiltinParser, ParserPattern } from '../builtin-parsers';
import { PAM_FAILURE } from './pam';
import { authFailure, fields, IP } from './parts';
import { syslog } from './syslog';

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

export const MAIL: BuiltinParser[] = MAIL_PATTERNS.map((s) => syslog(s.program, s.patterns));
