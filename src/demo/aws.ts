import type { Random } from './random';

/**
 * The demo's AWS-native logs, in the record formats AWS documents: CloudTrail records (in a
 * log group no source file names, as an organization trail often is), VPC Flow Logs v2 and a
 * Lambda function's logs. A day of quiet automation and a load balancer's health checks, and on
 * the attack day one account compromise, a port scan from the internet, a sweep from inside the
 * network and a burst of function timeouts.
 */
export const AWS_LOG_GROUPS = {
  cloudtrail: 'org-audit/management-events',
  flows: 'vpc/prod-flows',
  lambda: '/aws/lambda/checkout-api',
} as const;

export const AWS_ACCOUNT = '111122223333';
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

export interface AwsLine {
  group: string;
  stream: string;
  t: number;
  message: string;
}

interface Identity {
  type: 'IAMUser' | 'AssumedRole' | 'Root';
  name: string;
  /** An instance profile's session: the key the instance metadata service handed it (CloudTrail marks its calls). */
  instanceKey?: string;
}

/** A CloudTrail record (JSON, compact, as a trail delivers it to CloudWatch Logs). */
export function cloudTrailRecord(
  t: number,
  who: Identity,
  eventSource: string,
  eventName: string,
  opts: {
    ip?: string;
    agent?: string;
    region?: string;
    request?: unknown;
    response?: unknown;
    error?: string;
    extra?: Record<string, unknown>;
  } = {},
): string {
  const arn =
    who.type === 'Root'
      ? `arn:aws:iam::${AWS_ACCOUNT}:root`
      : who.type === 'AssumedRole'
        ? `arn:aws:sts::${AWS_ACCOUNT}:assumed-role/${who.name}`
        : `arn:aws:iam::${AWS_ACCOUNT}:user/${who.name}`;
  const userIdentity: Record<string, unknown> = {
    type: who.type,
    principalId: `AIDA${who.name.replace(/\W/g, '').toUpperCase().slice(0, 12)}`,
    arn,
    accountId: AWS_ACCOUNT,
  };
  if (who.type === 'IAMUser') userIdentity.userName = who.name;
  if (who.type === 'AssumedRole')
    userIdentity.sessionContext = {
      sessionIssuer: { type: 'Role', userName: who.name.split('/')[0] },
      ...(who.instanceKey ? { ec2RoleDelivery: '2.0' } : {}),
    };
  if (who.instanceKey) userIdentity.accessKeyId = who.instanceKey;
  return JSON.stringify({
    eventVersion: '1.09',
    userIdentity,
    eventTime: new Date(t).toISOString().replace('.000', ''),
    eventSource,
    eventName,
    awsRegion: opts.region ?? 'us-east-1',
    sourceIPAddress: opts.ip ?? '10.0.3.20',
    userAgent: opts.agent ?? (who.type === 'AssumedRole' ? 'aws-sdk-go-v2/1.30.0' : 'aws-cli/2.15.0'),
    requestParameters: opts.request ?? null,
    responseElements: opts.response ?? null,
    ...(opts.error ? { errorCode: opts.error, errorMessage: 'You are not authorized to perform this operation.' } : {}),
    eventID: `${t.toString(16)}-${eventName}`,
    eventType: eventName === 'ConsoleLogin' ? 'AwsConsoleSignIn' : 'AwsApiCall',
    recipientAccountId: AWS_ACCOUNT,
    ...opts.extra,
  });
}

/** Where the status page's web server reaches AWS from (its NAT gateway), and who took its key. */
const STATUS_WEB_NAT = '203.0.113.60';
export const STATUS_WEB_THIEF = '192.0.2.147';

/** The status page's web server's session at time t: its role, its instance, the key current then (rotated every 6 hours). */
function statusWebInstance(base: number, t: number): Identity {
  const rotation = Math.floor((t - base) / (6 * 60 * MIN));
  return { type: 'AssumedRole', name: 'status-web/i-0c0ffee1234567890', instanceKey: `ASIAZ7STATUSWEBKEY0${rotation}` };
}

/** A VPC Flow Logs v2 default-format record. */
export function flowRecord(
  t: number,
  src: string,
  dst: string,
  srcPort: number,
  dstPort: number,
  action: 'ACCEPT' | 'REJECT',
  packets = 4,
  bytes = 320,
): string {
  const start = Math.floor(t / 1000);
  return `2 ${AWS_ACCOUNT} eni-0a1b2c3d4e5f67890 ${src} ${dst} ${srcPort} ${dstPort} 6 ${packets} ${bytes} ${start} ${start + 60} ${action} OK`;
}

const uuid = (rnd: Random) => {
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[rnd.int(0, 15)]).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
};
const lambdaTime = (t: number) => new Date(t).toISOString();

export function awsTimeline(rnd: Random, base: number, options: { attack: boolean }) {
  const lines: AwsLine[] = [];
  const add = (group: string, stream: string, t: number, message: string) => lines.push({ group, stream, t: Math.round(t), message });
  const trail = (t: number, message: string) => add(AWS_LOG_GROUPS.cloudtrail, `${AWS_ACCOUNT}_CloudTrail_us-east-1`, t, message);
  const flows = (t: number, message: string) => add(AWS_LOG_GROUPS.flows, 'eni-0a1b2c3d4e5f67890-all', t, message);
  const lambda = (t: number, message: string) => add(AWS_LOG_GROUPS.lambda, '2025/03/03/[$LATEST]0123456789abcdef', t, message);
  const ci: Identity = { type: 'AssumedRole', name: 'ci-deployer/gh-actions' };

  // Automation since the day before: the CI role describes instances every 10 minutes, day and night.
  for (let t = base - DAY; t < base + DAY; t += 10 * MIN)
    trail(t + rnd.int(0, 30_000), cloudTrailRecord(t, ci, 'ec2.amazonaws.com', 'DescribeInstances', { request: { maxResults: 100 } }));
  // The attack day's network: busy internal HTTPS, public traffic to the load balancer, and
  // the internet's background of single probes on closed ports.
  for (let t = base; t < base + DAY; t += rnd.int(20_000, 40_000)) {
    flows(
      t,
      flowRecord(
        t,
        `10.0.2.${rnd.int(2, 60)}`,
        `10.0.1.${rnd.int(2, 20)}`,
        rnd.int(32768, 60999),
        443,
        'ACCEPT',
        rnd.int(5, 90),
        rnd.int(900, 90_000),
      ),
    );
    if (rnd.chance(0.5))
      flows(t + 1000, flowRecord(t + 1000, `198.51.100.${rnd.int(100, 199)}`, '10.0.1.10', rnd.int(32768, 60999), 443, 'ACCEPT'));
    if (rnd.chance(0.05))
      flows(
        t + 2000,
        flowRecord(
          t + 2000,
          `192.0.2.${rnd.int(1, 254)}`,
          '10.0.1.10',
          rnd.int(32768, 60999),
          rnd.pick([23, 445, 3306, 6379]),
          'REJECT',
          1,
          40,
        ),
      );
  }
  // 12:00–13:00: the checkout app calls the payments API without keep-alive, a new connection
  // (a new client port) every 6 s. Flow logs record both directions: the replies go from port 443
  // to a different client port each time, which is not a port scan of the client.
  for (let i = 0; i < 600; i++) {
    const t = base + 12 * 60 * MIN + i * 6_000;
    const clientPort = 32_768 + ((i * 7_919) % 28_000);
    flows(t, flowRecord(t, '10.0.4.7', '10.0.5.12', clientPort, 443, 'ACCEPT', 12, 4_200));
    flows(t + 5, flowRecord(t + 5, '10.0.5.12', '10.0.4.7', 443, clientPort, 'ACCEPT', 10, 9_800));
  }
  // 09:00–09:30: a load balancer's health checks of its target group's 30 targets on the app
  // port, every minute: one address reaching 30 hosts on one port, each admitting it — not a sweep.
  for (let m = 0; m < 30; m++)
    for (let target = 10; target < 40; target++) {
      const t = base + 9 * 60 * MIN + m * MIN + target * 100;
      flows(t, flowRecord(t, '10.0.0.12', `10.0.3.${target}`, 40_000 + m * 30 + target, 8080, 'ACCEPT', 6, 520));
    }
  // 08:50: an engineer signs in to the console through IAM Identity Center. CloudTrail records a
  // federated sign-in with MFAUsed "No": the identity provider did the MFA, not AWS.
  const sso: Identity = { type: 'AssumedRole', name: 'AWSReservedSSO_AdministratorAccess_0123456789abcdef/dana@example.com' };
  const signIn = base + 8 * 60 * MIN + 50 * MIN;
  trail(
    signIn,
    cloudTrailRecord(signIn, sso, 'signin.amazonaws.com', 'ConsoleLogin', {
      ip: '203.0.113.40',
      response: { ConsoleLogin: 'Success' },
      extra: { additionalEventData: { MobileVersion: 'No', MFAUsed: 'No' } },
    }),
  );
  // The status page's web server (an EC2 instance, role status-web) reads its settings from
  // Parameter Store every half hour through its subnet's NAT gateway, and its database password
  // from Secrets Manager through an interface endpoint (its private address). Its key, handed out
  // by the metadata service, rotates every 6 hours.
  for (let t = base; t < base + DAY; t += 30 * MIN) {
    const web = statusWebInstance(base, t);
    trail(
      t,
      cloudTrailRecord(t, web, 'ssm.amazonaws.com', 'GetParameter', { ip: STATUS_WEB_NAT, request: { name: '/status-page/settings' } }),
    );
    trail(
      t + 15 * MIN,
      cloudTrailRecord(t + 15 * MIN, web, 'secretsmanager.amazonaws.com', 'GetSecretValue', {
        ip: '10.0.3.44',
        request: { secretId: 'status-page/db' },
        extra: { vpcEndpointId: 'vpce-0a1b2c3d4e5f60718' },
      }),
    );
  }
  // 10:30: the pipeline deploys a new public load balancer: its security group opens HTTPS and
  // HTTP to the world, as every public load balancer's does.
  const deploy = base + 10 * 60 * MIN + 30 * MIN;
  trail(
    deploy,
    cloudTrailRecord(deploy, ci, 'ec2.amazonaws.com', 'AuthorizeSecurityGroupIngress', {
      request: {
        groupId: 'sg-0a1b2c3d4e5f60718',
        ipPermissions: {
          items: [443, 80].map((port) => ({
            ipProtocol: 'tcp',
            fromPort: port,
            toPort: port,
            groups: {},
            ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] },
            ipv6Ranges: {},
          })),
        },
      },
    }),
  );
  // 10:32: and its access-log bucket, whose policy refuses requests without TLS (CDK's enforceSSL):
  // a policy that names every principal, to deny them.
  trail(
    deploy + 2 * MIN,
    cloudTrailRecord(deploy + 2 * MIN, ci, 's3.amazonaws.com', 'PutBucketPolicy', {
      request: {
        bucketName: 'edge-access-logs',
        Host: 'edge-access-logs.s3.amazonaws.com',
        bucketPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Resource: ['arn:aws:s3:::edge-access-logs', 'arn:aws:s3:::edge-access-logs/*'],
            },
          ],
        },
        policy: [''],
      },
    }),
  );
  // A checkout function invoked every couple of minutes, with a steady trickle of handled errors.
  for (let t = base; t < base + DAY; t += rnd.int(60_000, 180_000)) {
    const id = uuid(rnd);
    lambda(t, `START RequestId: ${id} Version: $LATEST`);
    if (rnd.chance(0.1)) lambda(t + 40, `${lambdaTime(t + 40)}\t${id}\tERROR\tpayment declined by the card issuer (handled, returned 402)`);
    lambda(t + 95, `END RequestId: ${id}`);
    lambda(
      t + 96,
      `REPORT RequestId: ${id}\tDuration: ${rnd.int(40, 90)}.12 ms\tBilled Duration: 95 ms\tMemory Size: 256 MB\tMax Memory Used: 88 MB`,
    );
  }

  const expected: { ruleId: string; entity: string }[] = [];
  const incidents: { ruleId: string; entity: string }[] = [];
  if (!options.attack) return { lines, expected, incidents };

  // 10:05: the status page's instance key, fetched through the server-side request forgery the
  // web log shows at 09:52, used from the attacker's own machine: who am I, what buckets, what secrets.
  const stolen = base + 10 * 60 * MIN + 5 * MIN;
  const thief = statusWebInstance(base, stolen);
  const thiefAgent = 'aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-15-generic exe/x86_64.ubuntu.22 prompt/off';
  const calls = [
    ['sts.amazonaws.com', 'GetCallerIdentity'],
    ['s3.amazonaws.com', 'ListBuckets'],
    ['secretsmanager.amazonaws.com', 'ListSecrets'],
  ] as const;
  for (const [i, [source, call]] of calls.entries())
    trail(stolen + i * MIN, cloudTrailRecord(stolen + i * MIN, thief, source, call, { ip: STATUS_WEB_THIEF, agent: thiefAgent }));
  expected.push({ ruleId: 'aws.instance_credentials_used_elsewhere', entity: 'status-web' });
  // With the forged request from the same address, the theft is an incident.
  incidents.push({ ruleId: 'corr.cloud_credential_theft', entity: STATUS_WEB_THIEF });

  // 14:00: a stolen console password for m.silva, no MFA, from an unfamiliar address; the
  // attacker stops the trail, creates a backdoor user with a key and admin rights, resets another
  // administrator's console password, opens a role to their own account, and starts GPU instances
  // in a region the account never uses.
  const who: Identity = { type: 'IAMUser', name: 'm.silva' };
  const t0 = base + 14 * 60 * MIN;
  const ip = '198.51.100.250';
  trail(
    t0,
    cloudTrailRecord(t0, who, 'signin.amazonaws.com', 'ConsoleLogin', {
      ip,
      response: { ConsoleLogin: 'Success' },
      extra: { additionalEventData: { MFAUsed: 'No', LoginTo: 'https://console.aws.amazon.com/' } },
    }),
  );
  trail(
    t0 + 5 * MIN,
    cloudTrailRecord(t0 + 5 * MIN, who, 'cloudtrail.amazonaws.com', 'StopLogging', {
      ip,
      request: { name: `arn:aws:cloudtrail:us-east-1:${AWS_ACCOUNT}:trail/org-trail` },
    }),
  );
  trail(
    t0 + 8 * MIN,
    cloudTrailRecord(t0 + 8 * MIN, who, 'iam.amazonaws.com', 'CreateUser', { ip, request: { userName: 'backup-admin' } }),
  );
  trail(
    t0 + 9 * MIN,
    cloudTrailRecord(t0 + 9 * MIN, who, 'iam.amazonaws.com', 'CreateAccessKey', { ip, request: { userName: 'backup-admin' } }),
  );
  trail(
    t0 + 10 * MIN,
    cloudTrailRecord(t0 + 10 * MIN, who, 'iam.amazonaws.com', 'AttachUserPolicy', {
      ip,
      request: { userName: 'backup-admin', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
    }),
  );
  // A second way back in: another administrator's console password, set to one the attacker knows.
  trail(
    t0 + 11 * MIN,
    cloudTrailRecord(t0 + 11 * MIN, who, 'iam.amazonaws.com', 'UpdateLoginProfile', {
      ip,
      request: { userName: 'ops-admin', passwordResetRequired: false },
    }),
  );
  // A third: the break-glass role now trusts the attacker's own account.
  trail(
    t0 + 12 * MIN,
    cloudTrailRecord(t0 + 12 * MIN, who, 'iam.amazonaws.com', 'UpdateAssumeRolePolicy', {
      ip,
      request: {
        roleName: 'ops-breakglass',
        policyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${AWS_ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
            { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999988887777:root' }, Action: 'sts:AssumeRole' },
          ],
        }),
      },
    }),
  );
  trail(
    t0 + 15 * MIN,
    cloudTrailRecord(t0 + 15 * MIN, who, 'ec2.amazonaws.com', 'RunInstances', {
      ip,
      region: 'ap-southeast-3',
      request: { instanceType: 'p4d.24xlarge', minCount: 8, maxCount: 8 },
    }),
  );
  expected.push(
    { ruleId: 'aws.console_login_without_mfa', entity: 'm.silva' },
    { ruleId: 'aws.cloudtrail_tampering', entity: 'm.silva' },
    { ruleId: 'aws.iam_credentials_first_time', entity: 'm.silva' },
    { ruleId: 'aws.admin_policy_attached', entity: 'm.silva' },
    { ruleId: 'aws.console_password_reset_for_other_user', entity: 'm.silva' },
    { ruleId: 'aws.gpu_instances_first_launch', entity: 'm.silva' },
    { ruleId: 'aws.role_trust_external_account', entity: AWS_ACCOUNT },
    { ruleId: 'aws.new_region', entity: AWS_ACCOUNT },
  );
  incidents.push({ ruleId: 'corr.aws_account_compromise', entity: 'm.silva' });

  // 16:00: an internet scanner probes one host's ports, refused: background, for the review digest.
  const scan = base + 16 * 60 * MIN;
  for (let port = 1; port <= 40; port++)
    flows(scan + port * 2000, flowRecord(scan + port * 2000, '203.0.113.9', '10.0.1.10', 40_000 + port, port * 7, 'REJECT', 1, 40));
  expected.push({ ruleId: 'vpc.internet_port_scan', entity: '203.0.113.9' });

  // 17:00: the payment provider hangs; the checkout function times out again and again.
  const slow = base + 17 * 60 * MIN;
  for (let i = 0; i < 8; i++) {
    const id = uuid(rnd);
    const t = slow + i * 15_000;
    lambda(t, `START RequestId: ${id} Version: $LATEST`);
    lambda(t + 3001, `${lambdaTime(t + 3001)} ${id} Task timed out after 3.00 seconds`);
    lambda(t + 3002, `END RequestId: ${id}`);
    lambda(
      t + 3003,
      `REPORT RequestId: ${id}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 256 MB\tMax Memory Used: 91 MB\tStatus: timeout`,
    );
  }
  expected.push({ ruleId: 'lambda.timeout_spike', entity: 'checkout-api' });
  // 18:30: a compromised app server maps its next hop — SSH on 40 hosts of the database subnet,
  // refused by 34 of them and admitted by the 6 whose security groups let the app tier in.
  const sweep = base + 18 * 60 * MIN + 30 * MIN;
  for (let host = 10; host < 50; host++) {
    const t = sweep + host * 1500;
    const admitted = host % 7 === 0;
    flows(
      t,
      flowRecord(
        t,
        '10.0.2.77',
        `10.0.6.${host}`,
        45_000 + host,
        22,
        admitted ? 'ACCEPT' : 'REJECT',
        admitted ? 12 : 1,
        admitted ? 2_140 : 60,
      ),
    );
  }
  expected.push(
    { ruleId: 'vpc.port_scan_horizontal', entity: '10.0.2.77' },
    { ruleId: 'vpc.internal_admin_port_sweep', entity: '10.0.2.77' },
  );

  return { lines, expected, incidents };
}
