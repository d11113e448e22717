import { type Advance, advanceCondition, ConditionState, type LifecyclePolicy, type Observation, resolveAt } from './lifecycle';
import { type DocKey, docId, type StateStore, type StoredDoc } from './state-store';
import { LATE_ARRIVAL_GRACE_MS } from './windows';

/** Attempts before a condition write that keeps losing races gives up (the batch then fails and is retried). */
const MAX_ATTEMPTS = 8;

export function conditionKey(ruleId: string, groupKey: string): DocKey {
  return { pk: `c#${ruleId}#${groupKey}`, sk: 'cond' };
}

export interface ConditionUpdate {
  key: DocKey;
  observation: Observation;
  policy: LifecyclePolicy;
}

/** Reads a stored condition; a document that does not parse is reported, not silently reset. */
export function parseCondition(doc: StoredDoc | undefined, key: DocKey): ConditionState | undefined {
  if (!doc) return undefined;
  const parsed = ConditionState.safeParse(JSON.parse(doc.body));
  if (!parsed.success) throw new Error(`condition ${key.pk} does not have the expected shape: ${parsed.error.message}`);
  return parsed.data;
}

/** How long a condition document must live: past resolution, the flap grace and a day for late retries. */
export function conditionExpiry(state: ConditionState, policy: LifecyclePolicy): number {
  const end = state.status === 'open' ? state.lastSeen + policy.resolveAfter : (state.resolvedAt ?? state.lastSeen);
  return end + policy.flapGrace + LATE_ARRIVAL_GRACE_MS;
}

export async function writeCondition(
  store: StateStore,
  key: DocKey,
  state: ConditionState,
  policy: LifecyclePolicy,
  ifVersion: number | null,
  now: number,
): Promise<boolean> {
  const dueAt = state.pending ? now : resolveAt(state, policy);
  return store.writeDoc({
    ...key,
    body: JSON.stringify(state),
    ifVersion,
    now,
    expiresAt: conditionExpiry(state, policy),
    ...(dueAt === undefined ? {} : { dueAt }),
  });
}

/**
 * Applies observations to their conditions: one read of every condition (a batched get), the
 * lifecycle walk per condition, and a versioned write. A write that loses a race (another
 * detector changed the condition since the read) re-reads that condition and decides again,
 * so concurrent detectors never overwrite each other and never both open the same alert.
 */
export async function applyObservations(store: StateStore, updates: readonly ConditionUpdate[]): Promise<Advance[]> {
  const results = new Array<Advance | undefined>(updates.length);
  let pending = updates.map((u, i) => ({ u, i }));
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt >= MAX_ATTEMPTS) throw new Error(`${pending.length} condition write(s) kept losing races after ${attempt} attempts`);
    const now = Math.min(...pending.map(({ u }) => u.observation.occurrences[0]?.at ?? 0));
    const docs = await store.readDocs(
      pending.map(({ u }) => u.key),
      now,
    );
    const lost: typeof pending = [];
    await Promise.all(
      pending.map(async ({ u, i }) => {
        const doc = docs.get(docId(u.key));
        const advance = advanceCondition(parseCondition(doc, u.key), u.observation, u.policy);
        if (!advance.replayed) {
          const at = u.observation.occurrences[0]?.at ?? now;
          const written = await writeCondition(store, u.key, advance.state, u.policy, doc ? doc.version : null, at);
          if (!written) {
            lost.push({ u, i });
            return;
          }
        }
        results[i] = advance;
      }),
    );
    pending = lost.sort((a, b) => a.i - b.i);
  }
  return results.map((r) => {
    if (!r) throw new Error('condition update lost');
    return r;
  });
}
