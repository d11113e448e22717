import type { ParserPattern } from '../builtin-parsers';
import { authFailure, fields } from './parts';

/** PAM's own lines (pam_unix and friends), whichever program logs them: sshd, su, login, a mail server's auth. */

const PAM_AUTH = String.raw`logname=(?<pam__logname>\S{0,100}) uid=(?<pam__uid>\d{1,10}) euid=\d{1,10} tty=(?<process__tty>\S{0,64}) ruser=(?<pam__ruser>\S{0,100}) rhost=(?<source__address>\S{0,255})(?: +user=(?<user__name>\S{1,100}))?`;

/** pam_unix's failed authentication, after its `pam_unix(svc:auth): ` tag. */
export const PAM_FAILURE = String.raw`authentication failure; ${PAM_AUTH}\s*$`;

/** Linux-PAM pam_unix messages, in both the modern `pam_unix(svc:auth): …` and legacy `svc(pam_unix)[pid]:` forms. */
export const PAM_PATTERNS: ParserPattern[] = [
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
