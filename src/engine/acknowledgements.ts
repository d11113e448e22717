import { z } from 'zod';
import { buildAcknowledgementNotice } from '../alerts/acknowledgement-notice';
import type { AlertContext } from '../alerts/build';
import { AwsAccountId } from '../schema/account';
import type { Message } from '../schema/alert';
import { Tier } from '../schema/severity';
import { announceOnce } from './announcements';
import { type DocKey, docId, readDocBody, type StateStore } from './state-store';

/**
 * Acknowledgements: a responder saying "I have this one". A fault that lasts all day pages at
 * its opening and then every 4 hours while it still fires (lifecycle.ts, `reminder`), which is
 * right while nobody has picked it up and noise once somebody has. `detect ack add <alert-id>`
 * writes one document to the state table; from then on that alert's reminders are decided
 * silently (stored as updates, forwarded to correlation, not published).
 *
 * What an acknowledgement does not hold back: an escalation (the tier rose, or the count reached
 * 10× what responders were last told) is new information and still published, naming who
 * acknowledged it; the resolved notice is still published; and a new alert of the same condition
 * (after it resolved and stayed quiet) has a new id and pages anew. `--for` ends it early: a
 * responder who stops working on it gets reminders again from then.
 *
 * Decided by the lifecycle (lifecycle.ts) with the acknowledgements src/engine/conditions.ts reads
 * for it: only when a batch decides a reminder or an escalation — a few times a day per open
 * alert, never per batch. In event time like the rest of the lifecycle, and recorded with the
 * condition, so a retried batch replays the decision it made.
 */
export const AlertId = z.string().regex(/^(det|inc)-[0-9a-f]{24}$/, 'expected an alert id like det-… or inc-… (24 hex digits)');

/** What the acknowledged alert was when it was acknowledged (`detect open`'s line), for the team's notice. */
export const AcknowledgedAlert = z.strictObject({
  ruleId: z.string().min(1).max(200),
  title: z.string().min(1).max(500),
  tier: Tier,
  entity: z.strictObject({ field: z.string().max(200), value: z.string().max(1024), account: z.string().max(64).optional() }),
  /** The account its messages are routed by: the notice goes where the alert went. */
  account: AwsAccountId.optional(),
});
export type AcknowledgedAlert = z.infer<typeof AcknowledgedAlert>;

export const Acknowledgement = z.strictObject({
  alertId: AlertId,
  by: z.string().min(1).max(200),
  reason: z.string().min(1).max(500).optional(),
  /** When it was acknowledged (ms). */
  at: z.number(),
  /** When reminders start again (ms); null: for the alert's whole life. */
  until: z.number().nullable(),
  /** The alert, as the open alerts listed it; absent when they could not tell (or another writer left it out). */
  about: AcknowledgedAlert.optional(),
  /** When the team was told (src/alerts/acknowledgement-notice.ts); absent: not yet. */
  announcedAt: z.number().optional(),
});
export type Acknowledgement = z.infer<typeof Acknowledgement>;

export const ACKS_PK = 'acks';
/** An ended acknowledgement stays listed this long (who had which alert), then expires. */
export const ACK_KEPT_MS = 30 * 86_400_000;
/** An open-ended one is kept this long after it was made: alerts that fire unresolved for longer are not worth the table keeping every acknowledgement forever. */
const OPEN_ACK_KEPT_MS = 90 * 86_400_000;

export function ackKey(alertId: string): DocKey {
  return { pk: ACKS_PK, sk: alertId };
}

export function ackExpiry(ack: Acknowledgement): number {
  return ack.until === null ? ack.at + OPEN_ACK_KEPT_MS : ack.until + ACK_KEPT_MS;
}

/** Whether the acknowledgement still holds at (event) time `at`. */
export function ackHolds(ack: Acknowledgement, at: number): boolean {
  return ack.until === null || at < ack.until;
}

/** The acknowledgements of these alerts that are stored (ended ones too), by alert id. */
export async function readAcknowledgements(
  store: StateStore,
  alertIds: readonly string[],
  now: number,
): Promise<Map<string, Acknowledgement>> {
  const out = new Map<string, Acknowledgement>();
  if (alertIds.length === 0) return out;
  const keys = [...new Set(alertIds)].map(ackKey);
  const docs = await store.readDocs(keys, now);
  for (const key of keys) {
    const doc = docs.get(docId(key));
    const ack = doc ? readDocBody(Acknowledgement, doc.body) : undefined;
    if (ack) out.set(key.sk, ack);
  }
  return out;
}

/** The acknowledgement of an alert that holds at (event) time `at`, if any. */
export function acknowledgementAt(
  acks: ReadonlyMap<string, Acknowledgement> | undefined,
  alertId: string,
  at: number,
): Acknowledgement | undefined {
  const ack = acks?.get(alertId);
  return ack && ackHolds(ack, at) ? ack : undefined;
}

/**
 * How many of a batch's messages are reminders an acknowledgement silenced (metric
 * RemindersAcknowledged): decided, not published, and marked acknowledged — an acknowledged
 * alert's escalation is published, and an unacknowledged update carries no mark.
 */
export function silencedReminders(messages: readonly Message[]): number {
  return messages.filter((m) => !m.publish && m.alert.acknowledged !== undefined && m.alert.status !== 'escalated').length;
}

/**
 * Tells the team of the acknowledgements not yet told (the sweeper, every 5 minutes; see
 * announceOnce): one notify message per responder (src/alerts/acknowledgement-notice.ts). One of a
 * review-tier alert (in the digest, never paged) or ended before it was told is marked without a
 * message.
 */
export function announceAcknowledgements(
  store: StateStore,
  send: (messages: Message[]) => Promise<void>,
  ctx: AlertContext,
  now: number,
): Promise<number> {
  return announceOnce(store, ACKS_PK, Acknowledgement, {
    tell: (acks) => {
      // One notice per responder and account: a team routed its own account's alerts is told who has them.
      const groups = new Map<string, Acknowledgement[]>();
      for (const ack of acks) {
        if (!ackHolds(ack, now) || ack.about?.tier === 'review') continue;
        const key = `${ack.by}\u0000${ack.about?.account ?? ''}`;
        groups.set(key, [...(groups.get(key) ?? []), ack]);
      }
      return [...groups.values()].map((own) => buildAcknowledgementNotice(own, ctx));
    },
    expiresAt: ackExpiry,
    send,
    now,
  });
}
