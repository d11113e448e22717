import { type AlertContext, buildDetectionAlert, buildResolvedAlert, detectionId, detectionTitle, lifecycleOf } from '../alerts/build';
import { cloudOf } from '../alerts/cloud';
import { redact } from '../alerts/redact';
import type { Skip } from '../decode/skips';
import { type CompiledRule, CompiledRuleSet } from '../rules/compile';
import type { DistinctMembers } from '../rules/distinct-members';
import { lowerCase } from '../rules/lower-case';
import type { RuleIndex } from '../rules/rule-index';
import type { RulePack } from '../rules/rule-pack';
import { type FieldReader, fieldReader } from '../runtime/field-access';
import { type Alert, type AlertCloud, type AlertEntity, type Message, MessageList, type SpikeBaseline } from '../schema/alert';
import { CoreFields, ENTITY_FIELDS, eventId, eventTime, eventWeight, type FieldValue, type NormalizedEvent } from '../schema/event';
import { Heartbeats } from './absence';
import { detectionPolicy } from './alert-policy';
import { boundedValue, MAX_MEMBER_CHARS, MAX_VALUE_CHARS } from './bounded-value';
import { applyObservations, type ConditionUpdate, conditionKey } from './conditions';
import { DeliveryLagRecorder, lagGroup } from './delivery-lag';
import { recordDigestEntries } from './digests';
import { awsAccountId, eventEntityAccount, memberAccount, scopedKey } from './entity-scope';
import { applyExceptions, type ExceptionSource } from './exceptions';
import type { ConditionState, Emission, LifecyclePolicy } from './lifecycle';
import {
  lateCompletions,
  lateTrigger,
  MAX_STEP_WEIGHT,
  type StoredOccurrence,
  sequenceAdds,
  sequencePlan,
  storedTimesWithout,
} from './sequence-steps';
import { lowerBound } from './sorted';
import type { BucketRange, CounterIncrement, SetAdd, StateStore, TermClaim, TermClaimResult } from './state-store';
import { contextEvent } from './step-context';
import { type AlertTerms, alertTerms, detectionMessage, detectionTerms } from './telling';
import { type LearningScope, TermLearning, type WatchSighting } from './term-learning';
import { nameKeycloakUsers } from './user-names';
import { bucketExpiry, bucketOf, bucketWidth, LATE_ARRIVAL_GRACE_MS, spikeLevelBucket, windowFirstBucket, windowSpan } from './windows';

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

const MAX_SET_CAP = 1000;
/** A group key and a new term (each at most 3 bytes a character) stay well inside DynamoDB's 2,048-byte key. */
const MAX_GROUP_KEY_CHARS = 3 * MAX_VALUE_CHARS;

/**
 * The detection engine: evaluates a batch of normalized events against the rule pack, keeping
 * windowed state in a StateStore. Pure TypeScript; the store is the only way out.
 *
 * Per batch: events are sorted by time (out-of-order delivery within a batch is fine), matched
 * through the rule index, grouped per rule and entity, and stateful writes are pre-aggregated
 * so each (rule, entity, bucket) costs one store call however many events it holds. Every event
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
    const tally = { learnedTerms: 0 };
    const qualifying = Promise.all(
      [...matches].map(async ([rule, matched]) => {
        for (const group of await this.qualify(batchId, rule, matched, tally)) qualified.push({ rule, group });
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
    return batchResult(messages, { ...counts, detections, learnedTerms: tally.learnedTerms });
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
        ...detectionTerms(policy.tier, rule.rule, this.terms),
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
            title: detectionTitle(rule.rule, { ...first, [entity.field]: entity.value, count: group.qualifiers[0]?.count ?? 1 }),
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
    const digested: (Message & { at?: number })[] = [];
    advances.forEach((advance, u) => {
      const item = qualified[u];
      if (!item) return;
      for (const e of advance.emissions) {
        const message = this.message(item.rule, item.group, e, advance.state);
        messages.push(message);
        // In the interval it was heard in: by its events' time, a log running behind re-opened
        // hours whose digest was told, and every sweep told one of them again; a log running an
        // interval or more ahead (local time east of UTC read as UTC) waited hours for its events'.
        if (message.digest) {
          const ahead = heard.heardAt !== undefined && e.at - heard.heardAt >= this.terms.digestInterval;
          const heardAt = e.heardAt ?? (ahead ? heard.heardAt : undefined);
          digested.push(heardAt === undefined ? message : { ...message, at: heardAt });
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
    const policy = this.policy(rule);
    const q = e.index === undefined ? undefined : group.qualifiers[e.index];
    if (e.status === 'resolved' || !q) {
      const first = group.list[group.qualifiers[0]?.index ?? 0] as NormalizedEvent;
      const alert = buildResolvedAlert(
        {
          rule: rule.rule,
          kind: 'detection',
          entity: entityOf(group, first),
          title,
          logGroups,
          ...withCloud(state.cloud),
          lastSeen: e.lastSeen,
          resolvedAt: e.at,
          lifecycle: lifecycleOf(e),
        },
        this.ctx,
      );
      return detectionMessage(alert, { ...e, status: 'resolved' }, state, policy);
    }
    const c = this.candidate(group, q, policy.refresh);
    return detectionMessage(buildDetectionAlert({ ...c, rule: rule.rule, lifecycle: lifecycleOf(e) }, this.ctx), e, state, policy);
  }

  /** Which events of each group meet the rule's condition, with the state as of that event. */
  private qualify(
    batchId: string,
    rule: CompiledRule,
    events: NormalizedEvent[],
    tally: { learnedTerms: number },
  ): Promise<QualifiedGroup[]> {
    // Reading history in: only what new-term rules know is kept; nothing else counts or alerts.
    if (this.learnOnly && rule.kind !== 'newTerm') return Promise.resolve([]);
    switch (rule.kind) {
      case 'event':
        return Promise.resolve(this.eventRule(rule, events));
      case 'threshold':
        return this.thresholdRule(batchId, rule, events);
      case 'distinct':
        return this.distinctRule(rule, events);
      case 'sequence':
        return this.sequenceRule(rule, events);
      case 'newTerm':
        return this.newTermRule(rule, events, tally);
      case 'spike':
        return this.spikeRule(batchId, rule, events);
      case 'absence':
        return Promise.resolve([]); // decided by the sweeper (recordHeartbeats)
    }
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

  /** Stateless: every matching event qualifies (no intensity: counting within a batch would depend on how events were batched). */
  private eventRule(rule: CompiledRule, events: NormalizedEvent[]): QualifiedGroup[] {
    const groups = new Map<string, NormalizedEvent[]>();
    const entityField = new Map<string, string>();
    for (const e of events) {
      const field = rule.rule.entity ?? ENTITY_FIELDS.find((f) => e[f] !== undefined) ?? CoreFields.logGroup;
      const key = scopedKey(`${field}=${boundedValue(String(e[field] ?? ''))}`, eventEntityAccount(e, field));
      entityField.set(key, field);
      push(groups, key, e);
    }
    return [...groups].map(([key, list]) => ({
      key,
      list,
      entityField: entityField.get(key) ?? CoreFields.logGroup,
      forward: true,
      qualifiers: list.map((e, index) => ({ index, from: index, count: 0, windowStart: eventTime(e) })),
    }));
  }

  private async thresholdRule(batchId: string, rule: CompiledRule, events: NormalizedEvent[]): Promise<QualifiedGroup[]> {
    const clause = rule.rule.threshold;
    if (!clause) return [];
    const width = bucketWidth(clause.window);
    const groups = groupBy(events, clause.groupBy);
    const windows = groupWindows(groups, `t#${rule.rule.id}#`, width, clause.window);
    const increments: CounterIncrement[] = [];
    for (const w of windows) addBucketIncrements(increments, w.range.key, w.list, width, clause.window);
    const now = storeClock(events);
    // At once, one round trip: a bucket this batch adds to is counted from the increment's own
    // result below (countBefore), never from the read, so the read need not wait for it.
    const [results, stored] = await Promise.all([
      this.store.incrementCounters(batchId, increments, now),
      this.store.readCounters(
        windows.map((w) => w.range),
        now,
      ),
    ]);

    // Counts before this batch: stored totals minus our own delta where the store holds it.
    const ownDelta = new Map<string, Map<number, number>>();
    for (const inc of increments) mapOf(ownDelta, inc.key).set(inc.bucket, inc.delta);
    const before = new Map<string, Map<number, number>>();
    for (const r of results) mapOf(before, r.key).set(r.bucket, r.total - (ownDelta.get(r.key)?.get(r.bucket) ?? 0));

    const span = windowSpan(clause.window, width);
    const qualified: QualifiedGroup[] = [];
    for (const { key, list, range } of windows) {
      const storedBuckets = stored.get(range.key);
      const priorOwn = before.get(range.key);
      const lastStored = storedBuckets || priorOwn ? lastCountedBucket(priorOwn, storedBuckets) : Number.NEGATIVE_INFINITY;
      if (list.length === 1) {
        // Most groups of busy traffic are one event (a visitor's one request in this batch): the
        // same decision as the loop below, without its per-group map.
        const e = list[0] as NormalizedEvent;
        const b = bucketOf(eventTime(e), width);
        const weight = eventWeight(e);
        let count = weight;
        let first = b - span;
        if (lastStored > b)
          ({ count, first } = largestWindow(b, span, (x) => countBefore(priorOwn, storedBuckets, x) + (x === b ? weight : 0), true));
        else for (let x = first; x <= b; x++) count += countBefore(priorOwn, storedBuckets, x);
        if (count >= clause.count) {
          const counted = earliestBucket(first, first + span, (x) => countBefore(priorOwn, storedBuckets, x) > 0);
          qualified.push(oneEventGroup(key, list, clause.groupBy[0], count, first * width, counted, width));
        }
        continue;
      }
      const batchPerBucket = new Map<number, number>();
      const qualifiers: Qualifier[] = [];
      const countAt = (x: number) => countBefore(priorOwn, storedBuckets, x) + (batchPerBucket.get(x) ?? 0);
      // The window's count is summed only when the event's bucket changes (events are sorted);
      // within a bucket each event adds its weight.
      let windowBucket = Number.NaN;
      let best = { count: 0, first: 0 };
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as NormalizedEvent;
        const b = bucketOf(eventTime(e), width);
        const weight = eventWeight(e);
        batchPerBucket.set(b, (batchPerBucket.get(b) ?? 0) + weight);
        if (b !== windowBucket || lastStored > b) {
          windowBucket = b;
          best = largestWindow(b, span, countAt, lastStored > b);
        } else best = { count: best.count + weight, first: best.first };
        if (best.count >= clause.count) {
          const counted = earliestBucket(best.first, best.first + span, (x) => countBefore(priorOwn, storedBuckets, x) > 0);
          qualifiers.push({ index: i, from: 0, count: best.count, windowStart: best.first * width, ...countedFromBucket(counted, width) });
        }
      }
      if (qualifiers.length > 0) qualified.push({ key, list, entityField: clause.groupBy[0], qualifiers });
    }
    return qualified;
  }

  private async distinctRule(rule: CompiledRule, events: NormalizedEvent[]): Promise<QualifiedGroup[]> {
    const clause = rule.rule.distinct;
    const reader = rule.distinctMembers;
    if (!clause || !reader) return [];
    const width = bucketWidth(clause.window);
    const groups = groupBy(
      events.filter((e) => reader.has(e)),
      clause.groupBy,
    );
    const windows = groupWindows(groups, `d#${rule.rule.id}#`, width, clause.window);
    const now = storeClock(events);
    const stored = await this.store.readSets(
      windows.map((w) => w.range),
      now,
    );
    const cap = Math.min(MAX_SET_CAP, clause.count);
    const span = windowSpan(clause.window, width);
    const adds: SetAdd[] = [];
    const qualified: QualifiedGroup[] = [];
    for (const { key, list, range } of windows) {
      const pk = range.key;
      const storedBuckets = stored.get(pk);
      const lastStored = storedBuckets ? lastHeldBucket(storedBuckets) : Number.NEGATIVE_INFINITY;
      const only = list.length === 1 ? (list[0] as NormalizedEvent) : undefined;
      const onlyFields = only && reader.fieldsOf(only);
      if (only && onlyFields?.length === 1) {
        // Most groups of busy traffic are one event with one value (a flow's new source and
        // port): the same decision as the loop below, without its per-group map and sets.
        const b = bucketOf(eventTime(only), width);
        const value = this.memberOf(only, onlyFields[0] as string, reader);
        let first = b - span;
        let count: number;
        if (lastStored > b) ({ count, first } = largestUnion(b, span, (x) => [storedBuckets?.get(x), x === b ? [value] : undefined]));
        else count = unionSizeWith(storedBuckets, first, b, value);
        if (count >= clause.count) {
          const counted = earliestBucket(first, first + span, (x) => (storedBuckets?.get(x)?.size ?? 0) > 0);
          qualified.push(oneEventGroup(key, list, clause.groupBy[0], count, first * width, counted, width));
        }
        const storedMembers = storedBuckets?.get(b);
        if (!(storedMembers && (storedMembers.size >= cap || storedMembers.has(value)))) {
          adds.push({ key: pk, bucket: b, members: [value], cap, expiresAt: bucketExpiry(b, width, clause.window) });
        }
        continue;
      }
      const qualifiers: Qualifier[] = [];
      const batchBuckets = new Map<number, Set<string>>();
      // The window's union is rebuilt only when the event's bucket changes (events are sorted);
      // within a bucket each new value is simply added.
      let unionBucket = Number.NaN;
      let union = new Set<string>();
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as NormalizedEvent;
        const b = bucketOf(eventTime(e), width);
        const values = reader.fieldsOf(e).map((field) => this.memberOf(e, field, reader));
        let set = batchBuckets.get(b);
        if (!set) {
          set = new Set<string>();
          batchBuckets.set(b, set);
        }
        for (const value of values) set.add(value);
        let first = b - span;
        let count: number;
        if (lastStored > b) {
          // A delivery that came late: the windows ending after it hold other streams' later values.
          ({ count, first } = largestUnion(b, span, (x) => [storedBuckets?.get(x), batchBuckets.get(x)]));
        } else {
          if (b !== unionBucket) {
            unionBucket = b;
            union = new Set<string>();
            for (let x = first; x <= b; x++) {
              const storedMembers = storedBuckets?.get(x);
              if (storedMembers) for (const v of storedMembers) union.add(v);
              const batchMembers = batchBuckets.get(x);
              if (batchMembers) for (const v of batchMembers) union.add(v);
            }
          } else for (const value of values) union.add(value);
          count = union.size;
        }
        if (count >= clause.count) {
          const counted = earliestBucket(first, first + span, (x) => (storedBuckets?.get(x)?.size ?? 0) > 0);
          qualifiers.push({ index: i, from: 0, count, windowStart: first * width, ...countedFromBucket(counted, width) });
        }
      }
      if (qualifiers.length > 0) qualified.push({ key, list, entityField: clause.groupBy[0], qualifiers });
      for (const [bucket, members] of batchBuckets) {
        // Nothing new for this bucket (the same values again, or the set is already full): the write
        // would not change the item, so it is not made. Benign traffic repeats itself; this is most of it.
        const storedMembers = storedBuckets?.get(bucket);
        if (storedMembers && (storedMembers.size >= cap || containsAll(storedMembers, members))) continue;
        adds.push({ key: pk, bucket, members: [...members].sort(), cap, expiresAt: bucketExpiry(bucket, width, clause.window) });
      }
    }
    await this.store.addToSets(adds, now);
    return qualified;
  }

  /**
   * A distinct-value set's member: the value, bounded. A name inside another account than the
   * stack's own is a different thing per account (./entity-scope.ts): one address trying `admin`
   * in ten member accounts has tried ten accounts. The stack's own account keeps plain values, so a
   * single account's sets read the same as before accounts were told apart.
   */
  private memberOf(e: NormalizedEvent, field: string, reader: DistinctMembers): string {
    const value = String(e[field]);
    const account = memberAccount(e, field, reader.kindOf(field));
    return boundedValue(account === undefined || account === this.ctx.account ? value : scopedKey(value, account), MAX_MEMBER_CHARS);
  }

  private async sequenceRule(rule: CompiledRule, events: NormalizedEvent[]): Promise<QualifiedGroup[]> {
    const clause = rule.rule.sequence;
    if (!clause) return [];
    const window = clause.window;
    const width = bucketWidth(window);
    const groups = groupBy(events, clause.groupBy);
    const steps = rule.steps;
    const last = steps.length - 1;
    const counts = steps.map((s) => s.count);
    const pk = (key: string, step: number) => `s#${rule.rule.id}#${key}#${step}`;
    const now = storeClock(events);
    const plans = [...groups].map(([key, list]) => sequencePlan(key, list, steps));
    // A sequence completes at an event of its last step, with the earlier steps' occurrences of its
    // window: a batch's own last-step events read every step over their windows. And a delivery
    // that comes late (another stream's, seconds behind) may complete a last step already stored:
    // a group with earlier-step events reads its last step from the first of them to a window past
    // its last event — nearly always nothing — and not its earlier steps (a run of failures, most
    // of a brute force, reads no stored failures).
    const ranges: BucketRange[] = [];
    for (const { key, lastTime, ownLast, firstEarlier } of plans) {
      const own = ownLast && { from: bucketOf(ownLast[0] - window, width), to: bucketOf(ownLast[1], width) };
      const later = firstEarlier !== undefined && { from: bucketOf(firstEarlier, width), to: bucketOf(lastTime + window, width) };
      if (own) for (let s = 0; s < last; s++) ranges.push({ key: pk(key, s), ...own });
      const lastRange = own && later ? { from: Math.min(own.from, later.from), to: Math.max(own.to, later.to) } : own || later;
      if (lastRange) ranges.push({ key: pk(key, last), ...lastRange });
    }
    const stored = ranges.length > 0 ? await this.store.readSets(ranges, now) : new Map<string, Map<number, ReadonlySet<string>>>();
    // Last steps stored before this batch that its earlier steps may complete: read with their windows.
    const late = new Map<string, StoredOccurrence[]>();
    for (const plan of plans) {
      const completed = lateCompletions(plan, stored.get(pk(plan.key, last)), window);
      if (completed.length > 0) late.set(plan.key, completed);
    }
    if (late.size > 0) {
      // Every step over those windows and the batch's own last steps' (a rare second round trip).
      const lateRanges: BucketRange[] = [];
      for (const plan of plans) {
        const completions = late.get(plan.key);
        if (!completions) continue;
        const from = bucketOf(Math.min(completions[0]?.t ?? plan.first, plan.ownLast?.[0] ?? Number.POSITIVE_INFINITY) - window, width);
        const to = bucketOf(Math.max(completions[completions.length - 1]?.t ?? plan.lastTime, plan.ownLast?.[1] ?? 0), width);
        for (let s = 0; s <= last; s++) lateRanges.push({ key: pk(plan.key, s), from, to });
      }
      for (const [key, buckets] of await this.store.readSets(lateRanges, now)) stored.set(key, buckets);
    }
    const qualified: QualifiedGroup[] = [];
    const adds: SetAdd[] = [];
    for (const plan of plans) {
      const { key, list } = plan;
      const lateStored = late.get(key) ?? [];
      const completes = plan.ownLast !== undefined || lateStored.length > 0;
      // Occurrence times per step: stored ones (this batch's own left out: a retried batch may have
      // stored them), then this batch's, kept sorted.
      const before = completes ? steps.map((_, s) => storedTimesWithout(stored.get(pk(key, s)), plan.members[s])) : [];
      // Kept apart from the batch's only when a late completion must be told from one without it.
      const times = lateStored.length > 0 ? before.map((t) => [...t]) : before;
      const qualifiers: Qualifier[] = [];
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as NormalizedEvent;
        const t = eventTime(e);
        const matched = plan.matches[i] ?? 0;
        if (completes) {
          const weight = Math.min(eventWeight(e), MAX_STEP_WEIGHT);
          for (let s = 0; s <= last; s++) if (matched & (1 << s)) for (let w = 0; w < weight; w++) insertSorted(times[s] ?? [], t);
        }
        if (!plan.ownLast || !(matched & (1 << last))) continue;
        if (sequenceCompletes(times, counts, t, window)) {
          qualifiers.push({ index: i, from: 0, count: 0, windowStart: t - window, ...occurrencesOf(times, t - window, t) });
        }
      }
      // A stored last step that this batch's earlier steps complete (and that did not complete without them).
      const lateCompleted = lateStored.filter(
        ({ t }) => sequenceCompletes(times, counts, t, window) && !sequenceCompletes(before, counts, t, window),
      );
      let group: QualifiedGroup = { key, list, entityField: clause.groupBy[0], qualifiers };
      if (lateCompleted.length > 0) {
        const contexts = await this.store.readSetContexts(
          [
            {
              key: pk(key, last),
              from: bucketOf(lateCompleted[0]?.t ?? 0, width),
              to: bucketOf(lateCompleted[lateCompleted.length - 1]?.t ?? 0, width),
            },
          ],
          now,
        );
        const triggers = lateCompleted.map((stored) => lateTrigger(stored, plan, contexts.get(pk(key, last)), clause.groupBy));
        group = withLateTriggers(group, triggers, (t) => ({ windowStart: t - window, ...occurrencesOf(times, t - window, t) }));
      }
      if (group.qualifiers.length > 0) qualified.push(group);
      adds.push(...sequenceAdds(plan, last, (s) => pk(key, s), width, window));
    }
    // Before this batch's own contexts are stored: those of earlier batches, for the steps a
    // completed sequence's batch may not hold (one read per earlier step, only when one completes).
    if (qualified.length > 0) await this.priorSteps(qualified, last, pk, width, now);
    await this.store.addToSets(adds, now);
    return qualified;
  }

  /** Each completed group's earlier steps as stored: the latest event of each, shown before the batch's own (candidate()). */
  private async priorSteps(
    groups: QualifiedGroup[],
    earlierSteps: number,
    pk: (key: string, step: number) => string,
    width: number,
    now: number,
  ): Promise<void> {
    const ranges = [];
    for (const g of groups) {
      // The buckets the completions counted from (sequenceRule's read; the first completion's window starts first).
      const from = bucketOf(g.qualifiers[0]?.windowStart ?? eventTime(g.list[0] ?? {}), width);
      const to = bucketOf(eventTime(g.list[g.list.length - 1] ?? {}), width);
      for (let s = 0; s < earlierSteps; s++) ranges.push({ key: pk(g.key, s), from, to });
    }
    const stored = await this.store.readSetContexts(ranges, now);
    for (const g of groups) {
      const prior: NormalizedEvent[] = [];
      for (let s = 0; s < earlierSteps; s++) {
        let newest: NormalizedEvent | undefined;
        for (const text of stored.get(pk(g.key, s))?.values() ?? []) {
          const e = contextEvent(text);
          if (e && (!newest || eventTime(e) > eventTime(newest))) newest = e;
        }
        if (newest) prior.push(newest);
      }
      if (prior.length > 0) g.prior = prior.sort((a, b) => eventTime(a) - eventTime(b));
    }
  }

  private async newTermRule(rule: CompiledRule, events: NormalizedEvent[], tally: { learnedTerms: number }): Promise<QualifiedGroup[]> {
    const clause = rule.rule.newTerm;
    if (!clause) return [];
    const groups = groupBy(
      events.filter((e) => e[clause.field] !== undefined),
      clause.groupBy,
    );
    const claims: TermClaim[] = [];
    const claimed: [string, NormalizedEvent[], number][] = [];
    for (const [key, list] of groups) {
      // One claim per (entity, term) per batch, made at the term's first occurrence; its expiry
      // runs from the last one, as a claim per event would have left it.
      const byTerm = new Map<string, TermClaim>();
      list.forEach((e, index) => {
        const term = boundedValue(lowerCase(String(e[clause.field])));
        const at = eventTime(e);
        const known = byTerm.get(term);
        if (known) {
          known.expiresAt = at + clause.baseline;
          return;
        }
        const claim = { key: `n#${rule.rule.id}#${key}`, term, owner: eventId(e) || `${at}`, at, expiresAt: at + clause.baseline };
        byTerm.set(term, claim);
        claims.push(claim);
        claimed.push([key, list, index]);
      });
    }
    const results = await this.store.claimTerms(claims, storeClock(events));
    if (this.learnOnly) {
      await this.learning.recordHistory(rule.rule.id, this.sightings(claims, claimed, results));
      return [];
    }
    const learnedUntil = await this.learnedUntil(rule, clause.learn, claims, claimed, results);
    const qualified = new Map<string, QualifiedGroup>();
    results.forEach((r, i) => {
      const entry = claimed[i];
      if (!entry || !r.isNew || (clause.requireHistory && !r.hadHistory)) return;
      if (learnedUntil && (claims[i]?.at ?? 0) < (learnedUntil.get(learningAccountOf(entry, this.learningScope)) ?? 0)) {
        tally.learnedTerms++;
        return;
      }
      const [key, list, index] = entry;
      // Each new term is its own condition (a second new country is a second finding, not an update
      // of the first), unless the rule makes one alert per entity of all its new terms.
      const termKey = clause.alertPer === 'entity' ? key : `${key}#${claims[i]?.term ?? ''}`;
      const group = qualified.get(termKey) ?? { key: termKey, list, entityField: clause.groupBy[0], qualifiers: [] };
      group.qualifiers.push({ index, from: index, count: 1, windowStart: eventTime(list[index] as NormalizedEvent) });
      qualified.set(termKey, group);
    });
    for (const g of qualified.values()) g.qualifiers.sort((a, b) => a.index - b.index);
    return [...qualified.values()];
  }

  /**
   * Per account of the logs, until when the rule only learns (src/engine/term-learning.ts);
   * undefined when it never does.
   */
  private async learnedUntil(
    rule: CompiledRule,
    ruleLearn: number | false | undefined,
    claims: readonly TermClaim[],
    claimed: readonly [string, NormalizedEvent[], number][],
    results: readonly TermClaimResult[],
  ): Promise<Map<string | undefined, number> | undefined> {
    const learn = ruleLearn === undefined ? this.newTermLearning : ruleLearn === false ? 0 : ruleLearn;
    if (learn <= 0 || claims.length === 0) return undefined;
    const since = await this.learning.watchedSince(rule.rule.id, this.sightings(claims, claimed, results), learn);
    return new Map([...since].map(([account, start]) => [account, start + learn]));
  }

  /** Per account of the logs, what a batch's term claims say about since when the rule has watched them. */
  private sightings(
    claims: readonly TermClaim[],
    claimed: readonly [string, NormalizedEvent[], number][],
    results: readonly TermClaimResult[],
  ): WatchSighting[] {
    const sightings = new Map<string | undefined, WatchSighting>();
    claims.forEach((c, i) => {
      const entry = claimed[i];
      const r = results[i];
      if (!entry || !r) return;
      const account = learningAccountOf(entry, this.learningScope);
      // Terms from a table older than learning starts: the rule has watched longer than it can say.
      // (Not merely terms claimed before this batch: a racing detector's, or this batch's own on an
      // earlier delivery, are a fresh deployment's too.)
      const before = r.legacy;
      const s = sightings.get(account);
      if (s) {
        s.earliest = Math.min(s.earliest, c.at);
        s.watchedBefore ||= before;
      } else sightings.set(account, { account, earliest: c.at, watchedBefore: before });
    });
    return [...sightings.values()];
  }

  private async spikeRule(batchId: string, rule: CompiledRule, events: NormalizedEvent[]): Promise<QualifiedGroup[]> {
    const clause = rule.rule.spike;
    if (!clause) return [];
    // Spike buckets are whole windows: the baseline is the mean count of the previous windows.
    const width = clause.window;
    const baselineBuckets = Math.round(clause.baseline / clause.window);
    const groups = clause.groupBy.length > 0 ? groupBy(events, clause.groupBy) : logGroupKeyed(events);
    const pk = (key: string) => `p#${rule.rule.id}#${key}`;
    const increments: CounterIncrement[] = [];
    for (const [key, list] of groups) addBucketIncrements(increments, pk(key), list, width, clause.baseline);
    const now = storeClock(events);
    // The counts of the baseline windows and, beside them, the levels any of them spiked at.
    const ranges = [...groups].map(([key, list]) => {
      const [first, last] = bucketSpan(list, width);
      return { key: pk(key), from: first - baselineBuckets, to: last };
    });
    // Incremented and read at once, one round trip: a window this batch adds to is taken from the
    // increment's result (as if read after it), so a batch spanning two windows sees its own
    // events in the earlier one's count, whichever call the store answers first.
    const [results, stored, watchedSince] = await Promise.all([
      this.store.incrementCounters(batchId, increments, now),
      this.store.readCounters(ranges, now),
      this.learning.watchedSince(rule.rule.id, ownerSightings(events), clause.baseline),
    ]);
    const totals = new Map(results.map((r) => [`${r.key}@${r.bucket}`, r.total]));
    for (const r of results) mapOf(stored, r.key).set(r.bucket, r.total);
    const qualified: QualifiedGroup[] = [];
    const levels: CounterIncrement[] = [];
    for (const [key, list] of groups) {
      const storedBuckets = stored.get(pk(key)) ?? new Map<number, number>();
      const qualifiers: Qualifier[] = [];
      // The list is sorted, so each bucket's events are one contiguous run starting at `from`.
      const firstIndex = new Map<number, number>();
      const perBucket = new Map<number, number>();
      list.forEach((e, i) => {
        const b = bucketOf(eventTime(e), width);
        if (!firstIndex.has(b)) firstIndex.set(b, i);
        perBucket.set(b, (perBucket.get(b) ?? 0) + eventWeight(e));
      });
      for (const [bucket, inBatch] of perBucket) {
        const { needed, held, mean, atLevel } = spikeThreshold(clause, storedBuckets, bucket, baselineBuckets);
        const total = totals.get(`${pk(key)}@${bucket}`) ?? inBatch;
        const before = total - inBatch;
        if (before >= needed || total < needed) continue; // only the batch that crosses qualifies
        const from = firstIndex.get(bucket) ?? 0;
        // The trigger is the event whose (weighted) occurrence crosses the threshold.
        let index = from;
        for (let seen = before + eventWeight(list[index] as NormalizedEvent); seen < needed && index + 1 < list.length; ) {
          index++;
          seen += eventWeight(list[index] as NormalizedEvent);
        }
        // The count at the crossing event, not the bucket's total after this batch: the same however events were batched.
        qualifiers.push({
          index,
          from,
          count: needed,
          windowStart: bucket * width,
          baseline: { mean, windowMs: width, baselineMs: clause.baseline, threshold: needed, held: atLevel },
          ...(before > 0 ? { countedFrom: bucket * width } : {}),
        });
        // A spike in the rule's first baseline of watching these logs is against a baseline it
        // never saw (deploy day: every busy service "spikes"): no level, so the baseline learns
        // its normal as it fills. After that, the level this window spiked at holds for the
        // windows after it (a later window of this batch reads it here).
        const since = watchedSince.get(ownerOf(list[index] as NormalizedEvent));
        if (!held && (since === undefined || since + clause.baseline > bucket * width)) continue;
        const level = spikeLevelBucket(bucket);
        storedBuckets.set(level, needed);
        levels.push({ key: pk(key), bucket: level, delta: needed, expiresAt: bucketExpiry(bucket, width, clause.baseline) });
      }
      if (qualifiers.length > 0) qualified.push({ key, list, entityField: clause.groupBy[0], qualifiers });
    }
    // Its own batch id: the counts' increment above already holds `batchId` on these items, and a
    // redelivered batch must write its levels once too.
    if (levels.length > 0) await this.store.incrementCounters(`${batchId}#level`, levels, now);
    return qualified;
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

/** A group's entity: its field's value in the trigger (the group key when it has none), bounded and redacted, with its account. */
function groupEntity(entityField: string | undefined, key: string, trigger: NormalizedEvent): AlertEntity {
  const field = entityField ?? CoreFields.logGroup;
  const account = eventEntityAccount(trigger, field);
  return { field, value: boundedValue(redact(String(trigger[field] ?? key))), ...(account === undefined ? {} : { account }) };
}

/** Events of rules without groupBy: one group per log group (a payload holds one), per owner account. */
function logGroupKeyed(events: NormalizedEvent[]): Map<string, NormalizedEvent[]> {
  const first = events[0] ?? {};
  return new Map([[scopedKey(String(first[CoreFields.logGroup] ?? ''), eventEntityAccount(first, CoreFields.logGroup)), events]]);
}

/** An event that met the rule's condition, with what the alert needs to describe it. */
interface Qualifier {
  index: number;
  /** First index of the evidence run (events before windowStart are dropped). */
  from: number;
  /** The count that met the condition; 0 means "the number of evidence events". */
  count: number;
  windowStart: number;
  /** Spike rules: what the window was measured against (the alert's `baseline`). */
  baseline?: SpikeBaseline;
  /**
   * When the counted occurrences began, where earlier deliveries counted some (the evidence holds
   * only this batch's): a sequence's first occurrence in its window; for counters and sets, which
   * keep no times, the start of the earliest bucket they counted in — at most a tenth of the
   * window early. Without it the alert's firstSeen was this batch's first event, minutes late.
   */
  countedFrom?: number;
  /**
   * What the alert counts when `count` is 0 and the evidence is not all there is: a sequence's
   * occurrences of its steps in the window, earlier batches' included (its evidence holds one
   * event per earlier step from those). Not an intensity: the lifecycle still takes 1.
   */
  shown?: number;
}

interface QualifiedGroup {
  key: string;
  /** The group's events, time-sorted. */
  list: NormalizedEvent[];
  entityField: string | undefined;
  qualifiers: Qualifier[];
  /** Evidence runs forward from the trigger (stateless rules) rather than back over the window. */
  forward?: boolean;
  /** Sequences: the latest stored event of each earlier step (from earlier batches), oldest first. */
  prior?: NormalizedEvent[];
}

/**
 * A bucket's count before this batch: what the store held before our own increment where it
 * answered for our item, else what a read found.
 */
function countBefore(
  priorOwn: ReadonlyMap<number, number> | undefined,
  stored: ReadonlyMap<number, number> | undefined,
  b: number,
): number {
  const own = priorOwn?.get(b);
  return own !== undefined ? own : (stored?.get(b) ?? 0);
}

/** A one-event group whose event met its rule's count (threshold and distinct rules' fast path). */
function oneEventGroup(
  key: string,
  list: NormalizedEvent[],
  entityField: string | undefined,
  count: number,
  windowStart: number,
  counted: number | undefined,
  width: number,
): QualifiedGroup {
  return { key, list, entityField, qualifiers: [{ index: 0, from: 0, count, windowStart, ...countedFromBucket(counted, width) }] };
}

/** The last bucket other deliveries counted in (-Infinity: none), as countBefore reads them. */
function lastCountedBucket(priorOwn: ReadonlyMap<number, number> | undefined, stored: ReadonlyMap<number, number> | undefined): number {
  let last = Number.NEGATIVE_INFINITY;
  if (stored) for (const bucket of stored.keys()) if (bucket > last && countBefore(priorOwn, stored, bucket) > 0) last = bucket;
  if (priorOwn) for (const [bucket, n] of priorOwn) if (bucket > last && n > 0) last = bucket;
  return last;
}

/** The last bucket holding a stored set (-Infinity: none). */
function lastHeldBucket(stored: ReadonlyMap<number, ReadonlySet<string>>): number {
  let last = Number.NEGATIVE_INFINITY;
  for (const [bucket, members] of stored) if (bucket > last && members.size > 0) last = bucket;
  return last;
}

/** The first bucket from..to that `counted` says earlier deliveries counted in, if any. */
function earliestBucket(from: number, to: number, counted: (bucket: number) => boolean): number | undefined {
  for (let x = from; x <= to; x++) if (counted(x)) return x;
  return undefined;
}

function countedFromBucket(bucket: number | undefined, width: number): Pick<Qualifier, 'countedFrom'> {
  return bucket === undefined ? {} : { countedFrom: bucket * width };
}

/** A sequence's occurrences of every step from..to, and when the first of them was. */
function occurrencesOf(times: readonly (readonly number[])[], from: number, to: number): Pick<Qualifier, 'shown' | 'countedFrom'> {
  let first = Number.POSITIVE_INFINITY;
  for (const stepTimes of times) {
    const at = stepTimes[lowerBound(stepTimes, from)];
    if (at !== undefined && at <= to) first = Math.min(first, at);
  }
  return { shown: occurrencesWithin(times, from, to), ...(Number.isFinite(first) ? { countedFrom: first } : {}) };
}

/**
 * Greedy check that the steps happened in order within the window ending at t:
 * each step needs `count` occurrences, all after the previous step was satisfied.
 * `times` holds each step's occurrence times, sorted ascending.
 */
export function sequenceCompletes(times: readonly (readonly number[])[], counts: readonly number[], t: number, windowMs: number): boolean {
  let cursor = t - windowMs;
  for (let s = 0; s < times.length; s++) {
    const need = counts[s] ?? 1;
    const stepTimes = times[s] ?? [];
    const hit = stepTimes[lowerBound(stepTimes, cursor) + need - 1];
    if (hit === undefined || hit > t) return false;
    cursor = hit;
  }
  return true;
}

/** The occurrences of every step at times from..to (each step's times sorted ascending). */
function occurrencesWithin(times: readonly (readonly number[])[], from: number, to: number): number {
  let n = 0;
  for (const stepTimes of times) n += lowerBound(stepTimes, to + 1) - lowerBound(stepTimes, from);
  return n;
}

function insertSorted(sorted: number[], value: number): void {
  const at = lowerBound(sorted, value + 1);
  sorted.splice(at, 0, value);
}

/**
 * The group with stored last steps that this batch completed: each is put in the list at its time
 * (the evidence before it is the batch's steps and the stored ones), the qualifiers kept in order.
 */
function withLateTriggers(
  group: QualifiedGroup,
  triggers: readonly NormalizedEvent[],
  describe: (t: number) => Pick<Qualifier, 'windowStart' | 'shown' | 'countedFrom'>,
): QualifiedGroup {
  const list = [...group.list, ...triggers].sort((a, b) => eventTime(a) - eventTime(b));
  const at = new Map(list.map((e, i) => [e, i]));
  const qualifiers: Qualifier[] = [
    ...group.qualifiers.map((q) => ({ ...q, index: at.get(group.list[q.index] as NormalizedEvent) ?? q.index })),
    ...triggers.map((e) => ({ index: at.get(e) ?? 0, from: 0, count: 0, ...describe(eventTime(e)) })),
  ].sort((a, b) => a.index - b.index);
  return { ...group, list, qualifiers };
}

/**
 * Pre-aggregation: one counter increment per (key, bucket) for the whole batch, however many
 * events it holds. The list is time-sorted, so each bucket's events are one contiguous run.
 */
function addBucketIncrements(
  increments: CounterIncrement[],
  key: string,
  list: readonly NormalizedEvent[],
  width: number,
  keepMs: number,
): void {
  let bucket = Number.NaN;
  let delta = 0;
  for (const e of list) {
    const b = bucketOf(eventTime(e), width);
    if (b !== bucket) {
      if (delta > 0) increments.push({ key, bucket, delta, expiresAt: bucketExpiry(bucket, width, keepMs) });
      bucket = b;
      delta = 0;
    }
    delta += eventWeight(e);
  }
  if (delta > 0) increments.push({ key, bucket, delta, expiresAt: bucketExpiry(bucket, width, keepMs) });
}

function mapOf<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let inner = outer.get(key);
  if (!inner) {
    inner = new Map<K, V>();
    outer.set(key, inner);
  }
  return inner;
}

/** A bucket's state is needed for `keepMs` (window or baseline) after the bucket ends, plus the late-arrival grace. */

/**
 * The count a spike window must reach: `factor` times the mean of the baseline windows before it,
 * and at least `min` — or, when one of those windows spiked, the level the latest of them spiked
 * at, if that is lower. A spike's own windows would otherwise become its baseline: a fault that
 * multiplies a service's errors stops "spiking" once it fills the baseline (a quarter of an hour
 * into an all-day outage, for a 5-minute window over an hour), resolves, and is never told
 * again. Each window that reaches the level records it in turn, so the level carries through a
 * fault of any length; it lapses a baseline after the last window that reached it, when the
 * baseline holds what came after the fault. `held`: a level applies (the caller records the first
 * level of a spike only once the rule has watched the logs for a baseline); `atLevel`: it is the
 * threshold (lower than the learned one). `mean`: the baseline windows' mean, for the alert. A level
 * written by two batches (both crossing one window: only when late events raised its baseline
 * between them) adds up: that makes the rule less sensitive for a baseline, never noisier.
 */
function spikeThreshold(
  clause: { factor: number; min: number },
  stored: ReadonlyMap<number, number>,
  bucket: number,
  baselineBuckets: number,
): { needed: number; held: boolean; mean: number; atLevel: boolean } {
  let sum = 0;
  let level: number | undefined;
  for (let x = bucket - baselineBuckets; x < bucket; x++) {
    sum += stored.get(x) ?? 0;
    level = stored.get(spikeLevelBucket(x)) ?? level;
  }
  const mean = sum / baselineBuckets;
  const learned = Math.max(clause.min, Math.ceil(clause.factor * mean));
  const needed = level === undefined ? learned : Math.min(learned, level);
  return { needed, held: level !== undefined, mean, atLevel: level !== undefined && level < learned };
}

/** The account that owns an event's log group (src/engine/term-learning.ts: what a rule watches). */
function ownerOf(e: NormalizedEvent): string | undefined {
  const owner = e[CoreFields.owner];
  return owner === undefined ? undefined : String(owner);
}

/** Per owner of the logs, the earliest of a batch's events (the batch is in time order; a payload has one owner). */
function ownerSightings(events: readonly NormalizedEvent[]): WatchSighting[] {
  const sightings = new Map<string | undefined, WatchSighting>();
  let last: string | undefined | null = null;
  for (const e of events) {
    const account = ownerOf(e);
    if (account === last) continue;
    last = account;
    if (!sightings.has(account)) sightings.set(account, { account, earliest: eventTime(e), watchedBefore: false });
  }
  return [...sightings.values()];
}

/** Per group: the range of buckets its window reads, under the store key `prefix + group key`. */
/**
 * Each group's stored buckets to read: its events' windows, and as far again after its last event —
 * a delivery that comes late finds there what other streams' later events already counted (in time
 * order there is nothing, and DynamoDB charges nothing for items a query does not find).
 */
function groupWindows(
  groups: Map<string, NormalizedEvent[]>,
  prefix: string,
  width: number,
  windowMs: number,
): { key: string; list: NormalizedEvent[]; range: BucketRange }[] {
  const ahead = windowSpan(windowMs, width);
  return [...groups].map(([key, list]) => {
    const [first, last] = bucketSpan(list, width);
    return { key, list, range: { key: prefix + key, from: windowFirstBucket(first, windowMs, width), to: last + ahead } };
  });
}

/** `largestWindow` for distinct values: the largest union of the members of a window holding `b` (each bucket's from its sources). */
function largestUnion(
  b: number,
  span: number,
  membersAt: (bucket: number) => readonly (Iterable<string> | undefined)[],
): { count: number; first: number } {
  let best = { count: -1, first: b - span };
  for (let first = b - span; first <= b; first++) {
    const union = new Set<string>();
    for (let x = first; x <= first + span; x++) for (const source of membersAt(x)) if (source) for (const v of source) union.add(v);
    if (union.size > best.count) best = { count: union.size, first };
  }
  return best;
}

/**
 * The largest window holding bucket `b` — its count, and its first bucket: the one ending at `b`
 * or, when buckets after `b` already hold counts (`storedAfter`: other streams' later events, this
 * event's delivery came late), one ending after it. In time order that is the window ending at `b`:
 * the count as of this event. Late, an event whose window's earlier and later halves were delivered
 * apart still meets the rule, as it would have in order.
 */
function largestWindow(
  b: number,
  span: number,
  countAt: (bucket: number) => number,
  storedAfter: boolean,
): { count: number; first: number } {
  let count = 0;
  for (let x = b - span; x <= b; x++) count += countAt(x);
  let best = { count, first: b - span };
  if (!storedAfter) return best;
  for (let y = b + 1; y <= b + span; y++) {
    count += countAt(y) - countAt(y - span - 1);
    if (count > best.count) best = { count, first: y - span };
  }
  return best;
}

/** First and last bucket of a time-sorted, non-empty group. */
function bucketSpan(list: readonly NormalizedEvent[], width: number): [number, number] {
  return [bucketOf(eventTime(list[0] ?? {}), width), bucketOf(eventTime(list[list.length - 1] ?? {}), width)];
}

/** Per groupBy list (one per rule clause), its fields' reader (see runtime/field-access.ts). */
const groupReaders = new WeakMap<readonly string[], FieldReader>();
const groupValues: (FieldValue | undefined)[] = [];

function groupBy(events: readonly NormalizedEvent[], fields: readonly string[]): Map<string, NormalizedEvent[]> {
  const groups = new Map<string, NormalizedEvent[]>();
  let read = groupReaders.get(fields);
  if (!read) {
    read = fieldReader(fields);
    groupReaders.set(fields, read);
  }
  const values = groupValues;
  outer: for (const e of events) {
    read(e, values);
    let key = '';
    for (let i = 0; i < fields.length; i++) {
      const v = values[i];
      if (v === undefined || v === '') continue outer; // events without the entity cannot be attributed
      const part = boundedValue(String(v));
      key = i === 0 ? part : `${key}|${part}`;
    }
    // Several bounded parts can still add up past a DynamoDB key: the whole key is bounded too.
    if (key.length > MAX_GROUP_KEY_CHARS) key = boundedValue(key);
    push(groups, key, e);
  }
  return perAccount(groups, fields[0] as string);
}

/**
 * Names inside one account (users, hosts, private addresses; ./entity-scope.ts) are counted per
 * account: each group's key names the account of its entity. A payload comes from one account and
 * an organization trail's records of one user name one account, so a group's events nearly always
 * agree: their account is worked out once per group, and only a group whose events name several
 * accounts is split event by event.
 */
function perAccount(groups: Map<string, NormalizedEvent[]>, entityField: string): Map<string, NormalizedEvent[]> {
  const scoped = new Map<string, NormalizedEvent[]>();
  for (const [key, list] of groups) {
    const first = list[0] as NormalizedEvent;
    if (sameAccounts(list)) scoped.set(scopedKey(key, eventEntityAccount(first, entityField)), list);
    else for (const e of list) push(scoped, scopedKey(key, eventEntityAccount(e, entityField)), e);
  }
  return scoped;
}

function sameAccounts(list: readonly NormalizedEvent[]): boolean {
  const first = list[0] as NormalizedEvent;
  const account = first['cloud.account.id'];
  const owner = first[CoreFields.owner];
  for (let i = 1; i < list.length; i++) {
    const e = list[i] as NormalizedEvent;
    if (e['cloud.account.id'] !== account || e[CoreFields.owner] !== owner) return false;
  }
  return true;
}

/** Distinct values in stored buckets `from`..`to` plus `value`; a set is built only when two buckets hold members. */
function unionSizeWith(stored: ReadonlyMap<number, ReadonlySet<string>> | undefined, from: number, to: number, value: string): number {
  let only: ReadonlySet<string> | undefined;
  let union: Set<string> | undefined;
  if (stored) {
    for (let x = from; x <= to; x++) {
      const members = stored.get(x);
      if (!members || members.size === 0) continue;
      if (!only) only = members;
      else {
        union ??= new Set(only);
        for (const v of members) union.add(v);
      }
    }
  }
  const base = union ?? only;
  return base ? base.size + (base.has(value) ? 0 : 1) : 1;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * The account whose first week a claim's event counts toward (src/engine/term-learning.ts): the
 * owner of the logs, or with the `account` scope the account a CloudTrail record is about (the
 * CloudTrail source sets `event.dataset`; a 12-digit id only). An app's JSON line that writes
 * both fields itself could choose its account under that scope — as it chooses every other
 * field it carries; the `owner` default leaves lines no say.
 */
function learningAccountOf([, list, index]: readonly [string, NormalizedEvent[], number], scope: LearningScope): string | undefined {
  const event = list[index];
  const owner = event?.[CoreFields.owner];
  if (scope === 'account' && event?.['event.dataset'] === 'aws.cloudtrail') {
    const about = awsAccountId(event['cloud.account.id']);
    if (about !== undefined) return about;
  }
  return owner === undefined ? undefined : boundedValue(String(owner));
}

/**
 * The time the store filters expiry against: the earliest event of the rule's (time-sorted)
 * events. An item expired before it is dead for every event of the batch; using the latest
 * event instead would drop state that earlier events still need when a batch spans longer
 * than an item's grace.
 */
function storeClock(events: readonly NormalizedEvent[]): number {
  return eventTime(events[0] ?? {});
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

/** Whether every one of `wanted` is among `have`. */
function containsAll(have: ReadonlySet<string>, wanted: ReadonlySet<string>): boolean {
  if (wanted.size > have.size) return false;
  for (const v of wanted) if (!have.has(v)) return false;
  return true;
}
