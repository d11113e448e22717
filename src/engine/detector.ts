import { type AlertContext, buildDetectionAlert, buildResolvedAlert, detectionId, detectionTitle, lifecycleOf } from '../alerts/build';
import { cloudOf } from '../alerts/cloud';
import type { Skip } from '../decode/skips';
import { type CompiledRule, CompiledRuleSet } from '../rules/compile';
import type { RuleIndex } from '../rules/rule-index';
import type { RulePack } from '../rules/rule-pack';
import { type Alert, type AlertCloud, type AlertEntity, type Message, MessageList } from '../schema/alert';
import { CoreFields, eventId, eventTime, eventWeight, type FieldValue, type NormalizedEvent } from '../schema/event';
import { Heartbeats } from './absence';
import { detectionPolicy, openingWindow, ruleAtStep } from './alert-policy';
import { applyObservations, type ConditionUpdate, conditionKey } from './conditions';
import { DeliveryLagRecorder, lagGroup } from './delivery-lag';
import { recordDigestEntries } from './digests';
import { type BatchContext, groupBy, groupEntity, logGroupKeyed, type QualifiedGroup, type Qualifier, qualify } from './evaluators';
import { applyExceptions, type ExceptionSource } from './exceptions';
import { type ConditionState, type Emission, type LifecyclePolicy, policyAtTier, steppedUp } from './lifecycle';
import type { DocKey, StateStore } from './state-store';
import { type AlertTerms, alertTerms, detectionMessage, detectionTerms } from './telling';
import { type LearningScope, TermLearning } from './term-learning';
import { nameKeycloakUsers } from './user-names';
import { LATE_ARRIVAL_GRACE_MS } from './windows';

export interface DetectorOptions {
  region?: string;
  /** The deployment's account: log groups of other accounts are linked by ARN. */
  account?: string;
  /** Evidence events kept per alert (before the alert's own sample limit). */
  maxEvidence?: number;
  /** Review-tier detections are published as one digest per this interval. */
  digestInterval?: number;
  /** How long a page stands for its entity (src/engine/page-fold.ts); 0 pages every respond-tier alert. */
  pageFoldWindow?: number;
  /** Alerts of one rule told one by one per outbreak window before the rest are held (src/engine/outbreak.ts); 0 tells every one. */
  outbreakAfter?: number;
  /** How long an outbreak holds its rule's further alerts. */
  outbreakWindow?: number;
  /**
   * How long a new-term rule only learns after it starts watching an account's logs
   * (src/engine/term-learning.ts), unless the rule sets its own `learn`; 0 (the default): never.
   */
  newTermLearning?: number;
  /**
   * Whose first week a new-term rule learns in (src/engine/term-learning.ts): `owner` (the
   * default), the account whose logs they are — the subscription's owner; `account`, for a
   * CloudTrail record, the account it is about (`recipientAccountId`), so an organization trail
   * delivered from one account learns each member account's first week on its own.
   */
  newTermLearningScope?: LearningScope;
  /**
   * Read history into the state only (`detect learn`): new-term rules claim their terms and record
   * since when they have known each account's logs, and nothing alerts.
   */
  learnOnly?: boolean;
  /** Exceptions a responder added (src/engine/exceptions.ts): the events they cover are left out of their rules. */
  exceptions?: ExceptionSource;
  /** Wall clock for how often stored learning starts are read again (tests move it); decisions use event time. */
  wallClock?: () => number;
  /**
   * When a batch is delivered, on the sweeper's clock: in AWS the wall clock, in a replay the
   * newest event time seen before it. Absence rules judge an entity by its deliveries as well as
   * its events' time (src/engine/absence.ts); unset, by its events' time alone.
   */
  deliveryClock?: () => number;
  /** Match without the rule index (every rule on every event): the reference the index is tested against. */
  plainMatching?: boolean;
}

/** The payload a batch's events came in, as CloudWatch delivered it. */
export interface DeliveryNote {
  logGroup: string;
  owner?: string | undefined;
  /** The newest CloudWatch time among its events (not the lines' own). */
  newestEventAt: number;
  /**
   * When it entered the pipeline, where its transport says (a hub's Kinesis arrival time): how
   * late it arrives is measured from that. The events' CloudWatch times are whatever their writer
   * gave PutLogEvents (up to 14 days back); a stream's arrival time is Kinesis's own.
   */
  arrivedAt?: number;
}

export interface BatchResult {
  /**
   * What the batch decided, one message per lifecycle step of each condition it touched (see
   * src/engine/lifecycle.ts): published ones, silent updates forwarded to correlation, and
   * review-tier detections (digested, not published on their own).
   */
  messages: Message[];
  /** The alerts responders are told about: published to a tier topic, or listed in the review digest. */
  alerts: Alert[];
  /** Events that matched at least one rule's selection. */
  matchedEvents: number;
  /** Detections: events that met a rule's full condition (threshold crossed, sequence completed …), each an occurrence of its alert. */
  detections: number;
  /** The batch had been decided before: its recorded messages were returned, no state changed. */
  redelivered: boolean;
  /** New terms a new-term rule learned without an alert, in its learning period (src/engine/term-learning.ts). */
  learnedTerms: number;
  /** (rule, event) matches an exception left out (src/engine/exceptions.ts). */
  exceptedEvents: number;
  /** Rules that threw on an event (internal_error): that rule skipped that event, the rest ran. */
  skips: Skip[];
}

/** A batch's result from its messages; the counts not given are 0 (or false). */
function batchResult(
  messages: Message[],
  counts: Pick<BatchResult, 'matchedEvents' | 'exceptedEvents' | 'skips'> &
    Partial<Pick<BatchResult, 'detections' | 'redelivered' | 'learnedTerms'>>,
): BatchResult {
  return { messages, alerts: notifications(messages), detections: 0, redelivered: false, learnedTerms: 0, ...counts };
}

/** The alerts responders are told about: published to a tier topic, or listed in the review digest. */
export function notifications(messages: readonly Message[]): Alert[] {
  return messages.filter((m) => m.publish || m.digest).map((m) => m.alert);
}

/**
 * The detection engine: evaluates a batch of normalized events against the rule pack, keeping
 * windowed state in a StateStore. Pure TypeScript; the store is the only way out.
 *
 * Per batch: events are sorted by time (out-of-order delivery within a batch is fine), matched
 * through the rule index, then each rule's matches go to the evaluator of its kind (./evaluators),
 * which groups them per entity and pre-aggregates its stateful writes, so each (rule, entity,
 * bucket) costs one store call however many events it holds. Every event
 * that meets a rule's condition is an occurrence of that (rule, entity) condition, and the
 * lifecycle decides what is published (src/engine/lifecycle.ts). Decisions are deterministic for
 * a given batch, which is what makes retries safe (see README).
 */
export class Detector {
  readonly ruleSet: CompiledRuleSet;
  private readonly ctx: AlertContext;
  private readonly maxEvidence: number;
  private readonly terms: AlertTerms;
  private readonly newTermLearning: number;
  private readonly learningScope: LearningScope;
  private readonly learning: TermLearning;
  private readonly learnOnly: boolean;
  private readonly exceptions: ExceptionSource | undefined;
  private readonly policies = new Map<CompiledRule, LifecyclePolicy>();
  private readonly heartbeats: Heartbeats;
  private readonly deliveryClock: (() => number) | undefined;
  /** How late deliveries arrive, for the sweeper's absence checks: kept only where the pack has absence rules and a delivery clock. */
  private readonly deliveryLag: DeliveryLagRecorder | undefined;

  constructor(
    pack: Pick<RulePack, 'rules'>,
    private readonly store: StateStore,
    options: DetectorOptions = {},
  ) {
    this.ruleSet = new CompiledRuleSet(pack.rules, options.plainMatching === true);
    this.ctx = { region: options.region ?? 'us-east-1', ...(options.account ? { account: options.account } : {}) };
    this.maxEvidence = options.maxEvidence ?? 20;
    this.terms = alertTerms(options);
    this.newTermLearning = options.newTermLearning ?? 0;
    this.learningScope = options.newTermLearningScope ?? 'owner';
    this.learning = new TermLearning(store, options.wallClock);
    this.deliveryClock = options.deliveryClock;
    this.learnOnly = options.learnOnly === true;
    this.exceptions = options.exceptions;
    this.heartbeats = new Heartbeats(store);
    const watching = pack.rules.some((r) => r.absence && !r.disabled);
    this.deliveryLag = watching && this.deliveryClock && !this.learnOnly ? new DeliveryLagRecorder(store) : undefined;
  }

  /** With `learnOnly`: the accounts history was recorded for (by the learning scope: owners, or the accounts CloudTrail records are about). */
  get learnedAccounts(): ReadonlySet<string | undefined> {
    return this.learning.recordedAccounts;
  }

  /** Stateless matching only: which rules each event meets. Exposed for benchmarks and tests. */
  matchAll(events: readonly NormalizedEvent[], skips: Skip[] = []): Map<CompiledRule, NormalizedEvent[]> {
    return this.matchBatch(events, skips).matches;
  }

  /** Which rules each event meets, and how many events met at least one. */
  private matchBatch(
    events: readonly NormalizedEvent[],
    skips: Skip[],
  ): { matches: Map<CompiledRule, NormalizedEvent[]>; matchedEvents: number } {
    const matches = new Map<CompiledRule, NormalizedEvent[]>();
    let matchedEvents = 0;
    const hits: CompiledRule[] = [];
    let current: NormalizedEvent = {};
    const onError = (rule: CompiledRule, err: unknown) => {
      skips.push({
        reason: 'internal_error',
        where: `${String(current[CoreFields.logGroup] ?? '')} event ${eventId(current)}`,
        detail: `rule ${rule.rule.id} threw while matching: ${err instanceof Error ? err.message : String(err)}`,
        events: 0,
      });
    };
    // A batch is one log group's: its index is looked up when the group changes, not per event.
    let group: FieldValue | undefined;
    let index: RuleIndex | undefined;
    for (const event of events) {
      current = event;
      const logGroup = event[CoreFields.logGroup];
      if (logGroup !== group || !index) {
        group = logGroup;
        index = this.ruleSet.indexFor(String(logGroup ?? ''));
      }
      const found = index.match(event, hits, onError);
      if (found > 0) matchedEvents++;
      for (let i = 0; i < found; i++) {
        const rule = hits[i] as CompiledRule;
        const list = matches.get(rule);
        if (list) list.push(event);
        else matches.set(rule, [event]);
      }
    }
    return { matches, matchedEvents };
  }

  /**
   * `delivery`: the payload the events came in (its log group and account, and when it was sent),
   * so the sweeper knows how late deliveries run (src/engine/delivery-lag.ts).
   */
  async evaluate(batchId: string, events: readonly NormalizedEvent[], delivery?: DeliveryNote): Promise<BatchResult> {
    const sorted = inTimeOrder(events);
    // Before matching: a Keycloak admin event takes the user name its admin's logins taught.
    await nameKeycloakUsers(this.store, sorted);
    const skips: Skip[] = [];
    const { matches, matchedEvents } = this.matchBatch(sorted, skips);
    // Absence rules only record that their events still arrive (the sweeper decides), before
    // exceptions: an excepted entity's events still show it is alive.
    await Promise.all([this.recordHeartbeats(matches), this.recordLag(delivery)]);
    // A batch no rule matched decides nothing, however often it is delivered: no receipt to read.
    const counts = { matchedEvents, exceptedEvents: 0, skips };
    if (matches.size === 0) return batchResult([], counts);
    counts.exceptedEvents = this.exceptions ? applyExceptions(matches, await this.exceptions.current()) : 0;
    if (matches.size === 0) {
      // All it matched is excepted now; a delivery decided before the exception was added re-sends what it decided.
      const receipt = await this.store.readReceipt(batchId);
      return receipt === undefined
        ? batchResult([], counts)
        : batchResult(MessageList.parse(JSON.parse(receipt)), { ...counts, redelivered: true });
    }
    // A redelivered batch (at-least-once delivery, Lambda retries) re-sends what it decided the
    // first time instead of deciding again over state that already holds its own events. The
    // receipt is read while the rules qualify, not before: what qualifying writes (counters
    // conditional on the batch id, sets, term claims) is a no-op for a batch already counted, so a
    // redelivery costs those writes again and every first delivery saves a store round trip.
    const receiptRead = this.store.readReceipt(batchId);
    const qualified: { rule: CompiledRule; group: QualifiedGroup }[] = [];
    const batch = this.batchContext(batchId);
    const qualifying = Promise.all(
      [...matches].map(async ([rule, matched]) => {
        for (const group of await this.qualify(rule, matched, batch)) qualified.push({ rule, group });
      }),
    );
    const [receipt] = await Promise.allSettled([receiptRead, qualifying]).then(([r, q]) => {
      if (r.status === 'rejected') throw r.reason;
      // A batch already decided is answered from its receipt, even if qualifying it again failed.
      if (r.value === undefined && q.status === 'rejected') throw q.reason;
      return [r.value];
    });
    if (receipt !== undefined) return batchResult(MessageList.parse(JSON.parse(receipt)), { ...counts, redelivered: true });

    // Deterministic order, whatever order the rules' store calls completed in.
    qualified.sort((a, b) => a.rule.rule.id.localeCompare(b.rule.rule.id) || a.group.key.localeCompare(b.group.key));
    const messages = await this.decide(batchId, qualified);
    // A batch that decided nothing (no condition reached) leaves no receipt. Delivered again, it is
    // decided again, and each state write it repeats is a no-op (counters by batch id, sets and
    // term claims by nature), as for a batch retried after a crash before its receipt. Where
    // CloudWatch delivers a few events at a time, receipts of such batches were a third of all writes.
    if (messages.length > 0) {
      await this.store.writeReceipt(batchId, JSON.stringify(messages), eventTime(sorted[sorted.length - 1] ?? {}) + LATE_ARRIVAL_GRACE_MS);
    }
    const detections = qualified.reduce((n, q) => n + q.group.qualifiers.length, 0);
    return batchResult(messages, { ...counts, detections, learnedTerms: batch.tally.learnedTerms });
  }

  /** What the rule kinds' evaluators know of this batch and of the deployment. */
  private batchContext(batchId: string): BatchContext {
    return {
      store: this.store,
      batchId,
      account: this.ctx.account,
      learning: this.learning,
      newTermLearning: this.newTermLearning,
      learningScope: this.learningScope,
      learnOnly: this.learnOnly,
      tally: { learnedTerms: 0 },
    };
  }

  private policy(rule: CompiledRule): LifecyclePolicy {
    let p = this.policies.get(rule);
    if (!p) {
      p = detectionPolicy(rule.rule);
      this.policies.set(rule, p);
    }
    return p;
  }

  /**
   * Every qualifying event is an occurrence of its (rule, entity) condition; the lifecycle walks
   * them in time order and decides each message. Per event rather than once per batch, so
   * decisions do not depend on how events were split into batches.
   */
  private async decide(batchId: string, qualified: { rule: CompiledRule; group: QualifiedGroup }[]): Promise<Message[]> {
    // Quiet is judged on the sweeper's clock too: a stream whose times run behind it is not quiet while it is delivered.
    const deliveredAt = this.deliveryClock?.();
    const heard = deliveredAt !== undefined && Number.isFinite(deliveredAt) ? { heardAt: deliveredAt } : {};
    const updates: ConditionUpdate[] = qualified.map(({ rule, group }) => {
      const first = group.list[group.qualifiers[0]?.index ?? 0] as NormalizedEvent;
      const entity = entityOf(group, first);
      const policy = this.policy(rule);
      return {
        key: conditionKey(rule.rule.id, group.key),
        policy,
        ...detectionTerms(policy, rule.rule, this.terms),
        observation: {
          id: batchId,
          occurrences: group.qualifiers.map((q) => {
            const trigger = group.list[q.index] as NormalizedEvent;
            // Intensity: the rule's own count at this event (threshold, distinct, spike); 1 where a rule has none.
            return { at: eventTime(trigger), weight: eventWeight(trigger), count: q.count > 0 ? q.count : 1 };
          }),
          identity: {
            kind: 'detection',
            ruleId: rule.rule.id,
            groupKey: group.key,
            entity,
            title: detectionTitle(rule.rule, first, { [entity.field]: entity.value, count: group.qualifiers[0]?.count ?? 1 }),
            logGroups: [String(first[CoreFields.logGroup] ?? '')].filter(Boolean),
            ...withCloud(cloudOf(first, this.ctx)),
          },
          alertIdFor: (i) => detectionId(rule.rule.id, group.key, group.list[group.qualifiers[i]?.index ?? 0] as NormalizedEvent),
          ...heard,
        },
      };
    });
    const advances = await applyObservations(this.store, updates);
    const messages: Message[] = [];
    const digested: (Message & { at?: number; condition: DocKey })[] = [];
    advances.forEach((advance, u) => {
      const item = qualified[u];
      const update = updates[u];
      if (!item || !update) return;
      for (const e of advance.emissions) {
        const message = this.message(item.rule, item.group, e, advance.state);
        messages.push(message);
        // In the interval it was heard in: by its events' time, a log running behind re-opened
        // hours whose digest was told, and every sweep told one of them again; a log running an
        // interval or more ahead (local time east of UTC read as UTC) waited hours for its events'.
        if (message.digest) {
          const ahead = heard.heardAt !== undefined && e.at - heard.heardAt >= this.terms.digestInterval;
          const heardAt = e.heardAt ?? (ahead ? heard.heardAt : undefined);
          digested.push({ ...message, condition: update.key, ...(heardAt === undefined ? {} : { at: heardAt }) });
        }
      }
    });
    await recordDigestEntries(this.store, digested, this.terms.digestInterval);
    return messages.sort((a, b) => a.alert.lastSeen.localeCompare(b.alert.lastSeen) || a.key.localeCompare(b.key));
  }

  /** The alert of one lifecycle step: evidence from the batch for occurrences, the condition's span for `resolved`. */
  private message(
    rule: CompiledRule,
    group: QualifiedGroup,
    e: Emission,
    state: Pick<ConditionState, 'title' | 'logGroups' | 'pages' | 'outbreaks'> & { cloud?: AlertCloud | undefined },
  ): Message {
    const { title, logGroups } = state;
    // Told at the tier the alert was at when this was decided (an escalation step's, once reached).
    const rulePolicy = this.policy(rule);
    const policy = policyAtTier(rulePolicy, e.tier);
    const stepped = steppedUp(rulePolicy, e.tier);
    const shown = stepped ? ruleAtStep(rule.rule) : rule.rule;
    const q = e.index === undefined ? undefined : group.qualifiers[e.index];
    if (e.status === 'resolved' || !q) {
      const first = group.list[group.qualifiers[0]?.index ?? 0] as NormalizedEvent;
      const alert = buildResolvedAlert(
        {
          rule: shown,
          kind: 'detection',
          entity: entityOf(group, first),
          title,
          logGroups,
          ...withCloud(state.cloud),
          lastSeen: e.lastSeen,
          resolvedAt: e.at,
          openingWindow: openingWindow(rule.rule),
          lifecycle: lifecycleOf(e),
        },
        this.ctx,
      );
      return detectionMessage(alert, { ...e, status: 'resolved' }, state, policy, stepped);
    }
    const c = this.candidate(group, q, policy.refresh);
    return detectionMessage(buildDetectionAlert({ ...c, rule: shown, lifecycle: lifecycleOf(e) }, this.ctx), e, state, policy, stepped);
  }

  /** Which events of each group meet the rule's condition, with the state as of that event (./evaluators). */
  private qualify(rule: CompiledRule, events: NormalizedEvent[], batch: BatchContext): QualifiedGroup[] | Promise<QualifiedGroup[]> {
    // Reading history in: only what new-term rules know is kept; nothing else counts or alerts.
    if (this.learnOnly && rule.kind !== 'newTerm') return [];
    return qualify(rule, events, batch);
  }

  private async recordLag(delivery: DeliveryNote | undefined): Promise<void> {
    const receivedAt = this.deliveryClock?.();
    if (!this.deliveryLag || !delivery || receivedAt === undefined) return;
    this.deliveryLag.note(lagGroup(delivery.logGroup, delivery.owner), delivery.arrivedAt ?? delivery.newestEventAt, receivedAt);
    await this.deliveryLag.flush(receivedAt);
  }

  /** Takes the absence rules out of the matches, recording per entity that their events still arrive (src/engine/absence.ts). */
  private async recordHeartbeats(matches: Map<CompiledRule, NormalizedEvent[]>): Promise<void> {
    const recording: Promise<void>[] = [];
    const deliveredAt = this.deliveryClock?.();
    for (const [rule, events] of matches) {
      const clause = rule.rule.absence;
      if (!clause) continue;
      matches.delete(rule);
      // Reading history in (`detect learn`) records no watch: its old events would be told absent at once.
      if (this.learnOnly) continue;
      const groups = clause.groupBy.length > 0 ? groupBy(events, clause.groupBy) : logGroupKeyed(events);
      const entityField = clause.groupBy[0] ?? CoreFields.logGroup;
      recording.push(
        this.heartbeats.record(
          rule.rule,
          [...groups].map(([key, list]) => ({ key, list, entity: groupEntity(entityField, key, list[list.length - 1] ?? {}) })),
          deliveredAt,
        ),
      );
    }
    await Promise.all(recording);
  }

  private candidate(group: QualifiedGroup, q: Qualifier, window: number) {
    const trigger = group.list[q.index] as NormalizedEvent;
    const t = eventTime(trigger);
    let evidence: NormalizedEvent[];
    if (group.forward) {
      // Stateless rules: the trigger and what follows it in this batch until the window ends.
      evidence = [];
      for (let i = q.index; i < group.list.length && evidence.length < this.maxEvidence; i++) {
        const e = group.list[i] as NormalizedEvent;
        if (i > q.index && eventTime(e) >= t + window) break;
        evidence.push(e);
      }
    } else {
      evidence = group.list.slice(q.from, q.index + 1).filter((e) => eventTime(e) >= q.windowStart);
      if (group.prior) {
        // Earlier steps from earlier batches first (one each), then the batch's own, newest kept.
        const inBatch = new Set(evidence.map(eventId));
        const prior = group.prior
          .filter((p) => eventTime(p) >= q.windowStart && eventTime(p) <= t && !inBatch.has(eventId(p)))
          .slice(-(this.maxEvidence - 1));
        evidence = [...prior, ...evidence.slice(-(this.maxEvidence - prior.length))];
      }
    }
    return {
      groupKey: group.key,
      entity: entityOf(group, trigger),
      trigger,
      evidence: evidence.slice(-this.maxEvidence),
      count: q.count > 0 ? q.count : (q.shown ?? evidence.reduce((n, e) => n + eventWeight(e), 0)),
      windowStart: Math.min(q.windowStart, t),
      windowEnd: group.forward ? eventTime(evidence[evidence.length - 1] ?? trigger) : t,
      ...(q.baseline ? { baseline: q.baseline } : {}),
      ...(q.distinct ? { distinct: q.distinct } : {}),
      ...(q.countedFrom === undefined ? {} : { countedFrom: q.countedFrom }),
    };
  }
}

/**
 * A condition's entity: the rule's entity field and the trigger's value (redacted: it leaves in
 * alerts; bounded: it keys correlation), and the account it belongs to when it is named inside one.
 */
function entityOf(group: QualifiedGroup, trigger: NormalizedEvent): AlertEntity {
  return groupEntity(group.entityField, group.key, trigger);
}

/** Optional cloud context as a spreadable property (exactOptionalPropertyTypes-friendly). */
function withCloud(cloud: AlertCloud | undefined): { cloud?: AlertCloud } {
  return cloud ? { cloud } : {};
}

function byTimeThenId(a: NormalizedEvent, b: NormalizedEvent): number {
  const d = eventTime(a) - eventTime(b);
  if (d !== 0) return d;
  const x = eventId(a);
  const y = eventId(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Events by time, then id. CloudWatch delivers a stream's events in order: then this is one pass and no copy. */
function inTimeOrder(events: readonly NormalizedEvent[]): readonly NormalizedEvent[] {
  // Each event's time is read once (the pair compare read both of each pair's); ids only on a tie.
  let previous = events[0];
  let previousTime = previous === undefined ? 0 : eventTime(previous);
  for (let i = 1; i < events.length; i++) {
    const event = events[i] as NormalizedEvent;
    const time = eventTime(event);
    if (time < previousTime || (time === previousTime && byTimeThenId(previous as NormalizedEvent, event) > 0)) {
      return [...events].sort(byTimeThenId);
    }
    previous = event;
    previousTime = time;
  }
  return events;
}
