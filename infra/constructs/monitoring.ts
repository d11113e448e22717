import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface MonitoringProps {
  /** The detector: errors, throttles, duration, event age, dropped and undeliverable batches. */
  readonly detector: LambdaFunction;
  /** Its timeout: the near-timeout alarm fires at 80% of it. */
  readonly detectorTimeout: Duration;
  /** The correlate function (its errors). */
  readonly correlate: LambdaFunction;
  /** The failure queue parked batches land in (any message alarms). */
  readonly failures: Queue;
  /**
   * Other failure destinations, each alarmed as the detector's is (any message): the PagerDuty
   * forwarders' undelivered pages.
   * @default - none
   */
  readonly parked?: readonly { name: string; queue: Queue; description: string }[];
  /** The correlation state machine (failed and timed-out executions). */
  readonly stateMachine: StateMachine;
  /** The tier topics (failed deliveries to a subscriber). */
  readonly topics: Record<'review' | 'notify' | 'respond', Topic>;
  /** Where stack-health alarms go. */
  readonly alarmTopic: Topic;
  /** The lifecycle sweeper (its errors: late resolved notices, digests and absences). */
  readonly sweeper: LambdaFunction;
  /** Watched log groups: each gets an alarm on its unparsed share. */
  readonly logGroups: readonly string[];
  /** Alarm when the unparsed share stays above `share` for `forMs` (a log group nobody reads). */
  readonly unparsed: { share: number; forMs: number };
  /** The state table: its consumed write and read units and its throttles on the dashboard (DynamoDB is most of the bill). */
  readonly table: ITable;
}

/** Self-monitoring: the stack pages on its own blind spots, and a dashboard shows the flow. */
export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const action = new SnsAction(props.alarmTopic);
    const alarm = (name: string, metric: IMetric, threshold: number, description: string) => {
      const a = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(action);
      this.alarms.push(a);
      return a;
    };
    const fiveMin = { period: Duration.minutes(5) };
    alarm(
      'DetectorErrors',
      props.detector.metricErrors({ ...fiveMin, statistic: 'Sum' }),
      1,
      'Detector invocations failed (they will be retried, then land in the failure queue).',
    );
    alarm(
      'DetectorThrottles',
      props.detector.metricThrottles({ ...fiveMin, statistic: 'Sum' }),
      1,
      'Detector throttled: reserved concurrency too low for the log volume.',
    );
    alarm(
      'DetectorNearTimeout',
      props.detector.metricDuration({ ...fiveMin, statistic: 'p99' }),
      props.detectorTimeout.toMilliseconds() * 0.8,
      'Detector p99 duration above 80% of its timeout.',
    );
    alarm(
      'DetectorEventAge',
      new Metric({
        namespace: 'AWS/Lambda',
        metricName: 'AsyncEventAge',
        dimensionsMap: { FunctionName: props.detector.functionName },
        statistic: 'Maximum',
        ...fiveMin,
      }),
      5 * 60_000,
      'Log batches wait more than 5 minutes before detection (backlog; the async equivalent of iterator age).',
    );
    // A failure destination holding any message: what it holds failed every retry.
    const parked = (name: string, queue: Queue, description: string) =>
      alarm(name, queue.metricApproximateNumberOfMessagesVisible({ ...fiveMin, statistic: 'Maximum' }), 1, description);
    parked(
      'FailedBatches',
      props.failures,
      'Log batches failed every retry and are parked in the failure queue: detect redrive --dry-run lists them and why; detect redrive runs them through the detector again.',
    );
    for (const p of props.parked ?? []) parked(p.name, p.queue, p.description);
    alarm('CorrelateErrors', props.correlate.metricErrors({ ...fiveMin, statistic: 'Sum' }), 1, 'Correlation Lambda errors.');
    const lambdaMetric = (metricName: string) =>
      new Metric({
        namespace: 'AWS/Lambda',
        metricName,
        dimensionsMap: { FunctionName: props.detector.functionName },
        statistic: 'Sum',
        ...fiveMin,
      });
    alarm(
      'DetectorDestinationDeliveryFailures',
      lambdaMetric('DestinationDeliveryFailures'),
      1,
      'A failed log batch could not be put on the failure queue: it is lost unless CloudWatch Logs redelivers it.',
    );
    alarm(
      'DetectorAsyncEventsDropped',
      lambdaMetric('AsyncEventsDropped'),
      1,
      'Log batches were dropped before the detector ran (event age or retries exhausted).',
    );
    alarm(
      'SweeperErrors',
      props.sweeper.metricErrors({ ...fiveMin, statistic: 'Sum' }),
      1,
      'The lifecycle sweep failed: resolved notices and review digests are late (its outbox delivers them on the next run).',
    );

    // Blind spots: a log group whose lines no parser understands raises nothing, silently.
    const periods = Math.max(1, Math.round(props.unparsed.forMs / fiveMin.period.toMilliseconds()));
    const unparsedShare = (id: string, dims: Record<string, string>) =>
      new MathExpression({
        expression: 'IF(normalized > 0, unparsed / normalized, 0)',
        usingMetrics: {
          unparsed: new Metric({ namespace: 'Sentinel', metricName: 'EventsUnparsed', dimensionsMap: dims, statistic: 'Sum', ...fiveMin }),
          normalized: new Metric({
            namespace: 'Sentinel',
            // Normalized lines, the line gate's samples counted for the lines they stand for (EventsProcessed has neither).
            metricName: 'EventsNormalized',
            dimensionsMap: dims,
            statistic: 'Sum',
            ...fiveMin,
          }),
        },
        label: `unparsed share ${id}`,
        period: fiveMin.period,
      });
    const blindSpot = (name: string, dims: Record<string, string>, what: string) => {
      const a = new Alarm(this, name, {
        metric: unparsedShare(name, dims),
        threshold: props.unparsed.share,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${what}: more than ${Math.round(props.unparsed.share * 100)}% of its events unparsed for ${Math.round(props.unparsed.forMs / 60_000)} minutes. Run \`detect sources check\` on a sample and map its fields or add a parser.`,
      });
      a.addAlarmAction(action);
      this.alarms.push(a);
    };
    const service = { service: 'sentinel-detector' };
    blindSpot('UnparsedShareAll', service, 'All watched log groups');
    props.logGroups.forEach((logGroup, i) => {
      blindSpot(`UnparsedShare${i}`, { ...service, logGroup }, `Log group ${logGroup}`);
    });
    alarm(
      'StateMachineFailed',
      props.stateMachine.metricFailed({ ...fiveMin, statistic: 'Sum' }),
      1,
      'Correlation executions failed (a health alert was also sent).',
    );
    alarm(
      'StateMachineTimedOut',
      props.stateMachine.metricTimedOut({ ...fiveMin, statistic: 'Sum' }),
      1,
      'Correlation executions timed out.',
    );
    for (const [tier, topic] of Object.entries(props.topics)) {
      alarm(
        `${tier}DeliveryFailures`,
        topic.metricNumberOfNotificationsFailed({ ...fiveMin, statistic: 'Sum' }),
        1,
        `SNS could not deliver ${tier}-tier alerts to a subscriber.`,
      );
    }

    const custom = (metricName: string) =>
      new Metric({ namespace: 'Sentinel', metricName, dimensionsMap: { service: 'sentinel-detector' }, statistic: 'Sum', ...fiveMin });
    new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new GraphWidget({
            title: 'Log events',
            left: [custom('EventsIn'), custom('EventsProcessed'), custom('EventsGated'), custom('EventsSkipped'), custom('EventsUnparsed')],
            width: 12,
          }),
          new GraphWidget({
            title: 'Alerts per rule, tier and lifecycle status',
            left: [
              new MathExpression({
                expression: `SEARCH('{Sentinel,ruleId,service,status,tier} MetricName="Alerts"', 'Sum', 300)`,
                label: 'detections',
                period: Duration.minutes(5),
              }),
            ],
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Detector latency',
            left: [props.detector.metricDuration({ statistic: 'p50' }), props.detector.metricDuration({ statistic: 'p99' })],
            width: 8,
          }),
          new GraphWidget({
            title: 'Detector errors / throttles',
            left: [props.detector.metricErrors(), props.detector.metricThrottles()],
            width: 8,
          }),
          new GraphWidget({
            title: 'Correlation executions',
            left: [props.stateMachine.metricSucceeded(), props.stateMachine.metricFailed()],
            width: 8,
          }),
        ],
        [
          // What the bill grows with: exact windows cost a write per rule, entity and batch
          // (`detect backtest` says which rules, on your own logs).
          new GraphWidget({
            title: 'State table: write and read units (most of the cost) against log events',
            left: [
              props.table.metricConsumedWriteCapacityUnits({ ...fiveMin, statistic: 'Sum' }),
              props.table.metricConsumedReadCapacityUnits({ ...fiveMin, statistic: 'Sum' }),
            ],
            right: [custom('EventsIn')],
            width: 12,
          }),
          new GraphWidget({
            title: 'State table: throttled requests (a hot key)',
            left: [
              props.table.metric('WriteThrottleEvents', { ...fiveMin, statistic: 'Sum' }),
              props.table.metric('ReadThrottleEvents', { ...fiveMin, statistic: 'Sum' }),
            ],
            width: 12,
          }),
        ],
      ],
    });
  }
}
