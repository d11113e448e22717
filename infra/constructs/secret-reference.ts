import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/** A Secrets Manager secret the deployment names in its config: by full ARN, or by name. */
export function secretByNameOrArn(scope: Construct, id: string, nameOrArn: string): ISecret {
  return nameOrArn.startsWith('arn:') ? Secret.fromSecretCompleteArn(scope, id, nameOrArn) : Secret.fromSecretNameV2(scope, id, nameOrArn);
}
