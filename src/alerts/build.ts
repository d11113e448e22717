import { createHash } from 'node:crypto';
import { ruleTier } from '../engine/alert-policy';
import { boundedValue } from '../engine/bounded-value';
import { alertAccount, eventEntityAccount, scopedLabel } from '../engine/entity-scope';
import type { Emission } from '../engine/lifecycle';
import type { Alert, AlertCloud, AlertEntity, AlertEvent, AlertStatus, CountedValues, SpikeBaseline } from '../schema/alert';
import { wordedDuration } from '../schema/duration';
import { CoreFields, ENTITY_FIELDS, eventId, eventTime, type FieldValue, type NormalizedEvent } from '../schema/event';
import type { CorrelationRule, DetectionRule } from '../schema/rule';
import { type CloudContext, cloudOf, logGroupSources, logsAccountOf } from './cloud';
import { logsInsightsQuery, logsInsightsUrl } from './insights';
import { isSecretField, REDACTED, redact } from './redact';

export const MAX_SAMPLE_EVENTS = 5;
const MAX_SAMPLE_CHARS = 2048;
const MAX_RELATED_VALUES = 10;

export type AlertContext = CloudContext;

/** Deterministic id: the same rule, entity and triggering event always give the same id. */
export function stableId(prefix: string, ...parts: string[]): string {
  return `${prefix}-${createHash('sha256').update(parts.join('\u001f')).digest('hex').slice(0, 24)}`;
}

/** A detection's id: rule, entity key and triggering event, so a retried batch yields the same id. */
export function detectionId(ruleId: string, groupKey: string, trigger: NormalizedEvent): string {
  return stableId('det', ruleId, groupKey, eventId(trigger), String(eventTime(trigger)));
}

const TITLE_PLACEHOLDER = /\{([\w.@-]+(?:\|[\w.@-]+)*)(?:\|'([^'{}]*)')?\}/g;

/** The names a title's placeholders look up (each of a `{a|b}`'s), for `detect validate` to check. */
export function titleNames(template: string): string[] {
  return [...template.matchAll(TITLE_PLACEHOLDER)].flatMap((m) => (m[1] ?? '').split('|'));
}

/**
 * Fills `{field}` placeholders in a title from the entity and the trigger event; `{a|b}` takes the
 * first of the fields the event has (`{user.name|user.id}` for sources that name a user by id only),
 * and a quoted last choice is the text when it has none (`{source.ip|'an unknown client'}`).
 */
export function renderTitle(template: string, values: Readonly<Record<string, FieldValue | undefined>>): string {
  return renderTitleFrom(template, (name) => (Object.hasOwn(values, name) ? values[name] : undefined));
}

/** `renderTitle` with each name's value from `fieldValue`: an event's fields are read, not copied, for the few a title names. */
function renderTitleFrom(template: string, fieldValue: (name: string) => FieldValue | undefined): string {
  const text = template.replace(TITLE_PLACEHOLDER, (placeholder: string, names: string, otherwise?: string) => {
    // An empty value names nothing (a JSON line's `"instance": ""`): the next alternative is tried.
    for (const name of names.split('|')) {
      const value = fieldValue(name);
      if (value === undefined || value === '') continue;
      // A field named for a secret is dropped whole: its value alone (`Basic dXNl…`) may not look like one.
      return isSecretField(name) ? REDACTED : redact(String(value));
    }
    return otherwise ?? placeholder;
  });
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

type TimedRule = Pick<DetectionRule, 'title' | 'threshold' | 'distinct' | 'spike' | 'sequence' | 'absence'>;

/**
 * A detection rule's title for an alert. It may name its window (`{window}`: a threshold's,
 * distinct's, spike's or sequence's) and an absence rule the silence it waits for
 * (`{absence.after}`), worded as deployed: a title saying "in 5 minutes" would lie once a tuning
 * makes the window 15.
 */
export function detectionTitle(
  rule: TimedRule,
  trigger: NormalizedEvent,
  overrides: Readonly<Record<string, FieldValue | undefined>>,
): string {
  // The rule's own values first, then the caller's (the entity, the count), then the event's fields.
  const own: Readonly<Record<string, FieldValue | undefined>> = ruleTitleValues(rule);
  const fieldValue = (name: string) =>
    Object.hasOwn(own, name)
      ? own[name]
      : Object.hasOwn(overrides, name)
        ? overrides[name]
        : Object.hasOwn(trigger, name)
          ? trigger[name]
          : undefined;
  return renderTitleFrom(rule.title, fieldValue);
}

/** What a rule itself gives its title, beside its events' fields and `{count}`: its window, worded. */
export function ruleTitleValues(rule: Omit<TimedRule, 'title'>): Record<string, string> {
  const window = (rule.threshold ?? rule.distinct ?? rule.spike ?? rule.sequence)?.window;
  return {
    ...(window === undefined ? {} : { window: wordedDuration(window) }),
    ...(rule.absence ? { 'absence.after': wordedDuration(rule.absence.after) } : {}),
  };
}

/** Redact first, then cut: a secret straddling the cut would otherwise leave half redacted. */
function redactedSample(text: string): string {
  const clean = redact(text);
  return clean.length > MAX_SAMPLE_CHARS ? `${clean.slice(0, MAX_SAMPLE_CHARS)}…` : clean;
}

function toAlertEvent(event: NormalizedEvent): AlertEvent {
  const original = String(event['event.original'] ?? event[CoreFields.message] ?? '');
  const message = redactedSample(original);
  return {
    timestamp: new Date(eventTime(event)).toISOString(),
    logGroup: String(event[CoreFields.logGroup] ?? ''),
    logStream: String(event[CoreFields.logStream] ?? ''),
    eventId: eventId(event),
    message,
  };
}

/** The entity as it leaves in an alert: its value redacted, its account kept. */
function redactedEntity(entity: AlertEntity): AlertEntity {
  return { ...entity, value: redact(entity.value) };
}

/**
 * The other users, addresses, hosts and services in the evidence, and the account of each name
 * inside one (the first seen, for a name in two): when the evidence comes from other accounts than
 * the alert's (a public address spraying a hub's accounts), correlation files each under its own.
 */
function relatedEntities(events: readonly NormalizedEvent[]): { related: Record<string, string[]>; accounts: Record<string, string> } {
  const related: Record<string, string[]> = {};
  const accounts: Record<string, string> = {};
  for (const field of ENTITY_FIELDS) {
    const values = new Set<string>();
    // Evidence repeats its entities (one user's failures): each value is redacted once.
    const shown = new Map<string, string>();
    for (const e of events) {
      const v = e[field];
      if (v === undefined || v === '') continue;
      const text = String(v);
      let value = shown.get(text);
      if (value === undefined) {
        // Bounded as entities are, so correlation meets the same value whichever way it arrives.
        value = boundedValue(redact(text));
        shown.set(text, value);
      }
      if (!values.has(value) && values.size >= MAX_RELATED_VALUES) continue;
      values.add(value);
      // The first event that names an account for the value says it.
      const key = `${field}=${value}`;
      if (accounts[key] !== undefined) continue;
      const account = eventEntityAccount(e, field);
      if (account !== undefined) accounts[key] = account;
    }
    if (values.size > 0) related[field] = [...values].sort();
  }
  return { related, accounts };
}

/** Related entities, with their accounts only where one differs from the account the alert is about (correlation's default). */
function relatedOf(evidence: readonly NormalizedEvent[], about: string | undefined): Pick<Alert, 'related' | 'relatedAccounts'> {
  const { related, accounts } = relatedEntities(evidence);
  return Object.values(accounts).some((a) => a !== about) ? { related, relatedAccounts: accounts } : { related };
}

/** Where the condition stands when this message was decided (src/engine/lifecycle.ts). */
export interface LifecycleFields {
  alertId: string;
  status: AlertStatus;
  occurrences: number;
  openedAt: number;
  acknowledged?: Emission['acknowledged'];
}

export function lifecycleOf(e: Emission): LifecycleFields {
  return {
    alertId: e.alertId,
    status: e.status === 'update' ? 'open' : e.status,
    occurrences: e.occurrences,
    openedAt: e.openedAt,
    ...(e.acknowledged ? { acknowledged: e.acknowledged } : {}),
  };
}

/** The alert's lifecycle fields: where it stands, and who acknowledged it. */
function lifecycleFields(lifecycle: LifecycleFields): Pick<Alert, 'status' | 'occurrences' | 'openedAt' | 'acknowledged'> {
  const ack = lifecycle.acknowledged;
  return {
    status: lifecycle.status,
    occurrences: lifecycle.occurrences,
    openedAt: new Date(lifecycle.openedAt).toISOString(),
    // Typed by a responder, not read from a log line: redacted all the same, as everything that leaves.
    ...(ack
      ? { acknowledged: { by: redact(ack.by), at: new Date(ack.at).toISOString(), ...(ack.reason ? { reason: redact(ack.reason) } : {}) } }
      : {}),
  };
}

export interface DetectionInput {
  rule: DetectionRule;
  entity: AlertEntity;
  groupKey: string;
  trigger: NormalizedEvent;
  /** Evidence events, oldest first; only the last few are kept. */
  evidence: readonly NormalizedEvent[];
  count: number;
  windowStart: number;
  windowEnd: number;
  lifecycle: LifecycleFields;
  /** Spike rules: what the window was measured against. */
  baseline?: SpikeBaseline;
  /** Distinct-value rules: the values counted in the window (stored members: bounded, perhaps scoped to an account). */
  distinct?: CountedValues;
  /** Absence rules: how long without a matching event makes the entity absent, and its last one recorded. */
  absence?: NonNullable<Alert['absence']>;
  /**
   * When what the rule counted began, if before the evidence (occurrences earlier deliveries
   * counted, which the evidence does not hold): the alert's firstSeen is no later.
   */
  countedFrom?: number;
}

export function buildDetectionAlert(input: DetectionInput, ctx: AlertContext): Alert {
  const { rule, trigger, evidence } = input;
  const sample = evidence.slice(-MAX_SAMPLE_EVENTS);
  const firstEvidence = evidence.length > 0 ? eventTime(evidence[0] ?? trigger) : eventTime(trigger);
  const firstSeen = Math.min(firstEvidence, input.countedFrom ?? firstEvidence);
  const lastSeen = eventTime(trigger);
  const logGroups = [...new Set(evidence.map((e) => String(e[CoreFields.logGroup] ?? '')))].filter(Boolean).sort();
  const query = logsInsightsQuery(redact(input.entity.value));
  const start = Math.min(input.windowStart, firstSeen);
  const end = Math.max(input.windowEnd, lastSeen) + 1000;
  const tier = ruleTier(rule);
  const cloud = cloudOf(trigger, ctx);
  return {
    schemaVersion: '1',
    id: input.lifecycle.alertId,
    kind: 'detection',
    ruleId: rule.id,
    title: detectionTitle(rule, trigger, { [input.entity.field]: input.entity.value, count: input.count }),
    description: rule.description.trim(),
    severity: rule.severity,
    tier,
    riskScore: rule.riskScore,
    entity: redactedEntity(input.entity),
    window: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
    count: input.count,
    firstSeen: new Date(firstSeen).toISOString(),
    lastSeen: new Date(lastSeen).toISOString(),
    logGroups,
    events: sample.map(toAlertEvent),
    tags: rule.tags,
    runbook: rule.runbook,
    recommendedActions: rule.recommendedActions,
    logsInsightsQuery: query,
    consoleUrl: logsInsightsUrl(ctx.region, logGroupSources(logGroups, logsAccountOf(cloud), ctx), query, start, end),
    ...relatedOf(evidence, alertAccount(input.entity, cloud)),
    ...lifecycleFields(input.lifecycle),
    ...(cloud ? { cloud } : {}),
    ...(input.baseline ? { baseline: input.baseline } : {}),
    ...(input.distinct ? { distinct: distinctOf(input.distinct, cloud?.account.id ?? input.entity.account) } : {}),
    ...(input.absence ? { absence: input.absence } : {}),
  };
}

/** Values a distinct-value alert lists; the rest are counted in `total`. */
export const MAX_DISTINCT_SHOWN = 20;

/**
 * The counted values as the alert shows them: the first few, each redacted, a name in another
 * account than the alert's as `name (account)` (the alert says its own).
 */
function distinctOf(d: CountedValues, account: string | undefined): CountedValues {
  const own = account === undefined ? undefined : `@${account}|`;
  const label = (v: string) => (own !== undefined && v.startsWith(own) ? v.slice(own.length) : scopedLabel(v));
  return { field: d.field, values: d.values.slice(0, MAX_DISTINCT_SHOWN).map((v) => redact(label(v))), total: d.total };
}

export interface ResolvedInput {
  rule: Pick<DetectionRule, 'id' | 'description' | 'severity' | 'riskScore' | 'tags' | 'runbook' | 'tier'>;
  kind: 'detection' | 'incident';
  entity: AlertEntity;
  title: string;
  logGroups: readonly string[];
  /** The condition's last occurrence before it went quiet. */
  lastSeen: number;
  resolvedAt: number;
  /** How long before it opened the events that opened it can lie (openingWindow): where its window and link start. */
  openingWindow?: number;
  lifecycle: LifecycleFields;
  cloud?: AlertCloud;
  /** Why it resolved, when not a quiet spell (an absence's events came back); the description's first sentence. */
  note?: string;
  /** An absence rule's: its notice counts no events (each check of the absence was an occurrence). */
  absence?: NonNullable<Alert['absence']>;
}

/**
 * The `resolved` notice: same alert id, no new evidence (nothing happened). Its window is the
 * condition's span, from the earliest the events that opened it can lie (the rule's window before
 * it opened) to when it was resolved, and so is its link: the whole episode, not only what came
 * after the event that crossed the threshold. Its count is the qualifying events since it opened.
 */
export function buildResolvedAlert(input: ResolvedInput, ctx: AlertContext): Alert {
  const { rule, lifecycle } = input;
  const query = logsInsightsQuery(redact(input.entity.value));
  const logGroups = [...input.logGroups];
  const quietMinutes = Math.round((input.resolvedAt - input.lastSeen) / 60_000);
  const spanStart = lifecycle.openedAt - (input.openingWindow ?? 0);
  return {
    schemaVersion: '1',
    id: lifecycle.alertId,
    kind: input.kind,
    ruleId: rule.id,
    title: `Resolved: ${input.title}`.slice(0, 200),
    description: `${input.note ?? `No qualifying event for ${quietMinutes} minutes since ${new Date(input.lastSeen).toISOString()}.`} ${rule.description.trim()}`,
    severity: rule.severity,
    tier: ruleTier(rule),
    riskScore: rule.riskScore,
    entity: redactedEntity(input.entity),
    window: { start: new Date(spanStart).toISOString(), end: new Date(input.resolvedAt).toISOString() },
    count: lifecycle.occurrences,
    firstSeen: new Date(lifecycle.openedAt).toISOString(),
    lastSeen: new Date(input.lastSeen).toISOString(),
    logGroups,
    events: [],
    tags: rule.tags,
    runbook: rule.runbook,
    recommendedActions: [],
    logsInsightsQuery: query,
    consoleUrl: logsInsightsUrl(
      ctx.region,
      logGroupSources(logGroups, logsAccountOf(input.cloud), ctx),
      query,
      spanStart,
      input.resolvedAt,
    ),
    related: {},
    ...lifecycleFields({ ...lifecycle, status: 'resolved' }),
    ...(input.cloud ? { cloud: input.cloud } : {}),
    ...(input.absence ? { absence: input.absence } : {}),
  };
}

/** What correlation keeps of each member detection (a compact alert). */
export type MemberRecord = Pick<
  Alert,
  'id' | 'ruleId' | 'title' | 'tags' | 'riskScore' | 'severity' | 'firstSeen' | 'lastSeen' | 'logGroups' | 'events' | 'related' | 'cloud'
>;

export function toMemberRecord(alert: Alert): MemberRecord {
  return {
    id: alert.id,
    ruleId: alert.ruleId,
    title: alert.title,
    tags: alert.tags,
    riskScore: alert.riskScore,
    severity: alert.severity,
    firstSeen: alert.firstSeen,
    lastSeen: alert.lastSeen,
    logGroups: alert.logGroups,
    // One short evidence line per member keeps Step Functions state well under 256 KiB.
    events: alert.events.slice(-1).map((e) => ({ ...e, message: e.message.slice(0, 512) })),
    related: alert.related,
    ...(alert.cloud ? { cloud: alert.cloud } : {}),
  };
}

export interface IncidentMember {
  record: Pick<MemberRecord, 'ruleId' | 'title' | 'events' | 'logGroups' | 'related' | 'cloud'>;
  firstSeen: number;
  lastSeen: number;
  /** The member rule's newest alert id in the window. */
  latestId: string;
}

export interface IncidentInput {
  rule: CorrelationRule;
  entity: AlertEntity;
  /** Distinct member rules, oldest first. */
  members: readonly IncidentMember[];
  riskScore: number;
  lifecycle: LifecycleFields;
}

/** An incident: one member per distinct rule, evidence de-duplicated by event id. */
export function buildIncidentAlert(input: IncidentInput, ctx: AlertContext): Alert {
  const { rule, members } = input;
  const firstSeen = Math.min(...members.map((m) => m.firstSeen));
  const lastSeen = Math.max(...members.map((m) => m.lastSeen));
  const logGroups = [...new Set(members.flatMap((m) => m.record.logGroups))].sort();
  const query = logsInsightsQuery(redact(input.entity.value));
  const end = lastSeen + 1000;
  const related: Record<string, string[]> = {};
  for (const m of members) {
    for (const [field, values] of Object.entries(m.record.related)) {
      related[field] = [...new Set([...(related[field] ?? []), ...values])].sort().slice(0, MAX_RELATED_VALUES);
    }
  }
  const events = new Map<string, AlertEvent>();
  for (const m of members) for (const e of m.record.events) events.set(e.eventId || `${e.timestamp}:${e.message}`, e);
  // One account for the incident when every member is about the same one; else each member names its own.
  const accounts = new Set(members.map((m) => JSON.stringify(m.record.cloud ?? null)));
  const cloud = accounts.size === 1 ? members[0]?.record.cloud : undefined;
  return {
    schemaVersion: '1',
    id: input.lifecycle.alertId,
    kind: 'incident',
    ruleId: rule.id,
    title: renderTitle(rule.title, { [input.entity.field]: input.entity.value, count: members.length }),
    description: rule.description.trim(),
    severity: rule.severity,
    tier: ruleTier(rule),
    riskScore: input.riskScore,
    entity: redactedEntity(input.entity),
    window: { start: new Date(firstSeen).toISOString(), end: new Date(end).toISOString() },
    count: members.length,
    firstSeen: new Date(firstSeen).toISOString(),
    lastSeen: new Date(lastSeen).toISOString(),
    logGroups,
    events: [...events.values()].sort((a, b) => a.timestamp.localeCompare(b.timestamp)).slice(-MAX_SAMPLE_EVENTS),
    tags: rule.tags,
    runbook: rule.runbook,
    recommendedActions: rule.recommendedActions,
    logsInsightsQuery: query,
    consoleUrl: logsInsightsUrl(ctx.region, logGroupSources(logGroups, logsAccountOf(cloud), ctx), query, firstSeen, end),
    members: members.map((m) => m.latestId),
    memberDetections: members.map((m) => ({
      id: m.latestId,
      ruleId: m.record.ruleId,
      title: m.record.title,
      firstSeen: new Date(m.firstSeen).toISOString(),
      lastSeen: new Date(m.lastSeen).toISOString(),
    })),
    category: rule.correlation.category,
    ...(rule.correlation.response ? { response: rule.correlation.response } : {}),
    related,
    ...lifecycleFields(input.lifecycle),
    ...(cloud ? { cloud } : {}),
  };
}
