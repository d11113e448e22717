import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { exportToSecurityHub, type FindingContext } from '../../src/alerts/security-hub-finding';
import { requireEnv } from '../commons/env';
import { logger } from '../commons/powertools';

const client = new SecurityHubClient({ maxAttempts: 4 });
const ctx: FindingContext = {
  productArn: requireEnv('PRODUCT_ARN'),
  account: requireEnv('SENTINEL_ACCOUNT_ID'),
  region: requireEnv('AWS_REGION'),
  partition: process.env.PARTITION ?? 'aws',
  now: () => new Date(),
};

/**
 * Reads the queue the notify and respond topics deliver to, up to 100 messages at a time: each
 * published detection and incident becomes (or updates) a Security Hub finding, one call per
 * batch (src/alerts/security-hub-finding.ts). The messages of a finding Security Hub refuses are
 * returned as failures: the queue delivers them again, and parks them after five tries in the
 * dead-letter queue, whose alarm tells the team. A call that fails whole (throttled past the
 * SDK's retries, Security Hub not enabled) throws: the whole batch is delivered again.
 */
export async function exportAlerts(event: SQSEvent): Promise<SQSBatchResponse> {
  const outcome = await exportToSecurityHub(
    event.Records.map((r) => ({ id: r.messageId, body: r.body })),
    ctx,
    (findings) => client.send(new BatchImportFindingsCommand({ Findings: findings })),
  );
  if (outcome.imported.length > 0) logger.info('imported into Security Hub', { findings: outcome.imported });
  if (outcome.skipped.length > 0) logger.info('not findings', { skipped: outcome.skipped });
  if (outcome.failed.length > 0) logger.warn('refused by Security Hub', { refusals: outcome.refusals, messages: outcome.failed });
  return { batchItemFailures: outcome.failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

export const handler = middy(exportAlerts).use(injectLambdaContext(logger));
