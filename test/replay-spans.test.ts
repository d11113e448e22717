import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { replay } from '../src/cli/replay';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { type PayloadResult, processPayloadInSpans } from '../src/engine/pipeline';
import { PassThroughSink } from '../src/engine/ports';
import { Normalizer } from '../src/parse/normalize';
import type { Alert } from '../src/schema/alert';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const dir = mkdtempSync(join(tmpdir(), 'replay-spans-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Twelve failed SSH logins from an internet address on a given day of March (review tier: ssh.auth_failures). */
const bruteForce = (day: number, ip: string) =>
  Array.from(
    { length: 12 },
    (_, i) =>
      `Mar ${String(day).padStart(2, ' ')} 03:12:${String(i).padStart(2, '0')} bastion-1 sshd[2231]: Failed password for invalid user u${i} from ${ip} port ${40000 + i} ssh2`,
  );

describe('replaying a file whose delivery times jump', () => {
  it('sweeps across a jump to the year 9999 in bounded steps (it stepped all 8,000 years, 6 hours at a time)', async () => {
    const file = join(dir, 'jump.jsonl');
    const at = (t: number, id: string) => ({
      messageType: 'DATA_MESSAGE',
      logGroup: '/app/api/x',
      logStream: 's',
      logEvents: [{ id, timestamp: t, message: JSON.stringify({ level: 'error', msg: 'payment failed', service: 'x' }) }],
    });
    const payloads = [at(Date.parse('2025-03-04T10:00:00Z'), 'a'), at(Date.parse('9999-12-31T00:00:00Z'), 'b')];
    writeFileSync(file, `${payloads.map((p) => JSON.stringify(p)).join('\n')}\n`);
    const store = new MemoryStateStore();
    const stats = await replay([file], { pack, store, sink: new PassThroughSink(), onAlert: () => {} });
    expect(stats.eventsProcessed).toBe(2);
    // Each sweep reads the due list once: 30 days of 6-hour steps and one more, not 11.7 million.
    expect(store.calls.reads).toBeLessThan(1_000);
  });
});

describe('replaying a file whose lines span days', () => {
  it('lists every day’s review-tier detection in a digest (one 500-line payload used to lose all but the last day’s)', async () => {
    const file = join(dir, 'auth.log');
    writeFileSync(
      file,
      `${[...bruteForce(3, '198.51.100.1'), ...bruteForce(5, '198.51.100.2'), ...bruteForce(9, '198.51.100.3')].join('\n')}\n`,
    );
    const published: Alert[] = [];
    const stats = await replay([file], {
      pack,
      store: new MemoryStateStore(),
      sink: new PassThroughSink(),
      logGroup: '/var/log/auth.log',
      receivedAt: Date.parse('2026-03-20T00:00:00Z'),
      onAlert: (a) => void published.push(a),
    });
    expect(stats.payloads).toBe(1);
    expect(stats.eventsIn).toBe(36);
    const digested = published
      .filter((a) => a.kind === 'digest')
      .flatMap((a) => (a.digest ?? []).filter((d) => d.ruleId === 'ssh.auth_failures').flatMap((d) => d.entities.map((e) => e.value)));
    expect(digested.sort()).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3']);
  });
});

describe('processPayloadInSpans', () => {
  const lines = [...bruteForce(3, '10.0.0.1'), 'binary \u0000 line', ...bruteForce(5, '10.0.0.2'), ...bruteForce(9, '10.0.0.3')];
  const payload: SubscriptionPayload = {
    messageType: 'DATA_MESSAGE',
    logGroup: '/var/log/auth.log',
    logStream: 'bastion-1',
    logEvents: lines.map((message, i) => ({ id: `e${i}`, timestamp: Date.parse('2026-03-20T00:00:00Z'), message })),
  };
  const normalizer = new Normalizer(pack.sources);

  async function run(detector: Detector): Promise<PayloadResult[]> {
    const results: PayloadResult[] = [];
    const starts: number[] = [];
    await processPayloadInSpans(payload, normalizer, detector, 5 * 60_000, {
      before: async (start) => void starts.push(start),
      after: async (r) => void results.push(r),
    });
    expect(starts.map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-03T03:12:00.000Z',
      '2026-03-05T03:12:00.000Z',
      '2026-03-09T03:12:00.000Z',
    ]);
    return results;
  }

  it('evaluates each run of event time as its own batch; the totals are the payload’s', async () => {
    const results = await run(new Detector(pack, new MemoryStateStore()));
    expect(results.map((r) => r.eventsProcessed)).toEqual([12, 12, 12]);
    expect(results.reduce((n, r) => n + r.eventsIn, 0)).toBe(37);
    expect(results.reduce((n, r) => n + r.skips.total, 0)).toBe(1);
    // Each run's own detection: the notify-tier internal brute force, one per address.
    expect(results.map((r) => r.alerts.map((a) => `${a.ruleId} ${a.entity.value}`))).toEqual([
      ['ssh.internal_auth_failures 10.0.0.1'],
      ['ssh.internal_auth_failures 10.0.0.2'],
      ['ssh.internal_auth_failures 10.0.0.3'],
    ]);
  });

  it('is idempotent: the same payload again is recognized run by run and counts nothing twice', async () => {
    const detector = new Detector(pack, new MemoryStateStore());
    await run(detector);
    const again = await run(detector);
    expect(again.map((r) => r.redelivered)).toEqual([true, true, true]);
  });
});
