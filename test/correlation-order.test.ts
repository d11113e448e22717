import { describe, expect, it } from 'vitest';
import { runCorrelateTask } from '../src/correlation/correlate-task';
import { Random } from '../src/demo/random';
import { MemoryStateStore } from '../src/engine/memory-store';
import { CorrelationRule } from '../src/schema/rule';
import { T0, takeoverMember } from './helpers';

/**
 * Detections reach correlation in the order their log groups are delivered, not in the order they
 * happened: one group's deliveries may be retried for hours (a detector throttled by a flood) while
 * another's arrive at once. An incident is about what happened: some window of the rule's length
 * holding its required members, in order when it is ordered.
 */
const MIN = 60_000;
const WINDOW = 120 * MIN;
const RULE = CorrelationRule.parse({
  id: 'corr.order',
  title: 'Order of {user.name}',
  description: 'a login, an access, an export, in that order',
  severity: 'critical',
  riskScore: 9,
  runbook: 'docs/runbooks/corr.order.md',
  correlation: {
    entity: 'user.name',
    window: '2h',
    ordered: true,
    riskThreshold: 8,
    category: 'insider_threat',
    members: ['t.login', 't.access', 't.export'],
    require: [['t.login'], ['t.access'], ['t.export']],
  },
});
const STEPS = ['t.login', 't.access', 't.export'];

/** Whether some window of the rule's length holds a login, then an access, then an export (by brute force: every triple). */
function happened(detections: readonly [string, number][]): boolean {
  const at = (step: string) => detections.filter(([id]) => id === step).map(([, t]) => t);
  return at('t.login').some((login) =>
    at('t.access').some((access) => access >= login && at('t.export').some((exp) => exp >= access && exp - login <= WINDOW)),
  );
}

async function incidentOpened(arrivals: readonly [string, number][]): Promise<boolean> {
  const store = new MemoryStateStore();
  let opened = false;
  for (const [i, [ruleId, at]] of arrivals.entries()) {
    const { messages } = await runCorrelateTask(takeoverMember(ruleId, at, `det-${i}-${ruleId}`), {
      store,
      rules: [RULE],
      ctx: { region: 'eu-west-1' },
    });
    if (messages.some((m) => m.publishFields.status === 'open')) opened = true;
  }
  return opened;
}

describe('correlation decides what happened, whatever order detections arrive in', () => {
  it('a detection delivered late completes the incident, and detections after its window do not hide it', async () => {
    // The export and a later, unrelated login were correlated before the access came in.
    const arrivals: [string, number][] = [
      ['t.login', T0],
      ['t.export', T0 + 40 * MIN],
      ['t.login', T0 + 5 * 60 * MIN],
      ['t.access', T0 + 20 * MIN],
    ];
    expect(happened(arrivals)).toBe(true);
    expect(await incidentOpened(arrivals)).toBe(true);
  });
  it('property: random detections in random arrival order open an incident exactly when one happened', async () => {
    const rnd = new Random(20261203);
    let incidents = 0;
    for (let trial = 0; trial < 200; trial++) {
      const detections: [string, number][] = Array.from({ length: rnd.int(3, 8) }, () => [
        STEPS[rnd.int(0, 2)] ?? 't.login',
        T0 + rnd.int(0, 4 * 60) * MIN,
      ]);
      const arrivals = [...detections];
      for (let i = arrivals.length - 1; i > 0; i--) {
        const j = rnd.int(0, i);
        [arrivals[i], arrivals[j]] = [arrivals[j] as [string, number], arrivals[i] as [string, number]];
      }
      const expected = happened(detections);
      expect({ trial, detections: arrivals, opened: await incidentOpened(arrivals) }).toEqual({
        trial,
        detections: arrivals,
        opened: expected,
      });
      if (expected) incidents++;
    }
    // Both answers are exercised.
    expect(incidents).toBeGreaterThan(20);
    expect(incidents).toBeLessThan(180);
  });
});
