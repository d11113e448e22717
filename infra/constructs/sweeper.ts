import { Duration } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { REVIEW_ROUTES_FILE } from '../../src/engine/review-routes';
import { SentinelFunction } from './sentinel-function';

export interface SweeperProps {
  /** The state table whose due documents it sweeps. */
  readonly table: Table;
  /** The correlation state machine its messages (resolved notices, digests, absences) are handed to. */
  readonly stateMachine: StateMachine;
  /** The rule bundle (rules and correlations, JSON) the sweeper embeds. */
  readonly rulesFile: string;
  /** The routes that take the review tier (src/engine/review-routes.ts), as JSON: copied next to the handler. */
  readonly reviewRoutesFile: string;
  /** Retention of the sweeper's own log group. */
  readonly logRetention: RetentionDays;
  /** Tiers the chat topic takes (config `chat`): only their messages carry a chat rendering. */
  readonly chatTiers: readonly string[];
  /** The team's time zone (config `timeZone`): digests and resolved notices show their window on its clock too. */
  readonly timeZone: string;
  /** Where runbook paths link to in published messages (config `runbookBaseUrl`, ending in `/`); none: as rules name them. */
  readonly runbookBaseUrl?: string | undefined;
  /** Review-tier digest interval (ms), as the detector's: absence alerts, which the sweep opens, are digested as its detections are. */
  readonly digestIntervalMs: number;
  /** How long a page stands for its entity (ms), as the detector's: a respond-tier absence folds into its entity's page. */
  readonly pageFoldMs: number;
  /** A rule's alerts told one by one before the rest are held, as the detector's: a fleet going quiet is one outbreak. */
  readonly outbreakAfter: number;
  /** The longest a delivery can wait before the detector: absences are held at most that long while deliveries run late. */
  readonly maxDeliveryLagMs: number;
  /**
   * How often the sweep runs: the latency of `resolved` notices and review digests.
   * @default Duration.minutes(5)
   */
  readonly every?: Duration;
}

/**
 * The lifecycle's clock: every few minutes, resolve open conditions that went quiet, publish
 * due review digests and tell expected events that stopped (absence rules; src/engine/sweeper.ts). One at a time (reserved concurrency 1): a sweep
 * never races another over the same outbox.
 */
export class Sweeper extends Construct {
  readonly function: SentinelFunction;
  /** The review routes the function is bundled with (JSON, at synth). */
  readonly reviewRoutesFile: string;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    this.reviewRoutesFile = props.reviewRoutesFile;
    this.function = new SentinelFunction(this, 'Function', {
      entry: 'functions/sweeper/handler.ts',
      rulesFile: props.rulesFile,
      files: { [REVIEW_ROUTES_FILE]: props.reviewRoutesFile },
      logRetention: props.logRetention,
      memorySize: 512,
      timeout: Duration.minutes(2),
      reservedConcurrentExecutions: 1,
      environment: {
        TABLE_NAME: props.table.tableName,
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
        CHAT_TIERS: props.chatTiers.join(','),
        TIME_ZONE: props.timeZone,
        ...(props.runbookBaseUrl === undefined ? {} : { RUNBOOK_BASE_URL: props.runbookBaseUrl }),
        DIGEST_INTERVAL_MS: String(props.digestIntervalMs),
        PAGE_FOLD_MS: String(props.pageFoldMs),
        OUTBREAK_AFTER: String(props.outbreakAfter),
        MAX_DELIVERY_LAG_MS: String(props.maxDeliveryLagMs),
        POWERTOOLS_SERVICE_NAME: 'sentinel-sweeper',
      },
    });
    // The due index query, reading due documents and the versioned writes of the outbox.
    props.table.grant(this.function.fn, 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem');
    props.stateMachine.grantStartSyncExecution(this.function.fn);
    new Rule(this, 'Schedule', {
      description: 'Sentinel lifecycle sweep: resolve quiet conditions, publish review digests, tell absences',
      schedule: Schedule.rate(props.every ?? Duration.minutes(5)),
      targets: [new LambdaTarget(this.function.fn, { retryAttempts: 2 })],
    });
  }
}
