import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * Where a function's asynchronous invocations land once their retries are spent: encrypted,
 * TLS-only, kept 14 days and retained with the stack's evidence. `of` names the function in the
 * cdk-nag acknowledgement.
 */
export function failureQueue(scope: Construct, id: string, of: string): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.KMS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is itself the failure destination of ${of}; a DLQ for it would only move the same messages again.`,
  });
  return queue;
}
