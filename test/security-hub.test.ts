import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { securityHubFinding } from '../src/alerts/security-hub-finding';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import type { NormalizedEvent } from '../src/schema/event';
import { credentialAccessAlert, eventBridgeLine, linesPayload, T0 } from './helpers';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const GROUP = '/aws/events/sentinel-securityhub-findings';

/** A Security Hub event as EventBridge writes it to CloudWatch Logs: one finding of this detail-type. */
const eventLine = (detailType: string, finding: Record<string, unknown>): string =>
  eventBridgeLine(detailType, 'aws.securityhub', { findings: [finding] }, { id: '8e5622f9-d81c-4d81-612a-9319e7ee2506' });

/** A Security Hub CSPM finding (ASFF, `Security Hub Findings - Imported`). */
function findingLine(finding: Record<string, unknown>): string {
  return eventLine('Security Hub Findings - Imported', {
    SchemaVersion: '2018-10-08',
    Id: 'arn:aws:securityhub:us-east-1:111122223333:finding/1',
    ProductName: 'Security Hub',
    AwsAccountId: '111122223333',
    Region: 'us-east-1',
    Types: ['Software and Configuration Checks/AWS Security Best Practices'],
    UpdatedAt: '2026-03-03T10:04:30.000Z',
    Severity: { Label: 'HIGH' },
    Title: 'a finding',
    Resources: [{ Type: 'AwsAccount', Id: 'AWS::::Account:111122223333' }],
    Workflow: { Status: 'NEW' },
    RecordState: 'ACTIVE',
    ...finding,
  });
}

/** A finding of the Security Hub of December 2025 (OCSF, `Findings Imported V2`). */
function ocsfLine(finding: Record<string, unknown>): string {
  return eventLine('Findings Imported V2', {
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_name: 'Findings',
    activity_name: 'Create',
    severity_id: 4,
    severity: 'High',
    status_id: 1,
    status: 'New',
    time: Date.parse('2026-03-03T10:04:30Z'),
    metadata: { version: '1.5.0', product: { name: 'GuardDuty', vendor_name: 'AWS' } },
    finding_info: {
      uid: 'arn:aws:guardduty:us-east-1:111122223333:detector/12abc/finding/2cb3',
      title: 'Credentials for the EC2 instance role web-server-role used from a remote AWS account.',
      types: ['UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS'],
    },
    cloud: { provider: 'AWS', region: 'us-east-1', account: { uid: '111122223333' } },
    actor: { user: { name: 'web-server-role', type: 'AssumedRole' } },
    src_endpoint: { ip: '203.0.113.50' },
    resources: [{ type: 'AWS::EC2::Instance', uid: 'arn:aws:ec2:us-east-1:111122223333:instance/i-0a1b2c3d4e5f67890' }],
    ...finding,
  });
}

/** The finding read as the pipeline reads a line of a group no source file names: recognized by its content. */
const read = (finding: Record<string, unknown>, format: (f: Record<string, unknown>) => string = findingLine): NormalizedEvent => {
  const line = format(finding);
  const r = normalizer.normalize(line, { logGroup: GROUP, logStream: 's', id: '1', timestamp: 0 }, normalizer.sourceFor(GROUP, line));
  if (!r.ok) throw new Error(r.skip.detail);
  expect(r.parsed).toBe(true);
  return r.event;
};

describe('Security Hub findings: who and what a finding is about', () => {
  it('the principal of an IAM user or an access key, the compute a resource list names, else the first resource', () => {
    const user = read({ Resources: [{ Type: 'AwsIamUser', Id: 'arn:aws:iam::111122223333:user/deploy-bot' }] });
    expect(user['user.name']).toBe('deploy-bot');
    expect(user['host.name']).toBeUndefined();
    const root = read({
      Resources: [{ Type: 'AwsIamAccessKey', Id: 'AWS::IAM::AccessKey:AKIA1', Details: { AwsIamAccessKey: { PrincipalType: 'Root' } } }],
    });
    expect(root['user.name']).toBe('root');
    // A security group listed before the instance it protects: the instance is the host.
    const instance = read({
      Resources: [
        { Type: 'AwsEc2SecurityGroup', Id: 'arn:aws:ec2:us-east-1:111122223333:security-group/sg-0abc' },
        { Type: 'AwsEc2Instance', Id: 'arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0' },
      ],
    });
    expect(instance['host.name']).toBe('i-0123456789abcdef0');
    const fn = read({ Resources: [{ Type: 'AwsLambdaFunction', Id: 'arn:aws:lambda:us-east-1:111122223333:function:checkout:live' }] });
    expect(fn['host.name']).toBe('checkout');
    // An account-level finding is the account's own entity, not merged with every other finding that names no host.
    expect(read({})['host.name']).toBe('AWS::::Account:111122223333');
  });

  it('an id that is no resource names no host, however long or repetitive: the finding is still read', () => {
    const hostile = `${':cluster/'.repeat(12_000)}\n`;
    const e = read({
      Resources: [
        { Type: 'AwsEksCluster', Id: hostile },
        { Type: 'AwsEc2Instance', Id: `arn:aws:ec2:us-east-1:111122223333:instance/${'i-'.repeat(5000)}` },
        { Type: 'AwsLambdaFunction', Id: 'arn:aws:lambda:us-east-1:111122223333:function:' },
      ],
    });
    expect(e['host.name']).toBeUndefined();
    expect(e['aws.securityhub.live']).toBe(true);
  });

  it("GuardDuty's findings as Security Hub first imported them: the root user's key by its user name, the caller in the product fields", () => {
    const e = read({
      Types: ['Software and Configuration Checks/AWS Security Best Practices/Policy:IAMUser-RootCredentialUsage'],
      Severity: { Label: 'LOW', Normalized: 20, Product: 2 },
      ProductName: 'GuardDuty',
      Resources: [
        { Type: 'AwsIamAccessKey', Id: 'AWS::IAM::AccessKey:ASIAEXAMPLEKEY000001', Details: { AwsIamAccessKey: { UserName: 'Root' } } },
      ],
      ProductFields: {
        'action/actionType': 'AWS_API_CALL',
        'action/awsApiCallAction/remoteIpDetails/ipAddressV4': '198.51.100.23',
        'aws/securityhub/ProductName': 'GuardDuty',
      },
    });
    // Named as the CloudTrail source names the root user, so its detections and this finding correlate.
    expect(e).toMatchObject({ 'user.name': 'root', 'source.ip': '198.51.100.23', 'event.category': 'configuration' });
    const sample = read({ ProductFields: { 'additionalInfo/sample': 'true' } });
    expect(sample['aws.securityhub.sample']).toBe(true);
  });

  it("a network finding's remote end by its direction: the source of what came in, the destination of what went out", () => {
    const inbound = { Direction: 'IN', SourceIpV4: '198.51.100.7', DestinationIpV4: '10.0.1.25' };
    const outbound = { Direction: 'OUT', SourceIpV4: '10.0.1.25', DestinationIpV4: '198.51.100.99' };
    expect(read({ Network: inbound })['source.ip']).toBe('198.51.100.7');
    expect(read({ Network: outbound })['source.ip']).toBe('198.51.100.99');
    expect(read({ Network: { SourceIpV4: '10.0.1.25' } })['source.ip']).toBeUndefined();
    // The API caller an action names comes first.
    const call = { ActionType: 'AWS_API_CALL', AwsApiCallAction: { RemoteIpDetails: { IpAddressV4: '203.0.113.50' } } };
    expect(read({ Network: outbound, Action: call })['source.ip']).toBe('203.0.113.50');
  });

  it('live only while nobody closed it: archived, suppressed, resolved, passed, not evaluated or informational are not', () => {
    expect(read({})['aws.securityhub.live']).toBe(true);
    expect(read({ Workflow: { Status: 'NOTIFIED' } })['aws.securityhub.live']).toBe(true);
    for (const closed of [
      { RecordState: 'ARCHIVED' },
      { Workflow: { Status: 'SUPPRESSED' } },
      { Workflow: { Status: 'RESOLVED' } },
      { Workflow: undefined, WorkflowState: 'RESOLVED' },
      { Compliance: { Status: 'PASSED' } },
      { Compliance: { Status: 'NOT_AVAILABLE' } },
      { Severity: { Label: 'INFORMATIONAL' } },
    ])
      expect(read(closed)['aws.securityhub.live'], JSON.stringify(closed)).toBe(false);
  });

  it('a threat by its type namespace; a vulnerability or a check is a weakness', () => {
    expect(read({ Types: ['TTPs/Initial Access/UnauthorizedAccess:IAMUser-ConsoleLogin'] })['event.category']).toBe('threat');
    expect(read({ Types: ['Effects/Data Exposure/Policy:S3-BucketBlockPublicAccessDisabled'] })['event.category']).toBe('threat');
    expect(read({ Types: ['Unusual Behaviors/User/Anomaly'] })['event.category']).toBe('threat');
    expect(read({ Types: ['Software and Configuration Checks/Vulnerabilities/CVE'] })['event.category']).toBe('vulnerability');
    expect(read({ Types: ['Sensitive Data Identifications/PII'] })['event.category']).toBe('configuration');
    expect(read({ Types: [] })['event.category']).toBe('configuration');
  });
});

describe('Security Hub findings in OCSF (Findings Imported V2) fill the same fields, so the same rules tell them', () => {
  it("a product's detection finding is a threat: its severity as ASFF's label, its actor, its remote end, its instance", () => {
    const e = read({}, ocsfLine);
    expect(e).toMatchObject({
      'event.dataset': 'aws.securityhub',
      'event.category': 'threat',
      'rule.name': 'Credentials for the EC2 instance role web-server-role used from a remote AWS account.',
      'event.id': 'arn:aws:guardduty:us-east-1:111122223333:detector/12abc/finding/2cb3',
      'aws.securityhub.product': 'GuardDuty',
      'aws.securityhub.severity': 'HIGH',
      'aws.securityhub.live': true,
      'user.name': 'web-server-role',
      'source.ip': '203.0.113.50',
      'host.name': 'i-0a1b2c3d4e5f67890',
      'cloud.account.id': '111122223333',
      '@timestamp': Date.parse('2026-03-03T10:04:30Z'),
    });
    // An instance's own private address is not who acts: the public end is.
    expect(read({ src_endpoint: { ip: '10.0.1.25' }, dst_endpoint: { ip: '198.51.100.99' } }, ocsfLine)['source.ip']).toBe('198.51.100.99');
    expect(read({ severity: 'Fatal', severity_id: 6 }, ocsfLine)['aws.securityhub.severity']).toBe('CRITICAL');
    expect(read({ severity: undefined, severity_id: 5 }, ocsfLine)['aws.securityhub.severity']).toBe('CRITICAL');
  });

  it("GuardDuty's principal as its access key resource names it, its caller in the evidence, as CloudTrail's records name them", () => {
    const e = read(
      {
        actor: undefined,
        src_endpoint: undefined,
        severity: 'Low',
        severity_id: 2,
        finding_info: {
          uid: 'f',
          title: 'An AWS CloudTrail trail main was disabled.',
          types: ['Stealth:IAMUser/CloudTrailLoggingDisabled'],
        },
        evidences: [{ api: { operation: 'DeleteTrail' }, src_endpoint: { ip: '198.51.100.61' } }],
        resources: [
          {
            type: 'AWS::IAM::AccessKey',
            uid: 'ASIAEXAMPLEKEY000002',
            name: 'ops-automation',
            // A session the SDK named: the role is who acted (src/parse/aws/cloudtrail.ts).
            data: {
              user_type: 'AssumedRole',
              user_name: 'ops-automation',
              principal_id: 'AROAEXAMPLEROLE00002:aws-go-sdk-1753152318418995274',
            },
          },
        ],
      },
      ocsfLine,
    );
    expect(e).toMatchObject({ 'user.name': 'ops-automation', 'source.ip': '198.51.100.61', 'event.category': 'threat' });
    expect(e['host.name']).toBeUndefined();
    const user = read(
      { actor: undefined, resources: [{ type: 'AWS::IAM::User', uid: 'arn:aws:iam::111122223333:user/deploy-bot' }] },
      ocsfLine,
    );
    expect(user['user.name']).toBe('deploy-bot');
  });

  it("a compliance, vulnerability or data finding is a weakness, and so is Security Hub's own exposure finding however severe", () => {
    const check = read(
      {
        class_uid: 2003,
        class_name: 'Compliance Finding',
        severity: 'Critical',
        severity_id: 5,
        metadata: { product: { name: 'Security Hub' } },
        compliance: { status: 'Fail', control: 'S3.8' },
        actor: undefined,
        src_endpoint: undefined,
        resources: [{ type: 'AWS::S3::Bucket', uid: 'arn:aws:s3:::acme-exports' }],
      },
      ocsfLine,
    );
    expect(check).toMatchObject({
      'event.category': 'configuration',
      'aws.securityhub.control': 'S3.8',
      'aws.securityhub.live': true,
      'host.name': 'arn:aws:s3:::acme-exports',
    });
    expect(read({ class_uid: 2002, class_name: 'Vulnerability Finding' }, ocsfLine)['event.category']).toBe('vulnerability');
    expect(read({ metadata: { product: { name: 'Security Hub' } } }, ocsfLine)['event.category']).toBe('configuration');
  });

  it('live only while new or in progress, failing and above informational', () => {
    expect(read({ status: 'In Progress', status_id: 2 }, ocsfLine)['aws.securityhub.live']).toBe(true);
    for (const closed of [
      { status: 'Suppressed', status_id: 3 },
      { status: 'Resolved', status_id: 4 },
      { status: 'Archived', status_id: 5 },
      { compliance: { status: 'Pass' } },
      { severity: 'Informational', severity_id: 1 },
    ])
      expect(read(closed, ocsfLine)['aws.securityhub.live'], JSON.stringify(closed)).toBe(false);
  });

  it('the shipped rules tell them by the same tiers as their ASFF twins', () => {
    const detector = new Detector(pack, new MemoryStateStore());
    const told = (e: NormalizedEvent) => [...detector.matchAll([e]).keys()].map((r) => r.rule.id);
    expect(told(read({}, ocsfLine))).toContain('aws.securityhub_high_finding');
    expect(told(read({}, findingLine))).not.toContain('aws.securityhub_high_finding');
    expect(told(read({ severity: 'Critical', severity_id: 5 }, ocsfLine))).toContain('aws.securityhub_critical_finding');
    expect(
      told(read({ class_uid: 2003, severity: 'Critical', metadata: { product: { name: 'Security Hub' } }, actor: undefined }, ocsfLine)),
    ).toContain('aws.securityhub_critical_weakness');
  });
});

describe('property: a finding is told by one Security Hub rule at most, and by one exactly when it is live', () => {
  const detector = new Detector(pack, new MemoryStateStore());
  const securityHubRules = (e: NormalizedEvent) =>
    [...detector.matchAll([e]).keys()].map((r) => r.rule.id).filter((id) => id.startsWith('aws.securityhub_'));
  const finding = fc.record({
    Types: fc.constantFrom(
      ['TTPs/Command and Control/Backdoor:EC2-C&CActivity.B'],
      ['Effects/Data Exfiltration/Exfiltration:S3-AnomalousBehavior'],
      ['Software and Configuration Checks/Vulnerabilities/CVE'],
      ['Software and Configuration Checks/Industry and Regulatory Standards'],
      ['Sensitive Data Identifications/PII/SensitiveData:S3Object-Personal'],
    ),
    Severity: fc.record({ Label: fc.constantFrom('INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL') }),
    Workflow: fc.record({ Status: fc.constantFrom('NEW', 'NOTIFIED', 'SUPPRESSED', 'RESOLVED') }),
    RecordState: fc.constantFrom('ACTIVE', 'ARCHIVED'),
    Compliance: fc.option(fc.record({ Status: fc.constantFrom('FAILED', 'PASSED', 'WARNING') }), { nil: undefined }),
    ProductFields: fc.constantFrom({}, { 'aws/guardduty/service/additionalInfo/sample': 'true' }),
  });
  it('on findings of every type, severity, workflow and state', () => {
    fc.assert(
      fc.property(finding, (f) => {
        const event = read(f);
        const told = securityHubRules(event);
        expect(told.length).toBe(event['aws.securityhub.live'] === true ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });
  const ocsf = fc.record({
    class_uid: fc.constantFrom(2002, 2003, 2004, 2006),
    severity: fc.constantFrom('Unknown', 'Informational', 'Low', 'Medium', 'High', 'Critical', 'Fatal', 'Other'),
    status: fc.constantFrom('New', 'In Progress', 'Suppressed', 'Resolved'),
    compliance: fc.option(fc.record({ status: fc.constantFrom('Fail', 'Pass', 'Warning') }), { nil: undefined }),
    metadata: fc.constantFrom(
      { product: { name: 'GuardDuty' } },
      { product: { name: 'Security Hub' } },
      { product: { name: 'Inspector' } },
    ),
  });
  it('on OCSF findings of every class, severity, status and product', () => {
    fc.assert(
      fc.property(ocsf, (f) => {
        const event = read(f, ocsfLine);
        const told = securityHubRules(event);
        expect(told.length).toBe(event['aws.securityhub.live'] === true ? 1 : 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Security Hub switched on: the backlog it sends at once is a handful of messages, not hundreds', () => {
  it('200 buckets failing a critical check and 600 weaker findings: three told, one outbreak notice, the rest for the digest', async () => {
    const critical = Array.from({ length: 200 }, (_, i) =>
      findingLine({
        Id: `arn:aws:securityhub:us-east-1:111122223333:security-control/S3.8/finding/${i}`,
        Severity: { Label: 'CRITICAL' },
        Compliance: { Status: 'FAILED', SecurityControlId: 'S3.8' },
        Resources: [{ Type: 'AwsS3Bucket', Id: `arn:aws:s3:::bucket-${i}` }],
      }),
    );
    const weaker = Array.from({ length: 600 }, (_, i) =>
      findingLine({
        Id: `arn:aws:securityhub:us-east-1:111122223333:security-control/EC2.18/finding/${i}`,
        Severity: { Label: i % 2 ? 'HIGH' : 'MEDIUM' },
        Compliance: { Status: 'FAILED', SecurityControlId: 'EC2.18' },
        Resources: [{ Type: 'AwsEc2SecurityGroup', Id: `arn:aws:ec2:us-east-1:111122223333:security-group/sg-${i}` }],
      }),
    );
    const detector = new Detector(pack, new MemoryStateStore());
    const result = await processPayload(linesPayload(GROUP, [...critical, ...weaker], T0, 10), normalizer, detector);
    const opened = result.messages.filter((m) => m.alert.status === 'open');
    // Every finding is an alert (correlated, and in the digest), one per resource...
    expect(opened.filter((m) => m.alert.ruleId === 'aws.securityhub_critical_weakness')).toHaveLength(200);
    expect(opened.filter((m) => m.alert.ruleId === 'aws.securityhub_weakness')).toHaveLength(600);
    // ...but the team is sent four: the first three, then one telling the rest are held.
    const published = opened.filter((m) => m.publish);
    expect(published.map((m) => m.alert.tier)).toEqual(['notify', 'notify', 'notify', 'notify']);
    expect(published[3]?.alert.outbreak?.heldUntil).toBeDefined();
    expect(opened.filter((m) => !m.publish).every((m) => m.digest)).toBe(true);
  });
});

describe("Sentinel's own alerts, exported to Security Hub (securityHubExport)", () => {
  it('never come back as findings about themselves: the source reads them as not live, and no rule fires; another generator’s same finding does', async () => {
    const alert = await credentialAccessAlert();
    const ctx = {
      productArn: 'arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default',
      account: '111122223333',
      region: 'us-east-1',
      partition: 'aws',
      now: () => new Date(T0),
    };
    const finding = securityHubFinding(alert, ctx);
    if (!finding) throw new Error('no finding');
    const own = eventLine('Security Hub Findings - Imported', { ...finding });
    const other = eventLine('Security Hub Findings - Imported', {
      ...finding,
      Id: 'custom-finding-1',
      CompanyName: 'Acme',
      GeneratorId: 'custom/brute-force-detector',
    });
    expect(read({}, () => own)['aws.securityhub.live']).toBe(false);
    expect(read({}, () => other)['aws.securityhub.live']).toBe(true);
    const run = async (line: string) =>
      (await processPayload(linesPayload(GROUP, [line]), normalizer, new Detector(pack, new MemoryStateStore()))).alerts.map(
        (a) => a.ruleId,
      );
    expect(await run(own)).toEqual([]);
    expect(await run(other)).toEqual(['aws.securityhub_high_finding']);
    // However it comes back: under another generator but its own id, as Sentinel's product, or through the OCSF feed with its id.
    expect(read({}, () => eventLine('Security Hub Findings - Imported', { ...finding, GeneratorId: 'x' }))['aws.securityhub.live']).toBe(
      false,
    );
    const renamed = { ...finding, Id: 'other-1', GeneratorId: 'x' };
    expect(read({}, () => eventLine('Security Hub Findings - Imported', renamed))['aws.securityhub.live']).toBe(false);
    expect(
      read({}, () => eventLine('Security Hub Findings - Imported', { ...renamed, CompanyName: 'Microsoft' }))['aws.securityhub.live'],
    ).toBe(true);
    expect(read({ finding_info: { uid: alert.id, title: alert.title } }, ocsfLine)['aws.securityhub.live']).toBe(false);
    expect(read({ finding_info: { uid: 'arn:aws:guardduty:x', title: alert.title } }, ocsfLine)['aws.securityhub.live']).toBe(true);
  });
});
