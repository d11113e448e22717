import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { runCorrelateTask } from '../../src/correlation/correlate-task';
import { DynamoStateStore } from '../commons/adapters/dynamodb-state-store';
import { dynamo } from '../commons/clients';
import { loadEmbeddedRules } from '../commons/embedded-rules';
import { alertContext, messageStyleEnv, requireEnv, requireNumberEnv } from '../commons/env';
import { logger } from '../commons/powertools';

const correlations = loadEmbeddedRules().correlations;
const store = new DynamoStateStore(dynamo, requireEnv('TABLE_NAME'));
const deps = {
  store,
  rules: correlations,
  ctx: alertContext(),
  digestInterval: requireNumberEnv('DIGEST_INTERVAL_MS'),
  pageFoldWindow: requireNumberEnv('PAGE_FOLD_MS', { zeroAllowed: true }),
  style: messageStyleEnv(),
};

/** The one Lambda task of the state machine: risk records, correlation and the incident lifecycle for one entity. */
export async function correlateEntity(event: unknown) {
  const out = await runCorrelateTask(event, deps);
  if (out.messages.length > 0) logger.info('incident messages', { keys: out.messages.map((m) => m.key) });
  return out;
}

export const handler = middy(correlateEntity).use(injectLambdaContext(logger));
