import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AcknowledgementError, acknowledgeOpen, endAcknowledgement } from '../cli/acknowledgements';
import { AlertId, readAcknowledgements } from '../engine/acknowledgements';
import type { StateStore } from '../engine/state-store';
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
  const { event_type: type, agent, data } = parsed.data.event;
  const alertId = data?.incident_key ?? '';
  if (!AlertId.safeParse(alertId).success)
    return { status: 200, outcome: 'ignored', detail: `incident ${alertId || '(no key)'} is not a Sentinel alert` };
  if (type === 'incident.acknowledged' || type === 'incident.resolved') {
    const by = `${agent?.summary?.trim() || 'someone'}${VIA}`;
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
  if (type === 'incident.unacknowledged' || type === 'incident.reopened') {
    // Only the acknowledgement PagerDuty made ends: one a responder made with `detect ack add` stands.
    const ack = (await readAcknowledgements(store, [alertId], now)).get(alertId);
    if (!ack?.by.endsWith(VIA)) return { status: 200, outcome: 'ignored', detail: `${alertId} has no acknowledgement from PagerDuty` };
    await endAcknowledgement(store, alertId, now);
    return { status: 200, outcome: 'acknowledgement_ended', detail: `${alertId}: ${type}` };
  }
  return { status: 200, outcome: 'ignored', detail: `${type} changes nothing in Sentinel` };
}
