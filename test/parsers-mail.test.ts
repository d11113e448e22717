import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { Normalizer } from '../src/parse/normalize';
import type { NormalizedEvent } from '../src/schema/event';
import type { SourceDefinition } from '../src/schema/rule';

/**
 * Mail servers' login lines, one per shape, written from Postfix's smtpd SASL and reject log
 * formats (under the service names Debian and others give smtpd) and Dovecot's login_log_format
 * across 2.2 and 2.3, as they reach a log group through syslog. No source names the log group:
 * the default parsers must take them, as they take sshd's.
 */
const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const REF = Date.parse('2026-11-30T12:00:00Z');
const H = 'Mar  3 04:10:01 mx1';

function parse(line: string, logGroup = '/var/log/maillog', n = normalizer) {
  const r = n.normalize(line, { logGroup, logStream: 'mx1', id: '1', timestamp: REF });
  if (!r.ok) throw new Error(r.skip.detail);
  return r;
}

const failure = (action: string) => ({ 'event.category': 'authentication', 'event.action': action, 'event.outcome': 'failure' });
const success = (action: string) => ({ 'event.category': 'authentication', 'event.action': action, 'event.outcome': 'success' });

const SHAPES: [string, string, Record<string, unknown>][] = [
  [
    'Postfix SASL failure, client without a name',
    `${H} postfix/smtpd[2211]: warning: unknown[203.0.113.45]: SASL LOGIN authentication failed: UGFzc3dvcmQ6`,
    { ...failure('mail_smtp_auth'), 'source.ip': '203.0.113.45', 'mail.sasl_method': 'LOGIN', 'process.name': 'postfix/smtpd' },
  ],
  [
    'Postfix SASL failure, named client, submission service, user name logged (Postfix 3.x)',
    `${H} postfix/submission/smtpd[2212]: warning: mail.example.net[203.0.113.46]: SASL PLAIN authentication failed: authentication failure, sasl_username=info@example.com`,
    {
      ...failure('mail_smtp_auth'),
      'source.ip': '203.0.113.46',
      'source.domain': 'mail.example.net',
      'user.name': 'info@example.com',
      'error.message': 'authentication failure',
    },
  ],
  [
    'Postfix SASL failure, a second instance (postfix-incoming) and IPv6',
    `${H} postfix-incoming/smtps/smtpd[42]: warning: unknown[2001:db8::7]: SASL login authentication failed: Password:`,
    { ...failure('mail_smtp_auth'), 'source.ip': '2001:db8::7', 'mail.sasl_method': 'login' },
  ],
  [
    'Postfix SASL login',
    `${H} postfix/submission/smtpd[2213]: 4F2A31234: client=unknown[203.0.113.52]:51234, sasl_method=LOGIN, sasl_username=bob@example.com`,
    { ...success('mail_smtp_auth'), 'source.ip': '203.0.113.52', 'user.name': 'bob@example.com', 'mail.queue.id': '4F2A31234' },
  ],
  [
    'Postfix relay attempt rejected',
    `${H} postfix/smtpd[8738]: NOQUEUE: reject: RCPT from host-1.example.org[198.51.100.4]: 554 5.7.1 <x@example.org>: Relay access denied; from=<a@example.com> to=<x@example.org> proto=SMTP helo=<h>`,
    {
      'event.action': 'mail_smtp_reject',
      'source.ip': '198.51.100.4',
      'mail.smtp_command': 'RCPT',
      'mail.reply_code': 554,
      'mail.status_code': '5.7.1',
      'error.message': '<x@example.org>: Relay access denied',
    },
  ],
  [
    'Dovecot 2.2 IMAP failure',
    `${H} dovecot: imap-login: Disconnected (auth failed, 2 attempts): user=<bob>, method=PLAIN, rip=203.0.113.47, lip=10.0.0.5, TLS`,
    {
      ...failure('mail_login'),
      'user.name': 'bob',
      'source.ip': '203.0.113.47',
      'destination.ip': '10.0.0.5',
      'mail.protocol': 'imap',
      'event.repeat_count': 2,
    },
  ],
  [
    'Dovecot 2.3 POP3 failure with its pid and timing',
    `${H} dovecot[442]: pop3-login: Aborted login (auth failed, 1 attempts in 17 secs): user=<test>, method=PLAIN, rip=203.0.113.48, lip=10.0.0.5, session=<YADINsQCDs5B>`,
    { ...failure('mail_login'), 'user.name': 'test', 'source.ip': '203.0.113.48', 'mail.protocol': 'pop3', 'event.repeat_count': 1 },
  ],
  [
    'Dovecot 2.3.18 failure with its reason code',
    `${H} dovecot: imap-login: Login aborted: Connection closed (auth failed, 3 attempts in 15 secs) (auth_failed): user=<dave>, method=PLAIN, rip=203.0.113.49, lip=10.0.0.5, TLS, session=<y>`,
    { ...failure('mail_login'), 'user.name': 'dave', 'source.ip': '203.0.113.49', 'event.repeat_count': 3 },
  ],
  [
    'Dovecot failure without a user name',
    `${H} dovecot: imap-login: Disconnected: Inactivity (auth failed, 1 attempts in 180 secs): method=PLAIN, rip=203.0.113.50, lip=10.0.0.5, TLS`,
    { ...failure('mail_login'), 'source.ip': '203.0.113.50', 'mail.auth_method': 'PLAIN' },
  ],
  [
    'Dovecot login',
    `${H} dovecot: imap-login: Login: user=<bob@example.com>, method=PLAIN, rip=203.0.113.53, lip=10.0.0.5, mpid=4242, TLS, session=<abc>`,
    { ...success('mail_login'), 'user.name': 'bob@example.com', 'source.ip': '203.0.113.53' },
  ],
  [
    "Dovecot's auth process passing PAM's failure on",
    `${H} dovecot: auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=bob rhost=203.0.113.54  user=bob`,
    { ...failure('pam_auth_failure'), 'pam.service': 'dovecot', 'source.ip': '203.0.113.54', 'user.name': 'bob' },
  ],
];

describe('mail server shapes', () => {
  it.each(SHAPES)('%s', (_, line, expected) => {
    const r = parse(line);
    expect(r.parsed).toBe(true);
    expect(r.timeFallback).toBe(false);
    expect(r.event).toMatchObject({ ...expected, 'host.name': 'mx1' });
  });

  it('a mailbox name without a user is no user, not an empty one', () => {
    const r = parse(
      `${H} dovecot: pop3-login: Disconnected (auth failed, 1 attempts): user=<>, method=PLAIN, rip=203.0.113.55, lip=10.0.0.5`,
    );
    expect(r.event['user.name']).toBeUndefined();
    expect(r.event['source.ip']).toBe('203.0.113.55');
  });

  it('the server losing its authentication service is not a wrong password', () => {
    const r = parse(
      `${H} postfix/smtpd[2211]: warning: unknown[203.0.113.57]: SASL LOGIN authentication failed: Connection lost to authentication server`,
    );
    expect(r.event['event.action']).toBe('mail_smtp_auth_unavailable');
    expect(r.event['event.outcome']).toBeUndefined();
  });

  it('a source file can name the family (`mail`) for a mail log group of its own', () => {
    const source: SourceDefinition = {
      source: {
        name: 'mx',
        description: 'the mail relay',
        logGroups: ['/mx/*'],
        format: 'text',
        parsers: ['mail'],
        customParsers: [],
        lookups: [],
        fieldMap: {},
        valueMap: {},
        fields: {},
      },
    };
    const own = new Normalizer([source]);
    const r = parse(
      `${H} dovecot: imap-login: Disconnected (auth failed, 2 attempts): user=<bob>, method=PLAIN, rip=203.0.113.47, lip=10.0.0.5`,
      '/mx/1',
      own,
    );
    expect(r.event).toMatchObject({ ...failure('mail_login'), 'event.repeat_count': 2 });
    const pam = parse(
      `${H} auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser= rhost=203.0.113.9`,
      '/mx/1',
      own,
    );
    expect(pam.event).toMatchObject({ ...failure('pam_auth_failure'), 'source.ip': '203.0.113.9' });
  });
});

describe('a typed mailbox name cannot forge the address (log injection)', () => {
  // Dovecot writes the name the client typed inside user=<…>, before the addresses it writes itself.
  const forged = [
    'x>, method=PLAIN, rip=10.9.9.9, lip=10.0.0.5, z=<y',
    'a>, rip=10.9.9.9, lip=1.1.1.1, TLS: <b',
    '>, rip=10.9.9.9, lip=1.1.1.1',
  ];
  it.each(forged)('user %j', (user) => {
    for (const line of [
      `${H} dovecot: imap-login: Aborted login (auth failed, 1 attempts in 2 secs): user=<${user}>, method=PLAIN, rip=203.0.113.56, lip=10.0.0.5, session=<q>`,
      `${H} dovecot: imap-login: Login: user=<${user}>, method=PLAIN, rip=203.0.113.56, lip=10.0.0.5, mpid=1, TLS`,
    ]) {
      const r = parse(line);
      expect(r.parsed, line).toBe(true);
      expect(r.event['source.ip'], line).toBe('203.0.113.56');
      expect(r.event['destination.ip'], line).toBe('10.0.0.5');
      expect(r.event['user.name'], line).toBe(user);
    }
  });

  it('a name holding `, sasl_username=` stays one name', () => {
    const r = parse(
      `${H} postfix/smtpd[1]: warning: unknown[203.0.113.58]: SASL PLAIN authentication failed: authentication failure, sasl_username=x, sasl_username=admin`,
    );
    expect(r.event['user.name']).toBe('x, sasl_username=admin');
    expect(r.event['source.ip']).toBe('203.0.113.58');
  });
});

describe('counting mail logins', () => {
  const events = (lines: string[]): NormalizedEvent[] =>
    lines.map((line, i) => {
      const r = normalizer.normalize(line, { logGroup: '/var/log/maillog', logStream: 'mx1', id: `e${i}`, timestamp: REF });
      if (!r.ok) throw new Error(r.skip.detail);
      return r.event;
    });
  const rule = (id: string) => {
    const found = pack.rules.find((r) => r.id === id);
    if (!found) throw new Error(`${id} missing`);
    return found;
  };
  const imapFailure = (second: number, attempts: number) =>
    `Mar  3 04:10:${String(second).padStart(2, '0')} mx1 dovecot: imap-login: Disconnected (auth failed, ${attempts} attempts in 9 secs): user=<u${second}>, method=PLAIN, rip=203.0.113.60, lip=10.0.0.5`;

  it('a Dovecot line counts as the attempts it reports towards a threshold', async () => {
    // 3 + 3 + 3 + 1 = 10 passwords tried: exactly mail.auth_failures' threshold.
    const lines = [imapFailure(1, 3), imapFailure(2, 3), imapFailure(3, 3), imapFailure(4, 1)];
    const fired = await new Detector({ rules: [rule('mail.auth_failures')] }, new MemoryStateStore()).evaluate('b1', events(lines));
    expect(fired.alerts).toHaveLength(1);
    expect(fired.alerts[0]?.count).toBe(10);
    const short = await new Detector({ rules: [rule('mail.auth_failures')] }, new MemoryStateStore()).evaluate(
      'b2',
      events(lines.slice(0, 3)),
    );
    expect(short.alerts).toHaveLength(0);
  });

  it('an internet spray at a mail server pages nobody: every identity rule but the mail ones leaves it alone', async () => {
    const spray = Array.from({ length: 30 }, (_, i) => imapFailure(i, 1));
    const result = await new Detector({ rules: pack.rules }, new MemoryStateStore()).evaluate('b3', events(spray));
    expect(result.alerts.map((a) => a.ruleId)).toEqual(['mail.auth_failures']);
  });
});
