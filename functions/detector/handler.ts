import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { decodeLambdaEvent } from '../../src/decode/cloudwatch';
import { Detector } from '../../src/engine/detector';
import { type PayloadResult, processPayload } from '../../src/engine/pipeline';
import { Normalizer } from '../../src/parse/normalize';
import { DynamoStateStore } from '../commons/adapters/dynamodb-state-store';
import { StepFunctionsSink } from '../commons/adapters/stepfunctions-sink';
import { dynamo, sfn } from '../commons/clients';
import { loadEmbeddedRules } from '../commons/embedded-rules';
import { requireEnv, requireNumberEnv } from '../commons/env';
import { logger, metrics } from '../commons/powertools';

// Everything below runs once per cold start; invocations reuse it.
const pack = loadEmbeddedRules();
const normalizer = new Normalizer(pack.sources);
const detector = new Detector(pack, new DynamoStateStore(dynamo, requireEnv('TABLE_NAME')), {
  region: requireEnv('AWS_REGION'),
  digestInterval: requireNumberEnv('DIGEST_INTERVAL_MS'),
});
const sink = new StepFunctionsSink(sfn, requireEnv('STATE_MACHINE_ARN'));

export interface DetectSummary {
  eventsIn: number;
  skipped: number;
  unparsed: number;
  published: number;
}

/** CloudWatch Logs subscription: decode, detect, hand the decided messages to the state machine. */
export async function detect(event: unknown): Promise<DetectSummary> {
  const decoded = decodeLambdaEvent(event);
  if (!decoded.ok) {
    // A payload that can never decode is counted and dropped: retrying it cannot help.
    const m = metrics.singleMetric();
    m.addDimension('reason', decoded.skip.reason);
    m.addMetric('PayloadsSkipped', MetricUnit.Count, 1);
    logger.error('skipped undecodable payload', { skip: decoded.skip });
    return { eventsIn: 0, skipped: 1, unparsed: 0, published: 0 };
  }
  const result = await processPayload(decoded.payload, normalizer, detector);
  record(result);
  if (result.redelivered)
    logger.info('redelivered batch: re-sending its recorded messages', {
      logGroup: decoded.payload.logGroup,
      messages: result.messages.length,
    });
  // Throws when a message could not be delivered: Lambda retries the batch, which finds its
  // receipt and re-sends the same messages (the state machine publishes only what is missing).
  await sink.send(result.messages);
  const published = result.messages.filter((m) => m.publish);
  if (published.length > 0) logger.info('published', { keys: published.map((m) => m.key), logGroup: decoded.payload.logGroup });
  return { eventsIn: result.eventsIn, skipped: result.skips.events, unparsed: result.parse.totals.unparsed, published: published.length };
}

function record(result: PayloadResult): void {
  metrics.addMetric('EventsIn', MetricUnit.Count, result.eventsIn);
  metrics.addMetric('EventsProcessed', MetricUnit.Count, result.eventsProcessed);
  metrics.addMetric('EventsSkipped', MetricUnit.Count, result.skips.events);
  metrics.addMetric('EventsUnparsed', MetricUnit.Count, result.parse.totals.unparsed);
  if (result.redelivered) metrics.addMetric('BatchesRedelivered', MetricUnit.Count, 1);
  // Per log group: the unparsed share is alarmed per group (a blind spot is a group nobody reads).
  for (const [logGroup, g] of result.parse.groups) {
    const m = metrics.singleMetric();
    m.addDimension('logGroup', logGroup);
    m.addMetric('EventsNormalized', MetricUnit.Count, g.events);
    m.addMetric('EventsUnparsed', MetricUnit.Count, g.unparsed);
  }
  for (const [reason, count] of result.skips.counts) {
    const m = metrics.singleMetric();
    m.addDimension('reason', reason);
    m.addMetric('EventsSkippedByReason', MetricUnit.Count, count);
  }
  if (result.skips.samples.length > 0) logger.warn('skipped malformed log events', { skips: result.skips.samples.slice(0, 5) });
  for (const msg of result.messages) {
    if (!msg.publish && !msg.digest) continue;
    const m = metrics.singleMetric();
    m.addDimensions({ ruleId: msg.alert.ruleId, tier: msg.alert.tier, status: msg.alert.status });
    m.addMetric('Alerts', MetricUnit.Count, 1);
  }
}

export const handler = middy(detect).use(injectLambdaContext(logger)).use(logMetrics(metrics));
