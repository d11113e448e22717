import { gzipSync } from 'node:zlib';
import {
  type ServiceInputTypes,
  type ServiceOutputTypes,
  SFNClient,
  type SFNClientResolvedConfig,
  StartSyncExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { z } from 'zod';
import { bundleRules } from '../infra/rule-bundle';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';

/**
 * Runs the real detector handler module as Lambda would: its environment, the embedded rule
 * bundle, DynamoDB on dynalite (through AWS_ENDPOINT_URL_DYNAMODB, the SDK's own override) and
 * the Step Functions client stubbed with aws-sdk-client-mock.
 */
export async function loadDetectorHandler() {
  const db: LocalDynamo = await startLocalDynamo('sentinel-handler');
  const address = await db.client.config.endpoint?.();
  // The shipped pack, and a source that takes delivery times (test/hostile.test.ts).
  const rules = bundleRules(['rules', 'test/fixtures/delivery-time']);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: `${address?.protocol}//${address?.hostname}:${address?.port}`,
    AWS_REGION: 'us-east-1',
    SENTINEL_ACCOUNT_ID: '123456789012',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    TABLE_NAME: db.tableName,
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:sentinel',
    DIGEST_INTERVAL_MS: '3600000',
    PAGE_FOLD_MS: '14400000',
    OUTBREAK_AFTER: '3',
    MAX_DELIVERY_LAG_MS: String(6 * 3_600_000),
    NEW_TERM_LEARNING_MS: String(7 * 86_400_000), // the stack's default
    SENTINEL_RULES_DIR: rules.file.replace(/\/rules\.json$/, ''),
    POWERTOOLS_SERVICE_NAME: 'sentinel-detector',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const sfn = mockClient(SFNClient);
  sfn.on(StartSyncExecutionCommand).resolves({ status: 'SUCCEEDED' });
  const mod = await import('../functions/detector/handler');
  return { db, sfn, detect: mod.detectSubscription, detectStream: mod.detectStream, detectAny: mod.detect, handler: mod.handler };
}

export function lambdaEvent(payload: SubscriptionPayload) {
  return { awslogs: { data: gzipSync(JSON.stringify(payload)).toString('base64') } };
}

/** The envelopes the handler handed to Step Functions. */
const Envelope = z.object({ key: z.string(), publish: z.boolean(), correlate: z.boolean() });

export function sentEnvelopes(sfn: AwsStub<ServiceInputTypes, ServiceOutputTypes, SFNClientResolvedConfig>): z.infer<typeof Envelope>[] {
  return sfn.commandCalls(StartSyncExecutionCommand).map((c) => Envelope.parse(JSON.parse(c.args[0].input.input ?? '{}')));
}

export const SSH_ATTACK = (ip: string, n: number, base = Date.parse('2026-03-03T03:12:00Z')): SubscriptionPayload['logEvents'] =>
  Array.from({ length: n }, (_, i) => {
    const t = base + i * 1000;
    const d = new Date(t);
    const stamp = `Mar  3 ${d.toISOString().slice(11, 19)}`;
    return {
      id: `ssh-${ip}-${t}`,
      timestamp: t,
      message: `${stamp} bastion-1 sshd[2231]: Failed password for root from ${ip} port ${40000 + i} ssh2`,
    };
  });
