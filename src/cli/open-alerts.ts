import { redact } from '../alerts/redact';
import { type Acknowledgement, acknowledgementAt, readAcknowledgements } from '../engine/acknowledgements';
import { isConditionKey, parseCondition } from '../engine/conditions';
import { accountAttribute } from '../engine/entity-scope';
import type { ConditionState } from '../engine/lifecycle';
import { isHeld, outbreakOf } from '../engine/outbreak';
import { foldOf } from '../engine/page-fold';
import { type DocKey, docId, type StateStore } from '../engine/state-store';
import type { AlertEntity } from '../schema/alert';
import { formatTime } from '../schema/duration';
import { type Tier, tierRank } from '../schema/severity';

/** An alert whose condition is open: what `detect open` lists. */
export interface OpenAlert {
  alertId: string;
  kind: 'detection' | 'incident';
  ruleId: string;
  title: string;
  tier: Tier;
  entity: AlertEntity;
  /** The account its messages are routed by (README, Many accounts); absent when no one account is. */
  account?: string;
  openedAt: number;
  lastSeen: number;
  occurrences: number;
  /** Told as part of another alert's page (src/engine/page-fold.ts): that alert's id. */
  foldedInto?: string;
  /** Held behind its rule's outbreak notice (src/engine/outbreak.ts): in the review digest only. */
  held?: true;
  /**
   * Quiet past its resolve time: the sweep (every 5 minutes) resolves it next, or it goes on if it
   * fires again before then. Listed so an alert paged a moment ago does not seem to vanish.
   */
  quiet?: true;
  acknowledged?: Acknowledgement;
}

/** Conditions listed at most: `listDue` reads the due index shard by shard up to this many. */
export const OPEN_ALERTS_LIMIT = 10_000;

/**
 * The alerts whose conditions are open now, most urgent first (tier, then the latest activity):
 * every open condition has a due time (when it resolves if it stays quiet), so the due index
 * lists them without a scan of the table. Review-tier ones only with `review`.
 */
export async function listOpenAlerts(
  store: StateStore,
  now: number,
  options: { review?: boolean; limit?: number; acknowledgements?: boolean; quiet?: boolean } = {},
): Promise<{ alerts: OpenAlert[]; truncated: boolean; unreadable: number }> {
  const limit = options.limit ?? OPEN_ALERTS_LIMIT;
  const due = await store.listDue(Number.MAX_SAFE_INTEGER, limit);
  const keys = due.filter(isConditionKey);
  // Those whose resolve time has passed (a condition's due time is when it resolves if quiet):
  // one more read, which a caller that wants only the ids (`detect ack add`) skips.
  const quiet = new Set(options.quiet === false ? [] : (await store.listDue(now, limit)).map(docId));
  const docs = await store.readDocs(keys, now);
  const states: { key: DocKey; state: ConditionState }[] = [];
  let unreadable = 0;
  for (const key of keys) {
    let state: ConditionState | undefined;
    try {
      state = parseCondition(docs.get(docId(key)), key);
    } catch {
      unreadable++; // written by another version of the stack: counted, not fatal to the listing
      continue;
    }
    if (state?.status === 'open' && (options.review || state.tier !== 'review')) states.push({ key, state });
  }
  // Who has them: one more read, skipped alike.
  const acks =
    options.acknowledgements === false
      ? new Map()
      : await readAcknowledgements(
          store,
          states.map(({ state }) => state.alertId),
          now,
        );
  const alerts = states.map(({ key, state: s }): OpenAlert => {
    const fold = foldOf(s.pages, s.alertId);
    const ack = acknowledgementAt(acks, s.alertId, now);
    return {
      alertId: s.alertId,
      kind: s.kind,
      ruleId: s.ruleId,
      title: s.title,
      tier: s.tier,
      entity: { ...s.entity, value: redact(s.entity.value) },
      ...accountOf(s),
      openedAt: s.openedAt,
      lastSeen: s.lastSeen,
      occurrences: s.occurrences,
      ...(fold ? { foldedInto: fold.id } : {}),
      ...(isHeld(outbreakOf(s.outbreaks, s.alertId)) ? { held: true as const } : {}),
      ...(quiet.has(docId(key)) ? { quiet: true as const } : {}),
      ...(ack ? { acknowledged: ack } : {}),
    };
  });
  alerts.sort((a, b) => tierRank(b.tier) - tierRank(a.tier) || b.lastSeen - a.lastSeen || a.alertId.localeCompare(b.alertId));
  return { alerts, truncated: due.length >= limit, unreadable };
}

/** The `account` message attribute its alerts carry, when one account is named. */
function accountOf(state: ConditionState): { account?: string } {
  const account = accountAttribute(state);
  return account === 'none' ? {} : { account };
}

/** One line per open alert: id, tier, rule, entity, since when, and who has it. */
export function formatOpenAlerts(alerts: readonly OpenAlert[], truncated: boolean, unreadable = 0): string {
  const unread =
    unreadable > 0
      ? `\n(${unreadable} condition document(s) of another shape were left out: a newer or older version of the stack wrote them)`
      : '';
  if (alerts.length === 0) return `no open alerts${unread}`;
  const lines = alerts.map((a) => {
    const entity = `${a.entity.field}=${a.entity.value}${a.entity.account ? ` (account ${a.entity.account})` : ''}`;
    const notes = [
      a.foldedInto ? `part of ${a.foldedInto}'s page` : '',
      a.held ? 'held by its outbreak' : '',
      a.quiet ? 'quiet: resolves at the next sweep unless it fires again' : '',
      a.acknowledged ? `acknowledged by ${a.acknowledged.by}${a.acknowledged.reason ? ` (${a.acknowledged.reason})` : ''}` : '',
    ].filter(Boolean);
    return [
      `${a.alertId}  ${a.tier.padEnd(7)}  ${a.ruleId}  ${entity}`,
      `    ${a.title} — opened ${formatTime(a.openedAt)}, last ${formatTime(a.lastSeen)}, ${a.occurrences} occurrence${a.occurrences === 1 ? '' : 's'}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`,
    ].join('\n');
  });
  if (truncated) lines.push(`(the first ${OPEN_ALERTS_LIMIT} documents of the due index were read: there may be more)`);
  return lines.join('\n') + unread;
}
