import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../infra/config';
import { bundleRules } from '../infra/rule-bundle';
import { loadPack } from '../src/cli/load-pack';
import { readRuleFiles } from '../src/rules/read-files';
import { buildRulePack, formatRuleError, loadRulePackOrThrow, type RawRuleFile } from '../src/rules/rule-pack';
import { runAllRuleTests, runDetectionRuleTests } from '../src/rules/rule-tests';
import { parseDuration, wordedDuration } from '../src/schema/duration';
import type { DetectionRule } from '../src/schema/rule';
import { ev } from './helpers';

const shipped = readRuleFiles(['rules']).files;
const tuning = (file: string, yaml: string): RawRuleFile => ({ file, doc: parse(yaml) });
const packWith = (...tunings: RawRuleFile[]) => buildRulePack([...shipped, ...tunings]);
const ruleOf = (pack: ReturnType<typeof packWith>['pack'], id: string): DetectionRule => {
  const found = pack.rules.find((r) => r.id === id);
  if (!found) throw new Error(`no rule ${id}`);
  return found;
};
const errorsOf = (result: ReturnType<typeof packWith>) => result.errors.map(formatRuleError);

/** S3 GetObject reads by one principal, as rule tests write events (the shipped rule's own fields). */
const reads = (user: string, objects: number) =>
  Array.from({ length: objects }, (_, i) =>
    ev(
      {
        'event.provider': 's3.amazonaws.com',
        'event.action': 'GetObject',
        'event.outcome': 'success',
        'user.name': user,
        'requestParameters.key': `exports/part-${i}.csv`,
      },
      Date.parse('2025-03-02T14:00:00Z') + i * 1000,
    ),
  );

describe("tuning a rule's escalation step", () => {
  it('moves the count that pages; a tier the tuning pins holds whatever the count, so the step goes with it', () => {
    const moved = packWith(
      tuning(
        'mine/flood.yml',
        'tune: web.request_flood\nreason: WEB-7 our CDN fronts everyone\nescalate: { count: 20000, severity: high }',
      ),
    );
    expect(errorsOf(moved)).toEqual([]);
    expect(ruleOf(moved.pack, 'web.request_flood').escalate).toEqual({ count: 20000, severity: 'high' });
    const pinned = packWith(tuning('mine/flood.yml', 'tune: web.request_flood\nreason: WEB-8 review only until tuned\ntier: review'));
    expect(errorsOf(pinned)).toEqual([]);
    expect(ruleOf(pinned.pack, 'web.request_flood').escalate).toBeUndefined();
    expect(ruleOf(packWith().pack, 'web.request_flood').escalate).toEqual({ count: 3000, severity: 'high' });
  });
});

describe('tuning a shipped rule without editing it (`tune:` files)', () => {
  it('turns a rule off, changes its tier, severity, risk and lifecycle; the rest stays as shipped', () => {
    const result = packWith(
      tuning('mine/off.yml', 'tune: ssh.auth_failures\nreason: our bastion is not on the internet\ndisabled: true'),
      tuning(
        'mine/tier.yml',
        'tune: aws.new_region\nreason: OPS-12 we use every region\ntier: review\nseverity: low\nriskScore: 1\nalert: { repeatInterval: 8h }',
      ),
    );
    expect(errorsOf(result)).toEqual([]);
    expect(ruleOf(result.pack, 'ssh.auth_failures').disabled).toBe(true);
    const region = ruleOf(result.pack, 'aws.new_region');
    const asShipped = ruleOf(packWith().pack, 'aws.new_region');
    expect(region).toMatchObject({ tier: 'review', severity: 'low', riskScore: 1, alert: { repeatInterval: 8 * 3_600_000 } });
    // Only presentation changed: its match, clause and tests are the shipped ones.
    expect(region.match).toEqual(asShipped.match);
    expect(region.newTerm).toEqual(asShipped.newTerm);
    expect(region.tests).toEqual(asShipped.tests);
  });

  it('exclude leaves a job out of a rule, and a clause’s numbers change while the rest of the clause stays', async () => {
    const result = packWith(
      tuning(
        'mine/s3.yml',
        [
          'tune: aws.s3_bulk_download',
          'reason: DATA-7 the nightly export job reads every object',
          'exclude: { user.name: etl-runner }',
          'distinct: { count: 300 }',
          'tests:',
          '- name: the export job is left out',
          '  expect: none',
          '  events: [{ repeat: 400, every: 1s, vary: { requestParameters.key: ["k-{i}"] }, event: { event.provider: s3.amazonaws.com, event.action: GetObject, event.outcome: success, user.name: etl-runner } }]',
          '- name: anyone else reading 300 objects still fires',
          '  expect: fire',
          '  events: [{ repeat: 300, every: 1s, vary: { requestParameters.key: ["k-{i}"] }, event: { event.provider: s3.amazonaws.com, event.action: GetObject, event.outcome: success, user.name: mallory } }]',
          '- name: 299 do not',
          '  expect: none',
          '  events: [{ repeat: 299, every: 1s, vary: { requestParameters.key: ["k-{i}"] }, event: { event.provider: s3.amazonaws.com, event.action: GetObject, event.outcome: success, user.name: mallory } }]',
        ].join('\n'),
      ),
    );
    expect(errorsOf(result)).toEqual([]);
    const tuned = ruleOf(result.pack, 'aws.s3_bulk_download');
    expect(tuned.distinct).toMatchObject({ count: 300, window: 600_000, field: 'requestParameters.key', groupBy: ['user.name'] });
    // Its own `not` (services on a principal's behalf) still applies, beside the exclusion.
    expect(tuned.match.not).toEqual({
      any: [{ any: [{ 'userIdentity.invokedBy|exists': true }, { 'userIdentity.type': 'AWSService' }] }, { 'user.name': 'etl-runner' }],
    });
    expect((await runDetectionRuleTests(tuned, result.pack)).map((r) => [r.test, r.passed])).toEqual([
      ['the export job is left out', true],
      ['anyone else reading 300 objects still fires', true],
      ['299 do not', true],
    ]);
    // The same events through the detector directly: the shipped rule fires for the job; the tuned one does not.
    const { Detector } = await import('../src/engine/detector');
    const { MemoryStateStore } = await import('../src/engine/memory-store');
    const fired = async (rule: DetectionRule, user: string) =>
      (await new Detector({ rules: [rule] }, new MemoryStateStore()).evaluate(`b-${rule.id}-${user}`, reads(user, 400))).alerts.length;
    expect(await fired(ruleOf(packWith().pack, 'aws.s3_bulk_download'), 'etl-runner')).toBe(1);
    expect(await fired(tuned, 'etl-runner')).toBe(0);
    expect(await fired(tuned, 'mallory')).toBe(1);
    // Its alerts say what this deployment counts, and why: the shipped description says 200 objects.
    const [alert] = (await new Detector({ rules: [tuned] }, new MemoryStateStore()).evaluate('b-said', reads('mallory', 400))).alerts;
    expect(alert?.description).toContain(
      'Tuned for this deployment (mine/s3.yml): distinct.count 300 (shipped 200); events matching {"user.name":"etl-runner"} left out. Reason: DATA-7 the nightly export job reads every object',
    );
    expect(ruleOf(packWith().pack, 'aws.s3_bulk_download').description).not.toContain('Tuned for this deployment');
  });

  it('a window is worded exactly, in its smallest whole unit and the one above it', () => {
    const worded = ['30s', '5m', '90m', '2h', '26h', '1470m', '7d', '48h', '1m'].map((d) => wordedDuration(parseDuration(d) ?? 0));
    expect(worded).toEqual([
      '30 seconds',
      '5 minutes',
      '1 hour 30 minutes',
      '2 hours',
      '1 day 2 hours',
      '24 hours 30 minutes',
      '7 days',
      '2 days',
      '1 minute',
    ]);
  });

  it('a rule whose window is tuned says the tuned window in its title (`{window}`)', async () => {
    const deletes = (n: number) =>
      `[{ repeat: ${n}, every: 5s, event: { event.provider: s3.amazonaws.com, event.action: DeleteObject, event.outcome: success, user.name: mallory, requestParameters.bucketName: exports } }]`;
    const result = packWith(
      tuning(
        'mine/s3-delete.yml',
        [
          'tune: aws.s3_mass_deletion',
          'reason: OPS-40 lifecycle jobs delete in bursts; count over a quarter hour',
          'threshold: { window: 15m }',
          'tests:',
          '- name: fifty deletes in four minutes are told with the tuned window',
          '  expect: fire',
          "  title: '50 delete calls on S3 bucket exports by mallory within 15 minutes'",
          `  events: ${deletes(50)}`,
        ].join('\n'),
      ),
    );
    expect(errorsOf(result)).toEqual([]);
    const tuned = ruleOf(result.pack, 'aws.s3_mass_deletion');
    expect((await runDetectionRuleTests(tuned, result.pack)).map((r) => [r.test, r.passed])).toEqual([
      ['fifty deletes in four minutes are told with the tuned window', true],
    ]);
    // As shipped, the title names the shipped window.
    const shippedRule = ruleOf(packWith().pack, 'aws.s3_mass_deletion');
    const asShipped = await runDetectionRuleTests({ ...shippedRule, tests: tuned.tests }, result.pack);
    expect(asShipped.map((r) => r.passed)).toEqual([false]);
    expect(asShipped[0]?.detail).toContain('within 5 minutes');
    // The description is prose that names the shipped window; the tuned rule's says what holds here.
    expect(tuned.description).toMatch(
      /\n\nTuned for this deployment \(mine\/s3-delete\.yml\): threshold\.window 15m \(shipped 5m\)\. Reason: OPS-40 lifecycle jobs delete in bursts; count over a quarter hour$/,
    );
  });

  it('an absence rule tuned to wait longer says so in its title (`{absence.after}`), and waits', async () => {
    const record = '{ event.dataset: aws.cloudtrail, event.provider: sts.amazonaws.com, event.action: AssumeRole }';
    const result = packWith(
      tuning(
        'mine/trail.yml',
        [
          'tune: aws.cloudtrail_delivery_stopped',
          'reason: OPS-31 the sandbox trail is quiet at night',
          'absence: { after: 24h }',
          'tests:',
          '- name: a night without records is not told',
          '  expect: none',
          '  logGroup: sandbox/trail',
          '  quietAfter: 20h',
          `  events: [{ repeat: 3, every: 10m, event: ${record} }]`,
          '- name: a day without is, with the tuned wait in its title',
          '  expect: fire',
          '  alerts: 1',
          "  title: 'CloudTrail stopped reaching sandbox/trail: no record for 1 day'",
          '  logGroup: sandbox/trail',
          '  quietAfter: 26h',
          `  events: [{ repeat: 3, every: 10m, event: ${record} }]`,
        ].join('\n'),
      ),
    );
    expect(errorsOf(result)).toEqual([]);
    const tuned = ruleOf(result.pack, 'aws.cloudtrail_delivery_stopped');
    expect(tuned.absence?.after).toBe(24 * 3_600_000);
    expect((await runDetectionRuleTests(tuned, result.pack)).map((r) => [r.test, r.passed])).toEqual([
      ['a night without records is not told', true],
      ['a day without is, with the tuned wait in its title', true],
    ]);
    // The shipped rule, on the same cases: the night is told, and the title says the shipped wait.
    const shippedRule = ruleOf(packWith().pack, 'aws.cloudtrail_delivery_stopped');
    const asShipped = await runDetectionRuleTests({ ...shippedRule, tests: tuned.tests }, result.pack);
    expect(asShipped.map((r) => r.passed)).toEqual([false, false]);
    expect(asShipped[1]?.detail).toContain('no record for 6 hours');
  });

  it('only keeps a rule to what it names (the production accounts of a hub), its own keys still at the top', async () => {
    const result = packWith(
      tuning(
        'mine/prod.yml',
        [
          'tune: aws.s3_bulk_download',
          'reason: SEC-40 the sandbox accounts copy buckets all day',
          "only: { cloud.account.id: ['111122223333'] }",
          'tests:',
          '- name: production fires',
          '  expect: fire',
          '  events: [{ repeat: 200, every: 1s, vary: { requestParameters.key: ["k-{i}"] }, event: { event.provider: s3.amazonaws.com, event.action: GetObject, event.outcome: success, user.name: mallory, cloud.account.id: "111122223333" } }]',
          '- name: a sandbox does not',
          '  expect: none',
          '  events: [{ repeat: 200, every: 1s, vary: { requestParameters.key: ["k-{i}"] }, event: { event.provider: s3.amazonaws.com, event.action: GetObject, event.outcome: success, user.name: mallory, cloud.account.id: "444455556666" } }]',
        ].join('\n'),
      ),
    );
    expect(errorsOf(result)).toEqual([]);
    const tuned = ruleOf(result.pack, 'aws.s3_bulk_download');
    const asShipped = ruleOf(packWith().pack, 'aws.s3_bulk_download');
    expect(tuned.match).toEqual({ ...asShipped.match, all: [{ 'cloud.account.id': ['111122223333'] }] });
    expect((await runDetectionRuleTests(tuned, result.pack)).map((r) => [r.test, r.passed])).toEqual([
      ['production fires', true],
      ['a sandbox does not', true],
    ]);
    // The index still files it under the shipped rule's own key, not the account.
    const { compileRule } = await import('../src/rules/compile');
    expect(compileRule(tuned).indexKeys).toEqual(compileRule(asShipped).indexKeys);
  });

  it('a tuning that changes what a rule counts drops the shipped tests (they describe the shipped rule), and the whole pack still passes its tests', async () => {
    const result = packWith(tuning('mine/t.yml', 'tune: auth.brute_force_user\nreason: a noisy SSO\nthreshold: { count: 25 }'));
    expect(errorsOf(result)).toEqual([]);
    expect(ruleOf(result.pack, 'auth.brute_force_user').tests).toEqual([]);
    expect((await runAllRuleTests(result.pack)).filter((r) => !r.passed)).toEqual([]);
  });

  it('logGroups narrows where a rule reads; a tuning that changes what a rule counts without tests is warned about', () => {
    const result = packWith(
      tuning('mine/flood.yml', "tune: web.request_flood\nreason: only the public sites\nlogGroups: ['/app/public/*']"),
    );
    expect(errorsOf(result)).toEqual([]);
    expect(ruleOf(result.pack, 'web.request_flood')).toMatchObject({ logGroups: ['/app/public/*'], tests: [] });
    const dir = mkdtempSync(join(tmpdir(), 'tuning-warn-'));
    try {
      writeFileSync(join(dir, 'a.yml'), 'tune: auth.brute_force_user\nreason: a noisy SSO\nthreshold: { count: 25 }\n');
      writeFileSync(join(dir, 'b.yml'), 'tune: aws.new_region\nreason: every region is ours\ntier: review\n');
      writeFileSync(join(dir, 'c.yml'), 'tune: ssh.auth_failures\nreason: not exposed\ndisabled: true\nthreshold: { count: 50 }\n');
      const { errors, warnings } = loadPack(['rules', dir], { checkRegexes: false });
      expect(errors).toEqual([]);
      // Only the rule that counts differently, runs, and has nothing showing it still fires.
      expect(warnings.filter((w) => w.path === 'tests').map(formatRuleError)).toEqual([
        `${join(dir, 'a.yml')}: rule auth.brute_force_user: tests: the tuning changes what the rule counts and brings no tests: add one that fires and one that does not`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong at the tuning’s file, with the rule id and the field path', () => {
    const result = packWith(
      tuning('mine/unknown.yml', 'tune: auth.brute_force_usr\nreason: typo\ndisabled: true'),
      tuning('mine/no-clause.yml', 'tune: auth.new_country_login\nreason: x\nthreshold: { count: 3 }'),
      tuning('mine/bad-count.yml', 'tune: aws.secrets_harvesting\nreason: x\ndistinct: { count: 1 }'),
      tuning('mine/bad-window.yml', 'tune: lambda.error_spike\nreason: x\nspike: { window: 7m }'),
      tuning('mine/correlation.yml', 'tune: corr.insider_threat\nreason: x\nexclude: { user.name: ceo }'),
      tuning('mine/no-reason.yml', 'tune: ssh.root_login\ndisabled: true'),
      tuning('mine/typo.yml', 'tune: ssh.root_login_attempt\nreason: x\nseverty: low'),
      tuning('mine/first.yml', 'tune: web.request_flood\nreason: x\ntier: notify'),
      tuning('mine/second.yml', 'tune: web.request_flood\nreason: y\ntier: review'),
    );
    const errors = errorsOf(result);
    expect(errors).toEqual(
      expect.arrayContaining([
        "mine/unknown.yml: rule auth.brute_force_usr: tune: 'auth.brute_force_usr' names no rule in the pack",
        'mine/no-clause.yml: rule auth.new_country_login: threshold: the rule has no threshold clause to tune',
        expect.stringMatching(/^mine\/bad-count\.yml: rule aws\.secrets_harvesting: distinct\.count: .*>=2/),
        'mine/bad-window.yml: rule lambda.error_spike: spike.baseline: baseline must be a whole number of windows',
        'mine/correlation.yml: rule corr.insider_threat: exclude: a correlation rule is tuned by disabled, severity, tier, riskScore and alert only',
        expect.stringMatching(/^mine\/no-reason\.yml: rule ssh\.root_login: reason: /),
        expect.stringMatching(/^mine\/typo\.yml: rule ssh\.root_login_attempt: .*severty/),
        'mine/second.yml: rule web.request_flood: tune: the rule is tuned already in mine/first.yml (one tuning per rule)',
      ]),
    );
    expect(errors).toHaveLength(8);
    // The shipped files are never blamed for a tuning's mistake.
    expect(errors.filter((e) => e.startsWith('rules/'))).toEqual([]);
  });

  it('rule folders after the first add rules and tunings: `detect validate rules/ mine/`, `rulesDir: [rules, mine]`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tuning-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'off.yml'), 'tune: ssh.auth_failures\nreason: no internet-facing SSH here\ndisabled: true\n');
    const { pack, errors } = loadPack(['rules', dir], { checkRegexes: false });
    expect(errors.map(formatRuleError)).toEqual([]);
    expect(ruleOf(pack, 'ssh.auth_failures').disabled).toBe(true);
    expect(pack.rules.length).toBe(loadPack(['rules'], { checkRegexes: false }).pack.rules.length);
    // Deployed: config takes the folders as a list; the Lambdas' embedded files carry the tuning and apply it.
    const config = parseConfig({ rulesDir: ['rules', dir] });
    expect(config.rulesDir).toEqual(['rules', dir]);
    expect(parseConfig({}).rulesDir).toEqual(['rules']);
    const bundle = bundleRules(config.rulesDir);
    const embedded = loadRulePackOrThrow(JSON.parse(readFileSync(bundle.file, 'utf8')));
    expect(ruleOf(embedded, 'ssh.auth_failures').disabled).toBe(true);
    // A bad tuning fails synth, naming its file.
    writeFileSync(join(dir, 'bad.yml'), 'tune: web.request_flood\nreason: CDN\nthreshold: { count: 0 }\n');
    expect(() => bundleRules(config.rulesDir)).toThrow(/bad\.yml: rule web\.request_flood: threshold\.count/);
  });
});
