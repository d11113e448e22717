import { toMemberRecord } from '../alerts/build';
import { snsMessage, subjectFor } from '../alerts/notification';
import type { Alert } from '../schema/alert';
import { ENTITY_FIELDS } from '../schema/event';

/** Longest correlation window the risk query looks back (the longest rule window is used if larger). */
export const DEFAULT_RISK_LOOKBACK_MS = 4 * 3_600_000;
/** Alert dedup and risk items live this long (DynamoDB TTL deletes them after). */
export const RISK_RETENTION_MS = 7 * 86_400_000;

export interface EntityKey {
  field: string;
  value: string;
  pk: string;
  /** Sort-key lower bound for the risk query: lastSeen minus the longest window. */
  from: string;
}

/**
 * The state machine's input for one detection. Everything ASL cannot compute (strings to
 * publish, keys, time bounds) is computed here, once, by the same code in Lambda and locally.
 */
export interface CorrelationInput {
  detection: Alert;
  publish: { subject: string; message: string; severity: string; tier: string; ruleId: string };
  /** Dedup item: an execution delivered twice (async Express is at-least-once) stops here. */
  dedupPk: string;
  /** TTL (epoch seconds) as text: ASL's numberFromString takes a string path. */
  expiresAtEpochText: string;
  member: string;
  memberSk: string;
  entities: EntityKey[];
}

export function riskPk(field: string, value: string): string {
  return `risk#${field}#${value}`;
}

export function correlationInput(alert: Alert, lookbackMs = DEFAULT_RISK_LOOKBACK_MS): CorrelationInput {
  const keys = new Map<string, { field: string; value: string }>();
  const add = (field: string, value: string) => keys.set(`${field}=${value}`, { field, value });
  if ((ENTITY_FIELDS as readonly string[]).includes(alert.entity.field)) add(alert.entity.field, alert.entity.value);
  for (const field of ENTITY_FIELDS) for (const value of alert.related[field] ?? []) add(field, value);
  const last = Date.parse(alert.lastSeen);
  const from = new Date(last - lookbackMs).toISOString();
  return {
    detection: alert,
    publish: publishFields(alert),
    dedupPk: `alert#${alert.id}`,
    expiresAtEpochText: String(Math.floor((last + RISK_RETENTION_MS) / 1000)),
    member: JSON.stringify(toMemberRecord(alert)),
    memberSk: `${alert.lastSeen}#${alert.id}`,
    entities: [...keys.values()].slice(0, 12).map((k) => ({ ...k, pk: riskPk(k.field, k.value), from })),
  };
}

export function publishFields(alert: Alert): CorrelationInput['publish'] {
  return { subject: subjectFor(alert), message: snsMessage(alert), severity: alert.severity, tier: alert.tier, ruleId: alert.ruleId };
}
