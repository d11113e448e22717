import type { BuiltinParser, ParserPattern } from '../builtin-parsers';
import { MAIL } from './mail';
import { PAM_PATTERNS } from './pam';
import { authFailure, fields, IP } from './parts';
import { syslog } from './syslog';

/** What a Linux system's own programs log about who got in: sudo, su, cron, login, the syslog daemon, klogind. */
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

/** Everything a Linux auth log (/var/log/secure, auth.log) carries besides sshd, and the mail servers' logins. */
export const LINUX_AUTH: BuiltinParser[] = [
  syslog(undefined, PAM_PATTERNS),
  ...SYSTEM_PATTERNS.map((s) => syslog(s.program, s.patterns)),
  syslog('^sudo$', [{ name: 'sudo_other', pattern: '(?<message>.*)', fields: fields('process', 'sudo') }]),
  ...MAIL,
];
