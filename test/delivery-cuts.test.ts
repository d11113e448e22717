import { describe, expect, it } from 'vitest';
import { Random } from '../src/demo/random';
import type { Message } from '../src/schema/alert';
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
 * 80 logins of two users from six addresses, `apart` seconds at most from one another, now and then
 * minutes (long enough for a condition to end); a few lines stand for several.
 */
function stream(rnd: Random, apart = 60): NormalizedEvent[] {
  let t = T0;
  return Array.from({ length: 80 }, () => {
    t += (rnd.chance(0.1) ? rnd.int(100, 2000) : rnd.int(1, apart)) * S;
    const outcome = rnd.chance(0.7) ? 'failure' : 'success';
    const fields = {
      'event.category': 'authentication',
      'event.outcome': outcome,
      'user.name': `u${rnd.int(1, 2)}`,
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
 * in time order, one at times up to half a minute behind the other: a delivery can hold events
 * older than one delivered before it.
 */
async function deliveredFromTwoStreams(rnd: Random, r: ReturnType<typeof rule>, events: NormalizedEvent[]) {
  const deliveries: { at: number; events: NormalizedEvent[]; id: string }[] = [];
  const streamOf = events.map(() => rnd.int(0, 1));
  for (const stream of [0, 1]) {
    const own = events.filter((_, i) => streamOf[i] === stream);
    for (let i = 0, n = 0; i < own.length; i += n) {
      n = rnd.int(1, 6);
      const delivery = own.slice(i, i + n);
      deliveries.push({ at: eventTime(delivery[delivery.length - 1] ?? {}) + rnd.int(0, 30) * S, events: delivery, id: `${stream}-${i}` });
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

describe('two streams delivered out of order by seconds', () => {
  for (const [kind, r] of Object.entries(RULES)) {
    // Counters and sets are by bucket: an event decided before an older one arrives is not decided
    // again, so their counts of occurrences may differ; which entities they alert on may not. A
    // sequence or a new term is decided by time, whatever arrives first.
    const exact = kind === 'sequence' || kind === 'newTerm';
    it(`${kind}: alerts on the entities it alerts on in one delivery${exact ? ', as many times' : ''}`, async () => {
      const rnd = new Random(kind.length * 104_729);
      for (let trial = 0; trial < 100; trial++) {
        const events = stream(rnd, 20);
        const whole = await detector([r]).evaluate('whole', events);
        const skewed = await deliveredFromTwoStreams(rnd, r, events);
        expect({ trial, alerted: [...skewed.alerted].sort() }).toEqual({
          trial,
          alerted: [...new Set(whole.alerts.map((a) => a.entity?.value ?? ''))].sort(),
        });
        if (exact) expect({ trial, detections: skewed.detections }).toEqual({ trial, detections: whole.detections });
      }
    });
  }
});
