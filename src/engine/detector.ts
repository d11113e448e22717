import { type AlertContext, buildDetectionAlert, detectionId } from '../alerts/build';
import { type CompiledRule, CompiledRuleSet } from '../rules/compile';
import type { RulePack } from '../rules/rule-pack';
import type { Alert } from '../schema/alert';
import { CoreFields, ENTITY_FIELDS, eventId, eventTime, eventWeight, type NormalizedEvent } from '../schema/event';
import type { CounterIncrement, StateStore, StoredMarker, TermClaim } from './state-store';
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
  /** The batch had been decided before: its recorded alerts were returned, no state changed. */
  redelivered: boolean;
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
    for (const matched of matches.values()) for (const e of matched) matchedEvents.add(e);
    // A redelivered batch (at-least-once delivery, Lambda retries) re-sends what it decided the
    // first time instead of deciding again over state that already holds its own events.
    const receipt = await this.store.readReceipt(batchId);
    if (receipt) return { alerts: receipt, matchedEvents: matchedEvents.size, redelivered: true };

    const candidates: Candidate[] = [];
    await Promise.all(
      [...matches].map(async ([rule, matched]) => {
        const groups = await this.qualify(batchId, rule, matched);
        candidates.push(...(await this.fire(rule, groups)));
      }),
    );
    const alerts = await this.suppress(candidates);
    await this.store.writeReceipt(batchId, alerts, eventTime(sorted[sorted.length - 1] ?? {}) + LATE_ARRIVAL_GRACE_MS);
    return { alerts, matchedEvents: matchedEvents.size, redelivered: false };
  }

  /** Which events of each group meet the rule's condition, with the state as of that event. */
  private qualify(batchId: string, rule: CompiledRule, events: NormalizedEvent[]): Promise<QualifiedGroup[]> {
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

  /**
   * Turns qualifying events into candidates, one per suppression window: the first qualifier
   * fires, the next one fires only once the window since it has passed. Doing this per event
   * rather than once per batch makes decisions independent of how events were split into
   * batches. The stored marker (read only for groups that qualified) carries the window over
   * from earlier batches; triggers whose window ends before the marker's trigger (a batch that
   * arrived out of order) are not held back by it. Its owner may fire again, which is what
   * a retry after a crash needs.
   */
  private async fire(rule: CompiledRule, groups: QualifiedGroup[]): Promise<Candidate[]> {
    if (groups.length === 0) return [];
    const window = suppressWindow(rule);
    const markers = window > 0 ? await this.store.readMarkers(groups.map((g) => markerKey(rule, g.key))) : new Map<string, StoredMarker>();
    const candidates: Candidate[] = [];
    for (const g of groups) {
      const marker = markers.get(markerKey(rule, g.key));
      // A stored marker holds back triggers whose own window would overlap its trigger.
      let blockedAfter = marker ? marker.at - window : Number.POSITIVE_INFINITY;
      let blockedUntil = marker?.expiresAt ?? Number.NEGATIVE_INFINITY;
      let owner = marker?.owner;
      for (const q of g.qualifiers) {
        const trigger = g.list[q.index] as NormalizedEvent;
        const t = eventTime(trigger);
        if (t > blockedAfter && t < blockedUntil) {
          // Only the marker's own trigger may pass (a retry after a crash re-sends it).
          const ownTrigger = owner !== undefined && t === marker?.at && detectionId(rule.rule.id, g.key, trigger) === owner;
          if (!ownTrigger) continue;
        }
        candidates.push(this.candidate(rule, g, q, window));
        if (window > 0) {
          blockedAfter = Number.NEGATIVE_INFINITY; // events are sorted: only later ones remain
          blockedUntil = t + window;
        }
        owner = undefined;
      }
    }
    return candidates;
  }

  /** Stateless: every matching event qualifies; suppression spaces the alerts. */
  private eventRule(rule: CompiledRule, events: NormalizedEvent[]): QualifiedGroup[] {
    const groups = new Map<string, NormalizedEvent[]>();
    const entityField = new Map<string, string>();
    for (const e of events) {
      const field = rule.rule.entity ?? ENTITY_FIELDS.find((f) => e[f] !== undefined) ?? CoreFields.logGroup;
      const key = `${field}=${String(e[field] ?? '')}`;
      entityField.set(key, field);
      push(groups, key, e);
    }
    return [...groups].map(([key, list]) => ({
      key,
      list,
      entityField: entityField.get(key) ?? CoreFields.logGroup,
      forward: true,
      qualifiers: list.map((e, index) => ({ index, from: index, count: 0, windowStart: eventTime(e) })),
    }));
  }

  private async thresholdRule(batchId: string, rule: CompiledRule, events: NormalizedEvent[]): Promise<QualifiedGroup[]> {
    const clause = rule.rule.threshold;
    if (!clause) return [];
    const width = bucketWidth(clause.window);
    const groups = groupBy(events, clause.groupBy);
    const pk = (key: string) => `t#${rule.rule.id}#${key}`;

    const increments = bucketIncrements(groups, pk, width, clause.window);
    const now = storeClock(events);
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

    const qualified: QualifiedGroup[] = [];
    for (const [key, list] of groups) {
      const storedBuckets = stored.get(pk(key)) ?? new Map<number, number>();
      const priorOwn = before.get(pk(key)) ?? new Map<number, number>();
      const countBefore = (b: number) => (priorOwn.has(b) ? (priorOwn.get(b) ?? 0) : (storedBuckets.get(b) ?? 0));
      const batchPerBucket = new Map<number, number>();
      const qualifiers: Qualifier[] = [];
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as NormalizedEvent;
        const b = bucketOf(eventTime(e), width);
        batchPerBucket.set(b, (batchPerBucket.get(b) ?? 0) + eventWeight(e));
        const first = windowFirstBucket(b, clause.window, width);
        let count = 0;
        for (let x = first; x <= b; x++) count += countBefore(x) + (batchPerBucket.get(x) ?? 0);
        if (count >= clause.count) qualifiers.push({ index: i, from: 0, count, windowStart: first * width });
      }
      if (qualifiers.length > 0) qualified.push({ key, list, entityField: clause.groupBy[0], qualifiers });
    }
    return qualified;
  }

  private async distinctRule(rule: CompiledRule, events: NormalizedEvent[]): Promise<QualifiedGroup[]> {
    const clause = rule.rule.distinct;
    if (!clause) return [];
    const width = bucketWidth(clause.window);
    const groups = groupBy(
      events.filter((e) => e[clause.field] !== undefined),
      clause.groupBy,
    );
    const pk = (key: string) => `d#${rule.rule.id}#${key}`;
    const now = storeClock(events);
    const ranges = [...groups].map(([key, list]) => {
      const [first, last] = bucketSpan(list, width);
      return { key: pk(key), from: windowFirstBucket(first, clause.window, width), to: last };
    });
    const stored = await this.store.readSets(ranges, now);
    const cap = Math.min(MAX_SET_CAP, clause.count);
    const adds = [];
    const qualified: QualifiedGroup[] = [];
    for (const [key, list] of groups) {
      const storedBuckets = stored.get(pk(key)) ?? new Map<number, string[]>();
      const batchBuckets = new Map<number, Set<string>>();
      const qualifiers: Qualifier[] = [];
      // The window's union is rebuilt only when the event's bucket changes (events are sorted);
      // within a bucket each new value is simply added.
      let unionBucket = Number.NaN;
      let union = new Set<string>();
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as NormalizedEvent;
        const b = bucketOf(eventTime(e), width);
        const value = String(e[clause.field]);
        const set = batchBuckets.get(b) ?? new Set<string>();
        set.add(value);
        batchBuckets.set(b, set);
        const first = windowFirstBucket(b, clause.window, width);
        if (b !== unionBucket) {
          unionBucket = b;
          union = new Set<string>();
          for (let x = first; x <= b; x++) {
            for (const v of storedBuckets.get(x) ?? []) union.add(v);
            for (const v of batchBuckets.get(x) ?? []) union.add(v);
          }
        } else union.add(value);
        if (union.size >= clause.count) qualifiers.push({ index: i, from: 0, count: union.size, windowStart: first * width });
      }
      if (qualifiers.length > 0) qualified.push({ key, list, entityField: clause.groupBy[0], qualifiers });
      for (const [bucket, members] of batchBuckets) {
        adds.push({ key: pk(key), bucket, members: [...members].sort(), cap, expiresAt: bucketExpiry(bucket, width, clause.window) });
      }
    }
    await this.store.addToSets(adds, now);
    return qualified;
  }

  private async sequenceRule(rule: CompiledRule, events: NormalizedEvent[]): Promise<QualifiedGroup[]> {
    const clause = rule.rule.sequence;
    if (!clause) return [];
    const width = bucketWidth(clause.window);
    const groups = groupBy(events, clause.groupBy);
    const steps = rule.steps;
    const counts = steps.map((s) => s.count);
    const pk = (key: string, step: number) => `s#${rule.rule.id}#${key}#${step}`;
    const now = storeClock(events);
    const ranges = [];
    for (const [key, list] of groups) {
      const [first, to] = bucketSpan(list, width);
      const from = windowFirstBucket(first, clause.window, width);
      for (let s = 0; s < steps.length; s++) ranges.push({ key: pk(key, s), from, to });
    }
    const stored = await this.store.readSets(ranges, now);
    const qualified: QualifiedGroup[] = [];
    const adds = [];
    for (const [key, list] of groups) {
      // Occurrence times per step, kept sorted: stored ones first, then this batch's.
      // Stored members are `time:eventId`; the seen sets keep a retried event from counting twice.
      const seen = steps.map((_, s) => new Set([...(stored.get(pk(key, s)) ?? new Map<number, string[]>()).values()].flat()));
      const times = seen.map((members) => [...members].flatMap(memberTimes).sort((a, b) => a - b));
      const batchAdds = new Map<string, string[]>();
      const qualifiers: Qualifier[] = [];
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as NormalizedEvent;
        const t = eventTime(e);
        const weight = Math.min(eventWeight(e), MAX_STEP_WEIGHT);
        const member = `${t}${weight > 1 ? `*${weight}` : ''}:${eventId(e)}`;
        for (let s = 0; s < steps.length; s++) {
          if (!steps[s]?.predicate(e)) continue;
          const stepSeen = seen[s];
          const stepTimes = times[s];
          if (stepSeen && stepTimes && !stepSeen.has(member)) {
            stepSeen.add(member);
            for (let w = 0; w < weight; w++) insertSorted(stepTimes, t);
          }
          push(batchAdds, `${s}@${bucketOf(t, width)}`, member);
        }
        if (!steps[steps.length - 1]?.predicate(e)) continue;
        if (sequenceCompletes(times, counts, t, clause.window)) {
          qualifiers.push({ index: i, from: 0, count: 0, windowStart: t - clause.window });
        }
      }
      if (qualifiers.length > 0) qualified.push({ key, list, entityField: clause.groupBy[0], qualifiers });
      for (const [addKey, members] of batchAdds) {
        const [s, b] = addKey.split('@').map(Number);
        const bucket = b ?? 0;
        adds.push({
          key: pk(key, s ?? 0),
          bucket,
          members,
          cap: SEQUENCE_CAP_PER_BUCKET,
          expiresAt: bucketExpiry(bucket, width, clause.window),
        });
      }
    }
    await this.store.addToSets(adds, now);
    return qualified;
  }

  private async newTermRule(rule: CompiledRule, events: NormalizedEvent[]): Promise<QualifiedGroup[]> {
    const clause = rule.rule.newTerm;
    if (!clause) return [];
    const groups = groupBy(
      events.filter((e) => e[clause.field] !== undefined),
      clause.groupBy,
    );
    const claims: TermClaim[] = [];
    const claimed: [string, NormalizedEvent[], number][] = [];
    for (const [key, list] of groups) {
      // One claim per (entity, term) per batch, made at the term's first occurrence; its expiry
      // runs from the last one, as a claim per event would have left it.
      const byTerm = new Map<string, TermClaim>();
      list.forEach((e, index) => {
        const term = String(e[clause.field]).toLowerCase();
        const at = eventTime(e);
        const known = byTerm.get(term);
        if (known) {
          known.expiresAt = at + clause.baseline;
          return;
        }
        const claim = { key: `n#${rule.rule.id}#${key}`, term, owner: eventId(e) || `${at}`, at, expiresAt: at + clause.baseline };
        byTerm.set(term, claim);
        claims.push(claim);
        claimed.push([key, list, index]);
      });
    }
    const results = await this.store.claimTerms(claims, storeClock(events));
    const qualified = new Map<string, QualifiedGroup>();
    results.forEach((r, i) => {
      const entry = claimed[i];
      if (!entry || !r.isNew || (clause.requireHistory && !r.hadHistory)) return;
      const [key, list, index] = entry;
      const group = qualified.get(key) ?? { key, list, entityField: clause.groupBy[0], qualifiers: [] };
      group.qualifiers.push({ index, from: index, count: 1, windowStart: eventTime(list[index] as NormalizedEvent) });
      qualified.set(key, group);
    });
    for (const g of qualified.values()) g.qualifiers.sort((a, b) => a.index - b.index);
    return [...qualified.values()];
  }

  private async spikeRule(batchId: string, rule: CompiledRule, events: NormalizedEvent[]): Promise<QualifiedGroup[]> {
    const clause = rule.rule.spike;
    if (!clause) return [];
    // Spike buckets are whole windows: the baseline is the mean count of the previous windows.
    const width = clause.window;
    const baselineBuckets = Math.round(clause.baseline / clause.window);
    const groups =
      clause.groupBy.length > 0
        ? groupBy(events, clause.groupBy)
        : new Map([[`${String(events[0]?.[CoreFields.logGroup] ?? '')}`, events]]);
    const pk = (key: string) => `p#${rule.rule.id}#${key}`;
    const increments = bucketIncrements(groups, pk, width, clause.baseline);
    const now = storeClock(events);
    const results = await this.store.incrementCounters(batchId, increments, now);
    const ranges = [...groups].map(([key, list]) => {
      const [first, last] = bucketSpan(list, width);
      return { key: pk(key), from: first - baselineBuckets, to: last };
    });
    const stored = await this.store.readCounters(ranges, now);
    const totals = new Map(results.map((r) => [`${r.key}@${r.bucket}`, r.total]));
    const qualified: QualifiedGroup[] = [];
    for (const [key, list] of groups) {
      const storedBuckets = stored.get(pk(key)) ?? new Map<number, number>();
      const qualifiers: Qualifier[] = [];
      // The list is sorted, so each bucket's events are one contiguous run starting at `from`.
      const firstIndex = new Map<number, number>();
      const perBucket = new Map<number, number>();
      list.forEach((e, i) => {
        const b = bucketOf(eventTime(e), width);
        if (!firstIndex.has(b)) firstIndex.set(b, i);
        perBucket.set(b, (perBucket.get(b) ?? 0) + eventWeight(e));
      });
      for (const [bucket, inBatch] of perBucket) {
        let baselineSum = 0;
        for (let x = bucket - baselineBuckets; x < bucket; x++) baselineSum += storedBuckets.get(x) ?? 0;
        const needed = Math.max(clause.min, Math.ceil(clause.factor * (baselineSum / baselineBuckets)));
        const total = totals.get(`${pk(key)}@${bucket}`) ?? inBatch;
        const before = total - inBatch;
        if (before >= needed || total < needed) continue; // only the batch that crosses qualifies
        const from = firstIndex.get(bucket) ?? 0;
        // The trigger is the event whose (weighted) occurrence crosses the threshold.
        let index = from;
        for (let seen = before + eventWeight(list[index] as NormalizedEvent); seen < needed && index + 1 < list.length; ) {
          index++;
          seen += eventWeight(list[index] as NormalizedEvent);
        }
        qualifiers.push({ index, from, count: total, windowStart: bucket * width });
      }
      if (qualifiers.length > 0) qualified.push({ key, list, entityField: clause.groupBy[0], qualifiers });
    }
    return qualified;
  }

  private candidate(rule: CompiledRule, group: QualifiedGroup, q: Qualifier, window: number): Candidate {
    const trigger = group.list[q.index] as NormalizedEvent;
    const t = eventTime(trigger);
    let evidence: NormalizedEvent[];
    if (group.forward) {
      // Stateless rules: the trigger and what follows it in this batch until the window ends.
      evidence = [];
      for (let i = q.index; i < group.list.length && evidence.length < this.maxEvidence; i++) {
        const e = group.list[i] as NormalizedEvent;
        if (i > q.index && eventTime(e) >= t + window) break;
        evidence.push(e);
      }
    } else {
      evidence = group.list.slice(q.from, q.index + 1).filter((e) => eventTime(e) >= q.windowStart);
    }
    const field = group.entityField ?? CoreFields.logGroup;
    return {
      rule,
      groupKey: group.key,
      entity: { field, value: String(trigger[field] ?? group.key) },
      trigger,
      evidence: evidence.slice(-this.maxEvidence),
      count: q.count > 0 ? q.count : evidence.reduce((n, e) => n + eventWeight(e), 0),
      windowStart: Math.min(q.windowStart, t),
      windowEnd: group.forward ? eventTime(evidence[evidence.length - 1] ?? trigger) : t,
    };
  }

  /**
   * Claims suppression markers: the read in `fire` made the decision, the claim makes it hold
   * against a concurrent detector working on the same entity. Claims run in trigger-time order,
   * and an alert is only built (redaction, links) once it is allowed.
   */
  private async suppress(candidates: Candidate[]): Promise<Alert[]> {
    const alerts: Alert[] = [];
    for (const c of [...candidates].sort((a, b) => eventTime(a.trigger) - eventTime(b.trigger))) {
      const window = suppressWindow(c.rule);
      if (window > 0) {
        const owner = detectionId(c.rule.rule.id, c.groupKey, c.trigger);
        const [allowed] = await this.store.claimMarkers([
          { key: markerKey(c.rule, c.groupKey), owner, at: eventTime(c.trigger), expiresAt: eventTime(c.trigger) + window },
        ]);
        if (!allowed) continue;
      }
      alerts.push(buildDetectionAlert({ ...c, rule: c.rule.rule }, this.ctx));
    }
    return alerts.sort((a, b) => a.lastSeen.localeCompare(b.lastSeen) || a.id.localeCompare(b.id));
  }
}

/** An event that met the rule's condition, with what the alert needs to describe it. */
interface Qualifier {
  index: number;
  /** First index of the evidence run (events before windowStart are dropped). */
  from: number;
  /** The count that met the condition; 0 means "the number of evidence events". */
  count: number;
  windowStart: number;
}

interface QualifiedGroup {
  key: string;
  /** The group's events, time-sorted. */
  list: NormalizedEvent[];
  entityField: string | undefined;
  qualifiers: Qualifier[];
  /** Evidence runs forward from the trigger (stateless rules) rather than back over the window. */
  forward?: boolean;
}

function markerKey(rule: CompiledRule, groupKey: string): string {
  return `x#${rule.rule.id}#${groupKey}`;
}

/** Stateless rules alert at most once per entity in this span unless they say otherwise. */
export const DEFAULT_EVENT_SUPPRESS_MS = 15 * 60_000;

/** Stateful rules re-arm after their window by default; new terms alert per term; stateless rules per 15 minutes. */
function suppressWindow(rule: CompiledRule): number {
  const r = rule.rule;
  if (r.suppress !== undefined) return r.suppress;
  if (r.newTerm) return 0;
  return r.threshold?.window ?? r.distinct?.window ?? r.sequence?.window ?? r.spike?.window ?? DEFAULT_EVENT_SUPPRESS_MS;
}

/**
 * Greedy check that the steps happened in order within the window ending at t:
 * each step needs `count` occurrences, all after the previous step was satisfied.
 * `times` holds each step's occurrence times, sorted ascending.
 */
export function sequenceCompletes(times: readonly (readonly number[])[], counts: readonly number[], t: number, windowMs: number): boolean {
  let cursor = t - windowMs;
  for (let s = 0; s < times.length; s++) {
    const need = counts[s] ?? 1;
    const stepTimes = times[s] ?? [];
    const hit = stepTimes[lowerBound(stepTimes, cursor) + need - 1];
    if (hit === undefined || hit > t) return false;
    cursor = hit;
  }
  return true;
}

/** A step count is at most 1,000, so an event never needs to stand for more occurrences than that. */
const MAX_STEP_WEIGHT = 1000;

/**
 * Occurrence times a stored sequence member stands for: `time:eventId`, or `time*weight:eventId`
 * for a line that stands for several events (syslog `message repeated N times`).
 */
function memberTimes(member: string): number[] {
  const head = member.slice(0, member.indexOf(':'));
  const star = head.indexOf('*');
  if (star === -1) return [Number(head)];
  const t = Number(head.slice(0, star));
  return new Array<number>(Math.min(Number(head.slice(star + 1)) || 1, MAX_STEP_WEIGHT)).fill(t);
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted(sorted: number[], value: number): void {
  const at = lowerBound(sorted, value + 1);
  sorted.splice(at, 0, value);
}

/** Pre-aggregation: one counter increment per (key, bucket) for the whole batch, however many events it holds. */
function bucketIncrements(
  groups: Map<string, NormalizedEvent[]>,
  pk: (key: string) => string,
  width: number,
  keepMs: number,
): CounterIncrement[] {
  const increments: CounterIncrement[] = [];
  for (const [key, list] of groups) {
    const perBucket = new Map<number, number>();
    for (const e of list) {
      const b = bucketOf(eventTime(e), width);
      perBucket.set(b, (perBucket.get(b) ?? 0) + eventWeight(e));
    }
    for (const [bucket, delta] of perBucket)
      increments.push({ key: pk(key), bucket, delta, expiresAt: bucketExpiry(bucket, width, keepMs) });
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

/**
 * The time the store filters expiry against: the earliest event of the rule's (time-sorted)
 * events. An item expired before it is dead for every event of the batch; using the latest
 * event instead would drop state that earlier events still need when a batch spans longer
 * than an item's grace.
 */
function storeClock(events: readonly NormalizedEvent[]): number {
  return eventTime(events[0] ?? {});
}
