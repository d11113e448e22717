import { Aws, Stack, type StackProps } from 'aws-cdk-lib';
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnAccountPolicy, CfnSubscriptionFilter } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { subscriptionFilterPattern } from '../src/rules/filter-pattern';
import type { SentinelConfig } from './config';
import { allowDeliveries, healthEvents } from './constructs/findings-delivery';
import { exclusionCriteria } from './constructs/ingestion';
import { bundleRules } from './rule-bundle';
import { retentionOf } from './sentinel-stack';

export interface SentinelSpokeStackProps extends StackProps {
  /** The member account's config: the log groups to subscribe, and the hub's destination (its stack's `DestinationArn` output). */
  readonly config: SentinelConfig & { hubDestinationArn: string };
}

/**
 * A member account: its log groups (listed, and/or every group through the account-level policy)
 * are subscribed to the hub's CloudWatch Logs destination. Nothing runs here; the filter patterns
 * are compiled from the same rule pack as the hub, so only events some rule can use leave the
 * account. Environment-agnostic (no assets, no account or Region baked in): deployable as a
 * plain stack or to many accounts through the StackSet.
 */
export class SentinelSpokeStack extends Stack {
  constructor(scope: Construct, id: string, props: SentinelSpokeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const rules = bundleRules(config.rulesDir);

    // CloudWatch Logs assumes this role to deliver to the hub (required when the hub's policy
    // names the organization). Confused deputy: only for this account's own log events.
    const role = new Role(this, 'SubscriptionRole', {
      description: "CloudWatch Logs sends this account's log events to the Sentinel hub destination",
      assumedBy: new ServicePrincipal('logs.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:*` },
        },
      }),
      inlinePolicies: {
        SendToHub: new PolicyDocument({
          statements: [new PolicyStatement({ actions: ['logs:PutLogEvents'], resources: [config.hubDestinationArn] })],
        }),
      },
    });

    // AWS Health's notices are the member account's own (EventBridge sees no other account's):
    // written to a group here and sent on to the hub like any subscribed group.
    const health = config.healthRiskEvents ? healthEvents(this, retentionOf(config.logRetentionDays)) : undefined;
    if (health) allowDeliveries(this, 'FindingsDeliveryPolicy', [health]);
    const groups = health ? [...new Set([...config.logGroups, health.logGroupName])] : config.logGroups;

    groups.forEach((name, i) => {
      const compiled = subscriptionFilterPattern(name, rules.pack.rules, rules.pack.sources, config.filterPatterns);
      const subscription = new CfnSubscriptionFilter(this, `Subscription${i}`, {
        logGroupName: name,
        destinationArn: config.hubDestinationArn,
        filterPattern: compiled.pattern,
        roleArn: role.roleArn,
        // Per log stream, so one stream's payloads stay in order on one shard.
        distribution: 'ByLogStream',
      });
      subscription.node.addDependency(role);
      // The findings' group must exist before its subscription.
      if (health && name === health.logGroupName) subscription.node.addDependency(health.logGroup);
    });

    if (config.accountPolicy?.enabled) {
      // Exact names: groups already subscribed above (their events would arrive twice) and the user's exclusions.
      const excluded = [...new Set([...groups, ...config.accountPolicy.excludeLogGroups])];
      new CfnAccountPolicy(this, 'AccountSubscription', {
        policyName: 'sentinel-to-hub',
        policyType: 'SUBSCRIPTION_FILTER_POLICY',
        scope: 'ALL',
        policyDocument: this.toJsonString({
          DestinationArn: config.hubDestinationArn,
          RoleArn: role.roleArn,
          // The service rejects a policy without a FilterPattern; a single space matches every event.
          FilterPattern: ' ',
          Distribution: 'ByLogStream',
        }),
        ...(excluded.length > 0 ? { selectionCriteria: exclusionCriteria(excluded) } : {}),
      }).node.addDependency(role);
    }
  }
}
