import { type NormalizedEvent, textValue } from '../../schema/event';
import { type BuiltinSource, base, has } from './builtin-source';
import { accessKeyPrincipal, firstText } from './guardduty';

/**
 * AWS Security Hub (CSPM) findings in the AWS Security Finding Format, as EventBridge delivers
 * them to a CloudWatch Logs log group (a rule on `source: aws.securityhub`, detail-type `Security
 * Hub Findings - Imported`; the stack's `securityHubFindings` setting makes both). Each event holds
 * one finding, under `detail.findings.0`: GuardDuty's, Inspector's, Macie's, IAM Access
 * Analyzer's, Security Hub's own control checks, a partner product's.
 *
 * What the rules need is derived once here, so they stay readable: whether the finding is a
 * threat (its type is a tactic, an effect or unusual behaviour) or a weakness (a failed check, a
 * vulnerability, sensitive data), whether it is still live (not archived, suppressed, resolved,
 * passed or informational), and the entities — the principal as the CloudTrail source names it,
 * the remote address, the affected resource.
 */

const FINDING = 'detail.findings.0.';

const isSecurityHubFinding = (l: string) => has(l, '"detail-type"', '"aws.securityhub"', 'Security Hub Findings - Imported');

/** ASFF type namespaces that say something is happening, not that something could. */
const THREAT_NAMESPACES = new Set(['TTPs', 'Effects', 'Unusual Behaviors']);

/** Where a finding's action names the remote address; a network finding's, by its direction. */
const REMOTE_ADDRESS_FIELDS = [
  `${FINDING}Action.AwsApiCallAction.RemoteIpDetails.IpAddressV4`,
  `${FINDING}Action.NetworkConnectionAction.RemoteIpDetails.IpAddressV4`,
];

/** A resource's type → the part of its id that names it as the stack's host entity does (GuardDuty's). */
const COMPUTE_ID: Readonly<Record<string, RegExp>> = {
  AwsEc2Instance: /instance\/(i-[0-9a-f]+)$/,
  AwsLambdaFunction: /:function:([^:]+)(?::[^:]+)?$/,
  AwsRdsDbInstance: /:db:([^:]+)$/,
  AwsEcsTask: /^(arn:.+:task\/.+)$/,
  AwsEksCluster: /:cluster\/(.+)$/,
};

/** How many of a finding's resources are looked at (a finding names a few; ASFF allows 32). */
const MAX_RESOURCES = 32;

/**
 * The principal and the affected host among the finding's resources: an access key's or IAM
 * user's principal; an instance, function, database, task or cluster as GuardDuty's source names
 * it; else the first resource's id, so a finding about a bucket or an account is its own entity
 * rather than merged with every other finding that names no host.
 */
function resourceEntities(e: NormalizedEvent): { user?: string; host?: string } {
  const found: { user?: string; host?: string } = {};
  const account = textValue(e[`${FINDING}AwsAccountId`]);
  for (let i = 0; i < MAX_RESOURCES; i++) {
    const prefix = `${FINDING}Resources.${i}.`;
    const type = textValue(e[`${prefix}Type`]);
    const id = textValue(e[`${prefix}Id`]);
    if (type === undefined && id === undefined) break;
    if (!found.user && type === 'AwsIamAccessKey') {
      const user = accessKeyPrincipal({
        type: textValue(e[`${prefix}Details.AwsIamAccessKey.PrincipalType`]),
        name: textValue(e[`${prefix}Details.AwsIamAccessKey.PrincipalName`]) ?? textValue(e[`${prefix}Details.AwsIamAccessKey.UserName`]),
        principalId: textValue(e[`${prefix}Details.AwsIamAccessKey.PrincipalId`]),
        account,
      });
      if (user) found.user = user;
    }
    if (!found.user && type === 'AwsIamUser') {
      const user = textValue(e[`${prefix}Details.AwsIamUser.UserName`]) ?? id?.slice(id.lastIndexOf('/') + 1);
      if (user) found.user = user;
    }
    const pattern = type ? COMPUTE_ID[type] : undefined;
    const host = pattern && id ? pattern.exec(id)?.[1] : undefined;
    if (!found.host && host) found.host = host;
  }
  if (!found.user && !found.host) {
    const first = textValue(e[`${FINDING}Resources.0.Id`]);
    if (first) found.host = first;
  }
  return found;
}

/** A network finding's remote end: the source of an inbound connection, the destination of an outbound one. */
function networkRemote(e: NormalizedEvent): string | undefined {
  const direction = textValue(e[`${FINDING}Network.Direction`]);
  if (direction === 'IN') return textValue(e[`${FINDING}Network.SourceIpV4`]) ?? textValue(e[`${FINDING}Network.SourceIpV6`]);
  if (direction === 'OUT') return textValue(e[`${FINDING}Network.DestinationIpV4`]) ?? textValue(e[`${FINDING}Network.DestinationIpV6`]);
  return undefined;
}

/**
 * Still worth telling: not archived (its product retired it), not suppressed or resolved (a person
 * or an automation rule in Security Hub decided), not a passed check, not informational.
 */
function isLive(e: NormalizedEvent): boolean {
  if (textValue(e[`${FINDING}RecordState`]) === 'ARCHIVED') return false;
  const workflow = textValue(e[`${FINDING}Workflow.Status`]) ?? textValue(e[`${FINDING}WorkflowState`]);
  if (workflow === 'SUPPRESSED' || workflow === 'RESOLVED') return false;
  const compliance = textValue(e[`${FINDING}Compliance.Status`]);
  if (compliance === 'PASSED' || compliance === 'NOT_AVAILABLE') return false;
  return textValue(e['aws.securityhub.severity']) !== 'INFORMATIONAL';
}

/** GuardDuty's sample findings come through Security Hub too, marked in its product fields. */
const isSample = (e: NormalizedEvent) =>
  textValue(e[`${FINDING}ProductFields.aws/guardduty/service/additionalInfo/sample`]) === 'true' || e[`${FINDING}Sample`] === true;

export const SECURITY_HUB: BuiltinSource = {
  definition: base('securityhub', 'AWS Security Hub findings (ASFF), as EventBridge delivers them to CloudWatch Logs', 'json', {
    [`${FINDING}UpdatedAt`]: '@timestamp',
    [`${FINDING}Title`]: 'rule.name',
    [`${FINDING}Description`]: 'rule.description',
    [`${FINDING}GeneratorId`]: 'rule.id',
    [`${FINDING}Id`]: 'event.id',
    [`${FINDING}Severity.Normalized`]: 'event.severity',
    [`${FINDING}Severity.Label`]: 'aws.securityhub.severity',
    [`${FINDING}ProductName`]: 'aws.securityhub.product',
    [`${FINDING}Types.0`]: 'aws.securityhub.type',
    [`${FINDING}Resources.0.Id`]: 'aws.securityhub.resource',
    [`${FINDING}Resources.0.Type`]: 'aws.securityhub.resource_type',
    [`${FINDING}Compliance.SecurityControlId`]: 'aws.securityhub.control',
    [`${FINDING}AwsAccountId`]: 'cloud.account.id',
    [`${FINDING}Region`]: 'cloud.region',
  }),
  patterns: [],
  recognize: isSecurityHubFinding,
  recognizedBy: ['"aws.securityhub"'],
  derives: [
    'event.kind',
    'event.action',
    'event.category',
    'event.dataset',
    'cloud.provider',
    'rule.category',
    'aws.securityhub.live',
    'aws.securityhub.sample',
    'user.name',
    'source.ip',
    'host.name',
  ],
  derivesOn: {
    'event.action': [{ values: ['securityhub_finding'] }],
    'event.dataset': [{ values: ['aws.securityhub'] }],
    'event.category': [{ values: ['threat', 'vulnerability', 'configuration'] }],
    'event.kind': [{ values: ['alert'] }],
    'cloud.provider': [{ values: ['aws'] }],
  },
  derive: (e) => {
    e['event.kind'] = 'alert';
    e['event.action'] = 'securityhub_finding';
    e['event.dataset'] = 'aws.securityhub';
    e['cloud.provider'] = 'aws';
    // `TTPs/Initial Access/UnauthorizedAccess:IAMUser-…` → TTPs; a finding with no type is a weakness.
    const type = textValue(e['aws.securityhub.type']) ?? '';
    const namespace = type.slice(0, type.includes('/') ? type.indexOf('/') : type.length);
    if (namespace) e['rule.category'] = namespace;
    e['event.category'] = THREAT_NAMESPACES.has(namespace)
      ? 'threat'
      : type.includes('/Vulnerabilities')
        ? 'vulnerability'
        : 'configuration';
    e['aws.securityhub.live'] = isLive(e);
    e['aws.securityhub.sample'] = isSample(e);
    const { user, host } = resourceEntities(e);
    if (user) e['user.name'] = user;
    if (host) e['host.name'] = host;
    const remote = firstText(e, REMOTE_ADDRESS_FIELDS) ?? networkRemote(e);
    if (remote) e['source.ip'] = remote;
  },
};
