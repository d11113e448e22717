import { ConditionalCheckFailedException, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { StateMachine } from 'aws-local-stepfunctions';
import { z } from 'zod';
import { DynamoStateStore } from '../../functions/commons/adapters/dynamodb-state-store';
import { runCorrelateTask } from '../correlation/correlate-task';
import { envelopeOf } from '../correlation/envelope';
import { DEFAULT_DIGEST_INTERVAL_MS } from '../engine/digests';
import { CorrelationFailedError, type CorrelationSink } from '../engine/ports';
import type { StateStore } from '../engine/state-store';
import type { RulePack } from '../rules/rule-pack';
import { Alert, type Message } from '../schema/alert';
import { LOCAL_REGION, type SynthesizedMachine } from './machine';

// aws-local-stepfunctions uses Promise.withResolvers (Node 22); polyfill it for Node 20.
if (!('withResolvers' in Promise)) {
  Object.defineProperty(Promise, 'withResolvers', {
    value: <T>() => {
      let resolve: (v: T) => void = () => {};
      let reject: (e: unknown) => void = () => {};
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export interface Published {
  tier: string;
  subject?: string;
  /** The SNS message attributes subscription filter policies match on (severity, tier, ruleId, status, account). */
  attributes: Record<string, string>;
  alert?: Alert;
  /** Messages that are not alerts (stack-health). */
  raw?: string;
}

export interface RunnerOptions {
  /** Make publishing to these tiers fail (tests of the health-alert and retry paths). */
  failPublishTiers?: string[];
  digestInterval?: number;
  /** How long a page stands for its entity (src/engine/page-fold.ts); default 4 h. */
  pageFoldWindow?: number;
  /**
   * The correlate task's state: the detector's store, so that (as deployed, where both use one
   * table) an incident's page claim reaches the detections that follow. Default: a DynamoDB
   * store over the state machine's table.
   */
  store?: StateStore;
}

/** The shape of the dedup record updates the state machine makes (the local handler checks it before calling DynamoDB). */
const AttributeValue = z.union([z.object({ S: z.string() }), z.object({ N: z.string() })]);
const UpdateItemInput = z.object({
  TableName: z.string(),
  Key: z.record(z.string(), AttributeValue),
  UpdateExpression: z.string(),
  ConditionExpression: z.string().optional(),
  ExpressionAttributeNames: z.record(z.string(), z.string()).optional(),
  ExpressionAttributeValues: z.record(z.string(), AttributeValue).optional(),
});

const PublishParams = z.object({
  TopicArn: z.string(),
  Message: z.string(),
  Subject: z.string().optional(),
  MessageAttributes: z.record(z.string(), z.object({ DataType: z.string(), StringValue: z.string() })).optional(),
});
const JsonObject = z.record(z.string(), z.unknown());

interface TaskState {
  Type: 'Task';
  Resource: string;
}

function collectTasks(states: unknown, out: Map<string, TaskState>): void {
  const parsed = JsonObject.safeParse(states);
  if (!parsed.success) return;
  for (const [name, raw] of Object.entries(parsed.data)) {
    const state = JsonObject.safeParse(raw);
    if (!state.success) continue;
    const s = state.data;
    if (s.Type === 'Task' && typeof s.Resource === 'string') out.set(name, { Type: 'Task', Resource: s.Resource });
    for (const branch of Array.isArray(s.Branches) ? s.Branches : []) collectTasks(JsonObject.safeParse(branch).data?.States, out);
    const processor = JsonObject.safeParse(s.ItemProcessor ?? s.Iterator);
    if (processor.success) collectTasks(processor.data.States, out);
  }
}

function stateError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/**
 * Runs the synthesized correlation state machine in-process with aws-local-stepfunctions.
 * Task states are overridden with local adapters: DynamoDB calls go to a real local DynamoDB
 * API (dynalite), SNS publishes are collected, the correlate Lambda runs its handler logic
 * (on a DynamoDB state store over the same table), and the automated-response hook is recorded.
 * Like the deployed detector's synchronous call, a failed execution makes `send` throw.
 */
export class LocalCorrelationRunner implements CorrelationSink {
  readonly published: Published[] = [];
  readonly responses: unknown[] = [];
  readonly executions = { succeeded: 0, failed: 0 };
  private readonly machine: StateMachine;
  private readonly handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  private readonly retryOverrides: Record<string, number> = {};
  private readonly store: StateStore;
  private sequence = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    synthesized: SynthesizedMachine,
    private readonly pack: RulePack,
    private readonly dynamo: DynamoDBClient,
    private readonly options: RunnerOptions = {},
  ) {
    this.machine = new StateMachine(synthesized.definition, {
      validationOptions: { checkArn: false, checkPaths: false },
    });
    this.store = options.store ?? new DynamoStateStore(dynamo, synthesized.tableName);
    const tasks = new Map<string, TaskState>();
    collectTasks(synthesized.definition.States, tasks);
    for (const [name, task] of tasks) {
      this.handlers[name] = this.handlerFor(task.Resource, synthesized);
      this.retryOverrides[name] = 0;
    }
  }

  private handlerFor(resource: string, synthesized: SynthesizedMachine): (input: unknown) => Promise<unknown> {
    const dynamo = async (op: () => Promise<unknown>) => {
      try {
        return await op();
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException || (err instanceof Error && err.name === 'ConditionalCheckFailedException')) {
          throw stateError('DynamoDB.ConditionalCheckFailedException', 'The conditional request failed');
        }
        throw err;
      }
    };
    if (resource.endsWith(':dynamodb:updateItem'))
      return (p) => dynamo(() => this.dynamo.send(new UpdateItemCommand(UpdateItemInput.parse(p))));
    if (resource.endsWith(':sns:publish')) {
      return async (p) => {
        const params = PublishParams.parse(p);
        const tier = synthesized.topicTiers.get(params.TopicArn) ?? 'unknown';
        if (this.options.failPublishTiers?.includes(tier))
          throw stateError('SNS.InvalidParameterException', `local publish to ${tier} failed (test)`);
        const envelope = JsonObject.safeParse(safeJson(params.Message));
        const body = envelope.success && typeof envelope.data.default === 'string' ? safeJson(envelope.data.default) : undefined;
        const alert = Alert.safeParse(body);
        const attributes = Object.fromEntries(Object.entries(params.MessageAttributes ?? {}).map(([name, a]) => [name, a.StringValue]));
        this.published.push(
          alert.success
            ? { tier, subject: params.Subject, attributes, alert: alert.data }
            : { tier, subject: params.Subject, attributes, raw: params.Message },
        );
        return { MessageId: `local-${this.published.length}` };
      };
    }
    if (resource.endsWith(':lambda:invoke')) {
      return async (p) => {
        this.responses.push(JsonObject.parse(p).Payload);
        return { StatusCode: 202 };
      };
    }
    if (resource.includes(':lambda:') && resource.includes(':function:')) {
      return async (p) =>
        runCorrelateTask(p, {
          store: this.store,
          rules: this.pack.correlations,
          ctx: { region: LOCAL_REGION },
          digestInterval: this.options.digestInterval ?? DEFAULT_DIGEST_INTERVAL_MS,
          ...(this.options.pageFoldWindow !== undefined ? { pageFoldWindow: this.options.pageFoldWindow } : {}),
        });
    }
    return async () => {
      throw new Error(`no local handler for task resource ${resource}`);
    };
  }

  /** Runs one execution per message that is published or correlated, in order; returns the alerts published. */
  async send(messages: readonly Message[]): Promise<Alert[]> {
    const out: Alert[] = [];
    for (const m of messages) if (m.publish || m.correlate) out.push(...(await this.run(envelopeOf(m))));
    return out;
  }

  /**
   * One execution at a time, in the order they were asked for: what an execution published is read
   * off the shared list by position, so two at once would each claim the other's alerts (the
   * sweeper tells ten resolutions at once). The deployed sink runs executions side by side.
   */
  run(input: unknown): Promise<Alert[]> {
    const turn = this.queue.then(() => this.execute(input));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async execute(input: unknown): Promise<Alert[]> {
    const before = this.published.length;
    const execution = this.machine.run(JSON.parse(JSON.stringify(input)), {
      overrides: { taskResourceLocalHandlers: this.handlers as never, retryIntervalOverrides: this.retryOverrides },
      context: {
        Execution: {
          Id: `arn:aws:states:${LOCAL_REGION}:local:express:sentinel:${++this.sequence}`,
          Name: `local-${this.sequence}`,
          StartTime: new Date().toISOString(),
        },
      },
    });
    try {
      await execution.result;
      this.executions.succeeded++;
    } catch (err) {
      this.executions.failed++; // the machine published a stack-health alert before failing
      throw new CorrelationFailedError(
        `local correlation execution ${this.sequence} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return this.published.slice(before).flatMap((p) => (p.alert ? [p.alert] : []));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
