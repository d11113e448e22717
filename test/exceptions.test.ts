import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { buildExceptionNotice } from '../src/alerts/exception-notice';
import { emailBody } from '../src/alerts/notification';
import { acknowledge } from '../src/cli/acknowledgements';
import { addException, ExceptionError, endException, formatExceptions, listExceptions } from '../src/cli/exceptions';
import { loadPack } from '../src/cli/load-pack';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { Detector } from '../src/engine/detector';
import { announceExceptions, EXCEPTIONS_PK, StoredExceptions } from '../src/engine/exceptions';
import { MemoryStateStore } from '../src/engine/memory-store';
import type { StateStore } from '../src/engine/state-store';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import type { Message } from '../src/schema/alert';
import type { NormalizedEvent } from '../src/schema/event';
import { lambdaEvent, loadDetectorHandler, SSH_ATTACK, sentEnvelopes } from './handler-harness';
import { ev, rule, T0 } from './helpers';
import { tableCli } from './table-cli';

const MIN = 60_000;
const HOUR = 60 * MIN;

const flood = rule({
  id: 'web.test_flood',
  title: 'Flood from {source.ip}',
  severity: 'high',
  match: { 'event.category': 'web' },
  threshold: { count: 3, window: '1m', groupBy: ['source.ip'] },
});
const spray = rule({
  id: 'auth.test_failures',
  title: 'Failures for {user.name}',
  severity: 'medium',
  match: { 'event.outcome': 'failure' },
  threshold: { count: 3, window: '5m', groupBy: ['user.name'] },
});
const pack = { rules: [flood, spray], correlations: [], sources: [] };
const requests = (ip: string, at: number) => [0, 1, 2].map((k) => ev({ 'event.category': 'web', 'source.ip': ip }, at + k * 1000));
const failures = (user: string, at: number) => [0, 1, 2].map((k) => ev({ 'event.outcome': 'failure', 'user.name': user }, at + k * 1000));

/** A clock the test moves: the exceptions' refresh runs on it. */
function testClock(start: number) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

async function opened(d: Detector, batches: NormalizedEvent[][]) {
  const out: string[] = [];
  let excepted = 0;
  for (const [i, b] of batches.entries()) {
    const r = await d.evaluate(`b${i}-${b[0]?.['cloudwatch.event_id']}`, b);
    excepted += r.exceptedEvents;
    out.push(...r.messages.filter((m) => m.alert.status === 'open').map((m) => `${m.alert.ruleId} ${m.alert.entity.value}`));
  }
  return { out, excepted };
}

const add = (store: StateStore, over: Partial<Parameters<typeof addException>[2]> = {}, now = T0) =>
  addException(
    store,
    pack,
    {
      rules: ['web.*'],
      field: 'source.ip',
      values: ['192.0.2.10'],
      from: T0,
      until: T0 + 4 * HOUR,
      reason: 'pen test SEC-123',
      createdBy: 'ana',
      ...over,
    },
    now,
  );

describe('exceptions: a responder leaves an entity out of some rules for a while', () => {
  it('the pen tester’s address is left out of the web rules for four hours; others are not, and after it ends it counts again', async () => {
    const store = new MemoryStateStore();
    const clock = testClock(T0);
    await add(store);
    const d = new Detector(pack, store, { exceptions: new StoredExceptions(store, MIN, clock.now), outbreakAfter: 0 });
    const { out, excepted } = await opened(d, [
      requests('192.0.2.10', T0 + MIN),
      requests('203.0.113.9', T0 + 2 * MIN),
      requests('192.0.2.10', T0 + 5 * HOUR),
    ]);
    expect(out).toEqual(['web.test_flood 203.0.113.9', 'web.test_flood 192.0.2.10']);
    expect(excepted).toBe(3);
  });

  it('names rules by id or prefix and compares values as equality does (case-insensitively)', async () => {
    const store = new MemoryStateStore();
    await add(store, { rules: ['auth.test_failures'], field: 'user.name', values: ['Admin'] });
    const d = new Detector(pack, store, { exceptions: new StoredExceptions(store, MIN, () => T0), outbreakAfter: 0 });
    const { out } = await opened(d, [failures('admin', T0 + MIN), failures('bob', T0 + MIN), requests('198.51.100.1', T0 + MIN)]);
    expect(out).toEqual(['auth.test_failures bob', 'web.test_flood 198.51.100.1']);
  });

  it('a value that is a CIDR range holds every address in it (the scanner’s subnet)', async () => {
    const store = new MemoryStateStore();
    await add(store, { values: ['198.51.100.0/24', '2001:db8::/32'] });
    const d = new Detector(pack, store, { exceptions: new StoredExceptions(store, MIN, () => T0), outbreakAfter: 0 });
    const { out, excepted } = await opened(d, [
      requests('198.51.100.77', T0 + MIN),
      requests('2001:db8::5', T0 + MIN),
      requests('198.51.101.1', T0 + MIN),
    ]);
    expect(out).toEqual(['web.test_flood 198.51.101.1']);
    expect(excepted).toBe(6);
  });

  it('a container reads the exceptions once a minute, so a new one applies within a minute and ending one too', async () => {
    const store = new MemoryStateStore();
    const clock = testClock(T0);
    const exceptions = new StoredExceptions(store, MIN, clock.now);
    const d = new Detector(pack, store, { exceptions, outbreakAfter: 0 });
    await d.evaluate('a', requests('198.51.100.7', T0));
    const spec = await add(store, { values: ['198.51.100.8'] });
    await d.evaluate('b', requests('198.51.100.9', T0 + HOUR));
    // Within the minute: no read of the exceptions, and the new one not yet known.
    expect((await d.evaluate('c', requests('198.51.100.8', T0 + HOUR))).exceptedEvents).toBe(0);
    clock.advance(MIN);
    expect((await d.evaluate('d', requests('198.51.100.8', T0 + 2 * HOUR))).exceptedEvents).toBe(3);
    await endException(store, spec.id, T0 + 2 * HOUR + MIN);
    clock.advance(MIN);
    expect((await d.evaluate('e', requests('198.51.100.8', T0 + 3 * HOUR))).exceptedEvents).toBe(0);
  });

  it('a batch decided before the exception was added, delivered again after, re-sends what it decided', async () => {
    const store = new MemoryStateStore();
    const clock = testClock(T0);
    const d = new Detector(pack, store, { exceptions: new StoredExceptions(store, MIN, clock.now), outbreakAfter: 0 });
    const batch = requests('192.0.2.10', T0 + MIN);
    const first = await d.evaluate('flood', batch);
    await add(store);
    clock.advance(MIN);
    // The first delivery's messages may not have reached the state machine: the retry must carry them.
    const again = await d.evaluate('flood', batch);
    expect(again.redelivered).toBe(true);
    expect(again.messages.map((m) => m.key)).toEqual(first.messages.map((m) => m.key));
    expect(again.exceptedEvents).toBe(3);
    // A batch never decided is left out as usual.
    const fresh = await d.evaluate('later', requests('192.0.2.10', T0 + 2 * MIN));
    expect([fresh.redelivered, fresh.messages.length, fresh.exceptedEvents]).toEqual([false, 0, 3]);
  });

  it('every exception is told to the team once (notify tier), whoever wrote it; a failed delivery is told again next time', async () => {
    const store = new MemoryStateStore();
    const spec = await add(store, { reason: 'pen test SEC-123' });
    // One written straight to the table, not through the command.
    await store.writeDoc({
      pk: EXCEPTIONS_PK,
      sk: 'ex-0000beef',
      body: JSON.stringify({ ...spec, id: 'ex-0000beef', createdBy: 'nobody-we-know', until: null }),
      ifVersion: null,
      now: T0,
      expiresAt: Date.UTC(2200, 0, 1),
    });
    const sent: Message[] = [];
    const failing = async () => {
      throw new Error('state machine throttled');
    };
    await expect(announceExceptions(store, failing, { region: 'eu-west-1' }, T0 + MIN)).rejects.toThrow('throttled');
    expect(await announceExceptions(store, async (m) => void sent.push(...m), { region: 'eu-west-1' }, T0 + 2 * MIN)).toBe(2);
    expect(sent.map((m) => [m.publish, m.correlate, m.alert.tier, m.alert.ruleId])).toEqual([
      [true, false, 'notify', 'sentinel.exception'],
      [true, false, 'notify', 'sentinel.exception'],
    ]);
    const told = (id: string) => sent.find((m) => m.alert.entity.value === id)?.alert;
    expect(told(spec.id)?.title).toBe(
      `Exception ${spec.id} by ana: web.* leave source.ip 192.0.2.10 out until ${new Date(T0 + 4 * HOUR).toISOString().replace('.000', '')}`,
    );
    expect(told('ex-0000beef')?.title).toMatch(/^Exception ex-0000beef by nobody-we-know: .* until it is ended$/);
    const beef = told('ex-0000beef');
    expect(beef && emailBody(beef)).toContain('npx detect exception end --table <StateTableName> ex-0000beef');
    // Told by the sweeper, which knows its table: the command as it runs.
    const table = { name: 'Sentinel-StateTable1A2B', region: 'eu-west-1' };
    expect(buildExceptionNotice(spec, { region: 'eu-west-1', stateTable: table }).recommendedActions).toContain(
      `If nobody asked for it: npx detect exception end --table Sentinel-StateTable1A2B --region eu-west-1 ${spec.id}, then find who wrote it (CloudTrail data events on the state table)`,
    );
    // Announced: not again.
    expect(await announceExceptions(store, async (m) => void sent.push(...m), { region: 'eu-west-1' }, T0 + 3 * MIN)).toBe(0);
    expect((await listExceptions(store, T0 + 3 * MIN)).every((x) => x.announcedAt === T0 + 2 * MIN)).toBe(true);
  });

  it('refuses a rule pattern that names nothing, and an end before the start', async () => {
    const store = new MemoryStateStore();
    await expect(add(store, { rules: ['web.flod*'] })).rejects.toThrow(ExceptionError);
    await expect(add(store, { rules: ['web.flod*'] })).rejects.toThrow("--rule 'web.flod*': no rule of the pack matches it");
    await expect(add(store, { until: T0 - 1 })).rejects.toThrow(/would end .* before it starts/);
    await expect(add(store, { values: ['192.0.2.0/33'] })).rejects.toThrow("--value '192.0.2.0/33': not a CIDR range");
    expect(await store.queryDocs(EXCEPTIONS_PK, T0)).toEqual([]);
  });

  it('list shows what is in force; ended ones stay listed with --all, with who and why', async () => {
    const store = new MemoryStateStore();
    const a = await add(store);
    const b = await add(store, { until: null, values: ['192.0.2.0'], reason: 'nightly scanner' }, T0 + 1);
    expect((await listExceptions(store, T0 + HOUR)).map((s) => s.id)).toEqual([a.id, b.id]);
    await endException(store, a.id, T0 + HOUR);
    expect((await listExceptions(store, T0 + HOUR + 1)).map((s) => s.id)).toEqual([b.id]);
    const all = await listExceptions(store, T0 + HOUR + 1, true);
    expect(formatExceptions(all, T0 + HOUR + 1)).toMatch(
      new RegExp(
        `${a.id}  ended .* web\\.\\*  source\\.ip = 192\\.0\\.2\\.10 .* by ana: pen test SEC-123\\n${b.id}  active .* until ended  by ana: nightly scanner`,
      ),
    );
    await expect(endException(store, 'ex-00000000', T0)).rejects.toThrow('no exception ex-00000000');
  });
});

describe('exceptions on DynamoDB and from the CLI', () => {
  let local: LocalDynamo;
  beforeAll(async () => {
    local = await startLocalDynamo('exceptions');
  });
  afterAll(async () => {
    await local.close();
  });

  it('detect exception add / list / end write the table the detector reads', async () => {
    const cli = await tableCli(local);
    const detect = (...args: string[]) => cli.detect(['exception', ...args]);
    const added = await detect(
      'add',
      '--rule',
      'ssh.*',
      '--field',
      'source.ip',
      '--value',
      '10.0.113.70',
      '--for',
      '4h',
      '--reason',
      'pen test',
      '--by',
      'ana',
    );
    const id = /ex-[0-9a-f]{8}/.exec(added.stdout)?.[0] ?? '';
    expect(added.stdout).toMatch(/active .* ssh\.\* {2}source\.ip = 10\.0\.113\.70 .* by ana: pen test/);
    expect((await detect('list')).stdout).toContain(id);
    // What replay and backtest --exceptions read.
    expect(JSON.parse((await detect('list', '--json')).stdout)).toMatchObject([
      { id, rules: ['ssh.*'], values: ['10.0.113.70'], createdBy: 'ana' },
    ]);
    // What the detector reads from the same table (the Lambda test below applies it to SSH lines).
    const store = new DynamoStateStore(local.client, local.tableName);
    expect((await new StoredExceptions(store).current()).map((x) => [x.rules, x.field, [...x.values]])).toEqual([
      [['ssh.*'], 'source.ip', ['10.0.113.70']],
    ]);
    expect((await detect('end', id)).stdout).toMatch(new RegExp(`${id}  ended`));
    expect((await detect('list')).stdout.trim()).toBe('no exceptions');
    const bad = await detect('add', '--rule', 'sshh.*', '--field', 'source.ip', '--value', 'x', '--for', '1h', '--reason', 'r');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--rule 'sshh.*': no rule of the pack matches it");
    const noTable = await cli.detect(['exception', 'list'], { table: 'sentinel-nope' });
    expect(noTable.code).toBe(2);
    expect(noTable.stderr).toContain("no table 'sentinel-nope' here: --table is the stack output StateTableName");
    const noSpan = await detect('add', '--rule', 'ssh.*', '--field', 'source.ip', '--value', 'x', '--reason', 'r');
    expect(noSpan.stderr).toContain('name how long: --for 4h, or --until');
  });
});

describe('the detector Lambda applies exceptions from its table', () => {
  let h: Awaited<ReturnType<typeof loadDetectorHandler>>;
  beforeAll(async () => {
    h = await loadDetectorHandler();
  });
  afterAll(async () => h.db.close());
  const context = { functionName: 'detector', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
  const payload = (logEvents: SubscriptionPayload['logEvents']): SubscriptionPayload => ({
    owner: '123456789012',
    logGroup: '/var/log/auth.log',
    logStream: 'bastion-1',
    subscriptionFilters: ['sentinel'],
    messageType: 'DATA_MESSAGE',
    logEvents,
  });

  it('an excepted scanner’s SSH failures publish nothing; another address’s still do', async () => {
    const store = new DynamoStateStore(h.db.client, h.db.tableName);
    const sshPack = loadPack(['rules'], { checkRegexes: false }).pack;
    await addException(
      store,
      sshPack,
      { rules: ['ssh.*'], field: 'source.ip', values: ['10.0.113.80'], from: 0, until: null, reason: 'internal scanner', createdBy: 'ops' },
      Date.now(),
    );
    h.sfn.resetHistory();
    await h.handler(lambdaEvent(payload(SSH_ATTACK('10.0.113.80', 12))), context);
    expect(sentEnvelopes(h.sfn).filter((e) => e.publish)).toHaveLength(0);
    h.sfn.resetHistory();
    await h.handler(lambdaEvent(payload(SSH_ATTACK('10.0.113.81', 12))), context);
    expect(sentEnvelopes(h.sfn).filter((e) => e.publish)).toHaveLength(1);
  });

  it('the sweeper Lambda tells the team of the exception, once', async () => {
    const { sweepNow } = await import('../functions/sweeper/handler');
    h.sfn.resetHistory();
    expect((await sweepNow()).exceptionsAnnounced).toBe(1);
    const sent = sentEnvelopes(h.sfn).filter((e) => e.publish);
    expect(sent).toHaveLength(1);
    h.sfn.resetHistory();
    expect((await sweepNow()).exceptionsAnnounced).toBe(0);
  });

  it('the sweeper Lambda tells the team of an acknowledgement, once (src/engine/acknowledgements.ts)', async () => {
    const { sweepNow } = await import('../functions/sweeper/handler');
    const store = new DynamoStateStore(h.db.client, h.db.tableName);
    const alertId = `det-${'f'.repeat(24)}`;
    await acknowledge(store, { alertId, by: 'ana', until: null }, Date.now());
    h.sfn.resetHistory();
    expect((await sweepNow()).acknowledgementsAnnounced).toBe(1);
    expect(sentEnvelopes(h.sfn).filter((e) => e.publish)).toHaveLength(1);
    h.sfn.resetHistory();
    expect((await sweepNow()).acknowledgementsAnnounced).toBe(0);
    expect(sentEnvelopes(h.sfn)).toHaveLength(0);
  });
});
