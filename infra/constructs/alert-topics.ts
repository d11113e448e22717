import { CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, SqsSubscription, UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SentinelConfig } from '../config';

export type TierName = 'review' | 'notify' | 'respond';

export interface AlertTopicsProps {
  readonly subscribers: SentinelConfig['subscribers'];
}

/**
 * One SNS topic per tier, encrypted with a customer-managed key (CloudWatch alarms can publish
 * to it, which the AWS-managed SNS key does not allow) and a TLS-only topic policy.
 */
export class AlertTopics extends Construct {
  readonly key: Key;
  readonly topics: Record<TierName, Topic>;

  constructor(scope: Construct, id: string, props: AlertTopicsProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Sentinel alert topics',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish stack-health alarms to these encrypted topics: only this account's alarms.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const make = (tier: TierName, displayName: string) => {
      const topic = new Topic(this, `${tier[0]?.toUpperCase()}${tier.slice(1)}Topic`, {
        displayName,
        masterKey: this.key,
        enforceSSL: true,
      });
      const subs = props.subscribers[tier];
      for (const email of subs.emails) topic.addSubscription(new EmailSubscription(email));
      for (const url of subs.httpsEndpoints) topic.addSubscription(new UrlSubscription(url));
      subs.sqsQueueArns.forEach((arn, i) => {
        topic.addSubscription(new SqsSubscription(Queue.fromQueueArn(this, `${tier}Queue${i}`, arn), { rawMessageDelivery: true }));
      });
      // For subscriptions made outside the stack, e.g. one per team with a filter policy on `account`.
      new CfnOutput(Stack.of(this), `${tier[0]?.toUpperCase()}${tier.slice(1)}TopicArn`, {
        value: topic.topicArn,
        description: `${displayName}: subscribe here; messages carry severity, tier, ruleId, status and account attributes`,
      });
      return topic;
    };
    this.topics = {
      review: make('review', 'Sentinel review (low)'),
      notify: make('notify', 'Sentinel notify (medium)'),
      respond: make('respond', 'Sentinel respond (high/critical)'),
    };
  }

  /** Publish rights on every tier topic (grantPublish also grants use of the topic key). */
  grantPublishAll(grantee: IGrantable): void {
    for (const topic of Object.values(this.topics)) topic.grantPublish(grantee);
  }
}
