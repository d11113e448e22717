import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { decodeLambdaEvent } from '../../src/decode/cloudwatch';
import { Detector } from '../../src/engine/detector';
import { processPayload } from '../../src/engine/pipeline';
import { Normalizer } from '../../src/parse/normalize';
import { DynamoStateStore } from '../commons/adapters/dynamodb-state-store';
import { StepFunctionsSink } from '../commons/adapters/stepfunctions-sink';
import { loadEmbeddedRules } from '../commons/embedded-rules';
import { requireEnv } from '../commons/env';

// Everything below runs once per cold start; invocations reuse it.
const logger = new Logger({ serviceName: 'sentinel-detector' });
const metrics = new Metrics({ namespace: 'Sentinel', serviceName: 'detector' });
const pack = loadEmbeddedRules();
const normalizer = new Normalizer(pack.sources);
const dynamo = new DynamoDBClient({ maxAttempts: 8, retryMode: 'adaptive' });
const store = new DynamoStateStore(dynamo, requireEnv('TABLE_NAME'));
const detector = new Detector(pack, store, { region: requireEnv('AWS_REGION') });
const sink = new StepFunctionsSink(
  new SFNClient({ maxAttempts: 6 }),
  requireEnv('STATE_MACHINE_ARN'),
  Number(requireEnv('RISK_LOOKBACK_MS')),
);

/** CloudWatch Logs subscription handler: decode, detect, hand detections to correlation. */
export const handler = async (event: unknown): Promise<{ eventsIn: number; skipped: number; detections: number }> => {
  try {
    const decoded = decodeLambdaEvent(event);
    if (!decoded.ok) {
      // A payload that can never decode is counted and dropped: retrying it cannot help.
      metrics.addDimension('reason', decoded.skip.reason);
      metrics.addMetric('PayloadsSkipped', MetricUnit.Count, 1);
      logger.error('skipped undecodable payload', { skip: decoded.skip });
      return { eventsIn: 0, skipped: 1, detections: 0 };
    }
    const result = await processPayload(decoded.payload, normalizer, detector);
    metrics.addMetric('EventsIn', MetricUnit.Count, result.eventsIn);
    if (result.redelivered) {
      metrics.addMetric('BatchesRedelivered', MetricUnit.Count, 1);
      logger.info('redelivered batch: re-sending its recorded alerts', {
        logGroup: decoded.payload.logGroup,
        alerts: result.alerts.length,
      });
    }
    metrics.addMetric('EventsProcessed', MetricUnit.Count, result.eventsProcessed);
    metrics.addMetric('EventsSkipped', MetricUnit.Count, result.skips.events);
    for (const [reason, count] of result.skips.counts) {
      const m = metrics.singleMetric();
      m.addDimension('reason', reason);
      m.addMetric('EventsSkippedByReason', MetricUnit.Count, count);
    }
    if (result.skips.samples.length > 0) logger.warn('skipped malformed log events', { skips: result.skips.samples.slice(0, 5) });
    for (const alert of result.alerts) {
      const m = metrics.singleMetric();
      m.addDimensions({ ruleId: alert.ruleId, tier: alert.tier });
      m.addMetric('Detections', MetricUnit.Count, 1);
    }
    // Throws on failure: Lambda retries the batch, which finds its receipt and re-sends these alerts.
    await sink.send(result.alerts);
    if (result.alerts.length > 0)
      logger.info('detections sent', { ids: result.alerts.map((a) => a.id), logGroup: decoded.payload.logGroup });
    return { eventsIn: result.eventsIn, skipped: result.skips.events, detections: result.alerts.length };
  } finally {
    metrics.publishStoredMetrics();
  }
};
