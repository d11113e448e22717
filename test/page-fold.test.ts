import { describe, expect, it } from 'vitest';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { sweep } from '../src/engine/sweeper';
import type { Message } from '../src/schema/alert';
import type { DetectionRule } from '../src/schema/rule';
import { ev, rule, T0 } from './helpers';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Two respond-tier rules that see the same failed logins from one address: a spray and a brute force. */
const spray = rule({
  id: 'test.spray',
  title: 'spray from {source.ip}',
  severity: 'high',
  riskScore: 6,
  entity: 'source.ip',
  match: { 'event.outcome': 'failure' },
  distinct: { field: 'user.name', count: 3, window: '10m', groupBy: ['source.ip'] },
});
const bruteForce = rule({
  id: 'test.brute_force',
  title: 'brute force from {source.ip}',
  severity: 'high',
  riskScore: 5,
  entity: 'source.ip',
  match: { 'event.outcome': 'failure' },
  threshold: { count: 3, window: '10m', groupBy: ['source.ip'] },
});
/** What the address did next: a login that worked (riskier than either), a config change (less). */
const success = rule({
  id: 'test.success',
  title: 'login from {source.ip}',
  severity: 'high',
  riskScore: 7,
  entity: 'source.ip',
  match: { 'event.outcome': 'success' },
});
const lowRisk = rule({ id: 'test.low_risk', severity: 'high', riskScore: 4, entity: 'source.ip', match: { 'event.action': 'poke' } });
const critical = rule({ id: 'test.critical', severity: 'critical', riskScore: 5, entity: 'source.ip', match: { 'event.action': 'wipe' } });

const failures = (ip: string, at: number, n = 3) =>
  Array.from({ length: n }, (_, i) => ev({ 'event.outcome': 'failure', 'source.ip': ip, 'user.name': `u${i}` }, at + i * 1000));

const opened = (messages: readonly Message[]) =>
  messages
    .filter((m) => m.publish && m.alert.status === 'open')
    .map((m) => `${m.alert.ruleId} ${m.alert.tier}${m.alert.foldedInto ? ` → ${m.alert.foldedInto.ruleId}` : ''}`)
    .sort();

/** A store whose receipts can be lost, as when a batch fails between its condition writes and its receipt. */
class ReceiptLosingStore extends MemoryStateStore {
  lose = false;
  override readReceipt(batchId: string): Promise<string | undefined> {
    return this.lose ? Promise.resolve(undefined) : super.readReceipt(batchId);
  }
}

function setup(rules: DetectionRule[], options: { pageFoldWindow?: number } = {}) {
  const store = new MemoryStateStore();
  return { store, detector: new Detector({ rules }, store, options) };
}

describe('one page per entity (src/engine/page-fold.ts)', () => {
  it('two rules on the same attack page once: the second is told in the notify tier as part of the first page', async () => {
    const { detector } = setup([spray, bruteForce]);
    const r = await detector.evaluate('b1', failures('192.0.2.66', T0));
    expect(opened(r.messages)).toEqual(['test.brute_force notify → test.spray', 'test.spray respond']);
    const folded = r.messages.find((m) => m.alert.ruleId === 'test.brute_force')?.alert;
    expect(folded?.severity).toBe('high'); // its severity is what the rule says; only where it is told changes
    expect(folded?.foldedInto).toMatchObject({ ruleId: 'test.spray', title: 'spray from 192.0.2.66' });
    expect(folded?.foldedInto?.id).toBe(r.messages.find((m) => m.alert.ruleId === 'test.spray')?.alert.id);
  });

  it('another address is another page; with the window 0 every respond-tier alert pages', async () => {
    const { detector } = setup([spray, bruteForce]);
    const r = await detector.evaluate('b1', [...failures('192.0.2.66', T0), ...failures('192.0.2.77', T0)]);
    expect(opened(r.messages).filter((m) => m.includes('respond'))).toHaveLength(2);
    const unfolded = setup([spray, bruteForce], { pageFoldWindow: 0 });
    const all = await unfolded.detector.evaluate('b1', failures('192.0.2.66', T0));
    expect(opened(all.messages)).toEqual(['test.brute_force respond', 'test.spray respond']);
  });

  it('the page stands for its window across batches; after it, the entity pages again', async () => {
    const { detector } = setup([spray, lowRisk]);
    await detector.evaluate('b1', failures('192.0.2.66', T0));
    const within = await detector.evaluate('b2', [ev({ 'event.action': 'poke', 'source.ip': '192.0.2.66' }, T0 + 3 * HOUR)]);
    expect(opened(within.messages)).toEqual(['test.low_risk notify → test.spray']);
    const after = await detector.evaluate('b3', [ev({ 'event.action': 'poke', 'source.ip': '192.0.2.66' }, T0 + 6 * HOUR)]);
    expect(opened(after.messages)).toEqual(['test.low_risk respond']);
  });

  it('news pages: a riskier or more severe detection about the entity pages, and holds the page from then on', async () => {
    const { detector } = setup([spray, success, critical, lowRisk]);
    await detector.evaluate('b1', failures('192.0.2.66', T0));
    const login = await detector.evaluate('b2', [ev({ 'event.outcome': 'success', 'source.ip': '192.0.2.66' }, T0 + 5 * MIN)]);
    expect(opened(login.messages)).toEqual(['test.success respond']);
    const poke = await detector.evaluate('b3', [ev({ 'event.action': 'poke', 'source.ip': '192.0.2.66' }, T0 + 6 * MIN)]);
    expect(opened(poke.messages)).toEqual(['test.low_risk notify → test.success']);
    const wipe = await detector.evaluate('b4', [ev({ 'event.action': 'wipe', 'source.ip': '192.0.2.66' }, T0 + 7 * MIN)]);
    expect(opened(wipe.messages)).toEqual(['test.critical respond']);
  });

  it("a folded alert's resolved notice goes where its opening went: notify, not the pager", async () => {
    const { store, detector } = setup([spray, bruteForce]);
    await detector.evaluate('b1', failures('192.0.2.66', T0));
    const sent: Message[] = [];
    const swept = await sweep(
      {
        store,
        pack: { rules: [spray, bruteForce], correlations: [] },
        ctx: { region: 'us-east-1' },
        send: async (m) => {
          sent.push(...m);
        },
      },
      T0 + 2 * HOUR,
    );
    expect(swept.resolved).toBe(2);
    const resolved = Object.fromEntries(sent.map((m) => [m.alert.ruleId, m.alert.tier]));
    expect(resolved).toEqual({ 'test.spray': 'respond', 'test.brute_force': 'notify' });
    expect(sent.find((m) => m.alert.ruleId === 'test.brute_force')?.alert.foldedInto?.ruleId).toBe('test.spray');
  });

  it('a folded alert resolved by the batch that opens its successor is still told in the notify tier', async () => {
    const { detector } = setup([spray, bruteForce]);
    await detector.evaluate('b1', failures('192.0.2.66', T0));
    // No sweep in between: the next batch resolves the old alerts and opens new ones.
    const back = await detector.evaluate('b2', failures('192.0.2.66', T0 + 3 * HOUR));
    const resolved = back.messages.filter((m) => m.alert.status === 'resolved' && m.publish);
    expect(Object.fromEntries(resolved.map((m) => [m.alert.ruleId, m.alert.tier]))).toEqual({
      'test.spray': 'respond',
      'test.brute_force': 'notify',
    });
  });

  it.each(['not json', '{"id":1}'])('a stored page that does not read (%s) counts as none: the alert pages and takes it', async (body) => {
    const { store, detector } = setup([spray, lowRisk]);
    const key = { pk: 'page#source.ip=192.0.2.66', sk: 'page' };
    expect(await store.writeDoc({ ...key, body, ifVersion: null, now: T0, expiresAt: T0 + 10 * HOUR })).toBe(true);
    const r = await detector.evaluate('b1', failures('192.0.2.66', T0 + MIN));
    expect(opened(r.messages)).toEqual(['test.spray respond']);
    const next = await detector.evaluate('b2', [ev({ 'event.action': 'poke', 'source.ip': '192.0.2.66' }, T0 + 5 * MIN)]);
    expect(opened(next.messages)).toEqual(['test.low_risk notify → test.spray']);
  });

  it('a page whose holder never reached its condition (its write lost a race) counts as none: the entity is paged', async () => {
    const { store, detector } = setup([lowRisk]);
    const phantom = {
      id: 'det-phantom',
      ruleId: 'test.spray',
      title: 'spray from 192.0.2.66',
      severity: 'critical',
      riskScore: 10,
      pagedAt: T0,
      condition: { pk: 'c#test.spray#192.0.2.66', sk: 'cond' },
    };
    const key = { pk: 'page#source.ip=192.0.2.66', sk: 'page' };
    await store.writeDoc({ ...key, body: JSON.stringify(phantom), ifVersion: null, now: T0, expiresAt: T0 + 4 * HOUR });
    const r = await detector.evaluate('b1', [ev({ 'event.action': 'poke', 'source.ip': '192.0.2.66' }, T0 + MIN)]);
    expect(opened(r.messages)).toEqual(['test.low_risk respond']);
  });

  it('a retried batch decides the same, and a concurrent detector sees the page the first one holds', async () => {
    const store = new MemoryStateStore();
    const first = new Detector({ rules: [spray, bruteForce] }, store);
    const events = failures('192.0.2.66', T0);
    const once = await first.evaluate('b1', events);
    const again = await new Detector({ rules: [spray, bruteForce] }, store).evaluate('b1', events);
    expect(again.redelivered).toBe(true);
    expect(again.messages.map((m) => m.alert)).toEqual(once.messages.map((m) => m.alert));
    // Another detector (another Lambda, another rule on the address's failures), same store: it folds.
    const denied = rule({ id: 'test.denied', severity: 'high', riskScore: 4, entity: 'source.ip', match: { 'event.outcome': 'failure' } });
    const later = await new Detector({ rules: [denied] }, store).evaluate('b2', failures('192.0.2.66', T0 + 20 * MIN, 1));
    expect(opened(later.messages)).toEqual(['test.denied notify → test.spray']);
  });

  it('a batch retried after its conditions were written but before its receipt: the holder keeps the page', async () => {
    const store = new ReceiptLosingStore();
    const events = failures('192.0.2.66', T0);
    const once = await new Detector({ rules: [spray, bruteForce] }, store).evaluate('b1', events);
    // The receipt lost: the retry walks the stored conditions again (their recorded observation).
    store.lose = true;
    const retry = await new Detector({ rules: [spray, bruteForce] }, store).evaluate('b1', events);
    expect(retry.redelivered).toBe(false);
    expect(opened(retry.messages)).toEqual(opened(once.messages));
  });
});
