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
import { linesPayload, rule } from './helpers';

/** CloudWatch Logs' reading of the compiled pattern: '' passes everything; `%regex%` passes what the regex finds. */
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
    for (const rule of pack.rules) {
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
    expect(checked).toBeGreaterThan(10_000);
    expect(filtered).toBeGreaterThan(500);
  });

  it("never drop a line of a rule's own tests that the rule matches: every shipped rule, in its tests' log groups", () => {
    let checked = 0;
    const dropped: string[] = [];
    for (const r of pack.rules) {
      const detector = new Detector({ rules: [r] }, new MemoryStateStore());
      for (const t of r.tests) {
        if (!t.lines || !t.logGroup) continue;
        const events = normalizePayload(linesPayload(t.logGroup, t.lines, 0), normalizer, new SkipLedger());
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
      for (const r of rules) {
        const detector = new Detector({ rules: [r] }, new MemoryStateStore());
        for (const payload of aws) {
          const pattern = compileFilterPattern(payload.logGroup, [r], sources).pattern;
          for (const matched of detector.matchAll(normalizePayload(payload, norm, new SkipLedger())).values()) {
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
    const kms = rule({ id: 'x.kms', match: { 'event.provider': 'kms.amazonaws.com' } });
    const path = rule({ id: 'x.path', match: { 'app.page': '/admin/login' } });
    const cases: [typeof rootLogin, string, string][] = [
      [rootLogin, '/var/log/auth.log', 'Mar  3 03:12:40 h sshd[1]: Failed password for rOoT from 203.0.113.5 port 1 ssh2'],
      [kms, '/app/json', '{"event.provider":"\u212Ams.amazonaws.com","msg":"x"}'],
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
    const jsonSource = SourceDefinition.parse({ source: { name: 'apps', logGroups: ['/apps/*'], format: 'json' } });
    const jsonLine = JSON.stringify({
      loggerName: 'org.keycloak.events',
      level: 'INFO',
      message: grantLine.slice(grantLine.indexOf('operationType=')),
    });
    const jsonEvents = normalizePayload(linesPayload('/apps/kc', [jsonLine], 0), new Normalizer([jsonSource]), new SkipLedger());
    expect([...new Detector({ rules: [grantRule] }, new MemoryStateStore()).matchAll(jsonEvents).values()].flat()).toHaveLength(1);
    expect(passes(compileFilterPattern('/apps/kc', [grantRule], [jsonSource]).pattern, jsonLine)).toBe(true);

    // a0 is hex in the line (6375726C) and curl in the event.
    const auditRule = rule({ id: 'x.curl', match: { 'auditd.a0': 'curl' } });
    const auditLine = 'type=EXECVE msg=audit(1740971560.123:4242): argc=2 a0=6375726C a1="http://203.0.113.9/x"';
    const auditEvents = normalizePayload(linesPayload('/var/log/audit/audit.log', [auditLine], 0), normalizer, new SkipLedger());
    expect(auditEvents[0]?.['auditd.a0']).toBe('curl');
    const compiled = compileFilterPattern('/var/log/audit/audit.log', [auditRule], pack.sources);
    expect(compiled.pattern).toBe('');
    expect(compiled.reason).toContain('no literal term');
  });
});
