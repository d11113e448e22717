import { redact } from '../alerts/redact';
import { ACKS_PK, type AcknowledgedAlert, Acknowledgement, AlertId, ackExpiry, ackHolds, ackKey } from '../engine/acknowledgements';
import { docId, readDocBody, type StateStore } from '../engine/state-store';
import { formatTime } from '../schema/duration';
import { listOpenAlerts, type OpenAlert } from './open-alerts';

export class AcknowledgementError extends Error {}

export interface NewAcknowledgement {
  alertId: string;
  by: string;
  reason?: string;
  /** When reminders start again; null: for the alert's whole life. */
  until: number | null;
  /** The alert as the open alerts list it, for the team's notice. */
  about?: AcknowledgedAlert;
}

/** Attempts before a change that keeps meeting another one gives up. */
const ATTEMPTS = 4;

/**
 * Acknowledges an alert (src/engine/acknowledgements.ts): its reminders are silent from the next
 * batch on. Acknowledging it again replaces the earlier acknowledgement (a longer `--for`, another
 * responder taking it over).
 */
export async function acknowledge(store: StateStore, input: NewAcknowledgement, now: number): Promise<Acknowledgement> {
  if (!AlertId.safeParse(input.alertId).success) throw new AcknowledgementError(notAnId(input.alertId));
  if (input.until !== null && input.until <= now)
    throw new AcknowledgementError(`the acknowledgement would end (${formatTime(input.until)}) before it starts (now)`);
  const parsed = Acknowledgement.safeParse({ ...input, at: now });
  if (!parsed.success) throw new AcknowledgementError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const key = ackKey(parsed.data.alertId);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const doc = (await store.readDocs([key], now)).get(docId(key));
    const prior = doc ? readDocBody(Acknowledgement, doc.body) : undefined;
    // The same responder extending their own: the team was told already. Anyone else: told anew (a takeover).
    const toldAt = prior && prior.by === parsed.data.by && ackHolds(prior, now) ? prior.announcedAt : undefined;
    const ack: Acknowledgement = toldAt === undefined ? parsed.data : { ...parsed.data, announcedAt: toldAt };
    const written = await store.writeDoc({
      ...key,
      body: JSON.stringify(ack),
      ifVersion: doc ? doc.version : null,
      now,
      expiresAt: ackExpiry(ack),
    });
    if (written) return ack;
  }
  throw new AcknowledgementError(`the acknowledgement of ${parsed.data.alertId} kept changing: run the command again`);
}

/** Acknowledgements in force at `now` (all: ended ones still kept too), newest first. */
export async function listAcknowledgements(store: StateStore, now: number, all = false): Promise<Acknowledgement[]> {
  const acks: Acknowledgement[] = [];
  for (const doc of await store.queryDocs(ACKS_PK, now)) {
    const ack = readDocBody(Acknowledgement, doc.body);
    if (ack && (all || ackHolds(ack, now))) acks.push(ack);
  }
  return acks.sort((a, b) => b.at - a.at || a.alertId.localeCompare(b.alertId));
}

/** Ends an acknowledgement now: the alert's reminders are published again (it stays listed with `--all`). */
export async function endAcknowledgement(store: StateStore, alertId: string, now: number): Promise<Acknowledgement> {
  const key = ackKey(alertId);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const doc = (await store.readDocs([key], now)).get(docId(key));
    const ack = doc ? readDocBody(Acknowledgement, doc.body) : undefined;
    if (!doc || !ack) throw new AcknowledgementError(`no acknowledgement of ${alertId} (detect ack list shows them)`);
    if (!ackHolds(ack, now)) return ack;
    const ended = { ...ack, until: now };
    if (await store.writeDoc({ ...key, body: JSON.stringify(ended), ifVersion: doc.version, now, expiresAt: ackExpiry(ended) }))
      return ended;
  }
  throw new AcknowledgementError(`the acknowledgement of ${alertId} kept changing: run the command again`);
}

/** One line per acknowledgement: the alert, until when, by whom and why; then what the alert is, when known. */
export function formatAcknowledgements(acks: readonly Acknowledgement[], now: number): string {
  if (acks.length === 0) return 'no acknowledgements';
  return acks
    .map((a) => {
      const state = ackHolds(a, now) ? 'active' : 'ended';
      const span = `${formatTime(a.at)} → ${a.until === null ? 'while the alert lasts' : formatTime(a.until)}`;
      const line = `${a.alertId}  ${state.padEnd(6)}  ${span}  by ${a.by}${a.reason ? `: ${a.reason}` : ''}`;
      return a.about ? `${line}\n    ${redact(a.about.title)} (${a.about.ruleId}, ${a.about.tier})` : line;
    })
    .join('\n');
}

/** The open alerts by id, and whether that is all of them (the due index read whole). */
async function openAlertsById(store: StateStore, now: number): Promise<{ open: ReadonlyMap<string, OpenAlert>; complete: boolean }> {
  const { alerts, truncated } = await listOpenAlerts(store, now, { review: true, acknowledgements: false, quiet: false });
  return { open: new Map(alerts.map((a) => [a.alertId, a])), complete: !truncated };
}

/**
 * `detect ack add`: acknowledges every id, or none. An id no open alert has is refused before
 * anything is written: acknowledging a typo silences nothing, and a responder paged at night who
 * is told only in a warning goes back to sleep while the real alert keeps paging the team. Each
 * acknowledgement keeps what its alert is (rule, title, tier, entity) for the team's notice.
 */
export async function acknowledgeOpen(
  store: StateStore,
  alertIds: readonly string[],
  input: Omit<NewAcknowledgement, 'alertId' | 'about'>,
  now: number,
): Promise<Acknowledgement[]> {
  const malformed = alertIds.find((id) => !AlertId.safeParse(id).success);
  if (malformed !== undefined) throw new AcknowledgementError(notAnId(malformed));
  const { open, complete } = await openAlertsById(store, now);
  const notOpen = complete ? alertIds.filter((id) => !open.has(id)) : [];
  if (notOpen.length > 0)
    throw new AcknowledgementError(
      `no open alert has the id${notOpen.length === 1 ? '' : 's'} ${notOpen.join(', ')} (a typo, or it resolved): nothing acknowledged; detect open lists the open ones`,
    );
  const acks: Acknowledgement[] = [];
  for (const alertId of alertIds) {
    const alert = open.get(alertId);
    const about = alert && {
      ruleId: alert.ruleId,
      title: alert.title,
      tier: alert.tier,
      entity: alert.entity,
      ...(alert.account ? { account: alert.account } : {}),
    };
    acks.push(await acknowledge(store, { ...input, alertId, ...(about ? { about } : {}) }, now));
  }
  return acks;
}

function notAnId(text: string): string {
  return `'${text}' is not an alert id: copy it from the alert (Alert id: det-… or inc-…)`;
}
