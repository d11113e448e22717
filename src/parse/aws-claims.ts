import type { FieldValue } from '../schema/event';

/**
 * Field values only AWS's own records give an event, through a built-in source: the dataset of an
 * AWS log (`aws.cloudtrail`, `aws.guardduty`, … and EKS's `kubernetes.audit`) and an AWS service
 * as the provider of an API call (`cloudtrail.amazonaws.com`). A JSON line that names them itself —
 * `{"event": {"provider": "cloudtrail.amazonaws.com", "action": "StopLogging"}, "user": {"name": …}}`,
 * a CloudTrail record in ECS's names, which an app that logs what a client sends would write
 * verbatim — is not AWS's record, and they are dropped from it before its source reads it. A
 * built-in source still sets them from the record's own keys (CloudTrail's `eventSource`).
 */
export function dropAwsClaims(raw: Record<string, FieldValue>): void {
  const dataset = raw['event.dataset'];
  if (typeof dataset === 'string' && isAwsDataset(dataset)) delete raw['event.dataset'];
  const provider = raw['event.provider'];
  if (typeof provider === 'string' && provider.trim().toLowerCase().endsWith('.amazonaws.com')) delete raw['event.provider'];
}

function isAwsDataset(dataset: string): boolean {
  const name = dataset.trim().toLowerCase();
  return name.startsWith('aws.') || name === 'kubernetes.audit';
}
