import { type NormalizedEvent, textValue } from '../../schema/event';
import { type BuiltinSource, base, EVENTBRIDGE_DELIVERY, has, serviceAlerts } from './builtin-source';
import { principalName } from './cloudtrail';

/**
 * Amazon GuardDuty findings, as EventBridge delivers them to a CloudWatch Logs log group (a rule
 * on `source: aws.guardduty` with the group as its target; the stack's `guardDuty` setting makes
 * both): `{"detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":{"type":
 * "UnauthorizedAccess:EC2/SSHBruteForce","severity":8,"title":…,"resource":{…},"service":{…}}}`.
 *
 * A finding is named by the same entities as the stack's own detections — the caller's address,
 * the principal (as CloudTrail's records name it), the instance — so correlation meets them: a
 * principal GuardDuty saw calling from a Tor exit and the stack saw harvesting secrets is one
 * incident. GuardDuty sends a finding again when it updates it (its count grows); the rules'
 * alert lifecycle makes those updates, not new pages.
 */

const isGuardDutyFinding = (l: string) => has(l, '"detail-type"', '"aws.guardduty"', 'GuardDuty Finding');

/** Where a finding's action names the remote address (the first of a port probe's). */
const REMOTE_ADDRESS_FIELDS = [
  'detail.service.action.networkConnectionAction.remoteIpDetails.ipAddressV4',
  'detail.service.action.awsApiCallAction.remoteIpDetails.ipAddressV4',
  'detail.service.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV4',
  'detail.service.action.rdsLoginAttemptAction.remoteIpDetails.ipAddressV4',
  'detail.service.action.portProbeAction.portProbeDetails.0.remoteIpDetails.ipAddressV4',
  'detail.service.action.networkConnectionAction.remoteIpDetails.ipAddressV6',
  'detail.service.action.awsApiCallAction.remoteIpDetails.ipAddressV6',
];

/** What the affected host is called: an EC2 instance's id, an ECS task's or EKS workload's name. */
const HOST_FIELDS = [
  'detail.resource.instanceDetails.instanceId',
  'detail.resource.ecsClusterDetails.taskDetails.arn',
  'detail.resource.kubernetesDetails.kubernetesWorkloadDetails.name',
  'detail.resource.rdsDbInstanceDetails.dbInstanceIdentifier',
  'detail.resource.lambdaDetails.functionName',
];

/**
 * The principal, named as the CloudTrail source names it (src/parse/aws/cloudtrail.ts): an IAM
 * user by name, root as `root`, a role's session as `role/session` (an Identity Center session as
 * its person, a session a machine named as its role); a Kubernetes user by its user name.
 */
function principalOf(e: NormalizedEvent): string | undefined {
  return (
    accessKeyPrincipal({
      type: textValue(e['detail.resource.accessKeyDetails.userType']),
      name: textValue(e['detail.resource.accessKeyDetails.userName']),
      principalId: textValue(e['detail.resource.accessKeyDetails.principalId']),
      account: textValue(e['detail.accountId']),
    }) ?? textValue(e['detail.resource.kubernetesDetails.kubernetesUserDetails.username'])
  );
}

/**
 * The principal behind an access key a finding names (GuardDuty's accessKeyDetails, Security
 * Hub's AwsIamAccessKey), as the CloudTrail source names it: root as `root`, an IAM user by name,
 * a role's session as CloudTrail's ARN of it would be named.
 */
export function accessKeyPrincipal(key: {
  type: string | undefined;
  name: string | undefined;
  principalId: string | undefined;
  account: string | undefined;
}): string | undefined {
  if (key.type === 'Root') return 'root';
  if (key.type === 'AssumedRole' && key.name && key.principalId?.includes(':')) {
    const session = key.principalId.slice(key.principalId.indexOf(':') + 1);
    return principalName({
      'userIdentity.type': 'AssumedRole',
      'userIdentity.arn': `arn:aws:sts::${key.account ?? ''}:assumed-role/${key.name}/${session}`,
    });
  }
  return key.name;
}

export function firstText(e: NormalizedEvent, fields: readonly string[]): string | undefined {
  for (const field of fields) {
    const value = textValue(e[field]);
    if (value) return value;
  }
  return undefined;
}

const FINDINGS = serviceAlerts('guardduty_finding', 'aws.guardduty', ['threat']);

export const GUARDDUTY: BuiltinSource = {
  definition: base('guardduty', 'Amazon GuardDuty findings, as EventBridge delivers them to CloudWatch Logs', 'json', {
    'detail.updatedAt': '@timestamp',
    'detail.type': 'rule.name',
    'detail.title': 'rule.description',
    'detail.id': 'event.id',
    'detail.severity': 'event.severity',
    'detail.accountId': 'cloud.account.id',
    'detail.region': 'cloud.region',
    'detail.resource.instanceDetails.instanceId': 'cloud.instance.id',
    'detail.resource.accessKeyDetails.accessKeyId': 'aws.access_key_id',
    'detail.service.action.awsApiCallAction.api': 'aws.api',
    'detail.service.action.dnsRequestAction.domain': 'dns.question.name',
  }),
  patterns: [],
  recognize: isGuardDutyFinding,
  recognizedBy: ['"aws.guardduty"'],
  deliveredIn: EVENTBRIDGE_DELIVERY,
  derives: [...FINDINGS.fields, 'rule.category', 'user.name', 'source.ip', 'host.name'],
  derivesOn: FINDINGS.derivesOn,
  derive: (e) => {
    FINDINGS.stamp(e);
    e['event.category'] = 'threat';
    // The finding type's threat purpose: `Recon:EC2/PortProbeUnprotectedPort` → Recon.
    const type = textValue(e['rule.name']);
    const colon = type?.indexOf(':') ?? -1;
    if (type && colon > 0) e['rule.category'] = type.slice(0, colon);
    const principal = principalOf(e);
    if (principal) e['user.name'] = principal;
    const remote = firstText(e, REMOTE_ADDRESS_FIELDS);
    if (remote) e['source.ip'] = remote;
    const host = firstText(e, HOST_FIELDS);
    if (host) e['host.name'] = host;
  },
};
