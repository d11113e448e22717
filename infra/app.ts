import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig, SynthInputError } from './config';
import { SentinelStack } from './sentinel-stack';
import { SentinelSpokeStack } from './spoke-stack';
import { SentinelSpokeStackSet } from './spoke-stack-set';

try {
  const app = new App();
  // `-c sentinel='{…}'` arrives as a string; cdk.json context as an object.
  const raw: unknown = app.node.tryGetContext('sentinel');
  const config = parseConfig(typeof raw === 'string' ? parseJsonContext(raw) : raw);
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const { hubDestinationArn, stackSet } = config;
  if (config.mode === 'spoke' && hubDestinationArn) {
    // A member account: the spoke stack, and (from the management account) the StackSet that deploys it everywhere.
    const spokeConfig = { ...config, hubDestinationArn };
    new SentinelSpokeStack(app, app.node.tryGetContext('stackName') ?? 'SentinelSpoke', {
      config: spokeConfig,
      description: "Sentinel spoke: sends this account's log groups to the security account's hub",
    });
    if (stackSet)
      new SentinelSpokeStackSet(app, 'SentinelSpokeStackSet', {
        config: { ...spokeConfig, stackSet },
        env,
        description: 'Sentinel spokes for the organization (service-managed StackSet)',
      });
  } else {
    new SentinelStack(app, app.node.tryGetContext('stackName') ?? 'Sentinel', {
      config,
      env,
      description: 'Sentinel: CloudWatch Logs detection, correlation and tiered alerting',
    });
  }
  // cdk-nag AwsSolutions: findings are errors and fail synth.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
} catch (err) {
  // A bad config value or rule file is the user's to fix: say what and where, without a stack trace.
  if (!(err instanceof SynthInputError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}

function parseJsonContext(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SynthInputError(`invalid sentinel config: -c sentinel=… is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
