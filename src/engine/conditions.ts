import { severityRank } from '../schema/severity';
import { readAcknowledgements } from './acknowledgements';
import {
  type Advance,
  advanceCondition,
  ConditionState,
  type LifecyclePolicy,
  type Observation,
  quietSince,
  resolveAt,
  steppedUp,
} from './lifecycle';
import { afterLostRace, LostRaceError } from './lost-race';
import { claimOutbreaks, isHeld, KEPT_OUTBREAK_DECISIONS, type OutbreakClaim, type OutbreakTerms, outbreakOf } from './outbreak';
import { claimPage, KEPT_PAGE_DECISIONS, type PageTerms } from './page-fold';
import { type DocKey, docId, type StateStore, type StoredDoc } from './state-store';
import { LATE_ARRIVAL_GRACE_MS } from './windows';

/** Attempts before a condition write that keeps losing races gives up (the batch then fails and is retried). */
const MAX_ATTEMPTS = 12;

/** A condition's document sort key; its partition names the rule and entity (conditionKey). */
const CONDITION_SK = 'cond';

export function conditionKey(ruleId: string, groupKey: string): DocKey {
  return conditionDoc(`c#${ruleId}#${groupKey}`);
}

/** A condition's document key from its partition alone (what a digest entry records). */
export function conditionDoc(pk: string): DocKey {
  return { pk, sk: CONDITION_SK };
}

/** Whether a document key is a condition's (the due index lists conditions beside digests and watches). */
export function isConditionKey(key: DocKey): boolean {
  return key.sk === CONDITION_SK && key.pk.startsWith('c#');
}

export interface ConditionUpdate {
  key: DocKey;
  observation: Observation;
  policy: LifecyclePolicy;
  /** A respond-tier detection rule's: each alert it opens claims its entity's page or folds into it (src/engine/page-fold.ts). */
  page?: PageTerms;
  /** A notify- or respond-tier detection rule's: each alert it opens counts toward its rule's outbreak (src/engine/outbreak.ts). */
  outbreak?: OutbreakTerms;
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
  const end = state.status === 'open' ? quietSince(state) + policy.resolveAfter : (state.resolvedAt ?? state.lastSeen);
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
    if (attempt >= MAX_ATTEMPTS)
      throw new LostRaceError(`${pending.length} condition write(s) kept losing races after ${attempt} attempts`);
    if (attempt > 0) await afterLostRace(attempt);
    const now = Math.min(...pending.map(({ u }) => u.observation.occurrences[0]?.at ?? 0));
    const docs = await store.readDocs(
      pending.map(({ u }) => u.key),
      now,
    );
    const lost: typeof pending = [];
    const steps = pending.map(({ u, i }) => {
      const doc = docs.get(docId(u.key));
      return { u, i, doc, page: u.page, advance: advanceCondition(parseCondition(doc, u.key), u.observation, u.policy) };
    });
    await decideAcknowledged(store, steps, now);
    await decideOutbreaks(store, steps);
    await decidePages(store, steps);
    await Promise.all(
      steps.map(async ({ u, i, doc, advance }) => {
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

/**
 * A batch that decided a reminder or an escalation reads those alerts' acknowledgements
 * (src/engine/acknowledgements.ts) and decides those conditions again with them: an acknowledged
 * alert's reminder is silent, its escalation names who has it. One read, and only then: most
 * batches decide neither.
 */
async function decideAcknowledged(
  store: StateStore,
  steps: { u: ConditionUpdate; doc: StoredDoc | undefined; advance: Advance }[],
  now: number,
): Promise<void> {
  const asking = steps.flatMap((step) => {
    const { advance } = step;
    const ids = advance.replayed
      ? []
      : advance.emissions.filter((e) => e.status === 'reminder' || e.status === 'escalated').map((e) => e.alertId);
    return ids.length > 0 ? [{ step, ids }] : [];
  });
  if (asking.length === 0) return;
  const acks = await readAcknowledgements(
    store,
    asking.flatMap((a) => a.ids),
    now,
  );
  if (acks.size === 0) return;
  for (const { step } of asking)
    step.advance = advanceCondition(parseCondition(step.doc, step.u.key), step.u.observation, step.u.policy, acks);
}

/**
 * Each alert the batch opened at the respond tier, and that has no page decision yet, claims its
 * entity's page or folds into it (src/engine/page-fold.ts), before the conditions that record the
 * decisions are written. One claim at a time, the batch's riskiest first (then the most severe,
 * the earliest, by rule): of one attack's detections in a batch, the one that says most holds the
 * page, and the same batch always decides the same way.
 */
async function decidePages(
  store: StateStore,
  updates: readonly { u: ConditionUpdate; page: PageTerms | undefined; advance: Advance }[],
): Promise<void> {
  const claims: { page: PageTerms; condition: DocKey; state: ConditionState; alertId: string; at: number }[] = [];
  for (const { u, page, advance } of updates) {
    if (!page || advance.replayed) continue;
    for (const e of advance.emissions) {
      // Held: it pages no one — unless it stepped up to its rule's escalation step, above the outbreak.
      if (isHeld(outbreakOf(advance.state.outbreaks, e.alertId)) && !steppedUp(u.policy, e.tier)) continue;
      const decided = advance.state.pages?.some((p) => p.alertId === e.alertId) || claims.some((c) => c.alertId === e.alertId);
      // An alert claims its entity's page when it is first told at the respond tier: when it opens
      // there, or when its count reaches the rule's escalation step there.
      const paging = (e.status === 'open' || e.status === 'escalated') && (e.tier ?? 'respond') === 'respond';
      if (paging && !decided) claims.push({ page, condition: u.key, state: advance.state, alertId: e.alertId, at: e.at });
    }
  }
  claims.sort(
    (a, b) =>
      b.page.riskScore - a.page.riskScore ||
      severityRank(b.page.severity) - severityRank(a.page.severity) ||
      a.at - b.at ||
      a.state.ruleId.localeCompare(b.state.ruleId),
  );
  const holders = new Set<string>();
  for (const { page, condition, state, alertId, at } of claims) {
    const claim = { ...page, condition, entity: state.entity, alertId, ruleId: state.ruleId, title: state.title, at };
    const into = await claimPage(store, claim, holders);
    if (!into) holders.add(alertId);
    state.pages = [...(state.pages ?? []), { alertId, ...(into ? { into } : {}) }].slice(-KEPT_PAGE_DECISIONS);
  }
}

/**
 * Each alert the batch opened at the notify or respond tier, and that has no outbreak decision
 * yet, counts toward its rule's outbreak (src/engine/outbreak.ts): told, told as the notice, or
 * held. Before pages are claimed: a held alert claims no page.
 */
async function decideOutbreaks(store: StateStore, updates: readonly { u: ConditionUpdate; advance: Advance }[]): Promise<void> {
  const claims: { state: ConditionState; claim: OutbreakClaim }[] = [];
  for (const { u, advance } of updates) {
    if (!u.outbreak || advance.replayed) continue;
    for (const e of advance.emissions) {
      if (e.status !== 'open' || outbreakOf(advance.state.outbreaks, e.alertId)) continue;
      const { state } = advance;
      claims.push({
        state,
        claim: {
          condition: u.key.pk,
          ruleId: state.ruleId,
          account: state.entity.account,
          alertId: e.alertId,
          title: state.title,
          at: e.at,
          terms: u.outbreak,
        },
      });
    }
  }
  if (claims.length === 0) return;
  const decisions = await claimOutbreaks(
    store,
    claims.map((c) => c.claim),
  );
  for (const { state, claim } of claims) {
    const decision = decisions.get(claim.alertId) ?? { alertId: claim.alertId };
    state.outbreaks = [...(state.outbreaks ?? []), decision].slice(-KEPT_OUTBREAK_DECISIONS);
  }
}
