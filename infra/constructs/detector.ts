import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { failureQueue } from './failure-queue';
import { SentinelFunction } from './sentinel-function';
import { grantTableActions } from './table-access';

export interface DetectorProps {
  /** The state table: windowed counters and sets, conditions, receipts. */
  readonly table: Table;
  /** The correlation state machine each decided batch's messages are handed to. */
  readonly stateMachine: StateMachine;
  /** The rule bundle (rules and sources, JSON) the detector embeds. */
  readonly rulesFile: string;
  /** Retention of the detector's own log group. */
  readonly logRetention: RetentionDays;
  /** Review-tier digest interval (ms). */
  readonly digestIntervalMs: number;
  /** How long a page stands for its entity (ms); 0 pages every respond-tier alert. */
  readonly pageFoldMs: number;
  /** A rule's alerts told one by one per outbreak window before the rest are held; 0 tells every one. */
  readonly outbreakAfter: number;
  /** How long a new-term rule only learns after it starts watching an account's logs (ms); 0: never. */
  readonly newTermLearningMs: number;
  /** Whose first week new-term rules learn in (config `newTermLearningScope`). */
  readonly newTermLearningScope: 'owner' | 'account';
  /** The team's time zone (config `timeZone`): `event.hour_local`, `event.weekday_local`, and messages' local times. */
  readonly timeZone: string;
  /** Accounts besides the stack's whose logs may be about other accounts (config `organizationTrailAccounts`). */
  readonly organizationTrailAccounts: readonly string[];
  /** Tiers the chat topic takes (config `chat`): only their messages carry a chat rendering. */
  readonly chatTiers: readonly string[];
  /** Where runbook paths link to in published messages (config `runbookBaseUrl`, ending in `/`); none: as rules name them. */
  readonly runbookBaseUrl?: string | undefined;
  /**
   * Reserved concurrency: caps how many batches write to the table at once (hot keys, cost) and
   * keeps the detector from taking the account's unreserved concurrency.
   * @default 20
   */
  readonly reservedConcurrency?: number;
  /**
   * Memory in MB: the engine is CPU-bound, and Lambda gives CPU with memory (1 GB is most of a vCPU).
   * @default 1024
   */
  readonly memoryMb?: number;
}

/**
 * The detector Lambda: CloudWatch Logs subscription target. Async invocations retry twice and
 * then land in an encrypted SQS failure destination, so no batch is ever lost silently.
 */
export class Detector extends Construct {
  readonly function: SentinelFunction;
  readonly failures: Queue;

  constructor(scope: Construct, id: string, props: DetectorProps) {
    super(scope, id);
    this.failures = failureQueue(this, 'FailedBatches', 'the detector');
    this.function = new SentinelFunction(this, 'Function', {
      entry: 'functions/detector/handler.ts',
      rulesFile: props.rulesFile,
      logRetention: props.logRetention,
      memorySize: props.memoryMb ?? 1024,
      timeout: Duration.seconds(60),
      reservedConcurrentExecutions: props.reservedConcurrency ?? 20,
      environment: {
        TABLE_NAME: props.table.tableName,
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
        DIGEST_INTERVAL_MS: String(props.digestIntervalMs),
        PAGE_FOLD_MS: String(props.pageFoldMs),
        OUTBREAK_AFTER: String(props.outbreakAfter),
        NEW_TERM_LEARNING_MS: String(props.newTermLearningMs),
        NEW_TERM_LEARNING_SCOPE: props.newTermLearningScope,
        TIME_ZONE: props.timeZone,
        ORG_TRAIL_ACCOUNTS: props.organizationTrailAccounts.join(','),
        CHAT_TIERS: props.chatTiers.join(','),
        ...(props.runbookBaseUrl === undefined ? {} : { RUNBOOK_BASE_URL: props.runbookBaseUrl }),
        POWERTOOLS_SERVICE_NAME: 'sentinel-detector',
        POWERTOOLS_METRICS_NAMESPACE: 'Sentinel',
      },
      extra: { onFailure: new SqsDestination(this.failures), retryAttempts: 2, maxEventAge: Duration.hours(6) },
    });
    // Exactly the calls the DynamoDB state adapter makes (no Scan, DeleteItem, BatchWriteItem or stream reads);
    // DescribeTable once per table, for when it was made (the packed layout's start, src/engine/packed-state.ts).
    grantTableActions(
      props.table,
      this.function.fn,
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
    );
    // Synchronous: a failed publish fails the invocation, so Lambda retries the batch.
    props.stateMachine.grantStartSyncExecution(this.function.fn);
    // What `detect redrive` needs to run the parked batches through the detector again.
    new CfnOutput(Stack.of(this), 'FailedBatchesQueueUrl', {
      value: this.failures.queueUrl,
      description:
        'Log batches the detector gave up on (the FailedBatches alarm): detect redrive --queue <this> --function <DetectorFunctionName>',
    });
    new CfnOutput(Stack.of(this), 'DetectorFunctionName', {
      value: this.function.fn.functionName,
      description: 'The detector function: detect redrive --function <this>',
    });
  }
}
