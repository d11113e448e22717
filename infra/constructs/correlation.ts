import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Chain,
  Choice,
  Condition,
  DefinitionBody,
  Errors,
  Fail,
  type IChainable,
  JsonPath,
  LogLevel,
  Map as MapState,
  Parallel,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  type TaskStateBase,
} from 'aws-cdk-lib/aws-stepfunctions';
import {
  CallAwsService,
  DynamoAttributeValue,
  DynamoPutItem,
  DynamoUpdateItem,
  LambdaInvocationType,
  LambdaInvoke,
  SnsPublish,
} from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { AlertTopics, TierName } from './alert-topics';
import { SentinelFunction } from './sentinel-function';

export interface CorrelationProps {
  readonly table: Table;
  readonly topics: AlertTopics;
  readonly rulesFile: string;
  readonly logRetention: RetentionDays;
  /** Optional automated-response Lambda, invoked asynchronously with each respond-tier incident. */
  readonly responseFunctionArn?: string;
}

/** Errors worth retrying with backoff: throttling and service-side faults, never condition failures. */
const TRANSIENT_ERRORS = [
  'DynamoDB.ProvisionedThroughputExceededException',
  'DynamoDB.ThrottlingException',
  'DynamoDB.RequestLimitExceeded',
  'DynamoDB.InternalServerErrorException',
  'DynamoDb.InternalServerErrorException',
  'SNS.ThrottledException',
  'SNS.InternalErrorException',
  'SNS.KMSThrottlingException',
  Errors.TIMEOUT,
];

/** State names are the contract with the local runner (it overrides Task states by name). */
export const STATE = {
  recordDetection: 'RecordDetection',
  duplicate: 'DuplicateDetection',
  routeDetection: 'RouteDetection',
  publish: (tier: TierName, what: 'Detection' | 'Incident') => `Publish${what}${tier[0]?.toUpperCase()}${tier.slice(1)}`,
  forEachEntity: 'ForEachEntity',
  recordRisk: 'RecordRisk',
  queryRisk: 'QueryRisk',
  correlateEntity: 'CorrelateEntity',
  forEachIncident: 'ForEachIncident',
  claimIncident: 'ClaimIncident',
  updateIncident: 'UpdateIncidentMembers',
  routeIncident: 'RouteIncident',
  invokeResponse: 'InvokeAutomatedResponse',
  healthAlert: 'PublishHealthAlert',
} as const;

/**
 * The correlation state machine (Express: detections are short, frequent and idempotent, and
 * Express costs ~$1/M executions vs $25/M transitions for Standard; at-least-once delivery is
 * handled by the dedup item written first). Direct DynamoDB and SNS integrations do the I/O;
 * one Lambda runs the engine's pure correlation function.
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
    });

    const retry = <T extends TaskStateBase>(task: T): T => {
      task.addRetry({ errors: TRANSIENT_ERRORS, interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 4 });
      return task;
    };
    const publish = (tier: TierName, what: 'Detection' | 'Incident', base: string) =>
      retry(
        new SnsPublish(this, STATE.publish(tier, what), {
          topic: topics.topics[tier],
          message: TaskInput.fromJsonPathAt(`${base}.publish.message`),
          messagePerSubscriptionType: true,
          subject: JsonPath.stringAt(`${base}.publish.subject`),
          messageAttributes: {
            severity: { value: JsonPath.stringAt(`${base}.publish.severity`) },
            tier: { value: JsonPath.stringAt(`${base}.publish.tier`) },
            ruleId: { value: JsonPath.stringAt(`${base}.publish.ruleId`) },
          },
          resultPath: JsonPath.DISCARD,
        }),
      );

    // 1. Dedup + review store: the detection item is written once; a redelivery stops here.
    const recordDetection = retry(
      new DynamoPutItem(this, STATE.recordDetection, {
        table,
        item: {
          pk: DynamoAttributeValue.fromString(JsonPath.stringAt('$.dedupPk')),
          sk: DynamoAttributeValue.fromString('alert'),
          tier: DynamoAttributeValue.fromString(JsonPath.stringAt('$.publish.tier')),
          ruleId: DynamoAttributeValue.fromString(JsonPath.stringAt('$.publish.ruleId')),
          alert: DynamoAttributeValue.fromString(JsonPath.stringAt('$.member')),
          ttl: DynamoAttributeValue.numberFromString(JsonPath.stringAt('$.expiresAtEpochText')),
        },
        conditionExpression: 'attribute_not_exists(pk)',
        resultPath: JsonPath.DISCARD,
      }),
    );
    const duplicate = new Succeed(this, STATE.duplicate, { comment: 'already processed (at-least-once redelivery)' });
    recordDetection.addCatch(duplicate, { errors: ['DynamoDB.ConditionalCheckFailedException'], resultPath: JsonPath.DISCARD });

    // 2. Route the detection to its tier.
    const routeDetection = new Choice(this, STATE.routeDetection)
      .when(Condition.stringEquals('$.publish.tier', 'respond'), publish('respond', 'Detection', '$'))
      .when(Condition.stringEquals('$.publish.tier', 'notify'), publish('notify', 'Detection', '$'))
      .otherwise(publish('review', 'Detection', '$'))
      .afterwards();

    // 3. Per entity: record risk, read the window, correlate, raise incidents once per window.
    const recordRisk = retry(
      new DynamoPutItem(this, STATE.recordRisk, {
        table,
        item: {
          pk: DynamoAttributeValue.fromString(JsonPath.stringAt('$.entity.pk')),
          sk: DynamoAttributeValue.fromString(JsonPath.stringAt('$.memberSk')),
          rec: DynamoAttributeValue.fromString(JsonPath.stringAt('$.member')),
          ttl: DynamoAttributeValue.numberFromString(JsonPath.stringAt('$.expiresAtEpochText')),
        },
        resultPath: JsonPath.DISCARD,
      }),
    );
    const queryRisk = retry(
      new CallAwsService(this, STATE.queryRisk, {
        service: 'dynamodb',
        action: 'query',
        parameters: {
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk AND sk >= :from',
          ExpressionAttributeValues: { ':pk': { S: JsonPath.stringAt('$.entity.pk') }, ':from': { S: JsonPath.stringAt('$.entity.from') } },
          ProjectionExpression: 'rec',
          ScanIndexForward: false,
          Limit: 50,
        },
        iamResources: [table.tableArn],
        iamAction: 'dynamodb:Query',
        resultSelector: { 'items.$': '$.Items' },
        resultPath: '$.risk',
      }),
    );
    const correlateEntity = new LambdaInvoke(this, STATE.correlateEntity, {
      lambdaFunction: this.correlateFunction.fn,
      payload: TaskInput.fromObject({
        entity: { field: JsonPath.stringAt('$.entity.field'), value: JsonPath.stringAt('$.entity.value') },
        now: JsonPath.stringAt('$.now'),
        items: JsonPath.listAt('$.risk.items'),
      }),
      payloadResponseOnly: true,
      resultSelector: { 'incidents.$': '$.incidents' },
      resultPath: '$.correlation',
    });
    correlateEntity.addRetry({
      errors: ['Lambda.TooManyRequestsException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'],
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxAttempts: 4,
    });

    const claimIncident = retry(
      new DynamoUpdateItem(this, STATE.claimIncident, {
        table,
        key: { pk: DynamoAttributeValue.fromString(JsonPath.stringAt('$.markerPk')), sk: DynamoAttributeValue.fromString('incident') },
        updateExpression: 'SET incidentId = :id, expiresAtIso = :exp, #ttl = :ttl ADD mids :members',
        conditionExpression: 'attribute_not_exists(pk) OR expiresAtIso < :now',
        expressionAttributeNames: { '#ttl': 'ttl' },
        expressionAttributeValues: {
          ':id': DynamoAttributeValue.fromString(JsonPath.stringAt('$.alert.id')),
          ':exp': DynamoAttributeValue.fromString(JsonPath.stringAt('$.markerExpiresAt')),
          ':ttl': DynamoAttributeValue.numberFromString(JsonPath.stringAt('$.expiresAtEpochText')),
          ':members': DynamoAttributeValue.fromStringSet(JsonPath.listAt('$.memberIds')),
          ':now': DynamoAttributeValue.fromString(JsonPath.stringAt('$.now')),
        },
        resultPath: JsonPath.DISCARD,
      }),
    );
    // Already raised in this window: record the new members, do not page again.
    const updateIncident = retry(
      new DynamoUpdateItem(this, STATE.updateIncident, {
        table,
        key: { pk: DynamoAttributeValue.fromString(JsonPath.stringAt('$.markerPk')), sk: DynamoAttributeValue.fromString('incident') },
        updateExpression: 'ADD mids :members',
        expressionAttributeValues: { ':members': DynamoAttributeValue.fromStringSet(JsonPath.listAt('$.memberIds')) },
        resultPath: JsonPath.DISCARD,
      }),
    );
    claimIncident.addCatch(updateIncident, { errors: ['DynamoDB.ConditionalCheckFailedException'], resultPath: JsonPath.DISCARD });

    let respondIncident: IChainable | undefined;
    if (props.responseFunctionArn) {
      const responder: IFunction = LambdaFunction.fromFunctionArn(this, 'ResponseFunction', props.responseFunctionArn);
      const invoke = new LambdaInvoke(this, STATE.invokeResponse, {
        lambdaFunction: responder,
        payload: TaskInput.fromJsonPathAt('$.alert'),
        invocationType: LambdaInvocationType.EVENT,
        resultPath: JsonPath.DISCARD,
      });
      invoke.addRetry({
        errors: ['Lambda.TooManyRequestsException', 'Lambda.ServiceException'],
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxAttempts: 4,
      });
      respondIncident = Chain.start(publish('respond', 'Incident', '$').next(invoke));
    }
    const routeIncident = new Choice(this, STATE.routeIncident)
      .when(Condition.stringEquals('$.publish.tier', 'respond'), respondIncident ?? publish('respond', 'Incident', '$'))
      .when(Condition.stringEquals('$.publish.tier', 'notify'), publish('notify', 'Incident', '$'))
      .otherwise(publish('review', 'Incident', '$'));
    claimIncident.next(routeIncident);

    const forEachIncident = new MapState(this, STATE.forEachIncident, {
      itemsPath: '$.correlation.incidents',
      maxConcurrency: 2,
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(claimIncident);

    const forEachEntity = new MapState(this, STATE.forEachEntity, {
      itemsPath: '$.entities',
      maxConcurrency: 4,
      itemSelector: {
        entity: JsonPath.stringAt('$$.Map.Item.Value'),
        member: JsonPath.stringAt('$.member'),
        memberSk: JsonPath.stringAt('$.memberSk'),
        expiresAtEpochText: JsonPath.stringAt('$.expiresAtEpochText'),
        now: JsonPath.stringAt('$.detection.lastSeen'),
      },
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(recordRisk.next(queryRisk).next(correlateEntity).next(forEachIncident));

    const main = recordDetection.next(routeDetection).next(forEachEntity);

    // Any failure that survives its retries becomes a stack-health alert in the notify tier.
    const healthAlert = new SnsPublish(this, STATE.healthAlert, {
      topic: topics.topics.notify,
      subject: 'Sentinel stack health: correlation failed',
      message: TaskInput.fromText(
        JsonPath.format(
          'Sentinel stack health: the correlation state machine failed and a detection may not have been correlated. Error: {} Cause: {} Execution: {}',
          JsonPath.stringAt('$.error.Error'),
          JsonPath.stringAt('$.error.Cause'),
          JsonPath.stringAt('$$.Execution.Id'),
        ),
      ),
      messageAttributes: { severity: { value: 'medium' }, tier: { value: 'notify' }, ruleId: { value: 'sentinel.stack_health' } },
      resultPath: JsonPath.DISCARD,
    });
    healthAlert.addRetry({ errors: [Errors.ALL], interval: Duration.seconds(2), backoffRate: 2, maxAttempts: 5 });
    const guarded = new Parallel(this, 'Correlate', { resultPath: JsonPath.DISCARD }).branch(main);
    guarded.addCatch(healthAlert.next(new Fail(this, 'CorrelationFailed', { error: 'CorrelationFailed', causePath: '$.error.Cause' })), {
      errors: [Errors.ALL],
      resultPath: '$.error',
    });

    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.EXPRESS,
      definitionBody: DefinitionBody.fromChainable(guarded),
      timeout: Duration.minutes(2),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: true },
    });
    topics.grantPublishAll(this.stateMachine);
  }
}
