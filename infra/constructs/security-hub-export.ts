import { Aws, Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
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
  'Alerts Security Hub did not take after three tries (Security Hub not enabled in this account and Region, a finding it refused) are parked in the UnexportedFindings queue; the topics’ other subscribers received them.';

/**
 * Sentinel's alerts into AWS Security Hub (config `securityHubExport`): a function on the notify
 * and respond topics imports each detection and incident as a finding of the account's default
 * product (src/alerts/security-hub-finding.ts) — allowed to import into that product only. A
 * message Security Hub does not take is retried twice and then parked in an encrypted queue
 * (`failures`, alarmed by the stack's monitoring).
 */
export class SecurityHubExport extends Construct {
  readonly function: SentinelFunction;
  readonly failures: Queue;

  constructor(scope: Construct, id: string, props: SecurityHubExportProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // The account's own custom-integration product: arn:<partition>:securityhub:<region>:<account>:product/<account>/default.
    const productArn = stack.formatArn({ service: 'securityhub', resource: 'product', resourceName: `${Aws.ACCOUNT_ID}/default` });
    this.failures = failureQueue(this, 'UnexportedFindings', 'the Security Hub exporter');
    this.function = new SentinelFunction(this, 'Function', {
      entry: 'functions/securityhub-export/handler.ts',
      logRetention: props.logRetention,
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: { PRODUCT_ARN: productArn, PARTITION: Aws.PARTITION, POWERTOOLS_SERVICE_NAME: 'sentinel-securityhub-export' },
      extra: { onFailure: new SqsDestination(this.failures), retryAttempts: 2, maxEventAge: Duration.hours(6) },
    });
    this.function.fn.addToRolePolicy(new PolicyStatement({ actions: ['securityhub:BatchImportFindings'], resources: [productArn] }));
    for (const topic of props.topics) topic.addSubscription(new LambdaSubscription(this.function.fn));
  }
}
