import type { CompiledRule } from '../../rules/compile';
import { eventTime, eventWeight, type NormalizedEvent } from '../../schema/event';
import {
  lateCompletions,
  lateTrigger,
  MAX_STEP_WEIGHT,
  type StoredOccurrence,
  sequenceAdds,
  sequencePlan,
  storedTimesWithout,
} from '../sequence-steps';
import { lowerBound } from '../sorted';
import type { BucketRange, SetAdd, StateStore } from '../state-store';
import { contextEvent } from '../step-context';
import { bucketOf, bucketWidth } from '../windows';
import { type BatchContext, type QualifiedGroup, type Qualifier, storeClock } from './evaluator';
import { groupBy } from './grouping';

/** Sequence rules: steps in order within `window` for an entity, each step's occurrences kept as sets per bucket. */
export async function sequenceRule(rule: CompiledRule, events: NormalizedEvent[], batch: BatchContext): Promise<QualifiedGroup[]> {
  const clause = rule.rule.sequence;
  if (!clause) return [];
  const window = clause.window;
  const width = bucketWidth(window);
  const groups = groupBy(events, clause.groupBy);
  const steps = rule.steps;
  const last = steps.length - 1;
  const counts = steps.map((s) => s.count);
  const pk = (key: string, step: number) => `s#${rule.rule.id}#${key}#${step}`;
  const now = storeClock(events);
  const plans = [...groups].map(([key, list]) => sequencePlan(key, list, steps));
  // A sequence completes at an event of its last step, with the earlier steps' occurrences of its
  // window: a batch's own last-step events read every step over their windows. And a delivery
  // that comes late (another stream's, seconds behind) may complete a last step already stored:
  // a group with earlier-step events reads its last step from the first of them to a window past
  // its last event — nearly always nothing — and not its earlier steps (a run of failures, most
  // of a brute force, reads no stored failures).
  const ranges: BucketRange[] = [];
  for (const { key, lastTime, ownLast, firstEarlier } of plans) {
    const own = ownLast && { from: bucketOf(ownLast[0] - window, width), to: bucketOf(ownLast[1], width) };
    const later = firstEarlier !== undefined && { from: bucketOf(firstEarlier, width), to: bucketOf(lastTime + window, width) };
    if (own) for (let s = 0; s < last; s++) ranges.push({ key: pk(key, s), ...own });
    const lastRange = own && later ? { from: Math.min(own.from, later.from), to: Math.max(own.to, later.to) } : own || later;
    if (lastRange) ranges.push({ key: pk(key, last), ...lastRange });
  }
  const stored = ranges.length > 0 ? await batch.store.readSets(ranges, now) : new Map<string, Map<number, ReadonlySet<string>>>();
  // Last steps stored before this batch that its earlier steps may complete: read with their windows.
  const late = new Map<string, StoredOccurrence[]>();
  for (const plan of plans) {
    const completed = lateCompletions(plan, stored.get(pk(plan.key, last)), window);
    if (completed.length > 0) late.set(plan.key, completed);
  }
  if (late.size > 0) {
    // Every step over those windows and the batch's own last steps' (a rare second round trip).
    const lateRanges: BucketRange[] = [];
    for (const plan of plans) {
      const completions = late.get(plan.key);
      if (!completions) continue;
      const from = bucketOf(Math.min(completions[0]?.t ?? plan.first, plan.ownLast?.[0] ?? Number.POSITIVE_INFINITY) - window, width);
      const to = bucketOf(Math.max(completions[completions.length - 1]?.t ?? plan.lastTime, plan.ownLast?.[1] ?? 0), width);
      for (let s = 0; s <= last; s++) lateRanges.push({ key: pk(plan.key, s), from, to });
    }
    for (const [key, buckets] of await batch.store.readSets(lateRanges, now)) stored.set(key, buckets);
  }
  const qualified: QualifiedGroup[] = [];
  const adds: SetAdd[] = [];
  for (const plan of plans) {
    const { key, list } = plan;
    const lateStored = late.get(key) ?? [];
    const completes = plan.ownLast !== undefined || lateStored.length > 0;
    // Occurrence times per step: stored ones (this batch's own left out: a retried batch may have
    // stored them), then this batch's, kept sorted.
    const before = completes ? steps.map((_, s) => storedTimesWithout(stored.get(pk(key, s)), plan.members[s])) : [];
    // Kept apart from the batch's only when a late completion must be told from one without it.
    const times = lateStored.length > 0 ? before.map((t) => [...t]) : before;
    const qualifiers: Qualifier[] = [];
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as NormalizedEvent;
      const t = eventTime(e);
      const matched = plan.matches[i] ?? 0;
      if (completes) {
        const weight = Math.min(eventWeight(e), MAX_STEP_WEIGHT);
        for (let s = 0; s <= last; s++) if (matched & (1 << s)) for (let w = 0; w < weight; w++) insertSorted(times[s] ?? [], t);
      }
      if (!plan.ownLast || !(matched & (1 << last))) continue;
      if (sequenceCompletes(times, counts, t, window)) {
        qualifiers.push({ index: i, from: 0, count: 0, windowStart: t - window, ...occurrencesOf(times, t - window, t) });
      }
    }
    // A stored last step that this batch's earlier steps complete (and that did not complete without them).
    const lateCompleted = lateStored.filter(
      ({ t }) => sequenceCompletes(times, counts, t, window) && !sequenceCompletes(before, counts, t, window),
    );
    let group: QualifiedGroup = { key, list, entityField: clause.groupBy[0], qualifiers };
    if (lateCompleted.length > 0) {
      const contexts = await batch.store.readSetContexts(
        [
          {
            key: pk(key, last),
            from: bucketOf(lateCompleted[0]?.t ?? 0, width),
            to: bucketOf(lateCompleted[lateCompleted.length - 1]?.t ?? 0, width),
          },
        ],
        now,
      );
      const triggers = lateCompleted.map((stored) => lateTrigger(stored, plan, contexts.get(pk(key, last)), clause.groupBy));
      group = withLateTriggers(group, triggers, (t) => ({ windowStart: t - window, ...occurrencesOf(times, t - window, t) }));
    }
    if (group.qualifiers.length > 0) qualified.push(group);
    adds.push(...sequenceAdds(plan, last, (s) => pk(key, s), width, window));
  }
  // Before this batch's own contexts are stored: those of earlier batches, for the steps a
  // completed sequence's batch may not hold (one read per earlier step, only when one completes).
  if (qualified.length > 0) await priorSteps(batch.store, qualified, last, pk, width, now);
  await batch.store.addToSets(adds, now);
  return qualified;
}

/** Each completed group's earlier steps as stored: the latest event of each, shown before the batch's own (candidate()). */
async function priorSteps(
  store: StateStore,
  groups: QualifiedGroup[],
  earlierSteps: number,
  pk: (key: string, step: number) => string,
  width: number,
  now: number,
): Promise<void> {
  const ranges = [];
  for (const g of groups) {
    // The buckets the completions counted from (sequenceRule's read; the first completion's window starts first).
    const from = bucketOf(g.qualifiers[0]?.windowStart ?? eventTime(g.list[0] ?? {}), width);
    const to = bucketOf(eventTime(g.list[g.list.length - 1] ?? {}), width);
    for (let s = 0; s < earlierSteps; s++) ranges.push({ key: pk(g.key, s), from, to });
  }
  const stored = await store.readSetContexts(ranges, now);
  for (const g of groups) {
    const prior: NormalizedEvent[] = [];
    for (let s = 0; s < earlierSteps; s++) {
      let newest: NormalizedEvent | undefined;
      for (const text of stored.get(pk(g.key, s))?.values() ?? []) {
        const e = contextEvent(text);
        if (e && (!newest || eventTime(e) > eventTime(newest))) newest = e;
      }
      if (newest) prior.push(newest);
    }
    if (prior.length > 0) g.prior = prior.sort((a, b) => eventTime(a) - eventTime(b));
  }
}

/** A sequence's occurrences of every step from..to, and when the first of them was. */
function occurrencesOf(times: readonly (readonly number[])[], from: number, to: number): Pick<Qualifier, 'shown' | 'countedFrom'> {
  let first = Number.POSITIVE_INFINITY;
  for (const stepTimes of times) {
    const at = stepTimes[lowerBound(stepTimes, from)];
    if (at !== undefined && at <= to) first = Math.min(first, at);
  }
  return { shown: occurrencesWithin(times, from, to), ...(Number.isFinite(first) ? { countedFrom: first } : {}) };
}

/**
 * Greedy check that the steps happened in order within the window ending at t:
 * each step needs `count` occurrences, all after the previous step was satisfied.
 * `times` holds each step's occurrence times, sorted ascending.
 */
function sequenceCompletes(times: readonly (readonly number[])[], counts: readonly number[], t: number, windowMs: number): boolean {
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

/** The occurrences of every step at times from..to (each step's times sorted ascending). */
function occurrencesWithin(times: readonly (readonly number[])[], from: number, to: number): number {
  let n = 0;
  for (const stepTimes of times) n += lowerBound(stepTimes, to + 1) - lowerBound(stepTimes, from);
  return n;
}

function insertSorted(sorted: number[], value: number): void {
  const at = lowerBound(sorted, value + 1);
  sorted.splice(at, 0, value);
}

/**
 * The group with stored last steps that this batch completed: each is put in the list at its time
 * (the evidence before it is the batch's steps and the stored ones), the qualifiers kept in order.
 */
function withLateTriggers(
  group: QualifiedGroup,
  triggers: readonly NormalizedEvent[],
  describe: (t: number) => Pick<Qualifier, 'windowStart' | 'shown' | 'countedFrom'>,
): QualifiedGroup {
  const list = [...group.list, ...triggers].sort((a, b) => eventTime(a) - eventTime(b));
  const at = new Map(list.map((e, i) => [e, i]));
  const qualifiers: Qualifier[] = [
    ...group.qualifiers.map((q) => ({ ...q, index: at.get(group.list[q.index] as NormalizedEvent) ?? q.index })),
    ...triggers.map((e) => ({ index: at.get(e) ?? 0, from: 0, count: 0, ...describe(eventTime(e)) })),
  ].sort((a, b) => a.index - b.index);
  return { ...group, list, qualifiers };
}
