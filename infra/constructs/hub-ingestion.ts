import { Aws, CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AccountPrincipal, AnyPrincipal, Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { Key } from 'aws-cdk-lib/aws-kms';
import { type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { CfnDestination } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SentinelConfig } from '../config';

export interface HubIngestionProps {
  /** The detector the hub stream's event source mapping invokes. */
  readonly detector: IFunction;
  /** Records the mapping gave up on (after retries or age) land here, with their shard and sequence range. */
  readonly failures: IQueue;
  /** Where the hub's own alarm (the stream's iterator age) goes. */
  readonly alarmTopic: ITopic;
  /** The stream and its reader (config `hub`): capacity, retention, batching, retries. */
  readonly settings: SentinelConfig['hub'];
  /**
   * The organization whose accounts may subscribe their log groups to the hub's destination.
   * @default - only `memberAccounts` may
   */
  readonly organizationId?: string;
  /** Accounts that may subscribe to the destination (with or beside `organizationId`). */
  readonly memberAccounts: readonly string[];
}

/**
 * The security account's entry for every member account: a CloudWatch Logs destination (the only
 * cross-account subscription target) backed by a KMS-encrypted Kinesis stream the detector reads
 * through an event source mapping. Who may subscribe is the destination policy (the organization,
 * or a list of accounts); CloudWatch Logs writes to the stream through a role it may assume only
 * on behalf of those senders.
 */
export class HubIngestion extends Construct {
  readonly stream: Stream;
  readonly destinationArn: string;

  constructor(scope: Construct, id: string, props: HubIngestionProps) {
    super(scope, id);
    const { settings } = props;
    const key = new Key(this, 'StreamKey', { enableKeyRotation: true, description: "Sentinel hub stream: member accounts' log events" });
    this.stream = new Stream(this, 'Stream', {
      streamMode: settings.streamMode === 'on-demand' ? StreamMode.ON_DEMAND : StreamMode.PROVISIONED,
      ...(settings.streamMode === 'provisioned' ? { shardCount: settings.shards } : {}),
      encryption: StreamEncryption.KMS,
      encryptionKey: key,
      retentionPeriod: Duration.hours(settings.retentionHours),
    });
    Validations.of(this.stream).acknowledge({
      id: 'AwsSolutions-KDS3',
      reason:
        "Deliberate: the stream carries every member account's logs; a customer managed key lets the key policy decide who can ever decrypt them (only the destination role encrypts, only the detector decrypts).",
    });

    // CloudWatch Logs assumes this role to put the senders' payloads on the stream. Confused
    // deputy: only for log events of the organization's accounts (or the listed ones).
    const senders = [...props.memberAccounts, Aws.ACCOUNT_ID];
    const writer = new Role(this, 'DestinationRole', {
      description: "CloudWatch Logs delivers member accounts' subscription payloads to the Sentinel hub stream",
      assumedBy: new ServicePrincipal('logs.amazonaws.com', {
        conditions: props.organizationId
          ? { StringEquals: { 'aws:SourceOrgID': props.organizationId } }
          : { StringLike: { 'aws:SourceArn': senders.map((a) => `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${a}:*`) } },
      }),
      inlinePolicies: {
        PutRecords: new PolicyDocument({
          statements: [new PolicyStatement({ actions: ['kinesis:PutRecord'], resources: [this.stream.streamArn] })],
        }),
      },
    });
    key.grant(writer, 'kms:GenerateDataKey');

    // The policy names the destination by ARN; built from its name (the resource cannot reference itself).
    this.destinationArn = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:destination:${settings.destinationName}`;
    const subscribe = ['logs:PutSubscriptionFilter', 'logs:PutAccountPolicy'];
    const policy = new PolicyDocument({
      statements: [
        props.organizationId
          ? new PolicyStatement({
              effect: Effect.ALLOW,
              principals: [new AnyPrincipal()],
              actions: subscribe,
              resources: [this.destinationArn],
              conditions: { StringEquals: { 'aws:PrincipalOrgID': [props.organizationId] } },
            })
          : new PolicyStatement({
              effect: Effect.ALLOW,
              principals: props.memberAccounts.map((a) => new AccountPrincipal(a)),
              actions: subscribe,
              resources: [this.destinationArn],
            }),
      ],
    });
    const destination = new CfnDestination(this, 'Destination', {
      destinationName: settings.destinationName,
      roleArn: writer.roleArn,
      targetArn: this.stream.streamArn,
      destinationPolicy: Stack.of(this).toJsonString(policy.toJSON()),
    });
    // CloudWatch Logs checks it can write when the destination is created.
    destination.node.addDependency(writer);

    props.detector.addEventSource(
      new KinesisEventSource(this.stream, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: settings.batchSize,
        maxBatchingWindow: Duration.millis(settings.batchWindow),
        parallelizationFactor: settings.parallelizationFactor,
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: settings.maxRetryAttempts,
        maxRecordAge: Duration.millis(settings.maxRecordAge),
        onFailure: new SqsDlq(props.failures),
      }),
    );

    new Alarm(this, 'IteratorAgeAlarm', {
      alarmDescription: `The detector is more than ${Math.round(settings.iteratorAgeAlarm / 60_000)} minutes behind the hub stream: detections are late. Check throttling, errors and shard count.`,
      metric: props.detector.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: settings.iteratorAgeAlarm,
      evaluationPeriods: 5,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new SnsAction(props.alarmTopic));

    new CfnOutput(Stack.of(this), 'DestinationArn', {
      value: this.destinationArn,
      description: 'Give this to the spoke stacks (config hubDestinationArn)',
    });
  }
}
