import type { ParserPattern } from '../builtin-parsers';
import { authFailure, fields, IP, PORT } from './parts';

const USER_ANY = String.raw`(?<user__name>.{0,100}?)`;

const PREAUTH = String.raw`(?: \[preauth\])?$`;

/** `: RSA SHA256:…` after a public-key attempt. */
const KEY_SUFFIX = String.raw`(?:: (?<ssh__key__type>\S{1,40}) (?<ssh__key__fingerprint>\S{1,200}))?`;

/**
 * OpenSSH's own messages (auth.c, sshd.c, packet.c, monitor.c log format strings), sshd and
 * sshd-session. sshd logs a typed user name as it was typed, so a name can hold ` from 10.0.0.1
 * port 22`: patterns with a user before the address are anchored at the line's end, where the
 * real address is (the name takes whatever comes before it).
 */
export const SSHD_PATTERNS: ParserPattern[] = [
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
