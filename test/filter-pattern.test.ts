import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { SkipLedger } from '../src/decode/skips';
import { AWS_LOG_GROUPS } from '../src/demo/aws';
import { generateDemo } from '../src/demo/generate';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { normalizePayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { compileFilterPattern, filterPasses } from '../src/rules/filter-pattern';
import { SourceDefinition } from '../src/schema/rule';
import { linesPayload, realLogLines, rule } from './helpers';

/** CloudWatch Logs' reading of the compiled pattern: '' passes everything; `%regex%` passes what the regex finds. */
/** A source of JSON apps (`/apps/*` unless `source` says otherwise), with whatever maps `source` adds. */
function jsonSource(source: Record<string, unknown> = {}): SourceDefinition {
  return SourceDefinition.parse({ source: { name: 'apps', logGroups: ['/apps/*'], format: 'json', ...source } });
}

function passes(pattern: string, message: string): boolean {
  if (pattern === '') return true;
  expect(pattern).toMatch(/^%.+%$/);
  // The syntax CloudWatch documents for filter regexes: letters, digits, `:_#=@/;,-` and `^$?[]{}|\\*+.`.
  expect(pattern.slice(1, -1)).toMatch(/^[A-Za-z0-9:_#=@/;,\-^$?[\]{}|\\*+.]+$/);
  return filterPasses(pattern, message);
}

describe('subscription filter patterns', () => {
  const { pack } = loadPack(['rules']);
  const normalizer = new Normalizer(pack.sources);

  it('never drop an event its rule matches: each shipped rule alone, on demo traffic with the attacks, in every log group', () => {
    const demo = generateDemo(20250303, { awsAttack: true });
    const batches = demo.payloads.map((p) => ({ logGroup: p.logGroup, events: normalizePayload(p, normalizer, new SkipLedger()) }));
    let checked = 0;
    let filtered = 0;
    const dropped: string[] = [];
    // A rule that adds no terms (`filterTerms: none`) reads what the others deliver, by design.
    for (const rule of pack.rules.filter((r) => r.filterTerms !== 'none')) {
      // One rule at a time: the shipped pack as a whole falls back to delivering everything in most groups.
      const detector = new Detector({ rules: [rule] }, new MemoryStateStore());
      const patterns = new Map<string, string>();
      for (const { logGroup, events } of batches) {
        let pattern = patterns.get(logGroup);
        if (pattern === undefined) {
          pattern = compileFilterPattern(logGroup, [rule], pack.sources).pattern;
          patterns.set(logGroup, pattern);
        }
        for (const matched of detector.matchAll(events).values()) {
          for (const e of matched) {
            checked++;
            if (pattern !== '') filtered++;
            const line = String(e['event.original']);
            if (!passes(pattern, line)) dropped.push(`${logGroup} ${rule.id} (${pattern}): ${line.slice(0, 100)}`);
          }
        }
      }
    }
    expect(dropped).toEqual([]);
    // The check has teeth: hundreds of matched events went through a pattern, not a deliver-everything fallback.
    expect(checked).toBeGreaterThan(5_000);
    expect(filtered).toBeGreaterThan(500);
  });

  it("never drop a line of a rule's own tests that the rule matches: every shipped rule, in its tests' log groups", () => {
    let checked = 0;
    const dropped: string[] = [];
    for (const r of pack.rules.filter((rule) => rule.filterTerms !== 'none')) {
      const detector = new Detector({ rules: [r] }, new MemoryStateStore());
      for (const t of r.tests) {
        if (!t.lines || !t.logGroup) continue;
        const events = normalizePayload(linesPayload(t.logGroup, t.lines, 0, 1000, t.logStream), normalizer, new SkipLedger());
        const pattern = compileFilterPattern(t.logGroup, [r], pack.sources).pattern;
        for (const e of [...detector.matchAll(events).values()].flat()) {
          checked++;
          // The filter reads the line as delivered (a journald record's JSON, not the syslog line it stands for).
          const line = t.lines[Number(e['cloudwatch.event_id'])] ?? '';
          if (!passes(pattern, line)) dropped.push(`${r.id} (${pattern}): ${line.slice(0, 100)}`);
        }
      }
    }
    expect(dropped).toEqual([]);
    expect(checked).toBeGreaterThan(1_000);
  });

  it('never require a value a built-in AWS source derives rather than copies (function from the group, transport from the protocol number)', () => {
    const demo = generateDemo(20250303, { awsAttack: true });
    const aws = demo.payloads.filter((p) => (Object.values(AWS_LOG_GROUPS) as string[]).includes(p.logGroup));
    const rules = [
      rule({ id: 'x.https_flows', match: { 'network.transport': 'tcp', 'destination.port': 443 } }),
      rule({ id: 'x.refused', match: { 'event.category': 'network', 'vpcflow.action': 'REJECT' } }),
      rule({ id: 'x.timeouts', match: { 'faas.name': 'checkout-api', 'event.action': 'lambda_timeout' } }),
      rule({ id: 'x.aws_iam', match: { 'cloud.provider': 'aws', 'event.category': 'iam', 'event.provider': 'iam.amazonaws.com' } }),
    ];
    // The groups recognized by content, and the same groups named by source files with `builtin:`.
    const named = [
      SourceDefinition.parse({ source: { name: 'flows', logGroups: [AWS_LOG_GROUPS.flows], builtin: 'vpcflow' } }),
      SourceDefinition.parse({ source: { name: 'fn', logGroups: [AWS_LOG_GROUPS.lambda], builtin: 'lambda' } }),
      SourceDefinition.parse({ source: { name: 'trail', logGroups: [AWS_LOG_GROUPS.cloudtrail], builtin: 'cloudtrail' } }),
    ];
    for (const sources of [[], named]) {
      const norm = new Normalizer(sources);
      const dropped: string[] = [];
      let checked = 0;
      const detectors = rules.map((r) => ({ r, detector: new Detector({ rules: [r] }, new MemoryStateStore()) }));
      // A group's pattern for a rule is the same for each of its payloads: compiled once.
      const patterns = new Map<string, string>();
      for (const payload of aws) {
        const events = normalizePayload(payload, norm, new SkipLedger());
        for (const { r, detector } of detectors) {
          const key = `${r.id}\u0000${payload.logGroup}`;
          const pattern = patterns.get(key) ?? compileFilterPattern(payload.logGroup, [r], sources).pattern;
          patterns.set(key, pattern);
          for (const matched of detector.matchAll(events).values()) {
            for (const e of matched) {
              checked++;
              if (!passes(pattern, String(e['event.original']))) dropped.push(`${r.id} ${payload.logGroup} (${pattern})`);
            }
          }
        }
      }
      expect(checked).toBeGreaterThan(100);
      expect([...new Set(dropped)]).toEqual([]);
    }
  });

  it("an attacker's choice of case, Unicode or escaping does not get a matching line past the filter", () => {
    const rootLogin = rule({ id: 'x.root', match: { 'user.name': 'root', 'event.outcome': 'failure' } });
    // A field an app line may name (an AWS service as `event.provider` is AWS's records' alone: test/forged-aws-records.test.ts).
    const kms = rule({ id: 'x.kms', match: { 'app.provider': 'kms.amazonaws.com' } });
    const path = rule({ id: 'x.path', match: { 'app.page': '/admin/login' } });
    const cases: [typeof rootLogin, string, string][] = [
      [rootLogin, '/var/log/auth.log', 'Mar  3 03:12:40 h sshd[1]: Failed password for rOoT from 203.0.113.5 port 1 ssh2'],
      [kms, '/app/json', '{"app.provider":"\u212Ams.amazonaws.com","msg":"x"}'],
      [path, '/app/php', '{"app":{"page":"\\/admin\\/login"},"msg":"x"}'],
    ];
    for (const [r, logGroup, line] of cases) {
      const events = normalizePayload(linesPayload(logGroup, [line], 0), normalizer, new SkipLedger());
      const pattern = compileFilterPattern(logGroup, [r], pack.sources).pattern;
      expect(pattern, r.id).not.toBe('');
      const detector = new Detector({ rules: [r] }, new MemoryStateStore());
      expect([...detector.matchAll(events).values()].flat(), `${r.id} matches ${line}`).toHaveLength(1);
      expect(passes(pattern, line), `${r.id}: ${pattern} passes ${line}`).toBe(true);
    }
  });

  it("never require what a parser computes: Keycloak's category; auditd, whose values are decoded and whose records are joined across lines", () => {
    const kcSource = SourceDefinition.parse({ source: { name: 'kc', logGroups: ['/kc/*'], parsers: ['keycloak'] } });
    const kcRule = rule({ id: 'x.kc', match: { 'event.category': 'authentication', 'user.name': 'admin' } });
    const kcLine =
      '2024-05-01 12:00:00,123 WARN  [org.keycloak.events] (t) type="LOGIN_ERROR", realmId="acme", clientId="portal", userId="null", ipAddress="203.0.113.9", error="invalid_user_credentials", username="admin"';
    const kcNormalizer = new Normalizer([kcSource]);
    const kcEvents = normalizePayload(linesPayload('/kc/server', [kcLine], 0), kcNormalizer, new SkipLedger());
    expect([...new Detector({ rules: [kcRule] }, new MemoryStateStore()).matchAll(kcEvents).values()].flat()).toHaveLength(1);
    expect(passes(compileFilterPattern('/kc/server', [kcRule], [kcSource]).pattern, kcLine)).toBe(true);
    // An admin event's action is computed from its operation and resource: `role_grant` is not in the line.
    const grantRule = rule({ id: 'x.grant', match: { 'event.action': 'role_grant', 'keycloak.realm': 'acme' } });
    const grantLine =
      '2024-05-01 12:00:00,123 INFO  [org.keycloak.events] (t) operationType="CREATE", realmId="acme", clientId="c", userId="u1", ipAddress="198.51.100.4", resourceType="REALM_ROLE_MAPPING", resourcePath="users/u2/role-mappings/realm"';
    const grantEvents = normalizePayload(linesPayload('/kc/server', [grantLine], 0), kcNormalizer, new SkipLedger());
    expect([...new Detector({ rules: [grantRule] }, new MemoryStateStore()).matchAll(grantEvents).values()].flat()).toHaveLength(1);
    expect(passes(compileFilterPattern('/kc/server', [grantRule], [kcSource]).pattern, grantLine)).toBe(true);
    // The same event in JSON logging, in a source of JSON apps that names no parser.
    const apps = jsonSource();
    const jsonLine = JSON.stringify({
      loggerName: 'org.keycloak.events',
      level: 'INFO',
      message: grantLine.slice(grantLine.indexOf('operationType=')),
    });
    const jsonEvents = normalizePayload(linesPayload('/apps/kc', [jsonLine], 0), new Normalizer([apps]), new SkipLedger());
    expect([...new Detector({ rules: [grantRule] }, new MemoryStateStore()).matchAll(jsonEvents).values()].flat()).toHaveLength(1);
    expect(passes(compileFilterPattern('/apps/kc', [grantRule], [apps]).pattern, jsonLine)).toBe(true);

    // a0 is hex in the line (6375726C) and curl in the event.
    const auditRule = rule({ id: 'x.curl', match: { 'auditd.a0': 'curl' } });
    const auditLine = 'type=EXECVE msg=audit(1740971560.123:4242): argc=2 a0=6375726C a1="http://203.0.113.9/x"';
    const auditEvents = normalizePayload(linesPayload('/var/log/audit/audit.log', [auditLine], 0), normalizer, new SkipLedger());
    expect(auditEvents[0]?.['auditd.a0']).toBe('curl');
    // Any value of any field may come from the record's decoding: every record passes (each holds `msg=audit(`).
    const compiled = compileFilterPattern('/var/log/audit/audit.log', [auditRule], pack.sources).pattern;
    expect(passes(compiled, auditLine)).toBe(true);
    expect(passes(compiled, 'type=SYSCALL msg=audit(1740971560.123:4242): arch=c000003e syscall=59 success=yes')).toBe(true);
  });

  /** Normalizes the lines in the group, runs the rule on them and returns the matched lines and the group's compiled pattern. */
  function matchedAndPattern(r: ReturnType<typeof rule>, logGroup: string, lines: string[], sources = pack.sources) {
    const events = normalizePayload(linesPayload(logGroup, lines, 0), new Normalizer(sources), new SkipLedger());
    const matched = [...new Detector({ rules: [r] }, new MemoryStateStore()).matchAll(events).values()]
      .flat()
      .map((e) => lines[Number(e['cloudwatch.event_id'])] ?? '');
    return { matched, pattern: compileFilterPattern(logGroup, [r], sources).pattern };
  }

  it("a short value of a field the line names itself is looked for after the field's key: a status in JSON, not any 503 in a request id", () => {
    const fiveHundreds = rule({ id: 'x.5xx', match: { 'http.response.status_code|gte': 500, 'http.response.status_code|lt': 600 } });
    const lines = [
      '{"msg":"request done","status":503}',
      '{"http":{"response":{"status_code":502}},"msg":"upstream"}',
      '{"statusCode":"500","msg":"boom"}',
      // 503 in the request id, before the status: not a 5xx after a status key.
      '{"requestId":"5a503e1c-0d2b","msg":"request done","status":200}',
    ];
    const apps = jsonSource({ fieldMap: { status: 'http.response.status_code', statusCode: 'http.response.status_code' } });
    const { matched, pattern } = matchedAndPattern(fiveHundreds, '/apps/api', lines, [apps]);
    expect(matched).toEqual(lines.slice(0, 3));
    // A key is written as the app writes it (a quarter of the length of any case): `status`, not `[Ss][Tt]…`.
    expect(pattern).toContain('status.*5[0-9][0-9]');
    for (const line of matched) expect(passes(pattern, line), `${pattern} passes ${line}`).toBe(true);
    expect(passes(pattern, lines[3] ?? '')).toBe(false);
    // Where a text pattern captures the status (an access log), the number alone is what the line holds.
    const nginx = '203.0.113.9 - - [03/Mar/2025:08:00:00 +0000] "GET / HTTP/1.1" 503 12 "-" "curl/8.5"';
    const web = matchedAndPattern(fiveHundreds, '/sentinel-demo/web/nginx', [nginx]);
    expect(web.matched).toEqual([nginx]);
    expect(passes(web.pattern, nginx)).toBe(true);
  });

  it("a log level's other spellings pass: pino's 50, ERR, a journald record's PRIORITY; a level nobody writes as 50 does not need the digits", () => {
    const errors = rule({ id: 'x.errors', match: { 'log.level': 'error' } });
    const group = '/aws/lambda/orders';
    const lines = [
      '{"level":50,"time":1740971561001,"msg":"db down"}',
      '{"lvl":"ERR","msg":"db down"}',
      '2025-03-03T10:00:00.000Z\t6b33ab2e-4618-45bf-aed7-ac4f95025666\tERROR\tboom',
      '{"level":30,"time":1740971561001,"msg":"fine","requestId":"50505050"}',
      'START RequestId: 76149e0c-6076-4eac-af1c-430f46b5a050 Version: $LATEST',
    ];
    const { matched, pattern } = matchedAndPattern(errors, group, lines);
    expect(matched).toEqual(lines.slice(0, 3));
    for (const line of matched) expect(passes(pattern, line), `${pattern} passes ${line}`).toBe(true);
    expect(passes(pattern, lines[4] ?? '')).toBe(false);
    // A function's timeout is an error the derive sets: its line passes by what it says.
    const timeout = '2025-03-03T10:00:00.000Z 6b33ab2e-4618-45bf-aed7-ac4f95025666 Task timed out after 3.00 seconds';
    expect(matchedAndPattern(errors, group, [timeout]).matched).toEqual([timeout]);
    expect(passes(pattern, timeout)).toBe(true);
    // A journald record's PRIORITY 3 is an error.
    const apps = jsonSource();
    const journal = '{"MESSAGE":"disk failing","PRIORITY":"3","_COMM":"smartd","_HOSTNAME":"h1","__REALTIME_TIMESTAMP":"1740971561000000"}';
    const j = matchedAndPattern(errors, '/apps/host', [journal], [apps]);
    expect(j.matched).toEqual([journal]);
    expect(passes(j.pattern, journal)).toBe(true);
  });

  it("a source's value maps and lookups: the raw value or the looked-up one is what the line holds", () => {
    const identity = jsonSource({
      name: 'idp',
      logGroups: ['/idp/*'],
      fieldMap: { outcome: 'event.outcome', user: 'user.name' },
      valueMap: { 'event.outcome': { denied: 'failure' } },
      lookups: [{ from: 'event.action', to: 'event.category', values: { user_login: 'authentication' } }],
    });
    const logins = rule({ id: 'x.logins', match: { 'event.category': 'authentication' } });
    const denied = rule({ id: 'x.denied', match: { 'event.outcome': 'failure', 'user.name': 'svc_backup' } });
    const lines = ['{"event":{"action":"user_login"},"user":"ann"}', '{"outcome":"denied","user":"svc_backup"}', '{"msg":"heartbeat"}'];
    const a = matchedAndPattern(logins, '/idp/audit', lines, [identity]);
    expect(a.matched).toEqual([lines[0]]);
    expect(passes(a.pattern, lines[0] ?? '')).toBe(true);
    expect(passes(a.pattern, lines[2] ?? '')).toBe(false);
    const d = matchedAndPattern(denied, '/idp/audit', lines, [identity]);
    expect(d.matched).toEqual([lines[1]]);
    expect(passes(d.pattern, lines[1] ?? '')).toBe(true);
    expect(passes(d.pattern, lines[2] ?? '')).toBe(false);
  });

  it("a rule a group's lines cannot meet costs the group's pattern one marker, not every line: CloudTrail rules in a function's group", () => {
    const trail = pack.rules.filter((r) => r.id.startsWith('aws.') && !r.id.startsWith('aws.lambda'));
    expect(trail.length).toBeGreaterThan(5);
    const { pattern, reason } = compileFilterPattern('/aws/lambda/checkout-api', trail, pack.sources);
    expect(pattern, reason).not.toBe('');
    const demo = generateDemo(20250303, { awsAttack: true });
    const lambdaLines = demo.payloads.filter((p) => p.logGroup === AWS_LOG_GROUPS.lambda).flatMap((p) => p.logEvents.map((e) => e.message));
    expect(lambdaLines.length).toBeGreaterThan(100);
    expect(lambdaLines.filter((l) => passes(pattern, l)).length).toBeLessThan(lambdaLines.length / 10);
  });

  it("the shipped pack as a whole never drops an event one of its rules matches, in any group of the demo; and drops most of a function's lines", () => {
    const generated = generateDemo(20250303, { awsAttack: true });
    // The organization trail's records again under a group a source file names (rules/sources/aws-cloudtrail.yml):
    // there the CloudTrail source derives on every line, not only on those it recognizes.
    const named = generated.payloads
      .filter((p) => p.logGroup === AWS_LOG_GROUPS.cloudtrail)
      .map((p) => ({ ...p, logGroup: 'aws-cloudtrail-logs-demo' }));
    const demo = { payloads: [...generated.payloads, ...named] };
    expect(named.length).toBeGreaterThan(0);
    const detector = new Detector({ rules: pack.rules }, new MemoryStateStore());
    const patterns = new Map<string, string>();
    const dropped: string[] = [];
    let matched = 0;
    const delivered = new Map<string, [number, number]>();
    for (const payload of demo.payloads) {
      let pattern = patterns.get(payload.logGroup);
      if (pattern === undefined) {
        pattern = compileFilterPattern(payload.logGroup, pack.rules, pack.sources).pattern;
        patterns.set(payload.logGroup, pattern);
      }
      const counts = delivered.get(payload.logGroup) ?? [0, 0];
      for (const e of payload.logEvents) {
        counts[1]++;
        if (passes(pattern, e.message)) counts[0]++;
      }
      delivered.set(payload.logGroup, counts);
      const events = normalizePayload(payload, normalizer, new SkipLedger());
      const lines = new Map(payload.logEvents.map((e) => [e.id, e.message]));
      for (const list of detector.matchAll(events).values()) {
        for (const e of list) {
          matched++;
          const line = lines.get(String(e['cloudwatch.event_id'])) ?? '';
          if (!passes(pattern, line)) dropped.push(`${payload.logGroup}: ${line.slice(0, 120)}`);
        }
      }
    }
    expect(dropped).toEqual([]);
    expect(matched).toBeGreaterThan(1_000);
    const [lambdaIn = 0, lambdaAll = 1] = delivered.get(AWS_LOG_GROUPS.lambda) ?? [];
    expect(lambdaIn / lambdaAll).toBeLessThan(0.5);
  });

  it("a container runtime's wrapper is opened in any group, a text-only one too: the Keycloak JSON inside passes by its logger", () => {
    const keycloakLogin = rule({ id: 'x.kc_login', match: { 'event.category': 'authentication', 'event.outcome': 'failure' } });
    const event =
      'type="LOGIN_ERROR", realmId="acme", clientId="portal", userId="null", ipAddress="203.0.113.9", error="user_not_found", username="admin"';
    const inner = JSON.stringify({ loggerName: 'org.keycloak.events', level: 'WARN', message: event });
    const line = JSON.stringify({ log: `${inner}\n`, stream: 'stdout', time: '2026-03-03T03:12:40Z' });
    // /var/log/auth.log is named by a text-only source (rules/sources/bastion-sshd.yml).
    const { matched, pattern } = matchedAndPattern(keycloakLogin, '/var/log/auth.log', [line]);
    expect(matched).toEqual([line]);
    expect(passes(pattern, line), pattern).toBe(true);
  });

  it('on real logs nobody here wrote, the shipped pack drops no line a rule matches (OpenSSH, Linux syslog, Apache access)', () => {
    const cases: [string, string][] = [
      ['OpenSSH_2k.log', '/var/log/auth.log'],
      ['Linux_2k.log', '/var/log/messages'],
      ['apache_access_10k.log', '/app/web/access'],
    ];
    const detector = new Detector({ rules: pack.rules }, new MemoryStateStore());
    let matched = 0;
    let filtered = 0;
    for (const [file, group] of cases) {
      const lines = realLogLines(file, 3000);
      const pattern = compileFilterPattern(group, pack.rules, pack.sources).pattern;
      const events = normalizePayload(linesPayload(group, lines, 0), normalizer, new SkipLedger());
      const dropped: string[] = [];
      for (const e of [...detector.matchAll(events).values()].flat()) {
        matched++;
        if (pattern !== '') filtered++;
        const line = lines[Number(e['cloudwatch.event_id'])] ?? '';
        if (!passes(pattern, line)) dropped.push(`${group}: ${line}`);
      }
      expect(dropped).toEqual([]);
    }
    expect(matched).toBeGreaterThan(1_000);
    expect(filtered).toBeGreaterThan(1_000);
  });

  it("a needle's last i may be an İ in the line (it lower-cases to i and a dot): the filter does not require that i", () => {
    const wifi = rule({ id: 'x.wifi', match: { 'message|contains': 'wifi' } });
    const line = 'joined network WIFİ';
    const { matched, pattern } = matchedAndPattern(wifi, '/app/json', [line]);
    expect(matched).toEqual([line]);
    expect(passes(pattern, line)).toBe(true);
  });
});
