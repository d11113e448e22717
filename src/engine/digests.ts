import { z } from 'zod';
import { type Alert, AlertEntity, CountedValues } from '../schema/alert';
import { Severity } from '../schema/severity';
import { conditionDoc } from './conditions';
import { accountAttribute, scopedKey } from './entity-scope';
import { ConditionState } from './lifecycle';
import { type DocKey, readDocBody, type StateStore } from './state-store';
import { LATE_ARRIVAL_GRACE_MS } from './windows';

/** Review-tier detections are published as one digest per interval (hourly by default). */
export const DEFAULT_DIGEST_INTERVAL_MS = 3_600_000;

/** One review-tier detection, kept until its interval's digest is published. */
export const DigestEntry = z.object({
  ruleId: z.string(),
  title: z.string(),
  severity: Severity,
  entity: AlertEntity,
  alertId: z.string(),
  /** When it was detected: the interval it is told in. */
  at: z.number(),
  /** Its last event, where other than `at` (an absence, a log running behind or ahead): where its evidence is. */
  eventAt: z.number().optional(),
  logGroups: z.array(z.string()),
  /** The account the detection is about, as its `account` attribute names it (review routes select by it); absent when none is known. */
  account: z.string().optional(),
  /** A distinct-value rule's: the first few values it counted (the alert's `distinct`), for the digest to show. */
  counted: CountedValues.optional(),
  /**
   * The condition it belongs to (its document's partition; the sort key is `cond`): the digest
   * reads it when published, for how much the condition has seen since — an entry is written when
   * a review-tier condition opens or escalates, and its later occurrences update it silently.
   */
  condition: z.string().optional(),
  /** The alert's qualifying events when it was digested (the condition's later count, where read, replaces it). */
  occurrences: z.number().optional(),
});
export type DigestEntry = z.infer<typeof DigestEntry>;

export const DigestHead = z.object({ start: z.number(), end: z.number() });

export function digestPartition(at: number, interval: number): { pk: string; start: number; end: number } {
  const start = Math.floor(at / interval) * interval;
  return { pk: `dg#${interval}#${start}`, start, end: start + interval };
}

export function isDigestHead(key: DocKey): boolean {
  return key.pk.startsWith('dg#') && key.sk === 'head';
}

/** Values a digest entry keeps of what its detection counted: enough to read, small enough for an item a write unit holds. */
const DIGEST_VALUES = 5;

/**
 * Stores review-tier messages as digest entries (one document per message key, so a retried
 * batch writes the same entry again) and arms the interval's head, due when the interval ends.
 * An entry goes in the interval of its alert's last event, or of `at` where given: when it was
 * noticed (an absence, hours after the last event it shows) or heard (a log running behind the
 * clock — by its events' time it re-opened intervals whose digest was told — or an interval or
 * more ahead of it, whose events' interval would be told hours late).
 */
export async function recordDigestEntries(
  store: StateStore,
  messages: readonly { alert: Alert; key: string; at?: number; condition?: DocKey }[],
  interval: number,
): Promise<void> {
  const heads = new Map<string, { start: number; end: number }>();
  await Promise.all(
    messages.map(({ alert, key, at: noticed, condition }) => {
      const lastEvent = Date.parse(alert.lastSeen);
      const at = noticed ?? lastEvent;
      const { pk, start, end } = digestPartition(at, interval);
      heads.set(pk, { start, end });
      const account = accountAttribute(alert);
      const entry: DigestEntry = {
        ruleId: alert.ruleId,
        title: alert.title,
        severity: alert.severity,
        entity: alert.entity,
        alertId: alert.id,
        at,
        ...(lastEvent !== at ? { eventAt: lastEvent } : {}),
        logGroups: alert.logGroups,
        ...(account === 'none' ? {} : { account }),
        ...(alert.distinct ? { counted: { ...alert.distinct, values: alert.distinct.values.slice(0, DIGEST_VALUES) } } : {}),
        // An absence's occurrences are the sweeper's checks of it, not anything its entity did.
        ...(alert.absence ? {} : { occurrences: alert.occurrences, ...(condition ? { condition: condition.pk } : {}) }),
      };
      return store.writeDoc({
        pk,
        sk: `e#${key}`,
        body: JSON.stringify(entry),
        ifVersion: undefined,
        now: at,
        expiresAt: end + LATE_ARRIVAL_GRACE_MS,
      });
    }),
  );
  await Promise.all(
    [...heads].map(([pk, head]) =>
      store.writeDoc({
        pk,
        sk: 'head',
        body: JSON.stringify(head),
        ifVersion: undefined,
        now: head.start,
        expiresAt: head.end + LATE_ARRIVAL_GRACE_MS,
        dueAt: head.end,
      }),
    ),
  );
}

/** The entries of one interval. */
export async function readDigestEntries(store: StateStore, pk: string, now: number): Promise<DigestEntry[]> {
  const docs = await store.queryDocs(pk, now);
  return docs.filter((d) => d.sk.startsWith('e#')).map((d) => DigestEntry.parse(JSON.parse(d.body)));
}

/** What a digested alert's condition had seen when its digest was built. */
export interface DigestedSince {
  /** Qualifying events since the alert opened (the alert's `occurrences`). */
  occurrences: number;
  /** Its last qualifying event. */
  lastSeen: number;
}

/** Conditions one digest reads at most: every entity it can list, with room for ties. */
export const MAX_DIGEST_CONDITION_READS = 400;

/**
 * How much each digested alert has seen by now, by alert id, from its condition. An entry is
 * written when a review-tier condition opens or escalates (10×); the occurrences between update
 * the condition silently, so entries alone showed an address that failed 80 times as they showed
 * one that failed 10. Read for the entities a digest may list — each rule's most digested first, the
 * rules in turn, MAX_DIGEST_CONDITION_READS at most (a flood's interval holds thousands) — in one
 * batch of reads.
 * A condition that has moved on to a later alert, or does not read, leaves its entries as written.
 */
export async function readDigestedSince(
  store: StateStore,
  entries: readonly DigestEntry[],
  now: number,
): Promise<Map<string, DigestedSince>> {
  // Each entry's (rule, entity) tallied once: a flood's interval sorts 200,000 of them.
  const tallies = entries.map((e) => `${e.ruleId}\t${scopedKey(e.entity.value, e.entity.account)}`);
  const detections = new Map<string, number>();
  for (const t of tallies) detections.set(t, (detections.get(t) ?? 0) + 1);
  const byRule = new Map<string, { condition: string; detections: number; alertId: string }[]>();
  entries.forEach((e, i) => {
    if (e.condition === undefined) return;
    const candidate = { condition: e.condition, detections: detections.get(tallies[i] ?? '') ?? 0, alertId: e.alertId };
    const list = byRule.get(e.ruleId);
    if (list) list.push(candidate);
    else byRule.set(e.ruleId, [candidate]);
  });
  const ranked = [...byRule.values()].map((list) =>
    list.sort((a, b) => b.detections - a.detections || (a.alertId < b.alertId ? -1 : a.alertId > b.alertId ? 1 : 0)),
  );
  // Each rule's first, then each rule's second, …: a flood's thousands of entities do not use up the
  // reads before another rule's few are read.
  const wanted = new Map<string, DocKey>();
  const longest = ranked.reduce((n, list) => Math.max(n, list.length), 0);
  for (let rank = 0; rank < longest && wanted.size < MAX_DIGEST_CONDITION_READS; rank++) {
    for (const list of ranked) {
      const c = list[rank];
      if (c && wanted.size < MAX_DIGEST_CONDITION_READS) wanted.set(c.condition, conditionDoc(c.condition));
    }
  }
  const since = new Map<string, DigestedSince>();
  if (wanted.size === 0) return since;
  const docs = await store.readDocs([...wanted.values()], now);
  for (const doc of docs.values()) {
    const state = readDocBody(ConditionState, doc.body);
    if (state) since.set(state.alertId, { occurrences: state.occurrences, lastSeen: state.lastSeen });
  }
  return since;
}
