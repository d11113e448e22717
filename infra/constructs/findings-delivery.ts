import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type EventPattern, type IRuleTarget, Rule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, ResourcePolicy, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SENTINEL_GENERATOR_PREFIX } from '../../src/parse/aws/security-hub';

/** The log groups findings are written to: what `logGroups` would name, and what the built-in sources recognize by content anyway. */
export const GUARDDUTY_FINDINGS_LOG_GROUP = '/aws/events/sentinel-guardduty-findings';
export const SECURITY_HUB_FINDINGS_LOG_GROUP = '/aws/events/sentinel-securityhub-findings';
export const HEALTH_EVENTS_LOG_GROUP = '/aws/events/sentinel-health-events';

/** Every GuardDuty finding, new and updated (src/parse/aws/guardduty.ts). */
export const GUARDDUTY_FINDINGS: EventPattern = { source: ['aws.guardduty'], detailType: ['GuardDuty Finding'] };

/**
 * AWS Health's security notices (src/parse/aws/health.ts): credentials found in public or
 * compromised, resources reported for abuse — not its maintenance and service events.
 */
export const HEALTH_RISK_EVENTS: EventPattern = {
  source: ['aws.health'],
  detailType: ['AWS Health Event', 'AWS Health Abuse Event'],
  detail: { eventTypeCode: [{ prefix: 'AWS_RISK_' }, { prefix: 'AWS_ABUSE_' }] },
};

/**
 * Security Hub's findings that can still ask something of someone (src/parse/aws/security-hub.ts),
 * in either format: Security Hub CSPM's ASFF ones active, not suppressed or resolved, above
 * informational; the OCSF ones of the Security Hub of December 2025 new or in progress, above
 * informational — the rest (a check that passed, a finding a responder closed) is most of what
 * Security Hub sends and none of it would fire. GuardDuty's are left out when the stack reads them
 * directly (one finding, one alert).
 */
export function securityHubFindings(withoutGuardDuty: boolean): EventPattern {
  const notGuardDuty = withoutGuardDuty ? [{ 'anything-but': 'GuardDuty' }] : undefined;
  return {
    source: ['aws.securityhub'],
    detailType: ['Security Hub Findings - Imported', 'Findings Imported V2'],
    detail: {
      findings: {
        $or: [
          {
            RecordState: ['ACTIVE'],
            Workflow: { Status: ['NEW', 'NOTIFIED'] },
            Severity: { Label: ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] },
            // Sentinel's own alerts (securityHubExport) never come back as findings about themselves.
            GeneratorId: [{ 'anything-but': { prefix: SENTINEL_GENERATOR_PREFIX } }],
            ...(notGuardDuty ? { ProductName: notGuardDuty } : {}),
          },
          {
            status: ['New', 'In Progress'],
            severity: ['Low', 'Medium', 'High', 'Critical', 'Fatal'],
            ...(notGuardDuty ? { metadata: { product: { name: notGuardDuty } } } : {}),
          },
        ],
      },
    },
  };
}

export interface FindingsDeliveryProps {
  readonly retention: RetentionDays;
  /** The log group written to (one of the constants above). */
  readonly logGroupName: string;
  /** Names the rule and the delivery policy after the stack: `${stack}-${name}`. */
  readonly name: string;
  readonly description: string;
  readonly eventPattern: EventPattern;
  /** The delivery policy statement's id. */
  readonly sid: string;
}

/**
 * The one CloudWatch Logs resource policy (AWS::Logs::ResourcePolicy, no custom resource) that
 * lets EventBridge write each delivery's findings, each statement held to its own rule's ARN. One
 * for all of them: an account has at most 10 such policies per Region, shared with every service
 * that writes to CloudWatch Logs this way.
 */
export function allowDeliveries(scope: Construct, id: string, deliveries: readonly FindingsDelivery[]): ResourcePolicy | undefined {
  if (deliveries.length === 0) return undefined;
  const policy = new ResourcePolicy(scope, id, {
    resourcePolicyName: `${Stack.of(scope).stackName}-findings-delivery`,
    policyStatements: deliveries.map((d) => d.deliveryStatement),
  });
  // A rule delivers only once its group exists and accepts it.
  for (const d of deliveries) d.rule.node.addDependency(policy);
  return policy;
}

/**
 * A security service's findings into a log group the detector reads: an EventBridge rule on the
 * account's default bus delivering matching events whole, as JSON. In the service's administrator
 * account (delegated, in an organization) the bus carries every member account's findings. The
 * delivery is allowed by `deliveryStatement`, which `allowDeliveries` puts in the stack's one
 * resource policy for them.
 */
export class FindingsDelivery extends Construct {
  readonly logGroup: LogGroup;
  readonly logGroupName: string;
  readonly rule: Rule;
  /** Lets EventBridge write to the group, for this rule only. */
  readonly deliveryStatement: PolicyStatement;

  constructor(scope: Construct, id: string, props: FindingsDeliveryProps) {
    super(scope, id);
    this.logGroupName = props.logGroupName;
    this.logGroup = new LogGroup(this, 'Findings', {
      logGroupName: props.logGroupName,
      retention: props.retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stack = Stack.of(this);
    // Named, so the delivery statement can hold EventBridge to this rule's ARN without referring to
    // the rule (which waits for the policy: a reference back would be a cycle).
    const ruleName = `${stack.stackName}-${props.name}`;
    this.rule = new Rule(this, 'Rule', { ruleName, description: props.description, eventPattern: props.eventPattern });
    const ruleArn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleName });
    // The log group's ARN without the `:*` suffix CloudFormation's Arn attribute carries.
    const logGroupArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: props.logGroupName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const target: IRuleTarget = { bind: () => ({ arn: logGroupArn, targetResource: this.logGroup }) };
    this.rule.addTarget(target);
    this.deliveryStatement = new PolicyStatement({
      sid: props.sid,
      principals: [new ServicePrincipal('events.amazonaws.com')],
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
      conditions: { ArnEquals: { 'aws:SourceArn': ruleArn } },
    });
  }
}

/** AWS Health's security notices into their log group: read by the hub's detector, or sent on by a spoke's subscription. */
export function healthEvents(scope: Construct, retention: RetentionDays): FindingsDelivery {
  return new FindingsDelivery(scope, 'HealthEvents', {
    retention,
    logGroupName: HEALTH_EVENTS_LOG_GROUP,
    name: 'health-events',
    description: "AWS Health's security notices (exposed credentials, abuse reports) to the log group Sentinel reads",
    eventPattern: HEALTH_RISK_EVENTS,
    sid: 'EventBridgeWritesHealthEvents',
  });
}
