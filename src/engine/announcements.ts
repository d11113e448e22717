import type { ZodType } from 'zod';
import type { Alert, Message } from '../schema/alert';
import { readDocBody, type StateStore } from './state-store';

/** A document the team is told of once (an exception, an acknowledgement): marked when told. */
interface Announceable {
  announcedAt?: number | undefined;
}

/**
 * Tells the team once of each document of partition `pk` not yet told (the sweeper, every 5
 * minutes): `notice` gives the message's alert, or undefined for one not worth telling (marked all
 * the same); each is marked after its message was handed over. A failed delivery throws before the
 * mark, so the next sweep tells it again; a mark lost to a concurrent change leaves the newer
 * document for the next sweep, and a repeat of the same one is a no-op for the state machine's
 * message dedup (the notice's key). Returns how many were told.
 */
export async function announceOnce<T extends Announceable>(
  store: StateStore,
  pk: string,
  schema: ZodType<T>,
  options: {
    notice: (doc: T) => Alert | undefined;
    expiresAt: (doc: T) => number;
    send: (messages: Message[]) => Promise<void>;
    now: number;
  },
): Promise<number> {
  const { notice, expiresAt, send, now } = options;
  let told = 0;
  for (const doc of await store.queryDocs(pk, now)) {
    const body = readDocBody(schema, doc.body);
    if (!body || body.announcedAt !== undefined) continue;
    const alert = notice(body);
    if (alert) {
      await send([{ alert, key: `${alert.id}#0`, publish: true, digest: false, correlate: false }]);
      told++;
    }
    const marked: T = { ...body, announcedAt: now };
    await store.writeDoc({ pk, sk: doc.sk, body: JSON.stringify(marked), ifVersion: doc.version, now, expiresAt: expiresAt(marked) });
  }
  return told;
}
