import type { ZodType } from 'zod';
import type { Alert, Message } from '../schema/alert';
import { readDocBody, type StateStore } from './state-store';

/** A document the team is told of once (an exception, an acknowledgement): marked when told. */
interface Announceable {
  announcedAt?: number | undefined;
}

/**
 * Tells the team once of the documents of partition `pk` not yet told (the sweeper, every 5
 * minutes): `tell` makes the messages' alerts from all of them at once (one per document, or one
 * per group of them; none for those not worth telling, which are marked all the same), and each
 * document is marked once they were handed over. A failed delivery throws before the marks, so the
 * next sweep tells them again; a mark lost to a concurrent change leaves the newer document for the
 * next sweep, and a repeat of the same notice is a no-op for the state machine's message dedup
 * (its key). Returns how many messages were sent.
 */
export async function announceOnce<T extends Announceable>(
  store: StateStore,
  pk: string,
  schema: ZodType<T>,
  options: {
    tell: (pending: readonly T[]) => Alert[];
    expiresAt: (doc: T) => number;
    send: (messages: Message[]) => Promise<void>;
    now: number;
  },
): Promise<number> {
  const { tell, expiresAt, send, now } = options;
  const pending: { sk: string; version: number; body: T }[] = [];
  for (const doc of await store.queryDocs(pk, now)) {
    const body = readDocBody(schema, doc.body);
    if (body && body.announcedAt === undefined) pending.push({ sk: doc.sk, version: doc.version, body });
  }
  if (pending.length === 0) return 0;
  const alerts = tell(pending.map((p) => p.body));
  if (alerts.length > 0)
    await send(alerts.map((alert) => ({ alert, key: `${alert.id}#0`, publish: true, digest: false, correlate: false })));
  for (const { sk, version, body } of pending) {
    const marked: T = { ...body, announcedAt: now };
    await store.writeDoc({ pk, sk, body: JSON.stringify(marked), ifVersion: version, now, expiresAt: expiresAt(marked) });
  }
  return alerts.length;
}
