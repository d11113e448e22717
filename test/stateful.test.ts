import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { emailBody } from '../src/alerts/notification';
import { boundedValue, MAX_MEMBER_CHARS, MAX_VALUE_CHARS, searchablePart } from '../src/engine/bounded-value';
import { MemoryStateStore } from '../src/engine/memory-store';
import { batchIdOf } from '../src/engine/pipeline';
import { contextEvent, stepContext } from '../src/engine/step-context';
import { detector, ev, rule, T0 } from './helpers';

const S = 1000;
const MIN = 60 * S;
const fail = (user: string, at: number, extra: Record<string, string | number> = {}) =>
  ev({ 'event.outcome': 'failure', 'user.name': user, ...extra }, at);

/**
 * A store whose counter increments land a few milliseconds after they are asked for, recording
 * when the calls start and end: a read asked at the same time answers without the batch's own
 * counts, as DynamoDB may when the two are in flight together.
 */
class SlowIncrements extends MemoryStateStore {
  readonly log: string[] = [];
  override async incrementCounters(...args: Parameters<MemoryStateStore['incrementCounters']>) {
    this.log.push('increment starts');
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.log.push('increment ends');
    return super.incrementCounters(...args);
  }
  override async readCounters(...args: Parameters<MemoryStateStore['readCounters']>) {
    this.log.push('read');
    return super.readCounters(...args);
  }
}

describe('threshold windows', () => {
  const r = rule({ match: { 'event.outcome': 'failure' }, threshold: { count: 3, window: '10m', groupBy: ['user.name'] } });
  it('fires once when the count reaches N within the window', async () => {
    const d = detector([r]);
    const out = await d.evaluate('b1', [fail('a', T0), fail('a', T0 + MIN), fail('a', T0 + 2 * MIN), fail('a', T0 + 3 * MIN)]);
    expect(out.alerts).toHaveLength(1);
    expect(out.alerts[0]?.count).toBe(3);
    expect(out.alerts[0]?.entity).toEqual({ field: 'user.name', value: 'a' });
  });
  it('counts across batches and handles out-of-order events in a batch', async () => {
    const d = detector([r]);
    expect((await d.evaluate('b1', [fail('a', T0 + 2 * MIN), fail('a', T0)])).alerts).toHaveLength(0);
    expect((await d.evaluate('b2', [fail('a', T0 + 3 * MIN)])).alerts).toHaveLength(1);
  });
  it('one event per batch: the count is what earlier batches stored, in this bucket and the window’s earlier ones, plus the event', async () => {
    const base = T0 - (T0 % MIN);
    // Three deliveries in one minute's bucket: the third meets "3 in 10 minutes".
    const same = detector([r]);
    const inOneBucket = [await same.evaluate('b1', [fail('a', base)]), await same.evaluate('b2', [fail('a', base + S)])];
    expect(inOneBucket.flatMap((o) => o.alerts)).toEqual([]);
    expect((await same.evaluate('b3', [fail('a', base + 2 * S)])).alerts.map((a) => a.count)).toEqual([3]);
    // Across buckets of the window: the same.
    const spread = detector([r]);
    await spread.evaluate('b1', [fail('a', base)]);
    await spread.evaluate('b2', [fail('a', base + 4 * MIN)]);
    expect((await spread.evaluate('b3', [fail('a', base + 9 * MIN)])).alerts.map((a) => a.count)).toEqual([3]);
    // A syslog "message repeated 2 times" line weighs 2.
    const repeated = detector([r]);
    await repeated.evaluate('b1', [fail('a', base)]);
    expect((await repeated.evaluate('b2', [{ ...fail('a', base + S), 'event.repeat_count': 2 }])).alerts.map((a) => a.count)).toEqual([3]);
  });
  it('a batch increments its counts and reads its window at once (one round trip), and counts the same when the read answers first', async () => {
    const base = T0 - (T0 % MIN);
    const batches = [[fail('a', base)], [fail('a', base + 4 * MIN), fail('a', base + 4 * MIN + S)], [fail('a', base + 9 * MIN)]];
    const counts = async (store: MemoryStateStore) => {
      const d = detector([r], store);
      const out: number[][] = [];
      for (const [i, b] of batches.entries()) out.push((await d.evaluate(`b${i}`, b)).alerts.map((a) => a.count));
      return out;
    };
    const slow = new SlowIncrements();
    expect(await counts(slow)).toEqual(await counts(new MemoryStateStore()));
    expect(await counts(new MemoryStateStore())).toEqual([[], [3], []]);
    // Each batch's read went out before its increment came back.
    expect(slow.log.slice(0, 3)).toEqual(['increment starts', 'read', 'increment ends']);
  });
  it("another delivery's count landing between a batch's read and its increment is counted: the store's total says it, the read does not", async () => {
    const base = T0 - (T0 % MIN);
    // Two containers on DynamoDB: this batch's read answers, then another stream's delivery adds
    // two failures of `a` to the same bucket, then this batch's increment lands on top of them.
    class Racing extends MemoryStateStore {
      override async readCounters(...args: Parameters<MemoryStateStore['readCounters']>) {
        const read = await super.readCounters(...args);
        await super.incrementCounters(
          'other-stream',
          [{ key: `t#${r.id}#a`, bucket: base / MIN, delta: 2, expiresAt: base + 20 * MIN }],
          base,
        );
        return read;
      }
      override async incrementCounters(...args: Parameters<MemoryStateStore['incrementCounters']>) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return super.incrementCounters(...args);
      }
    }
    const out = await detector([r], new Racing()).evaluate('b1', [fail('a', base + S)]);
    expect(out.alerts.map((a) => a.count)).toEqual([3]);
  });
  it('window edge: events exactly W apart never count together; inside 0.9W always do', async () => {
    // bucket width is 1 min for a 10 min window: an event at T counts buckets [T-9min, T]
    const base = T0 - (T0 % MIN);
    const apart = detector([r]);
    expect((await apart.evaluate('b', [fail('a', base), fail('a', base + 5 * MIN), fail('a', base + 10 * MIN)])).alerts).toHaveLength(0);
    const inside = detector([r]);
    expect(
      (await inside.evaluate('b', [fail('a', base), fail('a', base + 5 * MIN), fail('a', base + 9 * MIN + 59 * S)])).alerts,
    ).toHaveLength(1);
  });
  it('lifecycle: one alert while the condition lasts, resolved when quiet, a flap continues it', async () => {
    const d = detector([r]);
    const first = await d.evaluate('b1', [fail('a', T0), fail('a', T0 + S), fail('a', T0 + 2 * S)]);
    const again = await d.evaluate('b2', [fail('a', T0 + 3 * S), fail('a', T0 + 4 * S), fail('a', T0 + 5 * S)]);
    // 30 minutes later: quiet for 20 (2 × the window) resolved it, and within the 1 h flap grace the same alert re-opens.
    const later = await d.evaluate('b3', [fail('a', T0 + 30 * MIN), fail('a', T0 + 31 * MIN), fail('a', T0 + 32 * MIN)]);
    expect(first.alerts.map((a) => a.status)).toEqual(['open']);
    expect(again.alerts).toEqual([]);
    expect(later.alerts.map((a) => a.status)).toEqual(['resolved', 'open']);
    expect(new Set([...first.alerts, ...later.alerts].map((a) => a.id)).size).toBe(1);
    // Qualifying events (those meeting "3 in 10 minutes"): the 3rd of b1, all 3 of b2, the 3rd of b3.
    expect(later.alerts[1]?.occurrences).toBe(5);
    // Three hours on, past the flap grace: a new condition, a new alert id.
    const much = await d.evaluate('b4', [fail('a', T0 + 200 * MIN), fail('a', T0 + 201 * MIN), fail('a', T0 + 202 * MIN)]);
    expect(much.alerts.map((a) => a.status)).toEqual(['resolved', 'open']);
    expect(much.alerts[1]?.id).not.toBe(first.alerts[0]?.id);
  });
  it('a replayed batch changes no counter and fires no second alert', async () => {
    const store = new MemoryStateStore();
    const d = detector([r], store);
    const batch = [fail('a', T0), fail('a', T0 + S), fail('a', T0 + 2 * S)];
    const first = await d.evaluate('same-batch', batch);
    const replay = await d.evaluate('same-batch', batch);
    expect(first.alerts).toHaveLength(1);
    expect(replay.alerts.map((a) => a.id)).toEqual(first.alerts.map((a) => a.id)); // same id: downstream dedup drops it
    const counts = await store.readCounters([{ key: 't#test.rule#a', from: 0, to: Number.MAX_SAFE_INTEGER }], T0);
    expect([...(counts.get('t#test.rule#a')?.values() ?? [])].reduce((x, y) => x + y, 0)).toBe(3);
  });
});

describe('distinct', () => {
  const r = rule({
    match: { 'event.outcome': 'failure' },
    distinct: { field: 'user.name', count: 3, window: '10m', groupBy: ['source.ip'] },
  });
  it('fires when distinct values reach N, not on repeats of one value', async () => {
    const d = detector([r]);
    const repeats = await d.evaluate(
      'b1',
      [1, 2, 3, 4].map((i) => fail('a', T0 + i * S, { 'source.ip': '1.1.1.1' })),
    );
    expect(repeats.alerts).toHaveLength(0);
    const spray = await d.evaluate(
      'b2',
      ['b', 'c'].map((u, i) => fail(u, T0 + (10 + i) * S, { 'source.ip': '1.1.1.1' })),
    );
    expect(spray.alerts).toHaveLength(1);
    expect(spray.alerts[0]?.count).toBe(3);
  });
  it('one event per batch: a value of earlier buckets counts once, and a repeat in its bucket writes nothing', async () => {
    const store = new MemoryStateStore();
    const d = detector([r], store);
    let n = 0;
    const one = async (user: string, at: number) => {
      const before = store.calls.writes;
      const result = await d.evaluate(`single-${++n}`, [fail(user, at, { 'source.ip': '1.1.1.1' })]);
      return { alerts: result.alerts, writes: store.calls.writes - before };
    };
    await one('a', T0);
    await one('b', T0 + MIN);
    const repeat = await one('b', T0 + MIN + S); // b is in this bucket already
    const again = await one('b', T0 + 2 * MIN); // {a} and {b} from two buckets, plus b: still 2
    expect([repeat.alerts, again.alerts]).toEqual([[], []]);
    expect(again.writes).toBe(repeat.writes + 1); // the new bucket's set; the repeat wrote no set
    const third = await one('c', T0 + 2 * MIN + S); // {a}, {b}, {b} from three buckets, plus c: 3
    expect(third.alerts).toHaveLength(1);
    expect(third.alerts[0]?.count).toBe(3);
  });
  it('does not count values older than the window', async () => {
    const d = detector([r]);
    await d.evaluate('b1', [fail('a', T0, { 'source.ip': '1.1.1.1' }), fail('b', T0, { 'source.ip': '1.1.1.1' })]);
    expect((await d.evaluate('b2', [fail('c', T0 + 11 * MIN, { 'source.ip': '1.1.1.1' })])).alerts).toHaveLength(0);
  });
});

describe('distinct over lists and alternative fields', () => {
  // SSM's three ways to read parameters name them differently; GetParameters names up to ten.
  const r = rule({
    match: { 'event.action': ['GetParameter', 'GetParameters', 'GetParametersByPath'] },
    distinct: { field: ['req.name', 'req.names', 'req.path'], count: 5, window: '10m', groupBy: ['user.name'] },
  });
  const call = (at: number, params: Record<string, string>) =>
    ev({ 'event.action': 'GetParameters', 'user.name': 'mallory', ...params }, at);
  const names = (...list: string[]) => Object.fromEntries(list.map((n, i) => [`req.names.${i}`, n]));

  it('one call naming five parameters is five values: alone in its batch or not', async () => {
    const alone = await detector([r]).evaluate('b1', [call(T0, names('/a', '/b', '/c', '/d', '/e'))]);
    expect(alone.alerts.map((a) => a.count)).toEqual([5]);
    const withOthers = await detector([r]).evaluate('b1', [call(T0, { 'req.name': '/a' }), call(T0 + S, names('/b', '/c', '/d', '/e'))]);
    expect(withOthers.alerts.map((a) => a.count)).toEqual([5]);
  });
  it('four names in a list stay quiet; the first field an event carries is the one counted', async () => {
    const d = detector([r]);
    expect((await d.evaluate('b1', [call(T0, names('/a', '/b', '/c', '/a'))])).alerts).toEqual([]);
    // `req.name` wins over the event's `req.path`: /z is not counted, /a is a repeat.
    expect((await d.evaluate('b2', [call(T0 + S, { 'req.name': '/a', 'req.path': '/z' })])).alerts).toEqual([]);
    // Across deliveries, one event each: {a, b, c} stored, plus d and e from one list.
    expect((await d.evaluate('b3', [call(T0 + 2 * S, names('/d', '/e'))])).alerts.map((a) => a.count)).toEqual([5]);
  });
  it('a redelivered list counts once', async () => {
    const d = detector([r]);
    const batch = [call(T0, names('/a', '/b', '/c'))];
    await d.evaluate('same', batch);
    expect((await d.evaluate('same', batch)).alerts).toEqual([]);
    expect((await d.evaluate('next', [call(T0 + S, names('/c', '/d'))])).alerts).toEqual([]);
    expect((await d.evaluate('last', [call(T0 + 2 * S, names('/e'))])).alerts.map((a) => a.count)).toEqual([5]);
  });
  it('reads at most 100 elements of one list', async () => {
    const many = rule({ ...r, distinct: { field: 'req.names', count: 101, window: '10m', groupBy: ['user.name'] } });
    const list = names(...Array.from({ length: 150 }, (_, i) => `/p${i}`));
    expect((await detector([many]).evaluate('b1', [call(T0, list)])).alerts).toEqual([]);
    const hundred = rule({ ...r, distinct: { field: 'req.names', count: 100, window: '10m', groupBy: ['user.name'] } });
    expect((await detector([hundred]).evaluate('b1', [call(T0, list)])).alerts.map((a) => a.count)).toEqual([100]);
  });
});

describe('sequence', () => {
  const r = rule({
    match: { 'event.category': 'authentication' },
    sequence: {
      window: '15m',
      groupBy: ['user.name'],
      steps: [
        { name: 'f', count: 2, match: { 'event.outcome': 'failure' } },
        { name: 's', match: { 'event.outcome': 'success' } },
      ],
    },
  });
  const a = (outcome: string, at: number) => ev({ 'event.category': 'authentication', 'event.outcome': outcome, 'user.name': 'u' }, at);
  it('fires on steps in order within the window, across batches', async () => {
    const d = detector([r]);
    expect((await d.evaluate('b1', [a('failure', T0), a('failure', T0 + S)])).alerts).toHaveLength(0);
    expect((await d.evaluate('b2', [a('success', T0 + MIN)])).alerts).toHaveLength(1);
  });
  it('an alert whose earlier steps came in earlier batches shows them: the latest of each, its line redacted, its address related', async () => {
    const store = new MemoryStateStore();
    const d = detector([r], store);
    const step = (outcome: string, at: number, message: string) => ({ ...a(outcome, at), 'source.ip': '203.0.113.50', message });
    await d.evaluate('b1', [
      step('failure', T0, 'Failed password for u from 203.0.113.50'),
      step('failure', T0 + S, 'Failed password for u from 203.0.113.50 (password=hunter2!)'),
    ]);
    const out = await d.evaluate('b2', [{ ...a('success', T0 + MIN), message: 'Accepted for u' }]);
    const alert = out.alerts[0];
    expect(alert?.events.map((e) => [e.timestamp, e.message])).toEqual([
      [new Date(T0 + S).toISOString(), 'Failed password for u from 203.0.113.50 (password=[REDACTED]'],
      [new Date(T0 + MIN).toISOString(), 'Accepted for u'],
    ]);
    expect(alert?.related['source.ip']).toEqual(['203.0.113.50']);
    // When the run began (its first failure), though only the latest is shown.
    expect(alert?.firstSeen).toBe(new Date(T0).toISOString());
    // Nothing of the secret is kept in the state either.
    const contexts = await store.readSetContexts([{ key: `s#${r.id}#u#0`, from: 0, to: Number.MAX_SAFE_INTEGER }], T0);
    expect([...(contexts.values().next().value?.values() ?? [])].join('')).toContain('[REDACTED]');
    expect(JSON.stringify([...contexts])).not.toContain('hunter2');
  });
  it('an earlier step the batch holds too (a delivery decided again) is shown once; stored steps are read only when a sequence completes', async () => {
    const store = new MemoryStateStore();
    const d = detector([r], store);
    const f1 = a('failure', T0);
    const f2 = a('failure', T0 + S);
    const contextReads = vi.spyOn(store, 'readSetContexts');
    await d.evaluate('b1', [f1, f2]); // decides nothing: no receipt, so the same events come again below
    expect(contextReads).not.toHaveBeenCalled();
    const out = await d.evaluate('b1+', [f1, f2, a('success', T0 + MIN)]);
    expect(out.alerts[0]?.events.map((e) => e.timestamp)).toEqual([
      new Date(T0).toISOString(),
      new Date(T0 + S).toISOString(),
      new Date(T0 + MIN).toISOString(),
    ]);
    expect(contextReads).toHaveBeenCalledTimes(1);
  });
  it('a stored step context that is not one (a hand-edited or older item) is left out, not thrown on', () => {
    expect(contextEvent('not json')).toBeUndefined();
    expect(contextEvent('{"t":"soon","m":1}')).toBeUndefined();
    const e = contextEvent(stepContext({ ...a('failure', T0), 'source.ip': '203.0.113.50', message: 'x'.repeat(5000) }));
    expect(e && [e['@timestamp'], e['source.ip'], String(e.message).length]).toEqual([T0, '203.0.113.50', 1025]);
  });
  it('counts every occurrence of its steps in the window, earlier deliveries and a delivery decided again included', async () => {
    // One failure per delivery, as CloudWatch delivers a quiet group: the alert still counts the run.
    const d = detector([r]);
    const failures = [0, 1, 2, 3, 4].map((i) => a('failure', T0 + i * S));
    for (const [i, f] of failures.entries()) await d.evaluate(`f${i}`, [f]);
    await d.evaluate('f4', failures.slice(4)); // redelivered: the same occurrence
    await d.evaluate('old', [a('failure', T0 - 20 * MIN)]); // before the window
    const out = await d.evaluate('s', [a('success', T0 + MIN)]);
    expect(out.alerts.map((x) => [x.count, x.events.length])).toEqual([[6, 2]]);
    // A batch holding the whole run counts the same.
    expect((await detector([r]).evaluate('all', [...failures, a('success', T0 + MIN)])).alerts.map((x) => x.count)).toEqual([6]);
  });
  it('a run of failures alone reads no stored failures (only whether a login is stored after them); the success that ends it reads its window', async () => {
    const store = new MemoryStateStore();
    const d = detector([r], store);
    const setReads = vi.spyOn(store, 'readSets');
    // 200 failures over 10 minutes, 20 per delivery: each delivery only records its occurrences.
    for (let batch = 0; batch < 10; batch++) {
      const failures = Array.from({ length: 20 }, (_, i) => a('failure', T0 + batch * MIN + i * S));
      expect((await d.evaluate(`f${batch}`, failures)).alerts).toEqual([]);
    }
    // Each delivery asked only for the last step (a login stored after its failures), never the failures.
    const keysRead = setReads.mock.calls.flatMap(([ranges]) => ranges.map((range) => range.key));
    expect(keysRead).toHaveLength(10);
    expect(keysRead.every((key) => key.endsWith('#1'))).toBe(true);
    setReads.mockClear();
    // The success reads the stored steps of its window: every failure counts.
    const out = await d.evaluate('s', [a('failure', T0 + 10 * MIN), a('success', T0 + 10 * MIN + S)]);
    expect(out.alerts.map((x) => x.count)).toEqual([202]);
    expect(setReads).toHaveBeenCalledTimes(1);
    // A success 15 minutes after the last delivery's failures: what it counts is the failures of its
    // 15 minutes (at 18:00 and 18:01; 16:01 and before are past), whatever else its batch holds.
    const late = async (withFailure: boolean) => {
      const d = detector([r]);
      for (let batch = 0; batch < 10; batch++) {
        await d.evaluate(`f${batch}`, [a('failure', T0 + batch * 2 * MIN), a('failure', T0 + batch * 2 * MIN + S)]);
      }
      const success = a('success', T0 + 33 * MIN);
      const out = await d.evaluate('late', withFailure ? [a('failure', T0 + 19 * MIN), success] : [success]);
      return out.alerts.map((x) => [x.count, x.events[0]?.timestamp]);
    };
    // Alone in its delivery the success still shows the latest failure before it, as stored.
    const latestFailure = new Date(T0 + 18 * MIN + S).toISOString();
    expect(await late(false)).toEqual([[3, latestFailure]]);
    expect((await late(true))[0]?.[0]).toBe(4);
  });
  it('a login delivered before the failures just before it (another stream, seconds behind) is told when they arrive, with its line', async () => {
    const store = new MemoryStateStore();
    const d = detector([r], store);
    const line = (e: ReturnType<typeof a>, message: string) => ({ ...e, message, 'event.original': message, 'source.ip': '203.0.113.7' });
    const login = line(a('success', T0 + 3 * S), 'Accepted password for u from 203.0.113.7 token=abc123secret');
    expect((await d.evaluate('instance-2', [login])).alerts).toEqual([]);
    const failures = [line(a('failure', T0), 'Failed password for u'), line(a('failure', T0 + 2 * S), 'Failed password for u')];
    const out = await d.evaluate('instance-1', failures);
    expect(out.alerts).toHaveLength(1);
    const alert = out.alerts[0];
    expect(alert?.entity).toEqual({ field: 'user.name', value: 'u' });
    expect(alert?.lastSeen).toBe(new Date(T0 + 3 * S).toISOString());
    // The login's line as stored (redacted), after the failures of this delivery.
    expect(alert?.events.map((e) => e.message)).toEqual([
      'Failed password for u',
      'Failed password for u',
      expect.stringContaining('Accepted password for u'),
    ]);
    expect(JSON.stringify(alert)).not.toContain('abc123secret');
    expect(alert?.related['source.ip']).toEqual(['203.0.113.7']);
    // Delivered again, the failures are answered from their receipt (the same alert); one of them alone completes nothing.
    const again = await d.evaluate('instance-1', failures);
    expect([again.redelivered, again.alerts.map((x) => x.id)]).toEqual([true, [alert?.id]]);
    const alone = detector([r]);
    await alone.evaluate('instance-2', [login]);
    expect((await alone.evaluate('instance-1', failures.slice(1))).alerts).toEqual([]);
  });
  it('two logins delivered before the failures that complete them are each told as the login it was (its own event id)', async () => {
    const store = new MemoryStateStore();
    const d = detector([r], store);
    const first = { ...a('success', T0 + 3 * S), 'cloudwatch.event_id': 'login-1' };
    const second = { ...a('success', T0 + 4 * S), 'cloudwatch.event_id': 'login-2' };
    await d.evaluate('instance-2', [first, second]);
    const out = await d.evaluate('instance-1', [a('failure', T0), a('failure', T0 + 2 * S)]);
    const told = out.messages.flatMap((m) => m.alert.events.map((e) => [e.timestamp, e.eventId]));
    // The bucket keeps the line of its latest login only; the earlier is still named by its own id, not its time.
    expect(told).toContainEqual([new Date(T0 + 3 * S).toISOString(), 'login-1']);
    expect(told.map(([, id]) => id)).not.toContain(String(T0 + 3 * S));
  });
  it('does not fire out of order or past the window', async () => {
    expect((await detector([r]).evaluate('b', [a('success', T0), a('failure', T0 + S), a('failure', T0 + 2 * S)])).alerts).toHaveLength(0);
    expect((await detector([r]).evaluate('b', [a('failure', T0), a('failure', T0 + S), a('success', T0 + 16 * MIN)])).alerts).toHaveLength(
      0,
    );
  });
});

describe('newTerm', () => {
  const r = rule({ match: { 'event.outcome': 'success' }, newTerm: { field: 'geo', groupBy: ['user.name'], baseline: '30d' } });
  const login = (geo: string, at: number) => ev({ 'event.outcome': 'success', 'user.name': 'u', geo }, at);
  it('fires for a new term of a known entity, not for the first ever or a known term', async () => {
    const d = detector([r]);
    expect((await d.evaluate('b1', [login('US', T0)])).alerts).toHaveLength(0);
    expect((await d.evaluate('b2', [login('US', T0 + MIN)])).alerts).toHaveLength(0);
    expect((await d.evaluate('b3', [login('BR', T0 + 2 * MIN)])).alerts).toHaveLength(1);
  });
  it('forgets terms past the baseline', async () => {
    const d = detector([r]);
    await d.evaluate('b1', [login('US', T0), login('DE', T0)]);
    await d.evaluate('b2', [login('US', T0 + 29 * 86_400_000)]); // US stays known, DE is not refreshed
    expect((await d.evaluate('b3', [login('DE', T0 + 31 * 86_400_000)])).alerts).toHaveLength(1);
    expect((await d.evaluate('b4', [login('US', T0 + 32 * 86_400_000)])).alerts).toHaveLength(0);
  });
});

describe('spike', () => {
  const r = rule({
    match: { 'log.level': 'error' },
    spike: { window: '5m', baseline: '1h', factor: 3, min: 10, groupBy: ['service.name'] },
  });
  const err = (at: number) => ev({ 'log.level': 'error', 'service.name': 'api' }, at);
  it('fires when the window reaches factor × baseline mean and the floor', async () => {
    const d = detector([r]);
    const base = T0 - (T0 % (5 * MIN));
    const history = Array.from({ length: 12 }, (_, w) => [
      err(base - (w + 1) * 5 * MIN),
      err(base - (w + 1) * 5 * MIN + S),
      err(base - (w + 1) * 5 * MIN + 2 * S),
      err(base - (w + 1) * 5 * MIN + 3 * S),
    ]).flat();
    expect((await d.evaluate('h', history)).alerts).toHaveLength(0);
    // mean 4 per window → needs max(10, 12) = 12
    expect(
      (
        await d.evaluate(
          's1',
          Array.from({ length: 11 }, (_, i) => err(base + i * S)),
        )
      ).alerts,
    ).toHaveLength(0);
    expect((await d.evaluate('s2', [err(base + 20 * S)])).alerts).toHaveLength(1);
  });
  // One batch per 5-minute window from `start`: `perWindow(w)` errors in window w.
  async function windows(d: ReturnType<typeof detector>, start: number, count: number, perWindow: (w: number) => number) {
    const detected: number[] = [];
    for (let w = 0; w < count; w++) {
      const at = start + w * 5 * MIN;
      const result = await d.evaluate(
        `w${at}`,
        Array.from({ length: perWindow(w) }, (_, i) => err(at + i * S)),
      );
      if (result.detections > 0) detected.push(w);
    }
    return detected;
  }
  const windowStart = T0 - (T0 % (5 * MIN));
  it('a spike that outlasts its baseline keeps holding at the level it spiked at, window after window, until it ends', async () => {
    const d = detector([r]);
    expect(await windows(d, windowStart - 60 * MIN, 12, () => 4)).toEqual([]); // an hour at 4: needs 12
    // Three hours at 30 a window: every window spikes against the hour before the fault (12),
    // though from the third on the baseline the fault itself raised asks for more than 30.
    expect(await windows(d, windowStart, 36, () => 30)).toEqual(Array.from({ length: 36 }, (_, w) => w));
    // Back to 4 a window: quiet.
    expect(await windows(d, windowStart + 180 * MIN, 24, () => 4)).toEqual([]);
  });
  it('its alert says what the window was measured against: the baseline mean, the threshold, and whether a level held it', async () => {
    const d = detector([r]);
    await windows(d, windowStart - 60 * MIN, 12, () => 4);
    const first = (
      await d.evaluate(
        'spike-1',
        Array.from({ length: 30 }, (_, i) => err(windowStart + i * S)),
      )
    ).alerts[0];
    expect(first?.baseline).toEqual({ mean: 4, windowMs: 5 * MIN, baselineMs: 60 * MIN, threshold: 12, held: false });
    expect(emailBody(first ?? ({} as never)).split('\n')).toContain('Baseline: 4 per 5m over the previous 1h; this window fired at 12');
    await windows(d, windowStart + 5 * MIN, 5, () => 30);
    await windows(d, windowStart + 30 * MIN, 4, () => 4);
    // The fault again after twenty quiet minutes (the first alert resolved, a new one opens): the
    // learned threshold (3 × 17 = 51) is above the level it spiked at (12), which holds it.
    const again = (
      await d.evaluate(
        'spike-2',
        Array.from({ length: 30 }, (_, i) => err(windowStart + 50 * MIN + i * S)),
      )
    ).alerts.find((a) => a.status === 'open');
    expect(again?.baseline).toEqual({ mean: 17, windowMs: 5 * MIN, baselineMs: 60 * MIN, threshold: 12, held: true });
    expect(emailBody(again ?? ({} as never))).toContain('this window held at 12, the level this spike reached in an earlier window');
    // Other rules' alerts carry none.
    const threshold = rule({ match: { 'log.level': 'error' }, threshold: { count: 2, window: '5m', groupBy: ['service.name'] } });
    const other = (await detector([threshold]).evaluate('t', [err(T0), err(T0 + S)])).alerts[0];
    expect(other).toBeDefined();
    expect(other?.baseline).toBeUndefined();
    expect(emailBody(other ?? ({} as never))).not.toContain('Baseline:');
  });
  it('a fault that comes back within the baseline after it is detected again at the level before it', async () => {
    const d = detector([r]);
    await windows(d, windowStart - 60 * MIN, 12, () => 4);
    expect(await windows(d, windowStart, 6, () => 30)).toEqual([0, 1, 2, 3, 4, 5]);
    // Twenty minutes of quiet, then the fault again: the hour's baseline holds half an hour of it
    // ((2 × 4 + 6 × 30 + 4 × 4) / 12 = 17, × 3 = 51 > 30), but the level it spiked at holds.
    expect(await windows(d, windowStart + 30 * MIN, 4, () => 4)).toEqual([]);
    expect(await windows(d, windowStart + 50 * MIN, 2, () => 30)).toEqual([0, 1]);
  });
  it('the level lapses a baseline after the last window that reached it: a new normal is learned', async () => {
    const d = detector([r]);
    await windows(d, windowStart - 60 * MIN, 12, () => 4);
    expect(await windows(d, windowStart, 2, () => 30)).toEqual([0, 1]);
    // 10 a window (under the level, 12) for over an hour: the level lapses, the baseline learns 10.
    expect(await windows(d, windowStart + 10 * MIN, 14, () => 10)).toEqual([]);
    // 25 a window is above the old level and under 3 × 10: no spike.
    expect(await windows(d, windowStart + 80 * MIN, 3, () => 25)).toEqual([]);
  });
  it("in the rule's first baseline of watching (deploy day) a busy service's normal is learned, not held as a spike", async () => {
    // The first batches the rule ever sees: 40 a window, every window. Against a baseline it never
    // saw, the first windows spike (as before) until the baseline holds enough of them.
    expect(await windows(detector([r]), windowStart, 24, () => 40)).toEqual([0, 1, 2, 3, 4]);
  });
  it('a redelivered batch that crossed writes its level once', async () => {
    const store = new MemoryStateStore();
    const d = detector([r], store);
    await windows(d, windowStart - 60 * MIN, 12, () => 4);
    const crossing = Array.from({ length: 30 }, (_, i) => err(windowStart + i * S));
    expect((await d.evaluate('crossing', crossing)).detections).toBe(1);
    // A second detector, as after a container restart, receives the same batch again.
    expect((await detector([r], store).evaluate('crossing', crossing)).redelivered).toBe(true);
    const bucket = windowStart / (5 * MIN);
    const stored = await store.readCounters([{ key: `p#${r.id}#api`, from: bucket, to: bucket + 1 }], windowStart);
    expect(stored.get(`p#${r.id}#api`)).toEqual(
      new Map([
        [bucket, 30],
        [bucket + 0.5, 12],
      ]),
    );
  });
  it('a batch spanning two windows counts its own events in the earlier one, though the store answers the read before the increment', async () => {
    // Four errors in each of the eleven windows before the last two; this batch brings 10 to the
    // window before (under its threshold of 11) and 12 to the last. The last window's baseline
    // holds the 10: its mean is 54 / 12 and it needs 14, so 12 is no spike. Read without them,
    // the mean would be 44 / 12, the threshold 11, and 12 would be one.
    const history = Array.from({ length: 11 }, (_, w) =>
      Array.from({ length: 4 }, (__, i) => err(windowStart - (w + 2) * 5 * MIN + i * S)),
    ).flat();
    const batch = [
      ...Array.from({ length: 10 }, (_, i) => err(windowStart - 5 * MIN + i * S)),
      ...Array.from({ length: 12 }, (_, i) => err(windowStart + i * S)),
    ];
    const decide = async (store: MemoryStateStore) => {
      const d = detector([r], store);
      await d.evaluate('history', history);
      return (await d.evaluate('spanning', batch)).detections;
    };
    expect(await decide(new MemoryStateStore())).toBe(0);
    const slow = new SlowIncrements();
    expect(await decide(slow)).toBe(0);
    expect(slow.log.slice(-3)).toEqual(['increment starts', 'read', 'increment ends']);
  });
  it('the floor keeps quiet services quiet', async () => {
    expect(
      (
        await detector([r]).evaluate(
          'b',
          Array.from({ length: 9 }, (_, i) => err(T0 + i * S)),
        )
      ).alerts,
    ).toHaveLength(0);
  });
});

describe('batch boundaries and redelivery', () => {
  const threshold = rule({
    id: 'test.flood',
    match: { 'event.outcome': 'failure' },
    threshold: { count: 5, window: '10m', groupBy: ['user.name'] },
  });
  const distinct = rule({
    id: 'test.spray',
    match: { 'event.outcome': 'failure' },
    distinct: { field: 'user.name', count: 4, window: '10m', groupBy: ['source.ip'] },
  });
  const stateless = rule({ id: 'test.each', match: { 'event.outcome': 'failure' }, entity: 'source.ip' });
  // Two hours of failures from one source, 20 s apart, cycling through 6 users.
  const stream = Array.from({ length: 360 }, (_, i) => fail(`u${i % 6}`, T0 + i * 20 * S, { 'source.ip': '9.9.9.9' }));
  const ids = (alerts: { id: string }[]) => alerts.map((a) => a.id).sort();

  /** Every decided message: key, status, whether it is published, its time. */
  async function runSplit(sizes: number[], store = new MemoryStateStore()) {
    const d = detector([threshold, distinct, stateless], store);
    const out: string[] = [];
    let at = 0;
    for (const [n, size] of sizes.entries()) {
      for (const m of (await d.evaluate(`batch-${n}`, stream.slice(at, at + size))).messages) {
        out.push(`${m.key} ${m.alert.status} ${m.alert.lastSeen} ${m.publish ? 'published' : 'silent'}`);
      }
      at += size;
    }
    return out.sort();
  }

  it('one big batch and event-by-event batches decide the same messages (the lifecycle walks events, not batches)', async () => {
    const whole = await runSplit([stream.length]);
    const single = await runSplit(stream.map(() => 1));
    const uneven = await runSplit([7, 1, 50, 3, 120, 179]);
    expect(whole).toEqual(single);
    expect(uneven).toEqual(single);
    // 2 hours of one steady condition per rule and entity: each opens once, then updates silently
    // once per window (10 min) or per 15 minutes (stateless).
    const published = whole.filter((m) => m.endsWith('published'));
    // test.flood per user (three told, the fourth tells the outbreak, two held for the digest),
    // test.spray, test.each: one open each.
    expect(published).toHaveLength(4 + 1 + 1);
    expect(whole.length).toBeGreaterThanOrEqual(60);
  });

  it('batch id: one per payload content, and the digest receipts already stored were written under', () => {
    const payload = {
      owner: '111122223333',
      logGroup: '/app/auth',
      logStream: 'i-1',
      logEvents: [{ id: 'e1' }, { id: 'e2' }, { id: 'e3' }],
    };
    // The id as deployed stacks computed it (part by part): a redelivery that spans an upgrade must still find its receipt.
    const h = createHash('sha256').update('111122223333').update('\n').update('/app/auth').update('\n').update('i-1');
    for (const id of ['e1', 'e2', 'e3']) h.update('\n').update(id);
    expect(batchIdOf(payload)).toBe(h.digest('base64url').slice(0, 22));
    expect(batchIdOf({ ...payload, logEvents: [...payload.logEvents] })).toBe(batchIdOf(payload));
    const variants = [
      { ...payload, owner: '444455556666' },
      { ...payload, logStream: 'i-2' },
      { ...payload, logEvents: payload.logEvents.slice(1) },
    ];
    for (const v of variants) expect(batchIdOf(v)).not.toBe(batchIdOf(payload));
    // A busy group's delivery (hashed in parts, not as one text) has the id the deployed stacks computed.
    for (const count of [511, 512, 513, 1024, 3000]) {
      const ids = Array.from({ length: count }, (_, i) =>
        String(37_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n + BigInt(i)),
      );
      const big = createHash('sha256').update('111122223333').update('\n').update('/app/auth').update('\n').update('i-1');
      for (const id of ids) big.update('\n').update(id);
      expect(batchIdOf({ ...payload, logEvents: ids.map((id) => ({ id })) })).toBe(big.digest('base64url').slice(0, 22));
    }
  });

  it('a batch redelivered after later batches re-sends its own alerts and decides nothing new', async () => {
    const store = new MemoryStateStore();
    const d = detector([threshold, distinct, stateless], store);
    const b1 = stream.slice(0, 40);
    const b2 = stream.slice(40, 80);
    const first = await d.evaluate('b1', b1);
    const second = await d.evaluate('b2', b2);
    const again = await d.evaluate('b1', b1);
    expect(again.redelivered).toBe(true);
    expect(ids(again.alerts)).toEqual(ids(first.alerts));
    expect(first.alerts.length).toBeGreaterThan(0);
    expect(second.redelivered).toBe(false);
    const counts = await store.readCounters([{ key: 't#test.flood#u0', from: 0, to: Number.MAX_SAFE_INTEGER }], T0);
    expect([...(counts.get('t#test.flood#u0')?.values() ?? [])].reduce((x, y) => x + y, 0)).toBe(14); // 80 events / 6 users, u0 gets 14
  });

  it('the receipt is read while the rules qualify (one store round trip less per batch), and a failed qualification of a batch already decided is answered from its receipt', async () => {
    const log: string[] = [];
    class SlowReceipts extends MemoryStateStore {
      failCounters = false;
      override async readReceipt(batchId: string): Promise<string | undefined> {
        log.push('receipt read starts');
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push('receipt read ends');
        return super.readReceipt(batchId);
      }
      override incrementCounters(...args: Parameters<MemoryStateStore['incrementCounters']>) {
        log.push('counters written');
        return this.failCounters ? Promise.reject(new Error('throttled')) : super.incrementCounters(...args);
      }
    }
    const store = new SlowReceipts();
    const d = detector([threshold], store);
    const first = await d.evaluate('b1', stream.slice(0, 40));
    expect(log.slice(0, 3)).toEqual(['receipt read starts', 'counters written', 'receipt read ends']);
    store.failCounters = true;
    const again = await d.evaluate('b1', stream.slice(0, 40));
    expect(again.redelivered).toBe(true);
    expect(ids(again.alerts)).toEqual(ids(first.alerts));
    // A batch not yet decided fails with its store error (and is retried).
    await expect(d.evaluate('b2', stream.slice(40, 80))).rejects.toThrow('throttled');
  });

  it('a batch that decided nothing keeps no receipt; delivered again it decides nothing and counts nothing twice', async () => {
    const store = new MemoryStateStore();
    const d = detector([threshold], store);
    const quiet = stream.filter((e) => e['user.name'] === 'u0').slice(0, 3); // 3 failures: under the threshold of 5
    const total = async () => {
      const counts = await store.readCounters([{ key: 't#test.flood#u0', from: 0, to: Number.MAX_SAFE_INTEGER }], T0);
      return [...(counts.get('t#test.flood#u0')?.values() ?? [])].reduce((x, y) => x + y, 0);
    };
    const first = await d.evaluate('q1', quiet);
    expect(first.messages).toEqual([]);
    expect(store.writesByKind.receipts).toBe(0);
    const again = await d.evaluate('q1', quiet);
    expect(again).toMatchObject({ messages: [], redelivered: false });
    expect(await total()).toBe(3);
    // A batch no rule matches touches no state at all: not even a receipt read.
    const reads = store.calls.reads;
    await d.evaluate('nothing', [ev({ 'event.outcome': 'success', 'user.name': 'u0' }, T0)]);
    expect(store.calls.reads).toBe(reads);
    // One that decides something keeps its receipt, and is answered from it.
    const loud = stream.filter((e) => e['user.name'] === 'u0').slice(3, 8);
    expect((await d.evaluate('q2', loud)).messages.length).toBeGreaterThan(0);
    expect(store.writesByKind.receipts).toBe(1);
    expect((await d.evaluate('q2', loud)).redelivered).toBe(true);
  });

  it('a batch that arrives out of order is counted into the open condition and pages nobody again', async () => {
    const store = new MemoryStateStore();
    const d = detector([threshold], store);
    const later = stream.slice(120, 160); // 40-53 min
    const earlier = stream.slice(0, 40); // 0-13 min
    const first = await d.evaluate('later', later);
    const second = await d.evaluate('earlier', earlier);
    expect(first.alerts.map((a) => a.status)).toEqual(Array(6).fill('open'));
    expect(second.alerts).toEqual([]);
    // The late events still count: the next message of u0's condition carries them.
    const next = await d.evaluate('next', stream.slice(160, 200));
    const u0 = next.messages.find((m) => m.alert.entity.value === 'u0');
    const u0First = first.alerts.find((a) => a.entity.value === 'u0');
    expect(u0?.alert.id).toBe(u0First?.id);
    expect(u0?.alert.occurrences).toBeGreaterThan((u0First?.occurrences ?? 0) + 2);
  });

  it('sweeps expired state so long replays stay bounded', async () => {
    const store = new MemoryStateStore();
    const d = detector([threshold], store);
    await d.evaluate('early', stream.slice(0, 30));
    expect(store.size).toBeGreaterThan(0);
    store.sweep(T0 + 3 * 86_400_000);
    expect(store.size).toBe(0);
  });

  it('clear gives a long-lived detector a new store: the same batch decides the same again, at the same cost', async () => {
    const store = new MemoryStateStore();
    const d = detector([threshold, distinct], store);
    const first = await d.evaluate('b1', stream.slice(0, 60));
    const cost = { ...store.calls, byKind: { ...store.writesByKind } };
    expect(first.alerts.length).toBeGreaterThan(0);
    store.clear();
    expect(store.size).toBe(0);
    expect(store.calls).toEqual({ reads: 0, writes: 0 });
    // Another batch of the same events: no counts kept from before, so none are doubled.
    const again = await d.evaluate('b2', stream.slice(0, 60));
    expect(again.messages).toEqual(first.messages);
    expect({ ...store.calls, byKind: { ...store.writesByKind } }).toEqual(cost);
    // The same batch after a clear is not a redelivery: its receipt went too.
    store.clear();
    expect((await d.evaluate('b1', stream.slice(0, 60))).redelivered).toBe(false);
  });
});

describe('long values an attacker chooses', () => {
  const prefix = 'a'.repeat(100);
  const long = (tail: string) => `${prefix}${'b'.repeat(3_000)}${tail}`;
  it('are bounded for keys and entities: equal ones meet, different ones with a shared prefix stay apart', () => {
    expect(boundedValue('short')).toBe('short');
    expect(boundedValue(long('1'))).toBe(boundedValue(long('1')));
    expect(boundedValue(long('1'))).not.toBe(boundedValue(long('2')));
    expect(boundedValue(long('1')).length).toBeLessThanOrEqual(MAX_VALUE_CHARS);
    expect(boundedValue(long('1'), MAX_MEMBER_CHARS).length).toBeLessThanOrEqual(MAX_MEMBER_CHARS);
    expect(boundedValue(long('1'), MAX_MEMBER_CHARS)).not.toBe(boundedValue(long('2'), MAX_MEMBER_CHARS));
    expect(searchablePart(boundedValue(long('1')))).toBe(prefix.slice(0, 64));
    expect(searchablePart('short')).toBe('short');
    // A surrogate pair at the cut stays whole.
    const emoji = boundedValue(`${'x'.repeat(63)}😀${'y'.repeat(200)}`);
    expect(emoji.startsWith(`${'x'.repeat(63)}…#`)).toBe(true);
  });
  it('distinct counts tell long values apart, and a repeated one counts once', async () => {
    const spray = rule({
      match: { 'event.outcome': 'failure' },
      distinct: { field: 'user.name', count: 3, window: '10m', groupBy: ['source.ip'] },
    });
    const from = (users: string[]) => users.map((u, i) => fail(u, T0 + i * S, { 'source.ip': '9.9.9.9' }));
    expect((await detector([spray]).evaluate('b', from([long('1'), long('2'), long('3')]))).alerts).toHaveLength(1);
    expect((await detector([spray]).evaluate('b', from([long('1'), long('1'), long('1')]))).alerts).toHaveLength(0);
  });
  it('a threshold grouped by a long value fires, its entity bounded and searchable by its prefix', async () => {
    const brute = rule({ match: { 'event.outcome': 'failure' }, threshold: { count: 3, window: '10m', groupBy: ['user.name'] } });
    const out = await detector([brute]).evaluate('b', [fail(long('1'), T0), fail(long('1'), T0 + S), fail(long('1'), T0 + 2 * S)]);
    expect(out.alerts).toHaveLength(1);
    expect(out.alerts[0]?.entity.value).toBe(boundedValue(long('1')));
    expect(out.alerts[0]?.logsInsightsQuery).toContain(`like "${prefix.slice(0, 64)}"`);
  });
});
