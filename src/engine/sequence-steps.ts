import { newOpenEvent } from '../parse/event-record';
import type { CompiledStep } from '../rules/compile';
import { CoreFields, eventId, eventTime, eventWeight, type NormalizedEvent } from '../schema/event';
import type { SetAdd } from './state-store';
import { contextEvent, stepContext } from './step-context';
import { bucketExpiry, bucketOf } from './windows';

/**
 * A sequence rule's batch for one entity, read once: which steps each event meets, the members it
 * stores (`time:eventId`, or `time*weight:eventId` for a line standing for several), and where its
 * last-step events fall. The sequence evaluator (./evaluators/sequence.ts) reads and decides from it.
 */
export interface SequencePlan {
  key: string;
  /** The group's events, time-sorted. */
  list: NormalizedEvent[];
  /** Times of its first and last event. */
  first: number;
  lastTime: number;
  /** Per event, the steps it meets (bit s for step s). */
  matches: number[];
  /** Per event, its member text. */
  memberOf: string[];
  /** Per step, this batch's members. */
  members: Set<string>[];
  /** Times of the first and last event of the last step, if the batch holds one. */
  ownLast?: [number, number];
  /** Time of the first event of an earlier step, if any: what a stored last step may be completed by. */
  firstEarlier?: number;
}

/** A step count is at most 1,000, so an event never needs to stand for more occurrences than that. */
export const MAX_STEP_WEIGHT = 1000;

/** The most members a step keeps per bucket. */
export const SEQUENCE_CAP_PER_BUCKET = 200;

export function sequencePlan(key: string, list: NormalizedEvent[], steps: readonly CompiledStep[]): SequencePlan {
  const last = steps.length - 1;
  const matches: number[] = [];
  const memberOf: string[] = [];
  const members = steps.map(() => new Set<string>());
  let ownLast: [number, number] | undefined;
  let firstEarlier: number | undefined;
  for (const e of list) {
    const t = eventTime(e);
    const weight = Math.min(eventWeight(e), MAX_STEP_WEIGHT);
    const member = `${t}${weight > 1 ? `*${weight}` : ''}:${eventId(e)}`;
    let matched = 0;
    for (let s = 0; s <= last; s++) {
      if (!steps[s]?.predicate(e)) continue;
      matched |= 1 << s;
      members[s]?.add(member);
      if (s === last) ownLast = ownLast ? [ownLast[0], t] : [t, t];
      else firstEarlier ??= t;
    }
    matches.push(matched);
    memberOf.push(member);
  }
  return {
    key,
    list,
    first: eventTime(list[0] ?? {}),
    lastTime: eventTime(list[list.length - 1] ?? {}),
    matches,
    memberOf,
    members,
    ...(ownLast ? { ownLast } : {}),
    ...(firstEarlier === undefined ? {} : { firstEarlier }),
  };
}

/** A stored step occurrence: its time and the id of the event it was. */
export interface StoredOccurrence {
  t: number;
  eventId: string;
}

/**
 * The stored last-step occurrences this batch's earlier steps could complete: not this batch's
 * own, at or after its first earlier-step event and within a window of it (by time, then id).
 */
export function lateCompletions(
  plan: SequencePlan,
  storedLast: ReadonlyMap<number, ReadonlySet<string>> | undefined,
  window: number,
): StoredOccurrence[] {
  if (plan.firstEarlier === undefined || !storedLast) return [];
  const own = plan.members[plan.members.length - 1];
  const out = new Map<string, StoredOccurrence>();
  for (const bucket of storedLast.values()) {
    for (const member of bucket) {
      if (own?.has(member)) continue;
      const { t } = occurrenceOf(member);
      if (t >= plan.firstEarlier && t <= plan.lastTime + window) out.set(member, { t, eventId: member.slice(member.indexOf(':') + 1) });
    }
  }
  return [...out.values()].sort((a, b) => a.t - b.t || a.eventId.localeCompare(b.eventId));
}

/** A step's stored occurrence times, ascending, without the members this batch holds (a retried batch may have stored them). */
export function storedTimesWithout(
  buckets: ReadonlyMap<number, ReadonlySet<string>> | undefined,
  own: ReadonlySet<string> | undefined,
): number[] {
  const times: number[] = [];
  for (const bucket of buckets?.values() ?? []) {
    for (const member of bucket) {
      if (own?.has(member)) continue;
      const { t, weight } = occurrenceOf(member);
      for (let w = 0; w < weight; w++) times.push(t);
    }
  }
  return times.sort((a, b) => a - b);
}

/** A stored member's time and how many occurrences it stands for (`time:eventId`, `time*weight:eventId`). */
function occurrenceOf(member: string): { t: number; weight: number } {
  const head = member.slice(0, member.indexOf(':'));
  const star = head.indexOf('*');
  if (star === -1) return { t: Number(head), weight: 1 };
  return { t: Number(head.slice(0, star)), weight: Math.min(Number(head.slice(star + 1)) || 1, MAX_STEP_WEIGHT) };
}

/**
 * The event a late completion is told about: the stored last step at that time, as its context
 * keeps it when the context is that event's (the latest of its bucket when stored), else only its
 * time and id; with the group's own fields (every event of a group has the same).
 */
export function lateTrigger(
  stored: StoredOccurrence,
  plan: SequencePlan,
  contexts: ReadonlyMap<number, string> | undefined,
  groupBy: readonly string[],
): NormalizedEvent {
  // A bucket keeps the context of its latest event only: the login's own line when it was that.
  const storedLast = [...(contexts?.values() ?? [])].map(contextEvent).find((e) => e !== undefined && eventId(e) === stored.eventId);
  const event = storedLast ?? newOpenEvent();
  const sample = plan.list[0] ?? {};
  event[CoreFields.timestamp] = stored.t;
  for (const field of [...groupBy, CoreFields.owner, 'cloud.account.id']) {
    const value = sample[field];
    if (value !== undefined && event[field] === undefined) event[field] = value;
  }
  event[CoreFields.eventId] ??= stored.eventId;
  return event;
}

/** What a batch stores for its steps: members per step and bucket, with the latest event of each as its context. */
export function sequenceAdds(plan: SequencePlan, last: number, key: (step: number) => string, width: number, window: number): SetAdd[] {
  const byBucket = new Map<string, { step: number; bucket: number; members: string[]; latest: NormalizedEvent }>();
  plan.list.forEach((e, i) => {
    const matched = plan.matches[i] ?? 0;
    if (matched === 0) return;
    const bucket = bucketOf(eventTime(e), width);
    for (let s = 0; s <= last; s++) {
      if (!(matched & (1 << s))) continue;
      const at = `${s}@${bucket}`;
      const entry = byBucket.get(at);
      const member = plan.memberOf[i] ?? '';
      // The list is time-sorted: the latest event of a bucket is its last.
      if (entry) {
        entry.members.push(member);
        entry.latest = e;
      } else byBucket.set(at, { step: s, bucket, members: [member], latest: e });
    }
  });
  return [...byBucket.values()].map(({ step, bucket, members, latest }) => ({
    key: key(step),
    bucket,
    members,
    cap: SEQUENCE_CAP_PER_BUCKET,
    expiresAt: bucketExpiry(bucket, width, window),
    // Every step's, the last one's too: a delivery that comes late may complete it, and its alert shows it.
    context: stepContext(latest),
  }));
}
