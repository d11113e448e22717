import { isIP } from 'node:net';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import type { StateStore } from '../src/engine/state-store';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import { isDottedQuad } from '../src/parse/address-fields';
import { BUILTIN_PARSERS, RFC5424_HEADER, SYSLOG_HEADER } from '../src/parse/builtin-parsers';
import { keycloakPairs } from '../src/parse/keycloak';
import { shortLineRegex, withoutGroupNames } from '../src/parse/line-parser';
import { Normalizer } from '../src/parse/normalize';
import { checkRegexSafety } from '../src/rules/regex-safety';
import { SourceDefinition } from '../src/schema/rule';
import { linesPayload, normalizedLine } from './helpers';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const norm = (logGroup: string, line: string) => normalizedLine(normalizer, line, { logGroup, timestamp: 1_000 }).event;

describe('parsers and normalization (log shapes from the field)', () => {
  it("takes a request's file extension from its path's last segment only", () => {
    const extension = (path: string) =>
      norm('/var/log/nginx/access.log', `203.0.113.9 - - [01/May/2024:12:00:01 +0000] "GET ${path} HTTP/1.1" 200 12 "-" "curl/8.0"`)[
        'url.extension'
      ];
    expect(extension('/backup/site.tar.gz?download=1')).toBe('gz');
    expect(extension('/a/.hidden.txt')).toBe('txt');
    // A dot in a directory, a dot file, a trailing dot: no extension.
    expect(extension('/v1.2/users')).toBeUndefined();
    expect(extension('/.env')).toBeUndefined();
    expect(extension('/file.')).toBeUndefined();
  });

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
    // .NET's console JSON formatter (ASP.NET Core in a container), and its level names.
    expect(
      norm('/other', '{"Timestamp":"2025-03-02T03:12:40.118Z","EventId":0,"LogLevel":"Critical","Category":"Orders","Message":"db down"}'),
    ).toMatchObject({ '@timestamp': Date.parse('2025-03-02T03:12:40.118Z'), 'log.level': 'fatal', message: 'db down' });
    expect(norm('/other', '{"LogLevel":"Information","Message":"started"}')).toMatchObject({ 'log.level': 'info' });
    // A request log (Rails' lograge): status and method; a status that is no number is no HTTP status to the rules.
    expect(norm('/other', '{"method":"POST","path":"/orders","format":"json","status":502,"duration":30.2}')).toMatchObject({
      'http.request.method': 'POST',
      'http.response.status_code': 502,
      'event.outcome': 'failure',
    });
    expect(norm('/other', '{"job":"sync","status":"done"}')['event.outcome']).toBeUndefined();
    // .NET Serilog compact JSON, Log4j2 JsonLayout, python-json-logger.
    expect(
      norm('/other', '{"@t":"2025-03-02T03:12:40.1234567Z","@mt":"Login failed for {User}","@l":"Warning","User":"bob"}'),
    ).toMatchObject({
      '@timestamp': Date.parse('2025-03-02T03:12:40.123Z'),
      'log.level': 'warn',
      message: 'Login failed for {User}',
    });
    expect(norm('/other', '{"timeMillis":1740885160118,"level":"ERROR","loggerName":"auth","message":"bad token"}')).toMatchObject({
      '@timestamp': 1740885160118,
      'log.level': 'error',
      message: 'bad token',
    });
    // The client and the user under the names apps give them: GitLab's auth.log, a Flask app.
    expect(
      norm(
        '/other',
        '{"severity":"ERROR","time":"2025-03-02T03:12:40.118Z","message":"Rack_Attack","env":"throttle","remote_ip":"203.0.113.9","path":"/users/sign_in"}',
      ),
    ).toMatchObject({ 'source.ip': '203.0.113.9', 'log.level': 'error' });
    expect(norm('/other', '{"event":"login_failed","username":"bob","remote_addr":"198.51.100.4"}')).toMatchObject({
      'user.name': 'bob',
      'source.ip': '198.51.100.4',
    });
    expect(norm('/other', '{"asctime":"2025-03-02 03:12:40,118","levelname":"CRITICAL","message":"disk full"}')).toMatchObject({
      '@timestamp': Date.parse('2025-03-02T03:12:40.118Z'),
      'log.level': 'fatal',
    });
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

  it('parses nginx and Apache error logs: basic-auth failures, rate limiting, forbidden, the rest', () => {
    const group = '/aws/nginx/error';
    expect(
      norm(
        group,
        '2024/05/01 12:00:01 [error] 1234#1234: *6 user "admin": password mismatch, client: 203.0.113.9, server: _, request: "GET /admin HTTP/1.1", host: "example.com"',
      ),
    ).toMatchObject({
      '@timestamp': Date.parse('2024-05-01T12:00:01Z'),
      'user.name': 'admin',
      'source.ip': '203.0.113.9',
      'http.request.method': 'GET',
      'url.path': '/admin',
      'event.category': 'authentication',
      'event.action': 'http_basic_auth',
      'event.outcome': 'failure',
      'log.level': 'error',
      'event.dataset': 'nginx.error',
    });
    expect(
      norm(
        group,
        '2024/05/01 12:00:02 [error] 1234#1234: *7 user "guest" was not found in "/etc/nginx/.htpasswd", client: 203.0.113.9, server: _, request: "GET /admin HTTP/1.1"',
      ),
    ).toMatchObject({ 'user.name': 'guest', 'event.outcome': 'failure', 'source.ip': '203.0.113.9' });
    expect(
      norm(
        group,
        '2024/05/01 12:00:03 [error] 1234#1234: *8 limiting requests, excess: 20.540 by zone "login", client: 203.0.113.9, server: _, request: "POST /login HTTP/1.1"',
      ),
    ).toMatchObject({ 'event.action': 'rate_limited', 'nginx.zone': 'login', 'source.ip': '203.0.113.9' });
    expect(
      norm(
        group,
        '2024/05/01 12:00:04 [error] 1234#1234: *9 access forbidden by rule, client: 203.0.113.9, server: _, request: "GET /.env HTTP/1.1"',
      ),
    ).toMatchObject({ 'event.action': 'access_forbidden', 'url.path': '/.env' });
    expect(
      norm(
        group,
        '2024/05/01 12:00:05 [error] 1234#1234: *10 open() "/srv/www/wp-login.php" failed (2: No such file or directory), client: 203.0.113.9, server: _, request: "GET /wp-login.php HTTP/1.1"',
      ),
    ).toMatchObject({
      message: 'open() "/srv/www/wp-login.php" failed (2: No such file or directory)',
      'source.ip': '203.0.113.9',
      'event.category': 'web',
    });
    // nginx writes the typed user and the request unescaped: a second `, client: ` is someone's forgery,
    // and the line keeps its failure but names no address rather than the forged one.
    for (const line of [
      '2024/05/01 12:00:01 [error] 1#1: *6 user "x": password mismatch, client: 10.9.9.9, server: _, request: "GET / HTTP/1.1": password mismatch, client: 203.0.113.9, server: _, request: "GET /admin HTTP/1.1"',
      '2024/05/01 12:00:01 [error] 1#1: *6 user "x": password mismatch, client: 203.0.113.9, server: _, request: "GET /?, client: 10.9.9.9, server: _ HTTP/1.1"',
    ]) {
      const e = norm(group, line);
      expect(e['source.ip'], line).toBeUndefined();
      expect(e['source.address'], line).toBeUndefined();
      expect(e).toMatchObject({ 'event.outcome': 'failure', 'event.action': 'http_basic_auth', 'user.name': 'x' });
    }
    expect(
      norm(
        group,
        '2024/05/01 12:00:05 [error] 1#1: *10 open() "/x, client: 10.9.9.9" failed (2: No such file or directory), client: 203.0.113.9, server: _',
      )['source.ip'],
    ).toBeUndefined();
    // A newline in the typed name ends nginx's line early: the lines up to it are the client's
    // (complete-looking, naming any address), and the line left over names the real client.
    const split = `2024/05/01 12:00:07 [error] 1#1: *11 user "x\n2024/05/01 12:00:07 [error] 1#1: *5 user "admin": password mismatch, client: 198.51.100.66, server: _\nzz": password mismatch, client: 203.0.113.9, server: _, request: "GET /admin HTTP/1.1"`;
    const [, , rest] = split.split('\n');
    expect(norm(group, rest ?? '')).toMatchObject({
      'event.category': 'intrusion_detection',
      'event.action': 'log_injection',
      'source.ip': '203.0.113.9',
      'nginx.injected_text': 'zz',
    });
    // A second address in the leftover line (written by the name or the request): the injection, no address.
    const twice = norm(group, 'zz, client: 10.9.9.9": password mismatch, client: 203.0.113.9, server: _');
    expect(twice).toMatchObject({ 'event.action': 'log_injection' });
    expect(twice['source.ip']).toBeUndefined();
    expect(norm(group, '2024/05/01 12:00:06 [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)')).toMatchObject({
      'log.level': 'emerg',
      message: 'bind() to 0.0.0.0:80 failed (98: Address already in use)',
    });
    expect(
      norm(
        group,
        '[Wed May 01 12:00:04.123456 2024] [auth_basic:error] [pid 1234] [client 203.0.113.9:51234] AH01618: user admin not found: /admin',
      ),
    ).toMatchObject({
      '@timestamp': Date.parse('2024-05-01T12:00:04.123Z'),
      'user.name': 'admin',
      'source.ip': '203.0.113.9',
      'source.port': 51234,
      'error.code': 'AH01618',
      'event.outcome': 'failure',
      'event.action': 'http_basic_auth',
    });
    expect(
      norm(
        group,
        '[Wed May 01 12:00:05 2024] [auth_basic:error] [pid 1234:tid 140] [client 2001:db8::9:51234] AH01617: user bob: authentication failure for "/admin": Password Mismatch',
      ),
    ).toMatchObject({ 'user.name': 'bob', 'source.ip': '2001:db8::9', 'source.port': 51234, 'url.path': '/admin' });
    expect(
      norm(group, '[Wed May 01 12:00:06.000001 2024] [core:error] [pid 99] AH00037: Symbolic link not allowed: /var/www/x'),
    ).toMatchObject({
      'error.code': 'AH00037',
      message: 'Symbolic link not allowed: /var/www/x',
      'apache.module': 'core',
    });
    expect(
      norm(
        '/aws/nginx/access',
        'example.com:443 203.0.113.9 - - [01/May/2024:12:00:02 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "Mozilla/5.0"',
      ),
    ).toMatchObject({ 'url.domain': 'example.com', 'url.port': 443, 'source.ip': '203.0.113.9', 'url.path': '/index.html' });
  });

  it('reads a multi-line event (an error with its stack trace) by its first line, and keeps the rest as the trace', () => {
    const laravel = norm(
      '/sentinel-demo/status-page/laravel',
      [
        '[2025-03-02 03:12:41] production.ERROR: SQLSTATE[HY000] [2002] Connection refused {"exception":"[object] (PDOException(code: 2002): Connection refused at /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connectors/Connector.php:70)',
        '[stacktrace]',
        '#0 /var/www/html/vendor/laravel/framework/src/Illuminate/Database/Connectors/Connector.php(70): PDO->__construct()',
        '#1 {main}',
        '"} ',
      ].join('\n'),
    );
    expect(laravel).toMatchObject({
      'log.level': 'error',
      '@timestamp': Date.parse('2025-03-02T03:12:41Z'),
      'service.environment': 'production',
    });
    expect(String(laravel['error.stack_trace'])).toMatch(/^\[stacktrace\]\n#0 /);
    expect(String(laravel['event.original'])).toContain('#1 {main}');
    const python = norm(
      '/sentinel-demo/deploy/paramiko',
      '2025-03-02 03:12:41,554 ERROR deploy.main Unhandled exception\r\nTraceback (most recent call last):\n  File "/app/main.py", line 10, in <module>\nZeroDivisionError: division by zero',
    );
    expect(python).toMatchObject({ 'log.level': 'error', 'log.logger': 'deploy.main', message: 'Unhandled exception' });
    expect(python['@timestamp']).toBe(Date.parse('2025-03-02T03:12:41.554Z'));
    expect(String(python['error.stack_trace'])).toContain('ZeroDivisionError');
    // The first line is the app's own: a newline a client smuggles into a logged value starts the
    // trace, not an entry of the client's choosing.
    const injected = norm(
      '/sentinel-demo/status-page/laravel',
      '[2025-03-02 03:12:41] production.INFO: Search for x\n[2025-03-02 03:12:42] production.EMERGENCY: disk full {"ip":"10.0.0.1"}',
    );
    expect(injected).toMatchObject({ 'log.level': 'info', message: 'Search for x' });
    expect(injected['source.ip']).toBeUndefined();
    // A single line whose context is not one JSON object keeps its level too.
    expect(norm('/sentinel-demo/status-page/laravel', '[2025-03-02 03:12:43] production.WARNING: Retrying {attempt 2}')).toMatchObject({
      'log.level': 'warn',
    });
  });

  it('a parser that throws skips its line as internal_error naming the parser and the source; the next line is read', () => {
    const source = SourceDefinition.parse({ source: { name: 'fragile', logGroups: ['/app/fragile'], parsers: ['laravel'] } });
    const normalizer = new Normalizer([source]);
    const compiled = normalizer.sourceFor('/app/fragile');
    const boom = {
      name: 'boom',
      parse(line: string) {
        if (line.includes('boom')) throw new Error('cannot read this');
        return undefined;
      },
    };
    compiled.parsers.unshift(boom);
    const ctx = { logGroup: '/app/fragile', logStream: 's', id: '7', timestamp: 1_000 };
    const bad = normalizer.normalize('boom', ctx);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.skip).toMatchObject({ reason: 'internal_error', where: '/app/fragile s event 7' });
    expect(bad.skip.detail).toContain('parser boom: cannot read this');
    expect(bad.skip.detail).toContain('source fragile');
    const good = normalizer.normalize('[2025-03-02 03:12:40] production.WARNING: ok', ctx);
    expect(good.ok && good.event['log.level']).toBe('warn');
  });

  it('parses Spring Boot 2 and 3 lines in groups no source names, ahead of a syslog header that fits them only in part', () => {
    const boot2 = norm(
      '/app/orders/java',
      '2025-03-02 03:12:41.554 ERROR 12345 --- [           main] o.s.boot.SpringApplication               : Application run failed',
    );
    expect(boot2).toMatchObject({
      'event.dataset': 'spring_boot',
      'log.level': 'error',
      'process.pid': 12345,
      'process.thread.name': 'main',
      'log.logger': 'o.s.boot.SpringApplication',
      message: 'Application run failed',
      '@timestamp': Date.parse('2025-03-02T03:12:41.554Z'),
    });
    // ISO time, then a word: a syslog header reads `ERROR` as the host and understands nothing more.
    const boot3 = norm(
      '/app/orders/java',
      '2025-03-02T03:12:41.554+01:00 ERROR 1 --- [orders] [nio-8080-exec-1] c.e.orders.PaymentController             : Payment failed\njava.lang.IllegalStateException: card declined\n\tat c.e.orders.PaymentController.pay(PaymentController.java:42)',
    );
    expect(boot3).toMatchObject({
      'event.dataset': 'spring_boot',
      'log.level': 'error',
      'service.name': 'orders',
      'process.thread.name': 'nio-8080-exec-1',
      message: 'Payment failed',
      '@timestamp': Date.parse('2025-03-02T02:12:41.554Z'),
    });
    expect(String(boot3['error.stack_trace'])).toMatch(/^java\.lang\.IllegalStateException/);
    // A real syslog line still goes to its own pattern.
    expect(
      norm('/app/hosts/syslog', 'Mar  2 03:12:40 web-1 sshd[1]: Failed password for root from 203.0.113.5 port 22 ssh2'),
    ).toMatchObject({
      'event.action': 'ssh_login',
      'event.outcome': 'failure',
      'user.name': 'root',
    });
  });

  it('parses Keycloak admin events: role grants, revocations, group joins and password resets, named by the admin id', () => {
    const group = '/app/keycloak/server';
    const admin = '0e4f8a2c-5d6b-4c1e-9f3a-7b8c9d0e1f2a';
    const target = '9f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f';
    const line = (pairs: string, level = 'INFO') => `2024-05-01 12:00:00,123 ${level}  [org.keycloak.events] (executor-thread-3) ${pairs}`;
    const common = `realmId="6a2b7c1d", realmName="acme", clientId="security-admin-console", userId="${admin}", ipAddress="198.51.100.4"`;
    const grant = norm(
      group,
      line(`operationType="CREATE", ${common}, resourceType="REALM_ROLE_MAPPING", resourcePath="users/${target}/role-mappings/realm"`),
    );
    expect(grant).toMatchObject({
      'event.dataset': 'keycloak.event',
      'event.category': 'iam',
      'event.action': 'role_grant',
      'event.outcome': 'success',
      'user.id': admin,
      'user.target.id': target,
      'source.ip': '198.51.100.4',
      'keycloak.realm': 'acme',
      'keycloak.resourceType': 'REALM_ROLE_MAPPING',
    });
    expect(grant['user.name']).toBeUndefined();
    // With the realm's "include representation": the roles granted, escaped inside their quotes.
    const representation = JSON.stringify([{ id: 'r1', name: 'realm-admin', composite: true }]).replaceAll('"', '\\"');
    expect(
      norm(
        group,
        line(
          `operationType="CREATE", ${common}, resourceType="CLIENT_ROLE_MAPPING", resourcePath="users/${target}/role-mappings/clients/c1", representation="${representation}"`,
        ),
      ),
    ).toMatchObject({ 'event.action': 'admin_role_assigned' });
    expect(
      norm(
        group,
        line(`operationType="DELETE", ${common}, resourceType="REALM_ROLE_MAPPING", resourcePath="users/${target}/role-mappings/realm"`),
      ),
    ).toMatchObject({ 'event.action': 'role_revoke' });
    expect(
      norm(group, line(`operationType="CREATE", ${common}, resourceType="GROUP_MEMBERSHIP", resourcePath="users/${target}/groups/g1"`)),
    ).toMatchObject({ 'event.action': 'group_membership_grant', 'user.target.id': target });
    expect(
      norm(group, line(`operationType="ACTION", ${common}, resourceType="USER", resourcePath="users/${target}/reset-password"`)),
    ).toMatchObject({
      'event.action': 'password_reset_by_admin',
    });
    // Keycloak before 24, unquoted; a failed operation.
    expect(
      norm(
        group,
        line(
          `operationType=UPDATE, realmId=acme, clientId=admin-cli, userId=${admin}, ipAddress=198.51.100.4, resourcePath=clients/c1, error=unknown_error`,
          'WARN',
        ),
      ),
    ).toMatchObject({ 'event.action': 'admin_update_unknown', 'event.outcome': 'failure', 'user.id': admin });
    // JSON logging: the same list is the message of an events-logger line.
    const json = norm(
      group,
      JSON.stringify({
        timestamp: '2024-05-01T12:00:04.000+00:00',
        loggerName: 'org.keycloak.events',
        level: 'INFO',
        message: `operationType="CREATE", ${common}, resourceType="REALM_ROLE_MAPPING", resourcePath="users/${target}/role-mappings/realm"`,
      }),
    );
    expect(json).toMatchObject({ 'event.action': 'role_grant', 'event.category': 'iam', 'user.target.id': target });
    // A source's lookup names known admins, so their changes join the user's other detections.
    const named = new Normalizer([
      SourceDefinition.parse({
        source: {
          name: 'kc',
          logGroups: [group],
          parsers: ['keycloak'],
          lookups: [{ from: 'user.id', to: 'user.name', values: { [admin]: 'alice' } }],
        },
      }),
    ]);
    const r = named.normalize(
      line(`operationType="CREATE", ${common}, resourceType="REALM_ROLE_MAPPING", resourcePath="users/${target}/role-mappings/realm"`),
      { logGroup: group, logStream: 's', id: '1', timestamp: 1_000 },
    );
    expect(r.ok && r.event['user.name']).toBe('alice');
  });

  it('parses Keycloak login events, quoted (Keycloak 24+) and unquoted', () => {
    const group = '/app/keycloak/server';
    const quoted = norm(
      group,
      '2024-05-01 12:00:00,123 WARN  [org.keycloak.events] (executor-thread-1) type="LOGIN_ERROR", realmId="6a2b7c1d", realmName="master", clientId="security-admin-console", userId="null", sessionId="null", ipAddress="203.0.113.9", error="user_not_found", auth_method="openid-connect", redirect_uri="https://sso.example.com/a, b", username="admin"',
    );
    expect(quoted).toMatchObject({
      '@timestamp': Date.parse('2024-05-01T12:00:00.123Z'),
      'event.dataset': 'keycloak.event',
      'event.category': 'authentication',
      'event.action': 'login_error',
      'event.outcome': 'failure',
      'event.reason': 'user_not_found',
      'source.ip': '203.0.113.9',
      'user.name': 'admin',
      'keycloak.realm': 'master',
      'keycloak.clientId': 'security-admin-console',
      'keycloak.redirect_uri': 'https://sso.example.com/a, b',
      'log.level': 'warn',
    });
    expect(quoted['user.id']).toBeUndefined(); // "null": not known
    const unquoted = norm(
      group,
      '2024-05-01 12:00:01,456 WARN  [org.keycloak.events] (default task-1) type=LOGIN_ERROR, realmId=acme, clientId=portal, userId=9f1c, ipAddress=203.0.113.9, error=invalid_user_credentials, username=alice',
    );
    expect(unquoted).toMatchObject({
      'user.name': 'alice',
      'user.id': '9f1c',
      'event.reason': 'invalid_user_credentials',
      'keycloak.realm': 'acme',
    });
    const ok = norm(
      group,
      '2024-05-01 12:00:02,789 INFO  [org.keycloak.events] (executor-thread-2) type="LOGIN", realmId="acme", clientId="portal", userId="9f1c", ipAddress="198.51.100.4", username="alice"',
    );
    expect(ok).toMatchObject({ 'event.action': 'login', 'event.outcome': 'success' });
    // JSON logging (--log-console-output=json): the same list is the message of an events-logger line.
    const json = norm(
      group,
      JSON.stringify({
        timestamp: '2024-05-01T12:00:04.000+00:00',
        loggerName: 'org.keycloak.events',
        level: 'WARN',
        message:
          'type="LOGIN_ERROR", realmId="acme", clientId="portal", userId="null", ipAddress="203.0.113.9", error="user_not_found", username="mallory"',
        threadName: 'executor-thread-1',
        hostName: 'keycloak-0',
      }),
    );
    expect(json).toMatchObject({
      'event.dataset': 'keycloak.event',
      'event.action': 'login_error',
      'event.outcome': 'failure',
      'source.ip': '203.0.113.9',
      'user.name': 'mallory',
      'log.level': 'warn',
      '@timestamp': Date.parse('2024-05-01T12:00:04Z'),
    });
    // A typed user name that forges a pair does not move the attempt to another address.
    const forged = norm(
      group,
      '2024-05-01 12:00:03,000 WARN  [org.keycloak.events] (t) type=LOGIN_ERROR, realmId=acme, clientId=portal, userId=null, ipAddress=203.0.113.9, error=user_not_found, username=x, ipAddress=10.0.0.1, type=LOGIN',
    );
    expect(forged).toMatchObject({ 'source.ip': '203.0.113.9', 'event.outcome': 'failure', 'user.name': 'x' });
    // Escaped quotes stay inside their value; a line of `a=a=a=…` is one pair, read in one pass.
    expect(keycloakPairs('type="LOGIN_ERROR", username="x\\", ipAddress=\\"10.0.0.1", error="e"')).toEqual([
      ['type', 'LOGIN_ERROR'],
      ['username', 'x", ipAddress="10.0.0.1'],
      ['error', 'e'],
    ]);
    expect(keycloakPairs(`u=${'a='.repeat(50_000)}`)).toEqual([]);
    expect(keycloakPairs('type=LOGIN, redirect_uri=https://x/?a=b&c=d, username=bob')).toEqual([
      ['type', 'LOGIN'],
      ['redirect_uri', 'https://x/?a=b&c=d'],
      ['username', 'bob'],
    ]);
  });

  it('opens container runtime wrappers (EKS Container Insights, Fluent Bit, FireLens, Docker) and parses the line inside', () => {
    const group = '/aws/containerinsights/prod/application';
    const nginx = norm(
      group,
      '{"log":"203.0.113.9 - - [01/May/2024:12:00:03 +0000] \\"GET /wp-login.php HTTP/1.1\\" 404 153 \\"-\\" \\"curl/8.5\\"\\n","stream":"stdout","time":"2024-05-01T12:00:03.123456789Z","kubernetes":{"pod_name":"web-7d9f","namespace_name":"shop","container_name":"nginx"}}',
    );
    expect(nginx).toMatchObject({
      'source.ip': '203.0.113.9',
      'url.path': '/wp-login.php',
      'http.response.status_code': 404,
      'event.category': 'web',
      'kubernetes.pod_name': 'web-7d9f',
      'kubernetes.namespace_name': 'shop',
      'container.name': 'nginx',
      // No service named by the line: the container's (services share this group), else the group's.
      'service.name': 'nginx',
      stream: 'stdout',
      '@timestamp': Date.parse('2024-05-01T12:00:03Z'),
      'event.original': '203.0.113.9 - - [01/May/2024:12:00:03 +0000] "GET /wp-login.php HTTP/1.1" 404 153 "-" "curl/8.5"',
    });
    const firelens = norm(
      '/ecs/web',
      '{"container_id":"abc","container_name":"/ecs-web-1","ecs_cluster":"prod","ecs_task_arn":"arn:aws:ecs:us-east-1:1:task/prod/x","log":"May  1 12:00:05 h sshd[1]: Failed password for root from 203.0.113.9 port 1 ssh2","source":"stderr"}',
    );
    expect(firelens).toMatchObject({
      'user.name': 'root',
      'source.ip': '203.0.113.9',
      'event.action': 'ssh_login',
      'container.name': '/ecs-web-1',
      ecs_cluster: 'prod',
    });
    const app = norm(
      group,
      '{"log":"{\\"level\\":50,\\"time\\":1714564804000,\\"msg\\":\\"admin login failed\\",\\"user\\":\\"ops-admin\\"}\\n","stream":"stderr","time":"2024-05-01T12:00:09Z"}',
    );
    expect(app).toMatchObject({
      'log.level': 'error',
      message: 'admin login failed',
      'service.name': group,
      user: 'ops-admin',
      '@timestamp': 1714564804000,
      stream: 'stderr',
    });
    // containerd's own format (CRI: EKS nodes' /var/log/containers shipped as it is).
    const cri = (line: string) => norm('/aws/eks/prod/containers', line);
    expect(cri('2025-03-03T10:00:00.123456789Z stderr F {"level":50,"time":1740996000123,"msg":"db down"}')).toMatchObject({
      'log.level': 'error',
      message: 'db down',
      stream: 'stderr',
      '@timestamp': 1740996000123,
    });
    expect(
      cri('2025-03-03T10:00:00.5+00:00 stdout F 203.0.113.9 - - [03/Mar/2025:10:00:00 +0000] "GET /x HTTP/1.1" 503 12 "-" "curl/8"'),
    ).toMatchObject({ 'source.ip': '203.0.113.9', 'http.response.status_code': 503, 'event.category': 'web', stream: 'stdout' });
    // A part of a long line, read as it stands, at the runtime's time; an app's own ISO-time line is no wrapper.
    expect(cri('2025-03-03T10:00:00.123Z stdout P partial line')).toMatchObject({
      message: 'partial line',
      '@timestamp': Date.parse('2025-03-03T10:00:00.123Z'),
    });
    expect(cri('2025-03-03T10:00:00.123Z stdout is fine').stream).toBeUndefined();
    // A line without a time of its own takes the runtime's, not CloudWatch's.
    const r = normalizer.normalize('{"log":"plain text","stream":"stdout","time":"2024-05-01T12:00:06Z"}', {
      logGroup: group,
      logStream: 's',
      id: '1',
      timestamp: 1_000,
    });
    expect(r.ok && r.timeFallback).toBe(false);
    expect(r.ok && r.event['@timestamp']).toBe(Date.parse('2024-05-01T12:00:06Z'));
    expect(r.ok && r.event.message).toBe('plain text');
    // A source that says its lines are JSON (the wrappers are) still reads the text inside.
    const jsonSource = new Normalizer([
      SourceDefinition.parse({ source: { name: 'eks', logGroups: ['/eks/*'], format: 'json', parsers: ['openssh'] } }),
    ]);
    const inner = jsonSource.normalize(
      '{"log":"May  1 12:00:05 h sshd[1]: Failed password for root from 203.0.113.9 port 1 ssh2","stream":"stderr"}',
      { logGroup: '/eks/app', logStream: 's', id: '1', timestamp: 1_000 },
    );
    expect(inner.ok && inner.event['source.ip']).toBe('203.0.113.9');
    // An app's own JSON with a `log` field is not a wrapper, and a wrapper inside a wrapper stays JSON.
    expect(norm(group, '{"log":"just a field","level":"info"}')).toMatchObject({ log: 'just a field', 'log.level': 'info' });
    expect(norm(group, '{"log":"{\\"log\\":\\"x\\",\\"stream\\":\\"stdout\\"}","stream":"stdout"}')).toMatchObject({
      log: 'x',
      stream: 'stdout',
    });
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
});

describe('Keycloak through the detector', () => {
  it('a password attack on alice, her login, then a role grant by her admin id: three detections about alice, the account-takeover chain', async () => {
    const adminId = '0e4f8a2c-5d6b-4c1e-9f3a-7b8c9d0e1f2a';
    const source = SourceDefinition.parse({
      source: {
        name: 'kc',
        logGroups: ['/app/keycloak/*'],
        parsers: ['keycloak'],
        lookups: [{ from: 'user.id', to: 'user.name', values: { [adminId]: 'alice' } }],
      },
    });
    const at = (i: number) => `2024-05-01 12:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')},000`;
    const lines = [
      ...Array.from(
        { length: 12 },
        (_, i) =>
          `${at(i * 5)} WARN  [org.keycloak.events] (t) type="LOGIN_ERROR", realmId="acme", clientId="portal", userId="${adminId}", ipAddress="203.0.113.9", error="invalid_user_credentials", username="alice"`,
      ),
      `${at(70)} INFO  [org.keycloak.events] (t) type="LOGIN", realmId="acme", clientId="security-admin-console", userId="${adminId}", ipAddress="203.0.113.9", username="alice"`,
      `${at(130)} INFO  [org.keycloak.events] (t) operationType="CREATE", realmId="acme", clientId="security-admin-console", userId="${adminId}", ipAddress="203.0.113.9", resourceType="REALM_ROLE_MAPPING", resourcePath="users/9f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f/role-mappings/realm"`,
    ];
    const detector = new Detector(pack, new MemoryStateStore());
    const r = await processPayload(
      linesPayload('/app/keycloak/server', lines, Date.parse('2024-05-01T12:00:00Z')),
      new Normalizer([source]),
      detector,
    );
    const aboutAlice = new Set(r.messages.filter((m) => m.alert.entity.value === 'alice').map((m) => m.alert.ruleId));
    for (const id of ['auth.brute_force_user', 'auth.success_after_failures', 'admin.privileged_action']) expect(aboutAlice).toContain(id);
  });
});

describe('Keycloak user names learned from logins', () => {
  const aliceId = '0e4f8a2c-5d6b-4c1e-9f3a-7b8c9d0e1f2a';
  const eveId = '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d';
  const at = (i: number) => `2024-05-01 12:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')},000`;
  const event = (i: number, rest: string, level = 'INFO ') => `${at(i)} ${level} [org.keycloak.events] (t) ${rest}`;
  const login = (i: number, id: string, name: string) =>
    event(
      i,
      `type="LOGIN", realmId="acme", clientId="security-admin-console", userId="${id}", ipAddress="203.0.113.9", username="${name}"`,
    );
  const failed = (i: number, id: string, typed: string) =>
    event(
      i,
      `type="LOGIN_ERROR", realmId="acme", clientId="portal", userId="${id}", ipAddress="203.0.113.9", error="invalid_user_credentials", username="${typed}"`,
      'WARN ',
    );
  const roleGrant = (i: number, adminId: string) =>
    event(
      i,
      `operationType="CREATE", realmId="acme", clientId="security-admin-console", userId="${adminId}", ipAddress="203.0.113.9", resourceType="REALM_ROLE_MAPPING", resourcePath="users/9f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f/role-mappings/realm"`,
    );
  const t0 = Date.parse('2024-05-01T12:00:00Z');
  const servers: LocalDynamo[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  const stores: [string, () => Promise<StateStore>][] = [
    ['memory', async () => new MemoryStateStore()],
    [
      'dynalite',
      async () => {
        const db = await startLocalDynamo(`kc${servers.length}`);
        servers.push(db);
        return new DynamoStateStore(db.client, db.tableName);
      },
    ],
  ];
  /** Each batch its own stream (a new payload), in order; the titles of the admin.privileged_action messages. */
  async function privilegedActors(store: StateStore, batches: [group: string, lines: string[]][]): Promise<string[]> {
    const detector = new Detector(pack, store);
    const titles: string[] = [];
    for (const [i, [group, lines]] of batches.entries()) {
      const r = await processPayload({ ...linesPayload(group, lines, t0), logStream: `s${i}` }, normalizer, detector);
      for (const m of r.messages) if (m.alert.ruleId === 'admin.privileged_action') titles.push(m.alert.title);
    }
    return titles;
  }
  const by = (who: string) => expect.stringContaining(`by ${who}:`);

  it.each(stores)(
    '%s: a login teaches the name an admin change by that id is about, in the same batch and a later one',
    async (_name, fresh) => {
      expect(
        await privilegedActors(await fresh(), [['/app/keycloak/server', [roleGrant(10, aliceId), login(5, aliceId, 'alice')]]]),
      ).toEqual([by('alice')]);
      expect(
        await privilegedActors(await fresh(), [
          ['/app/keycloak/server', [login(5, aliceId, 'alice')]],
          ['/app/keycloak/server', [roleGrant(600, aliceId)]],
        ]),
      ).toEqual([by('alice')]);
    },
  );

  it('a failed login teaches nothing (it names what was typed), nor does another log group’s login', async () => {
    const typed = await privilegedActors(new MemoryStateStore(), [
      ['/app/keycloak/server', [failed(5, eveId, 'alice')]],
      ['/app/keycloak/server', [roleGrant(600, eveId)]],
    ]);
    expect(typed).toEqual([by(eveId)]);
    const elsewhere = await privilegedActors(new MemoryStateStore(), [
      ['/app/keycloak/other-realm', [login(6, aliceId, 'alice')]],
      ['/app/keycloak/server', [roleGrant(600, aliceId)]],
    ]);
    expect(elsewhere).toEqual([by(aliceId)]);
  });

  it('a stored name that does not parse names nobody, and fails no batch', async () => {
    const store = new MemoryStateStore();
    await store.writeDoc({
      pk: 'un#/app/keycloak/server',
      sk: aliceId,
      body: '{not json',
      ifVersion: undefined,
      now: t0,
      expiresAt: t0 + 86_400_000,
    });
    expect(await privilegedActors(store, [['/app/keycloak/server', [roleGrant(600, aliceId)]]])).toEqual([by(aliceId)]);
  });

  it('the account-takeover chain about alice needs no lookup table', async () => {
    const lines = [
      ...Array.from({ length: 12 }, (_, i) => failed(i * 5, aliceId, 'alice')),
      login(70, aliceId, 'alice'),
      roleGrant(130, aliceId),
    ];
    const r = await processPayload(linesPayload('/app/keycloak/server', lines, t0), normalizer, new Detector(pack, new MemoryStateStore()));
    const aboutAlice = new Set(r.messages.filter((m) => m.alert.entity.value === 'alice').map((m) => m.alert.ruleId));
    for (const id of ['auth.brute_force_user', 'auth.success_after_failures', 'admin.privileged_action']) expect(aboutAlice).toContain(id);
  });
});

describe('web server error logs through the detector', () => {
  it('a basic-auth brute force in the nginx error log fires the brute-force rules on the client and the user', async () => {
    const t0 = Date.parse('2024-05-01T12:00:00Z');
    const lines = Array.from(
      { length: 25 },
      (_, i) =>
        `2024/05/01 12:00:${String(i).padStart(2, '0')} [error] 1234#1234: *${i} user "admin": password mismatch, client: 203.0.113.9, server: _, request: "GET /admin HTTP/1.1", host: "example.com"`,
    );
    const detector = new Detector(pack, new MemoryStateStore());
    const r = await processPayload(linesPayload('/aws/nginx/error', lines, t0), normalizer, detector);
    const fired = r.alerts.map((a) => `${a.ruleId} ${a.entity.value}`);
    expect(fired).toContain('auth.brute_force_source 203.0.113.9');
    expect(fired).toContain('auth.brute_force_user admin');
  });
});

describe('identity provider logs through the detector', () => {
  it('a password spray against Keycloak fires the spray rule on the client', async () => {
    const t0 = Date.parse('2024-05-01T12:00:00Z');
    const lines = Array.from(
      { length: 12 },
      (_, i) =>
        `2024-05-01 12:00:${String(i * 4).padStart(2, '0')},000 WARN  [org.keycloak.events] (executor-thread-1) type="LOGIN_ERROR", realmId="acme", clientId="portal", userId="null", ipAddress="203.0.113.9", error="invalid_user_credentials", username="user${i}"`,
    );
    const r = await processPayload(
      linesPayload('/app/keycloak/server', lines, t0, 4000),
      normalizer,
      new Detector(pack, new MemoryStateStore()),
    );
    expect(r.alerts.map((a) => `${a.ruleId} ${a.entity.value}`)).toContain('auth.password_spray 203.0.113.9');
  });
});

describe('property: an IPv4 address is recognized as net.isIP recognizes one', () => {
  it('on addresses, padded addresses and strings of digits and dots', () => {
    const text = fc.oneof(
      fc.ipV4(),
      fc.ipV4Extended(),
      fc.ipV6(),
      fc.stringMatching(/^[0-9.]{0,17}$/),
      fc.stringMatching(/^[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}$/),
      fc.constantFrom('256.1.1.1', '1.2.3.4.', '.1.2.3', '01.2.3.4', '0.0.0.0', '255.255.255.255', '1..2.3', '1.2.3.4 ', '١.2.3.4'),
    );
    fc.assert(
      fc.property(text, (t) => {
        expect(isDottedQuad(t), t).toBe(isIP(t) === 4);
      }),
      { numRuns: 5000 },
    );
  });
});

/**
 * Every line a built-in parser reads can be written by an attacker (a typed user or mailbox name,
 * a request line, a user agent): a pattern that backtracks catastrophically would stall a detector
 * on one line. Source files' custom parsers are checked the same way by `detect validate`.
 */
describe('built-in parser patterns', () => {
  it('each passes recheck (no super-linear backtracking)', () => {
    const patterns = new Set<string>([SYSLOG_HEADER, RFC5424_HEADER]);
    for (const parsers of Object.values(BUILTIN_PARSERS)) {
      for (const parser of parsers) {
        if (parser.program) patterns.add(parser.program);
        for (const p of parser.patterns) {
          patterns.add(p.pattern);
          // Its short lines' form too (shortLineRegex): quoted fields unbounded, and read on such lines.
          const short = shortLineRegex(withoutGroupNames(p.pattern));
          if (short) patterns.add(short.regex.source);
        }
      }
    }
    expect(patterns.size).toBeGreaterThan(80);
    const unsafe = [...patterns].map((p) => ({ pattern: p, verdict: checkRegexSafety(p) })).filter((r) => !r.verdict.safe);
    expect(unsafe).toEqual([]);
  }, 120_000);

  it('gives a pattern checked twice in a process the verdict it gave first (detect import-sigma checks, then validates what it wrote)', () => {
    const first = checkRegexSafety('^(?<x>\\d{1,5}) [a-z]{1,8}$');
    expect(first).toEqual({ safe: true, detail: 'safe' });
    expect(checkRegexSafety('^(?<x>\\d{1,5}) [a-z]{1,8}$')).toBe(first);
  });
});

describe('quoted fields unbounded on short lines (src/parse/line-parser.ts, shortLineRegex)', () => {
  const withShort = Object.values(BUILTIN_PARSERS)
    .flat()
    .flatMap((p) => p.patterns)
    .flatMap((spec) => {
      const source = withoutGroupNames(spec.pattern);
      const short = shortLineRegex(source);
      return short ? [{ name: spec.name, bounded: new RegExp(source), short }] : [];
    });

  it('property: on lines no longer than the bound, both forms match and capture alike', () => {
    expect(withShort.map((p) => p.name)).toEqual(expect.arrayContaining(['combined', 'vhost_combined']));
    const sample = '203.0.113.9 - - [01/May/2024:12:00:01 +0000] "GET /a HTTP/1.1" 200 12 "-" "curl/8.0"';
    // Lines near an access log's shape: its pieces, quotes, backslashes and escape pairs in any order.
    const piece = fc.constantFrom('"', '\\', '\\"', '\\\\', ' ', '-', 'a', 'GET /x HTTP/1.1', '200', '[', ']', ':', '1', 'é', '\t');
    const line = fc.oneof(
      fc.array(piece, { maxLength: 40 }).map((parts) => parts.join('')),
      fc
        .tuple(fc.nat(sample.length), fc.array(piece, { maxLength: 6 }))
        .map(([at, parts]) => `${sample.slice(0, at)}${parts.join('')}${sample.slice(at)}`),
      fc
        .tuple(fc.nat(sample.length), fc.nat(sample.length))
        .map(([a, b]) => `${sample.slice(0, Math.min(a, b))}${sample.slice(Math.max(a, b))}`),
    );
    fc.assert(
      fc.property(line, (text) => {
        for (const p of withShort) {
          if (text.length > p.short.maxLength) continue;
          expect(JSON.stringify(p.short.regex.exec(text)), p.name).toBe(JSON.stringify(p.bounded.exec(text)));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a field longer than the bound still fails the line, as the bounded form has it', () => {
    const combined = withShort.find((p) => p.name === 'combined');
    if (!combined) throw new Error('no combined pattern');
    const long = `203.0.113.9 - - [01/May/2024:12:00:01 +0000] "GET /${'a'.repeat(combined.short.maxLength)} HTTP/1.1" 200 12 "-" "curl/8.0"`;
    expect(combined.bounded.exec(long)).toBeNull();
    expect(norm('/var/log/nginx/access.log', long)['url.original']).toBeUndefined();
  });
});
