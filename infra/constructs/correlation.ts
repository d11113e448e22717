import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { type IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Errors,
  Fail,
  type IChainable,
  JitterType,
  JsonPath,
  LogLevel,
  Map as MapState,
  Parallel,
  Pass,
  Result,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  type TaskStateBase,
} from 'aws-cdk-lib/aws-stepfunctions';
import {
  DynamoAttributeValue,
  DynamoUpdateItem,
  LambdaInvocationType,
  LambdaInvoke,
  SnsPublish,
} from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PUBLISH_FIELD_DEFAULTS } from '../../src/correlation/envelope';
import { LOST_RACE_ERROR } from '../../src/engine/lost-race';
import type { AlertTopics, TierName } from './alert-topics';
import { SentinelFunction } from './sentinel-function';
import { grantTableActions } from './table-access';

export interface CorrelationProps {
  /** The state table: incidents, their members and the correlation's own conditions. */
  readonly table: Table;
  /** The tier topics the state machine publishes to. */
  readonly topics: AlertTopics;
  /** The rule bundle (rules and correlations, JSON) the correlate function embeds. */
  readonly rulesFile: string;
  /** Retention of the correlate function's and the state machine's log groups. */
  readonly logRetention: RetentionDays;
  /**
   * Optional automated-response Lambda, invoked asynchronously with each respond-tier incident when
   * it opens (not on reminders or updates).
   * @default - no automated response
   */
  readonly responseFunctionArn?: string;
  /** Review-tier digest interval (ms), for incidents the correlate task sends to the digest. */
  readonly digestIntervalMs: number;
  /** How long a page stands for its entity (ms): a respond-tier incident takes its entity's page; 0: it does not. */
  readonly pageFoldMs: number;
  /** The team's time zone (config `timeZone`): incidents show their window on its clock too. */
  readonly timeZone: string;
  /** Where runbook paths link to in published messages (config `runbookBaseUrl`, ending in `/`); none: as rules name them. */
  readonly runbookBaseUrl?: string | undefined;
  /**
   * Log every state transition with its input and output (the alert JSON) instead of errors only.
   * Execution data then lands in a log group encrypted with its own KMS key.
   * @default false - errors only, without execution data: alerts carry evidence lines
   */
  readonly logExecutionData?: boolean;
}

/**
 * Errors worth retrying with backoff: throttling and service-side faults, never condition failures.
 * Optimized integrations name errors `<Service>.<exception name>`.
 */
const TRANSIENT_ERRORS = [
  'DynamoDB.ProvisionedThroughputExceededException',
  'DynamoDB.ThrottlingException',
  'DynamoDB.RequestLimitExceeded',
  'DynamoDB.InternalServerError',
  'DynamoDB.AmazonDynamoDBException',
  'SNS.ThrottledException',
  'SNS.InternalErrorException',
  'SNS.KMSThrottlingException',
  Errors.TIMEOUT,
];

/** State names are the contract with the local runner and the tests. */
export const STATE = {
  shouldPublish: 'ShouldPublish',
  claim: (what: Published) => `Claim${what}`,
  alreadyPublished: (what: Published) => `${what}AlreadyPublished`,
  route: (what: Published) => `Route${what}`,
  publish: (tier: TierName, what: Published) => `Publish${what}${tier[0]?.toUpperCase()}${tier.slice(1)}`,
  publishChat: (tier: TierName, what: Published) => `Publish${what}${tier[0]?.toUpperCase()}${tier.slice(1)}ToChat`,
  hasChat: (tier: TierName, what: Published) => `${what}${tier[0]?.toUpperCase()}${tier.slice(1)}HasChat`,
  hasField: (field: string, what: Published) => `${what}Has${field[0]?.toUpperCase()}${field.slice(1)}`,
  defaultField: (field: string, what: Published) => `${what}Default${field[0]?.toUpperCase()}${field.slice(1)}`,
  markPublished: (what: Published) => `Mark${what}Published`,
  shouldCorrelate: 'ShouldCorrelate',
  forEachEntity: 'ForEachEntity',
  correlateEntity: 'CorrelateEntity',
  forEachIncident: 'ForEachIncident',
  shouldRespond: 'ShouldRespond',
  invokeResponse: 'InvokeAutomatedResponse',
  healthAlert: 'PublishHealthAlert',
} as const;
type Published = 'Message' | 'Incident';

/**
 * The correlation state machine (Express, run synchronously by the detector and the sweeper so
 * a failure fails their invocation and is retried; ~$1/M executions vs $25/M transitions for
 * Standard). For one decided message:
 *
 * 1. publish it if the lifecycle says so: a dedup record goes `pending` → `published` around the
 *    SNS publish, so a retry after a failed publish publishes again, and a retry after a
 *    successful one does not;
 * 2. if it is a detection, correlate it per entity (the correlate task: risk records, incident
 *    lifecycle) and publish the incidents it returns the same way, invoking the automated
 *    response for respond-tier incidents that just opened.
 */
export class Correlation extends Construct {
  readonly stateMachine: StateMachine;
  readonly correlateFunction: SentinelFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: CorrelationProps) {
    super(scope, id);
    const { table, topics } = props;
    this.correlateFunction = new SentinelFunction(this, 'CorrelateFunction', {
      entry: 'functions/correlate/handler.ts',
      rulesFile: props.rulesFile,
      logRetention: props.logRetention,
      memorySize: 512,
      timeout: Duration.seconds(30),
      environment: {
        TABLE_NAME: table.tableName,
        DIGEST_INTERVAL_MS: String(props.digestIntervalMs),
        PAGE_FOLD_MS: String(props.pageFoldMs),
        CHAT_TIERS: (topics.chat?.tiers ?? []).join(','),
        TIME_ZONE: props.timeZone,
        ...(props.runbookBaseUrl === undefined ? {} : { RUNBOOK_BASE_URL: props.runbookBaseUrl }),
        POWERTOOLS_SERVICE_NAME: 'sentinel-correlate',
      },
    });
    // Exactly what the correlate task's store calls need: read, versioned write, partition query.
    grantTableActions(table, this.correlateFunction.fn, 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem', 'dynamodb:Query');

    const retry = <T extends TaskStateBase>(task: T): T => {
      task.addRetry({ errors: TRANSIENT_ERRORS, interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 4 });
      return task;
    };
    const dedupKey = (base: string) => ({
      pk: DynamoAttributeValue.fromString(JsonPath.format('msg#{}', JsonPath.stringAt(`${base}.key`))),
      sk: DynamoAttributeValue.fromString('msg'),
    });

    /** Claim → route by tier → publish → mark published; returns [first state, last state]. */
    const publishPath = (what: Published, base: string, after: IChainable): IChainable => {
      const claim = retry(
        new DynamoUpdateItem(this, STATE.claim(what), {
          table,
          key: dedupKey(base),
          updateExpression: 'SET st = :pending, #ttl = :ttl',
          conditionExpression: 'attribute_not_exists(pk) OR st = :pending',
          expressionAttributeNames: { '#ttl': 'ttl' },
          expressionAttributeValues: {
            ':pending': DynamoAttributeValue.fromString('pending'),
            ':ttl': DynamoAttributeValue.numberFromString(JsonPath.stringAt(`${base}.expiresAtEpochText`)),
          },
          resultPath: JsonPath.DISCARD,
        }),
      );
      // Already published (an at-least-once redelivery): nothing to do for this message.
      claim.addCatch(new Pass(this, STATE.alreadyPublished(what)).next(after), {
        errors: ['DynamoDB.ConditionalCheckFailedException'],
        resultPath: JsonPath.DISCARD,
      });
      const mark = retry(
        new DynamoUpdateItem(this, STATE.markPublished(what), {
          table,
          key: dedupKey(base),
          updateExpression: 'SET st = :published',
          expressionAttributeValues: { ':published': DynamoAttributeValue.fromString('published') },
          resultPath: JsonPath.DISCARD,
        }),
      );
      mark.next(after);
      // The chat topic, for its tiers: the same message in the chat service's format, before it counts as published.
      // An envelope from a detector deployed before chat existed has no chat rendering: its chat message is skipped.
      const chat = topics.chat;
      const afterPublish = (tier: TierName): IChainable =>
        chat?.tiers.includes(tier)
          ? new Choice(this, STATE.hasChat(tier, what))
              .when(
                Condition.isPresent(`${base}.publishFields.chat`),
                retry(
                  new SnsPublish(this, STATE.publishChat(tier, what), {
                    topic: chat.topic,
                    message: TaskInput.fromJsonPathAt(`${base}.publishFields.chat`),
                    resultPath: JsonPath.DISCARD,
                  }),
                ).next(mark),
              )
              .otherwise(mark)
          : mark;
      const publish = (tier: TierName) =>
        retry(
          new SnsPublish(this, STATE.publish(tier, what), {
            topic: topics.topics[tier],
            message: TaskInput.fromJsonPathAt(`${base}.publishFields.message`),
            messagePerSubscriptionType: true,
            subject: JsonPath.stringAt(`${base}.publishFields.subject`),
            messageAttributes: {
              severity: { value: JsonPath.stringAt(`${base}.publishFields.severity`) },
              tier: { value: JsonPath.stringAt(`${base}.publishFields.tier`) },
              ruleId: { value: JsonPath.stringAt(`${base}.publishFields.ruleId`) },
              status: { value: JsonPath.stringAt(`${base}.publishFields.status`) },
              account: { value: JsonPath.stringAt(`${base}.publishFields.account`) },
              route: { value: JsonPath.stringAt(`${base}.publishFields.route`) },
            },
            resultPath: JsonPath.DISCARD,
          }),
        ).next(afterPublish(tier));
      let route: IChainable = new Choice(this, STATE.route(what))
        .when(Condition.stringEquals(`${base}.publishFields.tier`, 'respond'), publish('respond'))
        .when(Condition.stringEquals(`${base}.publishFields.tier`, 'notify'), publish('notify'))
        .otherwise(publish('review'));
      // During a deploy the state machine is updated before the detector: an envelope of the version
      // before gets a default for each field added since, instead of failing (and paging stack health).
      for (const [field, value] of Object.entries(PUBLISH_FIELD_DEFAULTS)) {
        const path = `${base}.publishFields.${field}`;
        // IsPresent: true, not false: aws-local-stepfunctions reads `IsPresent: false` as never matching.
        route = new Choice(this, STATE.hasField(field, what))
          .when(Condition.isPresent(path), route)
          .otherwise(new Pass(this, STATE.defaultField(field, what), { result: Result.fromString(value), resultPath: path }).next(route));
      }
      return claim.next(route);
    };

    // Incidents: publish, then (respond tier, just opened) the automated response.
    const incidentDone = new Succeed(this, 'IncidentDone');
    let afterIncident: IChainable = incidentDone;
    if (props.responseFunctionArn) {
      const responder: IFunction = LambdaFunction.fromFunctionArn(this, 'ResponseFunction', props.responseFunctionArn);
      const invoke = new LambdaInvoke(this, STATE.invokeResponse, {
        lambdaFunction: responder,
        payload: TaskInput.fromJsonPathAt('$.response'),
        invocationType: LambdaInvocationType.EVENT,
        resultPath: JsonPath.DISCARD,
      });
      invoke.addRetry({
        errors: ['Lambda.TooManyRequestsException', 'Lambda.ServiceException'],
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxAttempts: 4,
      });
      afterIncident = new Choice(this, STATE.shouldRespond)
        .when(Condition.booleanEquals('$.respond', true), invoke.next(incidentDone))
        .otherwise(incidentDone);
    }
    const forEachIncident = new MapState(this, STATE.forEachIncident, {
      itemsPath: '$.correlation.messages',
      maxConcurrency: 2,
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(publishPath('Incident', '$', afterIncident));

    const correlateEntity = new LambdaInvoke(this, STATE.correlateEntity, {
      lambdaFunction: this.correlateFunction.fn,
      payload: TaskInput.fromObject({
        entity: JsonPath.objectAt('$.entity'),
        member: JsonPath.stringAt('$.member'),
        key: JsonPath.stringAt('$.key'),
      }),
      payloadResponseOnly: true,
      resultSelector: { 'messages.$': '$.messages' },
      resultPath: '$.correlation',
    });
    correlateEntity.addRetry({
      errors: ['Lambda.TooManyRequestsException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'],
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxAttempts: 4,
    });
    // A record that kept losing races (every detector batch re-observing a flood correlates it, all
    // folding into one entity's record): by the time the task runs again the racers have spread
    // out. The task is idempotent (the record merges a member by id; conditions by observation id).
    correlateEntity.addRetry({
      errors: [LOST_RACE_ERROR],
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxAttempts: 3,
      jitterStrategy: JitterType.FULL,
    });
    const forEachEntity = new MapState(this, STATE.forEachEntity, {
      itemsPath: '$.entities',
      maxConcurrency: 4,
      itemSelector: {
        entity: JsonPath.objectAt('$$.Map.Item.Value'),
        member: JsonPath.stringAt('$.member'),
        key: JsonPath.stringAt('$.key'),
      },
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(correlateEntity.next(forEachIncident));

    const done = new Succeed(this, 'Done');
    const shouldCorrelate = new Choice(this, STATE.shouldCorrelate)
      .when(Condition.booleanEquals('$.correlate', true), forEachEntity.next(done))
      .otherwise(done);
    const main = new Choice(this, STATE.shouldPublish)
      .when(Condition.booleanEquals('$.publish', true), publishPath('Message', '$', shouldCorrelate))
      .otherwise(shouldCorrelate);

    // Any failure that survives its retries becomes a stack-health alert in the notify tier, and
    // fails the execution: the synchronous caller fails too, and its retry publishes what is pending.
    const healthAlert = new SnsPublish(this, STATE.healthAlert, {
      topic: topics.topics.notify,
      subject: 'Sentinel stack health: correlation failed',
      message: TaskInput.fromText(
        JsonPath.format(
          'Sentinel stack health: the correlation state machine failed; the detector retries the batch. Error: {} Cause: {} Execution: {}',
          JsonPath.stringAt('$.error.Error'),
          JsonPath.stringAt('$.error.Cause'),
          JsonPath.stringAt('$$.Execution.Id'),
        ),
      ),
      messageAttributes: {
        severity: { value: 'medium' },
        tier: { value: 'notify' },
        ruleId: { value: 'sentinel.stack_health' },
        status: { value: 'open' },
      },
      resultPath: JsonPath.DISCARD,
    });
    healthAlert.addRetry({ errors: [Errors.ALL], interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 5 });
    const guarded = new Parallel(this, 'Correlate', { resultPath: JsonPath.DISCARD }).branch(main);
    guarded.addCatch(healthAlert.next(new Fail(this, 'CorrelationFailed', { error: 'CorrelationFailed', causePath: '$.error.Cause' })), {
      errors: [Errors.ALL],
      resultPath: '$.error',
    });

    // Errors only by default: execution data holds alert JSON with evidence lines. Full data, when
    // asked for, goes to a log group under its own KMS key.
    const fullData = props.logExecutionData ?? false;
    const logKey = fullData
      ? new Key(this, 'LogKey', {
          description: 'Sentinel correlation execution logs',
          enableKeyRotation: true,
          removalPolicy: RemovalPolicy.RETAIN,
        })
      : undefined;
    if (logKey) {
      const stack = Stack.of(this);
      logKey.grantEncryptDecrypt(new ServicePrincipal(`logs.${stack.region}.amazonaws.com`));
    }
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(logKey ? { encryptionKey: logKey } : {}),
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.EXPRESS,
      definitionBody: DefinitionBody.fromChainable(guarded),
      timeout: Duration.seconds(45),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: fullData ? LogLevel.ALL : LogLevel.ERROR, includeExecutionData: fullData },
    });
    topics.grantPublishAll(this.stateMachine);
    // The dedup record only: claim and mark are UpdateItem.
    grantTableActions(table, this.stateMachine, 'dynamodb:UpdateItem');
  }
}
