import { z } from 'zod';
import { Duration } from '../src/schema/duration';

const Subscribers = z
  .strictObject({
    emails: z.array(z.email()).default([]),
    httpsEndpoints: z.array(z.url({ protocol: /^https$/ })).default([]),
    sqsQueueArns: z.array(z.string().regex(/^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w.-]+$/)).default([]),
  })
  .default({ emails: [], httpsEndpoints: [], sqsQueueArns: [] });

/** Stack configuration: `cdk.json` context key `sentinel` (or `-c sentinel='{…}'`), validated at synth. */
export const SentinelConfig = z.strictObject({
  /** Log groups to watch, by exact name: each gets a subscription filter to the detector. */
  logGroups: z.array(z.string().min(1).max(512)).default([]),
  /**
   * Account-level subscription filter policy instead of (or besides) per-group filters: every log
   * group in the Region except the excluded prefixes (the stack's own groups are always excluded).
   */
  accountPolicy: z
    .strictObject({ enabled: z.boolean().default(false), excludeLogGroupPrefixes: z.array(z.string()).default([]) })
    .optional(),
  subscribers: z.strictObject({ review: Subscribers, notify: Subscribers, respond: Subscribers }).default({
    review: { emails: [], httpsEndpoints: [], sqsQueueArns: [] },
    notify: { emails: [], httpsEndpoints: [], sqsQueueArns: [] },
    respond: { emails: [], httpsEndpoints: [], sqsQueueArns: [] },
  }),
  /** Lambda invoked with every incident in the respond tier (e.g. disable the user, block the IP). */
  responseFunctionArn: z
    .string()
    .regex(/^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w-]+)?$/)
    .optional(),
  /** Retention of the stack's own log groups, in days. */
  logRetentionDays: z.number().int().positive().default(30),
  rulesDir: z.string().default('rules'),
  /** Cap on concurrent detector invocations: bounds DynamoDB write rate on hot keys and cost. */
  detectorConcurrency: z.number().int().min(1).max(1000).default(20),
  detectorMemoryMb: z.number().int().min(128).max(10240).default(1024),
  /** Review-tier detections are published as one digest per this interval (e.g. 1h, 4h, 1d). */
  digestInterval: Duration.prefault('1h'),
  /** Log correlation executions with their input and output (alert JSON with evidence), into a KMS-encrypted log group. */
  logExecutionData: z.boolean().default(false),
});
export type SentinelConfig = z.infer<typeof SentinelConfig>;

export function parseConfig(raw: unknown): SentinelConfig {
  const parsed = SentinelConfig.safeParse(raw ?? {});
  if (!parsed.success) throw new Error(`invalid sentinel config (cdk.json context "sentinel"):\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
