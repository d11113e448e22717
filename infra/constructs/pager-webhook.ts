import { CfnOutput, Duration } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { secretByNameOrArn } from './secret-reference';
import { SentinelFunction } from './sentinel-function';

export interface PagerDutyWebhookProps {
  /** The Secrets Manager secret holding the v3 webhook subscription's signing secret: its name or full ARN. */
  readonly signingSecret: string;
  readonly table: Table;
  readonly logRetention: RetentionDays;
}

/**
 * PagerDuty's acknowledgements back into Sentinel (src/alerts/pagerduty-webhook.ts): a function
 * with a URL for a PagerDuty v3 webhook subscription (output `PagerDutyWebhookUrl`). The URL
 * takes any request, as a webhook receiver must; the function acts only on bodies signed with the
 * subscription's secret, and its reserved concurrency bounds what unsigned requests can cost.
 */
export class PagerDutyWebhook extends Construct {
  readonly function: SentinelFunction;
  readonly secret: ISecret;

  constructor(scope: Construct, id: string, props: PagerDutyWebhookProps) {
    super(scope, id);
    this.secret = secretByNameOrArn(this, 'SigningSecret', props.signingSecret);
    this.function = new SentinelFunction(this, 'Function', {
      entry: 'functions/pager-webhook/handler.ts',
      logRetention: props.logRetention,
      memorySize: 256,
      timeout: Duration.seconds(15),
      reservedConcurrentExecutions: 2,
      environment: {
        PAGERDUTY_WEBHOOK_SECRET: this.secret.secretArn,
        TABLE_NAME: props.table.tableName,
        POWERTOOLS_SERVICE_NAME: 'sentinel-pager-webhook',
      },
    });
    this.secret.grantRead(this.function.fn);
    // The open alerts (the due index) and the acknowledgement documents.
    props.table.grant(this.function.fn, 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem');
    const url = this.function.fn.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    new CfnOutput(this, 'Url', {
      key: 'PagerDutyWebhookUrl',
      value: url.url,
      description:
        'Add it as a PagerDuty v3 webhook subscription (incident.acknowledged, incident.resolved, incident.unacknowledged, incident.reopened)',
    });
  }
}
