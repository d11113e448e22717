import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import middy from '@middy/core';
import type { SNSEvent } from 'aws-lambda';
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
 * Subscribed to the notify and respond topics: each published detection and incident becomes (or
 * updates) a Security Hub finding (src/alerts/security-hub-finding.ts). A finding Security Hub
 * refuses fails the invocation: Lambda retries it twice, then parks it in the failure queue, whose
 * alarm tells the team.
 */
export async function exportAlerts(event: SNSEvent): Promise<void> {
  const outcome = await exportToSecurityHub(
    event.Records.map((r) => r.Sns.Message),
    ctx,
    (findings) => client.send(new BatchImportFindingsCommand({ Findings: findings })),
  );
  if ('imported' in outcome) logger.info('imported into Security Hub', { findings: outcome.imported });
  else logger.info('not a finding', { skipped: outcome.skipped });
}

export const handler = middy(exportAlerts).use(injectLambdaContext(logger));
