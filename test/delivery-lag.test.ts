import { gzipSync } from 'node:zlib';
import { StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { emailBody } from '../src/alerts/notification';
import { decodeLambdaEvent, type SubscriptionPayload } from '../src/decode/cloudwatch';
import { decodeKinesisRecord, kinesisEventOf } from '../src/decode/kinesis';
import { Random } from '../src/demo/random';
import { BACKLOG_LOOKBACK, DeliveryLagRecorder, readBacklog } from '../src/engine/delivery-lag';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import type { StateStore } from '../src/engine/state-store';
import { type SweepDeps, sweep } from '../src/engine/sweeper';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import { Normalizer } from '../src/parse/normalize';
import type { Message } from '../src/schema/alert';
import type { NormalizedEvent } from '../src/schema/event';
import { lambdaEvent, loadDetectorHandler } from './handler-harness';
import { ev, heartbeatRule, rule, T0, TRAIL_STREAM } from './helpers';

const MIN = 60_000;
const HOUR = 60 * MIN;
const SWEEP = 5 * MIN;

const heartbeat = heartbeatRule();

/** One delivery: a host's heartbeat, made (CloudWatch's time) at `madeAt` and received by the detector at `receivedAt`. */
interface Delivery {
  host: string;
  group: string;
  madeAt: number;
  receivedAt: number;
}

const beat = (d: Delivery): NormalizedEvent =>
  ev(
    { 'event.action': 'heartbeat', 'host.name': d.host, 'cloudwatch.log_group': d.group, message: `heartbeat ok from ${d.host}` },
    d.madeAt,
  );

/**
 * A deployment on the wall clock: the detector receives each delivery when it is due (its clock
 * the wall's), the sweeper runs every five minutes in between and on to `until`. Returns the
 * absences told (opened), by host.
 */
async function deploy(
  deliveries: readonly Delivery[],
  until: number,
  store: StateStore = new MemoryStateStore(),
  sweepOptions: Pick<SweepDeps, 'maxDeliveryLag'> = {},
) {
  const wall = { now: 0 };
  const detector = new Detector({ rules: [heartbeat] }, store, { deliveryClock: () => wall.now });
  const deps: SweepDeps = {
    store,
    pack: { rules: [heartbeat], correlations: [] },
    ctx: { region: 'us-east-1' },
    send: async () => {},
    deliveriesNoted: true,
    ...sweepOptions,
  };
  const messages: Message[] = [];
  let nextSweep = T0 + SWEEP;
  const sweepTo = async (to: number) => {
    for (; nextSweep <= to; nextSweep += SWEEP) {
      wall.now = nextSweep;
      messages.push(...(await sweep(deps, nextSweep)).messages);
    }
  };
  const inOrder = [...deliveries].sort((a, b) => a.receivedAt - b.receivedAt || a.madeAt - b.madeAt || a.host.localeCompare(b.host));
  for (const d of inOrder) {
    await sweepTo(d.receivedAt);
    wall.now = d.receivedAt;
    const result = await detector.evaluate(`${d.host}@${d.madeAt}`, [beat(d)], { logGroup: d.group, newestEventAt: d.madeAt });
    messages.push(...result.messages);
  }
  await sweepTo(until);
  const opened = messages.filter((m) => m.publish && m.alert.kind === 'detection' && m.alert.status === 'open');
  return opened.map((m) => ({
    host: m.alert.entity?.value,
    at: Date.parse(m.alert.window.end) - 1000,
    deliveries: m.alert.absence?.deliveriesLast15m,
    email: emailBody(m.alert),
  }));
}

/** Heartbeats of `hosts` every 10 minutes over [from, to), each received `delay` after it was made. */
function beats(hosts: readonly string[], from: number, to: number, delay: (host: string, madeAt: number) => number, group = '/hosts') {
  const out: Delivery[] = [];
  for (let t = from; t < to; t += 10 * MIN) for (const host of hosts) out.push({ host, group, madeAt: t, receivedAt: t + delay(host, t) });
  return out;
}

const HOSTS = ['web-1', 'web-2', 'web-3', 'web-4', 'web-5', 'web-6', 'web-7'];

describe('absence under a throttled detector: deliveries out of order', () => {
  /**
   * From 1:00 to 4:00 the detector is throttled: Lambda retries each throttled invocation with
   * backoff while others run, so each delivery arrives up to 100 minutes late, in no order.
   * web-3's deliveries from 0:50 to 2:20 all wait until 2:40 (one host's invocations unlucky
   * three retries running); web-7 stops for good after 1:20.
   */
  function throttled(seed: number): Delivery[] {
    const random = new Random(seed);
    const throttle = (madeAt: number) => madeAt >= T0 + HOUR && madeAt < T0 + 4 * HOUR;
    return [
      ...beats(HOSTS.slice(0, 6), T0, T0 + 8 * HOUR, (host, madeAt) => {
        if (host === 'web-3' && madeAt >= T0 + 50 * MIN && madeAt <= T0 + 140 * MIN) return T0 + 160 * MIN - madeAt;
        return throttle(madeAt) ? random.int(0, 100) * MIN : random.int(5, 60) * 1000;
      }),
      ...beats(['web-7'], T0, T0 + 90 * MIN, (_, madeAt) => (throttle(madeAt) ? random.int(0, 100) * MIN : 30_000)),
    ];
  }

  it('tells no host absent whose heartbeats were only waiting in the queue, and still tells the one that stopped', async () => {
    for (const seed of [1, 2, 3]) {
      const told = await deploy(throttled(seed), T0 + 8.5 * HOUR);
      // Only web-7, once: its silence is real.
      expect(told.map((t) => t.host)).toEqual(['web-7']);
      const web7 = told[0]?.at ?? 0;
      const lastBeat = T0 + 80 * MIN;
      // Never before an hour of silence; told within `after` + the refresh + the backlog (at most
      // 100 minutes, rounded up to its lag class) + a sweep.
      expect(web7 - lastBeat).toBeGreaterThanOrEqual(HOUR);
      expect(web7 - lastBeat).toBeLessThanOrEqual(HOUR + 15 * MIN + 120 * MIN + SWEEP);
    }
  });

  it('says with each absence whether the rest of the pipeline still delivers, or nothing reaches the detector at all', async () => {
    // web-2 stops after 1:50 while six hosts go on; later every host stops at once (the subscription removed, the detector down).
    const deliveries = [
      ...beats(['web-1', 'web-3', 'web-4', 'web-5', 'web-6', 'web-7'], T0, T0 + 5 * HOUR, () => 20_000),
      ...beats(['web-2'], T0, T0 + 2 * HOUR, () => 20_000),
    ];
    const told = await deploy(deliveries, T0 + 7 * HOUR);
    const web2 = told.find((t) => t.host === 'web-2');
    // Six hosts every 10 minutes: about nine deliveries in the quarter hour before the check.
    expect(web2?.deliveries).toBeGreaterThanOrEqual(6);
    expect(web2?.email).toMatch(/^Meanwhile: the detector received \d+ deliveries \(of any log group\) in the last 15 minutes$/m);
    // (Told one by one up to the rule's outbreak, the rest held for the digest.)
    const fleet = told.filter((t) => t.host !== 'web-2');
    expect(fleet.length).toBeGreaterThanOrEqual(3);
    for (const t of fleet) {
      expect(t.deliveries).toBe(0);
      expect(t.email).toContain(
        'Meanwhile: no log group delivered anything to the detector in the last 15 minutes — the pipeline itself may be down',
      );
    }
  });

  it('tells absence on time when deliveries run late in order (a backlog worked through first in, first out)', async () => {
    // Every delivery five hours late, in order; web-2 stops after 1:50.
    const deliveries = [...beats(['web-1'], T0, T0 + 9 * HOUR, () => 5 * HOUR), ...beats(['web-2'], T0, T0 + 2 * HOUR, () => 5 * HOUR)];
    const told = await deploy(deliveries, T0 + 14 * HOUR);
    expect(told.map((t) => t.host)).toEqual(['web-2']);
    // An hour and the refresh after its last delivery, as with no backlog: the lag is the same for everyone.
    const lastDelivered = T0 + 110 * MIN + 5 * HOUR;
    expect((told[0]?.at ?? 0) - lastDelivered).toBeGreaterThanOrEqual(HOUR);
    expect((told[0]?.at ?? 0) - lastDelivered).toBeLessThanOrEqual(HOUR + 15 * MIN + SWEEP);
  });

  it('does not hold every group for one catching up on old logs', async () => {
    // An agent uploading yesterday's file in /archive (one delivery in fifteen), while
    // web-2 in /hosts stops after 1:50: told as promptly as with nothing behind.
    const deliveries = [
      ...beats(['web-1', 'web-2', 'web-4', 'web-5', 'web-6'], T0, T0 + 2 * HOUR, () => 20_000),
      ...beats(['web-1', 'web-4', 'web-5', 'web-6'], T0 + 2 * HOUR, T0 + 6 * HOUR, () => 20_000),
      ...beats(['old-1'], T0 - 24 * HOUR, T0 - 18 * HOUR, () => 24 * HOUR, '/archive').filter((_, i) => i % 3 === 0),
    ];
    const told = await deploy(deliveries, T0 + 6 * HOUR);
    expect(told.map((t) => t.host)).toEqual(['web-2']);
    const last = T0 + 110 * MIN + 20_000;
    expect((told[0]?.at ?? 0) - last).toBeLessThanOrEqual(HOUR + 15 * MIN + SWEEP);
  });

  it('holds no other group longer than a throttled invocation can wait, whatever times a log writer gives its events', async () => {
    // Half of all deliveries carry three-day-old CloudWatch times (a writer giving PutLogEvents
    // old times, up to 14 days back is accepted); web-2 stops after 1:50.
    const deliveries = [
      ...beats(['web-1', 'web-2', 'web-3'], T0, T0 + 2 * HOUR, () => 20_000),
      ...beats(['web-1', 'web-3'], T0 + 2 * HOUR, T0 + 12 * HOUR, () => 20_000),
      ...beats(['old-1', 'old-2', 'old-3'], T0 - 3 * 24 * HOUR, T0 - 2 * 24 * HOUR - 12 * HOUR, () => 3 * 24 * HOUR, '/forged'),
    ];
    const told = await deploy(deliveries, T0 + 12 * HOUR);
    const web2 = told.find((t) => t.host === 'web-2');
    // Held by the backlog those deliveries claim, but at most the 6 hours a throttled invocation can wait.
    const last = T0 + 110 * MIN + 20_000;
    expect(web2).toBeDefined();
    expect((web2?.at ?? 0) - last).toBeLessThanOrEqual(HOUR + 15 * MIN + 6 * HOUR + SWEEP);
    // A hub whose event source mapping keeps records a day can be a day behind: held on past the run.
    const dayLong = await deploy(deliveries, T0 + 12 * HOUR, new MemoryStateStore(), { maxDeliveryLag: 24 * HOUR });
    expect(dayLong.find((t) => t.host === 'web-2')).toBeUndefined();
  });

  it('decides the same on DynamoDB (dynalite) as in memory', async () => {
    const deliveries = throttled(4);
    const memory = await deploy(deliveries, T0 + 8.5 * HOUR);
    expect(memory.map((t) => t.host)).toEqual(['web-7']);
    // Event ids, and so alert ids in the text, differ between runs: what was told, when, and with what count.
    const told = (runs: Awaited<ReturnType<typeof deploy>>) => runs.map(({ host, at, deliveries }) => ({ host, at, deliveries }));
    expect(told(await deploy(deliveries, T0 + 8.5 * HOUR, new DynamoStateStore(local.client, local.tableName)))).toEqual(told(memory));
  });
});

describe('delivery lag: what the detector records and the sweeper reads', () => {
  it('reads the lag most deliveries stay under, and a log group its own largest, each at most the 6 hours a throttled invocation can wait', async () => {
    const store = new MemoryStateStore();
    const recorder = new DeliveryLagRecorder(store, 'c1');
    const now = T0 + 10 * HOUR;
    // 95 deliveries of /app 20 s late, 5 of /archive a day late.
    for (let i = 0; i < 95; i++) recorder.note('/app', now - 20_000, now);
    for (let i = 0; i < 5; i++) recorder.note('/archive', now - 24 * HOUR, now);
    await recorder.flush(now);
    const backlog = await readBacklog(store, now);
    expect(backlog.lagOf('/app')).toBe(0);
    // Its own day, but no longer than a throttled invocation can wait (see below).
    expect(backlog.lagOf('/archive')).toBe(6 * HOUR);
    // Most deliveries 40 minutes late: every group is held by the class bound above it (an hour).
    for (let i = 0; i < 100; i++) recorder.note(`/g${i % 7}`, now + MIN - 40 * MIN, now + MIN);
    await recorder.flush(now + MIN);
    const behind = await readBacklog(store, now + MIN);
    expect(behind.lagOf('/app')).toBe(HOUR);
    expect(behind.lagOf('/archive')).toBe(6 * HOUR);
    // Most deliveries claiming a day's lag: no throttled invocation waits that long (Lambda keeps
    // one 6 hours), so no group is held longer than that.
    for (let i = 0; i < 400; i++) recorder.note('/archive', now + 2 * MIN - 24 * HOUR, now + 2 * MIN);
    await recorder.flush(now + 2 * MIN);
    const flooded = await readBacklog(store, now + 2 * MIN);
    expect(flooded.lagOf('/app')).toBe(6 * HOUR);
    expect(flooded.lagOf('/archive')).toBe(6 * HOUR);
    // A hub whose event source mapping keeps records a day (maxRecordAge) can run a day behind.
    expect((await readBacklog(store, now + 2 * MIN, 24 * HOUR)).lagOf('/app')).toBe(24 * HOUR);
    // A quarter of an hour on, those summaries are past the lookback: nothing is behind any more.
    expect((await readBacklog(store, now + 2 * MIN + BACKLOG_LOOKBACK + 1)).lagOf('/archive')).toBe(0);
  });

  it('writes a summary at most once a minute per container, and none without absence rules or a delivery clock', async () => {
    const payloadAt = (t: number) => ({ logGroup: '/hosts', newestEventAt: t - 30_000 });
    const run = async (rules: (typeof heartbeat)[], withClock: boolean) => {
      const store = new MemoryStateStore();
      const wall = { now: T0 };
      const d = new Detector({ rules }, store, withClock ? { deliveryClock: () => wall.now } : {});
      // Ten minutes of a delivery every 6 seconds: 100 deliveries.
      for (let i = 0; i < 100; i++) {
        wall.now = T0 + i * 6000;
        await d.evaluate(`b${i}`, [ev({ 'event.action': 'other' }, wall.now)], payloadAt(wall.now));
      }
      return (await Promise.all([0, 1, 2, 3].map((k) => store.queryDocs(`lag#${T0 + k * 5 * MIN}`, T0 + 10 * MIN)))).flat().length;
    };
    expect(await run([heartbeat], true)).toBe(10);
    expect(await run([heartbeat], false)).toBe(0);
    expect(await run([rule({ id: 'test.other', match: { 'event.action': 'x' } })], true)).toBe(0);
  });

  it('measures a payload from its CloudWatch times, per account and group (a hub)', async () => {
    const store = new MemoryStateStore();
    const now = T0 + 3 * HOUR;
    const detector = new Detector({ rules: [heartbeat] }, store, { deliveryClock: () => now });
    const payload = {
      messageType: 'DATA_MESSAGE',
      owner: '111122223333',
      logGroup: '/hosts',
      logStream: 'web-1',
      subscriptionFilters: ['f'],
      // Two hours late by CloudWatch's times, whatever time the line itself names.
      logEvents: [
        { id: '1', timestamp: now - 3 * HOUR, message: '{"event":{"action":"heartbeat"},"host":{"name":"web-1"}}' },
        { id: '2', timestamp: now - 2 * HOUR, message: '2025-03-03T14:00:00Z heartbeat' },
      ],
    };
    const data = gzipSync(JSON.stringify(payload)).toString('base64');
    const decoded = decodeLambdaEvent({ awslogs: { data } });
    if (!decoded.ok) throw new Error(decoded.skip.detail);
    await processPayload(decoded.payload, new Normalizer(), detector);
    const backlog = await readBacklog(store, now);
    expect(backlog.lagOf('111122223333//hosts')).toBe(2 * HOUR);
    expect(backlog.lagOf('/hosts')).toBe(2 * HOUR); // one delivery, two hours behind: the pipeline's too
  });

  it("measures a hub record from its arrival in the stream (Kinesis's clock), not its events' times", async () => {
    const store = new MemoryStateStore();
    const now = T0 + 3 * 24 * HOUR;
    const detector = new Detector({ rules: [heartbeat] }, store, { deliveryClock: () => now });
    // Events three days old by their CloudWatch times, delivered to the stream 20 minutes ago.
    const payload: SubscriptionPayload = {
      messageType: 'DATA_MESSAGE',
      owner: '111122223333',
      logGroup: '/hosts',
      logStream: 'web-1',
      subscriptionFilters: ['f'],
      logEvents: [{ id: '1', timestamp: T0, message: 'heartbeat' }],
    };
    const [record] = kinesisEventOf([payload]).Records;
    const item = decodeKinesisRecord(
      record ? { ...record, kinesis: { ...record.kinesis, approximateArrivalTimestamp: (now - 20 * MIN) / 1000 } } : {},
    );
    if (!item.ok) throw new Error(item.skip.detail);
    expect(item.arrivedAt).toBe(now - 20 * MIN);
    await processPayload(item.payload, new Normalizer(), detector, { arrivedAt: item.arrivedAt });
    expect((await readBacklog(store, now)).lagOf('111122223333//hosts')).toBe(20 * MIN);
  });
});

let local: LocalDynamo;
beforeAll(async () => {
  local = await startLocalDynamo('lagging');
});
afterAll(async () => {
  await local.close();
});

describe('deployed: the detector and sweeper functions, on the wall clock', () => {
  /** One CloudTrail record, delivered to the detector function at `at` (CloudWatch's time `madeAt`). */
  const trailPayload = (id: string, madeAt: number, logGroup = 'org-audit/management-events'): SubscriptionPayload => ({
    messageType: 'DATA_MESSAGE',
    owner: '111122223333',
    logGroup,
    logStream: TRAIL_STREAM,
    subscriptionFilters: ['sentinel'],
    logEvents: [
      {
        id,
        timestamp: madeAt,
        message: JSON.stringify({
          eventVersion: '1.09',
          userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/Deploy/ci', accountId: '111122223333' },
          eventTime: new Date(madeAt).toISOString().replace('.000', ''),
          eventSource: 'sts.amazonaws.com',
          eventName: 'GetCallerIdentity',
          awsRegion: 'us-east-1',
          sourceIPAddress: '198.51.100.7',
          eventID: id,
          eventType: 'AwsApiCall',
          recipientAccountId: '111122223333',
        }),
      },
    ],
  });
  /** The absences the sweeper function handed to the state machine: their alert JSON. */
  const toldAbsences = (h: Awaited<ReturnType<typeof loadDetectorHandler>>) =>
    h.sfn
      .commandCalls(StartSyncExecutionCommand)
      .map((c) => JSON.parse(c.args[0].input.input ?? '{}'))
      .filter(
        (m) => m.publish === true && m.publishFields?.ruleId === 'aws.cloudtrail_delivery_stopped' && m.publishFields?.status === 'open',
      );

  it('holds a trail told absent while deliveries arrive hours late, and tells it — saying nothing else arrives — once nothing does', async () => {
    const h = await loadDetectorHandler();
    const { sweepNow } = await import('../functions/sweeper/handler');
    const start = Date.parse('2026-06-01T00:00:00Z');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(start);
      await h.detect(lambdaEvent(trailPayload('ct-1', start - 10_000)));
      // Six and a half hours on the trail's group has delivered nothing; another group's delivery
      // arrives three hours late (the detector throttled, its queue retried out of order).
      vi.setSystemTime(start + 6 * HOUR + 25 * MIN);
      await h.detect(lambdaEvent(trailPayload('ct-2', start + 3 * HOUR + 25 * MIN, 'org-audit/other-trail')));
      h.sfn.resetHistory();
      await sweepNow();
      expect(toldAbsences(h)).toEqual([]);
      // Nine and a half hours on, nothing has reached the detector for far longer than a quarter hour: told, and said.
      vi.setSystemTime(start + 9 * HOUR + 30 * MIN);
      await sweepNow();
      const told = toldAbsences(h);
      expect(told).toHaveLength(1);
      expect(told[0]?.publishFields?.message).toContain(
        'Meanwhile: no log group delivered anything to the detector in the last 15 minutes',
      );
    } finally {
      vi.useRealTimers();
      await h.db.close();
    }
  });
});
