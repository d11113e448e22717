import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from './config';
import { SentinelStack } from './sentinel-stack';

const app = new App();
const config = parseConfig(app.node.tryGetContext('sentinel'));
new SentinelStack(app, app.node.tryGetContext('stackName') ?? 'Sentinel', {
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'Sentinel: CloudWatch Logs detection, correlation and tiered alerting',
});
// cdk-nag AwsSolutions: findings are errors and fail synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
