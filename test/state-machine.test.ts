import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { chatTiersEnv } from '../functions/commons/env';
import { buildDetectionAlert } from '../src/alerts/build';
import { emailBody } from '../src/alerts/notification';
import { loadPack } from '../src/cli/load-pack';
import { envelopeOf } from '../src/correlation/envelope';
import { ruleTier } from '../src/engine/alert-policy';
import { Detector } from '../src/engine/detector';
import { CorrelationFailedError } from '../src/engine/ports';
import type { DocWrite } from '../src/engine/state-store';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import { LocalCorrelationRunner } from '../src/local/state-machine-runner';
import { synthesizeDefinition } from '../src/local/synth-definition';
import type { Message } from '../src/schema/alert';
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

/** A detection message as the detector decides it: an `open` of its own condition, one evidence event. */
function detection(ruleId: string, user: string, at: number, opts: { severity?: Severity; eventId?: string; seq?: number } = {}): Message {
  const known = pack.rules.find((r) => r.id === ruleId);
  const r = known ?? rule({ id: ruleId, severity: opts.severity ?? 'medium', riskScore: 4, match: { a: 1 } });
  const severity = opts.severity ?? r.severity;
  const e = ev({ 'user.name': user }, at);
  e['cloudwatch.event_id'] = opts.eventId ?? `evt-${ruleId}-${user}-${at}`;
  const alertId = `det-${ruleId}-${user}`;
  const alert = buildDetectionAlert(
    {
      rule: { ...r, severity },
      entity: { field: 'user.name', value: user },
      groupKey: user,
      trigger: e,
      evidence: [e],
      count: 1,
      windowStart: at,
      windowEnd: at,
      lifecycle: { alertId, status: 'open', occurrences: 1, openedAt: at },
    },
    { region: 'us-east-1' },
  );
  const tier = ruleTier({ ...r, severity });
  return { alert, key: `${alertId}#${opts.seq ?? 0}`, publish: tier !== 'review', digest: tier === 'review', correlate: true };
}

const incidents = (runner: LocalCorrelationRunner) => runner.published.filter((p) => p.alert?.kind === 'incident');

/** A detector of the insider-threat members as the pack scores them, each matched by an action named after it (small events). */
function insiderThreatMembers(store: DynamoStateStore): Detector {
  const member = (id: string) => {
    const known = pack.rules.find((r) => r.id === id);
    if (!known) throw new Error(`no rule ${id}`);
    return rule({
      id,
      severity: known.severity,
      riskScore: known.riskScore,
      tags: known.tags,
      entity: 'user.name',
      match: { 'event.action': id },
    });
  };
  return new Detector({ rules: ['auth.new_country_login', 'authz.sensitive_first_access', 'data.bulk_export'].map(member) }, store);
}

/** A hub's correlation: the insider-threat members' detector and a signal of `user` in a given account. */
function hubSignals(user: string) {
  const runner = new LocalCorrelationRunner(plain, pack, local.client);
  const detector = insiderThreatMembers(new DynamoStateStore(local.client, plain.tableName));
  const inAccount = (account: string, action: string, at: number) =>
    ev({ 'event.action': action, 'user.name': user, 'cloud.account.id': account, 'cloudwatch.owner': account }, at);
  return { runner, detector, inAccount };
}

describe('correlation state machine (synthesized definition, run locally)', () => {
  it.each([
    ['medium', 'notify'],
    ['high', 'respond'],
    ['critical', 'respond'],
  ] as const)('publishes a %s detection to the %s topic, with its lifecycle status', async (severity, tier) => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    await runner.send([detection('test.x', 'u1', T0, { severity })]);
    expect(runner.published.map((p) => p.tier)).toEqual([tier]);
    expect(runner.published[0]?.attributes).toEqual({ severity, tier, ruleId: 'test.x', status: 'open', account: 'none', route: 'all' }); // no account known, for everyone
    expect(runner.published[0]?.alert).toMatchObject({ status: 'open', occurrences: 1, id: 'det-test.x-u1' });
    expect(runner.published[0]?.subject?.length).toBeLessThanOrEqual(100);
  });

  it('a review-tier detection is correlated but not published on its own (it goes to the digest)', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    await runner.send([detection('test.low', 'u1', T0, { severity: 'low' })]);
    expect(runner.published).toEqual([]);
    expect(runner.executions.succeeded).toBe(1);
  });

  it('sends asked for at once (the sweeper tells ten resolutions at once) each return only the alerts they published', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    const messages = ['a', 'b', 'c', 'd'].map((u) => detection('test.x', `at-once-${u}`, T0, { severity: 'high' }));
    const returned = await Promise.all(messages.map((m) => runner.send([m])));
    expect(returned.map((alerts) => alerts.map((a) => a.id))).toEqual(messages.map((m) => [m.alert.id]));
    expect(runner.published.map((p) => p.alert?.id)).toEqual(messages.map((m) => m.alert.id));
  });

  it('a message delivered twice is published once (pending → published)', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    const m = detection('test.x', 'dup', T0, { severity: 'high' });
    await runner.send([m, m]);
    await runner.send([m]);
    expect(runner.published).toHaveLength(1);
  });

  it('never loses a message to a publish failure: the failed execution throws, pages the stack-health topic, and a retry publishes', async () => {
    const failing = new LocalCorrelationRunner(plain, pack, local.client, { failPublishTiers: ['respond'] });
    const m = detection('test.y', 'u2', T0, { severity: 'high' });
    await expect(failing.send([m])).rejects.toBeInstanceOf(CorrelationFailedError);
    expect(failing.executions.failed).toBe(1);
    expect(failing.published).toHaveLength(1);
    expect(failing.published[0]).toMatchObject({ tier: 'notify', subject: 'Sentinel stack health: correlation failed' });
    expect(failing.published[0]?.raw).toContain('local publish to respond failed');
    // The detector's retry (same batch, same receipt, same message) against the same table.
    const healthy = new LocalCorrelationRunner(plain, pack, local.client);
    expect((await healthy.send([m])).map((a) => a.id)).toEqual([m.alert.id]);
    expect((await healthy.send([m])).map((a) => a.id)).toEqual([]); // and only once
  });

  it('a risk record that kept losing races is retried by the state machine, not failed into a stack-health message', async () => {
    // The entity's record loses its first 12 writes (every attempt the task makes), as when dozens
    // of executions fold a flood's detections into it at once; waits are zero here.
    class Contested extends DynamoStateStore {
      riskWrites = 0;
      override async writeDoc(write: DocWrite): Promise<boolean> {
        if (write.sk.startsWith('r#') && ++this.riskWrites <= 12) return false;
        return super.writeDoc(write);
      }
    }
    const store = new Contested(local.client, plain.tableName);
    const runner = new LocalCorrelationRunner(plain, pack, local.client, { store });
    vi.spyOn(Math, 'random').mockReturnValue(0);
    try {
      const published = await runner.send([detection('test.z', 'contested', T0, { severity: 'high' })]);
      expect(published.map((a) => a.id)).toEqual(['det-test.z-contested']);
    } finally {
      vi.restoreAllMocks();
    }
    expect(runner.executions).toEqual({ succeeded: 1, failed: 0 });
    expect(runner.published.map((p) => p.tier)).toEqual(['respond']); // no stack-health message
    expect(store.riskWrites).toBe(13);
  });

  it('with a chat topic: notify and respond messages are also published to it as chat custom notifications; review is not', async () => {
    const withChat = synthesizeDefinition({ chat: { tiers: ['notify', 'respond'] } });
    const runner = new LocalCorrelationRunner(withChat, pack, local.client);
    await runner.send([
      detection('test.high', 'u1', T0, { severity: 'high' }),
      detection('test.low', 'u2', T0 + 1000, { severity: 'low' }),
    ]);
    expect(runner.published.map((p) => p.tier).sort()).toEqual(['chat', 'respond']);
    const chat = JSON.parse(runner.published.find((p) => p.tier === 'chat')?.raw ?? '{}');
    expect(chat).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown', title: expect.stringContaining('test u1') },
      metadata: { threadId: 'test.high:u1', eventType: 'detection' },
    });
  });

  it('only the tiers the chat topic takes carry a chat rendering (CHAT_TIERS, set by the stack); a stack that does not say: every tier', () => {
    const high = detection('test.high', 'u1', T0, { severity: 'high' });
    const medium = detection('test.medium', 'u1', T0, { severity: 'medium' });
    expect(envelopeOf(high).publishFields.chat).toContain('"source":"custom"');
    expect(envelopeOf(high, undefined, { chatTiers: new Set(), timeZone: 'UTC' }).publishFields).not.toHaveProperty('chat');
    expect(envelopeOf(high, undefined, { chatTiers: new Set(['respond']), timeZone: 'UTC' }).publishFields.chat).toContain(
      '"source":"custom"',
    );
    expect(envelopeOf(medium, undefined, { chatTiers: new Set(['respond']), timeZone: 'UTC' }).publishFields).not.toHaveProperty('chat');
    const saved = process.env.CHAT_TIERS;
    try {
      delete process.env.CHAT_TIERS;
      expect(chatTiersEnv()).toBe('all');
      process.env.CHAT_TIERS = '';
      expect(chatTiersEnv()).toEqual(new Set());
      process.env.CHAT_TIERS = 'notify,respond';
      expect(chatTiersEnv()).toEqual(new Set(['notify', 'respond']));
    } finally {
      if (saved === undefined) delete process.env.CHAT_TIERS;
      else process.env.CHAT_TIERS = saved;
    }
  });

  it('an envelope from the detector version before (no account or route attribute, no chat rendering) still publishes: a deploy updates the state machine first', async () => {
    const withChat = synthesizeDefinition({ chat: { tiers: ['respond'] } });
    const runner = new LocalCorrelationRunner(withChat, pack, local.client);
    const {
      account: _account,
      route: _route,
      chat: _chat,
      ...before
    } = envelopeOf(detection('test.old', 'u1', T0, { severity: 'high' })).publishFields;
    await runner.run({ ...envelopeOf(detection('test.old', 'u1', T0, { severity: 'high' })), publishFields: before });
    expect(runner.executions.failed).toBe(0);
    // For everyone: a review subscriber filtering on `route: all` still gets it.
    expect(runner.published.map((p) => [p.tier, p.attributes?.account, p.attributes?.route])).toEqual([['respond', 'none', 'all']]);
    // A field that is there is kept.
    const current = envelopeOf(detection('test.new', 'u2', T0, { severity: 'high' }));
    await runner.run({ ...current, publishFields: { ...current.publishFields, account: '111122223333' } });
    expect(runner.published.slice(1).map((p) => [p.tier, p.attributes?.account])).toEqual([
      ['respond', '111122223333'],
      ['chat', undefined],
    ]);
  });

  it("a route's review digest goes to the review topic with its route attribute, and not to the chat channel (which has the whole digest)", async () => {
    const withChat = synthesizeDefinition({ chat: { tiers: ['review'] } });
    const runner = new LocalCorrelationRunner(withChat, pack, local.client);
    const base = detection('test.low', 'u3', T0, { severity: 'low' });
    await runner.run(
      envelopeOf({ ...base, key: 'whole', publish: true, digest: false }, undefined, { chatTiers: new Set(['review']), timeZone: 'UTC' }),
    );
    await runner.run(
      envelopeOf({ ...base, key: 'team', publish: true, digest: false, route: 'r2' }, undefined, {
        chatTiers: new Set(['review']),
        timeZone: 'UTC',
      }),
    );
    expect(runner.executions.failed).toBe(0);
    expect(runner.published.map((p) => [p.tier, p.attributes?.route])).toEqual([
      ['review', 'all'],
      ['chat', undefined],
      ['review', 'r2'],
    ]);
  });

  it('raises an incident once per condition; later members update it silently', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    await runner.send([detection('auth.new_country_login', 'eve', T0)]);
    await runner.send([detection('authz.sensitive_first_access', 'eve', T0 + 60_000), detection('data.bulk_export', 'eve', T0 + 120_000)]);
    expect(incidents(runner)).toHaveLength(1);
    expect(incidents(runner)[0]?.alert).toMatchObject({
      ruleId: 'corr.insider_threat',
      tier: 'respond',
      status: 'open',
      members: expect.any(Array),
    });
    // What made it an incident, readable in the email: each member rule with its detection's title.
    const incident = incidents(runner)[0]?.alert;
    expect(incident?.memberDetections?.map((m) => m.ruleId)).toEqual([
      'auth.new_country_login',
      'authz.sensitive_first_access',
      'data.bulk_export',
    ]);
    expect(incident?.memberDetections?.map((m) => m.id)).toEqual(incident?.members);
    const body = incident ? emailBody(incident).split('\n') : [];
    expect(body.filter((l) => l.startsWith('  - ') && l.includes('data.bulk_export: '))).toHaveLength(1);
    await runner.send([detection('auth.off_hours_login', 'eve', T0 + 180_000)]);
    await runner.send([detection('data.bulk_export', 'eve', T0 + 240_000, { seq: 1 })]);
    expect(incidents(runner)).toHaveLength(1);
  });

  it('an incident pages whatever holds its entity’s page, and takes it: a detection about the user that follows is part of it', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    const store = new DynamoStateStore(local.client, plain.tableName);
    // A detection as severe and risky as anything pages first and holds eve's page.
    const wipe = rule({ id: 'test.wipe', severity: 'critical', riskScore: 10, entity: 'user.name', match: { 'event.action': 'wipe' } });
    const first = await new Detector({ rules: [wipe] }, store).evaluate('b-wipe', [ev({ 'event.action': 'wipe', 'user.name': 'eve' }, T0)]);
    expect(first.messages.map((m) => m.alert.tier)).toEqual(['respond']);
    await runner.send([
      detection('auth.new_country_login', 'eve', T0 + 60_000),
      detection('authz.sensitive_first_access', 'eve', T0 + 120_000),
      detection('data.bulk_export', 'eve', T0 + 180_000),
    ]);
    const incident = incidents(runner)[0];
    expect(incident?.tier).toBe('respond'); // never folded: it carries the automated response
    expect(incident?.alert?.foldedInto).toBeUndefined();
    const poke = rule({ id: 'test.poke', severity: 'high', riskScore: 6, entity: 'user.name', match: { 'event.action': 'poke' } });
    const after = await new Detector({ rules: [poke] }, store).evaluate('b-poke', [
      ev({ 'event.action': 'poke', 'user.name': 'eve' }, T0 + 600_000),
    ]);
    expect(after.messages.map((m) => m.alert)).toMatchObject([
      { ruleId: 'test.poke', tier: 'notify', foldedInto: { ruleId: 'corr.insider_threat', id: incident?.alert?.id } },
    ]);
  });

  it('a hub: one user name in two accounts is two users — their signals make no incident together, each account’s own do', async () => {
    const { runner, detector, inAccount } = hubSignals('deploy');
    const split = await detector.evaluate('b1', [
      inAccount('111111111111', 'auth.new_country_login', T0),
      inAccount('222222222222', 'authz.sensitive_first_access', T0 + 60_000),
      inAccount('222222222222', 'data.bulk_export', T0 + 120_000),
    ]);
    await runner.send(split.messages);
    expect(incidents(runner)).toEqual([]);
    const same = await detector.evaluate('b2', [
      inAccount('111111111111', 'authz.sensitive_first_access', T0 + 180_000),
      inAccount('111111111111', 'data.bulk_export', T0 + 240_000),
    ]);
    await runner.send(same.messages);
    expect(incidents(runner).map((p) => p.alert)).toMatchObject([
      { ruleId: 'corr.insider_threat', entity: { field: 'user.name', value: 'deploy', account: '111111111111' } },
    ]);
    // Every message names its account for subscription filter policies (one team per account).
    expect(incidents(runner)[0]?.attributes).toMatchObject({ account: '111111111111', tier: 'respond', ruleId: 'corr.insider_threat' });
    expect(new Set(runner.published.map((p) => `${p.alert?.ruleId} ${p.attributes.account}`))).toEqual(
      new Set([
        'auth.new_country_login 111111111111',
        'authz.sensitive_first_access 222222222222',
        'data.bulk_export 222222222222',
        'authz.sensitive_first_access 111111111111',
        'data.bulk_export 111111111111',
        'corr.insider_threat 111111111111',
      ]),
    );
  });

  it('a person named by an email (an Identity Center user) is one user in every account: a login in one and an export in another correlate', async () => {
    const { runner, detector, inAccount } = hubSignals('alice@corp.example');
    const r = await detector.evaluate('b1', [
      inAccount('111111111111', 'auth.new_country_login', T0),
      inAccount('222222222222', 'authz.sensitive_first_access', T0 + 60_000),
      inAccount('222222222222', 'data.bulk_export', T0 + 120_000),
    ]);
    await runner.send(r.messages);
    expect(incidents(runner).map((p) => p.alert?.entity)).toEqual([{ field: 'user.name', value: 'alice@corp.example' }]);
  });

  it('members are distinct rules and evidence counts once: one login that fires three rules is one signal', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    const login = 'evt-login-1';
    await runner.send([
      detection('auth.off_hours_login', 'rita', T0, { eventId: login }),
      detection('auth.new_country_login', 'rita', T0, { eventId: login }),
      detection('auth.login_without_mfa', 'rita', T0, { eventId: login }),
      detection('authz.sensitive_first_access', 'rita', T0 + 60_000),
      detection('data.bulk_export', 'rita', T0 + 120_000),
    ]);
    const incident = incidents(runner)[0]?.alert;
    expect(incident?.members).toHaveLength(5);
    expect(new Set(incident?.events.map((e) => e.eventId)).size).toBe(incident?.events.length);
    expect(incident?.events.filter((e) => e.eventId === login)).toHaveLength(1);
    // new_country (4) for the login signal + sensitive access (4) + bulk export (5) = 13, capped at 10.
    expect(incident?.riskScore).toBe(10);
  });

  it('the risk read keeps older members however many newer detections an entity has', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    await runner.send([detection('auth.new_country_login', 'busy', T0), detection('authz.sensitive_first_access', 'busy', T0 + 60_000)]);
    // 60 detections of other rules (each its own condition) between the members: one record per rule, none crowds out the login.
    const noise = Array.from({ length: 60 }, (_, i) => detection(`test.noise_${i}`, 'busy', T0 + 90_000 + i * 100, { severity: 'medium' }));
    await runner.send(noise);
    await runner.send([detection('data.bulk_export', 'busy', T0 + 120_000)]);
    expect(incidents(runner).map((p) => p.alert?.ruleId)).toEqual(['corr.insider_threat']);
  });

  it('risk expires past the correlation window', async () => {
    const runner = new LocalCorrelationRunner(plain, pack, local.client);
    await runner.send([detection('auth.new_country_login', 'old', T0), detection('authz.sensitive_first_access', 'old', T0 + 60_000)]);
    await runner.send([detection('data.bulk_export', 'old', T0 + 5 * 3_600_000)]);
    expect(incidents(runner)).toHaveLength(0);
  });

  it('invokes the automated response only when configured, and only when the incident opens', async () => {
    const timeline = (u: string) => [
      detection('auth.new_country_login', u, T0),
      detection('authz.sensitive_first_access', u, T0 + 60_000),
      detection('data.bulk_export', u, T0 + 120_000),
    ];
    const off = new LocalCorrelationRunner(plain, pack, local.client);
    await off.send(timeline('a'));
    expect(off.responses).toHaveLength(0);
    const on = new LocalCorrelationRunner(withResponse, pack, local.client);
    await on.send(timeline('b'));
    await on.send([detection('auth.off_hours_login', 'b', T0 + 180_000)]);
    expect(on.responses).toHaveLength(1);
    expect(on.responses[0]).toMatchObject({ kind: 'incident', status: 'open', ruleId: 'corr.insider_threat' });
  });
});
