import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { announceAcknowledgements } from '../../src/engine/acknowledgements';
import { announceExceptions } from '../../src/engine/exceptions';
import { sweep } from '../../src/engine/sweeper';
import type { Message } from '../../src/schema/alert';
import { DynamoStateStore } from '../commons/adapters/dynamodb-state-store';
import { StepFunctionsSink } from '../commons/adapters/stepfunctions-sink';
import { dynamo, sfn } from '../commons/clients';
import { loadEmbeddedRules } from '../commons/embedded-rules';
import { alertContext, alertTermsEnv, messageStyleEnv, requireEnv, requireNumberEnv } from '../commons/env';
import { logger, metrics } from '../commons/powertools';
import { loadReviewRoutes } from '../commons/review-routes';

const pack = loadEmbeddedRules();
const store = new DynamoStateStore(dynamo, requireEnv('TABLE_NAME'));
const sink = new StepFunctionsSink(sfn, requireEnv('STATE_MACHINE_ARN'), messageStyleEnv());
const ctx = alertContext();
const reviewRoutes = loadReviewRoutes();
// Absence alerts, which the sweep opens, are told as the detector tells its detections.
const terms = alertTermsEnv();
// The longest a delivery can wait before the detector (the hub's maxRecordAge when longer than Lambda's 6 hours).
const maxDeliveryLag = requireNumberEnv('MAX_DELIVERY_LAG_MS');
/** How long one run keeps taking pages of due documents (the function's timeout is two minutes). */
const SWEEP_BUDGET_MS = 60_000;

/**
 * Every 5 minutes: resolve open conditions that went quiet, publish due review digests and tell
 * absence rules' expected events that stopped.
 * A delivery failure throws after the outbox is written: the next run (or the scheduler's retry)
 * delivers it.
 */
export async function sweepNow(): Promise<{
  resolved: number;
  digests: number;
  exceptionsAnnounced: number;
  acknowledgementsAnnounced: number;
}> {
  const now = Date.now();
  const send = async (messages: Message[]) => void (await sink.send(messages));
  // Page after page while documents are due, ten at a time, for at most a minute of the function's
  // two (checked between groups of ten): what is left waits for the next run, and the
  // announcements below still run in this one.
  const more = () => Date.now() - now < SWEEP_BUDGET_MS;
  // The detector notes its deliveries (its delivery clock is the wall clock): absences say how many arrived meanwhile.
  const result = await sweep({ store, pack, ctx, reviewRoutes, send, terms, deliveriesNoted: true, maxDeliveryLag }, now, { more });
  // Every exception a responder added is told to the team once (a blind spot nobody announced is an intruder's first move).
  const exceptionsAnnounced = await announceExceptions(store, send, ctx, now);
  // So is who has which alert: a page is not worked twice, and one silenced by nobody on the team shows.
  const acknowledgementsAnnounced = await announceAcknowledgements(store, send, ctx, now);
  metrics.addMetric('ConditionsResolved', MetricUnit.Count, result.resolved);
  metrics.addMetric('DigestsPublished', MetricUnit.Count, result.digests);
  metrics.addMetric('ExceptionsAnnounced', MetricUnit.Count, exceptionsAnnounced);
  metrics.addMetric('AcknowledgementsAnnounced', MetricUnit.Count, acknowledgementsAnnounced);
  if (result.messages.length > 0) logger.info('swept', { keys: result.messages.map((m) => m.key) });
  return { resolved: result.resolved, digests: result.digests, exceptionsAnnounced, acknowledgementsAnnounced };
}

export const handler = middy(sweepNow).use(injectLambdaContext(logger)).use(logMetrics(metrics));
