import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { emailBody } from '../src/alerts/notification';
import { addException } from '../src/cli/exceptions';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import type { StateStore } from '../src/engine/state-store';
import { type SweepDeps, sweep } from '../src/engine/sweeper';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import type { Message } from '../src/schema/alert';
import { DetectionRule } from '../src/schema/rule';
import { ev, heartbeatRule, T0 } from './helpers';

const MIN = 60_000;
const HOUR = 60 * MIN;
const SWEEP = 5 * MIN;

const heartbeat = heartbeatRule();
const beat = (host: string, at: number) => ev({ 'event.action': 'heartbeat', 'host.name': host, message: `heartbeat ok from ${host}` }, at);
/** Heartbeats of each host every 10 minutes over [from, to). */
const beats = (hosts: readonly string[], from: number, to: number) =>
  Array.from({ length: Math.ceil((to - from) / (10 * MIN)) }, (_, i) => hosts.map((h) => beat(h, from + i * 10 * MIN))).flat();

/** A deployment in miniature: one detector, a sweep every 5 minutes of event time, what either told. */
function deployment(rules: DetectionRule[] = [heartbeat], store: StateStore = new MemoryStateStore(), deps: Partial<SweepDeps> = {}) {
  const detector = new Detector({ rules }, store);
  const messages: Message[] = [];
  let clock = Number.NEGATIVE_INFINITY;
  let batch = 0;
  const sweepDeps: SweepDeps = {
    store,
    pack: { rules, correlations: [] },
    ctx: { region: 'us-east-1' },
    send: async () => {},
    ...deps,
  };
  return {
    store,
    messages,
    detector,
    /** Events in batches of ten minutes, sweeping at every sweep time they pass. */
    async deliver(events: ReturnType<typeof ev>[]) {
      const sorted = [...events].sort((a, b) => Number(a['@timestamp']) - Number(b['@timestamp']));
      for (let i = 0; i < sorted.length; ) {
        const start = Number(sorted[i]?.['@timestamp']);
        const chunk = [];
        while (i < sorted.length && Number(sorted[i]?.['@timestamp']) < start + 10 * MIN) chunk.push(sorted[i++] as ReturnType<typeof ev>);
        await this.until(start);
        messages.push(...(await detector.evaluate(`b${batch++}`, chunk)).messages);
      }
    },
    /** Sweeps every 5 minutes up to `to`. */
    async until(to: number) {
      if (!Number.isFinite(clock)) clock = Math.floor(to / SWEEP) * SWEEP;
      for (; clock + SWEEP <= to; ) {
        clock += SWEEP;
        messages.push(...(await sweep(sweepDeps, clock)).messages);
      }
    },
  };
}

const told = (messages: readonly Message[]) => messages.filter((m) => m.publish && m.alert.kind === 'detection');

describe('absence rules: expected events that stop', () => {
  it('tells a host an hour late once, not before, and the others not at all', async () => {
    const d = deployment();
    await d.deliver(beats(['web-1', 'web-2'], T0, T0 + 2 * HOUR));
    await d.deliver(beats(['web-1'], T0 + 2 * HOUR, T0 + 6 * HOUR));
    const last = T0 + 2 * HOUR - 10 * MIN; // web-2's last heartbeat
    const opened = told(d.messages).filter((m) => m.alert.status === 'open');
    expect(opened.map((m) => m.alert.title)).toEqual(['No heartbeat from web-2']);
    const alert = opened[0]?.alert;
    // Never before an hour without one: told at the first sweep past the hour and the heartbeats' refresh (15 min).
    const toldAt = Date.parse(alert?.window.end ?? '') - 1000;
    expect(toldAt - last).toBeGreaterThanOrEqual(HOUR);
    expect(toldAt - last).toBeLessThanOrEqual(HOUR + 15 * MIN + SWEEP);
    expect(alert?.entity).toEqual({ field: 'host.name', value: 'web-2' });
    // The evidence is the last line recorded: at most a refresh (15 min) before the host's last.
    expect(alert?.events.map((e) => e.message)).toEqual(['heartbeat ok from web-2']);
    const recorded = Date.parse(alert?.lastSeen ?? '');
    expect(last - recorded).toBeGreaterThanOrEqual(0);
    expect(last - recorded).toBeLessThanOrEqual(15 * MIN);
    // The email says how long, and counts no events (each check of an absence is an occurrence).
    const email = emailBody(alert ?? ({} as never));
    expect(email).toMatch(/^Window: \S+ → \S+$/m);
    expect(email).toContain(`Last matching event: ${alert?.lastSeen}; none for 1h 15m (told after 1h without one)`);
    // Still away four hours on: the condition stays open without a message more (the reminder comes after 24 h).
    expect(told(d.messages)).toHaveLength(1);
    // …but forwarded to correlation silently as it lasts (once per `after`).
    expect(d.messages.filter((m) => !m.publish && !m.digest && m.correlate).length).toBeGreaterThanOrEqual(2);
  });

  it('tells the team when the events come back, and how long they were away', async () => {
    const d = deployment();
    await d.deliver(beats(['web-2'], T0, T0 + HOUR));
    await d.until(T0 + 4 * HOUR);
    await d.deliver(beats(['web-2'], T0 + 4 * HOUR, T0 + 5 * HOUR));
    await d.until(T0 + 5 * HOUR);
    const [open, resolved, ...rest] = told(d.messages);
    expect(rest).toEqual([]);
    expect(open?.alert.status).toBe('open');
    expect(resolved?.alert).toMatchObject({ status: 'resolved', id: open?.alert.id, title: 'Resolved: No heartbeat from web-2' });
    // Back at 4:00 after the last at 0:50 (recorded at 0:40): told at the first sweep after the detector recorded them.
    expect(resolved?.alert.description).toMatch(
      /^Events came back at 2025-03-03T14:00:00\.000Z, 3h 20m after the last recorded before them\./,
    );
    expect(Date.parse(resolved?.alert.window.end ?? '') - (T0 + 4 * HOUR)).toBeLessThanOrEqual(SWEEP);
    const email = emailBody(resolved?.alert ?? ({} as never));
    expect(email).toContain('Events came back');
    expect(email).toMatch(/^Window: \S+ → \S+$/m);
    expect(email).not.toContain('Last matching event');
    // The heartbeats stop again at 4:50: a second absence is a new alert.
    await d.until(T0 + 8 * HOUR);
    const again = told(d.messages).filter((m) => m.alert.status === 'open');
    expect(again).toHaveLength(2);
    expect(again[1]?.alert.id).not.toBe(open?.alert.id);
  });

  it('stops watching a host silent past forgetAfter, and says so', async () => {
    const d = deployment();
    await d.deliver(beats(['old-1'], T0, T0 + HOUR));
    await d.until(T0 + 3 * 24 * HOUR);
    // Two days of silence: the absence, one reminder (notify: every 24 h), the end of the watch, and nothing after.
    const [open, reminder, forgotten, ...rest] = told(d.messages);
    expect([open, reminder, forgotten].map((m) => m?.alert.status)).toEqual(['open', 'reminder', 'resolved']);
    expect(new Set([open, reminder, forgotten].map((m) => m?.alert.id)).size).toBe(1);
    expect(forgotten?.alert.description).toMatch(/^No event for 2d since 2025-03-03T10:40:00\.000Z: no longer watched/);
    expect(rest).toEqual([]);
    expect(await d.store.listDue(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it('judges an entity by its deliveries: a stream five hours late is not absent while it keeps arriving; one whose deliveries stop is', async () => {
    // A throttled detector works through a backlog (CloudWatch keeps its invocations up to six
    // hours): every batch arrives LAG after its events, and the sweeper runs on the wall clock.
    const LAG = 5 * HOUR;
    const run = async (options: { deliveryClock?: () => number }, wallOf: { now: number }) => {
      const store = new MemoryStateStore();
      const detector = new Detector({ rules: [heartbeat] }, store, options);
      const deps: SweepDeps = { store, pack: { rules: [heartbeat], correlations: [] }, ctx: { region: 'us-east-1' }, send: async () => {} };
      const messages: Message[] = [];
      let nextSweep = T0 + LAG;
      // web-1 beats for eight hours, web-2 for the first two; a batch per ten minutes of events.
      for (let t = T0; t < T0 + 8 * HOUR; t += 10 * MIN) {
        wallOf.now = t + LAG;
        for (; nextSweep <= wallOf.now; nextSweep += SWEEP) messages.push(...(await sweep(deps, nextSweep)).messages);
        const hosts = t < T0 + 2 * HOUR ? ['web-1', 'web-2'] : ['web-1'];
        messages.push(
          ...(
            await detector.evaluate(
              `b${t}`,
              hosts.map((h) => beat(h, t)),
            )
          ).messages,
        );
      }
      return told(messages).filter((m) => m.alert.status === 'open');
    };
    // Judged by the events' time alone, every host is five hours "late" from the first sweep on.
    const byEventTime = await run({}, { now: 0 });
    expect(byEventTime.map((m) => m.alert.title)).toContain('No heartbeat from web-1');
    const wall = { now: 0 };
    const opened = await run({ deliveryClock: () => wall.now }, wall);
    expect(opened.map((m) => m.alert.title)).toEqual(['No heartbeat from web-2']);
    // Told an hour (and the refresh) after web-2's last delivery, not its last event's time.
    const toldAt = Date.parse(opened[0]?.alert.window.end ?? '') - 1000;
    const lastDelivered = T0 + 2 * HOUR - 10 * MIN + LAG;
    expect(toldAt - lastDelivered).toBeGreaterThanOrEqual(HOUR);
    expect(toldAt - lastDelivered).toBeLessThanOrEqual(HOUR + 15 * MIN + SWEEP);
  });

  it('records a busy entity at most once per refresh, not per batch', async () => {
    const store = new MemoryStateStore();
    const d = new Detector({ rules: [heartbeat] }, store);
    // Two hours of a heartbeat every 10 s, in batches of a minute: 120 batches.
    for (let m = 0; m < 120; m++) {
      const batch = Array.from({ length: 6 }, (_, k) => beat('web-1', T0 + m * MIN + k * 10_000));
      await d.evaluate(`busy-${m}`, batch);
    }
    // Refresh: a quarter of an hour, so 8 writes over two hours (and a read before each).
    expect(store.calls.writes).toBe(8);
    expect(store.calls.reads).toBe(8);
  });

  it('tells no absence of an entity an exception covers, and does once it ends', async () => {
    const d = deployment();
    // A responder's exception for web-2 until 5:00 (detect exception add), as the sweep reads them.
    await addException(
      d.store,
      { rules: [heartbeat] },
      {
        rules: ['test.heartbeat_missing'],
        field: 'host.name',
        values: ['web-2'],
        from: T0,
        until: T0 + 5 * HOUR,
        reason: 'maintenance',
        createdBy: 'ops',
      },
      T0,
    );
    await d.deliver(beats(['web-2'], T0, T0 + HOUR));
    await d.until(T0 + 5 * HOUR - 1);
    expect(told(d.messages)).toEqual([]);
    // The first check once it ended (15:00; an excepted absence is looked at again every 15 minutes) tells it.
    await d.until(T0 + 5 * HOUR + 15 * MIN);
    expect(told(d.messages).map((m) => m.alert.status)).toEqual(['open']);
  });

  it('a detector recording the events between the sweep telling the absence and marking it: the next sweep tells they are back', async () => {
    const store = new MemoryStateStore();
    const racing = new Detector({ rules: [heartbeat] }, store);
    let raced = false;
    const d = deployment([heartbeat], store, {
      // The publisher is slow: a heartbeat arrives (another detector) while the open notice is in flight.
      send: async (messages) => {
        if (raced || !messages.some((m) => m.alert.status === 'open')) return;
        raced = true;
        await racing.evaluate('late', [beat('web-2', T0 + 2 * HOUR)]);
      },
    });
    await d.deliver(beats(['web-2'], T0, T0 + HOUR));
    await d.until(T0 + 2 * HOUR + 10 * MIN);
    expect(raced).toBe(true);
    expect(told(d.messages).map((m) => m.alert.status)).toEqual(['open', 'resolved']);
    expect(told(d.messages)[1]?.alert.description).toMatch(/^Events came back at 2025-03-03T12:00:00\.000Z/);
  });

  it('a delivery that fails is sent again by the next sweep, the same message', async () => {
    let failures = 1;
    const sent: Message[] = [];
    const d = deployment([heartbeat], new MemoryStateStore(), {
      send: async (messages) => {
        if (messages.some((m) => m.alert.status === 'open') && failures-- > 0) throw new Error('SNS unavailable');
        sent.push(...messages);
      },
    });
    await d.deliver(beats(['web-2'], T0, T0 + HOUR));
    await expect(d.until(T0 + 3 * HOUR)).rejects.toThrow('SNS unavailable');
    await d.until(T0 + 3 * HOUR);
    const opened = sent.filter((m) => m.alert.status === 'open' && m.publish);
    expect(opened).toHaveLength(1);
    // Its key is the alert's first message: the state machine's dedup would drop a copy.
    expect(opened[0]?.key).toMatch(/#0$/);
  });

  it('a fleet going quiet at once is one outbreak: three told, the notice, the rest held for the digest', async () => {
    const hosts = Array.from({ length: 10 }, (_, i) => `web-${i + 1}`);
    const d = deployment();
    await d.deliver(beats(hosts, T0, T0 + HOUR));
    await d.until(T0 + 3 * HOUR);
    // Each alert's first message (the later ones are silent updates to correlation).
    const opened = d.messages.filter((m) => m.alert.kind === 'detection' && m.key.endsWith('#0'));
    expect(opened).toHaveLength(10);
    expect(opened.filter((m) => m.publish)).toHaveLength(4);
    expect(opened.filter((m) => m.alert.outbreak?.notice).length).toBe(6);
    // The digest lists the held six, without a count of what each did: an absence's occurrences
    // are the sweeper's checks of it, nothing the host did.
    const listed = d.messages.flatMap((m) => m.alert.digest ?? []).flatMap((r) => r.entities);
    expect(new Set(listed.map((e) => e.value)).size).toBe(5); // the first five of the six
    expect(listed.filter((e) => e.occurrences !== undefined || e.lastSeen !== undefined)).toEqual([]);
  });

  it('decides the same on DynamoDB (dynalite) as in memory', async () => {
    const run = async (store: StateStore) => {
      const d = deployment([heartbeat], store);
      await d.deliver(beats(['web-1', 'web-2'], T0, T0 + HOUR));
      await d.deliver(beats(['web-1'], T0 + HOUR, T0 + 3 * HOUR));
      await d.deliver(beats(['web-2'], T0 + 3 * HOUR, T0 + 4 * HOUR));
      await d.until(T0 + 4 * HOUR + 30 * MIN);
      // The message's place in its alert (event ids, and so alert ids, differ between runs).
      return told(d.messages).map((m) => [m.key.replace(/^.*#/, '#'), m.alert.title, m.alert.status, m.alert.description.split('.')[0]]);
    };
    const memory = await run(new MemoryStateStore());
    // web-2 away and back; web-1 away from 3:00.
    expect(memory.map(([, , status]) => status)).toEqual(['open', 'resolved', 'open']);
    expect(await run(new DynamoStateStore(local.client, local.tableName))).toEqual(memory);
  });

  it('records no watch while reading history in (detect learn), and stops checking a rule that left the pack', async () => {
    const store = new MemoryStateStore();
    await new Detector({ rules: [heartbeat] }, store, { learnOnly: true }).evaluate('learn', beats(['web-1'], T0, T0 + HOUR));
    expect(await store.listDue(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    await new Detector({ rules: [heartbeat] }, store).evaluate('live', beats(['web-1'], T0, T0 + HOUR));
    expect(await store.listDue(Number.MAX_SAFE_INTEGER, 10)).toHaveLength(1);
    const result = await sweep(
      { store, pack: { rules: [], correlations: [] }, ctx: { region: 'us-east-1' }, send: async () => {} },
      T0 + 5 * HOUR,
    );
    expect(result.messages).toEqual([]);
    expect(await store.listDue(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });
});

describe('absence rules: validation', () => {
  const errors = (absence: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const parsed = DetectionRule.safeParse({
      id: 'test.absent',
      title: 't',
      description: 'd',
      severity: 'low',
      riskScore: 1,
      runbook: 'r',
      match: { 'event.action': 'x' },
      absence,
      ...extra,
    });
    return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('names the field and what is wrong', () => {
    expect(errors({ after: '1h' })).toEqual([]);
    expect(errors({ after: '5m' })).toEqual([
      'absence.after: after must be at least 10m (delivery takes minutes, and the sweeper runs every 5)',
    ]);
    expect(errors({ after: '2h', forgetAfter: '1h' })).toEqual(['absence.forgetAfter: forgetAfter must be longer than after']);
    expect(errors({ after: '1h', window: '5m' })[0]).toMatch(/^absence: Unrecognized key/);
    expect(errors({ after: '1h' }, { threshold: { count: 2, window: '5m', groupBy: ['host.name'] } })).toEqual([
      'absence: a rule takes one stateful clause, found threshold and absence',
    ]);
  });
});

let local: LocalDynamo;
beforeAll(async () => {
  local = await startLocalDynamo('absence');
});
afterAll(async () => {
  await local.close();
});
