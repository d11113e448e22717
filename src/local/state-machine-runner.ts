import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { StateMachine } from 'aws-local-stepfunctions';
import { z } from 'zod';
import { runCorrelateTask } from '../correlation/correlate-task';
import { correlationInput, DEFAULT_RISK_LOOKBACK_MS } from '../correlation/envelope';
import type { CorrelationSink } from '../engine/ports';
import type { RulePack } from '../rules/rule-pack';
import { Alert } from '../schema/alert';
import { LOCAL_REGION, type SynthesizedMachine } from './synth-definition';

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
  alert?: Alert;
  /** Messages that are not alerts (stack-health). */
  raw?: string;
}

export interface RunnerOptions {
  /** Make publishing to these tiers fail (tests of the health-alert path). */
  failPublishTiers?: string[];
}

const PublishParams = z.object({ TopicArn: z.string(), Message: z.string(), Subject: z.string().optional() });
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
 * Task states are overridden by name with local adapters: DynamoDB calls go to a real local
 * DynamoDB API (dynalite), SNS publishes are collected, the correlate Lambda runs its handler
 * logic directly, and the automated-response hook is recorded.
 */
export class LocalCorrelationRunner implements CorrelationSink {
  readonly published: Published[] = [];
  readonly responses: unknown[] = [];
  readonly executions = { succeeded: 0, failed: 0 };
  private readonly machine: StateMachine;
  private readonly handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  private readonly retryOverrides: Record<string, number> = {};
  private readonly lookbackMs: number;
  private sequence = 0;

  constructor(
    synthesized: SynthesizedMachine,
    private readonly pack: RulePack,
    private readonly dynamo: DynamoDBClient,
    private readonly options: RunnerOptions = {},
  ) {
    this.machine = new StateMachine(synthesized.definition, {
      validationOptions: { checkArn: false, checkPaths: false },
    });
    this.lookbackMs = Math.max(DEFAULT_RISK_LOOKBACK_MS, ...pack.correlations.map((c) => c.correlation.window));
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
    if (resource.endsWith(':dynamodb:putItem'))
      return (p) => dynamo(() => this.dynamo.send(new PutItemCommand(p as PutItemCommand['input'])));
    if (resource.endsWith(':dynamodb:updateItem'))
      return (p) => dynamo(() => this.dynamo.send(new UpdateItemCommand(p as UpdateItemCommand['input'])));
    if (resource.endsWith(':aws-sdk:dynamodb:query'))
      return (p) => dynamo(() => this.dynamo.send(new QueryCommand(p as QueryCommand['input'])));
    if (resource.endsWith(':sns:publish')) {
      return async (p) => {
        const params = PublishParams.parse(p);
        const tier = synthesized.topicTiers.get(params.TopicArn) ?? 'unknown';
        if (this.options.failPublishTiers?.includes(tier))
          throw stateError('SNS.InvalidParameterException', `local publish to ${tier} failed (test)`);
        const envelope = JsonObject.safeParse(safeJson(params.Message));
        const body = envelope.success && typeof envelope.data.default === 'string' ? safeJson(envelope.data.default) : undefined;
        const alert = Alert.safeParse(body);
        this.published.push(
          alert.success ? { tier, subject: params.Subject, alert: alert.data } : { tier, subject: params.Subject, raw: params.Message },
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
      return async (p) => runCorrelateTask(p, this.pack.correlations, { region: LOCAL_REGION });
    }
    return async () => {
      throw new Error(`no local handler for task resource ${resource}`);
    };
  }

  /** Runs one execution per detection, in order; returns the alerts it published. */
  async send(detections: readonly Alert[]): Promise<Alert[]> {
    const out: Alert[] = [];
    for (const d of detections) out.push(...(await this.run(correlationInput(d, this.lookbackMs))));
    return out;
  }

  async run(input: unknown): Promise<Alert[]> {
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
    } catch {
      this.executions.failed++; // the machine published a stack-health alert before failing
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
