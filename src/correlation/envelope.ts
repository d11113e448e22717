import { type MemberRecord, toMemberRecord } from '../alerts/build';
import { snsMessage, subjectFor } from '../alerts/notification';
import type { Alert, Message } from '../schema/alert';
import { ENTITY_FIELDS } from '../schema/event';

/** Message dedup records and risk records live this long (DynamoDB TTL deletes them after). */
export const RISK_RETENTION_MS = 7 * 86_400_000;

export function riskPk(field: string, value: string): string {
  return `risk#${field}#${value}`;
}

/**
 * The state machine's input for one decided message. Everything ASL cannot compute (strings to
 * publish, keys, entities) is computed here, once, by the same code in Lambda and locally.
 */
export interface MessageEnvelope {
  /** Dedup key: a message already published is never published again (pending → published). */
  key: string;
  publish: boolean;
  correlate: boolean;
  publishFields: { subject: string; message: string; severity: string; tier: string; ruleId: string; status: string };
  /** Incidents in the respond tier that just opened invoke the automated response (if configured), with this alert. */
  respond: boolean;
  response: Alert | null;
  /** TTL (epoch seconds) as text: ASL's numberFromString takes a string path. */
  expiresAtEpochText: string;
  /** Correlation only: the compact detection (JSON) and the entities it is about. */
  member: string;
  entities: { field: string; value: string }[];
}

export function publishFields(alert: Alert): MessageEnvelope['publishFields'] {
  return {
    subject: subjectFor(alert),
    message: snsMessage(alert),
    severity: alert.severity,
    tier: alert.tier,
    ruleId: alert.ruleId,
    status: alert.status,
  };
}

/** The entities a detection is about: its own entity and the related users, IPs, hosts and services. */
export function entitiesOf(alert: Alert): { field: string; value: string }[] {
  const keys = new Map<string, { field: string; value: string }>();
  const add = (field: string, value: string) => keys.set(`${field}=${value}`, { field, value });
  if ((ENTITY_FIELDS as readonly string[]).includes(alert.entity.field)) add(alert.entity.field, alert.entity.value);
  for (const field of ENTITY_FIELDS) for (const value of alert.related[field] ?? []) add(field, value);
  return [...keys.values()].slice(0, 12);
}

export function envelopeOf(m: Message): MessageEnvelope {
  const last = Date.parse(m.alert.lastSeen);
  const member: MemberRecord | undefined = m.correlate ? toMemberRecord(m.alert) : undefined;
  const respond = m.publish && m.alert.kind === 'incident' && m.alert.tier === 'respond' && m.alert.status === 'open';
  return {
    key: m.key,
    publish: m.publish,
    correlate: m.correlate,
    publishFields: publishFields(m.alert),
    respond,
    response: respond ? m.alert : null,
    expiresAtEpochText: String(Math.floor((last + RISK_RETENTION_MS) / 1000)),
    member: member ? JSON.stringify(member) : '',
    entities: m.correlate ? entitiesOf(m.alert) : [],
  };
}
