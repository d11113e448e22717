import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDetectionAlert } from '../src/alerts/build';
import { loadPack } from '../src/cli/load-pack';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import { LocalCorrelationRunner } from '../src/local/state-machine-runner';
import { synthesizeDefinition } from '../src/local/synth-definition';
import type { Severity } from '../src/schema/severity';
import { ev, rule, T0 } from './helpers';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const plain = synthesizeDefinition();
const withResponse = synthesizeDefinition({ responseFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:respond' });
let local: LocalDynamo;
beforeEach(async () => {
  local = await startLocalDynamo();
});
afterEach(async () => local.close());

function detection(ruleId: string, severity: Severity, user: string, at: number, risk = 4) {
  const byId = pack.rules.find((r) => r.id === ruleId);
  const r = byId ?? rule({ id: ruleId, severity, riskScore: risk, match: { a: 1 } });
  const e = ev({ 'user.name': user }, at);
  return buildDetectionAlert(
    {
      rule: { ...r, severity },
      entity: { field: 'user.name', value: user },
      groupKey: user,
      trigger: e,
      evidence: [e],
      count: 1,
      windowStart: at,
      windowEnd: at,
    },
    { region: 'us-east-1' },
  );
}

describe('correlation state machine (synthesized definition, run locally)', () => {
  it.each([
    ['low', 'review'],
    ['medium', 'notify'],
    ['high', 'respond'],
    ['critical', 'respond'],
  ] as const)('routes a %s detection to the %s topic', async (severity, tier) => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    await runner.send([detection('test.x', severity, 'u1', T0)]);
    expect(runner.published.map((p) => p.tier)).toEqual([tier]);
    expect(runner.published[0]?.subject?.length).toBeLessThanOrEqual(100);
  });
  it('dedups a redelivered detection and raises an incident once per window', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    const login = detection('auth.new_country_login', 'medium', 'eve', T0);
    await runner.send([login, login]);
    expect(runner.published).toHaveLength(1);
    await runner.send([
      detection('authz.sensitive_first_access', 'medium', 'eve', T0 + 60_000),
      detection('data.bulk_export', 'medium', 'eve', T0 + 120_000),
    ]);
    const incidents = runner.published.filter((p) => p.alert?.kind === 'incident');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]?.alert).toMatchObject({ ruleId: 'corr.insider_threat', tier: 'respond', members: expect.any(Array) });
    await runner.send([detection('auth.off_hours_login', 'low', 'eve', T0 + 180_000)]);
    expect(runner.published.filter((p) => p.alert?.kind === 'incident')).toHaveLength(1); // later member updates, no re-page
  });
  it('risk expires past the window', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    await runner.send([
      detection('auth.new_country_login', 'medium', 'old', T0),
      detection('authz.sensitive_first_access', 'medium', 'old', T0 + 60_000),
    ]);
    await runner.send([detection('data.bulk_export', 'medium', 'old', T0 + 5 * 3_600_000)]);
    expect(runner.published.filter((p) => p.alert?.kind === 'incident')).toHaveLength(0);
  });
  it('invokes the automated response only when configured', async () => {
    const timeline = (u: string) => [
      detection('auth.new_country_login', 'medium', u, T0),
      detection('authz.sensitive_first_access', 'medium', u, T0 + 60_000),
      detection('data.bulk_export', 'medium', u, T0 + 120_000),
    ];
    const off = new LocalCorrelationRunner(plain, pack, local.client);
    await off.send(timeline('a'));
    expect(off.responses).toHaveLength(0);
    const on = new LocalCorrelationRunner(withResponse, pack, local.client);
    await on.send(timeline('b'));
    expect(on.responses).toHaveLength(1);
  });
  it('a failing publish lands as a stack-health alert in the notify tier', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client, { failPublishTiers: ['respond'] });
    await runner.send([detection('test.y', 'high', 'u2', T0)]);
    expect(runner.executions.failed).toBe(1);
    expect(runner.published).toHaveLength(1);
    expect(runner.published[0]).toMatchObject({ tier: 'notify', subject: 'Sentinel stack health: correlation failed' });
    expect(runner.published[0]?.raw).toContain('local publish to respond failed');
  });
});
