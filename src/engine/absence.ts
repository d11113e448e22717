import { z } from 'zod';
import { type AlertContext, buildDetectionAlert, detectionId, detectionTitle, lifecycleOf } from '../alerts/build';
import { cloudOf } from '../alerts/cloud';
import { redact } from '../alerts/redact';
import type { Alert, AlertEntity, Message } from '../schema/alert';
import { formatDuration, spokenDuration } from '../schema/duration';
import { CoreFields, eventTime, type NormalizedEvent } from '../schema/event';
import type { DetectionRule } from '../schema/rule';
import { absenceTiming, detectionPolicy } from './alert-policy';
import { applyObservations, conditionKey } from './conditions';
import { type Backlog, lagGroup } from './delivery-lag';
import { recordDigestEntries } from './digests';
import { type ActiveException, excepts } from './exceptions';
import type { ConditionState, Emission } from './lifecycle';
import { type DocKey, docId, readDocBody, type StateStore, type StoredDoc } from './state-store';
import { type AlertTerms, detectionMessage, detectionTerms } from './telling';

/**
 * Absence rules (`absence:` in a rule): events that are expected and stop. The detector only
 * notes, per rule and entity, when it last saw a matching event (a watch document); the sweeper
 * finds the watches whose deadline passed, and each sweep while the events stay away is an
 * occurrence of the (rule, entity) condition — so the lifecycle opens it once, reminds, folds
 * pages and holds outbreaks as for any detection. The events' return resolves it, saying when.
 *
 * Cost: a watch is read and written at most once per `refresh` (a quarter of `after`, at most 15
 * minutes) per entity and detector container, not per batch.
 */

const DAY = 86_400_000;
const MAX_REMEMBERED = 100_000;
/** The last event's message kept as the alert's evidence (redacted when the alert is built). */
const MAX_LAST_MESSAGE = 1024;

const Watch = z.object({
  ruleId: z.string(),
  groupKey: z.string(),
  entity: z.object({ field: z.string(), value: z.string(), account: z.string().optional() }),
  /** Event time of the newest matching event a detector recorded. */
  lastEventAt: z.number(),
  /**
   * When a detector recorded it, on the sweeper's clock (the wall clock; a replay's event time):
   * a stream delivered hours late is judged by its deliveries, not told absent while it catches up.
   */
  deliveredAt: z.number().optional(),
  /** That event, as the alert shows it: where it came from, its line, and the fields titles name. */
  last: z.object({
    logGroup: z.string(),
    logStream: z.string(),
    eventId: z.string(),
    message: z.string(),
    fields: z.record(z.string(), z.string()),
  }),
  /** Set by the sweeper once it told the absence: the time of the last event before it. */
  missingSince: z.number().optional(),
});
type Watch = z.infer<typeof Watch>;

const WATCH_SK = 'absence';

export function watchKey(ruleId: string, groupKey: string): DocKey {
  return { pk: `a#${ruleId}#${groupKey}`, sk: WATCH_SK };
}

export function isWatchKey(key: DocKey): boolean {
  return key.sk === WATCH_SK && key.pk.startsWith('a#');
}

/**
 * When the absence is told: `after` past the recorded time, plus the refresh by which the record
 * may lag the last event — so an entity told absent has sent nothing for at least `after`. Past
 * its delivery as well as its event time: a detector hours behind (a throttled function works
 * through a backlog CloudWatch keeps for up to six hours) still delivers each stream's events in
 * order, so an entity whose events keep arriving late is not absent; one whose deliveries stop is.
 */
function deadline(watch: Watch, after: number, backlog = 0): number {
  return Math.max(lastHeard(watch), watch.lastEventAt + backlog) + after + absenceTiming(after).refresh;
}

/** The log group the entity's events came from, as delivery lags are filed (src/engine/delivery-lag.ts). */
function watchGroup(watch: Watch): string {
  return lagGroup(watch.last.logGroup, watch.last.fields[CoreFields.owner]);
}

/** The later of the last event's time and its delivery. */
function lastHeard(watch: Watch): number {
  return Math.max(watch.lastEventAt, watch.deliveredAt ?? watch.lastEventAt);
}

/** One entity's matching events in a batch (time order), with what to call it. */
export interface HeartbeatGroup {
  key: string;
  entity: AlertEntity;
  list: readonly NormalizedEvent[];
}

/** The detector's side: records the newest matching event of each entity, at most once per refresh. */
export class Heartbeats {
  /** Per watch, the event time and delivery time this container last recorded. */
  private readonly recorded = new Map<string, { at: number; deliveredAt: number }>();

  constructor(private readonly store: StateStore) {}

  /** `deliveredAt`: when the batch is delivered, on the sweeper's clock (unknown: the events' own time). */
  async record(rule: DetectionRule, groups: readonly HeartbeatGroup[], deliveredAt?: number): Promise<void> {
    const clause = rule.absence;
    if (!clause) return;
    const { refresh } = absenceTiming(clause.after);
    const due = groups.flatMap((g) => {
      const last = g.list[g.list.length - 1];
      if (!last) return [];
      const at = eventTime(last);
      const delivered = Math.max(at, deliveredAt ?? at);
      const id = docId(watchKey(rule.id, g.key));
      const before = this.recorded.get(id);
      // Once per refresh of either clock: a stream catching up on a backlog moves its delivery
      // time faster than its event time, and the record must follow the deliveries.
      if (before !== undefined && at < before.at + refresh && delivered < before.deliveredAt + refresh) return [];
      return [{ ...g, id, last, at, delivered }];
    });
    if (due.length === 0) return;
    const now = Math.max(...due.map((d) => d.at));
    const docs = await this.store.readDocs(
      due.map((d) => watchKey(rule.id, d.key)),
      now,
    );
    await Promise.all(
      due.map(async (d) => {
        const doc = docs.get(d.id);
        const stored = doc ? readDocBody(Watch, doc.body) : undefined;
        if (stored && stored.lastEventAt >= d.at) return this.remember(d.id, d.at, d.delivered);
        const watch: Watch = {
          ruleId: rule.id,
          groupKey: d.key,
          entity: d.entity,
          lastEventAt: d.at,
          ...(deliveredAt === undefined ? {} : { deliveredAt: d.delivered }),
          last: lastEvent(d.last, [...clause.groupBy, d.entity.field]),
          ...(stored?.missingSince === undefined ? {} : { missingSince: stored.missingSince }),
        };
        // Told absent: due at once, so the next sweep tells the team the events are back.
        const dueAt = watch.missingSince === undefined ? deadline(watch, clause.after) : d.at;
        const written = await writeWatch(this.store, watch, doc, clause.forgetAfter, dueAt, d.at);
        // A lost race (another detector, or the sweeper marking it absent) is tried again by the next batch.
        if (written) this.remember(d.id, d.at, d.delivered);
      }),
    );
  }

  private remember(id: string, at: number, deliveredAt: number): void {
    if (this.recorded.size >= MAX_REMEMBERED) this.recorded.clear();
    this.recorded.set(id, { at, deliveredAt });
  }
}

/** Fields a title or the alert's account may name (`{host.name}`), kept from the entity's last event. */
const KEPT_FIELDS = [CoreFields.owner, 'cloud.account.id', 'cloud.region', 'host.name', 'service.name'];

function lastEvent(e: NormalizedEvent, fields: readonly string[]): Watch['last'] {
  const kept: Record<string, string> = {};
  for (const field of [...KEPT_FIELDS, ...fields]) {
    const v = e[field];
    if (v !== undefined) kept[field] = String(v).slice(0, 256);
  }
  return {
    logGroup: String(e[CoreFields.logGroup] ?? ''),
    logStream: String(e[CoreFields.logStream] ?? ''),
    eventId: String(e[CoreFields.eventId] ?? ''),
    // Redacted before it is stored: it waits in the table until an alert shows it.
    message: redact(String(e[CoreFields.message] ?? '').slice(0, MAX_LAST_MESSAGE)),
    fields: kept,
  };
}

function writeWatch(
  store: StateStore,
  watch: Watch,
  read: StoredDoc | undefined,
  forgetAfter: number,
  dueAt: number | undefined,
  now: number,
): Promise<boolean> {
  return store.writeDoc({
    ...watchKey(watch.ruleId, watch.groupKey),
    body: JSON.stringify(watch),
    ifVersion: read ? read.version : null,
    now,
    expiresAt: watch.lastEventAt + forgetAfter + DAY,
    ...(dueAt === undefined ? {} : { dueAt }),
  });
}

/** The entity's last event, rebuilt from its watch: the alert's trigger and only evidence. */
function triggerOf(watch: Watch): NormalizedEvent {
  return {
    ...watch.last.fields,
    [CoreFields.timestamp]: watch.lastEventAt,
    [CoreFields.logGroup]: watch.last.logGroup,
    [CoreFields.logStream]: watch.last.logStream,
    [CoreFields.eventId]: watch.last.eventId,
    [CoreFields.message]: watch.last.message,
    [watch.entity.field]: watch.entity.value,
  };
}

export interface AbsenceSweep {
  store: StateStore;
  rules: readonly DetectionRule[];
  ctx: AlertContext;
  terms: AlertTerms;
  /** How late deliveries run (read once per sweep, when a watch is past its deadline). */
  backlog: () => Promise<Backlog>;
  /** The detectors record their deliveries (see SweepDeps): an absence says how many arrived meanwhile. */
  deliveriesNoted: boolean;
  /** Exceptions in force (read once per sweep): an excepted entity's absence is not told. */
  exceptions: () => Promise<readonly ActiveException[]>;
  /** Hands messages to the publisher (throws when they could not be delivered). */
  send: (messages: Message[]) => Promise<void>;
  /** Resolves the (rule, entity) condition now with `note` as its reason and tells it (the sweeper's outbox). */
  resolve: (condition: DocKey, note: string, at: number) => Promise<Message[]>;
  /** The notice of a condition that resolved by a quiet spell before this occurrence re-opened it (the sweeper's). */
  resolved: (state: ConditionState, e: Emission) => Message;
}

/**
 * The sweeper's side, for one due watch: the events came back (resolve, saying when), are away
 * past `forgetAfter` (stop watching; resolve, saying so), are away past the deadline (an
 * occurrence of the absence, checked again at the next check), or are not due after all.
 */
export async function checkAbsence(deps: AbsenceSweep, key: DocKey, doc: StoredDoc, now: number): Promise<Message[]> {
  const watch = readDocBody(Watch, doc.body);
  const rule = watch ? deps.rules.find((r) => r.id === watch.ruleId && r.absence && !r.disabled) : undefined;
  const clause = rule?.absence;
  if (!watch || !rule || !clause) {
    // The rule left the pack (or the document is not a watch this version reads): stop checking it.
    await deps.store.writeDoc({ ...key, body: doc.body, ifVersion: doc.version, now, expiresAt: now + DAY });
    return [];
  }
  const condition = conditionKey(rule.id, watch.groupKey);
  if (watch.missingSince !== undefined && watch.lastEventAt > watch.missingSince) {
    const { missingSince, ...back } = watch;
    if (!(await writeWatch(deps.store, back, doc, clause.forgetAfter, deadline(back, clause.after), now))) return [];
    const gap = spokenDuration(watch.lastEventAt - missingSince);
    const note = `Events came back at ${iso(watch.lastEventAt)}, ${gap} after the last recorded before them.`;
    return deps.resolve(condition, note, Math.max(now, watch.lastEventAt));
  }
  if (now >= lastHeard(watch) + clause.forgetAfter) {
    if (!(await writeWatch(deps.store, watch, doc, 0, undefined, now))) return [];
    const note = `No event for ${formatDuration(clause.forgetAfter)} since ${iso(watch.lastEventAt)}: no longer watched (a retired host or service; it is watched again from its next event).`;
    return deps.resolve(condition, note, now);
  }
  let at = deadline(watch, clause.after);
  // Past the deadline while deliveries run late out of order (a throttled detector): its events
  // may still be on their way. Held until the silence exceeds `after` by the backlog too.
  if (now >= at) at = deadline(watch, clause.after, (await deps.backlog()).lagOf(watchGroup(watch)));
  if (now < at) {
    await writeWatch(deps.store, watch, doc, clause.forgetAfter, at, now);
    return [];
  }
  const trigger = triggerOf(watch);
  if ((await deps.exceptions()).some((x) => excepts(x, rule.id, trigger, now))) {
    // An excepted entity is not told absent; it is checked again while the exception lasts.
    await writeWatch(deps.store, watch, doc, clause.forgetAfter, now + absenceTiming(clause.after).recheck, now);
    return [];
  }
  // Told before the watch is marked: a failed delivery leaves the watch as it was, so the next
  // sweep observes again under the same id (the watch's version) and the lifecycle re-sends.
  const deliveries = deps.deliveriesNoted ? (await deps.backlog()).deliveries : undefined;
  const messages = await tellAbsence(deps, rule, watch, trigger, now, `absence#${doc.version}`, deliveries);
  if (messages.length > 0) await deps.send(messages);
  await markMissing(deps.store, key, doc, watch, clause, now);
  return messages;
}

/**
 * Marks the watch told absent and due again at the next check. A detector that recorded the events'
 * return meanwhile holds a newer watch: it is marked too, due at once, so the next sweep tells
 * the team they are back.
 */
async function markMissing(
  store: StateStore,
  key: DocKey,
  read: StoredDoc,
  told: Watch,
  clause: { after: number; forgetAfter: number },
  now: number,
): Promise<void> {
  let doc: StoredDoc | undefined = read;
  for (let attempt = 0; attempt < 3 && doc; attempt++) {
    const watch = readDocBody(Watch, doc.body);
    if (!watch) return;
    const missingSince = watch.missingSince ?? told.lastEventAt;
    const back = watch.lastEventAt > missingSince;
    const dueAt = back ? now : now + absenceTiming(clause.after).recheck;
    if (await writeWatch(store, { ...watch, missingSince }, doc, clause.forgetAfter, dueAt, now)) return;
    doc = (await store.readDocs([key], now)).get(docId(key));
  }
}

/** One sweep's occurrence of the absence, through the lifecycle as a detection's. */
async function tellAbsence(
  deps: AbsenceSweep,
  rule: DetectionRule,
  watch: Watch,
  trigger: NormalizedEvent,
  now: number,
  observationId: string,
  deliveries: number | undefined,
): Promise<Message[]> {
  const policy = detectionPolicy(rule);
  const { terms } = deps;
  const cloud = cloudOf(trigger, deps.ctx);
  const { entity } = watch;
  const [advance] = await applyObservations(deps.store, [
    {
      key: conditionKey(rule.id, watch.groupKey),
      policy,
      ...detectionTerms(policy, rule, terms),
      observation: {
        id: observationId,
        occurrences: [{ at: now, weight: 1, count: 1 }],
        identity: {
          kind: 'detection',
          ruleId: rule.id,
          groupKey: watch.groupKey,
          entity,
          title: detectionTitle(rule, trigger, { [entity.field]: entity.value, count: 1 }),
          logGroups: [watch.last.logGroup].filter(Boolean),
          ...(cloud ? { cloud } : {}),
        },
        // One alert per absence: named by the last event before it.
        alertIdFor: () => detectionId(rule.id, watch.groupKey, trigger),
      },
    },
  ]);
  if (!advance) return [];
  const messages = advance.emissions.map((e) =>
    e.status === 'resolved'
      ? deps.resolved(advance.state, e)
      : detectionMessage(absenceAlert(deps.ctx, { rule, watch, trigger, deliveries }, e, now), e, advance.state, policy),
  );
  await recordDigestEntries(
    deps.store,
    messages.filter((m) => m.digest).map((m) => ({ ...m, at: now })),
    terms.digestInterval,
  );
  return messages;
}

/** The alert of one check of the absence: the last event recorded is its trigger and only evidence. */
function absenceAlert(
  ctx: AlertContext,
  { rule, watch, trigger, deliveries }: { rule: DetectionRule; watch: Watch; trigger: NormalizedEvent; deliveries: number | undefined },
  e: Emission,
  now: number,
): Alert {
  return buildDetectionAlert(
    {
      groupKey: watch.groupKey,
      entity: watch.entity,
      trigger,
      evidence: [trigger],
      count: 1,
      windowStart: watch.lastEventAt,
      windowEnd: now,
      rule,
      lifecycle: lifecycleOf(e),
      absence: {
        afterMs: rule.absence?.after ?? 0,
        lastEventAt: iso(watch.lastEventAt),
        ...(deliveries === undefined ? {} : { deliveriesLast15m: deliveries }),
      },
    },
    ctx,
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
