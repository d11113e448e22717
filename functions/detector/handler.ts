import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { decodeLambdaEvent, type SubscriptionPayload } from '../../src/decode/cloudwatch';
import { decodeKinesisRecord, isKinesisEvent, type KinesisBatchResponse } from '../../src/decode/kinesis';
import type { Skip } from '../../src/decode/skips';
import { silencedReminders } from '../../src/engine/acknowledgements';
import { Detector } from '../../src/engine/detector';
import { StoredExceptions } from '../../src/engine/exceptions';
import { LineGate } from '../../src/engine/line-gate';
import { type PayloadResult, processPayload } from '../../src/engine/pipeline';
import { Normalizer } from '../../src/parse/normalize';
import { disablePretenuring } from '../../src/runtime/v8-heap';
import { DynamoStateStore } from '../commons/adapters/dynamodb-state-store';
import { StepFunctionsSink } from '../commons/adapters/stepfunctions-sink';
import { dynamo, sfn } from '../commons/clients';
import { loadEmbeddedRules } from '../commons/embedded-rules';
import {
  accountsForEnv,
  alertContext,
  alertTermsEnv,
  learningScopeEnv,
  messageStyleEnv,
  requireEnv,
  requireNumberEnv,
} from '../commons/env';
import { logger, metrics } from '../commons/powertools';

// Everything below runs once per cold start; invocations reuse it. The heap setting comes first,
// before any hot code runs (src/runtime/v8-heap.ts).
disablePretenuring();
const pack = loadEmbeddedRules();
// One time zone for the events' local hours and the messages' local times.
const style = messageStyleEnv();
// A member account's lines are about that account, unless it holds the organization trail.
const normalizer = new Normalizer(pack.sources, { timeZone: style.timeZone, realDelivery: true, accountsFor: accountsForEnv() });
const store = new DynamoStateStore(dynamo, requireEnv('TABLE_NAME'));
const detector = new Detector(pack, store, {
  ...alertContext(),
  ...alertTermsEnv(),
  newTermLearning: requireNumberEnv('NEW_TERM_LEARNING_MS', { zeroAllowed: true }),
  newTermLearningScope: learningScopeEnv(),
  exceptions: new StoredExceptions(store),
  // Absence rules judge an entity by when its events are delivered too (the sweeper's clock).
  deliveryClock: () => Date.now(),
});
// Lines no rule can match are left unread, as a compiled subscription filter leaves them in
// CloudWatch: an account policy, `filterPatterns: all` and a hub deliver every line.
const gate = new LineGate(pack.rules, pack.sources);
const sink = new StepFunctionsSink(sfn, requireEnv('STATE_MACHINE_ARN'), style);

export interface DetectSummary {
  eventsIn: number;
  /** Lines no rule can match, left unread (src/engine/line-gate.ts). */
  gated: number;
  skipped: number;
  unparsed: number;
  published: number;
}

/**
 * Two entry points, one pipeline: a CloudWatch Logs subscription (`{"awslogs":…}`, same account)
 * or a Kinesis batch from the hub's stream (each record one gzipped subscription payload, from
 * any member account).
 */
export async function detect(event: unknown): Promise<DetectSummary | KinesisBatchResponse> {
  return isKinesisEvent(event) ? detectStream(event) : detectSubscription(event);
}

/** The direct path: one CloudWatch Logs subscription payload per invocation. */
export async function detectSubscription(event: unknown): Promise<DetectSummary> {
  const decoded = decodeLambdaEvent(event);
  if (!decoded.ok) {
    skippedPayload(decoded.skip);
    return { eventsIn: 0, gated: 0, skipped: 1, unparsed: 0, published: 0 };
  }
  return handlePayload(decoded.payload);
}

/**
 * Records in shard order. A record that fails (state or delivery error) is reported as the batch
 * item failure and the rest of the batch is left to the retry, which resumes at that record:
 * order is kept, receipts make the records already done idempotent, and after the mapping's
 * retry limit the record goes to the failure queue and the shard moves on. A record that can
 * never decode is counted and skipped: retrying it cannot help.
 */
export async function detectStream(event: { Records: readonly unknown[] }): Promise<KinesisBatchResponse> {
  for (const [i, raw] of event.Records.entries()) {
    const item = decodeKinesisRecord(raw, `kinesis record ${i}`);
    if (!item.ok) {
      skippedPayload(item.skip);
      continue;
    }
    try {
      await handlePayload(item.payload, item.arrivedAt);
    } catch (err) {
      metrics.addMetric('RecordsFailed', MetricUnit.Count, 1);
      logger.error('record failed: the stream retries from it', { sequenceNumber: item.sequenceNumber, error: err });
      return { batchItemFailures: [{ itemIdentifier: item.sequenceNumber }] };
    }
  }
  return { batchItemFailures: [] };
}

/** `arrivedAt`: when a hub record reached the stream (how late it arrives is measured from it). */
async function handlePayload(payload: SubscriptionPayload, arrivedAt?: number): Promise<DetectSummary> {
  const result = await processPayload(payload, normalizer, detector, { arrivedAt, gate });
  record(result);
  if (result.redelivered)
    logger.info('redelivered batch: re-sending its recorded messages', { logGroup: payload.logGroup, messages: result.messages.length });
  // Throws when a message could not be delivered: Lambda retries the batch, which finds its
  // receipt and re-sends the same messages (the state machine publishes only what is missing).
  await sink.send(result.messages);
  const published = result.messages.filter((m) => m.publish);
  if (published.length > 0)
    logger.info('published', { keys: published.map((m) => m.key), logGroup: payload.logGroup, owner: payload.owner });
  return {
    eventsIn: result.eventsIn,
    gated: result.eventsGated,
    skipped: result.skips.events,
    unparsed: result.parse.totals.unparsed,
    published: published.length,
  };
}

/** A payload that can never decode is counted and dropped: retrying it cannot help. */
function skippedPayload(skip: Skip): void {
  const m = metrics.singleMetric();
  m.addDimension('reason', skip.reason);
  m.addMetric('PayloadsSkipped', MetricUnit.Count, 1);
  logger.error('skipped undecodable payload', { skip });
}

function record(result: PayloadResult): void {
  metrics.addMetric('EventsIn', MetricUnit.Count, result.eventsIn);
  metrics.addMetric('EventsProcessed', MetricUnit.Count, result.eventsProcessed);
  metrics.addMetric('EventsSkipped', MetricUnit.Count, result.skips.events);
  // Lines no rule can match, left unread (src/engine/line-gate.ts).
  if (result.eventsGated > 0) metrics.addMetric('EventsGated', MetricUnit.Count, result.eventsGated);
  // The unparsed share's denominator: normalized events and the gate's sampled lines for the lines they stand for.
  metrics.addMetric('EventsNormalized', MetricUnit.Count, result.parse.totals.events);
  metrics.addMetric('EventsUnparsed', MetricUnit.Count, result.parse.totals.unparsed);
  if (result.redelivered) metrics.addMetric('BatchesRedelivered', MetricUnit.Count, 1);
  // What new-term rules would have told but learned instead (the first week of a deployment or an account).
  if (result.learnedTerms > 0) metrics.addMetric('NewTermsLearned', MetricUnit.Count, result.learnedTerms);
  // What responders' exceptions left out (src/engine/exceptions.ts): a forgotten one shows here.
  if (result.exceptedEvents > 0) metrics.addMetric('EventsExcepted', MetricUnit.Count, result.exceptedEvents);
  // Reminders a responder's acknowledgement kept off the pager (src/engine/acknowledgements.ts).
  const silenced = silencedReminders(result.messages);
  if (silenced > 0) metrics.addMetric('RemindersAcknowledged', MetricUnit.Count, silenced);
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
