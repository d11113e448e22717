import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { accountsForEnv } from '../functions/commons/env';
import { loadReviewRoutes } from '../functions/commons/review-routes';
import { loadTeamPagers } from '../functions/commons/team-pagers';
import { parseConfig, routesWithIncidents, SynthInputError } from '../infra/config';
import { PagerDuty } from '../infra/constructs/pager';
import { SentinelStack } from '../infra/sentinel-stack';
import { teamPagerOf } from '../src/alerts/team-pagers';

const LOG_GROUPS = ['/app/identity/audit', '/sentinel-demo/bastion/sshd'];
/** A fresh app with cdk-nag attached before anything synthesizes it (a synthesized app is not validated again). */
function nagged(config: Record<string, unknown>, extra?: (stack: SentinelStack) => void) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new SentinelStack(app, 'Nagged', { config: parseConfig(config) });
  extra?.(stack);
  return app.synth();
}

function synth(extra: Record<string, unknown> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SentinelStack(app, 'Test', {
    config: parseConfig({ logGroups: LOG_GROUPS, subscribers: { respond: { emails: ['oncall@example.com'] } }, ...extra }),
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The EventBridge rules of a template whose pattern is on events from this source. */
function eventRulesOn(template: Template, source: string) {
  return Object.values(template.findResources('AWS::Events::Rule')).filter(
    (r) => JSON.stringify(r.Properties.EventPattern?.source) === JSON.stringify([source]),
  );
}

/** Variables the Lambda runtime sets itself (a function may not set them). */
const RUNTIME_ENV = new Set(['AWS_REGION']);
const requiredIn = (source: string) => [...source.matchAll(/require(?:Number)?Env\('([A-Z0-9_]+)'/g)].map((m) => m[1] ?? '');

/**
 * The environment variables a handler requires at cold start: `requireEnv` / `requireNumberEnv`
 * in its source, and in each helper of functions/commons/env.ts it calls (`alertTermsEnv()`).
 */
function requiredEnv(handler: string): string[] {
  const source = readFileSync(handler, 'utf8');
  const helpers = readFileSync('functions/commons/env.ts', 'utf8').split(/^(?=export function )/m);
  const viaHelpers = helpers.flatMap((body) => {
    const name = /^export function (\w+)\(/.exec(body)?.[1];
    return name && new RegExp(`\\b${name}\\(`).test(source) ? requiredIn(body) : [];
  });
  return [...new Set([...requiredIn(source), ...viaHelpers])].filter((v) => !RUNTIME_ENV.has(v)).sort();
}

describe('SentinelStack', () => {
  const { template } = synth();
  it('every function is deployed with every environment variable its handler requires at cold start', () => {
    // A missing one is a handler that throws on every cold start: every batch fails, retries, and lands in the failure queue.
    const functions = Object.entries(template.findResources('AWS::Lambda::Function'));
    const envOf = (logicalId: RegExp) => {
      const found = functions.find(([id]) => logicalId.test(id));
      if (!found) throw new Error(`no function matches ${logicalId}`);
      return Object.keys(found[1].Properties.Environment?.Variables ?? {});
    };
    const handlers: [string, RegExp][] = [
      ['functions/detector/handler.ts', /^DetectorFunction[0-9A-F]{8}$/],
      ['functions/correlate/handler.ts', /^CorrelationCorrelateFunction[0-9A-F]{8}$/],
      ['functions/sweeper/handler.ts', /^SweeperFunction[0-9A-F]{8}$/],
    ];
    for (const [handler, logicalId] of handlers) {
      const required = requiredEnv(handler);
      expect(required.length, handler).toBeGreaterThan(0);
      // Read through the shared helper (alertTermsEnv), not in the handler's own source.
      if (!handler.includes('correlate')) expect(required, handler).toContain('OUTBREAK_AFTER');
      expect(envOf(logicalId), handler).toEqual(expect.arrayContaining(required));
    }
  });
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
  it("subscription filters are the patterns compiled from the rules, or every event with filterPatterns: 'all'", () => {
    const rules = { rulesDir: 'test/fixtures/filterable-rules', logGroups: ['/var/log/auth.log'] };
    synth(rules).template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: '/var/log/auth.log',
      FilterPattern: '%[Rr][Oo][Oo][Tt]%',
    });
    synth({ ...rules, filterPatterns: 'all' }).template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: '/var/log/auth.log',
      FilterPattern: '',
    });
    expect(() => parseConfig({ filterPatterns: 'some' })).toThrow(/filterPatterns/);
  });
  it('detector Lambda: nodejs22.x, arm64, tracing, env, failure destination', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      ReservedConcurrentExecutions: 20,
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: Match.anyValue(),
          STATE_MACHINE_ARN: Match.anyValue(),
          DIGEST_INTERVAL_MS: '3600000',
          PAGE_FOLD_MS: '14400000',
          OUTBREAK_AFTER: '3',
          NEW_TERM_LEARNING_MS: String(7 * 86_400_000),
          NEW_TERM_LEARNING_SCOPE: 'owner',
          TIME_ZONE: 'UTC',
        }),
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
  it('the dashboard shows the state table’s write and read units beside the log events, and its throttles', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    // The body is a join of text and references: the text as written, each reference as <Ref id>.
    const parts: unknown[] = dashboard?.Properties.DashboardBody['Fn::Join']?.[1] ?? [];
    const body = parts.map((p) => (typeof p === 'string' ? p : `<Ref ${JSON.stringify(p)}>`)).join('');
    const [tableId] = Object.keys(template.findResources('AWS::DynamoDB::Table'));
    const table = `<Ref ${JSON.stringify({ Ref: tableId })}>`;
    for (const metric of ['ConsumedWriteCapacityUnits', 'ConsumedReadCapacityUnits', 'WriteThrottleEvents', 'ReadThrottleEvents']) {
      expect(body).toContain(`["AWS/DynamoDB","${metric}","TableName","${table}",{"stat":"Sum"}]`);
    }
    expect(body).toContain('["Sentinel","EventsIn","service","sentinel-detector"');
  });

  it('names the failure queue the detector parks batches in, and the detector, for detect redrive', () => {
    // The queue is the detector's on-failure destination; the alarm watches the same queue.
    const [queueId] = Object.keys(template.findResources('AWS::SQS::Queue')).filter((id) => id.includes('FailedBatches'));
    expect(queueId).toBeDefined();
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    template.hasOutput('FailedBatchesQueueUrl', { Value: { Ref: queueId } });
    const [fnId] = Object.entries(template.findResources('AWS::Lambda::Function'))
      .filter(([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'sentinel-detector')
      .map(([id]) => id);
    template.hasOutput('DetectorFunctionName', { Value: { Ref: fnId } });
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
    expect(() => nagged({ logGroups: LOG_GROUPS })).not.toThrow();
  });
  it('a bad rule fails synth with the validator message', () => {
    expect(() => synth({ rulesDir: 'test/fixtures/bad-rules' })).toThrow(/rule validation failed/);
  });
  it('snapshot (asset hashes stripped)', () => {
    const json = JSON.stringify(template.toJSON()).replace(/[a-f0-9]{64}(\.zip)?/g, 'HASH');
    expect(JSON.parse(json)).toMatchSnapshot();
  });
});

const MAXIMAL = {
  logGroups: ['/app/a', '/app/b'],
  accountPolicy: { enabled: true, excludeLogGroups: ['/noisy/debug'] },
  subscribers: {
    review: { emails: ['a@example.com'] },
    notify: { httpsEndpoints: ['https://hooks.example.com/x'] },
    respond: { sqsQueueArns: ['arn:aws:sqs:us-east-1:123456789012:pager'] },
  },
  routes: [
    { name: 'team A', accounts: ['111111111111', '222222222222'], tiers: ['review', 'notify', 'respond'], emails: ['team-a@example.com'] },
    { accounts: ['333333333333'], tiers: ['respond'], sqsQueueArns: ['arn:aws:sqs:us-east-1:123456789012:team-c'] },
    { rules: ['aws.*', 'corr.aws_account_compromise'], tiers: ['review', 'notify', 'respond'], emails: ['cloud-team@example.com'] },
    { accounts: ['444444444444'], rules: ['web.*'], tiers: ['respond'], emails: ['shop-web@example.com'] },
    { name: 'payments', accounts: ['555555555555'], pagerDutyRoutingKeySecret: 'payments/pagerduty' },
  ],
  chat: { tiers: ['respond'] },
  responseFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:respond',
  logRetentionDays: 90,
  detectorConcurrency: 50,
  detectorMemoryMb: 2048,
  accountConcurrencyLimit: 2000,
  digestInterval: '4h',
  pageFold: false,
  logExecutionData: true,
  unparsedAlarm: { share: 0.3, for: '2h' },
  runbookBaseUrl: 'https://github.com/acme/sentinel/blob/main/',
  pagerDuty: { routingKeySecret: 'sentinel/pagerduty', tiers: ['notify', 'respond'] },
  guardDutyFindings: true,
  securityHubFindings: true,
  securityHubExport: true,
  healthRiskEvents: true,
  pagerDutyWebhook: { signingSecret: 'sentinel/pagerduty-webhook' },
};

describe('every documented option', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SentinelStack(app, 'Max', { config: parseConfig(MAXIMAL) });
  const template = Template.fromStack(stack);

  it('synthesizes clean under cdk-nag AwsSolutions with every option set', () => {
    expect(() => nagged(MAXIMAL)).not.toThrow();
  });
  it('pagerDuty: a forwarder on its tiers’ topics only, reading only its secret, its undelivered pages parked and alarmed', () => {
    const pagerOf = (t: Template) => {
      const found = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => /^PagerDutyFunction[0-9A-F]{8}$/.test(id));
      if (!found) throw new Error('no PagerDuty function');
      return { id: found[0], env: found[1].Properties.Environment?.Variables ?? {} };
    };
    const pager = pagerOf(template);
    expect(Object.keys(pager.env)).toEqual(expect.arrayContaining(requiredEnv('functions/pager/handler.ts')));
    expect(JSON.stringify(pager.env.PAGERDUTY_ROUTING_KEY_SECRET)).toContain('secret:sentinel/pagerduty');
    // The topics the everyone-forwarder (not a team's) is subscribed to.
    const subscribed = (t: Template) =>
      Object.values(t.findResources('AWS::SNS::Subscription', { Properties: { Protocol: 'lambda' } }))
        .filter((r) => /"PagerDutyFunction[0-9A-F]{8}"/.test(JSON.stringify(r.Properties.Endpoint)))
        .map((r) => JSON.stringify(r.Properties.TopicArn));
    expect(subscribed(template).sort()).toEqual([
      expect.stringContaining('AlertsNotifyTopic'),
      expect.stringContaining('AlertsRespondTopic'),
    ]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([':secret:sentinel/pagerduty-??????'])]) }),
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('PagerDuty did not take'),
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
    // One per forwarder (everyone's and the payments team's), beside the stack's other health alarms.
    expect(
      Object.keys(
        template.findResources('AWS::CloudWatch::Alarm', {
          Properties: { AlarmDescription: Match.stringLikeRegexp('PagerDuty did not take') },
        }),
      ),
    ).toEqual([expect.stringMatching(/^MonitoringPagerDutyUndelivered/), expect.stringMatching(/^MonitoringPagerDutyRoute4Undelivered/)]);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: pager.id },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });

    // By ARN, respond only (the default): one subscription, and still clean under cdk-nag.
    const byArn = {
      logGroups: LOG_GROUPS,
      pagerDuty: { routingKeySecret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pd-key-AbCdEf' },
    };
    expect(() => nagged(byArn)).not.toThrow();
    const respondOnly = Template.fromStack(
      new SentinelStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'PagerByArn', { config: parseConfig(byArn) }),
    );
    expect(subscribed(respondOnly).sort()).toEqual([
      expect.stringContaining('AlertsNotifyTopic'),
      expect.stringContaining('AlertsRespondTopic'),
    ]);
    // From the notify topic it takes only the team's acknowledgement notices (to acknowledge their PagerDuty alerts).
    const notifySubscription = Object.values(
      respondOnly.findResources('AWS::SNS::Subscription', { Properties: { Protocol: 'lambda' } }),
    ).find(
      (r) =>
        /"PagerDutyFunction[0-9A-F]{8}"/.test(JSON.stringify(r.Properties.Endpoint)) &&
        JSON.stringify(r.Properties.TopicArn).includes('AlertsNotifyTopic'),
    );
    expect(notifySubscription?.Properties.FilterPolicy).toEqual({ ruleId: ['sentinel.acknowledgement'] });
    expect(pagerOf(respondOnly).env.PAGERDUTY_ROUTING_KEY_SECRET).toBe(
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:pd-key-AbCdEf',
    );
    // A team's own service: its route's paging tiers, filtered to its accounts as its other subscriptions are.
    const teamPager = Object.values(template.findResources('AWS::SNS::Subscription', { Properties: { Protocol: 'lambda' } })).filter((r) =>
      JSON.stringify(r.Properties.Endpoint).includes('PagerDutyRoute4'),
    );
    expect(teamPager.map((r) => [JSON.stringify(r.Properties.TopicArn).match(/Alerts(\w+)Topic/)?.[1], r.Properties.FilterPolicy])).toEqual(
      [
        ['Notify', { account: ['555555555555'] }],
        ['Respond', { account: ['555555555555'] }],
      ],
    );
    expect(() => parseConfig({ routes: [{ accounts: ['555555555555'], tiers: ['review'], pagerDutyRoutingKeySecret: 'k' }] })).toThrow(
      /routes\[0\]\.pagerDutyRoutingKeySecret: a route pages only for its notify or respond tier/,
    );
    // Without it, no forwarder; a review tier or another endpoint fails synth.
    expect(Object.keys(synth().template.findResources('AWS::Lambda::Function')).some((id) => id.startsWith('PagerDuty'))).toBe(false);
    expect(() => parseConfig({ pagerDuty: { routingKeySecret: 'k', tiers: ['review'] } })).toThrow(/pagerDuty\.tiers/);
    expect(() => parseConfig({ pagerDuty: { routingKeySecret: 'k', eventsUrl: 'https://example.com/x' } })).toThrow(/eventsUrl/);
  });
  it('pagerDutyWebhook: a function URL for PagerDuty, its concurrency bounded, reading only its signing secret and the open alerts', () => {
    const [id, fn] =
      Object.entries(template.findResources('AWS::Lambda::Function')).find(([key]) => /^PagerDutyWebhookFunction[0-9A-F]{8}$/.test(key)) ??
      [];
    if (!id || !fn) throw new Error('no webhook function');
    expect(Object.keys(fn.Properties.Environment.Variables)).toEqual(
      expect.arrayContaining(requiredEnv('functions/pager-webhook/handler.ts')),
    );
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(2);
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [id, 'Arn'] } });
    template.hasOutput('PagerDutyWebhookUrl', {});
    const policy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([key]) =>
      key.startsWith('PagerDutyWebhookFunction'),
    )?.[1];
    const statements: { Action: string | string[] }[] = policy?.Properties.PolicyDocument.Statement ?? [];
    expect(statements.flatMap((st) => st.Action).sort()).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    expect(JSON.stringify(policy)).toContain(':secret:sentinel/pagerduty-webhook-??????');
    // Off by default.
    expect(Object.keys(synth().template.findResources('AWS::Lambda::Url'))).toEqual([]);
  });
  it('guardDutyFindings: an EventBridge rule writes every finding to a log group the detector is subscribed to, allowed for that rule only', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.guardduty'], 'detail-type': ['GuardDuty Finding'] },
      Targets: [
        Match.objectLike({
          Arn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([':log-group:/aws/events/sentinel-guardduty-findings'])]) }),
        }),
      ],
    });
    const [groupId] = Object.keys(
      template.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: '/aws/events/sentinel-guardduty-findings' } }),
    );
    if (!groupId) throw new Error('no findings log group');
    // Delivery allowed to EventBridge, held to the stack's own rule.
    const policy = JSON.stringify(Object.values(template.findResources('AWS::Logs::ResourcePolicy'))[0]?.Properties.PolicyDocument);
    expect(policy).toContain('events.amazonaws.com');
    expect(policy).toContain('aws:SourceArn');
    expect(policy).toContain(':rule/Max-guardduty-findings');
    // Subscribed like a listed group, once the group exists; and left out of the account-level policy (no double delivery).
    const subscription = Object.values(template.findResources('AWS::Logs::SubscriptionFilter')).find(
      (r) => r.Properties.LogGroupName === '/aws/events/sentinel-guardduty-findings',
    );
    expect(subscription?.DependsOn).toContain(groupId);
    expect(JSON.stringify(template.findResources('AWS::Logs::AccountPolicy'))).toContain('/aws/events/sentinel-guardduty-findings');
    // Off by default; a spoke is told where findings belong.
    expect(eventRulesOn(template, 'aws.guardduty')).toHaveLength(1);
    expect(eventRulesOn(synth().template, 'aws.guardduty')).toEqual([]);
    expect(() =>
      parseConfig({
        mode: 'spoke',
        hubDestinationArn: 'arn:aws:logs:us-east-1:999999999999:destination:sentinel-hub',
        logGroups: ['/a'],
        guardDutyFindings: true,
      }),
    ).toThrow(/guardDutyFindings: a spoke does not read GuardDuty's findings/);
  });
  it("securityHubFindings: only findings that can still fire reach their own log group, GuardDuty's left out while guardDutyFindings reads them", () => {
    const [rule] = eventRulesOn(template, 'aws.securityhub');
    expect(rule?.Properties.EventPattern).toEqual({
      source: ['aws.securityhub'],
      'detail-type': ['Security Hub Findings - Imported', 'Findings Imported V2'],
      detail: {
        findings: {
          $or: [
            {
              RecordState: ['ACTIVE'],
              Workflow: { Status: ['NEW', 'NOTIFIED'] },
              Severity: { Label: ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] },
              // Sentinel's own alerts, when securityHubExport sends them there, never come back.
              GeneratorId: [{ 'anything-but': { prefix: 'sentinel/' } }],
              ProductName: [{ 'anything-but': 'GuardDuty' }],
            },
            {
              status: ['New', 'In Progress'],
              severity: ['Low', 'Medium', 'High', 'Critical', 'Fatal'],
              metadata: { product: { name: [{ 'anything-but': 'GuardDuty' }] } },
            },
          ],
        },
      },
    });
    expect(JSON.stringify(rule?.Properties.Targets)).toContain(':log-group:/aws/events/sentinel-securityhub-findings');
    // One delivery policy for both services (an account has 10 per Region), each statement held to its own rule; subscribed once its group exists.
    const policies = Object.values(template.findResources('AWS::Logs::ResourcePolicy')).map((p) =>
      JSON.stringify(p.Properties.PolicyDocument),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0]).toContain(':rule/Max-securityhub-findings');
    expect(policies[0]).toContain(':rule/Max-guardduty-findings');
    expect(policies[0]?.match(/aws:SourceArn/g)).toHaveLength(3);
    const [groupId] = Object.keys(
      template.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: '/aws/events/sentinel-securityhub-findings' } }),
    );
    if (!groupId) throw new Error('no findings log group');
    const subscription = Object.values(template.findResources('AWS::Logs::SubscriptionFilter')).find(
      (r) => r.Properties.LogGroupName === '/aws/events/sentinel-securityhub-findings',
    );
    expect(subscription?.DependsOn).toContain(groupId);
    // Alone, GuardDuty's findings come through Security Hub: not left out.
    const alone = eventRulesOn(synth({ securityHubFindings: true }).template, 'aws.securityhub');
    expect(alone).toHaveLength(1);
    expect(JSON.stringify(alone[0]?.Properties.EventPattern)).not.toContain('GuardDuty');
    expect(eventRulesOn(synth().template, 'aws.securityhub')).toEqual([]);
    expect(() =>
      parseConfig({
        mode: 'spoke',
        hubDestinationArn: 'arn:aws:logs:us-east-1:999999999999:destination:sentinel-hub',
        logGroups: ['/a'],
        securityHubFindings: true,
      }),
    ).toThrow(/securityHubFindings: a spoke does not read Security Hub's findings/);
  });
  it('securityHubExport: the notify and respond topics feed a queue a function reads 100 at a time, allowed to import into the default product only; what it cannot import is parked and alarmed', () => {
    const [id, fn] =
      Object.entries(template.findResources('AWS::Lambda::Function')).find(([key]) => /^SecurityHubExportFunction[0-9A-F]{8}$/.test(key)) ??
      [];
    if (!id || !fn) throw new Error('no Security Hub exporter');
    const productArn = JSON.stringify(fn.Properties.Environment.Variables.PRODUCT_ARN);
    expect(productArn).toMatch(/:securityhub:.*:product\/.*\/default/);
    const [queueId, queue] =
      Object.entries(template.findResources('AWS::SQS::Queue')).find(([key]) => /^SecurityHubExportAlerts[0-9A-F]{8}$/.test(key)) ?? [];
    if (!queueId || !queue) throw new Error('no export queue');
    // SNS can deliver only to a queue it may encrypt for: SQS-managed keys, not the AWS-managed KMS key.
    expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
    const topics = Object.values(template.findResources('AWS::SNS::Subscription', { Properties: { Protocol: 'sqs' } }))
      .filter((r) => JSON.stringify(r.Properties.Endpoint).includes(queueId))
      .map((r) => [JSON.stringify(r.Properties.TopicArn).match(/Alerts(\w+)Topic/)?.[1], r.Properties.RawMessageDelivery]);
    expect(topics.sort()).toEqual([
      ['Notify', true],
      ['Respond', true],
    ]);
    // Security Hub takes 100 findings a call and 10 calls a second: batches of 100, two at a time at most.
    const [mapping] = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter((m) =>
      JSON.stringify(m.Properties.EventSourceArn).includes(queueId),
    );
    expect(mapping?.Properties).toMatchObject({
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st: { Action: unknown }) => JSON.stringify(st.Action).includes('securityhub:'));
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toBe('securityhub:BatchImportFindings');
    expect(JSON.stringify(statements[0].Resource)).toBe(productArn);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => String(a.Properties.AlarmDescription));
    expect(alarms.some((d) => d.includes('UnexportedFindings'))).toBe(true);
    expect(Object.keys(synth().template.findResources('AWS::Lambda::Function')).some((k) => k.startsWith('SecurityHubExport'))).toBe(false);
    expect(() =>
      parseConfig({
        mode: 'spoke',
        hubDestinationArn: 'arn:aws:logs:us-east-1:999999999999:destination:sentinel-hub',
        logGroups: ['/a'],
        securityHubExport: true,
      }),
    ).toThrow(/securityHubExport: a spoke publishes no alerts/);
  });
  it("healthRiskEvents: AWS Health's security notices (not its maintenance events) reach their own log group, allowed in the one delivery policy", () => {
    const [rule] = eventRulesOn(template, 'aws.health');
    expect(rule?.Properties.EventPattern).toEqual({
      source: ['aws.health'],
      'detail-type': ['AWS Health Event', 'AWS Health Abuse Event'],
      detail: { eventTypeCode: [{ prefix: 'AWS_RISK_' }, { prefix: 'AWS_ABUSE_' }] },
    });
    expect(JSON.stringify(rule?.Properties.Targets)).toContain(':log-group:/aws/events/sentinel-health-events');
    const policies = Object.values(template.findResources('AWS::Logs::ResourcePolicy')).map((p) =>
      JSON.stringify(p.Properties.PolicyDocument),
    );
    expect(policies).toHaveLength(1);
    expect(policies[0]).toContain(':rule/Max-health-events');
    expect(
      Object.values(template.findResources('AWS::Logs::SubscriptionFilter')).some(
        (r) => r.Properties.LogGroupName === '/aws/events/sentinel-health-events',
      ),
    ).toBe(true);
    expect(eventRulesOn(synth().template, 'aws.health')).toEqual([]);
    // A spoke sends its own account's on (test/cdk-accounts.test.ts): alone, they are something to send.
    expect(() =>
      parseConfig({
        mode: 'spoke',
        hubDestinationArn: 'arn:aws:logs:us-east-1:999999999999:destination:sentinel-hub',
        healthRiskEvents: true,
      }),
    ).not.toThrow();
  });
  it('pageFold: false reaches the detector as 0 (every respond-tier alert pages); a duration as milliseconds', () => {
    const detectorEnv = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.PAGE_FOLD_MS !== undefined)
        ?.Properties.Environment.Variables.PAGE_FOLD_MS;
    expect(detectorEnv(template)).toBe('0');
    const hourly = new SentinelStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Hourly', {
      config: parseConfig({ logGroups: LOG_GROUPS, pageFold: '1h' }),
    });
    expect(detectorEnv(Template.fromStack(hourly))).toBe('3600000');
    expect(() => parseConfig({ logGroups: LOG_GROUPS, pageFold: true })).toThrow(/pageFold/);
  });
  it('outbreakAfter reaches the detector (0 tells every alert); anything but a whole number fails synth', () => {
    const detectorEnv = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.OUTBREAK_AFTER !== undefined)
        ?.Properties.Environment.Variables.OUTBREAK_AFTER;
    const every = new SentinelStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Every', {
      config: parseConfig({ logGroups: LOG_GROUPS, outbreakAfter: 0 }),
    });
    expect(detectorEnv(Template.fromStack(every))).toBe('0');
    expect(() => parseConfig({ logGroups: LOG_GROUPS, outbreakAfter: -1 })).toThrow(/outbreakAfter/);
    expect(() => parseConfig({ logGroups: LOG_GROUPS, outbreakAfter: 2.5 })).toThrow(/outbreakAfter/);
  });
  it('newTermLearning reaches the detector (false: new-term rules alert from deploy day); a bad duration fails synth', () => {
    const detectorEnv = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function')).find(
        (f) => f.Properties.Environment?.Variables?.NEW_TERM_LEARNING_MS !== undefined,
      )?.Properties.Environment.Variables.NEW_TERM_LEARNING_MS;
    const never = new SentinelStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'NoLearning', {
      config: parseConfig({ logGroups: LOG_GROUPS, newTermLearning: false }),
    });
    expect(detectorEnv(Template.fromStack(never))).toBe('0');
    const fortnight = new SentinelStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Fortnight', {
      config: parseConfig({ logGroups: LOG_GROUPS, newTermLearning: '14d' }),
    });
    expect(detectorEnv(Template.fromStack(fortnight))).toBe(String(14 * 86_400_000));
    expect(() => parseConfig({ logGroups: LOG_GROUPS, newTermLearning: '7 days' })).toThrow(/newTermLearning/);
    expect(() => parseConfig({ logGroups: LOG_GROUPS, newTermLearning: true })).toThrow(/newTermLearning/);
    const perAccount = new SentinelStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'PerAccount', {
      config: parseConfig({ logGroups: LOG_GROUPS, newTermLearningScope: 'account' }),
    });
    const scopeOf = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.NEW_TERM_LEARNING_SCOPE)
        ?.Properties.Environment.Variables.NEW_TERM_LEARNING_SCOPE;
    expect(scopeOf(Template.fromStack(perAccount))).toBe('account');
    expect(() => parseConfig({ logGroups: LOG_GROUPS, newTermLearningScope: 'org' })).toThrow(/newTermLearningScope/);
  });
  it('routes: each team’s subscriptions take its tiers’ alerts about its accounts and/or from its rules only (filter policies on `account` and `ruleId`)', () => {
    const topicOf = (tier: string) => ({ Ref: Match.stringLikeRegexp(`^Alerts${tier}Topic`) });
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription')).map((s) => s.Properties);
    const of = (endpoint: string) =>
      subscriptions
        .filter((s) => s.Endpoint === endpoint)
        .map((s) => ({ topic: String(s.TopicArn.Ref).replace(/Topic.*/, ''), filter: s.FilterPolicy }))
        .sort((a, b) => a.topic.localeCompare(b.topic));
    // A route taking the review tier gets its own digest (the `route` attribute names it: an id
    // made from what the route selects, the same in the sweeper's bundle — checked below).
    const reviewRoutes = loadReviewRoutes(dirname(stack.sweeper.reviewRoutesFile));
    const [teamA, cloud] = reviewRoutes;
    expect(of('team-a@example.com')).toEqual([
      { topic: 'AlertsNotify', filter: { account: ['111111111111', '222222222222'] } },
      { topic: 'AlertsRespond', filter: { account: ['111111111111', '222222222222'] } },
      { topic: 'AlertsReview', filter: { route: [teamA?.id] } },
    ]);
    expect(of('arn:aws:sqs:us-east-1:123456789012:team-c')).toEqual([{ topic: 'AlertsRespond', filter: { account: ['333333333333'] } }]);
    // A team owning rules: exact ids and id prefixes (SNS prefix matching on the `ruleId` attribute), every account.
    const cloudTeam = { ruleId: ['corr.aws_account_compromise', 'corr.cloud_credential_theft', { prefix: 'aws.' }] };
    expect(of('cloud-team@example.com')).toEqual([
      { topic: 'AlertsNotify', filter: cloudTeam },
      { topic: 'AlertsRespond', filter: cloudTeam },
      { topic: 'AlertsReview', filter: { route: [cloud?.id] } },
    ]);
    // The sweeper is bundled with what each review route selects, under the ids its subscriptions filter on.
    expect(reviewRoutes).toEqual([
      { id: expect.stringMatching(/^r-[0-9a-f]{12}$/), label: 'team A', accounts: ['111111111111', '222222222222'] },
      {
        id: expect.stringMatching(/^r-[0-9a-f]{12}$/),
        label: 'aws.*, corr.aws_account_compromise, corr.cloud_credential_theft',
        rules: ['aws.*', 'corr.aws_account_compromise', 'corr.cloud_credential_theft'],
      },
    ]);
    expect(teamA?.id).not.toBe(cloud?.id);
    // Both: the web team of one account (SNS ANDs the keys), with the incidents its rules feed
    // (corr.dos_attack is built on web.request_flood and web.repeated_5xx among others,
    // corr.web_intrusion on web.content_discovery and web.sensitive_file_served, corr.cloud_credential_theft
    // on web.cloud_metadata_request — and an AWS rule, so the cloud team above gets it too).
    expect(of('shop-web@example.com')).toEqual([
      {
        topic: 'AlertsRespond',
        filter: {
          account: ['444444444444'],
          ruleId: ['corr.cloud_credential_theft', 'corr.dos_attack', 'corr.web_intrusion', { prefix: 'web.' }],
        },
      },
    ]);
    // The security team's subscriptions see every account: on the review topic, the digests for everyone, not each route's part of them.
    expect(of('a@example.com')).toEqual([{ topic: 'AlertsReview', filter: { route: ['all'] } }]);
    // Without a review route, the review subscribers' subscriptions are unfiltered (as before routes could take the tier).
    const plain = Template.fromStack(
      new SentinelStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'NoReviewRoute', {
        config: parseConfig({ ...MAXIMAL, routes: MAXIMAL.routes.filter((r) => !r.tiers?.includes('review')) }),
      }),
    );
    const reviewFilters = Object.values(plain.findResources('AWS::SNS::Subscription'))
      .map((s) => s.Properties)
      .filter((s) => String(s.TopicArn.Ref).startsWith('AlertsReviewTopic'))
      .map((s) => s.FilterPolicy);
    expect(reviewFilters).toEqual([undefined]);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs', RawMessageDelivery: true, TopicArn: topicOf('Respond') });
    template.hasOutput('RespondTopicArn', { Value: topicOf('Respond') });
  });
  /** Each function that sets the environment variable, by logical id (its hash cut), with the value. */
  const variableByFunction = (t: Template, variable: string) =>
    Object.entries(t.findResources('AWS::Lambda::Function'))
      .filter(([, f]) => f.Properties.Environment?.Variables?.[variable] !== undefined)
      .map(([id, f]) => [id.replace(/[0-9A-F]{8}$/, ''), f.Properties.Environment.Variables[variable]])
      .sort();
  /** The functions that write messages: the detector, the correlate task and the sweeper. */
  const messageWriters = (value: string) => [
    ['CorrelationCorrelateFunction', value],
    ['DetectorFunction', value],
    ['SweeperFunction', value],
  ];
  it('chat: the functions that build messages are told its tiers (only those messages carry a chat rendering); without chat, none', () => {
    expect(variableByFunction(template, 'CHAT_TIERS')).toEqual(messageWriters('respond'));
    expect(variableByFunction(synth().template, 'CHAT_TIERS')).toEqual(messageWriters(''));
  });
  it('timeZone: every function that writes messages is told the team’s zone (local times beside UTC), UTC unless set', () => {
    expect(variableByFunction(synth().template, 'TIME_ZONE')).toEqual(messageWriters('UTC'));
    expect(variableByFunction(synth({ timeZone: 'America/Los_Angeles' }).template, 'TIME_ZONE')).toEqual(
      messageWriters('America/Los_Angeles'),
    );
  });
  it('organizationTrailAccounts: the detector is told whose logs may be about other accounts (the stack’s own besides, at cold start); hub only', () => {
    expect(variableByFunction(synth().template, 'ORG_TRAIL_ACCOUNTS')).toEqual([['DetectorFunction', '']]);
    const hub = { mode: 'hub', organizationId: 'o-a1b2c3d4e5', organizationTrailAccounts: ['222233334444'] };
    expect(variableByFunction(synth(hub).template, 'ORG_TRAIL_ACCOUNTS')).toEqual([['DetectorFunction', '222233334444']]);
    expect(() => parseConfig({ organizationTrailAccounts: ['222233334444'] })).toThrow(/apply to mode 'hub' only/);
    const saved = { listed: process.env.ORG_TRAIL_ACCOUNTS, own: process.env.SENTINEL_ACCOUNT_ID };
    try {
      process.env.SENTINEL_ACCOUNT_ID = '999999999999';
      process.env.ORG_TRAIL_ACCOUNTS = '222233334444';
      expect([...accountsForEnv()]).toEqual(['999999999999', '222233334444']);
      process.env.ORG_TRAIL_ACCOUNTS = '';
      expect([...accountsForEnv()]).toEqual(['999999999999']);
      process.env.ORG_TRAIL_ACCOUNTS = '2222-3333-4444';
      expect(() => accountsForEnv()).toThrow(/ORG_TRAIL_ACCOUNTS must list 12-digit account ids, got '2222-3333-4444'/);
    } finally {
      for (const [name, value] of [
        ['ORG_TRAIL_ACCOUNTS', saved.listed],
        ['SENTINEL_ACCOUNT_ID', saved.own],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
  it('runbookBaseUrl: every function that writes messages is told where runbooks link to; unset, none is', () => {
    expect(variableByFunction(synth().template, 'RUNBOOK_BASE_URL')).toEqual([]);
    expect(
      variableByFunction(synth({ runbookBaseUrl: 'https://github.com/acme/sentinel/blob/main' }).template, 'RUNBOOK_BASE_URL'),
    ).toEqual(messageWriters('https://github.com/acme/sentinel/blob/main/'));
  });
  it('chat: a topic of its own, published to from its tiers only, encrypted like the others, its ARN an output', () => {
    template.hasOutput('ChatTopicArn', { Value: { Ref: Match.stringLikeRegexp('^AlertsChatTopic') } });
    template.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'Sentinel chat', KmsMasterKeyId: Match.anyValue() });
    const definition = JSON.stringify(
      Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0]?.Properties.DefinitionString,
    );
    expect(definition).toContain('PublishMessageRespondToChat');
    expect(definition).toContain('PublishIncidentRespondToChat');
    expect(definition).not.toContain('NotifyToChat');
  });
  it('the cdk-nag check can fail: an unacknowledged finding throws', () => {
    expect(() => nagged({}, (s) => new Topic(s, 'PlainTopic'))).toThrow(/AwsSolutions-SNS/);
  });

  it('each role gets exactly the DynamoDB actions its code calls, on the table (the sweeper also on its index)', () => {
    const actionsOf = (roleMatch: RegExp) => {
      const out = new Set<string>();
      for (const [, policy] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
        const roles: { Ref: string }[] = policy.Properties.Roles;
        if (!roles.some((r) => roleMatch.test(r.Ref))) continue;
        for (const st of policy.Properties.PolicyDocument.Statement)
          for (const a of [st.Action].flat()) if (String(a).startsWith('dynamodb:')) out.add(a);
      }
      return [...out].sort();
    };
    expect(actionsOf(/^DetectorFunction/)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(actionsOf(/^CorrelationCorrelateFunction/)).toEqual(['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(actionsOf(/^CorrelationStateMachineRole/)).toEqual(['dynamodb:UpdateItem']);
    expect(actionsOf(/^SweeperFunction/)).toEqual(['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
  });

  it('the account policy excludes exact names: the stack’s own groups, the subscribed ones and the configured ones', () => {
    const policies = template.findResources('AWS::Logs::AccountPolicy');
    const criteria = JSON.stringify(Object.values(policies)[0]?.Properties.SelectionCriteria);
    for (const name of ['/app/a', '/app/b', '/noisy/debug']) expect(criteria).toContain(`\\"${name}\\"`);
    for (const own of ['DetectorFunctionLogs', 'CorrelationCorrelateFunctionLogs', 'SweeperFunctionLogs', 'CorrelationLogs'])
      expect(criteria).toContain(`{"Ref":"${own}`);
    expect(criteria).toContain('LogGroupName NOT IN [');
  });

  it('the alert key lets only this account’s CloudWatch alarms use it', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key'));
    const statements = keys.flatMap((k) => k.Properties.KeyPolicy.Statement);
    const cw = statements.find((s: { Principal?: { Service?: string } }) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cw?.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  it('execution data, when asked for, is logged in full into a KMS-encrypted log group', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: 90 });
  });

  it('alarms: async delivery failures, dropped events, the sweeper, and the unparsed share per watched group', () => {
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    for (const name of [
      'DetectorDestinationDeliveryFailures',
      'DetectorAsyncEventsDropped',
      'SweeperErrors',
      'UnparsedShareAll',
      'UnparsedShare0',
      'UnparsedShare1',
    ]) {
      expect(
        alarms.some((a) => a.includes(name)),
        name,
      ).toBe(true);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 0.3, EvaluationPeriods: 24, DatapointsToAlarm: 24 });
  });
});

describe('configuration errors a user meets', () => {
  it.each([
    [{ logGroups: ['/app/"quoted"'] }, /^invalid sentinel config[\s\S]*logGroups\[0\]: expected a log group name/],
    [
      { accountPolicy: { enabled: true, excludeLogGroupPrefixes: ['/aws/'] } },
      /accountPolicy\.excludeLogGroupPrefixes: excludeLogGroupPrefixes was removed: the policy selection criteria match exact log-group names/,
    ],
    [{ detectorConcurrency: 950 }, /detectorConcurrency: 950 cannot be reserved: the account limit 1000 leaves 899/],
    [{ subscribers: { notify: { emails: ['not-an-email'] } } }, /subscribers\.notify\.emails\[0\]: /],
    [
      { subscribers: { respond: { emails: ['a@example.com'] } }, routes: [{ accounts: ['111111111111'], emails: ['a@example.com'] }] },
      /routes\[0\]\.emails\[0\]: a@example\.com already gets the respond tier \(subscribers\.respond\.emails\.0\)/,
    ],
    [{ routes: [{ accounts: ['111111111111'] }] }, /routes\[0\]: a route tells no one/],
    [{ routes: [{ accounts: ['111111111111'], tiers: ['pager'], emails: ['a@example.com'] }] }, /routes\[0\]\.tiers\[0\]: /],
    [
      { routes: [{ name: 'payments<script>', accounts: ['111111111111'], emails: ['a@example.com'] }] },
      /routes\[0\]\.name: expected a short name/,
    ],
    [{ routes: [{ accounts: ['1111'], emails: ['a@example.com'] }] }, /routes\[0\]\.accounts\[0\]: expected a 12-digit AWS account id/],
    [{ routes: [{ emails: ['a@example.com'] }] }, /routes\[0\]: a route selects everything: give it accounts, rules or both/],
    [
      { routes: [{ rules: ['AWS.*'], emails: ['a@example.com'] }] },
      /routes\[0\]\.rules\[0\]: expected a rule id \(auth\.brute_force_user\) or an id prefix/,
    ],
    [
      {
        routes: [
          {
            accounts: Array.from({ length: 16 }, (_, i) => String(100000000000 + i)),
            rules: Array.from({ length: 10 }, (_, i) => `web.rule_${i}`),
            emails: ['a@example.com'],
          },
        ],
      },
      /routes\[0\]: 16 accounts × 10 rules make 160 filter-policy combinations \(SNS allows 150\)/,
    ],
    [
      {
        routes: Array.from({ length: 201 }, (_, i) => ({ accounts: ['111111111111'], tiers: ['respond'], emails: [`t${i}@example.com`] })),
      },
      /routes: the respond topic would have 201 filtered subscriptions \(SNS allows 200/,
    ],
    [
      {
        // Once a route takes the review tier, the review subscribers' subscriptions are filtered too.
        subscribers: { review: { emails: ['sec@example.com'] } },
        routes: Array.from({ length: 200 }, (_, i) => ({ accounts: ['111111111111'], tiers: ['review'], emails: [`t${i}@example.com`] })),
      },
      /routes: the review topic would have 201 filtered subscriptions \(SNS allows 200/,
    ],
  ])('%j is rejected with path: message', (config, message) => {
    expect(() => parseConfig(config)).toThrow(message);
    expect(() => parseConfig(config)).toThrow(SynthInputError);
  });
  it('a route naming a rule the pack lacks fails synth with its path (a typo would route nothing, silently)', () => {
    const synth = (rules: string[]) => () =>
      new SentinelStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Routes', {
        config: parseConfig({ logGroups: LOG_GROUPS, routes: [{ rules, emails: ['a@example.com'] }] }),
      });
    expect(synth(['auth.brute_force_user', 'auth.brute_force_usr'])).toThrow(
      /routes\[0\]\.rules\[1\]: no rule has the id auth\.brute_force_usr/,
    );
    expect(synth(['awz.*'])).toThrow(/routes\[0\]\.rules\[0\]: no rule id starts with awz\./);
    expect(synth(['awz.*'])).toThrow(SynthInputError);
    expect(synth(['auth.brute_force_user', 'corr.*'])).not.toThrow();
  });
  it('a route takes the incidents its rules feed: members by id or tag, prefixes, nothing twice, accounts-only routes as they were', () => {
    const rules = [
      { id: 'web.request_flood', tags: ['attack.impact'] },
      { id: 'net.connection_flood', tags: ['attack.impact'] },
      { id: 'auth.brute_force_user', tags: ['attack.credential_access'] },
    ];
    const correlations = [
      { id: 'corr.dos', correlation: { members: ['tag:attack.impact'] } },
      { id: 'corr.takeover', correlation: { members: ['auth.brute_force_user', 'admin.privileged_action'] } },
    ];
    const route = (r: Partial<Parameters<typeof routesWithIncidents>[0][number]>) => ({
      emails: ['t@example.com'],
      httpsEndpoints: [],
      sqsQueueArns: [],
      tiers: ['respond' as const],
      ...r,
    });
    const { routes, errors } = routesWithIncidents(
      [
        route({ rules: ['web.*'] }),
        route({ rules: ['auth.brute_force_user', 'corr.takeover'] }),
        route({ accounts: ['111111111111'] }),
        route({ rules: ['admin.privileged_action'] }),
      ],
      rules,
      correlations,
    );
    expect(errors).toEqual([]);
    expect(routes.map((r) => r.rules)).toEqual([
      ['web.*', 'corr.dos'], // a member by tag
      ['auth.brute_force_user', 'corr.takeover'], // already named: not twice
      undefined,
      ['admin.privileged_action', 'corr.takeover'], // a member the pack lacks still names the correlation
    ]);
    const wide = routesWithIncidents(
      [route({ accounts: Array.from({ length: 76 }, (_, i) => String(100000000000 + i)), rules: ['web.*'] })],
      rules,
      correlations,
    );
    expect(wide.errors).toEqual([
      'routes[0]: with the incidents built on its rules (corr.dos), 76 accounts × 2 rules make 152 filter-policy combinations (SNS allows 150): split the route',
    ]);
  });
  it('a bad rule folder fails synth with a SynthInputError (printed without a stack trace by infra/app.ts)', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(() => new SentinelStack(app, 'Bad', { config: parseConfig({ rulesDir: 'test/fixtures/bad-rules' }) })).toThrow(SynthInputError);
  });
});

describe('pagerDuty.leaveTeamPages', () => {
  const ROUTES = [
    { name: 'payments', accounts: ['555555555555'], tiers: ['respond'], pagerDutyRoutingKeySecret: 'pd-payments' },
    { name: 'identity', rules: ['auth.*', 'ssh.success_after_failures'], pagerDutyRoutingKeySecret: 'pd-identity' },
    {
      accounts: ['666666666666'],
      rules: ['aws.*'],
      tiers: ['notify', 'respond', 'review'],
      emails: ['ops@example.com'],
      pagerDutyRoutingKeySecret: 'pd-ops',
    },
  ];
  /** SNS's test of a filter policy on string attributes (exact values and prefixes: what routeFilter writes). */
  const snsTakes = (policy: Record<string, unknown[]>, attributes: Record<string, string>) =>
    Object.entries(policy).every(([name, conditions]) =>
      conditions.some((c) => {
        const value = attributes[name];
        if (value === undefined) return false;
        if (typeof c === 'string') return c === value;
        const prefix = typeof c === 'object' && c !== null && 'prefix' in c ? c.prefix : undefined;
        return typeof prefix === 'string' && value.startsWith(prefix);
      }),
    );

  it('the global forwarder leaves exactly the pages a team pager’s subscription takes (SNS filter policies), incidents of their rules included', () => {
    const { stack, template } = synth({
      routes: ROUTES,
      pagerDuty: { routingKeySecret: 'pd-global', tiers: ['notify', 'respond'], leaveTeamPages: true },
    });
    const global = stack.node.findChild('PagerDuty');
    if (!(global instanceof PagerDuty)) throw new Error('no global PagerDuty forwarder');
    const pagers = loadTeamPagers(dirname(global.teamPagersFile ?? ''));
    expect(pagers.map((p) => p.name ?? p.accounts?.join())).toEqual(['payments', 'identity', '666666666666']);
    // The team forwarders' subscriptions, by tier.
    const teamSubscriptions = Object.values(template.findResources('AWS::SNS::Subscription', { Properties: { Protocol: 'lambda' } }))
      .filter((r) => /PagerDutyRoute\d/.test(JSON.stringify(r.Properties.Endpoint)))
      .map((r) => ({
        tier: (JSON.stringify(r.Properties.TopicArn).match(/Alerts(\w+)Topic/)?.[1] ?? '').toLowerCase(),
        policy: r.Properties.FilterPolicy as Record<string, unknown[]>,
      }));
    expect(teamSubscriptions.length).toBeGreaterThanOrEqual(5);
    const rules = [
      'auth.password_spray',
      'ssh.success_after_failures',
      'aws.cloudtrail_tampering',
      'web.request_flood',
      'corr.account_takeover',
    ];
    const accounts = ['555555555555', '666666666666', '111122223333', undefined];
    let left = 0;
    for (const tier of ['notify', 'respond'] as const)
      for (const ruleId of rules)
        for (const account of accounts) {
          const alert = { tier, ruleId, entity: { field: 'user.name', value: 'x', ...(account ? { account } : {}) } };
          const attributes = { ruleId, account: account ?? 'none' };
          const sns = teamSubscriptions.some((s) => s.tier === tier && snsTakes(s.policy, attributes));
          expect(teamPagerOf(alert, pagers) !== undefined, `${tier} ${ruleId} ${account}`).toBe(sns);
          if (sns) left++;
        }
    // Neither everything nor nothing: the payments team's respond pages, the identity team's rules and incidents, ops' AWS rules in its account.
    expect(left).toBeGreaterThan(10);
    expect(left).toBeLessThan(40);
    expect(
      teamPagerOf({ tier: 'respond', ruleId: 'corr.account_takeover', entity: { field: 'user.name', value: 'x' } }, pagers)?.name,
    ).toBe('identity');
  });

  it('off by default (no file bundled); on without a team PagerDuty service it fails with the path', () => {
    const { stack } = synth({ routes: ROUTES, pagerDuty: { routingKeySecret: 'pd-global' } });
    const global = stack.node.findChild('PagerDuty');
    expect(global).toBeInstanceOf(PagerDuty);
    expect(global instanceof PagerDuty && global.teamPagersFile).toBeUndefined();
    expect(() =>
      parseConfig({
        routes: [{ accounts: ['555555555555'], emails: ['a@example.com'] }],
        pagerDuty: { routingKeySecret: 'k', leaveTeamPages: true },
      }),
    ).toThrow(/pagerDuty\.leaveTeamPages: no route has a PagerDuty service of its own/);
  });
});
