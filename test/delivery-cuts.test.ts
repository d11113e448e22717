import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { openCorrelationSink, openStateStore } from '../src/cli/local-adapters';
import { replay } from '../src/cli/replay';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { generateDemo } from '../src/demo/generate';
import { Random } from '../src/demo/random';
import type { Alert, Message } from '../src/schema/alert';
import { eventTime, type NormalizedEvent } from '../src/schema/event';
import { detector, ev, rule, T0 } from './helpers';

/**
 * CloudWatch Logs decides how a stream is cut into deliveries (a busy stream in large payloads, a
 * quiet one a line or two at a time), and retries some. What a stateful rule detects must not
 * depend on where the cuts fall: every kind of windowed rule, over random streams, detects in
 * random deliveries (some delivered twice) exactly what it detects in one.
 */
const S = 1000;
const RULES = {
  threshold: rule({ match: { 'event.outcome': 'failure' }, threshold: { count: 5, window: '10m', groupBy: ['user.name'] } }),
  distinct: rule({
    match: { 'event.category': 'authentication' },
    distinct: { field: 'source.ip', count: 4, window: '10m', groupBy: ['user.name'] },
  }),
  sequence: rule({
    match: { 'event.category': 'authentication' },
    sequence: {
      window: '15m',
      groupBy: ['user.name'],
      steps: [
        { name: 'failures', count: 3, match: { 'event.outcome': 'failure' } },
        { name: 'success', match: { 'event.outcome': 'success' } },
      ],
    },
  }),
  newTerm: rule({ match: { 'event.outcome': 'success' }, newTerm: { field: 'source.ip', groupBy: ['user.name'], baseline: '30d' } }),
  spike: rule({
    match: { 'event.outcome': 'failure' },
    spike: { window: '5m', baseline: '1h', factor: 2, min: 3, groupBy: ['user.name'] },
  }),
};

/**
 * 80 logins of two users (or more) from six addresses, `apart` seconds at most from one another, now and then
 * minutes (long enough for a condition to end); a few lines stand for several.
 */
function stream(rnd: Random, apart = 60, users = 2): NormalizedEvent[] {
  let t = T0;
  return Array.from({ length: 80 }, () => {
    t += (rnd.chance(0.1) ? rnd.int(100, 2000) : rnd.int(1, apart)) * S;
    const outcome = rnd.chance(0.7) ? 'failure' : 'success';
    const fields = {
      'event.category': 'authentication',
      'event.outcome': outcome,
      'user.name': `u${rnd.int(1, users)}`,
      'source.ip': `10.0.0.${rnd.int(1, 6)}`,
    };
    // Now and then a syslog line standing for several ("message repeated 3 times").
    return ev(rnd.chance(0.05) ? { ...fields, 'event.repeat_count': rnd.int(2, 4) } : fields, t);
  });
}

const described = (m: Message) => [m.key, m.alert.status, m.publish, m.alert.count, m.alert.lastSeen].join(' ');

/**
 * How early an alert's firstSeen may be when earlier deliveries counted: counters and sets keep
 * no times, only buckets (a tenth of the window; a spike's bucket is its window).
 */
const FIRST_SEEN_SLACK: Record<string, number> = { threshold: 60_000, distinct: 60_000, spike: 300_000, sequence: 0, newTerm: 0 };

describe('a stream cut into deliveries anywhere', () => {
  for (const [kind, r] of Object.entries(RULES)) {
    it(`${kind}: detects what it detects in one delivery, and tells it alike`, async () => {
      const rnd = new Random(kind.length * 7919);
      let detected = 0;
      for (let trial = 0; trial < 150; trial++) {
        const events = stream(rnd);
        const one = await detector([r]).evaluate('whole', events);
        const whole = one.detections;
        const cut = detector([r]);
        let inDeliveries = 0;
        const told: string[] = [];
        const firstSeen = new Map<string, string>();
        for (let i = 0, n = 0; i < events.length; i += n) {
          n = rnd.int(1, 8);
          const delivery = events.slice(i, i + n);
          const id = `d${i}`;
          const first = await cut.evaluate(id, delivery);
          inDeliveries += first.detections;
          told.push(...first.messages.map(described));
          for (const m of first.messages) firstSeen.set(m.key, m.alert.firstSeen);
          // Delivered again at once: answered from its receipt, or (having told nothing, so kept
          // none) decided again, its writes no-ops, telling nothing now either.
          if (rnd.chance(0.1)) {
            const again = await cut.evaluate(id, delivery);
            if (!again.redelivered) expect(again.messages).toEqual([]);
          }
        }
        expect({ trial, detections: inDeliveries }).toEqual({ trial, detections: whole });
        // The same messages: each opening, update and resolution, its count and times.
        expect({ trial, told: told.sort() }).toEqual({ trial, told: one.messages.map(described).sort() });
        // Each saying when its occurrences began: exactly, or (counters) up to a bucket early, never late.
        for (const m of one.messages) {
          const early = Date.parse(m.alert.firstSeen) - Date.parse(firstSeen.get(m.key) ?? '');
          expect({ trial, key: m.key, early: early >= 0 && early <= (FIRST_SEEN_SLACK[kind] ?? 0) }).toEqual({
            trial,
            key: m.key,
            early: true,
          });
        }
        detected += whole;
      }
      // The streams exercise the rule: most trials detect something.
      expect(detected).toBeGreaterThan(150);
    });
  }
});

/**
 * Two streams of one service (two instances behind a load balancer) are delivered separately, each
 * in time order, one at times up to `skew` seconds behind the other (CloudWatch retries a throttled
 * function's deliveries for hours): a delivery can hold events older than one delivered before it.
 */
async function deliveredFromTwoStreams(rnd: Random, r: ReturnType<typeof rule>, events: NormalizedEvent[], skew: number) {
  const deliveries: { at: number; events: NormalizedEvent[]; id: string }[] = [];
  const streamOf = events.map(() => rnd.int(0, 1));
  for (const stream of [0, 1]) {
    const own = events.filter((_, i) => streamOf[i] === stream);
    for (let i = 0, n = 0; i < own.length; i += n) {
      n = rnd.int(1, 6);
      const delivery = own.slice(i, i + n);
      deliveries.push({
        at: eventTime(delivery[delivery.length - 1] ?? {}) + rnd.int(0, skew) * S,
        events: delivery,
        id: `${stream}-${i}`,
      });
    }
  }
  const d = detector([r]);
  let detections = 0;
  const alerted = new Set<string>();
  for (const delivery of deliveries.sort((a, b) => a.at - b.at)) {
    const out = await d.evaluate(delivery.id, delivery.events);
    detections += out.detections;
    for (const a of out.alerts) alerted.add(a.entity?.value ?? '');
  }
  return { detections, alerted };
}

describe('two streams delivered out of order by seconds or minutes', () => {
  for (const [kind, r] of Object.entries(RULES)) {
    // Counters and sets are by bucket: an event decided before an older one arrives is not decided
    // again, so their counts of occurrences may differ; which entities they alert on may not. A
    // sequence or a new term is decided by time, whatever arrives first.
    const exact = kind === 'sequence' || kind === 'newTerm';
    it(`${kind}: alerts on the entities it alerts on in one delivery${exact ? ', as many times' : ''}`, async () => {
      const rnd = new Random(kind.length * 104_729);
      for (let trial = 0; trial < 200; trial++) {
        // Six users: whether each one's share of the stream meets the rule is often a close call.
        const events = stream(rnd, 20, 6);
        const whole = await detector([r]).evaluate('whole', events);
        const skewed = await deliveredFromTwoStreams(rnd, r, events, trial % 2 === 0 ? 30 : 300);
        expect({ trial, alerted: [...skewed.alerted].sort() }).toEqual({
          trial,
          alerted: [...new Set(whole.alerts.map((a) => a.entity?.value ?? ''))].sort(),
        });
        if (exact) expect({ trial, detections: skewed.detections }).toEqual({ trial, detections: whole.detections });
      }
    });
  }
});

describe('the demo, cut and delivered as CloudWatch might', () => {
  it('re-cut per stream into deliveries of 1–30 events, up to five minutes out of order, some twice: the same alerts and incidents, none told twice', async () => {
    const { pack } = loadPack(['rules'], { checkRegexes: false });
    const dir = mkdtempSync(join(tmpdir(), 'cuts-'));
    const demo = generateDemo(20250303, {});
    const asGenerated = join(dir, 'generated.jsonl');
    writeFileSync(asGenerated, demo.payloads.map((p) => JSON.stringify(p)).join('\n'));
    // Each stream's events in time order, cut anew; each delivery late by up to five minutes.
    const rnd = new Random(14);
    const streams = new Map<string, { payload: SubscriptionPayload; event: SubscriptionPayload['logEvents'][number] }[]>();
    for (const payload of demo.payloads) {
      const key = `${payload.logGroup}\n${payload.logStream}`;
      streams.set(key, [...(streams.get(key) ?? []), ...payload.logEvents.map((event) => ({ payload, event }))]);
    }
    const deliveries: { at: number; payload: SubscriptionPayload }[] = [];
    for (const events of streams.values()) {
      events.sort((a, b) => a.event.timestamp - b.event.timestamp);
      for (let i = 0, n = 0; i < events.length; i += n) {
        n = rnd.int(1, 30);
        const chunk = events.slice(i, i + n);
        const last = chunk[chunk.length - 1];
        if (!last) continue;
        deliveries.push({
          at: last.event.timestamp + rnd.int(0, 300) * S,
          payload: { ...last.payload, logEvents: chunk.map((c) => c.event) },
        });
      }
    }
    // About one in ten delivered again, up to an hour later (at-least-once delivery, a retried batch).
    for (const d of [...deliveries]) if (rnd.chance(0.1)) deliveries.push({ at: d.at + rnd.int(0, 3600) * S, payload: d.payload });
    const recut = join(dir, 'recut.jsonl');
    writeFileSync(
      recut,
      deliveries
        .sort((a, b) => a.at - b.at)
        .map((d) => JSON.stringify(d.payload))
        .join('\n'),
    );
    const told = async (file: string) => {
      const state = await openStateStore('memory');
      const sink = await openCorrelationSink(pack, state);
      const alerts: Alert[] = [];
      await replay([file], { pack, store: state.store, sink, onAlert: (a) => void alerts.push(a) });
      await state.close();
      // Digests are left out: a detection is digested in the hour it is heard in.
      return alerts
        .filter((a) => a.kind !== 'digest')
        .map((a) => `${a.kind} ${a.ruleId} ${a.entity.value} ${a.status}`)
        .sort();
    };
    const generated = await told(asGenerated);
    expect(generated.filter((a) => a.startsWith('incident'))).toHaveLength(demo.expectedIncidents.length);
    expect(await told(recut)).toEqual(generated);
  }, 60_000);
});
