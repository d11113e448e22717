import { z } from 'zod';
import { type AlertContext, buildIncidentAlert, buildResolvedAlert, lifecycleOf, renderTitle, stableId } from '../alerts/build';
import { incidentPolicy, openingWindow } from '../engine/alert-policy';
import { applyObservations, type ConditionUpdate, conditionKey } from '../engine/conditions';
import { DEFAULT_DIGEST_INTERVAL_MS, recordDigestEntries } from '../engine/digests';
import { scopedKey } from '../engine/entity-scope';
import { isDigested, isPublished } from '../engine/lifecycle';
import { afterLostRace, LostRaceError } from '../engine/lost-race';
import { DEFAULT_PAGE_FOLD_MS, pageTermsOf } from '../engine/page-fold';
import { type DocKey, docId, type StateStore } from '../engine/state-store';
import { Alert, type AlertCloud, AlertEntity, type Message } from '../schema/alert';
import type { CorrelationRule } from '../schema/rule';
import { evaluateCorrelations } from './correlate';
import { ENVELOPE_BUDGET_BYTES, envelopeOf, type MessageEnvelope, type MessageStyle, RISK_RETENTION_MS, riskPk } from './envelope';
import { mergeRisk, RiskRecord } from './risk';

/** What the state machine hands the correlate task: one entity of one detection. */
export const CorrelateTaskInput = z.object({
  entity: AlertEntity,
  /** The detection, compact (JSON of a member record). */
  member: z.string(),
  /** The detection message's dedup key: a retried execution re-sends its decision instead of counting again. */
  key: z.string(),
});
export type CorrelateTaskInput = z.infer<typeof CorrelateTaskInput>;

const MemberRecordSchema = Alert.pick({
  id: true,
  ruleId: true,
  title: true,
  tags: true,
  riskScore: true,
  severity: true,
  firstSeen: true,
  lastSeen: true,
  logGroups: true,
  events: true,
  related: true,
  cloud: true,
});

export interface CorrelateDeps {
  store: StateStore;
  rules: readonly CorrelationRule[];
  ctx: AlertContext;
  digestInterval?: number;
  /** How long a page stands for its entity (src/engine/page-fold.ts); 0: incidents take no page. */
  pageFoldWindow?: number;
  /** The tiers whose incidents carry a chat rendering (default: all). */
  style?: MessageStyle;
}

/** As many as a condition gets: every detector batch that re-observes a flood correlates it (src/engine/lost-race.ts). */
const MAX_ATTEMPTS = 12;

/**
 * The body of the correlate task (a Lambda in AWS, called in-process by the local state machine):
 * fold the detection into the entity's risk record for its rule, read every rule's record for the
 * entity, correlate, and run each incident through the lifecycle. Returns the envelopes to publish.
 */
export async function runCorrelateTask(raw: unknown, deps: CorrelateDeps): Promise<{ messages: MessageEnvelope[] }> {
  const input = CorrelateTaskInput.parse(raw);
  const member = MemberRecordSchema.parse(JSON.parse(input.member));
  const { entity } = input;
  const now = Date.parse(member.lastSeen);
  const pk = riskPk(entity);

  // 1. The entity's record for this rule: read, merge, versioned write (retried when another execution won).
  const key = { pk, sk: `r#${member.ruleId}` };
  for (let attempt = 0; ; attempt++) {
    if (attempt >= MAX_ATTEMPTS) throw new LostRaceError(`risk record ${pk} ${key.sk} kept losing races`);
    if (attempt > 0) await afterLostRace(attempt);
    const doc = (await deps.store.readDocs([key], now)).get(docId(key));
    const merged = mergeRisk(doc ? RiskRecord.parse(JSON.parse(doc.body)) : undefined, member);
    const last = Math.max(...merged.occurrences.map((o) => o.lastSeen));
    const written = await deps.store.writeDoc({
      ...key,
      body: JSON.stringify(merged),
      ifVersion: doc ? doc.version : null,
      now,
      expiresAt: last + RISK_RETENTION_MS,
    });
    if (written) break;
  }

  // 2. Every rule's record for the entity (one small query), correlated.
  const records = (await deps.store.queryDocs(pk, now)).map((d) => RiskRecord.parse(JSON.parse(d.body)));
  const decisions = evaluateCorrelations(entity, records, deps.rules, { ruleId: member.ruleId, tags: member.tags, lastSeen: now });
  if (decisions.length === 0) return { messages: [] };

  // 3. Each incident is a condition (correlation rule, entity): the same lifecycle as detections.
  const groupKey = scopedKey(`${entity.field}=${entity.value}`, entity.account);
  const pageFoldWindow = deps.pageFoldWindow ?? DEFAULT_PAGE_FOLD_MS;
  const planned = decisions.map((d) => ({ d, policy: incidentPolicy(d.rule) }));
  const updates: ConditionUpdate[] = planned.map(({ d, policy }) => ({
    key: conditionKey(d.rule.id, groupKey),
    policy,
    // A respond-tier incident pages whatever holds the entity's page, and holds it from then on.
    ...pageTermsOf(policy.tier, d.rule, pageFoldWindow, true),
    observation: {
      id: input.key,
      occurrences: [{ at: d.at, weight: 1, count: d.members.length }],
      identity: {
        kind: 'incident',
        ruleId: d.rule.id,
        groupKey,
        entity,
        title: renderTitle(d.rule.title, { [entity.field]: entity.value, count: d.members.length }),
        logGroups: [...new Set(d.members.flatMap((m) => m.record.logGroups))].sort().slice(0, 10),
        ...sharedCloud(d.members.map((m) => m.record.cloud)),
      },
      alertIdFor: () =>
        stableId('inc', d.rule.id, entity.field, entity.value, d.members[0]?.latestId ?? '', ...(entity.account ? [entity.account] : [])),
    },
  }));
  const advances = await applyObservations(deps.store, updates);
  const messages: Message[] = [];
  const digested: (Message & { condition: DocKey })[] = [];
  advances.forEach((advance, i) => {
    const step = planned[i];
    const update = updates[i];
    if (!step || !update) return;
    const { d, policy } = step;
    for (const e of advance.emissions) {
      // An earlier incident that went quiet before this one re-opened it: told resolved first.
      const alert =
        e.status === 'resolved'
          ? buildResolvedAlert(
              {
                rule: d.rule,
                kind: 'incident',
                entity,
                title: advance.state.title,
                logGroups: advance.state.logGroups,
                ...(advance.state.cloud ? { cloud: advance.state.cloud } : {}),
                lastSeen: e.lastSeen,
                resolvedAt: e.at,
                openingWindow: openingWindow(d.rule),
                lifecycle: lifecycleOf(e),
              },
              deps.ctx,
            )
          : buildIncidentAlert({ rule: d.rule, entity, members: d.members, riskScore: d.riskScore, lifecycle: lifecycleOf(e) }, deps.ctx);
      const message: Message = {
        alert,
        key: `${e.alertId}#${e.seq}`,
        publish: isPublished(e.status, policy),
        digest: isDigested(e.status, policy),
        correlate: false,
      };
      messages.push(message);
      if (message.digest) digested.push({ ...message, condition: update.key });
    }
  });
  await recordDigestEntries(deps.store, digested, deps.digestInterval ?? DEFAULT_DIGEST_INTERVAL_MS);
  // Several incidents can open at once: they share the correlation half of the state's budget.
  const published = messages.filter((m) => m.publish);
  return { messages: published.map((m) => envelopeOf(m, ENVELOPE_BUDGET_BYTES / Math.max(1, published.length), deps.style)) };
}

/** The members' account when they all name the same one. */
function sharedCloud(clouds: readonly (AlertCloud | undefined)[]): { cloud?: AlertCloud } {
  const first = clouds[0];
  if (!first || clouds.some((c) => JSON.stringify(c) !== JSON.stringify(first))) return {};
  return { cloud: first };
}
