import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AcknowledgementError, acknowledgeOpen, endAcknowledgement } from '../cli/acknowledgements';
import { AlertId, readAcknowledgements } from '../engine/acknowledgements';
import { type DocKey, docId, readDocBody, type StateStore } from '../engine/state-store';
import { ACKNOWLEDGED_IN_PAGERDUTY as VIA } from './pagerduty';

/**
 * PagerDuty's side of a page, back into Sentinel (a v3 webhook subscription on the services the
 * forwarder pages: src/alerts/pagerduty.ts). A responder who acknowledges or resolves the
 * PagerDuty incident has the alert: Sentinel records an acknowledgement as `detect ack add`
 * would (src/engine/acknowledgements.ts), so its e-mail and chat reminders go silent too and the
 * team is told who has it; an escalation is still told. When PagerDuty takes the acknowledgement
 * back (its timeout ran out, or someone un-acknowledged or re-opened the incident), the one it
 * made ends and the reminders come back. The incident's key is the alert's id (the forwarder's
 * dedup key); incidents that are not Sentinel's are left alone.
 */

/** A webhook body larger than this is no PagerDuty event. */
export const MAX_WEBHOOK_BYTES = 256 * 1024;

const WebhookEvent = z.object({
  event: z.object({
    id: z.string().max(200),
    event_type: z.string().max(100),
    /** When it happened in PagerDuty (ISO 8601): signed with the body, so a replay carries its own age. */
    occurred_at: z.string().max(64).nullish(),
    agent: z.object({ summary: z.string().max(200).optional() }).nullish(),
    data: z.object({ incident_key: z.string().max(500).nullish() }).nullish(),
  }),
});

/**
 * Whether the body carries a valid signature: `X-PagerDuty-Signature` holds `v1=<hex HMAC-SHA256
 * of the body>` entries, one per signing secret the subscription has (two while a secret is
 * rotated); any one matching any of our secrets is enough. Compared in constant time.
 */
export function validPagerDutySignature(body: string, header: string | undefined, secrets: readonly string[]): boolean {
  if (!header) return false;
  const offered = header
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .map((s) => Buffer.from(s.slice(3), 'hex'));
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body, 'utf8').digest();
    if (offered.some((o) => o.length === expected.length && timingSafeEqual(o, expected))) return true;
  }
  return false;
}

/**
 * How old an event may be and still be acted on. PagerDuty retries a delivery that failed for
 * about twenty minutes; a signed body older than this is a replay (one captured from a log, a
 * proxy, a test) or too late to trust, and is answered 200 and left alone.
 */
export const REPLAY_WINDOW_MS = 60 * 60_000;
/** How far PagerDuty's clock may run ahead of this one. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Per alert, the time of the last PagerDuty event applied to it and the ids applied at that time:
 * an event is applied once, and never after a later one (a retried acknowledgement that arrives
 * after the un-acknowledge PagerDuty sent later leaves the alert un-acknowledged, as PagerDuty has it).
 */
const APPLIED_PK = 'pd-applied';
/** The events that change something in Sentinel (applyChange). */
const CHANGES: ReadonlySet<string> = new Set([
  'incident.acknowledged',
  'incident.resolved',
  'incident.unacknowledged',
  'incident.reopened',
]);
const MAX_APPLIED_IDS = 20;
const AppliedEvents = z.strictObject({ last: z.number(), ids: z.array(z.string().max(200)).max(MAX_APPLIED_IDS) });
type AppliedEvents = z.infer<typeof AppliedEvents>;

export type WebhookOutcome =
  | { status: 401; outcome: 'bad_signature' }
  | { status: 400; outcome: 'not_an_event'; detail: string }
  | { status: 200; outcome: 'acknowledged' | 'acknowledgement_ended' | 'ignored'; detail: string };

/**
 * One webhook delivery: its signature checked against the signing secrets, then what the event
 * says applied to the state table. PagerDuty retries a delivery that gets no 2xx: an event this
 * does not act on is answered 200 and said why, and only a failed write throws.
 */
export async function applyPagerDutyWebhook(
  store: StateStore,
  body: string,
  signature: string | undefined,
  secrets: readonly string[],
  now: number,
): Promise<WebhookOutcome> {
  if (Buffer.byteLength(body, 'utf8') > MAX_WEBHOOK_BYTES || !validPagerDutySignature(body, signature, secrets)) {
    return { status: 401, outcome: 'bad_signature' };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (err) {
    return { status: 400, outcome: 'not_an_event', detail: `body is not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = WebhookEvent.safeParse(raw);
  if (!parsed.success) return { status: 400, outcome: 'not_an_event', detail: z.prettifyError(parsed.error).slice(0, 300) };
  const { id, event_type: type, occurred_at: occurredAt, agent, data } = parsed.data.event;
  const alertId = data?.incident_key ?? '';
  if (!AlertId.safeParse(alertId).success)
    return { status: 200, outcome: 'ignored', detail: `incident ${alertId || '(no key)'} is not a Sentinel alert` };
  if (!CHANGES.has(type)) return { status: 200, outcome: 'ignored', detail: `${type} changes nothing in Sentinel` };
  const occurred = Date.parse(occurredAt ?? '');
  const stale = staleness(occurred, now);
  if (stale) return { status: 200, outcome: 'ignored', detail: `${type} of ${alertId} ${stale}` };
  const key: DocKey = { pk: APPLIED_PK, sk: alertId };
  const applied = await readApplied(store, key, now);
  if (applied && (occurred < applied.value.last || (occurred === applied.value.last && applied.value.ids.includes(id)))) {
    const why = occurred < applied.value.last ? 'is older than the last PagerDuty event applied to it' : 'was applied already';
    return { status: 200, outcome: 'ignored', detail: `${type} of ${alertId} (${id}) ${why}` };
  }
  const outcome = await applyChange(store, type, alertId, agent?.summary, now);
  // Recorded whatever it changed: PagerDuty's state as of this event is known, and an older event must not undo it.
  await recordApplied(store, key, applied, occurred, id, now);
  return outcome;
}

/** Why an event's time makes it one not to act on, or undefined when it is recent. */
function staleness(occurred: number, now: number): string | undefined {
  if (!Number.isFinite(occurred)) return 'says no time (occurred_at): a delivery that cannot be told from a replay';
  if (occurred < now - REPLAY_WINDOW_MS)
    return `occurred ${new Date(occurred).toISOString()}, over an hour ago: a replay, or too late to trust`;
  if (occurred > now + CLOCK_SKEW_MS) return `occurred ${new Date(occurred).toISOString()}, ahead of this clock`;
  return undefined;
}

async function readApplied(store: StateStore, key: DocKey, now: number): Promise<{ value: AppliedEvents; version: number } | undefined> {
  const doc = (await store.readDocs([key], now)).get(docId(key));
  const value = doc ? readDocBody(AppliedEvents, doc.body) : undefined;
  return doc && value ? { value, version: doc.version } : undefined;
}

/**
 * Records an applied event (read again when another delivery for the alert wrote between). Kept
 * for the replay window past the latest: an event older than that is refused by its age alone.
 */
async function recordApplied(
  store: StateStore,
  key: DocKey,
  known: { value: AppliedEvents; version: number } | undefined,
  occurred: number,
  id: string,
  now: number,
): Promise<void> {
  let current = known;
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = current?.value;
    // A later event for the alert was recorded in between: this one's time says nothing more.
    if (before && before.last > occurred) return;
    const ids = before?.last === occurred ? before.ids : [];
    const value: AppliedEvents = { last: occurred, ids: [...ids, id].slice(-MAX_APPLIED_IDS) };
    const written = await store.writeDoc({
      ...key,
      body: JSON.stringify(value),
      ifVersion: current?.version ?? null,
      now,
      expiresAt: value.last + REPLAY_WINDOW_MS + CLOCK_SKEW_MS,
    });
    if (written) return;
    current = await readApplied(store, key, now);
  }
}

/** What an acknowledging, resolving, un-acknowledging or re-opening event changes in Sentinel. */
async function applyChange(
  store: StateStore,
  type: string,
  alertId: string,
  agent: string | undefined,
  now: number,
): Promise<WebhookOutcome> {
  if (type === 'incident.acknowledged' || type === 'incident.resolved') {
    const by = `${agent?.trim() || 'someone'}${VIA}`;
    const reason = type === 'incident.acknowledged' ? 'acknowledged in PagerDuty' : 'resolved in PagerDuty';
    try {
      await acknowledgeOpen(store, [alertId], { by, reason, until: null }, now);
    } catch (err) {
      // Resolved in Sentinel already, or never open here (another deployment's service): nothing to silence.
      if (err instanceof AcknowledgementError) return { status: 200, outcome: 'ignored', detail: err.message };
      throw err;
    }
    return { status: 200, outcome: 'acknowledged', detail: `${alertId} by ${by}: ${reason}` };
  }
  // Un-acknowledged or re-opened: only the acknowledgement PagerDuty made ends; one a responder made with `detect ack add` stands.
  const ack = (await readAcknowledgements(store, [alertId], now)).get(alertId);
  if (!ack?.by.endsWith(VIA)) return { status: 200, outcome: 'ignored', detail: `${alertId} has no acknowledgement from PagerDuty` };
  await endAcknowledgement(store, alertId, now);
  return { status: 200, outcome: 'acknowledgement_ended', detail: `${alertId}: ${type}` };
}
