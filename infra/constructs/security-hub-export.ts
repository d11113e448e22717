import { Aws, Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { failureQueue } from './failure-queue';
import { SentinelFunction } from './sentinel-function';

export interface SecurityHubExportProps {
  /** The notify and respond topics: their detections and incidents become findings. */
  readonly topics: readonly Topic[];
  readonly logRetention: RetentionDays;
}

/** What the stack's monitoring says of the exporter's parked alerts. */
export const UNEXPORTED_FINDINGS =
  'Alerts Security Hub did not take after five tries (Security Hub not enabled in this account and Region, a finding it refused) are parked in the UnexportedFindings queue; the topics’ other subscribers received them.';

/** How long the function may take with a batch; the queue hides a batch six times as long (Lambda's advice for SQS sources). */
const TIMEOUT_SECONDS = 30;

/**
 * Sentinel's alerts into AWS Security Hub (config `securityHubExport`): the notify and respond
 * topics deliver to a queue, and a function imports its messages up to 100 at a time as findings
 * of the account's default product (src/alerts/security-hub-finding.ts) — allowed to import into
 * that product only. Security Hub takes 100 findings a call and 10 calls a second per account and
 * Region: batching and two concurrent batches at most keep an alert storm inside that. A message
 * Security Hub refuses five times is parked in an encrypted dead-letter queue (`failures`, alarmed
 * by the stack's monitoring).
 */
export class SecurityHubExport extends Construct {
  readonly function: SentinelFunction;
  readonly failures: Queue;
  readonly queue: Queue;

  constructor(scope: Construct, id: string, props: SecurityHubExportProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // The account's own custom-integration product: arn:<partition>:securityhub:<region>:<account>:product/<account>/default.
    const productArn = stack.formatArn({ service: 'securityhub', resource: 'product', resourceName: `${Aws.ACCOUNT_ID}/default` });
    this.failures = failureQueue(this, 'UnexportedFindings', 'the Security Hub export queue');
    // SQS-managed encryption: SNS cannot deliver to a queue under the AWS-managed KMS key.
    this.queue = new Queue(this, 'Alerts', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(6 * TIMEOUT_SECONDS),
      deadLetterQueue: { queue: this.failures, maxReceiveCount: 5 },
    });
    for (const topic of props.topics) topic.addSubscription(new SqsSubscription(this.queue, { rawMessageDelivery: true }));
    this.function = new SentinelFunction(this, 'Function', {
      entry: 'functions/securityhub-export/handler.ts',
      logRetention: props.logRetention,
      memorySize: 256,
      timeout: Duration.seconds(TIMEOUT_SECONDS),
      environment: { PRODUCT_ARN: productArn, PARTITION: Aws.PARTITION, POWERTOOLS_SERVICE_NAME: 'sentinel-securityhub-export' },
    });
    this.function.fn.addToRolePolicy(new PolicyStatement({ actions: ['securityhub:BatchImportFindings'], resources: [productArn] }));
    this.function.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }),
    );
  }
}
