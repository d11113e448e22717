import { isPublicAddress } from '../../engine/entity-scope';
import { type NormalizedEvent, textValue } from '../../schema/event';
import { type BuiltinSource, base, EVENTBRIDGE_DELIVERY, has, serviceAlerts } from './builtin-source';
import { isInstanceId } from './cloudtrail';
import { accessKeyPrincipal, firstText } from './guardduty';

/**
 * AWS Security Hub findings as EventBridge delivers them to a CloudWatch Logs log group (a rule on
 * `source: aws.securityhub`; the stack's `securityHubFindings` setting makes it and the group).
 * Each event holds one finding (Security Hub sends them one by one), under `detail.findings.0`:
 * GuardDuty's, Inspector's, Macie's, IAM Access Analyzer's, Security Hub's own control checks, a
 * partner product's. Two formats, one set of fields: Security Hub CSPM's AWS Security Finding
 * Format (detail-type `Security Hub Findings - Imported`) and the Security Hub of December 2025's
 * OCSF findings (`Findings Imported V2`); the rules read `aws.securityhub.*` and never which
 * format it was.
 *
 * What the rules need is derived once here, so they stay readable: whether the finding is a
 * threat (its type is a tactic, an effect or unusual behaviour) or a weakness (a failed check, a
 * vulnerability, sensitive data), whether it is still live (not archived, suppressed, resolved or
 * passed, of a severity a rule tells), and the entities — the principal as the CloudTrail source
 * names it, the remote address, the affected resource.
 */

const FINDING = 'detail.findings.0.';

const isSecurityHubFinding = (l: string) =>
  has(l, '"detail-type"', '"aws.securityhub"') && (l.includes('Security Hub Findings - Imported') || l.includes('Findings Imported V2'));

/** ASFF type namespaces that say something is happening, not that something could. */
const THREAT_NAMESPACES = new Set(['TTPs', 'Effects', 'Unusual Behaviors']);

/** Where a finding's action names the remote address; a network finding's, by its direction. */
const REMOTE_ADDRESS_FIELDS = [
  `${FINDING}Action.AwsApiCallAction.RemoteIpDetails.IpAddressV4`,
  `${FINDING}Action.NetworkConnectionAction.RemoteIpDetails.IpAddressV4`,
  // GuardDuty's findings as Security Hub first imported them name the caller in their product fields only.
  ...guardDutyProductFields('action/awsApiCallAction/remoteIpDetails/ipAddressV4'),
  ...guardDutyProductFields('action/networkConnectionAction/remoteIpDetails/ipAddressV4'),
];

/** A GuardDuty product field's names: bare (`action/…`, as older findings have them) and under `aws/guardduty/service/`. */
function guardDutyProductFields(name: string): string[] {
  return [`${FINDING}ProductFields.${name}`, `${FINDING}ProductFields.aws/guardduty/service/${name}`];
}

type ComputeKind = 'instance' | 'function' | 'database' | 'task' | 'cluster';

/** ASFF's and OCSF's names of the resource types that are the stack's host entity (GuardDuty's source names them so). */
const COMPUTE_KIND: Readonly<Record<string, ComputeKind>> = {
  AwsEc2Instance: 'instance',
  AwsLambdaFunction: 'function',
  AwsRdsDbInstance: 'database',
  AwsEcsTask: 'task',
  AwsEksCluster: 'cluster',
  'AWS::EC2::Instance': 'instance',
  'AWS::Lambda::Function': 'function',
  'AWS::RDS::DBInstance': 'database',
  'AWS::ECS::Task': 'task',
  'AWS::EKS::Cluster': 'cluster',
};

/** Longer ids are not a resource's: whatever wrote them, they name no host. */
const MAX_RESOURCE_ID = 2048;

/** The finding's first resource as its entity (a bucket, an account, a key): its id, unless too long to be one. */
function resourceId(e: NormalizedEvent): string | undefined {
  const id = textValue(e['aws.securityhub.resource']);
  return id !== undefined && id.length <= MAX_RESOURCE_ID ? id : undefined;
}

/**
 * What names a compute resource as the host entity, from its ARN or bare id: an instance by its id,
 * a function, database or cluster by its name, a task by its ARN. Read by position, not a pattern,
 * so an id of any length and content costs one scan.
 */
function computeName(kind: ComputeKind, id: string): string | undefined {
  if (id.length > MAX_RESOURCE_ID) return undefined;
  const after = (marker: string) => {
    const at = id.lastIndexOf(marker);
    return at === -1 ? (id.startsWith('arn:') ? undefined : id) : id.slice(at + marker.length);
  };
  switch (kind) {
    case 'instance': {
      const name = after('instance/');
      return name && isInstanceId(name) ? name : undefined;
    }
    case 'function': {
      const at = id.indexOf(':function:');
      const name = at === -1 ? (id.startsWith('arn:') ? undefined : id) : id.slice(at + ':function:'.length).split(':')[0];
      return name || undefined;
    }
    case 'database':
      return after(':db:') || undefined;
    case 'cluster':
      return after(':cluster/') || undefined;
    case 'task':
      return id;
  }
}

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
      const name =
        textValue(e[`${prefix}Details.AwsIamAccessKey.PrincipalName`]) ?? textValue(e[`${prefix}Details.AwsIamAccessKey.UserName`]);
      const user = accessKeyPrincipal({
        // Older findings name the root user's key only by its user name, `Root`.
        type: textValue(e[`${prefix}Details.AwsIamAccessKey.PrincipalType`]) ?? (name === 'Root' ? 'Root' : undefined),
        name,
        principalId: textValue(e[`${prefix}Details.AwsIamAccessKey.PrincipalId`]),
        account,
      });
      if (user) found.user = user;
    }
    if (!found.user && type === 'AwsIamUser') {
      const user = textValue(e[`${prefix}Details.AwsIamUser.UserName`]) ?? id?.slice(id.lastIndexOf('/') + 1);
      if (user) found.user = user;
    }
    const kind = type ? COMPUTE_KIND[type] : undefined;
    const host = kind && id ? computeName(kind, id) : undefined;
    if (!found.host && host) found.host = host;
  }
  if (!found.user && !found.host) found.host = resourceId(e);
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
 * Sentinel's own alerts, imported as findings (config `securityHubExport`; src/alerts/security-hub-finding.ts),
 * have generator ids starting here: never live, so an alert never comes back as a finding about itself.
 */
export const SENTINEL_GENERATOR_PREFIX = 'sentinel/';

/**
 * The same finding as it may reach the OCSF feed (its id kept: a detection's or an incident's,
 * src/alerts/build.ts stableId) or any other way: Sentinel's own by its id's shape, its generator,
 * or its company and product both named Sentinel (Microsoft's Sentinel names its company).
 */
const SENTINEL_ALERT_ID = /^(det|inc)-[0-9a-f]{24}$/;
function isSentinelsOwn(e: NormalizedEvent, paths: { id: string; generator: string; company: string; product: string }): boolean {
  return (
    SENTINEL_ALERT_ID.test(textValue(e[`${FINDING}${paths.id}`]) ?? '') ||
    (textValue(e[`${FINDING}${paths.generator}`])?.startsWith(SENTINEL_GENERATOR_PREFIX) ?? false) ||
    (textValue(e[`${FINDING}${paths.company}`]) === 'Sentinel' && textValue(e[`${FINDING}${paths.product}`]) === 'Sentinel')
  );
}
const ASFF_OWN = { id: 'Id', generator: 'GeneratorId', company: 'CompanyName', product: 'ProductName' };
const OCSF_OWN = {
  id: 'finding_info.uid',
  generator: 'finding_info.analytic.uid',
  company: 'metadata.product.vendor_name',
  product: 'metadata.product.name',
};

/** The severities a rule tells (informational, and OCSF's unknown and other, are not). */
const TOLD_SEVERITIES = new Set(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);

/**
 * Still worth telling: not archived (its product retired it), not suppressed or resolved (a person
 * or an automation rule in Security Hub decided), not a passed check, of a severity the rules
 * tell, and not Sentinel's own alert.
 */
function isLive(e: NormalizedEvent): boolean {
  if (textValue(e[`${FINDING}RecordState`]) === 'ARCHIVED') return false;
  if (isSentinelsOwn(e, ASFF_OWN)) return false;
  const workflow = textValue(e[`${FINDING}Workflow.Status`]) ?? textValue(e[`${FINDING}WorkflowState`]);
  if (workflow === 'SUPPRESSED' || workflow === 'RESOLVED') return false;
  const compliance = textValue(e[`${FINDING}Compliance.Status`]);
  if (compliance === 'PASSED' || compliance === 'NOT_AVAILABLE') return false;
  return TOLD_SEVERITIES.has(textValue(e['aws.securityhub.severity']) ?? '');
}

/** GuardDuty's sample findings come through Security Hub too, marked in its product fields. */
const SAMPLE_FIELDS = guardDutyProductFields('additionalInfo/sample');
const isSample = (e: NormalizedEvent) => e[`${FINDING}Sample`] === true || SAMPLE_FIELDS.some((f) => textValue(e[f]) === 'true');

/** OCSF's finding classes that say something is happening (the rest: compliance, vulnerability, data security). */
const OCSF_DETECTION_FINDING = 2004;
const OCSF_VULNERABILITY_FINDING = 2002;
/** OCSF severity_id → ASFF's label (6, Fatal, is above critical: critical). */
const OCSF_SEVERITY = ['', 'INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'CRITICAL'];
/** Where an OCSF finding names the two ends of what it saw: its own endpoints, else its first evidence's. */
const OCSF_ENDPOINTS = ['src_endpoint.ip', 'dst_endpoint.ip', 'evidences.0.src_endpoint.ip', 'evidences.0.dst_endpoint.ip'].map(
  (f) => `${FINDING}${f}`,
);

/**
 * An OCSF finding in the fields the ASFF one fills: its severity label, whether it is a threat
 * (a Detection Finding from a product other than Security Hub itself — its exposure findings are
 * posture, however severe), whether it is live (status New or In Progress, compliance not Pass,
 * above informational), its principal, remote address and affected compute or resource.
 */
function deriveOcsf(e: NormalizedEvent): void {
  const severityId = Number(e[`${FINDING}severity_id`]);
  const caption = textValue(e[`${FINDING}severity`])?.toUpperCase();
  const label = caption === 'FATAL' ? 'CRITICAL' : (caption ?? OCSF_SEVERITY[severityId]);
  if (label) e['aws.securityhub.severity'] = label;
  const classUid = Number(e[`${FINDING}class_uid`]);
  const product = textValue(e['aws.securityhub.product']);
  e['event.category'] =
    classUid === OCSF_DETECTION_FINDING && product !== 'Security Hub'
      ? 'threat'
      : classUid === OCSF_VULNERABILITY_FINDING
        ? 'vulnerability'
        : 'configuration';
  const className = textValue(e[`${FINDING}class_name`]);
  if (className) e['rule.category'] = className;
  const status = textValue(e[`${FINDING}status`]);
  const compliance = textValue(e[`${FINDING}compliance.status`]);
  e['aws.securityhub.live'] =
    (status === undefined || status === 'New' || status === 'In Progress') &&
    compliance !== 'Pass' &&
    TOLD_SEVERITIES.has(label ?? '') &&
    !isSentinelsOwn(e, OCSF_OWN);
  e['aws.securityhub.sample'] = false;
  let user = textValue(e[`${FINDING}actor.user.name`]);
  let host: string | undefined;
  for (let i = 0; i < MAX_RESOURCES && (user === undefined || host === undefined); i++) {
    const prefix = `${FINDING}resources.${i}.`;
    const type = textValue(e[`${prefix}type`]);
    const uid = textValue(e[`${prefix}uid`]);
    if (type === undefined && uid === undefined) break;
    // GuardDuty's OCSF findings name the principal as the access key resource's data, not as an actor.
    if (user === undefined && type === 'AWS::IAM::AccessKey')
      user = accessKeyPrincipal({
        type: textValue(e[`${prefix}data.user_type`]),
        name: textValue(e[`${prefix}data.user_name`]) ?? textValue(e[`${prefix}name`]),
        principalId: textValue(e[`${prefix}data.principal_id`]),
        account: textValue(e['cloud.account.id']),
      });
    if (user === undefined && type === 'AWS::IAM::User') user = textValue(e[`${prefix}name`]) ?? uid?.slice(uid.lastIndexOf('/') + 1);
    const kind = type ? COMPUTE_KIND[type] : undefined;
    host ??= kind && uid ? computeName(kind, uid) : undefined;
  }
  if (user) e['user.name'] = user;
  host ??= user ? undefined : resourceId(e);
  if (host) e['host.name'] = host;
  // The remote end is whichever endpoint is on the internet (an instance's own address is not who acts).
  const remote = OCSF_ENDPOINTS.map((f) => textValue(e[f])).find((ip) => ip !== undefined && isPublicAddress(ip));
  if (remote) e['source.ip'] = remote;
}

/** The ASFF finding's own fields: its kind, whether it is live, its entities. */
function deriveAsff(e: NormalizedEvent): void {
  // `TTPs/Initial Access/UnauthorizedAccess:IAMUser-…` → TTPs; a finding with no type is a weakness.
  const type = textValue(e['aws.securityhub.type']) ?? '';
  const namespace = type.slice(0, type.includes('/') ? type.indexOf('/') : type.length);
  if (namespace) e['rule.category'] = namespace;
  e['event.category'] = THREAT_NAMESPACES.has(namespace) ? 'threat' : type.includes('/Vulnerabilities') ? 'vulnerability' : 'configuration';
  e['aws.securityhub.live'] = isLive(e);
  e['aws.securityhub.sample'] = isSample(e);
  const { user, host } = resourceEntities(e);
  if (user) e['user.name'] = user;
  if (host) e['host.name'] = host;
  const remote = firstText(e, REMOTE_ADDRESS_FIELDS) ?? networkRemote(e);
  if (remote) e['source.ip'] = remote;
}

const FINDINGS = serviceAlerts('securityhub_finding', 'aws.securityhub', ['threat', 'vulnerability', 'configuration']);

export const SECURITY_HUB: BuiltinSource = {
  definition: base('securityhub', 'AWS Security Hub findings (ASFF and OCSF), as EventBridge delivers them to CloudWatch Logs', 'json', {
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
    // OCSF (Findings Imported V2): its time is EventBridge's (`time`, read by the default map).
    [`${FINDING}finding_info.title`]: 'rule.name',
    [`${FINDING}finding_info.desc`]: 'rule.description',
    [`${FINDING}finding_info.uid`]: 'event.id',
    [`${FINDING}metadata.product.name`]: 'aws.securityhub.product',
    [`${FINDING}finding_info.types.0`]: 'aws.securityhub.type',
    [`${FINDING}resources.0.uid`]: 'aws.securityhub.resource',
    [`${FINDING}resources.0.type`]: 'aws.securityhub.resource_type',
    [`${FINDING}compliance.control`]: 'aws.securityhub.control',
    [`${FINDING}cloud.account.uid`]: 'cloud.account.id',
    [`${FINDING}cloud.region`]: 'cloud.region',
  }),
  patterns: [],
  recognize: isSecurityHubFinding,
  recognizedBy: ['"aws.securityhub"'],
  deliveredIn: EVENTBRIDGE_DELIVERY,
  derives: [
    ...FINDINGS.fields,
    'rule.category',
    'aws.securityhub.severity',
    'aws.securityhub.live',
    'aws.securityhub.sample',
    'user.name',
    'source.ip',
    'host.name',
  ],
  derivesOn: FINDINGS.derivesOn,
  derive: (e) => {
    FINDINGS.stamp(e);
    if (e[`${FINDING}class_uid`] !== undefined) deriveOcsf(e);
    else deriveAsff(e);
  },
};
