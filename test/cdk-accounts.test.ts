import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { parseConfig, SynthInputError } from '../infra/config';
import { SentinelStack } from '../infra/sentinel-stack';
import { SentinelSpokeStack } from '../infra/spoke-stack';
import { SentinelSpokeStackSet } from '../infra/spoke-stack-set';

/** Hub, spoke and StackSet (many accounts): synthesized offline, cdk-nag attached before synthesis. */
const ORG = 'o-a1b2c3d4e5';
const DESTINATION = 'arn:aws:logs:eu-west-1:999999999999:destination:sentinel-hub';

function hub(config: Record<string, unknown>, nag = false) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new SentinelStack(app, 'Hub', { config: parseConfig({ mode: 'hub', ...config }) });
  return { app, template: Template.fromStack(stack) };
}

const SPOKE = {
  mode: 'spoke',
  hubDestinationArn: DESTINATION,
  logGroups: ['/app/identity/audit'],
  accountPolicy: { enabled: true, excludeLogGroups: ['/noisy/debug'] },
  healthRiskEvents: true,
  stackSet: { organizationalUnitIds: ['ou-ab12-cd34ef56'], regions: ['eu-west-1', 'us-east-1'] },
};
function spoke(nag = false) {
  const app = new App();
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const config = parseConfig(SPOKE);
  const full = { ...config, hubDestinationArn: DESTINATION };
  const stack = new SentinelSpokeStack(app, 'Spoke', { config: full });
  const set = new SentinelSpokeStackSet(app, 'SpokeSet', {
    config: { ...full, stackSet: { organizationalUnitIds: ['ou-ab12-cd34ef56'], regions: ['eu-west-1', 'us-east-1'], callAs: 'SELF' } },
  });
  return { app, spoke: Template.fromStack(stack), set: Template.fromStack(set), setStack: set };
}

describe('hub mode (security account)', () => {
  const { template } = hub({ organizationId: ORG });
  it('the destination lets only the organization subscribe', () => {
    const destination = template.findResources('AWS::Logs::Destination');
    const [props] = Object.values(destination).map((r) => r.Properties);
    expect(props.DestinationName).toBe('sentinel-hub');
    const policy = JSON.parse(
      (props.DestinationPolicy['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''),
    );
    expect(policy.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['logs:PutSubscriptionFilter', 'logs:PutAccountPolicy'],
        Resource: expect.stringMatching(/^arn:TOKEN:logs:TOKEN:TOKEN:destination:sentinel-hub$/),
        Condition: { StringEquals: { 'aws:PrincipalOrgID': [ORG] } },
      },
    ]);
  });
  it('CloudWatch Logs writes to the stream only on behalf of the organization', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'logs.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceOrgID': ORG } },
          },
        ],
      },
      Policies: [{ PolicyDocument: { Statement: [Match.objectLike({ Action: 'kinesis:PutRecord' })] } }],
    });
  });
  it('the stream is on-demand and encrypted with its own rotating KMS key', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('StreamKey'), 'Arn'] } },
      RetentionPeriodHours: 24,
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, Description: Match.stringLikeRegexp('hub stream') });
  });
  it('the detector reads it with partial batch responses, bisect, bounded retries and a failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('HubStream'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('DetectorFunction') },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 2,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailedBatches'), 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Threshold: 300_000,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlertsNotifyTopic') }],
    });
    template.hasOutput('DestinationArn', {});
  });
  it("the sweeper holds absences at most as long as a record can wait: Lambda's 6 hours, or the hub's longer maxRecordAge", () => {
    const lagOf = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function'))
        .map((f) => f.Properties.Environment?.Variables?.MAX_DELIVERY_LAG_MS)
        .filter((v) => v !== undefined);
    expect(lagOf(template)).toEqual(['21600000']);
    expect(lagOf(hub({ organizationId: ORG, hub: { maxRecordAge: '1d' } }).template)).toEqual(['86400000']);
  });
  it('or lists member accounts, each by its root principal and source ARN; provisioned shards as asked', () => {
    const { template: byAccount } = hub({
      memberAccounts: ['111111111111', '222222222222'],
      hub: { streamMode: 'provisioned', shards: 4, batchSize: 500, parallelizationFactor: 5 },
    });
    const [props] = Object.values(byAccount.findResources('AWS::Logs::Destination')).map((r) => r.Properties);
    const text = JSON.stringify(props.DestinationPolicy);
    expect(text).toContain(':iam::111111111111:root');
    expect(text).toContain(':iam::222222222222:root');
    expect(text).not.toContain('PrincipalOrgID');
    byAccount.hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: 4 });
    byAccount.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 500, ParallelizationFactor: 5 });
    const trust = JSON.stringify(byAccount.findResources('AWS::IAM::Role'));
    expect(trust).toContain(':111111111111:*');
  });
  it('is clean under cdk-nag AwsSolutions', () => {
    expect(() => hub({ organizationId: ORG }, true).app.synth()).not.toThrow();
  });
});

describe('spoke mode (member accounts) and its StackSet', () => {
  const { spoke: template, set } = spoke();
  it('the role CloudWatch Logs assumes is bound to this account (confused deputy) and may only send to the hub', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'logs.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          },
        ],
      },
      Policies: [{ PolicyDocument: { Statement: [{ Action: 'logs:PutLogEvents', Effect: 'Allow', Resource: DESTINATION }] } }],
    });
  });
  it('subscribes the listed groups and the rest of the account to the hub destination', () => {
    template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: '/app/identity/audit',
      DestinationArn: DESTINATION,
      Distribution: 'ByLogStream',
      RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SubscriptionRole'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Logs::AccountPolicy', {
      PolicyType: 'SUBSCRIPTION_FILTER_POLICY',
      SelectionCriteria: 'LogGroupName NOT IN ["/app/identity/audit", "/aws/events/sentinel-health-events", "/noisy/debug"]',
    });
    const doc = JSON.stringify(template.findResources('AWS::Logs::AccountPolicy'));
    expect(doc).toContain(DESTINATION);
    expect(doc).toContain('RoleArn');
    // Nothing runs in a spoke.
    template.resourceCountIs('AWS::Lambda::Function', 0);
  });
  it("AWS Health's security notices, the member account's own, are written to a group there and sent on to the hub", () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    expect(rules.map((r) => r.Properties.EventPattern.source)).toEqual([['aws.health']]);
    const [groupId] = Object.keys(
      template.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: '/aws/events/sentinel-health-events' } }),
    );
    if (!groupId) throw new Error('no Health log group');
    const subscription = Object.values(template.findResources('AWS::Logs::SubscriptionFilter')).find(
      (r) => r.Properties.LogGroupName === '/aws/events/sentinel-health-events',
    );
    expect(subscription?.Properties.DestinationArn).toBe(DESTINATION);
    expect(subscription?.DependsOn).toContain(groupId);
    expect(JSON.stringify(Object.values(template.findResources('AWS::Logs::ResourcePolicy'))[0]?.Properties.PolicyDocument)).toContain(
      'events.amazonaws.com',
    );
  });
  it('the StackSet deploys that same template to the OUs, service-managed, to accounts that join later too', () => {
    set.hasResourceProperties('AWS::CloudFormation::StackSet', {
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      CallAs: 'SELF',
      Capabilities: ['CAPABILITY_IAM'],
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: ['ou-ab12-cd34ef56'] }, Regions: ['eu-west-1', 'us-east-1'] }],
    });
    const [props] = Object.values(set.findResources('AWS::CloudFormation::StackSet')).map((r) => r.Properties);
    const body = JSON.parse(props.TemplateBody);
    // No bootstrap parameters or rules: target accounts are not CDK-bootstrapped.
    expect(body.Parameters).toBeUndefined();
    expect(body.Rules).toBeUndefined();
    expect(Object.values(body.Resources).map((r) => (r as { Type: string }).Type)).toEqual(
      expect.arrayContaining(['AWS::IAM::Role', 'AWS::Logs::SubscriptionFilter', 'AWS::Logs::AccountPolicy', 'AWS::Events::Rule']),
    );
  });
  it('is clean under cdk-nag AwsSolutions', () => {
    expect(() => spoke(true).app.synth()).not.toThrow();
  });
});

describe('many-accounts config errors', () => {
  it.each([
    [{ mode: 'hub' }, /organizationId: hub mode needs organizationId or memberAccounts/],
    [{ mode: 'spoke', logGroups: ['/a'] }, /hubDestinationArn: spoke mode needs the hub's destination ARN/],
    [{ mode: 'spoke', hubDestinationArn: DESTINATION }, /logGroups: a spoke sends nothing/],
    [{ organizationId: ORG }, /mode: organizationId, memberAccounts and organizationTrailAccounts apply to mode 'hub' only/],
    [{ mode: 'hub', memberAccounts: ['1234'] }, /memberAccounts\[0\]: expected a 12-digit AWS account id/],
    [{ mode: 'hub', organizationId: ORG, hub: { streamMode: 'provisioned' } }, /hub\.shards: a provisioned stream needs 'shards'/],
    [
      { mode: 'spoke', hubDestinationArn: 'arn:aws:kinesis:eu-west-1:1:stream/x', logGroups: ['/a'] },
      /expected a CloudWatch Logs destination ARN/,
    ],
  ])('%j', (config, message) => {
    expect(() => parseConfig(config)).toThrow(SynthInputError);
    expect(() => parseConfig(config)).toThrow(message);
  });
});
