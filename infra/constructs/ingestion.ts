import { Annotations, Stack } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnPermission } from 'aws-cdk-lib/aws-lambda';
import { CfnAccountPolicy, FilterPattern, LogGroup, SubscriptionFilter } from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import { Construct } from 'constructs';
import { subscriptionFilterPattern } from '../../src/rules/filter-pattern';
import type { RulePack } from '../../src/rules/rule-pack';

export interface IngestionProps {
  /** The function every subscription delivers to. */
  readonly detector: IFunction;
  /** The rules, from which each log group's filter pattern is compiled. */
  readonly pack: RulePack;
  /** Log groups to subscribe, by name. */
  readonly logGroups: readonly string[];
  /** `compiled` (from the rules) or `all` (every event: no regex counted against the group's quota). */
  readonly filterPatterns: 'compiled' | 'all';
  /**
   * The account-level subscription filter policy (one per account and Region).
   * @default - none: only the log groups listed are watched
   */
  readonly accountPolicy?: { enabled: boolean; excludeLogGroups: string[] };
  /** The stack's own log groups: never subscribed (that would loop). */
  readonly ownLogGroups: readonly string[];
}

/**
 * Subscription filters from the watched log groups to the detector. Each filter's pattern is
 * compiled from the rules that apply to the group; the stack uses one of the two subscription
 * filters a log group allows and leaves the other to the user.
 */
export class Ingestion extends Construct {
  readonly patterns: Record<string, string> = {};

  constructor(scope: Construct, id: string, props: IngestionProps) {
    super(scope, id);
    props.logGroups.forEach((name, i) => {
      const compiled = subscriptionFilterPattern(name, props.pack.rules, props.pack.sources, props.filterPatterns);
      this.patterns[name] = compiled.pattern;
      Annotations.of(this).addInfo(`${name}: ${compiled.pattern ? 'filtered' : 'all events'} (${compiled.reason})`);
      new SubscriptionFilter(this, `Subscription${i}`, {
        logGroup: LogGroup.fromLogGroupName(this, `Watched${i}`, name),
        destination: new LambdaDestination(props.detector),
        filterPattern: compiled.pattern ? FilterPattern.literal(compiled.pattern) : FilterPattern.allEvents(),
      });
    });
    if (props.accountPolicy?.enabled) {
      const stack = Stack.of(this);
      new CfnPermission(this, 'AccountPolicyInvoke', {
        action: 'lambda:InvokeFunction',
        functionName: props.detector.functionArn,
        principal: 'logs.amazonaws.com',
        sourceAccount: stack.account,
      });
      // Exact names (the selection criteria match names, not prefixes): the stack's own groups
      // (a subscription to them would loop), the groups already subscribed above (their events
      // would arrive twice) and the user's exclusions.
      const excluded = [...new Set([...props.ownLogGroups, ...props.logGroups, ...props.accountPolicy.excludeLogGroups])];
      new CfnAccountPolicy(this, 'AccountSubscription', {
        policyName: 'sentinel-detector',
        policyType: 'SUBSCRIPTION_FILTER_POLICY',
        scope: 'ALL',
        // The service rejects a policy without a FilterPattern; a single space matches every event.
        policyDocument: stack.toJsonString({ DestinationArn: props.detector.functionArn, FilterPattern: ' ', Distribution: 'Random' }),
        selectionCriteria: exclusionCriteria(excluded),
      });
    }
  }
}

/** An account policy's selection criteria leaving out these exact log-group names (NOT IN is the only operator). */
export function exclusionCriteria(names: readonly string[]): string {
  return `LogGroupName NOT IN [${names.map((name) => `"${name}"`).join(', ')}]`;
}
