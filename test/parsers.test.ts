import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { BUILTIN_PARSER_NAMES, builtinPatterns, RFC5424_HEADER, SYSLOG_HEADER } from '../src/parse/builtin-parsers';
import { Normalizer } from '../src/parse/normalize';
import { checkRegexSafety } from '../src/rules/regex-safety';
import { SourceDefinition } from '../src/schema/rule';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const norm = (logGroup: string, line: string) => {
  const r = normalizer.normalize(line, { logGroup, logStream: 's', id: '1', timestamp: 1_000 });
  if (!r.ok) throw new Error(r.skip.detail);
  return r.event;
};

describe('parsers and normalization (log shapes from the field)', () => {
  it('maps nested app audit JSON through the field map, value map and lookups', () => {
    const e = norm(
      '/sentinel-demo/identity/audit',
      '{"timestamp":"2025-03-02T03:12:40.118Z","level":"WARN","category":"security_audit","event_type":"user_login","correlation_id":"c-77a1","authentication":{"user_id":"r.ortega","method":"saml","source_ip":"198.51.100.23","mfa_used":false,"result":"success"},"geo":{"country":"BR"}}',
    );
    expect(e).toMatchObject({
      'user.name': 'r.ortega',
      'source.ip': '198.51.100.23',
      'event.action': 'user_login',
      'event.category': 'authentication',
      'event.outcome': 'success',
      'user.mfa_used': false,
      'source.geo.country_iso_code': 'BR',
      'trace.id': 'c-77a1',
      'log.level': 'warn',
    });
    expect(e['@timestamp']).toBe(Date.parse('2025-03-02T03:12:40.118Z'));
    const denied = norm(
      '/sentinel-demo/identity/audit',
      '{"event_type":"project_access","authorization":{"user_id":"r.ortega","resource":"PAYROLL","result":"denied"},"context":{"project_sensitivity":"high"}}',
    );
    expect(denied).toMatchObject({
      'event.outcome': 'failure',
      'resource.name': 'PAYROLL',
      'resource.sensitivity': 'high',
      'event.category': 'authorization',
    });
  });

  it('normalizes pino (numeric level, epoch ms) and ECS loggers', () => {
    const p = norm(
      '/sentinel-demo/api/x',
      '{"level":50,"time":1740885160118,"msg":"admin login failed","user":"ops-admin","ip":"192.0.2.10","path":"/dashboard/login","status":401}',
    );
    expect(p).toMatchObject({
      'log.level': 'error',
      '@timestamp': 1740885160118,
      message: 'admin login failed',
      'user.name': 'ops-admin',
      'http.response.status_code': 401,
      'event.outcome': 'failure',
    });
    const ecs = norm(
      '/other',
      '{"@timestamp":"2025-03-02T03:12:40.118Z","log.level":"error","message":"upstream timeout","service.name":"status-api","error.type":"TimeoutError","trace.id":"4bf92f35"}',
    );
    expect(ecs).toMatchObject({ 'log.level': 'error', 'error.type': 'TimeoutError', 'service.name': 'status-api' });
  });

  it('parses OpenSSH syslog lines', () => {
    expect(
      norm(
        '/sentinel-demo/bastion/sshd',
        'Mar  2 03:12:40 bastion-1 sshd[2231]: Failed password for invalid user oracle from 203.0.113.50 port 52144 ssh2',
      ),
    ).toMatchObject({
      'host.name': 'bastion-1',
      'user.name': 'oracle',
      'source.ip': '203.0.113.50',
      'source.port': 52144,
      'event.outcome': 'failure',
      'event.action': 'ssh_login',
      'event.category': 'authentication',
    });
    expect(
      norm(
        '/sentinel-demo/bastion/sshd',
        'Mar  2 03:12:44 bastion-1 sshd[2231]: Accepted publickey for deploy from 10.0.1.5 port 40022 ssh2: ED25519 SHA256:abc',
      ),
    ).toMatchObject({ 'user.name': 'deploy', 'event.outcome': 'success', 'ssh.method': 'publickey' });
    expect(
      norm(
        '/sentinel-demo/bastion/sshd',
        'Mar  2 03:14:00 bastion-1 sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/bash',
      ),
    ).toMatchObject({ 'event.action': 'command_executed', 'process.command_line': '/bin/bash', 'user.target.name': 'root' });
  });

  it('parses RFC 5424 syslog (forwarders, rsyslog RFC 5424 templates): nil values, structured data, a BOM', () => {
    const failed = norm(
      '/sentinel-demo/bastion/sshd',
      '<38>1 2024-05-01T12:34:57.003Z ip-10-0-1-5 sshd 1234 - - Failed password for root from 203.0.113.7 port 52145 ssh2',
    );
    expect(failed).toMatchObject({
      '@timestamp': Date.parse('2024-05-01T12:34:57.003Z'),
      'host.name': 'ip-10-0-1-5',
      'process.name': 'sshd',
      'process.pid': 1234,
      'user.name': 'root',
      'source.ip': '203.0.113.7',
      'event.action': 'ssh_login',
      'event.outcome': 'failure',
    });
    const withData = norm(
      '/sentinel-demo/bastion/sshd',
      '<86>1 2024-05-01T14:34:57+02:00 bastion sshd-session - AUTH [origin ip="10.0.0.1"][meta sequenceId="7" note="a \\] b"] \uFEFFInvalid user oracle from 203.0.113.8 port 40000',
    );
    expect(withData).toMatchObject({
      '@timestamp': Date.parse('2024-05-01T12:34:57Z'),
      'process.name': 'sshd-session',
      'user.name': 'oracle',
      'source.ip': '203.0.113.8',
      'event.action': 'ssh_invalid_user',
    });
    expect(withData['process.pid']).toBeUndefined();
    // A nil time: the event takes the delivery time, and the line still parses.
    const r = normalizer.normalize('<38>1 - h sshd - - - Failed password for root from 203.0.113.9 port 1 ssh2', {
      logGroup: '/sentinel-demo/bastion/sshd',
      logStream: 's',
      id: '1',
      timestamp: 1_000,
    });
    expect(r.ok && r.parsed && r.timeFallback && r.event['source.ip']).toBe('203.0.113.9');
  });

  it('parses Paramiko / Python logging lines', () => {
    expect(
      norm('/sentinel-demo/deploy/x', '2025-03-02 03:12:41,554 ERROR paramiko.transport Authentication (password) failed.'),
    ).toMatchObject({
      'event.outcome': 'failure',
      'log.level': 'error',
      'log.logger': 'paramiko.transport',
      '@timestamp': Date.parse('2025-03-02T03:12:41.554Z'),
    });
    expect(
      norm('/sentinel-demo/deploy/x', '2025-03-02 03:12:42,001 WARNING paramiko.client Unknown ssh-ed25519 host key for 10.0.4.17: 3f1a'),
    ).toMatchObject({ 'event.action': 'host_key_unknown', 'destination.address': '10.0.4.17', 'log.level': 'warn' });
    expect(
      norm('/sentinel-demo/deploy/x', '2025-03-02 03:12:40,118 INFO paramiko.transport Connected (version 2.0, client OpenSSH_9.6)'),
    ).toMatchObject({ message: 'Connected (version 2.0, client OpenSSH_9.6)', 'log.level': 'info' });
    expect(norm('/other', 'WARNING:root:disk almost full')).toMatchObject({
      'log.level': 'warn',
      'log.logger': 'root',
      message: 'disk almost full',
    });
  });

  it('parses nginx/Apache combined access logs', () => {
    expect(
      norm(
        '/sentinel-demo/web/nginx',
        '203.0.113.50 - - [02/Mar/2025:03:12:40 +0000] "POST /api/v1/login?next=/ HTTP/1.1" 401 112 "-" "python-requests/2.31"',
      ),
    ).toMatchObject({
      'source.ip': '203.0.113.50',
      'http.request.method': 'POST',
      'url.path': '/api/v1/login',
      'http.response.status_code': 401,
      'user_agent.original': 'python-requests/2.31',
      'event.outcome': 'failure',
      '@timestamp': Date.parse('2025-03-02T03:12:40Z'),
    });
  });

  it('parses PHP/Laravel lines including their JSON context', () => {
    const e = norm(
      '/sentinel-demo/status-page/laravel',
      '[2025-03-02 03:12:40] production.WARNING: Failed login attempt {"username":"admin","ip":"192.0.2.10","url":"/dashboard/login"}',
    );
    expect(e).toMatchObject({ 'user.name': 'admin', 'source.ip': '192.0.2.10', 'event.action': 'admin_login', 'event.outcome': 'failure' });
    const err = norm(
      '/other',
      '[2025-03-02 03:12:41] production.ERROR: SQLSTATE[HY000] [2002] Connection refused {"exception":"[object] (PDOException(code: 2002) ..."}',
    );
    expect(err).toMatchObject({
      'log.level': 'error',
      'service.environment': 'production',
      message: 'SQLSTATE[HY000] [2002] Connection refused',
    });
  });

  it('applies the field maps to what a custom text parser captured (named groups, constants, a JSON group)', () => {
    const custom = new Normalizer([
      SourceDefinition.parse({
        source: {
          name: 'custom',
          logGroups: ['/custom/*'],
          format: 'text',
          parsers: ['kv', 'ctx'],
          customParsers: [
            { name: 'kv', pattern: '^(?<lvl>[A-Z]+) usr=(?<usr>\\S+) (?<msg>.+)$', fields: { kind: 'login' } },
            { name: 'ctx', pattern: '^CTX (?<json>\\{.*\\})$', fields: {} },
          ],
          fieldMap: { usr: 'user.name', kind: 'event.action', 'event.dataset': 'labels.pattern', 'ctx.who': 'user.id' },
        },
      }),
    ]);
    const at = (line: string) => {
      const r = custom.normalize(line, { logGroup: '/custom/app', logStream: 's', id: '1', timestamp: 1_000 });
      if (!r.ok) throw new Error(r.skip.detail);
      return r.event;
    };
    expect(at('WARN usr=alice login failed')).toMatchObject({
      'log.level': 'warn', // lvl through the default map, then the level names
      message: 'login failed', // msg through the default map
      'user.name': 'alice',
      'event.action': 'login', // a pattern constant through the source's map
      'labels.pattern': 'kv', // the event.dataset normalize adds
    });
    // A JSON group writes fields the line names: the whole map applies.
    expect(at('CTX {"ctx":{"who":"u-7"},"level":"error"}')).toMatchObject({ 'user.id': 'u-7', 'log.level': 'error' });
  });

  it('keeps unknown lines as message-only events', () => {
    const e = norm('/other', 'something no parser knows');
    expect(e.message).toBe('something no parser knows');
    expect(e['event.action']).toBeUndefined();
    expect(e['@timestamp']).toBe(1_000);
  });

  it('maps chat-server JSON (peer_ip, event) to ECS', () => {
    expect(
      norm(
        '/sentinel-demo/chat/ircd',
        '{"ts":"2025-03-02T03:12:40Z","lvl":"warn","component":"net","event":"connection_rejected","peer_ip":"203.0.113.77","reason":"rate_limited","active_connections":4031}',
      ),
    ).toMatchObject({
      'source.ip': '203.0.113.77',
      'event.action': 'connection_rejected',
      'log.level': 'warn',
      'service.name': 'chat-gateway',
    });
  });

  it('built-in parser regexes cannot backtrack catastrophically', () => {
    for (const name of BUILTIN_PARSER_NAMES)
      for (const p of builtinPatterns(name)) expect(checkRegexSafety(p.pattern), p.name).toMatchObject({ safe: true });
    expect(checkRegexSafety(SYSLOG_HEADER)).toMatchObject({ safe: true });
    expect(checkRegexSafety(RFC5424_HEADER)).toMatchObject({ safe: true });
  });
});
