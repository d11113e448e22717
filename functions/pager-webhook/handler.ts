import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { applyPagerDutyWebhook } from '../../src/alerts/pagerduty-webhook';
import { DynamoStateStore } from '../commons/adapters/dynamodb-state-store';
import { dynamo } from '../commons/clients';
import { requireEnv } from '../commons/env';
import { logger } from '../commons/powertools';

const secrets = new SecretsManagerClient({ maxAttempts: 4 });
const secretId = requireEnv('PAGERDUTY_WEBHOOK_SECRET');
const store = new DynamoStateStore(dynamo, requireEnv('TABLE_NAME'));
/** Read again after this long, so a rotated signing secret is taken up without a deployment. */
const SECRET_TTL_MS = 15 * 60_000;
let cached: { secrets: string[]; at: number } | undefined;

/** The signing secrets: one per line (two while PagerDuty's is rotated), whitespace around each ignored. */
async function signingSecrets(): Promise<string[]> {
  if (cached && Date.now() - cached.at < SECRET_TTL_MS) return cached.secrets;
  const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  const found = (out.SecretString ?? '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  if (found.length === 0)
    throw new Error(`secret ${secretId} holds no signing secret (expected the webhook subscription's secret as plain text)`);
  cached = { secrets: found, at: Date.now() };
  return found;
}

/**
 * PagerDuty's v3 webhook, through the function's URL: an acknowledged or resolved incident of a
 * Sentinel alert acknowledges the alert (src/alerts/pagerduty-webhook.ts). The URL takes anyone's
 * request; only a body signed with the subscription's secret is acted on.
 */
export async function receive(event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> {
  if (event.requestContext.http.method !== 'POST') return { statusCode: 405, body: 'POST a PagerDuty webhook event' };
  const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  const result = await applyPagerDutyWebhook(store, body, event.headers['x-pagerduty-signature'], await signingSecrets(), Date.now());
  if (result.status === 401) logger.warn('PagerDuty webhook refused: no valid signature', { sourceIp: event.requestContext.http.sourceIp });
  else logger.info('PagerDuty webhook', { outcome: result.outcome, ...('detail' in result ? { detail: result.detail } : {}) });
  return { statusCode: result.status, body: result.outcome };
}

export const handler = middy(receive).use(injectLambdaContext(logger));
