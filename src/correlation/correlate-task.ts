import { z } from 'zod';
import type { AlertContext, MemberRecord } from '../alerts/build';
import { Alert } from '../schema/alert';
import type { CorrelationRule } from '../schema/rule';
import { correlate } from './correlate';
import { type CorrelationInput, publishFields } from './envelope';

/** What the state machine hands the correlate task: the entity and its risk items from the Query. */
export const CorrelateTaskInput = z.object({
  entity: z.object({ field: z.string(), value: z.string() }),
  now: z.string(),
  items: z.array(z.object({ rec: z.object({ S: z.string() }) }).passthrough()),
});
export type CorrelateTaskInput = z.infer<typeof CorrelateTaskInput>;

export interface IncidentOutput {
  alert: CorrelationInput['detection'];
  publish: CorrelationInput['publish'];
  markerPk: string;
  /** The incident's window end (ISO): the dedup marker is live until then. */
  markerExpiresAt: string;
  /** TTL (epoch seconds) as text: ASL's numberFromString takes a string path. */
  expiresAtEpochText: string;
  now: string;
  memberIds: string[];
}

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
});

/** Pure body of the correlate Lambda: parse risk items, correlate, shape incidents for ASL. */
export function runCorrelateTask(raw: unknown, rules: readonly CorrelationRule[], ctx: AlertContext): { incidents: IncidentOutput[] } {
  const input = CorrelateTaskInput.parse(raw);
  const records: MemberRecord[] = [];
  for (const item of input.items) {
    const parsed = MemberRecordSchema.safeParse(JSON.parse(item.rec.S));
    if (parsed.success) records.push(parsed.data);
  }
  const incidents = correlate(input.entity, records, rules, ctx).map(({ alert, windowEndsAt }) => ({
    alert,
    publish: publishFields(alert),
    markerPk: `incident#${alert.ruleId}#${input.entity.field}#${input.entity.value}`,
    markerExpiresAt: new Date(windowEndsAt).toISOString(),
    expiresAtEpochText: String(Math.floor(windowEndsAt / 1000) + 7 * 86_400),
    now: input.now,
    memberIds: alert.members ?? [],
  }));
  return { incidents };
}
