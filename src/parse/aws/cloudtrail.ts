import { type NormalizedEvent, textValue } from '../../schema/event';
import { BUCKET_POLICY_CALL, bucketPolicyAccess } from './bucket-policy';
import { type BuiltinSource, base, has } from './builtin-source';
import { ANYWHERE_MARKERS, INGRESS_CALLS, internetExposure } from './internet-exposure';
import { externalTrust, TRUST_POLICY_CALLS } from './role-trust';

/** CloudTrail records, as a trail delivers them to CloudWatch Logs: the caller from its identity, the account a record is about. */

const isCloudTrail = (l: string) => has(l, '"eventSource"', '"eventName"', '"userIdentity"');

/** An assumed-role session of an IAM Identity Center permission set: `assumed-role/AWSReservedSSO_<set>_<id>/<user>`. */
const SSO_SESSION = /^assumed-role\/AWSReservedSSO_[^/]+\/(.+)$/;

/** `assumed-role/<role>/<session>`: the role and the session name. */
const ASSUMED_ROLE = /^assumed-role\/([^/]+)\/(.+)$/;

/** An EC2 instance id, the session name of the role an instance's metadata service hands out. */
const INSTANCE_ID_TEXT = 'i-[0-9a-f]{8}(?:[0-9a-f]{9})?';
const INSTANCE_ID = new RegExp(`^${INSTANCE_ID_TEXT}$`);

/** Whether text is an EC2 instance id (8 or 17 hex digits), as every AWS source names a host. */
export const isInstanceId = (text: string): boolean => INSTANCE_ID.test(text);

/**
 * Session names machines generate: an ECS task id (32 hex digits), an EC2 instance id, the
 * defaults of the AWS SDKs and the CLI (`botocore-session-<time>`, `aws-sdk-js-<time>`, …), a
 * UUID, a bare number. A name a person or a pipeline chose (`alice`, `GitHubActions`, a Lambda
 * function's name) is kept.
 */
const MACHINE_SESSION = new RegExp(
  `^(?:[0-9a-f]{32}|${INSTANCE_ID_TEXT}|(?:botocore-session|aws-sdk-[a-z]+|aws-go-sdk|aws-dotnet-sdk-session)-\\d{9,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\\d{10,})$`,
  'i',
);

/** An ARN's resource: `arn:partition:service:region:account:` and then user/alice, assumed-role/Role/session, root. */
const arnResource = (arn: string) => arn.split(':').slice(5).join(':');

/**
 * The principal a CloudTrail record names: user name, role/session (the person, for Identity
 * Center sessions; the role, for sessions a machine named), root.
 */
export function principalName(e: NormalizedEvent): string | undefined {
  const type = textValue(e['userIdentity.type']);
  if (type === 'Root') return 'root';
  const userName = textValue(e['userIdentity.userName']);
  if (userName) return userName;
  const arn = textValue(e['userIdentity.arn']);
  if (arn) {
    const resource = arnResource(arn);
    // IAM Identity Center: the session is the person (their user name, usually an email), the role
    // only the permission set. The person is the same in every account; the role name is not theirs.
    const sso = SSO_SESSION.exec(resource);
    if (sso?.[1]) return sso[1];
    // A session name a machine generated says nothing about who: each ECS task, instance or SDK
    // client would be an entity of its own, and a fleet's calls (a burst, a sweep spread over
    // tasks) would be counted a task at a time. Such sessions are their role.
    const session = ASSUMED_ROLE.exec(resource);
    if (session?.[1] && session[2] && MACHINE_SESSION.test(session[2])) return session[1];
    const slash = resource.indexOf('/');
    return slash === -1 ? resource : resource.slice(slash + 1);
  }
  return (
    textValue(e['userIdentity.sessionContext.sessionIssuer.userName']) ??
    textValue(e['userIdentity.invokedBy']) ??
    textValue(e['userIdentity.principalId'])
  );
}

/**
 * The instance whose metadata service handed out the key a record was signed with: CloudTrail
 * marks such a key's calls (`ec2RoleDelivery`), and the session is named after the instance.
 */
function instanceOf(e: NormalizedEvent): string | undefined {
  if (e['userIdentity.sessionContext.ec2RoleDelivery'] === undefined) return undefined;
  const session = ASSUMED_ROLE.exec(arnResource(textValue(e['userIdentity.arn']) ?? ''))?.[2];
  return session !== undefined && INSTANCE_ID.test(session) ? session : undefined;
}

export const CLOUDTRAIL: BuiltinSource = {
  definition: base('cloudtrail', 'AWS CloudTrail records delivered to CloudWatch Logs', 'json', {
    eventTime: '@timestamp',
    eventName: 'event.action',
    eventSource: 'event.provider',
    eventType: 'event.kind',
    sourceIPAddress: 'source.address',
    'userIdentity.type': 'user.type',
    'userIdentity.principalId': 'user.id',
    userAgent: 'user_agent.original',
    errorCode: 'error.code',
    errorMessage: 'error.message',
    awsRegion: 'cloud.region',
    recipientAccountId: 'cloud.account.id',
  }),
  patterns: [],
  keepJson: ['requestParameters', 'responseElements', 'additionalEventData'],
  recognize: isCloudTrail,
  recognizedBy: ['eventSource'],
  // CloudTrail names its streams <account>_CloudTrail_<region>, numbered when one is not enough,
  // and an organization trail's with the organization's id first.
  deliveredIn: {
    stream: /^(?:o-[a-z0-9]{10,32}_)?\d{12}_CloudTrail_[a-z0-9-]+(?:_\d+)?$/,
    where: "CloudTrail's own log streams (<account>_CloudTrail_<region>)",
  },
  derives: [
    'user.name',
    'event.outcome',
    'event.category',
    'cloud.provider',
    'event.dataset',
    'aws.security_group.internet_ports',
    'aws.security_group.internet_exposure',
    'aws.s3.bucket_policy_access',
    'aws.iam.role_trust_external',
    'cloud.instance.id',
  ],
  derivesOn: {
    'event.outcome': [{ values: ['success', 'failure'] }],
    // A sign-in is named by its event name, IAM by its event source; anything else is configuration.
    'event.category': [
      { values: ['authentication'], markers: ['ConsoleLogin', 'GetSigninToken'] },
      { values: ['iam'], markers: ['iam.amazonaws.com'] },
      { values: ['configuration'] },
    ],
    'cloud.provider': [{ values: ['aws'] }],
    'event.dataset': [{ values: ['aws.cloudtrail'] }],
    // Only on a security group change whose request names a source of anywhere.
    'aws.security_group.internet_ports': [{ markers: ANYWHERE_MARKERS }],
    'aws.security_group.internet_exposure': [{ values: ['web', 'beyond_web'], markers: ANYWHERE_MARKERS }],
    // Only on a bucket policy change.
    'aws.s3.bucket_policy_access': [{ values: ['public', 'restricted'], markers: [BUCKET_POLICY_CALL] }],
    // Only on a trust policy set: the accounts it trusts (any values).
    'aws.iam.role_trust_external': [{ markers: [...TRUST_POLICY_CALLS.keys()] }],
    // Only on a call signed with an instance profile's key.
    'cloud.instance.id': [{ markers: ['ec2RoleDelivery'] }],
  },
  derive: (e) => {
    const name = principalName(e);
    if (name) e['user.name'] = name;
    const instance = instanceOf(e);
    if (instance) e['cloud.instance.id'] = instance;
    const action = textValue(e['event.action']);
    const failed = e['error.code'] !== undefined || e['responseElements.ConsoleLogin'] === 'Failure';
    e['event.outcome'] = failed ? 'failure' : 'success';
    e['event.category'] =
      action === 'ConsoleLogin' || action === 'GetSigninToken'
        ? 'authentication'
        : e['event.provider'] === 'iam.amazonaws.com'
          ? 'iam'
          : 'configuration';
    e['cloud.provider'] = 'aws';
    e['event.dataset'] = 'aws.cloudtrail';
    const request = action !== undefined && INGRESS_CALLS.has(action) ? textValue(e.requestParameters) : undefined;
    const exposure = request === undefined ? undefined : internetExposure(request);
    if (exposure) {
      e['aws.security_group.internet_ports'] = exposure.ports;
      e['aws.security_group.internet_exposure'] = exposure.exposure;
    }
    if (action === BUCKET_POLICY_CALL) e['aws.s3.bucket_policy_access'] = bucketPolicyAccess(textValue(e.requestParameters) ?? '');
    if (action !== undefined && TRUST_POLICY_CALLS.has(action)) {
      // The account the record is about; a record without one (rare) is the caller's own account's.
      const own = textValue(e['cloud.account.id']) ?? textValue(e['userIdentity.accountId']);
      const trusted = externalTrust(textValue(e.requestParameters) ?? '', action, own);
      if (trusted) e['aws.iam.role_trust_external'] = trusted;
    }
  },
};
