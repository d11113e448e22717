import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import type { SNSEvent } from 'aws-lambda';
import { forwardToPagerDuty, PAGERDUTY_EVENTS_URL } from '../../src/alerts/pagerduty';
import { requireEnv } from '../commons/env';
import { logger } from '../commons/powertools';
import { loadTeamPagers } from '../commons/team-pagers';

const secrets = new SecretsManagerClient({ maxAttempts: 4 });
const secretId = requireEnv('PAGERDUTY_ROUTING_KEY_SECRET');
const url = process.env.PAGERDUTY_EVENTS_URL ?? PAGERDUTY_EVENTS_URL;
/** The teams' own services this one leaves their pages to (`pagerDuty.leaveTeamPages`; bundled at synth). */
const teamPagers = loadTeamPagers();
/** Read again after this long, so a rotated key is taken up without a deployment. */
const KEY_TTL_MS = 15 * 60_000;
let cached: { key: string; at: number } | undefined;

async function routingKey(): Promise<string> {
  if (cached && Date.now() - cached.at < KEY_TTL_MS) return cached.key;
  const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  const key = out.SecretString?.trim();
  if (!key) throw new Error(`secret ${secretId} holds no routing key (expected the integration key as plain text)`);
  cached = { key, at: Date.now() };
  return key;
}

async function post(target: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text() };
}

/**
 * Subscribed to the paging tiers' topics: each published alert becomes a PagerDuty event, keyed by
 * the alert's id (src/alerts/pagerduty.ts). An event PagerDuty did not take fails the invocation:
 * Lambda retries it twice, then parks it in the failure queue, whose alarm tells the team.
 */
export async function forward(event: SNSEvent): Promise<void> {
  for (const record of event.Records) {
    const outcome = await forwardToPagerDuty(record.Sns.Message, { routingKey, post, url, teamPagers });
    if ('sent' in outcome) logger.info('sent to PagerDuty', { action: outcome.sent, dedupKeys: outcome.dedupKeys });
    else logger.info('not sent to PagerDuty', { reason: outcome.skipped, detail: outcome.detail, messageId: record.Sns.MessageId });
  }
}

export const handler = middy(forward).use(injectLambdaContext(logger));
