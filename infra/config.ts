import { z } from 'zod';
import { Duration } from '../src/schema/duration';
import { formatIssues } from '../src/schema/issues';

/** CloudWatch Logs log-group names: 1–512 of letters, digits and `_ - / . #`. */
export const LogGroupName = z
  .string()
  .regex(
    /^[\w\-/.#]{1,512}$/,
    "expected a log group name (1-512 characters: letters, digits and _ - / . #), e.g. '/aws/lambda/checkout-api'",
  );

const Subscribers = z
  .strictObject({
    emails: z.array(z.email()).default([]),
    httpsEndpoints: z.array(z.url({ protocol: /^https$/ })).default([]),
    sqsQueueArns: z.array(z.string().regex(/^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w.-]+$/, 'expected an SQS queue ARN')).default([]),
  })
  .default({ emails: [], httpsEndpoints: [], sqsQueueArns: [] });

/** The CloudWatch Logs limit on log-group names in a subscription filter policy's `NOT IN` list. */
export const MAX_POLICY_EXCLUSIONS = 50;

const AccountPolicy = z
  .looseObject({
    enabled: z.boolean().default(false),
    /** Exact log-group names the account-level policy leaves out (CloudWatch matches exact names, not prefixes). */
    excludeLogGroups: z.array(LogGroupName).default([]),
  })
  .superRefine((raw, ctx) => {
    for (const key of Object.keys(raw)) {
      if (key === 'enabled' || key === 'excludeLogGroups') continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message:
          key === 'excludeLogGroupPrefixes'
            ? 'excludeLogGroupPrefixes was removed: the policy selection criteria match exact log-group names, not prefixes, so it excluded nothing. List exact names under excludeLogGroups'
            : `unknown key '${key}' (expected enabled, excludeLogGroups)`,
      });
    }
  })
  .transform(({ enabled, excludeLogGroups }) => ({ enabled, excludeLogGroups }));

/** Stack configuration: `cdk.json` context key `sentinel` (or `-c sentinel='{…}'`), validated at synth. */
export const SentinelConfig = z
  .strictObject({
    /** Log groups to watch, by exact name: each gets a subscription filter to the detector. */
    logGroups: z.array(LogGroupName).default([]),
    /**
     * An account-level subscription filter policy (one per account and Region): every log group
     * except the stack's own, those in `logGroups` (already subscribed) and `excludeLogGroups`.
     */
    accountPolicy: AccountPolicy.optional(),
    subscribers: z.strictObject({ review: Subscribers, notify: Subscribers, respond: Subscribers }).default({
      review: { emails: [], httpsEndpoints: [], sqsQueueArns: [] },
      notify: { emails: [], httpsEndpoints: [], sqsQueueArns: [] },
      respond: { emails: [], httpsEndpoints: [], sqsQueueArns: [] },
    }),
    /** Lambda invoked with every respond-tier incident when it opens (e.g. disable the user, block the IP). */
    responseFunctionArn: z
      .string()
      .regex(/^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w-]+)?$/, 'expected a Lambda function ARN')
      .optional(),
    /** Retention of the stack's own log groups, in days. */
    logRetentionDays: z.number().int().positive().default(30),
    rulesDir: z.string().default('rules'),
    /** Cap on concurrent detector invocations: bounds DynamoDB write rate on hot keys and cost. */
    detectorConcurrency: z.number().int().min(1).max(1000).default(20),
    detectorMemoryMb: z.number().int().min(128).max(10240).default(1024),
    /** The account's Lambda concurrency limit (1,000 unless raised): reserved concurrency must leave 100 unreserved. */
    accountConcurrencyLimit: z.number().int().min(10).default(1000),
    /** Review-tier detections are published as one digest per this interval (e.g. 1h, 4h, 1d). */
    digestInterval: Duration.prefault('1h'),
    /** Log correlation executions with their input and output (alert JSON with evidence), into a KMS-encrypted log group. */
    logExecutionData: z.boolean().default(false),
    /** Alarm when a watched log group's unparsed share stays above `share` for `for` (a blind spot). */
    unparsedAlarm: z.strictObject({ share: z.number().gt(0).max(1).default(0.5), for: Duration.prefault('1h') }).prefault({}),
  })
  .superRefine((c, ctx) => {
    // Lambda keeps 100 of the account's concurrency unreserved; the sweeper reserves 1.
    const available = c.accountConcurrencyLimit - 100 - 1;
    if (c.detectorConcurrency > available) {
      ctx.addIssue({
        code: 'custom',
        path: ['detectorConcurrency'],
        message: `${c.detectorConcurrency} cannot be reserved: the account limit ${c.accountConcurrencyLimit} leaves ${available} (Lambda keeps 100 unreserved; the sweeper takes 1). Lower it or raise accountConcurrencyLimit after a quota increase`,
      });
    }
    if (c.accountPolicy?.enabled && c.accountPolicy.excludeLogGroups.length + c.logGroups.length + 4 > MAX_POLICY_EXCLUSIONS) {
      ctx.addIssue({
        code: 'custom',
        path: ['accountPolicy', 'excludeLogGroups'],
        message: `the policy must exclude the stack's 4 own log groups, the ${c.logGroups.length} in logGroups and these: more than the ${MAX_POLICY_EXCLUSIONS} names CloudWatch accepts`,
      });
    }
  });
export type SentinelConfig = z.infer<typeof SentinelConfig>;

/** A configuration or rule problem found at synth: printed as its message alone, never as a stack trace. */
export class SynthInputError extends Error {
  override name = 'SynthInputError';
}

export function parseConfig(raw: unknown): SentinelConfig {
  const parsed = SentinelConfig.safeParse(raw ?? {});
  if (!parsed.success) throw new SynthInputError(`invalid sentinel config (cdk.json context "sentinel"):\n${formatIssues(parsed.error)}`);
  return parsed.data;
}
