import { createHash } from 'node:crypto';
import type { Alert, AlertEvent } from '../schema/alert';
import { CoreFields, ENTITY_FIELDS, eventId, eventTime, type NormalizedEvent } from '../schema/event';
import type { CorrelationRule, DetectionRule } from '../schema/rule';
import { type Severity, tierFor } from '../schema/severity';
import { logsInsightsQuery, logsInsightsUrl } from './insights';
import { redact } from './redact';

export const MAX_SAMPLE_EVENTS = 5;
const MAX_SAMPLE_CHARS = 2048;
const MAX_RELATED_VALUES = 10;

export interface AlertContext {
  region: string;
}

/** Deterministic id: the same rule, entity and triggering event always give the same id. */
export function stableId(prefix: string, ...parts: string[]): string {
  return `${prefix}-${createHash('sha256').update(parts.join('\u001f')).digest('hex').slice(0, 24)}`;
}

/** A detection's id: rule, entity key and triggering event, so a retried batch yields the same id. */
export function detectionId(ruleId: string, groupKey: string, trigger: NormalizedEvent): string {
  return stableId('det', ruleId, groupKey, eventId(trigger), String(eventTime(trigger)));
}

/** Fills `{field}` placeholders in a title from the entity and the trigger event. */
export function renderTitle(template: string, values: Record<string, string | number | boolean | undefined>): string {
  const text = template.replace(/\{([\w.@-]+)\}/g, (_, name: string) => {
    const v = values[name];
    return v === undefined ? `{${name}}` : redact(String(v));
  });
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function toAlertEvent(event: NormalizedEvent): AlertEvent {
  const original = String(event['event.original'] ?? event[CoreFields.message] ?? '');
  const message = redact(original.length > MAX_SAMPLE_CHARS ? `${original.slice(0, MAX_SAMPLE_CHARS)}…` : original);
  return {
    timestamp: new Date(eventTime(event)).toISOString(),
    logGroup: String(event[CoreFields.logGroup] ?? ''),
    logStream: String(event[CoreFields.logStream] ?? ''),
    eventId: eventId(event),
    message,
  };
}

function relatedEntities(events: readonly NormalizedEvent[]): Record<string, string[]> {
  const related: Record<string, string[]> = {};
  for (const field of ENTITY_FIELDS) {
    const values = new Set<string>();
    for (const e of events) {
      const v = e[field];
      if (v !== undefined && v !== '' && values.size < MAX_RELATED_VALUES) values.add(String(v));
    }
    if (values.size > 0) related[field] = [...values].sort();
  }
  return related;
}

export interface DetectionInput {
  rule: DetectionRule;
  entity: { field: string; value: string };
  groupKey: string;
  trigger: NormalizedEvent;
  /** Evidence events, oldest first; only the last few are kept. */
  evidence: readonly NormalizedEvent[];
  count: number;
  windowStart: number;
  windowEnd: number;
}

export function buildDetectionAlert(input: DetectionInput, ctx: AlertContext): Alert {
  const { rule, trigger, evidence } = input;
  const sample = evidence.slice(-MAX_SAMPLE_EVENTS);
  const firstSeen = evidence.length > 0 ? eventTime(evidence[0] ?? trigger) : eventTime(trigger);
  const lastSeen = eventTime(trigger);
  const logGroups = [...new Set(evidence.map((e) => String(e[CoreFields.logGroup] ?? '')))].filter(Boolean).sort();
  const query = logsInsightsQuery(input.entity.value);
  const start = Math.min(input.windowStart, firstSeen);
  const end = Math.max(input.windowEnd, lastSeen) + 1000;
  return {
    schemaVersion: '1',
    id: detectionId(rule.id, input.groupKey, trigger),
    kind: 'detection',
    ruleId: rule.id,
    title: renderTitle(rule.title, { ...trigger, [input.entity.field]: input.entity.value, count: input.count }),
    description: rule.description.trim(),
    severity: rule.severity,
    tier: tierFor(rule.severity),
    riskScore: rule.riskScore,
    entity: input.entity,
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
    consoleUrl: logsInsightsUrl(ctx.region, logGroups, query, start, end),
    related: relatedEntities(evidence),
  };
}

/** What correlation keeps of each member detection (a compact alert). */
export type MemberRecord = Pick<
  Alert,
  'id' | 'ruleId' | 'title' | 'tags' | 'riskScore' | 'severity' | 'firstSeen' | 'lastSeen' | 'logGroups' | 'events' | 'related'
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
  };
}

export interface IncidentInput {
  rule: CorrelationRule;
  entity: { field: string; value: string };
  members: readonly MemberRecord[];
  riskScore: number;
}

export function buildIncidentAlert(input: IncidentInput, ctx: AlertContext): Alert {
  const { rule, members } = input;
  const ordered = [...members].sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id));
  const first = ordered[0];
  const last = ordered[ordered.length - 1];
  const firstSeen = first?.firstSeen ?? new Date(0).toISOString();
  const lastSeen = last?.lastSeen ?? firstSeen;
  const logGroups = [...new Set(ordered.flatMap((m) => m.logGroups))].sort();
  const query = logsInsightsQuery(input.entity.value);
  const start = Date.parse(firstSeen);
  const end = Date.parse(lastSeen) + 1000;
  const severity: Severity = rule.severity;
  const related: Record<string, string[]> = {};
  for (const m of ordered) {
    for (const [field, values] of Object.entries(m.related)) {
      related[field] = [...new Set([...(related[field] ?? []), ...values])].sort().slice(0, MAX_RELATED_VALUES);
    }
  }
  return {
    schemaVersion: '1',
    id: stableId('inc', rule.id, input.entity.field, input.entity.value, first?.id ?? ''),
    kind: 'incident',
    ruleId: rule.id,
    title: renderTitle(rule.title, { [input.entity.field]: input.entity.value, count: ordered.length }),
    description: rule.description.trim(),
    severity,
    tier: tierFor(severity),
    riskScore: input.riskScore,
    entity: input.entity,
    window: { start: firstSeen, end: new Date(end).toISOString() },
    count: ordered.length,
    firstSeen,
    lastSeen,
    logGroups,
    events: ordered.flatMap((m) => m.events.slice(-1)).slice(-MAX_SAMPLE_EVENTS),
    tags: rule.tags,
    runbook: rule.runbook,
    recommendedActions: rule.recommendedActions,
    logsInsightsQuery: query,
    consoleUrl: logsInsightsUrl(ctx.region, logGroups, query, start, end),
    members: ordered.map((m) => m.id),
    category: rule.correlation.category,
    ...(rule.correlation.response ? { response: rule.correlation.response } : {}),
    related,
  };
}
