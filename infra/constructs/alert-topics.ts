import { CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { SubscriptionFilter, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, SqsSubscription, UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { routeId } from '../../src/engine/review-routes';
import type { Endpoints, SentinelConfig } from '../config';

export type TierName = 'review' | 'notify' | 'respond';

export interface AlertTopicsProps {
  /** Who each tier's topic delivers to (config `subscribers`): emails, HTTPS endpoints and SQS queues per tier. */
  readonly subscribers: SentinelConfig['subscribers'];
  /** Teams of some accounts or rules (config `routes`): filtered subscriptions on their tiers' topics. */
  readonly routes: SentinelConfig['routes'];
  /**
   * A chat topic (config `chat`): messages in the chat service's format for these tiers.
   * @default - no chat topic
   */
  readonly chat?: SentinelConfig['chat'];
}

/**
 * One SNS topic per tier, encrypted with a customer-managed key (CloudWatch alarms can publish
 * to it, which the AWS-managed SNS key does not allow) and a TLS-only topic policy.
 */
export class AlertTopics extends Construct {
  readonly key: Key;
  readonly topics: Record<TierName, Topic>;
  /** The chat topic and the tiers published to it, when configured. */
  readonly chat?: { topic: Topic; tiers: readonly TierName[] };

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
      // A route that takes the review tier gets its own digest (`route: r-…`, from what it selects); the review
      // subscribers then take only the digests for everyone (`route: all`), not each team's part.
      const reviewRoutes = tier === 'review' && props.routes.some((route) => route.tiers.includes('review'));
      this.subscribe(
        topic,
        tier,
        props.subscribers[tier],
        reviewRoutes ? { route: SubscriptionFilter.stringFilter({ allowlist: ['all'] }) } : undefined,
      );
      props.routes.forEach((route, r) => {
        if (!route.tiers.some((t) => t === tier)) return;
        const filter = tier === 'review' ? { route: SubscriptionFilter.stringFilter({ allowlist: [routeId(route)] }) } : routeFilter(route);
        this.subscribe(topic, `${tier}Route${r}`, route, filter);
      });
      // For subscriptions made outside the stack, e.g. one per team with a filter policy on `account`.
      new CfnOutput(Stack.of(this), `${tier[0]?.toUpperCase()}${tier.slice(1)}TopicArn`, {
        value: topic.topicArn,
        description: `${displayName}: subscribe here; messages carry severity, tier, ruleId, status, account and route attributes`,
      });
      return topic;
    };
    this.topics = {
      review: make('review', 'Sentinel review (low)'),
      notify: make('notify', 'Sentinel notify (medium)'),
      respond: make('respond', 'Sentinel respond (high/critical)'),
    };
    if (props.chat) {
      // Its subscriber is the chat service's channel configuration, made where the Slack workspace or Teams tenant is authorized.
      const topic = new Topic(this, 'ChatTopic', { displayName: 'Sentinel chat', masterKey: this.key, enforceSSL: true });
      new CfnOutput(Stack.of(this), 'ChatTopicArn', {
        value: topic.topicArn,
        description: `Sentinel chat (${props.chat.tiers.join(', ')}): add to an Amazon Q Developer in chat applications channel configuration`,
      });
      this.chat = { topic, tiers: props.chat.tiers };
    }
  }

  private subscribe(topic: Topic, idPrefix: string, endpoints: Endpoints, filterPolicy?: Record<string, SubscriptionFilter>): void {
    const options = filterPolicy ? { filterPolicy } : {};
    for (const email of endpoints.emails) topic.addSubscription(new EmailSubscription(email, options));
    for (const url of endpoints.httpsEndpoints) topic.addSubscription(new UrlSubscription(url, options));
    endpoints.sqsQueueArns.forEach((arn, i) => {
      const queue = Queue.fromQueueArn(this, `${idPrefix}Queue${i}`, arn);
      topic.addSubscription(new SqsSubscription(queue, { rawMessageDelivery: true, ...options }));
    });
  }

  /** Publish rights on every tier topic (grantPublish also grants use of the topic key). */
  grantPublishAll(grantee: IGrantable): void {
    for (const topic of Object.values(this.topics)) topic.grantPublish(grantee);
    this.chat?.topic.grantPublish(grantee);
  }
}

/**
 * SNS delivers a route only the messages whose `account` attribute names one of its accounts and
 * whose `ruleId` is one of its rules or starts with one of its prefixes (`aws.*`).
 */
export function routeFilter(route: SentinelConfig['routes'][number]): Record<string, SubscriptionFilter> {
  const policy: Record<string, SubscriptionFilter> = {};
  if (route.accounts) policy.account = SubscriptionFilter.stringFilter({ allowlist: route.accounts });
  if (route.rules) {
    const exact = route.rules.filter((ref) => !ref.endsWith('*'));
    const prefixes = route.rules.filter((ref) => ref.endsWith('*')).map((ref) => ref.slice(0, -1));
    policy.ruleId = SubscriptionFilter.stringFilter({
      ...(exact.length > 0 ? { allowlist: exact } : {}),
      ...(prefixes.length > 0 ? { matchPrefixes: prefixes } : {}),
    });
  }
  return policy;
}
