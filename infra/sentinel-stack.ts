import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type CfnElement, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { SubscriptionFilter } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { TEAM_PAGERS_FILE, teamPagersOf } from '../src/alerts/team-pagers';
import { MAX_PIPELINE_LAG } from '../src/engine/delivery-lag';
import { REVIEW_ROUTES_FILE, reviewRoutesOf } from '../src/engine/review-routes';
import { parseConfig, routesWithIncidents, type SentinelConfig, SynthInputError, unknownRouteRules } from './config';
import { AlertTopics, routeFilter, type TierName } from './constructs/alert-topics';
import { Correlation } from './constructs/correlation';
import { Detector } from './constructs/detector';
import {
  allowDeliveries,
  FindingsDelivery,
  GUARDDUTY_FINDINGS,
  GUARDDUTY_FINDINGS_LOG_GROUP,
  healthEvents,
  SECURITY_HUB_FINDINGS_LOG_GROUP,
  securityHubFindings,
} from './constructs/findings-delivery';
import { HubIngestion } from './constructs/hub-ingestion';
import { Ingestion } from './constructs/ingestion';
import { Monitoring } from './constructs/monitoring';
import { PagerDuty, UNDELIVERED_PAGES } from './constructs/pager';
import { PagerDutyWebhook } from './constructs/pager-webhook';
import { SecurityHubExport, UNEXPORTED_FINDINGS } from './constructs/security-hub-export';
import type { SentinelFunction } from './constructs/sentinel-function';
import { StateTable } from './constructs/state-table';
import { Sweeper } from './constructs/sweeper';
import { bundleRules } from './rule-bundle';

export interface SentinelStackProps extends StackProps {
  /** @default parsed defaults: no watched log groups, no subscribers */
  readonly config?: SentinelConfig;
}

const RETENTION: Record<number, RetentionDays> = {
  1: RetentionDays.ONE_DAY,
  3: RetentionDays.THREE_DAYS,
  5: RetentionDays.FIVE_DAYS,
  7: RetentionDays.ONE_WEEK,
  14: RetentionDays.TWO_WEEKS,
  30: RetentionDays.ONE_MONTH,
  60: RetentionDays.TWO_MONTHS,
  90: RetentionDays.THREE_MONTHS,
  180: RetentionDays.SIX_MONTHS,
  365: RetentionDays.ONE_YEAR,
  400: RetentionDays.THIRTEEN_MONTHS,
  731: RetentionDays.TWO_YEARS,
};

/** CloudWatch Logs' retention for a number of days, or a synth error naming the ones it has. */
export function retentionOf(days: number): RetentionDays {
  const retention = RETENTION[days];
  if (!retention)
    throw new SynthInputError(`invalid sentinel config: logRetentionDays: must be one of ${Object.keys(RETENTION).join(', ')}`);
  return retention;
}

/** The whole detection stack: ingestion → detector → state → correlation → tiered alerts, self-monitored. */
export class SentinelStack extends Stack {
  readonly correlation: Correlation;
  readonly sweeper: Sweeper;

  constructor(scope: Construct, id: string, props: SentinelStackProps = {}) {
    super(scope, id, props);
    const config = props.config ?? parseConfig({});
    const retention = retentionOf(config.logRetentionDays);
    const rules = bundleRules(config.rulesDir);
    const unknown = unknownRouteRules(
      config.routes,
      [...rules.pack.rules, ...rules.pack.correlations].map((r) => r.id),
    );
    if (unknown.length > 0) throw new SynthInputError(`invalid sentinel config:\n${unknown.join('\n')}`);
    const routes = routesWithIncidents(config.routes, rules.pack.rules, rules.pack.correlations);
    if (routes.errors.length > 0) throw new SynthInputError(`invalid sentinel config:\n${routes.errors.join('\n')}`);

    const state = new StateTable(this, 'State');
    const alerts = new AlertTopics(this, 'Alerts', { subscribers: config.subscribers, routes: routes.routes, chat: config.chat });
    this.correlation = new Correlation(this, 'Correlation', {
      table: state.table,
      topics: alerts,
      rulesFile: rules.file,
      logRetention: retention,
      responseFunctionArn: config.responseFunctionArn,
      digestIntervalMs: config.digestInterval,
      pageFoldMs: config.pageFold,
      timeZone: config.timeZone,
      runbookBaseUrl: config.runbookBaseUrl,
      logExecutionData: config.logExecutionData,
    });
    const detector = new Detector(this, 'Detector', {
      table: state.table,
      stateMachine: this.correlation.stateMachine,
      rulesFile: rules.file,
      logRetention: retention,
      digestIntervalMs: config.digestInterval,
      pageFoldMs: config.pageFold,
      outbreakAfter: config.outbreakAfter,
      newTermLearningMs: config.newTermLearning,
      newTermLearningScope: config.newTermLearningScope,
      timeZone: config.timeZone,
      organizationTrailAccounts: config.organizationTrailAccounts,
      runbookBaseUrl: config.runbookBaseUrl,
      chatTiers: config.chat?.tiers ?? [],
      reservedConcurrency: config.detectorConcurrency,
      memoryMb: config.detectorMemoryMb,
    });
    const reviewRoutesFile = besideRules(rules.file, REVIEW_ROUTES_FILE, reviewRoutesOf(routes.routes));
    const sweeper = new Sweeper(this, 'Sweeper', {
      table: state.table,
      stateMachine: this.correlation.stateMachine,
      chatTiers: config.chat?.tiers ?? [],
      timeZone: config.timeZone,
      runbookBaseUrl: config.runbookBaseUrl,
      digestIntervalMs: config.digestInterval,
      pageFoldMs: config.pageFold,
      outbreakAfter: config.outbreakAfter,
      // Lambda keeps an asynchronous invocation 6 hours; a hub's event source mapping its records for maxRecordAge.
      maxDeliveryLagMs: Math.max(MAX_PIPELINE_LAG, config.mode === 'hub' ? config.hub.maxRecordAge : 0),
      rulesFile: rules.file,
      reviewRoutesFile,
      logRetention: retention,
    });
    this.sweeper = sweeper;
    const findings = [
      config.guardDutyFindings &&
        new FindingsDelivery(this, 'GuardDutyFindings', {
          retention,
          logGroupName: GUARDDUTY_FINDINGS_LOG_GROUP,
          name: 'guardduty-findings',
          description: 'Amazon GuardDuty findings to the log group Sentinel reads',
          eventPattern: GUARDDUTY_FINDINGS,
          sid: 'EventBridgeWritesGuardDutyFindings',
        }),
      config.securityHubFindings &&
        new FindingsDelivery(this, 'SecurityHubFindings', {
          retention,
          logGroupName: SECURITY_HUB_FINDINGS_LOG_GROUP,
          name: 'securityhub-findings',
          description: 'AWS Security Hub findings that can still fire to the log group Sentinel reads',
          // GuardDuty's own delivery is read when on: its findings through Security Hub would be told twice.
          eventPattern: securityHubFindings(config.guardDutyFindings),
          sid: 'EventBridgeWritesSecurityHubFindings',
        }),
      config.healthRiskEvents && healthEvents(this, retention),
    ].filter((f): f is FindingsDelivery => f instanceof FindingsDelivery);
    allowDeliveries(this, 'FindingsDeliveryPolicy', findings);
    // By its literal name: each group's filter is compiled from the sources and rules that name it.
    const watched = [...new Set([...config.logGroups, ...findings.map((f) => f.logGroupName)])];
    const ingestion = new Ingestion(this, 'Ingestion', {
      detector: detector.function.fn,
      pack: rules.pack,
      logGroups: watched,
      filterPatterns: config.filterPatterns,
      accountPolicy: config.accountPolicy,
      ownLogGroups: [
        detector.function.logGroup.logGroupName,
        this.correlation.correlateFunction.logGroup.logGroupName,
        sweeper.function.logGroup.logGroupName,
        this.correlation.logGroup.logGroupName,
      ],
    });
    // The subscriptions name the findings' groups, which must exist first.
    for (const f of findings) ingestion.node.addDependency(f.logGroup);
    if (config.mode === 'hub') {
      new HubIngestion(this, 'Hub', {
        detector: detector.function.fn,
        failures: detector.failures,
        alarmTopic: alerts.topics.notify,
        settings: config.hub,
        memberAccounts: config.memberAccounts,
        ...(config.organizationId ? { organizationId: config.organizationId } : {}),
      });
    }
    // Everyone's PagerDuty service, and a team's own on its route's paging tiers, filtered as its other subscriptions are.
    const pager = (
      id: string,
      tiers: readonly TierName[],
      routingKeySecret: string,
      options: { filterPolicy?: Record<string, SubscriptionFilter>; teamPagersFile?: string } = {},
    ) =>
      new PagerDuty(this, id, {
        topics: tiers.filter((tier) => tier !== 'review').map((tier) => alerts.topics[tier]),
        ...(tiers.includes('notify') ? {} : { acknowledgementsTopic: alerts.topics.notify }),
        routingKeySecret,
        logRetention: retention,
        ...(config.pagerDuty?.eventsUrl === undefined ? {} : { eventsUrl: config.pagerDuty.eventsUrl }),
        ...options,
      });
    const pagers = [
      ...(config.pagerDuty
        ? [
            pager('PagerDuty', config.pagerDuty.tiers, config.pagerDuty.routingKeySecret, {
              ...(config.pagerDuty.leaveTeamPages
                ? { teamPagersFile: besideRules(rules.file, TEAM_PAGERS_FILE, teamPagersOf(routes.routes)) }
                : {}),
            }),
          ]
        : []),
      ...routes.routes.flatMap((route, r) =>
        route.pagerDutyRoutingKeySecret === undefined
          ? []
          : [pager(`PagerDutyRoute${r}`, route.tiers, route.pagerDutyRoutingKeySecret, { filterPolicy: routeFilter(route) })],
      ),
    ];
    const securityHub = config.securityHubExport
      ? new SecurityHubExport(this, 'SecurityHubExport', {
          topics: [alerts.topics.notify, alerts.topics.respond],
          logRetention: retention,
        })
      : undefined;
    const webhook = config.pagerDutyWebhook
      ? new PagerDutyWebhook(this, 'PagerDutyWebhook', {
          signingSecret: config.pagerDutyWebhook.signingSecret,
          table: state.table,
          logRetention: retention,
        })
      : undefined;
    new Monitoring(this, 'Monitoring', {
      detector: detector.function.fn,
      detectorTimeout: Duration.seconds(60),
      correlate: this.correlation.correlateFunction.fn,
      failures: detector.failures,
      stateMachine: this.correlation.stateMachine,
      topics: alerts.topics,
      alarmTopic: alerts.topics.notify,
      sweeper: sweeper.function.fn,
      logGroups: watched,
      unparsed: { share: config.unparsedAlarm.share, forMs: config.unparsedAlarm.for },
      table: state.table,
      parked: [
        ...pagers.map((p) => ({ name: `${p.node.id}Undelivered`, queue: p.failures, description: UNDELIVERED_PAGES })),
        ...(securityHub ? [{ name: 'SecurityHubUnexported', queue: securityHub.failures, description: UNEXPORTED_FINDINGS }] : []),
      ],
    });
    this.suppressReviewedFindings(
      [
        detector.function,
        this.correlation.correlateFunction,
        sweeper.function,
        ...pagers.map((p) => p.function),
        ...(webhook ? [webhook.function] : []),
        ...(securityHub ? [securityHub.function] : []),
      ],
      config,
    );
    if (!config.logExecutionData) {
      Validations.of(this.correlation.stateMachine).acknowledge({
        id: 'AwsSolutions-SF1',
        reason:
          'Errors only by default: execution data is alert JSON with log evidence, which should not be copied into another log group unless asked for (logExecutionData: true logs ALL into a KMS-encrypted group).',
      });
    }
    const indexReaders: [SentinelFunction, string][] = [[sweeper.function, 'The sweeper queries']];
    if (webhook) indexReaders.push([webhook.function, 'The PagerDuty webhook lists the open alerts from']);
    for (const [fn, who] of indexReaders) {
      const policy = fn.fn.role?.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
      if (!policy) continue;
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(state.table.node.defaultChild as CfnElement)}.Arn>/index/*]`,
        reason: `${who} the state table's one index (the sparse due index); CDK grants index access as table/index/*.`,
      });
    }
  }

  /** cdk-nag findings reviewed and accepted, each on the narrowest construct with its reason. */
  private suppressReviewedFindings(functions: SentinelFunction[], config: SentinelConfig): void {
    for (const fn of functions) {
      const role = fn.fn.role?.node.defaultChild;
      if (role) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason:
            'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs; it is the AWS-maintained minimum for Lambda logging.',
        });
      }
      const policy = fn.fn.role?.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
      if (policy) {
        Validations.of(policy).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'Only xray:PutTraceSegments and xray:PutTelemetryRecords use Resource *: X-Ray does not support resource-level permissions.',
        });
      }
      Validations.of(fn.fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'nodejs22.x is the runtime the engine is built and tested for (esbuild target node22); move to a newer runtime deliberately, with the tests.',
      });
    }
    const smPolicy = this.correlation.stateMachine.role.node.tryFindChild('DefaultPolicy')?.node.defaultChild;
    if (smPolicy) {
      Validations.of(smPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Step Functions log delivery (logs:CreateLogDelivery, logs:DescribeLogGroups, …) and X-Ray APIs do not support resource-level permissions.',
      });
      Validations.of(smPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.correlation.correlateFunction.fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: 'The Lambda invoke grant also covers versions and aliases of the correlate function (ARN suffix :*), nothing else.',
      });
      if (config.responseFunctionArn) {
        Validations.of(smPolicy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${config.responseFunctionArn}:*]`,
          reason:
            'The invoke grant on the configured automated-response function also covers its versions and aliases (ARN suffix :*), nothing else.',
        });
      }
      Validations.of(smPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Topic.grantPublish on the KMS-encrypted alert topics grants kms:GenerateDataKey* on that one key only; SNS needs it to encrypt messages.',
      });
    }
  }
}

/** A JSON file written next to the rule bundle, for a function to bundle beside its handler (routes outgrow Lambda's 4 KB of environment); its path. */
function besideRules(rulesFile: string, name: string, value: unknown): string {
  const file = join(dirname(rulesFile), name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}
