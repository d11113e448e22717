import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { importSigma, skipSummary } from '../src/cli/import-sigma';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { Normalizer } from '../src/parse/normalize';
import { buildRulePack } from '../src/rules/rule-pack';
import { runDetectionRuleTests } from '../src/rules/rule-tests';
import { compileSelection } from '../src/rules/selection';
import type { NormalizedEvent } from '../src/schema/event';
import { DetectionRule } from '../src/schema/rule';
import { parseCondition } from '../src/sigma/condition';
import { DEFAULT_SIGMA_MAPPING } from '../src/sigma/default-mapping';
import { T0 } from './helpers';

const out = mkdtempSync(join(tmpdir(), 'sigma-'));
const result = await importSigma(['test/fixtures/sigma'], out, DEFAULT_SIGMA_MAPPING, { withTests: true });
const converted = new Map(
  readdirSync(out).map((f) => {
    const doc: unknown = parse(readFileSync(join(out, f), 'utf8'));
    return [f.replace(/\.yml$/, ''), doc];
  }),
);
const ruleOf = (id: string) => DetectionRule.parse(converted.get(id));
const { pack: shipped } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(shipped.sources);
let seq = 0;
function line(logGroup: string, message: string, at = T0): NormalizedEvent {
  seq++;
  const r = normalizer.normalize(message, { logGroup, logStream: 's', id: `e${seq}`, timestamp: at });
  if (!r.ok) throw new Error(r.skip.detail);
  return r.event;
}
const matches = (id: string, event: NormalizedEvent) => compileSelection(ruleOf(id).match).predicate(event);

describe('Sigma import: conversion summary', () => {
  it('converts every supported rule and skips each unsupported one with its reason', () => {
    expect(result.written.map((w) => w.id).sort()).toEqual([
      'sigma.cloudtrail_stopped',
      'sigma.console_login_no_mfa',
      'sigma.login_then_trail_stopped',
      'sigma.lt_base',
      'sigma.ssh_accepted_password',
      'sigma.ssh_brute_force',
      'sigma.ssh_failed_password',
      'sigma.ssh_password_spray',
      'sigma.ssh_success_after_failures',
      'sigma.web_encoded_payload',
      'sigma.web_scanner_paths',
      'sigma.web_sql_injection_probe',
    ]);
    const reasons = Object.fromEntries(result.skipped.map((s) => [s.title, s.reason]));
    expect(reasons['Unknown Modifier']).toMatch(/modifier 'utf16le' is not supported/);
    expect(reasons['Old Aggregation']).toMatch(/aggregation/);
    expect(reasons['Unmapped Field']).toMatch(/no mapping for field 'TargetFilename'/);
    expect(reasons['Unknown Logsource']).toMatch(/no field mapping for logsource/);
    expect(reasons['Base64 Offset']).toMatch(/base64offset/);
    expect(reasons['Near Condition']).toMatch(/near/);
    expect(reasons['Missing Rule Reference']).toMatch(/'does_not_exist'/);
    expect(reasons['Less Than Correlation']).toMatch(/only a single 'gte' or 'gt'/);
    // The validator's own reason: a converted rule that `detect validate` would refuse is never written.
    expect(reasons['Unsafe Regex']).toMatch(
      /converted rule fails validation: match\.url\.query\|re: unsafe regex \/\(a\+\)\+b\/: exponential/,
    );
    // An empty value is not "exists" (what a bare wildcard means): parsers drop empty fields, so it is refused.
    expect(reasons['Empty Value']).toMatch(/empty value \(''\) cannot be told from an absent field/);
    expect(skipSummary(result.skipped).reduce((n, [, c]) => n + c, 0)).toBe(10);
  });
  it('keeps metadata: level → severity, tags, false positives, references with the Sigma id', () => {
    const r = ruleOf('sigma.ssh_failed_password');
    expect(r.severity).toBe('medium');
    expect(r.tags).toEqual(['sigma', 'attack.credential_access', 'attack.t1110']);
    expect(r.falsePositives).toEqual(['Users mistyping passwords']);
    expect(r.references).toContain('sigma:0d5a4e9e-5b2a-4f5e-9a3a-000000000001');
    expect(r.disabled).toBe(true); // it feeds correlations that do not set generate: true
  });
  it('names files by the path the user typed, in skip reasons and in the written header', () => {
    expect(result.skipped.find((s) => s.title === 'Unsafe Regex')?.file).toBe('test/fixtures/sigma/unsupported/all.yml');
    const header = readFileSync(join(out, 'sigma.ssh_failed_password.yml'), 'utf8').split('\n')[0];
    expect(header).toMatch(/^# Imported from Sigma: test\/fixtures\/sigma\/supported\/sshd\.yml \(id 0d5a4e9e/);
  });
  it('--with-tests: each converted rule carries a positive and a negative test, and they pass', async () => {
    const { pack } = loadPack([out], { checkRegexes: false });
    const untested = new Set(result.untested.map((u) => u.title));
    for (const rule of pack.rules) {
      if (rule.sequence) {
        expect(untested.has(rule.title), rule.id).toBe(true);
        continue;
      }
      expect(rule.tests.map((t) => t.expect).sort(), rule.id).toEqual(['fire', 'none']);
      const results = await runDetectionRuleTests(rule, pack);
      expect(
        results.filter((r) => !r.passed),
        rule.id,
      ).toEqual([]);
    }
  });
  it('the converted files load as a rule pack next to the shipped rules', () => {
    const { errors } = loadPack(['rules', out], { checkRegexes: true });
    expect(errors).toEqual([]);
  });
});

describe('Sigma import: converted rules match what they must and nothing else', () => {
  const web = '/sentinel-demo/web/nginx';
  const nginx = (path: string, status = 200, ua = 'curl/8', ip = '198.51.100.7') =>
    line(web, `${ip} - - [03/Mar/2025:10:00:00 +0000] "GET ${path} HTTP/1.1" ${status} 12 "-" "${ua}"`);
  it('contains|all, equality and not', () => {
    expect(matches('sigma.web_sql_injection_probe', nginx('/q?id=1%20UNION%20SELECT%20pw'))).toBe(true);
    expect(matches('sigma.web_sql_injection_probe', nginx('/q?id=1%20UNION%20SELECT%20pw', 404))).toBe(false);
    expect(matches('sigma.web_sql_injection_probe', nginx('/q?id=1%20union%20all'))).toBe(false);
  });
  it('wildcards as startswith, endswith and inner-wildcard regex; re; cidr with a numeric comparison; 1 of', () => {
    expect(matches('sigma.web_scanner_paths', nginx('/admin/login'))).toBe(true);
    expect(matches('sigma.web_scanner_paths', nginx('/index.PHP'))).toBe(true);
    expect(matches('sigma.web_scanner_paths', nginx('/wp-content/setup1.php?x'))).toBe(true);
    expect(matches('sigma.web_scanner_paths', nginx('/docs', 200, 'sqlmap/1.7'))).toBe(true);
    expect(matches('sigma.web_scanner_paths', nginx('/docs', 503, 'curl/8', '203.0.113.9'))).toBe(true);
    expect(matches('sigma.web_scanner_paths', nginx('/docs', 200, 'curl/8', '203.0.113.9'))).toBe(false);
    expect(matches('sigma.web_scanner_paths', nginx('/docs/admin'))).toBe(false);
  });
  it('base64 and windash modifiers', () => {
    expect(matches('sigma.web_encoded_payload', nginx(`/run?c=${Buffer.from('whoami').toString('base64')}`))).toBe(true);
    expect(matches('sigma.web_encoded_payload', nginx('/run?c=whoami'))).toBe(false);
    expect(matches('sigma.web_encoded_payload', nginx('/x', 200, 'tool -exec id'))).toBe(true);
    expect(matches('sigma.web_encoded_payload', nginx('/x', 200, 'tool /exec id'))).toBe(true);
    expect(matches('sigma.web_encoded_payload', nginx('/x', 200, 'tool \u2013exec id'))).toBe(true);
    expect(matches('sigma.web_encoded_payload', nginx('/x', 200, 'tool exec id'))).toBe(false);
  });
  it('CloudTrail: all of selection_*, exists, nested request fields', () => {
    const ct = (body: Record<string, unknown>) =>
      line('aws-cloudtrail-logs-123', JSON.stringify({ eventVersion: '1.08', userIdentity: { arn: 'arn:aws:iam::1:user/eve' }, ...body }));
    expect(matches('sigma.cloudtrail_stopped', ct({ eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging' }))).toBe(true);
    expect(matches('sigma.cloudtrail_stopped', ct({ eventSource: 's3.amazonaws.com', eventName: 'StopLogging' }))).toBe(false);
    expect(matches('sigma.console_login_no_mfa', ct({ eventName: 'ConsoleLogin', additionalEventData: { MFAUsed: 'No' } }))).toBe(true);
    expect(
      matches('sigma.console_login_no_mfa', ct({ eventName: 'ConsoleLogin', additionalEventData: { MFAUsed: 'No' }, errorCode: 'Failed' })),
    ).toBe(false);
    expect(matches('sigma.console_login_no_mfa', ct({ eventName: 'ConsoleLogin', additionalEventData: { MFAUsed: 'Yes' } }))).toBe(false);
  });
  it('correlations run as threshold, distinct and sequence rules', async () => {
    const bastion = '/sentinel-demo/bastion/sshd';
    const fail = (user: string, i: number, ip = '203.0.113.50') =>
      line(
        bastion,
        `Mar  3 10:00:${String(i).padStart(2, '0')} bastion-1 sshd[1]: Failed password for ${user} from ${ip} port 4000${i} ssh2`,
        T0 + i * 1000,
      );
    const ok = (i: number, ip = '203.0.113.50') =>
      line(
        bastion,
        `Mar  3 10:00:${String(i).padStart(2, '0')} bastion-1 sshd[1]: Accepted password for root from ${ip} port 5000 ssh2`,
        T0 + i * 1000,
      );
    const run = async (ids: string[], events: NormalizedEvent[]) =>
      (await new Detector({ rules: ids.map(ruleOf) }, new MemoryStateStore()).evaluate('b', events)).alerts.map((a) => a.ruleId);
    expect(
      await run(
        ['sigma.ssh_brute_force'],
        [1, 2, 3, 4, 5].map((i) => fail('root', i)),
      ),
    ).toEqual(['sigma.ssh_brute_force']);
    expect(
      await run(
        ['sigma.ssh_brute_force'],
        [1, 2, 3, 4].map((i) => fail('root', i)),
      ),
    ).toEqual([]);
    expect(
      await run(
        ['sigma.ssh_password_spray'],
        ['a', 'b', 'c'].map((u, i) => fail(u, i)),
      ),
    ).toEqual(['sigma.ssh_password_spray']);
    expect(
      await run(
        ['sigma.ssh_password_spray'],
        ['a', 'b', 'a'].map((u, i) => fail(u, i)),
      ),
    ).toEqual([]);
    expect(await run(['sigma.ssh_success_after_failures'], [fail('root', 1), ok(2)])).toEqual(['sigma.ssh_success_after_failures']);
    expect(await run(['sigma.ssh_success_after_failures'], [ok(1), fail('root', 2)])).toEqual([]);
  });
  it('temporal correlations become correlation rules over the member detections', () => {
    const doc = converted.get('sigma.login_then_trail_stopped');
    expect(doc).toMatchObject({
      correlation: {
        entity: 'userIdentity.arn',
        window: '1h',
        members: ['sigma.console_login_no_mfa', 'sigma.cloudtrail_stopped'],
        ordered: false,
      },
    });
    // Member detections are about the same entity, or the correlation could never see them.
    expect(ruleOf('sigma.cloudtrail_stopped').entity).toBe('userIdentity.arn');
  });
});

describe('Sigma files read straight from a rule folder', () => {
  it('converts supported files on load and reports unsupported ones as rule errors', () => {
    const sigmaDoc = {
      title: 'Direct Load',
      logsource: { category: 'webserver' },
      detection: { sel: { 'cs-method': 'DELETE' }, condition: 'sel' },
    };
    const bad = {
      title: 'Direct Bad',
      logsource: { category: 'webserver' },
      detection: { sel: { 'c-uri|wide|contains': 'x' }, condition: 'sel' },
    };
    const good = buildRulePack([{ file: 'rules/sigma/direct.yml', doc: sigmaDoc }]);
    expect(good.errors).toEqual([]);
    expect(good.pack.rules.map((r) => r.id)).toEqual(['sigma.direct_load']);
    const failed = buildRulePack([{ file: 'rules/sigma/bad.yml', doc: bad }]);
    expect(failed.errors).toEqual([
      {
        file: 'rules/sigma/bad.yml',
        path: 'detection',
        message: "Sigma rule 'Direct Bad' cannot be converted: modifier 'wide' is not supported (selection 'sel', field 'c-uri')",
      },
    ]);
  });
  it('condition grammar: precedence, parentheses and errors', () => {
    expect(parseCondition('a or b and not c')).toEqual({
      type: 'or',
      items: [
        { type: 'ref', name: 'a' },
        {
          type: 'and',
          items: [
            { type: 'ref', name: 'b' },
            { type: 'not', item: { type: 'ref', name: 'c' } },
          ],
        },
      ],
    });
    expect(parseCondition('all of them')).toEqual({ type: 'of', quantifier: 'all', pattern: 'them' });
    expect(() => parseCondition('(a or b')).toThrow(/parenthesis/);
    expect(() => parseCondition('2 of sel*')).toThrow(/only '1 of' and 'all of'/);
  });
});
