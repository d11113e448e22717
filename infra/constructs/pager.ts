import { Duration } from 'aws-cdk-lib';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { SubscriptionFilter, type Topic } from 'aws-cdk-lib/aws-sns';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ACKNOWLEDGEMENT_NOTICE } from '../../src/alerts/team-notice';
import { TEAM_PAGERS_FILE } from '../../src/alerts/team-pagers';
import { failureQueue } from './failure-queue';
import { secretByNameOrArn } from './secret-reference';
import { SentinelFunction } from './sentinel-function';

export interface PagerDutyProps {
  /** The tier topics whose alerts page (config `pagerDuty.tiers`). */
  readonly topics: readonly Topic[];
  /** The Secrets Manager secret holding the Events API v2 integration (routing) key: its name or full ARN. */
  readonly routingKeySecret: string;
  readonly logRetention: RetentionDays;
  /**
   * The Events API endpoint (`https://events.eu.pagerduty.com/v2/enqueue` for an EU account).
   * @default - https://events.pagerduty.com/v2/enqueue
   */
  readonly eventsUrl?: string;
  /**
   * Only the alerts a team's route selects (its accounts and rules: an SNS filter policy).
   * @default - every alert of the topics
   */
  readonly filterPolicy?: Record<string, SubscriptionFilter>;
  /**
   * The notify topic, when it is not among `topics`: the forwarder takes the team's
   * acknowledgement notices from it (only those), to acknowledge their PagerDuty alerts.
   * @default - none: the notices reach it through `topics`
   */
  readonly acknowledgementsTopic?: Topic;
  /**
   * The teams' own PagerDuty services (JSON, src/alerts/team-pagers.ts) whose pages this one
   * leaves to them (config `pagerDuty.leaveTeamPages`): bundled next to the handler.
   * @default - none: every alert of the topics pages here
   */
  readonly teamPagersFile?: string;
}

/** What the stack's monitoring says of a forwarder's parked events. */
export const UNDELIVERED_PAGES =
  'Alerts PagerDuty did not take after three tries (a wrong or revoked routing key, PagerDuty down) are parked in the UndeliveredPages queue; the other subscribers of their topics received them.';

/**
 * Pages through PagerDuty: a function subscribed to the paging tiers' topics sends each alert as
 * an Events API v2 event keyed by the alert's id (src/alerts/pagerduty.ts), so the escalation
 * joins the open PagerDuty alert and the resolved notice resolves it (reminders are PagerDuty's
 * own to make, and not sent). An event PagerDuty does not take is retried twice and then parked
 * in an encrypted queue (`failures`, alarmed by the stack's monitoring).
 */
export class PagerDuty extends Construct {
  readonly function: SentinelFunction;
  readonly failures: Queue;
  readonly secret: ISecret;
  /** The team pagers it leaves their pages to, as bundled (props.teamPagersFile). */
  readonly teamPagersFile: string | undefined;

  constructor(scope: Construct, id: string, props: PagerDutyProps) {
    super(scope, id);
    this.teamPagersFile = props.teamPagersFile;
    this.secret = secretByNameOrArn(this, 'RoutingKey', props.routingKeySecret);
    this.failures = failureQueue(this, 'UndeliveredPages', 'the PagerDuty forwarder');
    this.function = new SentinelFunction(this, 'Function', {
      entry: 'functions/pager/handler.ts',
      ...(props.teamPagersFile === undefined ? {} : { files: { [TEAM_PAGERS_FILE]: props.teamPagersFile } }),
      logRetention: props.logRetention,
      memorySize: 256,
      timeout: Duration.seconds(30),
      environment: {
        PAGERDUTY_ROUTING_KEY_SECRET: this.secret.secretArn,
        ...(props.eventsUrl === undefined ? {} : { PAGERDUTY_EVENTS_URL: props.eventsUrl }),
        POWERTOOLS_SERVICE_NAME: 'sentinel-pager',
      },
      extra: { onFailure: new SqsDestination(this.failures), retryAttempts: 2, maxEventAge: Duration.hours(1) },
    });
    this.secret.grantRead(this.function.fn);
    for (const topic of props.topics)
      topic.addSubscription(new LambdaSubscription(this.function.fn, props.filterPolicy ? { filterPolicy: props.filterPolicy } : {}));
    // A route that selects by rule never selects the stack's notices: nothing to take there.
    if (props.acknowledgementsTopic && !props.filterPolicy?.ruleId) {
      const filterPolicy = { ...props.filterPolicy, ruleId: SubscriptionFilter.stringFilter({ allowlist: [ACKNOWLEDGEMENT_NOTICE] }) };
      props.acknowledgementsTopic.addSubscription(new LambdaSubscription(this.function.fn, { filterPolicy }));
    }
  }
}
