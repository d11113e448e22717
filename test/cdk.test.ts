import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../infra/config';
import { SentinelStack } from '../infra/sentinel-stack';

const LOG_GROUPS = ['/app/identity/audit', '/sentinel-demo/bastion/sshd'];
function synth(extra: Record<string, unknown> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SentinelStack(app, 'Test', {
    config: parseConfig({ logGroups: LOG_GROUPS, subscribers: { respond: { emails: ['oncall@example.com'] } }, ...extra }),
  });
  return { app, stack, template: Template.fromStack(stack) };
}

describe('SentinelStack', () => {
  const { template } = synth();
  it('subscribes each configured log group to the detector', () => {
    template.resourceCountIs('AWS::Logs::SubscriptionFilter', LOG_GROUPS.length);
    for (const name of LOG_GROUPS) {
      template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
        LogGroupName: name,
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DetectorFunction'), 'Arn'] },
        FilterPattern: Match.anyValue(),
      });
    }
  });
  it('detector Lambda: nodejs22.x, arm64, tracing, env, failure destination', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      ReservedConcurrentExecutions: 20,
      Environment: {
        Variables: Match.objectLike({ TABLE_NAME: Match.anyValue(), STATE_MACHINE_ARN: Match.anyValue(), DIGEST_INTERVAL_MS: '3600000' }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });
  it('state table: pk/sk, TTL, PITR, KMS, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        BillingMode: 'PAY_PER_REQUEST',
      }),
    });
  });
  it('three KMS-encrypted tier topics and an Express state machine with logging and tracing', () => {
    template.resourceCountIs('AWS::SNS::Topic', 3);
    template.allResourcesProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ERROR', IncludeExecutionData: false }),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });
  it('own log groups have explicit retention, no logRetention custom resource; alarms exist', () => {
    const groups = template.findResources('AWS::Logs::LogGroup');
    expect(Object.keys(groups).length).toBeGreaterThanOrEqual(3);
    for (const g of Object.values(groups)) expect(g.Properties.RetentionInDays).toBe(30);
    template.resourceCountIs('Custom::LogRetention', 0);
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    for (const name of [
      'DetectorErrors',
      'DetectorThrottles',
      'FailedBatches',
      'StateMachineFailed',
      'DetectorNearTimeout',
      'respondDeliveryFailures',
    ]) {
      expect(
        alarms.some((a) => a.includes(name)),
        name,
      ).toBe(true);
    }
  });
  it('IAM: no wildcard service actions; Resource * only where the API has no resource-level permissions', () => {
    const allowedStar =
      /^(xray:|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))/;
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement) {
        const actions: string[] = [st.Action].flat();
        for (const a of actions) expect(a === '*' || a.endsWith(':*'), a).toBe(false);
        if (st.Resource === '*') for (const a of actions) expect(a, `Resource * for ${a}`).toMatch(allowedStar);
      }
    }
  });
  it('the lifecycle sweeper runs every 5 minutes, one at a time', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 1,
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'sentinel-sweeper' }) },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'due', Projection: { ProjectionType: 'KEYS_ONLY' } })],
    });
  });
  it('cdk-nag AwsSolutions: no unacknowledged findings', () => {
    const { app } = synth();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
  it('a bad rule fails synth with the validator message', () => {
    expect(() => synth({ rulesDir: 'test/fixtures/bad-rules' })).toThrow(/rule validation failed/);
  });
  it('snapshot (asset hashes stripped)', () => {
    const json = JSON.stringify(template.toJSON()).replace(/[a-f0-9]{64}(\.zip)?/g, 'HASH');
    expect(JSON.parse(json)).toMatchSnapshot();
  });
});
