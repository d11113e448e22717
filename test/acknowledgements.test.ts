import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { messageStyleEnv } from '../functions/commons/env';
import { emailBody } from '../src/alerts/notification';
import { AcknowledgementError, acknowledge, acknowledgeOpen, endAcknowledgement, listAcknowledgements } from '../src/cli/acknowledgements';
import { formatOpenAlerts, listOpenAlerts } from '../src/cli/open-alerts';
import { runCorrelateTask } from '../src/correlation/correlate-task';
import { DEFAULT_STYLE, envelopeOf } from '../src/correlation/envelope';
import {
  ACKS_PK,
  type Acknowledgement,
  announceAcknowledgements,
  readAcknowledgements,
  silencedReminders,
} from '../src/engine/acknowledgements';
import { Detector } from '../src/engine/detector';
import { accountAttribute } from '../src/engine/entity-scope';
import { advanceCondition, type ConditionState, type Emission, type LifecyclePolicy, type Occurrence } from '../src/engine/lifecycle';
import { MemoryStateStore } from '../src/engine/memory-store';
import type { StateStore } from '../src/engine/state-store';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import type { Message } from '../src/schema/alert';
import { ev, rule, T0, takeoverCorrelation, takeoverMember } from './helpers';
import { tableCli } from './table-cli';

const MIN = 60_000;
const HOUR = 60 * MIN;
const ALERT = `det-${'a'.repeat(24)}`;

const respond: LifecyclePolicy = {
  tier: 'respond',
  repeatInterval: 4 * HOUR,
  resolveAfter: 20 * MIN,
  flapGrace: HOUR,
  refresh: 10 * MIN,
  notifyResolved: true,
};
const identity = {
  kind: 'detection' as const,
  ruleId: 'r',
  groupKey: 'k',
  entity: { field: 'service.name', value: 'billing' },
  title: 't',
  logGroups: ['/g'],
};

/** One observation per occurrence, the acknowledgements given to each (as conditions.ts reads them). */
function walk(occurrences: Occurrence[], acks?: ReadonlyMap<string, Acknowledgement>): Emission[] {
  let state: ConditionState | undefined;
  const out: Emission[] = [];
  occurrences.forEach((o, i) => {
    const a = advanceCondition(state, { id: `obs-${i}`, occurrences: [o], identity, alertIdFor: () => ALERT }, respond, acks);
    state = a.state;
    out.push(...a.emissions);
  });
  return out;
}
const told = (emissions: Emission[]) =>
  emissions.filter((e) => e.status !== 'update').map((e) => [e.status, (e.at - T0) / HOUR, e.acknowledged?.by ?? null]);
/** A fault firing every 10 minutes for `hours`, its count `count(i)`. */
const steady = (hours: number, count: (i: number) => number = () => 5): Occurrence[] =>
  Array.from({ length: hours * 6 }, (_, i) => ({ at: T0 + i * 10 * MIN, weight: 1, count: count(i) }));
const ackOf = (until: number | null, alertId = ALERT): Map<string, Acknowledgement> =>
  new Map([[alertId, { alertId, by: 'ana', reason: 'INC-42', at: T0 + 5 * MIN, until }]]);

describe('acknowledged alerts (lifecycle)', () => {
  it('a page that still fires reminds every 4 hours; acknowledged, it reminds nobody', () => {
    expect(told(walk(steady(13)))).toEqual([
      ['open', 0, null],
      ['reminder', 4, null],
      ['reminder', 8, null],
      ['reminder', 12, null],
    ]);
    const acked = walk(steady(13), ackOf(null));
    expect(told(acked)).toEqual([['open', 0, null]]);
    // Decided all the same: silent updates that say why, so correlation still hears of it.
    expect(acked.filter((e) => e.acknowledged).map((e) => [e.status, (e.at - T0) / HOUR])).toEqual([
      ['update', 4],
      ['update', 8],
      ['update', 12],
    ]);
  });

  it('an acknowledgement for a while: reminders start again when it ends', () => {
    expect(told(walk(steady(13), ackOf(T0 + 6 * HOUR)))).toEqual([
      ['open', 0, null],
      ['reminder', 8, null],
      ['reminder', 12, null],
    ]);
  });

  it('an acknowledgement ends on the wall clock, not on the event time of a log running behind it', () => {
    // A log 5 hours behind: the alert opened by its T0 event is told at T0 + 5 h; a responder takes
    // it for two hours at once. Reminders fall due by event time (4 h), delivered 5 hours later.
    const behind = 5 * HOUR;
    const acks = new Map([[ALERT, { alertId: ALERT, by: 'ana', at: T0 + behind + 5 * MIN, until: T0 + behind + 2 * HOUR }]]);
    let state: ConditionState | undefined;
    const out: Emission[] = [];
    steady(13).forEach((o, i) => {
      const obs = { id: `late-${i}`, occurrences: [o], identity, alertIdFor: () => ALERT, heardAt: o.at + behind };
      const a = advanceCondition(state, obs, respond, acks);
      state = a.state;
      out.push(...a.emissions);
    });
    // Held against event time, the two hours lasted until the event of T0 + 7 h: the 4 h reminder, delivered at 9 h, was silenced.
    expect(told(out)).toEqual([
      ['open', 0, null],
      ['reminder', 4, null],
      ['reminder', 8, null],
      ['reminder', 12, null],
    ]);
  });

  it('an escalation is still told, saying who has it, and from what responders were last told (a silenced reminder told nobody)', () => {
    // Count 5 at the opening, 20 by the 4 h reminder, 50 from hour 6: 10× the 5 responders were told.
    const count = (i: number) => (i < 24 ? 5 : i < 36 ? 20 : 50);
    expect(told(walk(steady(7, count)))).toEqual([
      ['open', 0, null],
      ['reminder', 4, null],
    ]); // told 20 at the reminder: 50 is not 10× that
    expect(told(walk(steady(7, count), ackOf(null)))).toEqual([
      ['open', 0, null],
      ['escalated', 6, 'ana'],
    ]);
  });

  it("another alert's acknowledgement changes nothing", () => {
    expect(told(walk(steady(9), ackOf(null, `det-${'b'.repeat(24)}`)))).toEqual(told(walk(steady(9))));
  });
});

/** A store that counts reads of acknowledgements. */
function countingAckReads(store: StateStore): { store: StateStore; reads: () => number } {
  let reads = 0;
  const readDocs = store.readDocs.bind(store);
  store.readDocs = async (keys, now) => {
    reads += keys.filter((k) => k.pk === ACKS_PK).length > 0 ? 1 : 0;
    return readDocs(keys, now);
  };
  return { store, reads: () => reads };
}

const fault = rule({
  id: 'test.fault',
  title: 'errors on {service.name}',
  severity: 'high',
  match: { 'event.outcome': 'failure' },
  threshold: { count: 3, window: '10m', groupBy: ['service.name'] },
});
/** Ten minutes of a failing service: `perMinute` failures a minute, one batch. */
const tenMinutes = (start: number, perMinute = 1) =>
  Array.from({ length: 10 * perMinute }, (_, i) =>
    ev({ 'event.outcome': 'failure', 'service.name': 'billing' }, start + (i * MIN) / perMinute),
  );

async function allDay(
  store: StateStore,
  onOpen: (alertId: string) => Promise<void>,
  hours = 13,
  perMinute: (batch: number) => number = () => 1,
  /** Every message decided, published or not. */
  decided: Message[] = [],
): Promise<Message[]> {
  const d = new Detector({ rules: [fault] }, store, { outbreakAfter: 0 });
  const published: Message[] = [];
  for (let b = 0; b < hours * 6; b++) {
    const r = await d.evaluate(`batch-${b}`, tenMinutes(T0 + b * 10 * MIN, perMinute(b)));
    decided.push(...r.messages);
    for (const m of r.messages) {
      if (!m.publish) continue;
      published.push(m);
      if (m.alert.status === 'open') await onOpen(m.alert.id);
    }
  }
  return published;
}
const statusesOf = (messages: Message[]) => messages.map((m) => [m.alert.status, (Date.parse(m.alert.lastSeen) - T0) / HOUR]);

describe('acknowledged alerts (detector, state store)', () => {
  it('a responder acknowledges the page: no reminders for the rest of the day; reads only when a reminder is decided', async () => {
    const plain = countingAckReads(new MemoryStateStore());
    const unackedDecided: Message[] = [];
    const unacked = await allDay(
      plain.store,
      async () => {},
      13,
      () => 1,
      unackedDecided,
    );
    expect(statusesOf(unacked).map(([s]) => s)).toEqual(['open', 'reminder', 'reminder', 'reminder']);
    expect(plain.reads()).toBe(3); // one per reminder decided, none for the other 75 batches

    const counted = countingAckReads(new MemoryStateStore());
    const decided: Message[] = [];
    const acked = await allDay(
      counted.store,
      async (alertId) => {
        await acknowledge(counted.store, { alertId, by: 'ana', reason: 'INC-42', until: null }, T0 + 15 * MIN);
      },
      13,
      () => 1,
      decided,
    );
    expect(statusesOf(acked).map(([s]) => s)).toEqual(['open']);
    // What the detector function counts as RemindersAcknowledged: the three it kept off the pager.
    expect(silencedReminders(decided)).toBe(3);
    expect(silencedReminders(unackedDecided)).toBe(0);
    expect(counted.reads()).toBe(3 + 1); // the three reminders it silenced, and `acknowledge` reading what it replaces
  });

  it('an escalation of an acknowledged page is told with who has it, in the email too', async () => {
    const store = new MemoryStateStore();
    // One failure a minute, then 40 a minute from hour 2: the count in the window goes 10 → 400.
    const published = await allDay(
      store,
      async (alertId) => {
        await acknowledge(store, { alertId, by: 'ana', reason: 'INC-42', until: null }, T0);
      },
      5,
      (b) => (b >= 12 ? 40 : 1),
    );
    expect(published.map((m) => m.alert.status)).toEqual(['open', 'escalated']);
    const [opened, escalated] = published.map((m) => m.alert);
    if (!opened || !escalated) throw new Error('expected an opening and an escalation');
    expect(escalated.acknowledged).toEqual({ by: 'ana', at: new Date(T0).toISOString(), reason: 'INC-42' });
    const body = emailBody(escalated);
    expect(body).toContain('Acknowledged by ana at 2025-03-03 10:00 UTC (INC-42): its reminders are silent.');
    expect(body).not.toContain('detect ack add');
    // The opening told how to stop the reminders: as it runs, where the function that told it knows the table.
    expect(emailBody(opened)).toContain(`detect ack add ${opened.id} --table <StateTableName> (stops its reminders)`);
    expect(emailBody(opened, 'UTC', { name: 'Sentinel-StateTable1A2B', region: 'eu-west-1' })).toContain(
      `Working on it? detect ack add ${opened.id} --table Sentinel-StateTable1A2B --region eu-west-1 (stops its reminders)`,
    );
    // What the state machine publishes carries it.
    const style = { ...DEFAULT_STYLE, stateTable: { name: 'Sentinel-StateTable1A2B', region: 'eu-west-1' } };
    const message = { key: 'k', alert: opened, publish: true, correlate: false, digest: false } as const;
    const email = (JSON.parse(envelopeOf(message, undefined, style).publishFields.message) as { email: string }).email;
    expect(email).toContain('--table Sentinel-StateTable1A2B --region eu-west-1');
  });

  it('the functions name their state table and Region in the acknowledgement command (messageStyleEnv)', () => {
    const saved = { table: process.env.TABLE_NAME, region: process.env.AWS_REGION };
    const restore = (name: string, value: string | undefined) => {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    };
    try {
      process.env.TABLE_NAME = 'Sentinel-StateTable1A2B';
      process.env.AWS_REGION = 'eu-west-1';
      expect(messageStyleEnv().stateTable).toEqual({ name: 'Sentinel-StateTable1A2B', region: 'eu-west-1' });
      delete process.env.TABLE_NAME;
      expect(messageStyleEnv().stateTable).toBeUndefined();
    } finally {
      restore('TABLE_NAME', saved.table);
      restore('AWS_REGION', saved.region);
    }
  });

  it('what a responder typed is redacted like everything that leaves in an alert', async () => {
    const store = new MemoryStateStore();
    const published = await allDay(
      store,
      async (alertId) => {
        await acknowledge(store, { alertId, by: 'ana', reason: 'INC-42, creds: password=hunter2', until: null }, T0);
      },
      3,
      (b) => (b >= 12 ? 40 : 1),
    );
    expect(published.map((m) => [m.alert.status, m.alert.acknowledged?.reason])).toEqual([
      ['open', undefined],
      ['escalated', 'INC-42, creds: password=[REDACTED]'],
    ]);
  });

  it('a retried batch replays the decision it recorded, whatever the acknowledgement says now', async () => {
    const store = new MemoryStateStore();
    const d = new Detector({ rules: [fault] }, store, { outbreakAfter: 0 });
    let alertId = '';
    for (let b = 0; b < 24; b++) {
      const r = await d.evaluate(`batch-${b}`, tenMinutes(T0 + b * 10 * MIN));
      alertId ||= r.messages.find((m) => m.alert.status === 'open')?.alert.id ?? '';
    }
    await acknowledge(store, { alertId, by: 'ana', until: null }, T0 + HOUR);
    const first = await d.evaluate('batch-24', tenMinutes(T0 + 24 * 10 * MIN));
    expect(first.messages.map((m) => [m.alert.status, m.publish, m.alert.acknowledged?.by])).toEqual([['open', false, 'ana']]);
    await endAcknowledgement(store, alertId, T0 + 5 * HOUR);
    const retried = await d.evaluate('batch-24', tenMinutes(T0 + 24 * 10 * MIN));
    expect(retried.messages).toEqual(first.messages);
  });
});

describe('detect ack (the table, and the CLI)', () => {
  it('add / list / end; a bad id or a span in the past is refused', async () => {
    const store = new MemoryStateStore();
    const now = T0;
    await acknowledge(store, { alertId: ALERT, by: 'ana', reason: 'INC-42', until: now + 8 * HOUR }, now);
    const other = `inc-${'c'.repeat(24)}`;
    await acknowledge(store, { alertId: other, by: 'bo', until: null }, now + MIN);
    expect((await listAcknowledgements(store, now + 2 * MIN)).map((a) => a.alertId)).toEqual([other, ALERT]);
    // Acknowledged again: replaced (another responder took it over).
    await acknowledge(store, { alertId: ALERT, by: 'cy', until: null }, now + 3 * MIN);
    expect((await listAcknowledgements(store, now + 4 * MIN)).find((a) => a.alertId === ALERT)?.by).toBe('cy');
    await endAcknowledgement(store, other, now + 5 * MIN);
    expect((await listAcknowledgements(store, now + 6 * MIN)).map((a) => a.alertId)).toEqual([ALERT]);
    expect((await listAcknowledgements(store, now + 6 * MIN, true)).map((a) => a.alertId)).toEqual([ALERT, other]);
    await expect(acknowledge(store, { alertId: 'det-123', by: 'ana', until: null }, now)).rejects.toThrow(AcknowledgementError);
    await expect(acknowledge(store, { alertId: ALERT, by: 'ana', until: now - 1 }, now)).rejects.toThrow('before it starts');
    await expect(endAcknowledgement(store, `det-${'d'.repeat(24)}`, now)).rejects.toThrow('no acknowledgement of');
  });

  describe('on DynamoDB, from the CLI', () => {
    let local: LocalDynamo;
    beforeAll(async () => {
      local = await startLocalDynamo('acks');
    });
    afterAll(async () => {
      await local.close();
    });

    it('detect ack add / list / end write what the detector reads', async () => {
      const cli = await tableCli(local);
      const detect = (...args: string[]) => cli.detect(['ack', ...args]);
      const store = new DynamoStateStore(local.client, local.tableName);
      // An alert the detector opened on this table is listed by detect open.
      const live = Date.now() - 15 * MIN;
      const opened = await new Detector({ rules: [fault] }, store, { outbreakAfter: 0 }).evaluate('cli-b1', tenMinutes(live));
      const id = opened.messages.find((m) => m.alert.status === 'open')?.alert.id ?? 'none';
      const open = (...args: string[]) => cli.detect(['open', ...args]);
      expect(JSON.parse((await open('--json')).stdout)).toMatchObject([{ alertId: id, ruleId: 'test.fault', tier: 'respond' }]);
      // No open alert has ALERT (a typo): refused, with the open one beside it, and nothing is written.
      const typo = await detect('add', id, ALERT, '--by', 'ana');
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain(`no open alert has the id ${ALERT} (a typo, or it resolved): nothing acknowledged`);
      expect((await detect('list')).stdout.trim()).toBe('no acknowledgements');
      const added = await detect('add', id, '--for', '8h', '--reason', 'INC-42', '--by', 'ana');
      expect(added.code).toBe(0);
      expect(added.stdout).toMatch(new RegExp(`${id}  active .* by ana: INC-42\\n    errors on billing \\(test\\.fault, respond\\)`));
      expect(JSON.parse((await detect('list', '--json')).stdout)).toMatchObject([{ alertId: id, by: 'ana', reason: 'INC-42' }]);
      // The detector's side: the same table decides the alert's reminders.
      expect((await listAcknowledgements(store, Date.now())).map((a) => a.alertId)).toEqual([id]);
      expect((await open()).stdout).toContain('acknowledged by ana (INC-42)');
      expect((await detect('end', id)).stdout).toMatch(new RegExp(`${id}  ended`));
      expect((await detect('list')).stdout.trim()).toBe('no acknowledgements');
      // Without --by: the AWS principal the credentials belong to (a fake STS here), not $USER.
      const sts = await fakeSts('arn:aws:sts::123456789012:assumed-role/Responder/ana@example.com');
      try {
        const viaSts = await cli.detect(['ack', 'add', id], { env: { AWS_ENDPOINT_URL_STS: sts.url } });
        expect(viaSts.stdout).toContain('by arn:aws:sts::123456789012:assumed-role/Responder/ana@example.com');
        expect(sts.calls()).toBe(1);
      } finally {
        await sts.close();
      }
      const bad = await detect('add', 'det-oops');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("'det-oops' is not an alert id");
    });
  });
});

const warning = rule({
  id: 'test.warning',
  title: 'warnings on {host.name}',
  severity: 'medium',
  match: { 'log.level': 'warn' },
  threshold: { count: 3, window: '10m', groupBy: ['host.name'] },
});
const note = rule({
  id: 'test.note',
  title: 'note for {user.name}',
  severity: 'low',
  match: { 'event.action': 'note' },
  entity: 'user.name',
});
/** A failing service (respond), a warning host (notify) and a noted user (review), `at` on. */
const threeConditions = (at: number) => [
  ...tenMinutes(at),
  ...[0, 1, 2].map((i) => ev({ 'log.level': 'warn', 'host.name': 'web-1' }, at + i * MIN)),
  ev({ 'event.action': 'note', 'user.name': 'bob' }, at),
];

describe('detect open: what is open now', () => {
  it('lists open alerts most urgent first, with their ids and who has them; review-tier ones on request', async () => {
    const store = new MemoryStateStore();
    const d = new Detector({ rules: [fault, warning, note] }, store, { outbreakAfter: 0 });
    const opened = (await d.evaluate('b1', threeConditions(T0))).messages.filter((m) => m.alert.status === 'open');
    const billing = opened.find((m) => m.alert.ruleId === 'test.fault')?.alert.id ?? '';
    await acknowledge(store, { alertId: billing, by: 'ana', reason: 'INC-42', until: null }, T0 + 20 * MIN);
    // Later activity of the warning host: listed first among equals of its tier by latest activity.
    await d.evaluate('b2', [ev({ 'log.level': 'warn', 'host.name': 'web-1' }, T0 + 12 * MIN)]);
    const now = T0 + 30 * MIN;
    const { alerts, truncated } = await listOpenAlerts(store, now);
    expect(truncated).toBe(false);
    expect(alerts.map((a) => [a.tier, a.ruleId, `${a.entity.field}=${a.entity.value}`, a.acknowledged?.by ?? null])).toEqual([
      ['respond', 'test.fault', 'service.name=billing', 'ana'],
      ['notify', 'test.warning', 'host.name=web-1', null],
    ]);
    expect(alerts[0]?.alertId).toBe(billing);
    expect(formatOpenAlerts(alerts, false)).toMatch(
      new RegExp(
        `^${billing}  respond  test\\.fault  service\\.name=billing\\n    errors on billing — opened .*; acknowledged by ana \\(INC-42\\)`,
      ),
    );
    expect((await listOpenAlerts(store, now, { review: true })).alerts.map((a) => a.ruleId)).toEqual([
      'test.fault',
      'test.warning',
      'test.note',
    ]);
    expect(formatOpenAlerts([], false)).toBe('no open alerts');
    // detect ack add checks ids against the open alerts without reading who has them or which are quiet.
    const listing = store.calls.reads;
    await listOpenAlerts(store, now, { review: true });
    const withAcks = store.calls.reads - listing;
    await expect(acknowledgeOpen(store, [billing, 'det-000000000000000000000000'], { by: 'ana', until: null }, now)).rejects.toThrow(
      'no open alert has the id det-000000000000000000000000',
    );
    expect(store.calls.reads - listing - withAcks).toBe(withAcks - 2);
    // A condition of another shape (another version of the stack wrote it) is counted, not fatal.
    await store.writeDoc({
      pk: 'c#test.other#k',
      sk: 'cond',
      body: '{"kind":"other"}',
      ifVersion: null,
      now,
      expiresAt: now + HOUR,
      dueAt: now + MIN,
    });
    const withOdd = await listOpenAlerts(store, now);
    expect([withOdd.alerts.length, withOdd.unreadable]).toEqual([2, 1]);
    expect(formatOpenAlerts(withOdd.alerts, false, withOdd.unreadable)).toContain('1 condition document(s) of another shape were left out');
  });
});

describe('detect open and ack add at the edges of an alert', () => {
  it('marks a condition quiet past its resolve time, which the next sweep resolves', async () => {
    const store = new MemoryStateStore();
    const d = new Detector({ rules: [fault, warning] }, store, { outbreakAfter: 0 });
    await d.evaluate('b1', threeConditions(T0));
    // The warning host stops at T0 + 2 min; the failing service goes on until T0 + 9 min.
    const lastWarning = T0 + 2 * MIN;
    const atResolve = async (at: number) => (await listOpenAlerts(store, at)).alerts.map((a) => [a.ruleId, a.quiet ?? false]);
    expect(await atResolve(T0 + 10 * MIN)).toEqual([
      ['test.fault', false],
      ['test.warning', false],
    ]);
    // Past the warning's resolve time (its due time) but not the fault's: only the warning is quiet.
    const due = (await store.listDue(Number.MAX_SAFE_INTEGER, 10)).length;
    expect(due).toBe(2);
    let quietAt = lastWarning;
    while ((await store.listDue(quietAt, 10)).length === 0) quietAt += MIN;
    expect(await atResolve(quietAt)).toEqual([
      ['test.fault', false],
      ['test.warning', true],
    ]);
    const { alerts } = await listOpenAlerts(store, quietAt);
    expect(formatOpenAlerts(alerts, false)).toMatch(/warnings on web-1 — .*; quiet: resolves at the next sweep unless it fires again/);
  });

  it('acknowledges every id or none: an id no open alert has is refused before anything is written', async () => {
    const store = new MemoryStateStore();
    const d = new Detector({ rules: [fault] }, store, { outbreakAfter: 0 });
    const id = (await d.evaluate('b1', tenMinutes(T0))).messages.find((m) => m.alert.status === 'open')?.alert.id ?? '';
    const now = T0 + 11 * MIN;
    const typo = `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`;
    await expect(acknowledgeOpen(store, [id, typo], { by: 'ana', until: null }, now)).rejects.toThrow(
      `no open alert has the id ${typo} (a typo, or it resolved): nothing acknowledged`,
    );
    await expect(acknowledgeOpen(store, [id, 'det-1'], { by: 'ana', until: null }, now)).rejects.toThrow("'det-1' is not an alert id");
    expect(await listAcknowledgements(store, now)).toEqual([]);
    const acks = await acknowledgeOpen(store, [id], { by: 'ana', until: null }, now);
    expect(acks.map((a) => [a.alertId, a.by])).toEqual([[id, 'ana']]);
    expect((await listAcknowledgements(store, now)).map((a) => a.alertId)).toEqual([id]);
  });
});

describe('the team is told who has which alert', () => {
  const ctx = { region: 'eu-west-1' };
  const collect = () => {
    const sent: Message[] = [];
    return { sent, send: async (m: Message[]) => void sent.push(...m) };
  };

  it('once per acknowledgement, on the notify tier, naming the alert; a takeover is told, an extension is not', async () => {
    const store = new MemoryStateStore();
    const d = new Detector({ rules: [fault, warning, note] }, store, { outbreakAfter: 0 });
    const opened = (await d.evaluate('b1', threeConditions(T0))).messages.filter((m) => m.alert.status === 'open');
    const idOf = (ruleId: string) => opened.find((m) => m.alert.ruleId === ruleId)?.alert.id ?? '';
    const [billing, web, bob] = [idOf('test.fault'), idOf('test.warning'), idOf('test.note')];
    const now = T0 + 11 * MIN;
    await acknowledgeOpen(store, [billing, bob], { by: 'ana', reason: 'INC-42 password=hunter2', until: null }, now);
    const first = collect();
    const failing = async () => {
      throw new Error('state machine throttled');
    };
    // A delivery that fails is told again next time; the review-tier one (a digest entry, never paged) is not told.
    await expect(announceAcknowledgements(store, failing, ctx, now + MIN)).rejects.toThrow('throttled');
    expect(await announceAcknowledgements(store, first.send, ctx, now + 2 * MIN)).toBe(1);
    expect(first.sent.map((m) => [m.publish, m.correlate, m.digest, m.alert.tier, m.alert.ruleId, m.alert.entity.value])).toEqual([
      [true, false, false, 'notify', 'sentinel.acknowledgement', 'ana'],
    ]);
    const notice = first.sent[0]?.alert;
    expect(notice?.title).toBe(`ana has ${billing}: errors on billing`);
    expect(notice?.description).toContain('(rule test.fault, respond tier, service.name=billing)');
    expect(notice?.description).not.toContain('hunter2');
    expect(notice && emailBody(notice)).toContain(`npx detect ack end --table <StateTableName> ${billing}`);
    // Told once; the detector still reads the marked acknowledgement.
    expect(await announceAcknowledgements(store, first.send, ctx, now + 3 * MIN)).toBe(0);
    expect((await readAcknowledgements(store, [billing], now + 3 * MIN)).get(billing)?.announcedAt).toBe(now + 2 * MIN);
    // Ana extends her own: not told again. Bo takes the web one and then billing over: both told.
    await acknowledgeOpen(store, [billing], { by: 'ana', until: now + 8 * HOUR }, now + 4 * MIN);
    await acknowledgeOpen(store, [web], { by: 'bo', until: null }, now + 4 * MIN);
    const second = collect();
    // A sweeper that knows its table names it in the commands (as the deployed one does).
    const tableCtx = { ...ctx, stateTable: { name: 'Sentinel-StateTable1A2B', region: 'eu-west-1' } };
    expect(await announceAcknowledgements(store, second.send, tableCtx, now + 5 * MIN)).toBe(1);
    expect(second.sent[0]?.alert.recommendedActions.join('\n')).toContain(
      `npx detect ack end --table Sentinel-StateTable1A2B --region eu-west-1 ${web} (its reminders are told again)`,
    );
    await acknowledgeOpen(store, [billing], { by: 'bo', until: null }, now + 6 * MIN);
    expect(await announceAcknowledgements(store, second.send, ctx, now + 7 * MIN)).toBe(1);
    expect(second.sent.map((m) => m.alert.title)).toEqual([`bo has ${web}: warnings on web-1`, `bo has ${billing}: errors on billing`]);
  });

  it('one message per responder per sweep: acknowledging many alerts at once is one notice listing them', async () => {
    const store = new MemoryStateStore();
    const d = new Detector({ rules: [fault, warning] }, store, { outbreakAfter: 0 });
    const opened = (await d.evaluate('b1', threeConditions(T0))).messages.filter((m) => m.alert.status === 'open');
    const idOf = (ruleId: string) => opened.find((m) => m.alert.ruleId === ruleId)?.alert.id ?? '';
    const [billing, web] = [idOf('test.fault'), idOf('test.warning')];
    const ids = [billing, web];
    const now = T0 + 11 * MIN;
    await acknowledgeOpen(store, ids, { by: 'ana', reason: 'INC-7', until: null }, now);
    // Written straight to the table a second later: listed after the two (in time order, then by id).
    const written = { alertId: ALERT, by: 'ana', reason: 'bridge', at: now + 1000, until: null };
    await store.writeDoc({ pk: ACKS_PK, sk: ALERT, body: JSON.stringify(written), ifVersion: null, now, expiresAt: now + 90 * 24 * HOUR });
    await acknowledge(store, { alertId: `det-${'c'.repeat(24)}`, by: 'bo', until: null }, now);
    const { sent, send } = collect();
    expect(await announceAcknowledgements(store, send, ctx, now + MIN)).toBe(2);
    const [ana, bo] = sent.map((m) => m.alert);
    // Each listed with its own reason, since they differ.
    const lines = [
      `- ${billing}: errors on billing (rule test.fault, respond tier, service.name=billing), while it lasts: INC-7`,
      `- ${web}: warnings on web-1 (rule test.warning, notify tier, host.name=web-1), while it lasts: INC-7`,
    ].sort();
    expect(ana?.description.split('\n').slice(1)).toEqual([
      ...lines,
      `- ${ALERT}: an alert the open alerts did not list, while it lasts: bridge`,
    ]);
    expect(ana?.title).toBe(`ana has 3 alerts: ${billing < web ? 'errors on billing' : 'warnings on web-1'} and 2 more`);
    expect(bo?.title).toMatch(/^bo has det-c{24}: det-c{24}$/);
  });

  it('one per responder and account: a team routed its own account is told who has its alerts', async () => {
    const store = new MemoryStateStore();
    const d = new Detector({ rules: [fault] }, store, { outbreakAfter: 0, account: '999999999999' });
    const inAccount = (account: string) => tenMinutes(T0).map((e) => ({ ...e, 'cloud.account.id': account, 'cloudwatch.owner': account }));
    const opened = (await d.evaluate('b1', [...inAccount('111111111111'), ...inAccount('222222222222')])).messages.filter(
      (m) => m.alert.status === 'open',
    );
    const listed = (await listOpenAlerts(store, T0 + 11 * MIN)).alerts;
    expect(listed.map((a) => a.account).sort()).toEqual(['111111111111', '222222222222']);
    await acknowledgeOpen(
      store,
      opened.map((m) => m.alert.id),
      { by: 'ana', until: null },
      T0 + 11 * MIN,
    );
    const { sent, send } = collect();
    expect(await announceAcknowledgements(store, send, ctx, T0 + 12 * MIN)).toBe(2);
    expect(sent.map((m) => accountAttribute(m.alert)).sort()).toEqual(['111111111111', '222222222222']);
    expect(sent.map((m) => m.alert.title)).toEqual(opened.map((m) => `ana has ${m.alert.id}: errors on billing`));
  });

  it('one written straight to the table is told by its id; one ended before the sweep is not told', async () => {
    const store = new MemoryStateStore();
    const written = { alertId: ALERT, by: 'nobody-we-know', at: T0, until: null };
    await store.writeDoc({
      pk: ACKS_PK,
      sk: ALERT,
      body: JSON.stringify(written),
      ifVersion: null,
      now: T0,
      expiresAt: T0 + 90 * 24 * HOUR,
    });
    const brief = `det-${'b'.repeat(24)}`;
    await acknowledge(store, { alertId: brief, by: 'ana', until: T0 + 2 * MIN }, T0);
    const { sent, send } = { sent: [] as Message[], send: async (m: Message[]) => void sent.push(...m) };
    expect(await announceAcknowledgements(store, send, ctx, T0 + 5 * MIN)).toBe(1);
    expect(sent[0]?.alert.title).toBe(`nobody-we-know has ${ALERT}: ${ALERT}`);
    expect(sent[0]?.alert.description).toContain('an alert the open alerts did not list');
    expect(await announceAcknowledgements(store, send, ctx, T0 + 10 * MIN)).toBe(0);
  });
});

/** A local STS answering GetCallerIdentity (the Query protocol's XML) with `arn`. */
async function fakeSts(arn: string): Promise<{ url: string; calls: () => number; close: () => Promise<void> }> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    calls++;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>AROAEXAMPLE:ana</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the fake STS has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    calls: () => calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('acknowledged incidents', () => {
  const incidentRule = takeoverCorrelation();
  const member = takeoverMember;
  /** Both members every 20 minutes for `hours`; the statuses published, with the incident's id. */
  async function sustained(store: StateStore, hours: number, onOpen: (id: string) => Promise<void>) {
    const told: string[] = [];
    for (let at = T0; at < T0 + hours * HOUR; at += 20 * MIN) {
      for (const ruleId of ['t.failures', 't.privileged']) {
        const { messages } = await runCorrelateTask(member(ruleId, at), { store, rules: [incidentRule], ctx: { region: 'eu-west-1' } });
        for (const m of messages.filter((e) => e.publish)) {
          told.push(`${m.publishFields.status}@${(at - T0) / HOUR}h`);
          if (m.publishFields.status === 'open') await onOpen(m.key.split('#')[0] ?? '');
        }
      }
    }
    return told;
  }

  it('an incident still fed by its members reminds every 4 hours until someone acknowledges it', async () => {
    expect(await sustained(new MemoryStateStore(), 9, async () => {})).toEqual(['open@0h', 'reminder@4h', 'reminder@8h']);
    const store = new MemoryStateStore();
    let acked = '';
    const told = await sustained(store, 9, async (id) => {
      acked = id;
      await acknowledge(store, { alertId: id, by: 'ana', until: null }, T0);
    });
    expect(acked).toMatch(/^inc-[0-9a-f]{24}$/);
    expect(told).toEqual(['open@0h']);
  });
});
