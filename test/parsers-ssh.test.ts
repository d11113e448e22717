import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { Normalizer } from '../src/parse/normalize';

/**
 * One line per shape, written from OpenSSH's log format strings (auth.c, sshd.c, packet.c,
 * serverloop.c) and Linux-PAM's pam_unix (support.c, pam_unix_auth.c, pam_unix_sess.c), under
 * both syslog tags sshd uses (sshd[pid], sshd-session[pid] since 9.8) and the legacy
 * sshd(pam_unix)[pid].
 */
const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const REF = Date.parse('2026-11-30T12:00:00Z');

function parse(line: string, logGroup = '/var/log/auth.log') {
  const r = normalizer.normalize(line, { logGroup, logStream: 'host', id: '1', timestamp: REF });
  if (!r.ok) throw new Error(r.skip.detail);
  return r;
}

const H = 'Mar  3 03:12:40 bastion-1';
const failure = (action: string) => ({ 'event.category': 'authentication', 'event.action': action, 'event.outcome': 'failure' });

const SHAPES: [string, string, Record<string, unknown>][] = [
  [
    'PAM failure beside the Failed line (its own action: one attempt counted once)',
    `${H} sshd[2231]: error: PAM: Authentication failure for illegal user oracle from 203.0.113.50`,
    { ...failure('ssh_pam_auth_failure'), 'user.name': 'oracle', 'source.ip': '203.0.113.50' },
  ],
  [
    'PAM failure from a host name (UseDNS)',
    `${H} sshd[2231]: error: PAM: Authentication failure for root from scanner.example.net`,
    { ...failure('ssh_pam_auth_failure'), 'user.name': 'root', 'source.domain': 'scanner.example.net' },
  ],
  [
    'PerSourcePenalties drop (OpenSSH 9.8+)',
    `${H} sshd[812]: drop connection #10 from [203.0.113.50]:52144 on [10.0.0.5]:22 penalty: failed authentication`,
    {
      'event.action': 'ssh_penalty_drop',
      'event.outcome': 'failure',
      'source.ip': '203.0.113.50',
      'source.port': 52144,
      'destination.port': 22,
      'event.reason': 'failed authentication',
    },
  ],
  [
    'PerSourcePenalties applied',
    `${H} sshd[812]: srclimit_penalise: ipv4: new 203.0.113.50/32 deny for 30 seconds`,
    { 'event.action': 'ssh_penalty_applied', 'source.ip': '203.0.113.50', 'ssh.penalty_seconds': 30 },
  ],
  [
    'MaxStartups throttling begins',
    `${H} sshd[812]: beginning MaxStartups throttling`,
    { 'event.action': 'ssh_maxstartups_throttling', 'ssh.throttling': 'beginning', 'event.category': 'network' },
  ],
  [
    'MaxStartups throttling ends',
    `${H} sshd[812]: exited MaxStartups throttling after 00:01:00, 12 connections dropped`,
    { 'event.action': 'ssh_maxstartups_throttling', 'ssh.throttling': 'exited', 'ssh.connections_dropped': 12 },
  ],
  [
    'failed password',
    `${H} sshd[2231]: Failed password for deploy from 203.0.113.50 port 52144 ssh2`,
    { ...failure('ssh_login'), 'user.name': 'deploy', 'source.ip': '203.0.113.50', 'source.port': 52144, 'ssh.method': 'password' },
  ],
  [
    'failed password, invalid user',
    `${H} sshd[2231]: Failed password for invalid user oracle from 203.0.113.50 port 52144 ssh2`,
    { ...failure('ssh_login'), 'user.name': 'oracle' },
  ],
  [
    'failed password, user name with leading spaces',
    `${H} sshd[2231]: Failed password for invalid user  0101 from 5.188.10.180 port 36279 ssh2`,
    { ...failure('ssh_login'), 'user.name': '0101', 'source.ip': '5.188.10.180' },
  ],
  [
    'failed publickey',
    `${H} sshd[2231]: Failed publickey for deploy from 203.0.113.50 port 52144 ssh2: ED25519 SHA256:abc`,
    { ...failure('ssh_login'), 'ssh.method': 'publickey' },
  ],
  [
    'failed none',
    `${H} sshd[2231]: Failed none for invalid user admin from 203.0.113.50 port 52144 ssh2`,
    { ...failure('ssh_login'), 'ssh.method': 'none' },
  ],
  [
    'failed keyboard-interactive over IPv6',
    `${H} sshd[2231]: Failed keyboard-interactive/pam for root from 2001:db8::7 port 52144 ssh2`,
    { ...failure('ssh_login'), 'source.ip': '2001:db8::7' },
  ],
  [
    'accepted password',
    `${H} sshd[2231]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2`,
    { 'event.action': 'ssh_login', 'event.outcome': 'success', 'user.name': 'fztu', 'ssh.method': 'password' },
  ],
  [
    'accepted publickey with key',
    `${H} sshd[2231]: Accepted publickey for deploy from 10.0.1.5 port 40022 ssh2: ED25519 SHA256:Xy1`,
    { 'event.outcome': 'success', 'ssh.key.type': 'ED25519', 'ssh.key.fingerprint': 'SHA256:Xy1' },
  ],
  [
    'accepted keyboard-interactive',
    `${H} sshd[2231]: Accepted keyboard-interactive/pam for alice from 10.0.1.5 port 40022 ssh2`,
    { 'event.outcome': 'success', 'ssh.method': 'keyboard-interactive/pam' },
  ],
  [
    'postponed',
    `${H} sshd[2231]: Postponed publickey for deploy from 10.0.1.5 port 40022 ssh2 [preauth]`,
    { 'event.action': 'ssh_login_postponed', 'user.name': 'deploy' },
  ],
  [
    'invalid user',
    `${H} sshd[2231]: Invalid user webmaster from 173.234.31.186`,
    { ...failure('ssh_invalid_user'), 'user.name': 'webmaster', 'source.ip': '173.234.31.186' },
  ],
  [
    'invalid user with port (OpenSSH ≥ 7.5)',
    `${H} sshd[2231]: Invalid user admin from 203.0.113.9 port 40022`,
    { ...failure('ssh_invalid_user'), 'source.port': 40022 },
  ],
  [
    'input_userauth_request',
    `${H} sshd[2231]: input_userauth_request: invalid user webmaster [preauth]`,
    { ...failure('ssh_userauth_invalid_user'), 'user.name': 'webmaster' },
  ],
  [
    'maximum authentication attempts',
    `${H} sshd[2231]: error: maximum authentication attempts exceeded for invalid user admin from 203.0.113.9 port 40022 ssh2 [preauth]`,
    { ...failure('ssh_max_auth_exceeded'), 'user.name': 'admin' },
  ],
  [
    'too many authentication failures (old)',
    `${H} sshd[2231]: Disconnecting: Too many authentication failures for root [preauth]`,
    { ...failure('ssh_max_auth_exceeded'), 'user.target.name': 'root' },
  ],
  [
    'too many authentication failures (new)',
    `${H} sshd[2231]: Disconnecting authenticating user root 203.0.113.9 port 40022: Too many authentication failures [preauth]`,
    { ...failure('ssh_max_auth_exceeded'), 'user.name': 'root', 'source.ip': '203.0.113.9' },
  ],
  [
    'received disconnect (old)',
    `${H} sshd[2231]: Received disconnect from 183.62.140.253: 11: Bye Bye [preauth]`,
    { 'event.action': 'ssh_disconnect', 'source.ip': '183.62.140.253', 'ssh.disconnect.code': 11 },
  ],
  [
    'received disconnect (new)',
    `${H} sshd[2231]: Received disconnect from 103.99.0.122 port 52683:11: Bye Bye [preauth]`,
    { 'event.action': 'ssh_disconnect', 'source.port': 52683, 'ssh.disconnect.reason': 'Bye Bye' },
  ],
  [
    'received disconnect with error prefix',
    `${H} sshd[2231]: error: Received disconnect from 103.99.0.122: 14: No more user authentication methods available. [preauth]`,
    { 'event.action': 'ssh_disconnect', 'ssh.disconnect.code': 14 },
  ],
  [
    'disconnected from invalid user',
    `${H} sshd-session[2231]: Disconnected from invalid user admin 203.0.113.9 port 40022 [preauth]`,
    { 'event.action': 'ssh_disconnect', 'user.name': 'admin', 'process.name': 'sshd-session' },
  ],
  [
    'disconnected from user (session end)',
    `${H} sshd[2231]: Disconnected from user deploy 10.0.1.5 port 40022`,
    { 'event.action': 'ssh_disconnect', 'user.name': 'deploy' },
  ],
  [
    'connection closed (preauth)',
    `${H} sshd[2231]: Connection closed by 203.0.113.9 [preauth]`,
    { 'event.action': 'ssh_connection_closed', 'source.ip': '203.0.113.9' },
  ],
  [
    'connection closed by authenticating user',
    `${H} sshd-session[2231]: Connection closed by authenticating user root 203.0.113.9 port 40022 [preauth]`,
    { 'event.action': 'ssh_connection_closed', 'user.name': 'root', 'source.port': 40022 },
  ],
  [
    'connection closed by invalid user',
    `${H} sshd[2231]: Connection closed by invalid user test 203.0.113.9 port 40022 [preauth]`,
    { 'event.action': 'ssh_connection_closed', 'user.name': 'test' },
  ],
  [
    'connection reset',
    `${H} sshd[2231]: Connection reset by 203.0.113.9 port 40022 [preauth]`,
    { 'event.action': 'ssh_connection_closed', 'ssh.close': 'reset' },
  ],
  [
    'no identification string',
    `${H} sshd[2231]: Did not receive identification string from 203.0.113.9`,
    { 'event.action': 'ssh_no_identification', 'source.ip': '203.0.113.9' },
  ],
  [
    'no identification string with port',
    `${H} sshd[2231]: Did not receive identification string from 203.0.113.9 port 40022`,
    { 'event.action': 'ssh_no_identification', 'source.port': 40022 },
  ],
  [
    'reverse mapping',
    `${H} sshd[2231]: reverse mapping checking getaddrinfo for ns.example.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!`,
    { 'event.action': 'ssh_reverse_mapping_failed', 'source.domain': 'ns.example.com', 'source.ip': '173.234.31.186' },
  ],
  [
    'kex_exchange_identification',
    `${H} sshd[2231]: error: kex_exchange_identification: Connection closed by remote host`,
    { 'event.action': 'ssh_kex_error', 'error.message': 'Connection closed by remote host' },
  ],
  [
    'bad protocol version',
    `${H} sshd[2231]: Bad protocol version identification 'GET / HTTP/1.1' from 203.0.113.9 port 40022`,
    { 'event.action': 'ssh_bad_protocol', 'ssh.client_banner': 'GET / HTTP/1.1' },
  ],
  [
    'timeout before authentication',
    `${H} sshd[2231]: fatal: Timeout before authentication for 203.0.113.9 port 40022`,
    { 'event.action': 'ssh_auth_timeout', 'source.ip': '203.0.113.9' },
  ],
  [
    'unable to negotiate',
    `${H} sshd[2231]: Unable to negotiate with 203.0.113.9 port 40022: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]`,
    { 'event.action': 'ssh_negotiation_failed' },
  ],
  [
    'pam auth failure with user',
    `${H} sshd[2231]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=183.62.140.253  user=root`,
    { ...failure('pam_auth_failure'), 'source.ip': '183.62.140.253', 'user.name': 'root', 'pam.service': 'sshd' },
  ],
  [
    'pam auth failure, rhost a host name',
    `${H} sshd[2231]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.36.59.76.dynamic.example.net  user=root`,
    { 'source.domain': '5.36.59.76.dynamic.example.net', 'source.address': '5.36.59.76.dynamic.example.net' },
  ],
  ['pam check pass', `${H} sshd[2231]: pam_unix(sshd:auth): check pass; user unknown`, failure('pam_user_unknown')],
  [
    'PAM more failures',
    `${H} sshd[2231]: PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.36.59.76  user=root`,
    { ...failure('pam_auth_failure_summary'), 'pam.more_failures': 5 },
  ],
  [
    'PAM one more failure',
    `${H} sshd[2231]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.188.10.180 `,
    { 'event.action': 'pam_auth_failure_summary' },
  ],
  [
    'PAM ignoring max retries',
    `${H} sshd[2231]: PAM service(sshd) ignoring max retries; 6 > 3`,
    { 'event.action': 'pam_max_retries', 'pam.attempts': 6 },
  ],
  [
    'pam session opened (new format)',
    `${H} sshd[2231]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)`,
    { 'event.action': 'pam_session', 'user.name': 'deploy', 'pam.session': 'opened' },
  ],
  [
    'legacy sshd(pam_unix) auth failure',
    'Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ',
    { ...failure('pam_auth_failure'), 'process.name': 'sshd(pam_unix)', 'source.ip': '218.188.2.4' },
  ],
  [
    'legacy sshd(pam_unix) check pass',
    'Jun 14 15:16:02 combo sshd(pam_unix)[19937]: check pass; user unknown',
    failure('pam_user_unknown'),
  ],
  [
    'legacy sshd(pam_unix) session',
    'Jun 15 02:04:59 combo sshd(pam_unix)[20882]: session opened for user test by (uid=509)',
    { 'event.action': 'pam_session', 'user.name': 'test' },
  ],
  [
    'ISO-time header (rsyslog)',
    '2026-03-03T03:12:40.123456+00:00 bastion-1 sshd[2231]: Failed password for root from 203.0.113.50 port 52144 ssh2',
    { ...failure('ssh_login'), '@timestamp': Date.parse('2026-03-03T03:12:40.123Z') },
  ],
  [
    'sudo command',
    `${H} sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/bash`,
    { 'event.action': 'command_executed', 'user.name': 'deploy', 'user.target.name': 'root', 'process.command_line': '/bin/bash' },
  ],
  [
    'sudo wrong password',
    `${H} sudo:   deploy : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/bash`,
    { 'sudo.failure': '3 incorrect password attempts' },
  ],
  ['server restart', `${H} sshd[1]: Received signal 15; terminating.`, { 'event.action': 'sshd_service' }],
];

describe('OpenSSH and Linux-PAM shapes', () => {
  it.each(SHAPES)('%s', (_, line, expected) => {
    const r = parse(line);
    expect(r.parsed).toBe(true);
    expect(r.timeFallback).toBe(false);
    expect(r.event).toMatchObject(expected);
    expect(r.event['host.name']).toBe(line.startsWith('2026') ? 'bastion-1' : line.split(' ').filter(Boolean)[3]);
  });

  it('reads the event time from the syslog header, not the delivery time', () => {
    expect(parse(`${H} sshd[2231]: Failed password for root from 203.0.113.50 port 52144 ssh2`).event['@timestamp']).toBe(
      Date.parse('2026-03-03T03:12:40Z'),
    );
  });

  it('an sshd line of an unknown shape keeps its header but counts as unparsed', () => {
    const r = parse(`${H} sshd[2231]: Some message sshd has never logged`);
    expect(r.parsed).toBe(false);
    expect(r.event).toMatchObject({ 'host.name': 'bastion-1', 'process.name': 'sshd', 'process.pid': 2231 });
    expect(r.event['@timestamp']).toBe(Date.parse('2026-03-03T03:12:40Z'));
  });

  it('a syslog line of another program is unparsed, with its time', () => {
    const r = parse('Jul 10 04:04:46 combo logrotate: ALERT exited abnormally with [1]');
    expect(r.parsed).toBe(false);
    expect(r.event['process.name']).toBe('logrotate');
  });

  it('a line that is not syslog at all has no time of its own: the delivery time is used and counted', () => {
    const r = parse('kernel panic - not syncing');
    expect(r.parsed).toBe(false);
    expect(r.timeFallback).toBe(true);
    expect(r.event['@timestamp']).toBe(REF);
  });

  it('message repeated N times: parses the inner message and counts N events', () => {
    const r = parse(`${H} sshd[24227]: message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]`);
    expect(r.parsed).toBe(true);
    expect(r.event).toMatchObject({ ...failure('ssh_login'), 'user.name': 'root', 'source.ip': '5.36.59.76', 'event.repeat_count': 5 });
  });

  it('a repeated line counts as its N events towards a threshold', async () => {
    const rule = pack.rules.find((r) => r.id === 'ssh.auth_failures');
    if (!rule) throw new Error('ssh.auth_failures missing');
    const lines = [
      `${H} sshd[24227]: Failed password for root from 5.36.59.76 port 42393 ssh2`,
      `${H} sshd[24227]: message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]`,
      `${H} sshd[24228]: Failed password for root from 5.36.59.76 port 42395 ssh2`,
      `${H} sshd[24228]: message repeated 3 times: [ Failed password for root from 5.36.59.76 port 42395 ssh2]`,
    ];
    const events = lines.map((l, i) => {
      const r = normalizer.normalize(l, { logGroup: '/var/log/auth.log', logStream: 's', id: `e${i}`, timestamp: REF });
      if (!r.ok) throw new Error(r.skip.detail);
      return r.event;
    });
    // 1 + 5 + 1 + 3 = 10 failures: exactly the threshold.
    const fired = await new Detector({ rules: [rule] }, new MemoryStateStore()).evaluate('b1', events);
    expect(fired.alerts).toHaveLength(1);
    expect(fired.alerts[0]?.count).toBe(10);
    const short = await new Detector({ rules: [rule] }, new MemoryStateStore()).evaluate('b2', events.slice(0, 3));
    expect(short.alerts).toHaveLength(0);
  });
});

describe('access logs: scanners are traffic worth seeing', () => {
  const web = (line: string) => parse(line, '/app/web/access');
  it.each([
    [
      'no HTTP version',
      '203.0.113.9 - - [02/Mar/2025:03:12:40 +0000] "GET ../../etc/passwd HTTP" 400 0 "-" "-"',
      { 'http.request.method': 'GET', 'url.original': '../../etc/passwd' },
    ],
    ['nginx "-" request', '203.0.113.9 - - [02/Mar/2025:03:12:40 +0000] "-" 400 0 "-" "-"', {}],
    [
      'binary request line (TLS to a plain port)',
      '203.0.113.9 - - [02/Mar/2025:03:12:40 +0000] "\\x16\\x03\\x01\\x00\\xa5\\x01" 400 157 "-" "-"',
      { 'http.request.line': '\\x16\\x03\\x01\\x00\\xa5\\x01' },
    ],
    [
      'escaped quote, no version',
      '203.0.113.9 - - [02/Mar/2025:03:12:40 +0000] "GET /?q=\\"x\\" OR 1=1" 400 0 "-" "sqlmap/1.7"',
      { 'user_agent.original': 'sqlmap/1.7', 'http.request.method': 'GET' },
    ],
    ['lower-case method', '203.0.113.9 - - [02/Mar/2025:03:12:40 +0000] "get / HTTP/1.0" 400 0', { 'http.request.method': 'GET' }],
  ] as const)('malformed request line: %s', (_, line, expected) => {
    const r = web(line);
    expect(r.parsed).toBe(true);
    expect(r.event).toMatchObject({
      'http.request.malformed': true,
      'source.ip': '203.0.113.9',
      'http.response.status_code': 400,
      ...expected,
    });
    expect(r.event['@timestamp']).toBe(Date.parse('2025-03-02T03:12:40Z'));
  });

  it('a well-formed request is not marked malformed', () => {
    const r = web('203.0.113.50 - - [02/Mar/2025:03:12:40 +0000] "POST /api/v1/login HTTP/1.1" 401 112 "-" "python-requests/2.31"');
    expect(r.event['http.request.malformed']).toBeUndefined();
    expect(r.event).toMatchObject({ 'http.request.method': 'POST', 'url.path': '/api/v1/login', 'http.version': '1.1' });
  });

  it('a host name in the client field (HostnameLookups) is a domain, not an IP', () => {
    const r = web('crawl-66-249-73-135.googlebot.com - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 10');
    expect(r.event['source.ip']).toBeUndefined();
    expect(r.event['source.domain']).toBe('crawl-66-249-73-135.googlebot.com');
  });
});

describe('a typed user name cannot forge the address (log injection)', () => {
  // sshd logs the name as typed: an attacker picks a name that reads like the rest of the line.
  const forged = [
    'root from 10.9.9.9 port 22 ssh2',
    'x from 10.9.9.9 port 1',
    'a ssh2: RSA SHA256:zz from 10.9.9.9 port 2',
    'b from 10.9.9.9',
  ];
  const shapes = (user: string) => [
    `${H} sshd[1]: Failed password for ${user} from 203.0.113.50 port 52144 ssh2`,
    `${H} sshd[1]: Failed password for invalid user ${user} from 203.0.113.50 port 52144 ssh2`,
    `${H} sshd[1]: Failed publickey for ${user} from 203.0.113.50 port 52144 ssh2: RSA SHA256:abc`,
    `${H} sshd[1]: Accepted password for ${user} from 203.0.113.50 port 52144 ssh2`,
    `${H} sshd[1]: Accepted publickey for ${user} from 203.0.113.50 port 52144 ssh2: ED25519 SHA256:abc`,
    `${H} sshd[1]: Postponed keyboard-interactive for ${user} from 203.0.113.50 port 52144 ssh2 [preauth]`,
    `${H} sshd[1]: Invalid user ${user} from 203.0.113.50 port 52144`,
    `${H} sshd[1]: error: maximum authentication attempts exceeded for ${user} from 203.0.113.50 port 52144 ssh2 [preauth]`,
  ];
  it.each(forged)('user %j', (user) => {
    for (const line of shapes(user)) {
      const r = parse(line);
      expect(r.parsed, line).toBe(true);
      expect(r.event['source.ip'], line).toBe('203.0.113.50');
      expect(r.event['source.port'], line).toBe(52144);
      expect(r.event['user.name'], line).toBe(user);
    }
  });
  it.each(forged)('PAM failure, user %j', (user) => {
    const r = parse(`${H} sshd[1]: error: PAM: Authentication failure for ${user} from 203.0.113.50`);
    expect(r.event['source.ip']).toBe('203.0.113.50');
    expect(r.event['user.name']).toBe(user);
  });
});

describe('line ends', () => {
  it('a CRLF line reads as the same line without its CR', () => {
    const r = parse(`${H} sshd[1]: Failed password for root from 203.0.113.50 port 52144 ssh2\r`);
    expect(r.parsed).toBe(true);
    expect(r.event['source.ip']).toBe('203.0.113.50');
    expect(r.event['event.original']).not.toContain('\r');
  });
});
