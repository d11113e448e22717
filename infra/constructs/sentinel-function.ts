import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface SentinelFunctionProps {
  /** Handler entry file. */
  readonly entry: string;
  /**
   * Rule bundle copied next to the handler as rules.json.
   * @default - none: a function that reads no rules
   */
  readonly rulesFile?: string;
  /**
   * More files copied next to the handler: name in the bundle → file at synth.
   * @default - the rule bundle only
   */
  readonly files?: Readonly<Record<string, string>>;
  /** Retention of the function's own log group (created here, not by Lambda, so it is the stack's to keep and delete). */
  readonly logRetention: RetentionDays;
  /**
   * Memory in MB (CPU comes with it).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * How long one invocation may run.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * Environment variables besides NODE_OPTIONS (source maps) and SENTINEL_ACCOUNT_ID (the stack's account).
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Reserved concurrency.
   * @default - none: the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Anything else `NodejsFunction` takes (a dead-letter queue, an on-failure destination, retry settings).
   * @default - none
   */
  readonly extra?: Partial<NodejsFunctionProps>;
}

/**
 * The one way this stack builds a Lambda: Node.js 22 on ARM64, X-Ray tracing, an explicit log
 * group with retention (no logRetention custom resource), local esbuild bundling (no Docker)
 * and, for the functions that read rules, the validated rule pack embedded next to the handler.
 */
export class SentinelFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: SentinelFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    this.fn = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      // The stack's account: alerts about another account's log groups link to them by ARN.
      environment: { NODE_OPTIONS: '--enable-source-maps', SENTINEL_ACCOUNT_ID: Stack.of(this).account, ...props.environment },
      bundling: {
        format: OutputFormat.CJS,
        target: 'node22',
        minify: true,
        sourceMap: true,
        forceDockerBundling: false,
        // The SDK v3 ships in the runtime, but bundling pins the version we test against.
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) => [
            ...(props.rulesFile === undefined ? [] : [`cp "${props.rulesFile}" "${output}/rules.json"`]),
            ...Object.entries(props.files ?? {}).map(([name, file]) => `cp "${file}" "${output}/${name}"`),
          ],
        },
      },
      ...props.extra,
    });
  }
}
