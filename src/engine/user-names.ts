import { z } from 'zod';
import { CoreFields, eventTime, type NormalizedEvent } from '../schema/event';
import { boundedValue } from './bounded-value';
import { type DocKey, docId, type StateStore } from './state-store';

/**
 * Keycloak names the admin of an admin event by id only, and a user by id and name in a login.
 * A successful login teaches its log group's id → name; a Keycloak event with the id and no name
 * takes the name, so an admin change is about the same user as her logins and failures (an
 * account takeover joins the role grant to the password attack) without a lookup table kept by
 * hand. Per log group (an id is a realm's), kept for 30 days after the last login that taught it.
 * Only successful logins teach: a failed one names what was typed.
 */
const KEEP_MS = 30 * 86_400_000;
/** A stored name is rewritten at most once a day, to keep it alive: not on every login. */
const REFRESH_MS = 86_400_000;

const Learned = z.object({ name: z.string(), at: z.number() });

interface Unnamed {
  event: NormalizedEvent;
  id: string;
}

export async function nameKeycloakUsers(store: StateStore, events: readonly NormalizedEvent[]): Promise<void> {
  const taught = new Map<string, { key: DocKey; name: string; at: number }>();
  const unnamed: Unnamed[] = [];
  const keys = new Map<string, DocKey>();
  for (const event of events) {
    // Every event of every batch passes here: two comparisons, no conversion.
    const dataset = event['event.dataset'];
    if (dataset !== 'keycloak_event' && dataset !== 'keycloak.event') continue;
    const userId = event['user.id'];
    if (typeof userId !== 'string' || userId === '') continue;
    const key = { pk: `un#${boundedValue(String(event[CoreFields.logGroup] ?? ''))}`, sk: boundedValue(userId) };
    const id = docId(key);
    keys.set(id, key);
    const name = event['user.name'];
    if (typeof name !== 'string' || name === '') unnamed.push({ event, id });
    else if (event['event.category'] === 'authentication' && event['event.outcome'] === 'success') {
      const at = eventTime(event);
      const known = taught.get(id);
      if (!known || at >= known.at) taught.set(id, { key, name, at });
    }
  }
  if (unnamed.length === 0 && taught.size === 0) return;
  const now = events.reduce((t, e) => Math.max(t, eventTime(e)), 0);
  const stored = await store.readDocs([...keys.values()], now);
  // Read once per document: a document that is not ours (or not any more) names nobody, and must not fail the batch.
  const storedNames = new Map<string, z.infer<typeof Learned>>();
  for (const [id, doc] of stored) {
    let body: unknown;
    try {
      body = JSON.parse(doc.body);
    } catch {
      continue;
    }
    const parsed = Learned.safeParse(body);
    if (parsed.success) storedNames.set(id, parsed.data);
  }
  for (const { event, id } of unnamed) {
    const name = taught.get(id)?.name ?? storedNames.get(id)?.name;
    if (name !== undefined) event['user.name'] = name;
  }
  await Promise.all(
    [...taught].map(([id, { key, name, at }]) => {
      const known = storedNames.get(id);
      if (known && known.name === name && at - known.at < REFRESH_MS) return undefined;
      return store.writeDoc({ ...key, body: JSON.stringify({ name, at }), ifVersion: undefined, now: at, expiresAt: at + KEEP_MS });
    }),
  );
}
