import type { MemberRecord } from '../alerts/build';
import { evaluateCorrelations } from '../correlation/correlate';
import { mergeRisk, type RiskRecord } from '../correlation/risk';
import { Detector, notifications } from '../engine/detector';
import { SWEEP_PERIOD_MS } from '../engine/lifecycle';
import { MemoryStateStore } from '../engine/memory-store';
import { sweep } from '../engine/sweeper';
import { Calendar } from '../parse/calendar';
import { flattenInto } from '../parse/flatten';
import { Normalizer, withDefaultService } from '../parse/normalize';
import { parseTimestamp } from '../parse/timestamp';
import { parseDuration } from '../schema/duration';
import { eventTime, type FieldValue, type NormalizedEvent } from '../schema/event';
import type { CorrelationRule, DetectionRule } from '../schema/rule';
import { type Severity, severityRank } from '../schema/severity';
import type { RulePack } from './rule-pack';
import { changeMoves, type PackList } from './value-lists';

export interface RuleTestResult {
  ruleId: string;
  test: string;
  passed: boolean;
  detail: string;
}

type DetectionTest = DetectionRule['tests'][number];

/** Expands a rule test's events (repeat/every/vary, `at` offsets) into normalized events. */
export function expandTestEvents(test: DetectionTest, normalizer: Normalizer): NormalizedEvent[] {
  const start = Date.parse(test.start);
  const calendar = new Calendar(test.timeZone);
  const out: NormalizedEvent[] = [];
  let clock = start;
  let seq = 0;
  const finish = (raw: Record<string, unknown>) => {
    const event: Record<string, FieldValue> = {};
    const { at, ...rest } = raw;
    flattenInto(event, rest);
    const offset = typeof at === 'string' ? parseDuration(at) : undefined;
    const explicit = parseTimestamp(event['@timestamp']);
    const ts = offset !== undefined ? start + offset : (explicit ?? clock);
    clock = ts + 1000;
    seq++;
    event['@timestamp'] = ts;
    calendar.apply(event, ts);
    event['cloudwatch.log_group'] ??= test.logGroup;
    withDefaultService(event, test.logGroup);
    event['cloudwatch.log_stream'] ??= test.logStream;
    event['cloudwatch.event_id'] ??= `test-${seq}`;
    event.message ??= JSON.stringify(rest);
    event['event.original'] ??= String(event.message);
    out.push(event);
  };
  for (const item of test.events ?? []) {
    if (item.kind === 'repeat') {
      const first = clock;
      for (let i = 0; i < item.repeat; i++) {
        const e: Record<string, unknown> = { ...item.event };
        for (const [field, values] of Object.entries(item.vary)) e[field] = numbered(values[i % values.length], i);
        clock = first + i * item.every;
        finish(e);
      }
    } else {
      finish(item.fields);
    }
  }
  (test.lines ?? []).forEach((line, i) => {
    const result = normalizer.normalize(
      line,
      { logGroup: test.logGroup, logStream: test.logStream, id: `line-${i}`, timestamp: clock + i * 1000 },
      normalizer.sourceFor(test.logGroup, line, test.logStream),
    );
    if (result.ok) out.push(result.event);
  });
  return out;
}

/** A `vary` value of repetition `i`: `{i}` in a string is its number. */
function numbered(value: string | number | undefined, i: number): string | number | undefined {
  return typeof value === 'string' ? value.replaceAll('{i}', String(i)) : value;
}

export async function runDetectionRuleTests(rule: DetectionRule, pack: Pick<RulePack, 'sources'>): Promise<RuleTestResult[]> {
  const normalizer = new Normalizer(pack.sources);
  const results: RuleTestResult[] = [];
  for (const test of rule.tests) {
    const store = new MemoryStateStore();
    const tested = { ...rule, disabled: false };
    const detector = new Detector({ rules: [tested] }, store);
    const events = expandTestEvents(test, test.timeZone ? new Normalizer(pack.sources, { timeZone: test.timeZone }) : normalizer);
    // Feed events in batches of 50 to exercise state across batches, as production does.
    const titles: string[] = [];
    let severest: Severity | undefined;
    for (let i = 0; i < events.length; i += 50) {
      const batch = events.slice(i, i + 50);
      for (const alert of (await detector.evaluate(`${rule.id}:${test.name}:${i}`, batch)).alerts) {
        titles.push(alert.title);
        if (severest === undefined || severityRank(alert.severity) > severityRank(severest)) severest = alert.severity;
      }
    }
    if (test.quietAfter !== undefined) {
      // The clock runs on with no events, the sweeper every 5 minutes: what it opens counts (not resolved notices).
      const last = events.reduce((t, e) => Math.max(t, eventTime(e)), Date.parse(test.start));
      const deps = { store, pack: { rules: [tested], correlations: [] }, ctx: { region: 'us-east-1' }, send: async () => {} };
      for (let at = last + SWEEP_PERIOD_MS; at <= last + test.quietAfter; at += SWEEP_PERIOD_MS) {
        for (const alert of notifications((await sweep(deps, at)).messages))
          if (alert.status !== 'resolved' && alert.kind !== 'digest') titles.push(alert.title);
      }
    }
    const alerts = titles.length;
    const counted = test.expect === 'fire' ? (test.alerts === undefined ? alerts >= 1 : alerts === test.alerts) : alerts === 0;
    const titled = test.expect !== 'fire' || test.title === undefined || titles[0] === test.title;
    const graded = test.expect !== 'fire' || test.severity === undefined || severest === test.severity;
    const wanted = test.expect === 'fire' ? (test.alerts === undefined ? 'at least 1 alert' : `${test.alerts} alert(s)`) : 'no alert';
    let detail = `expected ${wanted}, got ${alerts} from ${events.length} event(s)`;
    if (!titled) detail += `; expected the title ${JSON.stringify(test.title)}, got ${JSON.stringify(titles[0] ?? null)}`;
    if (!graded) detail += `; expected the most severe alert ${test.severity}, got ${severest ?? 'none'}`;
    results.push({ ruleId: rule.id, test: test.name, passed: counted && titled && graded, detail });
  }
  return results;
}

export function runCorrelationRuleTests(rule: CorrelationRule, pack: Pick<RulePack, 'rules'>): RuleTestResult[] {
  const byId = new Map(pack.rules.map((r) => [r.id, r]));
  return rule.tests.map((test) => {
    const base = Date.parse('2025-03-02T03:00:00Z');
    // One risk record per rule, as correlation keeps them; detections naming the same `event` came from one observed event.
    const records = new Map<string, RiskRecord>();
    test.detections.forEach((d, i) => {
      const member = byId.get(d.ruleId);
      const at = new Date(base + d.at).toISOString();
      const record: MemberRecord = {
        id: `det-test-${i}`,
        ruleId: d.ruleId,
        title: member?.title ?? d.ruleId,
        tags: member?.tags ?? [],
        riskScore: member?.riskScore ?? 0,
        severity: member?.severity ?? 'low',
        firstSeen: at,
        lastSeen: at,
        logGroups: [],
        events: [{ timestamp: at, logGroup: '/test', logStream: 'test', eventId: d.event ?? `event-${i}`, message: d.ruleId }],
        related: {},
      };
      records.set(d.ruleId, mergeRisk(records.get(d.ruleId), record));
    });
    const entity = { field: rule.correlation.entity, value: test.entity };
    const decisions = evaluateCorrelations(entity, [...records.values()], [{ ...rule, disabled: false }]);
    const fired = decisions.length > 0;
    const riskOk = test.risk === undefined || decisions[0]?.riskScore === test.risk;
    const passed = (test.expect === 'fire') === fired && riskOk;
    const risk = decisions[0]?.riskScore;
    const wanted = test.expect === 'fire' ? `an incident${test.risk === undefined ? '' : ` with risk ${test.risk}`}` : 'no incident';
    return { ruleId: rule.id, test: test.name, passed, detail: `expected ${wanted}, got ${fired ? `an incident (risk ${risk})` : 'none'}` };
  });
}

export async function runAllRuleTests(pack: RulePack): Promise<RuleTestResult[]> {
  const results: RuleTestResult[] = [];
  for (const rule of pack.rules) {
    const hint = changedListsHint(rule.id, pack.lists);
    for (const result of await runDetectionRuleTests(rule, pack))
      results.push(result.passed || hint === undefined ? result : { ...result, detail: `${result.detail}; ${hint}` });
  }
  for (const rule of pack.correlations) results.push(...runCorrelationRuleTests(rule, pack));
  return results;
}

/**
 * A shipped test pins values against the shipped lists: when a deployment's change to a list the
 * rule reads makes it fail (its scanner is the test's address), the failure says which change.
 */
function changedListsHint(ruleId: string, lists: readonly PackList[]): string | undefined {
  const changes = lists.flatMap((list) => {
    if (!list.change || !list.readBy.includes(ruleId)) return [];
    return [`list '${list.name}', which ${list.change.file} changed (${changeMoves(list.change)})`];
  });
  if (changes.length === 0) return undefined;
  return `the rule reads ${changes.join(' and ')}: a value this test pins may be one the change adds or removes`;
}
