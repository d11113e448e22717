import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { emailBody } from '../src/alerts/notification';
import { Detector, type DetectorOptions } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import type { StateStore } from '../src/engine/state-store';
import { sweep } from '../src/engine/sweeper';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import type { Message } from '../src/schema/alert';
import type { NormalizedEvent } from '../src/schema/event';
import { ev, rule, T0 } from './helpers';

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;

// A flood rule keyed on the client, at the respond tier: what a botnet sets off once per address.
const floodSpec = {
  id: 'test.flood',
  title: 'Flood from {source.ip}',
  severity: 'high',
  match: { 'event.category': 'web' },
  threshold: { count: 3, window: '1m', groupBy: ['source.ip'] },
};
const flood = rule(floodSpec);
/** `n` addresses, each sending three requests within a second, `gap` apart from the next address. */
const botnet = (n: number, start = T0, gap = S, prefix = '198.51.100') =>
  Array.from({ length: n }, (_, i) =>
    [0, 1, 2].map((k) => ev({ 'event.category': 'web', 'source.ip': `${prefix}.${i + 1}` }, start + i * gap + k * 10)),
  ).flat();

const opened = (messages: readonly Message[]) => messages.filter((m) => m.alert.status === 'open');
const told = (messages: readonly Message[]) => opened(messages).filter((m) => m.publish);
const held = (messages: readonly Message[]) => opened(messages).filter((m) => m.alert.outbreak?.notice);

async function run(
  events: NormalizedEvent[],
  store: StateStore = new MemoryStateStore(),
  options: DetectorOptions = {},
  cut = events.length,
) {
  const d = new Detector({ rules: [flood] }, store, options);
  const messages: Message[] = [];
  for (let i = 0; i < events.length; i += cut) messages.push(...(await d.evaluate(`b${i}`, events.slice(i, i + cut))).messages);
  return messages;
}

let local: LocalDynamo;
beforeAll(async () => {
  local = await startLocalDynamo('outbreak');
});
afterAll(async () => {
  await local.close();
});

describe('one message per outbreak, not one per entity', () => {
  it('300 addresses flooding at once: three told, the fourth tells the outbreak, 296 held for the review digest', async () => {
    const messages = await run(botnet(300));
    expect(opened(messages)).toHaveLength(300);
    expect(told(messages)).toHaveLength(4);
    const notice = told(messages)[3];
    // Held for an hour from the first alert's opening (the first address's third request).
    expect(notice?.alert.outbreak).toEqual({ heldUntil: new Date(T0 + 20 + HOUR).toISOString() });
    expect(notice?.alert.tier).toBe('respond');
    const rest = held(messages);
    expect(rest).toHaveLength(296);
    for (const m of rest) {
      // Not published, digested (the review digest counts them and names the top addresses), correlated.
      expect([m.publish, m.digest, m.correlate, m.alert.tier]).toEqual([false, true, true, 'review']);
      expect(m.alert.outbreak?.notice?.id).toBe(notice?.alert.id);
    }
    // Told in the order they opened: the first three addresses, then the fourth.
    expect(told(messages).map((m) => m.alert.entity.value)).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4']);
  });

  it('the notice says so in the email; a held alert names the notice', async () => {
    const messages = await run(botnet(5));
    const [notice] = told(messages).slice(3);
    expect(emailBody(notice?.alert ?? ({} as never))).toMatch(
      /Outbreak: rule test\.flood is firing for many source\.ip values at once\. Its further alerts until .* UTC are not told one by one/,
    );
    expect(emailBody(held(messages)[0]?.alert ?? ({} as never))).toMatch(/Held: one of many alerts of rule test\.flood at once/);
  });

  it('memory and DynamoDB decide the same, and so do one batch, single events and uneven cuts', async () => {
    const events = botnet(12);
    const signature = (messages: readonly Message[]) =>
      messages
        .map(
          (m) =>
            `${m.alert.entity.value} ${m.alert.status} ${m.publish} ${m.alert.outbreak?.notice ? 'held' : m.alert.outbreak ? 'notice' : 'told'}`,
        )
        .sort();
    const reference = signature(await run(events));
    expect(signature(await run(events, new MemoryStateStore(), {}, 1))).toEqual(reference);
    expect(signature(await run(events, new MemoryStateStore(), {}, 5))).toEqual(reference);
    const dynamo = new DynamoStateStore(local.client, local.tableName);
    expect(signature(await run(events, dynamo, {}, 7))).toEqual(reference);
  });

  it('a redelivered batch decides the same: the told addresses, the notice and the held ones', async () => {
    const store = new MemoryStateStore();
    const d = new Detector({ rules: [flood] }, store);
    const events = botnet(6);
    const first = await d.evaluate('same', events);
    const again = await d.evaluate('same', events);
    const decided = (r: { messages: Message[] }) => r.messages.map((m) => `${m.key} ${m.publish} ${m.alert.tier}`);
    expect(decided(again)).toEqual(decided(first));
  });

  it('racing detectors (DynamoDB): exactly three told and one notice, whichever detector opened which alert', async () => {
    const dynamo = new DynamoStateStore(local.client, local.tableName);
    // 8 deliveries at once, 5 addresses each, some addresses in two deliveries (both race to open them).
    const batches = Array.from({ length: 8 }, (_, b) =>
      botnet(5, T0 + 2 * HOUR + b * S, 10, `203.0.${b % 6}`).map((e) => ({
        ...e,
        'cloudwatch.event_id': `${b}-${e['cloudwatch.event_id']}`,
      })),
    );
    const results = await Promise.all(batches.map((events, b) => new Detector({ rules: [flood] }, dynamo).evaluate(`race-${b}`, events)));
    const messages = results.flatMap((r) => r.messages);
    const publishedOpen = told(messages);
    expect(publishedOpen.filter((m) => !m.alert.outbreak)).toHaveLength(3);
    expect(publishedOpen.filter((m) => m.alert.outbreak && !m.alert.outbreak.notice)).toHaveLength(1);
    // Every address was detected (30 of them: 6 prefixes × 5), each once.
    expect(new Set(opened(messages).map((m) => m.alert.entity.value)).size).toBe(30);
    expect(opened(messages)).toHaveLength(30);
  });

  it('a burst that outlasts the hour starts a new outbreak: a few messages an hour, not one per address', async () => {
    // 300 addresses over three hours, one every 36 s.
    const messages = await run(botnet(300, T0, 36 * S), new MemoryStateStore(), {}, 50);
    expect(told(messages)).toHaveLength(3 * 4);
    expect(held(messages)).toHaveLength(300 - 12);
  });

  it('a held alert tells neither its reminders nor its end; a told one still does', async () => {
    const store = new MemoryStateStore();
    const messages = await run(botnet(5), store);
    const sent: Message[] = [];
    const result = await sweep(
      { store, pack: { rules: [flood], correlations: [] }, ctx: { region: 'us-east-1' }, send: async (m) => void sent.push(...m) },
      T0 + 2 * HOUR,
    );
    expect(result.resolved).toBe(5);
    const ends = sent.filter((m) => m.alert.status === 'resolved');
    // Respond-tier floods tell their end: the three told and the notice, not the held one.
    expect(ends.map((m) => m.alert.entity.value).sort()).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4']);
    expect(held(messages).map((m) => m.alert.entity.value)).toEqual(['198.51.100.5']);
  });

  it('per account: an outbreak in one account holds nothing of another', async () => {
    const users = rule({
      id: 'test.denied',
      title: 'Denied {user.name}',
      severity: 'medium',
      match: { 'event.outcome': 'failure' },
      threshold: { count: 2, window: '5m', groupBy: ['user.name'] },
    });
    const d = new Detector({ rules: [users] }, new MemoryStateStore());
    const events = ['111111111111', '222222222222'].flatMap((account, a) =>
      Array.from({ length: 6 }, (_, i) =>
        [0, 1].map((k) =>
          ev({ 'event.outcome': 'failure', 'user.name': `u${i}`, 'cloud.account.id': account }, T0 + a * S + i * 10 * S + k),
        ),
      ).flat(),
    );
    const messages = (await d.evaluate('b', events)).messages;
    // Each account: three told, the fourth the notice, two held.
    for (const account of ['111111111111', '222222222222']) {
      const own = opened(messages).filter((m) => m.alert.entity.account === account);
      expect([own.length, told(own).length, held(own).length], account).toEqual([6, 4, 2]);
    }
  });

  it('outbreakAfter 0 (the deployment) or a rule of its own tells every alert', async () => {
    expect(told(await run(botnet(10), new MemoryStateStore(), { outbreakAfter: 0 }))).toHaveLength(10);
    const own = rule({ ...floodSpec, id: 'test.flood_every', alert: { outbreakAfter: 0 } });
    const d = new Detector({ rules: [own] }, new MemoryStateStore());
    expect(told((await d.evaluate('b', botnet(10))).messages)).toHaveLength(10);
    const five = rule({ ...floodSpec, id: 'test.flood_five', alert: { outbreakAfter: 5 } });
    expect(told((await new Detector({ rules: [five] }, new MemoryStateStore()).evaluate('b', botnet(10))).messages)).toHaveLength(6);
  });

  it('review-tier rules are digested anyway: no outbreak', async () => {
    const low = rule({ ...floodSpec, id: 'test.flood_low', severity: 'low' });
    const messages = (await new Detector({ rules: [low] }, new MemoryStateStore()).evaluate('b', botnet(10))).messages;
    expect(opened(messages).filter((m) => m.alert.outbreak)).toEqual([]);
  });
});
