import { z } from 'zod';
import type { MemberRecord } from '../alerts/build';
import { AlertCloud, AlertEvent } from '../schema/alert';
import { Severity } from '../schema/severity';

const MAX_OCCURRENCES = 20;
const MAX_EVENT_IDS = 20;
const MAX_EVENTS = 3;
const MAX_RELATED = 10;

/**
 * What correlation knows about one rule for one entity: one record per (entity, rule), however
 * many detections it made, so the risk read is one small query per entity that never drops older
 * members behind newer ones. Occurrences are the rule's conditions (alert ids) with their span
 * and the ids of the events they were built on.
 */
export const RiskRecord = z.object({
  ruleId: z.string(),
  title: z.string(),
  tags: z.array(z.string()),
  riskScore: z.number(),
  severity: Severity,
  occurrences: z.array(z.object({ id: z.string(), firstSeen: z.number(), lastSeen: z.number(), eventIds: z.array(z.string()) })),
  events: z.array(AlertEvent),
  logGroups: z.array(z.string()),
  related: z.record(z.string(), z.array(z.string())),
  /** The account the rule's detections are about (the latest one's). */
  cloud: AlertCloud.optional(),
});
export type RiskRecord = z.infer<typeof RiskRecord>;

/** Folds one detection (a condition's message) into the entity's record for its rule. Pure. */
export function mergeRisk(existing: RiskRecord | undefined, member: MemberRecord): RiskRecord {
  const first = Date.parse(member.firstSeen);
  const last = Date.parse(member.lastSeen);
  const eventIds = member.events.map((e) => e.eventId).filter(Boolean);
  const occurrences = [...(existing?.occurrences ?? [])];
  const same = occurrences.find((o) => o.id === member.id);
  if (same) {
    same.firstSeen = Math.min(same.firstSeen, first);
    same.lastSeen = Math.max(same.lastSeen, last);
    same.eventIds = [...new Set([...same.eventIds, ...eventIds])].slice(-MAX_EVENT_IDS);
  } else {
    occurrences.push({ id: member.id, firstSeen: first, lastSeen: last, eventIds: eventIds.slice(-MAX_EVENT_IDS) });
  }
  occurrences.sort((a, b) => a.lastSeen - b.lastSeen || a.id.localeCompare(b.id));
  const events = new Map((existing?.events ?? []).map((e) => [e.eventId, e]));
  for (const e of member.events) events.set(e.eventId, e);
  const related: Record<string, string[]> = { ...(existing?.related ?? {}) };
  for (const [field, values] of Object.entries(member.related)) {
    related[field] = [...new Set([...(related[field] ?? []), ...values])].sort().slice(0, MAX_RELATED);
  }
  return {
    ruleId: member.ruleId,
    title: member.title,
    tags: member.tags,
    riskScore: Math.max(existing?.riskScore ?? 0, member.riskScore),
    severity: member.severity,
    occurrences: occurrences.slice(-MAX_OCCURRENCES),
    events: [...events.values()].sort((a, b) => a.timestamp.localeCompare(b.timestamp)).slice(-MAX_EVENTS),
    logGroups: [...new Set([...(existing?.logGroups ?? []), ...member.logGroups])].sort().slice(0, MAX_RELATED),
    related,
    ...((member.cloud ?? existing?.cloud) ? { cloud: member.cloud ?? existing?.cloud } : {}),
  };
}

/** A rule's record restricted to the occurrences that reach into a window ending at `end`. */
export interface WindowMember {
  record: RiskRecord;
  firstSeen: number;
  lastSeen: number;
  /** When each of its detections in the window began, ascending. */
  starts: number[];
  /** The newest condition (alert id) of this rule in the window. */
  latestId: string;
  eventIds: Set<string>;
}

export function inWindow(record: RiskRecord, end: number, windowMs: number): WindowMember | undefined {
  const live = record.occurrences.filter((o) => o.lastSeen >= end - windowMs && o.firstSeen <= end);
  const latest = live[live.length - 1];
  if (!latest) return undefined;
  return {
    record,
    firstSeen: Math.min(...live.map((o) => o.firstSeen)),
    lastSeen: Math.max(...live.map((o) => o.lastSeen)),
    starts: live.map((o) => o.firstSeen).sort((a, b) => a - b),
    latestId: latest.id,
    eventIds: new Set(live.flatMap((o) => o.eventIds)),
  };
}

/**
 * The risk model. Each member rule counts once, with its highest risk score. Rules that fired on
 * the same observed event (one login that is off-hours, from a new country and without MFA) are
 * one signal, which counts as its highest-risk rule, not the sum: one fact does not become three.
 * Risk = min(10, sum over signals), rounded to one decimal.
 */
export function riskOf(members: readonly WindowMember[]): number {
  // Union-find over members sharing an evidence event id.
  const parent = members.map((_, i) => i);
  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root] ?? root;
    return root;
  };
  const owner = new Map<string, number>();
  members.forEach((m, i) => {
    for (const id of m.eventIds) {
      const other = owner.get(id);
      if (other === undefined) owner.set(id, i);
      else parent[find(i)] = find(other);
    }
  });
  const signal = new Map<number, number>();
  members.forEach((m, i) => {
    const root = find(i);
    signal.set(root, Math.max(signal.get(root) ?? 0, m.record.riskScore));
  });
  let sum = 0;
  for (const r of signal.values()) sum += r;
  return Math.min(10, Math.round(sum * 10) / 10);
}
