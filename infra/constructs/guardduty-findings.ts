import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type IRuleTarget, Rule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, ResourcePolicy, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface GuardDutyFindingsProps {
  readonly retention: RetentionDays;
}

/** The log group findings are written to: what `logGroups` would name, and what the built-in source recognizes by content anyway. */
export const GUARDDUTY_FINDINGS_LOG_GROUP = '/aws/events/sentinel-guardduty-findings';

/**
 * Amazon GuardDuty's findings into a log group the detector reads (src/parse/aws/guardduty.ts):
 * an EventBridge rule on the account's default bus for every finding GuardDuty publishes (new
 * and updated), delivered whole as JSON. In GuardDuty's administrator account (delegated, in an
 * organization) the bus carries every member account's findings.
 *
 * The delivery is allowed by a CloudWatch Logs resource policy (AWS::Logs::ResourcePolicy, no
 * custom resource) for EventBridge, held to this rule's ARN. An account has at most 10 such
 * policies per Region.
 */
export class GuardDutyFindings extends Construct {
  readonly logGroup: LogGroup;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: GuardDutyFindingsProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Findings', {
      logGroupName: GUARDDUTY_FINDINGS_LOG_GROUP,
      retention: props.retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stack = Stack.of(this);
    // Named, so the delivery policy can hold EventBridge to this rule's ARN without referring to
    // the rule (which waits for the policy: a reference back would be a cycle).
    const ruleName = `${stack.stackName}-guardduty-findings`;
    this.rule = new Rule(this, 'Rule', {
      ruleName,
      description: 'Amazon GuardDuty findings to the log group Sentinel reads',
      eventPattern: { source: ['aws.guardduty'], detailType: ['GuardDuty Finding'] },
    });
    const ruleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleName });
    // The log group's ARN without the `:*` suffix CloudFormation's Arn attribute carries.
    const logGroupArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: GUARDDUTY_FINDINGS_LOG_GROUP,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const target: IRuleTarget = { bind: () => ({ arn: logGroupArn, targetResource: this.logGroup }) };
    this.rule.addTarget(target);
    const policy = new ResourcePolicy(this, 'DeliveryPolicy', {
      resourcePolicyName: `${stack.stackName}-guardduty-findings`,
      policyStatements: [
        new PolicyStatement({
          sid: 'EventBridgeWritesGuardDutyFindings',
          principals: [new ServicePrincipal('events.amazonaws.com')],
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.logGroup.logGroupArn],
          conditions: { ArnEquals: { 'aws:SourceArn': ruleArn } },
        }),
      ],
    });
    // The rule delivers only once the group exists and accepts it.
    this.rule.node.addDependency(policy);
  }
}
