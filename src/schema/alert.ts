import { z } from 'zod';
import { Severity, Tier } from './severity';

export const AlertEvent = z.object({
  timestamp: z.string(),
  logGroup: z.string(),
  logStream: z.string(),
  eventId: z.string(),
  /** The original log line, secrets redacted, truncated to 2 KB. */
  message: z.string(),
});
export type AlertEvent = z.infer<typeof AlertEvent>;

/** The alert (contract, schemaVersion "1"): SNS message body and the replay JSONL line. */
export const Alert = z.object({
  schemaVersion: z.literal('1'),
  id: z.string(),
  kind: z.enum(['detection', 'incident']),
  ruleId: z.string(),
  title: z.string(),
  description: z.string(),
  severity: Severity,
  tier: Tier,
  riskScore: z.number(),
  entity: z.object({ field: z.string(), value: z.string() }),
  window: z.object({ start: z.string(), end: z.string() }),
  count: z.number().int(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  logGroups: z.array(z.string()),
  events: z.array(AlertEvent),
  tags: z.array(z.string()),
  runbook: z.string(),
  recommendedActions: z.array(z.string()),
  logsInsightsQuery: z.string(),
  consoleUrl: z.string(),
  /** Incident only: the detection ids it correlates. */
  members: z.array(z.string()).optional(),
  /** Incident only: e.g. insider_threat. */
  category: z.string().optional(),
  /** Incident only: the response action the correlation rule asks for. */
  response: z.string().optional(),
  /** Other entities seen in the evidence, so correlation can key on user, IP and host. */
  related: z.record(z.string(), z.array(z.string())).default({}),
});
export type Alert = z.infer<typeof Alert>;

/** Alerts as recorded in a batch receipt. */
export const AlertList = z.array(Alert);
