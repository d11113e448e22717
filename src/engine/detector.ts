import { type AlertContext, buildDetectionAlert, detectionId } from '../alerts/build';
import { type CompiledRule, CompiledRuleSet } from '../rules/compile';
import type { RulePack } from '../rules/rule-pack';
import type { Alert } from '../schema/alert';
import { CoreFields, ENTITY_FIELDS, eventId, eventTime, type NormalizedEvent } from '../schema/event';
import type { CounterIncrement, StateStore } from './state-store';
import { bucketOf, bucketWidth, LATE_ARRIVAL_GRACE_MS, windowFirstBucket } from './windows';

/** A rule decided to alert: the detector still has to pass suppression before it becomes an alert. */
interface Candidate {
  rule: CompiledRule;
  groupKey: string;
  entity: { field: string; value: string };
  trigger: NormalizedEvent;
  evidence: NormalizedEvent[];
  count: number;
  windowStart: number;
  windowEnd: number;
}

export interface DetectorOptions {
  region?: string;
  /** Evidence events kept per alert (before the alert's own sample limit). */
  maxEvidence?: number;
}

export interface BatchResult {
  alerts: Alert[];
  /** Events that matched at least one rule's selection. */
  matchedEvents: number;
}

const MAX_SET_CAP = 1000;
const SEQUENCE_CAP_PER_BUCKET = 200;

/**
 * The detection engine: evaluates a batch of normalized events against the rule pack, keeping
 * windowed state in a StateStore. Pure TypeScript; the store is the only way out.
 *
 * Per batch: events are sorted by time (out-of-order delivery within a batch is fine), matched
 * through the rule index, grouped per rule and entity, and stateful writes are pre-aggregated
 * so each (rule, entity, bucket) costs one store call however many events it holds.
 * Decisions are deterministic for a given batch, which is what makes retries safe (see README).
 */
export class Detector {
  readonly ruleSet: CompiledRuleSet;
  private readonly ctx: AlertContext;
  private readonly maxEvidence: number;

  constructor(
    pack: Pick<RulePack, 'rules'>,
    private readonly store: StateStore,
    options: DetectorOptions = {},
  ) {
    this.ruleSet = new CompiledRuleSet(pack.rules);
    this.ctx = { region: options.region ?? 'us-east-1' };
    this.maxEvidence = options.maxEvidence ?? 20;
  }

  /** Stateless matching only: which rules each event meets. Exposed for benchmarks and tests. */
  matchAll(events: readonly NormalizedEvent[]): Map<CompiledRule, NormalizedEvent[]> {
    const matches = new Map<CompiledRule, NormalizedEvent[]>();
    const hits: CompiledRule[] = [];
    for (const event of events) {
      hits.length = 0;
      this.ruleSet.indexFor(String(event[CoreFields.logGroup] ?? '')).match(event, hits);
      for (const rule of hits) {
        const list = matches.get(rule);
        if (list) list.push(event);
        else matches.set(rule, [event]);
      }
    }
    return matches;
  }

  async evaluate(batchId: string, events: readonly NormalizedEvent[]): Promise<BatchResult> {
    const sorted = [...events].sort((a, b) => eventTime(a) - eventTime(b) || eventId(a).localeCompare(eventId(b)));
    const matches = this.matchAll(sorted);
    const matchedEvents = new Set<NormalizedEvent>();
    const candidates: Candidate[] = [];
    const work: Promise<void>[] = [];
    for (const [rule, matched] of matches) {
      for (const e of matched) matchedEvents.add(e);
      work.push(this.evaluateRule(batchId, rule, matched).then((c) => void candidates.push(...c)));
    }
    await Promise.all(work);
    const alerts = await this.suppress(candidates);
    return { alerts, matchedEvents: matchedEvents.size };
  }

  private evaluateRule(batchId: string, rule: CompiledRule, events: NormalizedEvent[]): Promise<Candidate[]> {
    switch (rule.kind) {
      case 'event':
        return Promise.resolve(this.eventRule(rule, events));
      case 'threshold':
        return this.thresholdRule(batchId, rule, events);
      case 'distinct':
        return this.distinctRule(rule, events);
      case 'sequence':
        return this.sequenceRule(rule, events);
      case 'newTerm':
        return this.newTermRule(rule, events);
      case 'spike':
        return this.spikeRule(batchId, rule, events);
    }
  }

  /** Stateless: one candidate per entity per batch, with the batch's events as evidence. */
  private eventRule(rule: CompiledRule, events: NormalizedEvent[]): Candidate[] {
    const groups = new Map<string, NormalizedEvent[]>();
    const entityField = new Map<string, string>();
    for (const e of events) {
      const field = rule.rule.entity ?? ENTITY_FIELDS.find((f) => e[f] !== undefined) ?? CoreFields.logGroup;
      const value = String(e[field] ?? '');
      const key = `${field}=${value}`;
      entityField.set(key, field);
      push(groups, key, e);
    }
    return [...groups].map(([key, list]) => {
      const first = list[0] as NormalizedEvent;
      const last = list[list.length - 1] as NormalizedEvent;
      const field = entityField.get(key) ?? CoreFields.logGroup;
      return {
        rule,
        groupKey: key,
        entity: { field, value: String(last[field] ?? '') },
        trigger: first,
        evidence: list.slice(0, this.maxEvidence),
        count: list.length,
        windowStart: eventTime(first),
        windowEnd: eventTime(last),
      };
    });
  }

  private async thresholdRule(batchId: string, rule: CompiledRule, events: NormalizedEvent[]): Promise<Candidate[]> {
    const clause = rule.rule.threshold;
    if (!clause) return [];
    const width = bucketWidth(clause.window);
    const groups = groupBy(events, clause.groupBy);
    const pk = (key: string) => `t#${rule.rule.id}#${key}`;

    const increments = bucketIncrements(groups, pk, width, clause.window);
    const now = maxTime(events);
    const results = await this.store.incrementCounters(batchId, increments, now);
    const ranges = [...groups].map(([key, list]) => {
      const [first, last] = bucketSpan(list, width);
      return { key: pk(key), from: windowFirstBucket(first, clause.window, width), to: last };
    });
    const stored = await this.store.readCounters(ranges, now);

    // Counts before this batch: stored totals minus our own delta where the store holds it.
    const ownDelta = new Map<string, number>();
    for (const inc of increments) ownDelta.set(`${inc.key}@${inc.bucket}`, inc.delta);
    const before = new Map<string, Map<number, number>>();
    for (const r of results) {
      const m = before.get(r.key) ?? new Map<number, number>();
      m.set(r.bucket, r.total - (ownDelta.get(`${r.key}@${r.bucket}`) ?? 0));
      before.set(r.key, m);
    }

    const candidates: Candidate[] = [];
    for (const [key, list] of groups) {
      const storedBuckets = stored.get(pk(key)) ?? new Map<number, number>();
      const priorOwn = before.get(pk(key)) ?? new Map<number, number>();
      const countBefore = (b: number) => (priorOwn.has(b) ? (priorOwn.get(b) ?? 0) : (storedBuckets.get(b) ?? 0));
      const batchPerBucket = new Map<number, number>();
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as NormalizedEvent;
        const t = eventTime(e);
        const b = bucketOf(t, width);
        batchPerBucket.set(b, (batchPerBucket.get(b) ?? 0) + 1);
        const first = windowFirstBucket(b, clause.window, width);
        let count = 0;
        for (let x = first; x <= b; x++) count += countBefore(x) + (batchPerBucket.get(x) ?? 0);
        if (count >= clause.count) {
          const windowStart = first * width;
          candidates.push(this.candidate(rule, key, clause.groupBy, e, list.slice(0, i + 1).filter((x) => eventTime(x) >= windowStart), count, windowStart, t));
          break; // the rest of this batch is covered by the suppression window
        }
      }
    }
    return candidates;
  }

  private async distinctRule(rule: CompiledRule, events: NormalizedEvent[]): Promise<Candidate[]> {
    const clause = rule.rule.distinct;
    if (!clause) return [];
    const width = bucketWidth(clause.window);
    const groups = groupBy(events.filter((e) => e[clause.field] !== undefined), clause.groupBy);
    const pk = (key: string) => `d#${rule.rule.id}#${key}`;
    const now = maxTime(events);
    const ranges = [...groups].map(([key, list]) => {
      const [first, last] = bucketSpan(list, width);
      return { key: pk(key), from: windowFirstBucket(first, clause.window, width), to: last };
    });
    const stored = await this.store.readSets(ranges, now);
    const cap = Math.min(MAX_SET_CAP, clause.count);
    const adds = [];
    const candidates: Candidate[] = [];
    for (const [key, list] of groups) {
      const storedBuckets = stored.get(pk(key)) ?? new Map<number, string[]>();
      const batchBuckets = new Map<number, Set<string>>();
      let fired = false;
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as NormalizedEvent;
        const t = eventTime(e);
        const b = bucketOf(t, width);
        const set = batchBuckets.get(b) ?? new Set<string>();
        set.add(String(e[clause.field]));
        batchBuckets.set(b, set);
        if (fired) continue;
        const first = windowFirstBucket(b, clause.window, width);
        const union = new Set<string>();
        for (let x = first; x <= b; x++) {
          for (const v of storedBuckets.get(x) ?? []) union.add(v);
          for (const v of batchBuckets.get(x) ?? []) union.add(v);
        }
        if (union.size >= clause.count) {
          fired = true;
          const windowStart = first * width;
          candidates.push(this.candidate(rule, key, clause.groupBy, e, list.slice(0, i + 1).filter((x) => eventTime(x) >= windowStart), union.size, windowStart, t));
        }
      }
      for (const [bucket, members] of batchBuckets) {
        adds.push({ key: pk(key), bucket, members: [...members].sort(), cap, expiresAt: bucketExpiry(bucket, width, clause.window) });
      }
    }
    await this.store.addToSets(adds, now);
    return candidates;
  }

  private async sequenceRule(rule: CompiledRule, events: NormalizedEvent[]): Promise<Candidate[]> {
    const clause = rule.rule.sequence;
    if (!clause) return [];
    const width = bucketWidth(clause.window);
    const groups = groupBy(events, clause.groupBy);
    const steps = rule.steps;
    const pk = (key: string, step: number) => `s#${rule.rule.id}#${key}#${step}`;
    const now = maxTime(events);
    const ranges = [];
    for (const [key, list] of groups) {
      const [first, to] = bucketSpan(list, width);
      const from = windowFirstBucket(first, clause.window, width);
      for (let s = 0; s < steps.length; s++) ranges.push({ key: pk(key, s), from, to });
    }
    const stored = await this.store.readSets(ranges, now);
    const candidates: Candidate[] = [];
    const adds = [];
    for (const [key, list] of groups) {
      // Occurrences per step: [time, eventId], stored ones first, then this batch's.
      // Stored members are `time:eventId`; the seen sets keep a retried event from counting twice.
      const seen = steps.map((_, s) => new Set([...(stored.get(pk(key, s)) ?? new Map<number, string[]>()).values()].flat()));
      const occurrences: [number, string][][] = seen.map((members) =>
        [...members].map((m): [number, string] => {
          const sep = m.indexOf(':');
          return [Number(m.slice(0, sep)), m.slice(sep + 1)];
        }),
      );
      const batchAdds = new Map<string, string[]>();
      let fired = false;
      for (const e of list) {
        const t = eventTime(e);
        const id = eventId(e);
        steps.forEach((step, s) => {
          if (!step.predicate(e)) return;
          const member = `${t}:${id}`;
          const stepSeen = seen[s];
          if (stepSeen && !stepSeen.has(member)) {
            stepSeen.add(member);
            occurrences[s]?.push([t, id]);
          }
          const addKey = `${s}@${bucketOf(t, width)}`;
          const members = batchAdds.get(addKey) ?? [];
          members.push(member);
          batchAdds.set(addKey, members);
        });
        const lastStep = steps[steps.length - 1];
        if (fired || !lastStep?.predicate(e)) continue;
        if (sequenceCompletes(occurrences, steps.map((s) => s.count), t, clause.window)) {
          fired = true;
          const evidence = list.filter((x) => eventTime(x) >= t - clause.window && eventTime(x) <= t);
          candidates.push(this.candidate(rule, key, clause.groupBy, e, evidence, evidence.length, t - clause.window, t));
        }
      }
      for (const [addKey, members] of batchAdds) {
        const [s, b] = addKey.split('@').map(Number);
        const bucket = b ?? 0;
        adds.push({ key: pk(key, s ?? 0), bucket, members, cap: SEQUENCE_CAP_PER_BUCKET, expiresAt: bucketExpiry(bucket, width, clause.window) });
      }
    }
    await this.store.addToSets(adds, now);
    return candidates;
  }

  private async newTermRule(rule: CompiledRule, events: NormalizedEvent[]): Promise<Candidate[]> {
    const clause = rule.rule.newTerm;
    if (!clause) return [];
    const groups = groupBy(events.filter((e) => e[clause.field] !== undefined), clause.groupBy);
    const claims = [];
    const claimEvents: [string, NormalizedEvent][] = [];
    for (const [key, list] of groups) {
      const seen = new Set<string>();
      for (const e of list) {
        const term = String(e[clause.field]).toLowerCase();
        if (seen.has(term)) continue; // one claim per (entity, term) per batch
        seen.add(term);
        const at = eventTime(e);
        claims.push({ key: `n#${rule.rule.id}#${key}`, term, owner: eventId(e) || `${at}`, at, expiresAt: at + clause.baseline });
        claimEvents.push([key, e]);
      }
    }
    const results = await this.store.claimTerms(claims, maxTime(events));
    const candidates: Candidate[] = [];
    results.forEach((r, i) => {
      const pair = claimEvents[i];
      if (!pair || !r.isNew || (clause.requireHistory && !r.hadHistory)) return;
      const [key, e] = pair;
      candidates.push(this.candidate(rule, key, clause.groupBy, e, [e], 1, eventTime(e), eventTime(e)));
    });
    return candidates;
  }

  private async spikeRule(batchId: string, rule: CompiledRule, events: NormalizedEvent[]): Promise<Candidate[]> {
    const clause = rule.rule.spike;
    if (!clause) return [];
    // Spike buckets are whole windows: the baseline is the mean count of the previous windows.
    const width = clause.window;
    const baselineBuckets = Math.round(clause.baseline / clause.window);
    const groups = clause.groupBy.length > 0 ? groupBy(events, clause.groupBy) : new Map([[`${String(events[0]?.[CoreFields.logGroup] ?? '')}`, events]]);
    const pk = (key: string) => `p#${rule.rule.id}#${key}`;
    const increments = bucketIncrements(groups, pk, width, clause.baseline);
    const now = maxTime(events);
    const results = await this.store.incrementCounters(batchId, increments, now);
    const ranges = [...groups].map(([key, list]) => {
      const [first, last] = bucketSpan(list, width);
      return { key: pk(key), from: first - baselineBuckets, to: last };
    });
    const stored = await this.store.readCounters(ranges, now);
    const totals = new Map(results.map((r) => [`${r.key}@${r.bucket}`, r.total]));
    const candidates: Candidate[] = [];
    for (const [key, list] of groups) {
      const storedBuckets = stored.get(pk(key)) ?? new Map<number, number>();
      const perBucket = new Map<number, NormalizedEvent[]>();
      for (const e of list) push(perBucket, bucketOf(eventTime(e), width), e);
      for (const [bucket, bucketEvents] of perBucket) {
        let baselineSum = 0;
        for (let x = bucket - baselineBuckets; x < bucket; x++) baselineSum += storedBuckets.get(x) ?? 0;
        const mean = baselineSum / baselineBuckets;
        const needed = Math.max(clause.min, Math.ceil(clause.factor * mean));
        const total = totals.get(`${pk(key)}@${bucket}`) ?? bucketEvents.length;
        const before = total - bucketEvents.length;
        if (before >= needed || total < needed) continue; // fire only on the batch that crosses
        const trigger = bucketEvents[needed - before - 1] ?? bucketEvents[bucketEvents.length - 1];
        if (!trigger) continue;
        candidates.push(this.candidate(rule, key, clause.groupBy, trigger, bucketEvents.slice(0, needed - before), total, bucket * width, eventTime(trigger)));
      }
    }
    return candidates;
  }

  private candidate(
    rule: CompiledRule,
    groupKey: string,
    groupFields: readonly string[],
    trigger: NormalizedEvent,
    evidence: NormalizedEvent[],
    count: number,
    windowStart: number,
    windowEnd: number,
  ): Candidate {
    const field = groupFields[0] ?? CoreFields.logGroup;
    return {
      rule,
      groupKey,
      entity: { field, value: String(trigger[field] ?? groupKey) },
      trigger,
      evidence: evidence.slice(-this.maxEvidence),
      count,
      windowStart,
      windowEnd,
    };
  }

  /**
   * Applies suppression markers: one alert per rule and entity per suppression window. Claims run
   * in trigger-time order, and an alert is only built (redaction, links) once it is allowed.
   */
  private async suppress(candidates: Candidate[]): Promise<Alert[]> {
    const alerts: Alert[] = [];
    for (const c of [...candidates].sort((a, b) => eventTime(a.trigger) - eventTime(b.trigger))) {
      const window = suppressWindow(c.rule);
      if (window > 0) {
        const owner = detectionId(c.rule.rule.id, c.groupKey, c.trigger);
        const [allowed] = await this.store.claimMarkers([{ key: `x#${c.rule.rule.id}#${c.groupKey}`, owner, expiresAt: eventTime(c.trigger) + window }], eventTime(c.trigger));
        if (!allowed) continue;
      }
      alerts.push(buildDetectionAlert({ ...c, rule: c.rule.rule }, this.ctx));
    }
    return alerts.sort((a, b) => a.lastSeen.localeCompare(b.lastSeen) || a.id.localeCompare(b.id));
  }

}

/** Stateful rules re-arm after their window by default; stateless ones alert per batch unless told. */
function suppressWindow(rule: CompiledRule): number {
  const r = rule.rule;
  if (r.suppress !== undefined) return r.suppress;
  return r.threshold?.window ?? r.distinct?.window ?? r.sequence?.window ?? r.spike?.window ?? 0;
}

/**
 * Greedy check that the steps happened in order within the window ending at t:
 * each step needs `count` occurrences, all after the previous step was satisfied.
 */
export function sequenceCompletes(occurrences: [number, string][][], counts: number[], t: number, windowMs: number): boolean {
  let cursor = t - windowMs;
  for (let s = 0; s < occurrences.length; s++) {
    const need = counts[s] ?? 1;
    const times = (occurrences[s] ?? []).map(([ot]) => ot).filter((ot) => ot >= cursor && ot <= t).sort((a, b) => a - b);
    const hit = times[need - 1];
    if (hit === undefined) return false;
    cursor = hit;
  }
  return true;
}

/** Pre-aggregation: one counter increment per (key, bucket) for the whole batch, however many events it holds. */
function bucketIncrements(groups: Map<string, NormalizedEvent[]>, pk: (key: string) => string, width: number, keepMs: number): CounterIncrement[] {
  const increments: CounterIncrement[] = [];
  for (const [key, list] of groups) {
    const perBucket = new Map<number, number>();
    for (const e of list) {
      const b = bucketOf(eventTime(e), width);
      perBucket.set(b, (perBucket.get(b) ?? 0) + 1);
    }
    for (const [bucket, delta] of perBucket) increments.push({ key: pk(key), bucket, delta, expiresAt: bucketExpiry(bucket, width, keepMs) });
  }
  return increments;
}

/** A bucket's state is needed for `keepMs` (window or baseline) after the bucket ends, plus the late-arrival grace. */
function bucketExpiry(bucket: number, width: number, keepMs: number): number {
  return (bucket + 1) * width + keepMs + LATE_ARRIVAL_GRACE_MS;
}

/** First and last bucket of a time-sorted, non-empty group. */
function bucketSpan(list: readonly NormalizedEvent[], width: number): [number, number] {
  return [bucketOf(eventTime(list[0] ?? {}), width), bucketOf(eventTime(list[list.length - 1] ?? {}), width)];
}

function groupBy(events: readonly NormalizedEvent[], fields: readonly string[]): Map<string, NormalizedEvent[]> {
  const groups = new Map<string, NormalizedEvent[]>();
  outer: for (const e of events) {
    const parts: string[] = [];
    for (const f of fields) {
      const v = e[f];
      if (v === undefined || v === '') continue outer; // events without the entity cannot be attributed
      parts.push(String(v));
    }
    push(groups, parts.join('|'), e);
  }
  return groups;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function maxTime(events: readonly NormalizedEvent[]): number {
  let max = 0;
  for (const e of events) max = Math.max(max, eventTime(e));
  return max;
}
