import { describe, expect, it } from 'vitest';
import { exportToSecurityHub, type FindingContext, securityHubFinding } from '../src/alerts/security-hub-finding';
import { credentialAccessAlert as openedAlert } from './helpers';

const CTX: FindingContext = {
  productArn: 'arn:aws:securityhub:eu-west-1:999900001111:product/999900001111/default',
  account: '999900001111',
  region: 'eu-west-1',
  partition: 'aws',
  now: () => new Date('2025-03-03T10:30:00Z'),
};

describe('alerts as Security Hub findings (ASFF)', () => {
  it('a detection is a finding of the default product: its id, type by tactic, severity, entity, account, links — and nothing of the evidence lines', async () => {
    const alert = await openedAlert();
    const finding = securityHubFinding(alert, CTX);
    expect(finding).toMatchObject({
      SchemaVersion: '2018-10-08',
      Id: alert.id,
      ProductArn: CTX.productArn,
      GeneratorId: 'sentinel/auth.brute_force_user',
      // BatchImportFindings takes a finding only from the account it names: the deployment's.
      AwsAccountId: '999900001111',
      Types: ['TTPs/Credential Access/auth.brute_force_user'],
      Severity: { Label: 'HIGH', Original: 'high' },
      FindingProviderFields: { Severity: { Label: 'HIGH' }, Types: ['TTPs/Credential Access/auth.brute_force_user'] },
      Title: 'Brute force against j.chen',
      CreatedAt: alert.openedAt,
      FirstObservedAt: alert.firstSeen,
      LastObservedAt: alert.lastSeen,
      UpdatedAt: '2025-03-03T10:30:00.000Z',
      SourceUrl: alert.consoleUrl,
      Remediation: {
        Recommendation: {
          Text: 'Lock the account. Check where the attempts came from.',
          Url: 'https://runbooks.example.com/auth.brute_force_user',
        },
      },
      RecordState: 'ACTIVE',
      ProductFields: { 'sentinel/ruleId': 'auth.brute_force_user', 'sentinel/tier': 'respond', 'sentinel/account': '555555555555' },
    });
    // The user, then the address seen with it, as resources; the account they are in beside them.
    expect(finding?.Resources?.map((r) => r.Id)).toEqual(['user.name=j.chen', 'source.ip=192.0.2.66']);
    expect(finding?.Resources?.[0]?.Details?.Other).toEqual({ field: 'user.name', value: 'j.chen', account: '555555555555' });
    expect(JSON.stringify(finding)).not.toContain('Hunter2');
  });

  it('its escalation raises the same finding; its resolved notice archives it; digests, notices and the review tier are no findings', async () => {
    const alert = await openedAlert();
    const escalated = securityHubFinding({ ...alert, status: 'escalated', severity: 'critical' }, CTX);
    expect(escalated).toMatchObject({ Id: alert.id, FindingProviderFields: { Severity: { Label: 'CRITICAL', Original: 'critical' } } });
    expect(securityHubFinding({ ...alert, status: 'resolved' }, CTX)).toMatchObject({ Id: alert.id, RecordState: 'ARCHIVED' });
    expect(securityHubFinding({ ...alert, kind: 'digest' }, CTX)).toBeUndefined();
    expect(securityHubFinding({ ...alert, ruleId: 'sentinel.acknowledgement' }, CTX)).toBeUndefined();
    expect(securityHubFinding({ ...alert, tier: 'review', severity: 'low' }, CTX)).toBeUndefined();
    // A rule of no ATT&CK tactic (a fault): unusual behavior of an application. An address entity is the finding's network source.
    const fault = securityHubFinding({ ...alert, tags: [], entity: { field: 'source.ip', value: '2001:db8::7' } }, CTX);
    expect(fault?.Types).toEqual(['Unusual Behaviors/Application/auth.brute_force_user']);
    expect(fault?.Network).toEqual({ Direction: 'IN', SourceIpV6: '2001:db8::7' });
    // An instance in a known account is Security Hub's own resource type, beside GuardDuty's and Inspector's findings about it.
    const host = securityHubFinding(
      { ...alert, entity: { field: 'host.name', value: 'i-0c0ffee1234567890', account: '555555555555' } },
      CTX,
    );
    expect(host?.Resources?.[0]).toMatchObject({
      Type: 'AwsEc2Instance',
      Id: `arn:aws:ec2:${alert.cloud?.region ?? CTX.region}:555555555555:instance/i-0c0ffee1234567890`,
    });
    // Without a known account it stays `Other` (an ARN needs one); a name that only looks like one is not an instance.
    const nowhere = securityHubFinding({ ...alert, cloud: undefined, entity: { field: 'host.name', value: 'i-0c0ffee1234567890' } }, CTX);
    expect(nowhere?.Resources?.[0]?.Type).toBe('Other');
    const named = securityHubFinding({ ...alert, entity: { field: 'host.name', value: 'i-web-1', account: '555555555555' } }, CTX);
    expect(named?.Resources?.[0]?.Type).toBe('Other');
  });

  it('ASFF bounds: a title, description and entity of any length fit (256, 1,024 and 512 characters)', async () => {
    const alert = await openedAlert();
    const long = 'x'.repeat(5000);
    const finding = securityHubFinding({ ...alert, title: long, description: long, entity: { field: 'user.name', value: long } }, CTX);
    expect(finding?.Title?.length).toBeLessThanOrEqual(256);
    expect(finding?.Description?.length).toBeLessThanOrEqual(1024);
    expect(finding?.Resources?.[0]?.Id?.length).toBeLessThanOrEqual(512);
  });
});

describe('exporting queued messages, up to 100 a call', () => {
  it('imports the alerts in one call, an alert queued twice as its latest message, and skips what is no finding', async () => {
    const alert = await openedAlert();
    const calls: { Id?: string | undefined; FindingProviderFields?: unknown; RecordState?: string | undefined }[][] = [];
    const accepting = async (findings: (typeof calls)[number]) => {
      calls.push(findings);
      return { FailedCount: 0, FailedFindings: [] };
    };
    const other = { ...alert, id: 'det-other', ruleId: 'web.request_flood' };
    const outcome = await exportToSecurityHub(
      [
        { id: 'm1', body: JSON.stringify({ ...alert, status: 'escalated', severity: 'critical', lastSeen: '2025-03-03T10:05:00.000Z' }) },
        { id: 'm2', body: JSON.stringify(alert) },
        { id: 'm3', body: JSON.stringify(other) },
        { id: 'm4', body: JSON.stringify({ ...alert, kind: 'digest' }) },
        { id: 'm5', body: 'not json' },
      ],
      CTX,
      accepting,
    );
    expect(outcome).toEqual({
      imported: [alert.id, 'det-other'],
      skipped: [`m4: auth.brute_force_user ${alert.id} (digest, respond)`, 'm5: not an alert'],
      failed: [],
      refusals: [],
    });
    // One call; the alert opened and escalated in the same batch is its escalation, whatever the order they were queued in.
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[0]).toMatchObject({ Id: alert.id, FindingProviderFields: { Severity: { Label: 'CRITICAL' } } });
    const resolvedFirst = await exportToSecurityHub(
      [
        { id: 'r1', body: JSON.stringify({ ...alert, status: 'resolved' }) },
        { id: 'r2', body: JSON.stringify({ ...alert, status: 'escalated', severity: 'critical' }) },
      ],
      CTX,
      accepting,
    );
    expect(resolvedFirst.imported).toEqual([alert.id]);
    expect(calls[1]?.[0]?.RecordState).toBe('ARCHIVED');
    // Nothing to import: no call at all.
    expect(await exportToSecurityHub([{ id: 'x', body: '{"AlarmName":"x"}' }], CTX, accepting)).toMatchObject({ imported: [] });
    expect(calls).toHaveLength(2);
  });

  it('a finding Security Hub refuses fails the messages of its alert only, with the reason; a call that fails whole throws', async () => {
    const alert = await openedAlert();
    const other = { ...alert, id: 'det-other' };
    const refusing = async () => ({ FailedCount: 1, FailedFindings: [{ Id: alert.id, ErrorCode: 'InvalidInput', ErrorMessage: 'bad' }] });
    const batch = [
      { id: 'm1', body: JSON.stringify(alert) },
      { id: 'm2', body: JSON.stringify({ ...alert, status: 'reminder' }) },
      { id: 'm3', body: JSON.stringify(other) },
    ];
    expect(await exportToSecurityHub(batch, CTX, refusing)).toEqual({
      imported: ['det-other'],
      skipped: [],
      failed: ['m1', 'm2'],
      refusals: [`${alert.id}: InvalidInput bad`],
    });
    const throttled = async () => Promise.reject(new Error('TooManyRequestsException'));
    await expect(exportToSecurityHub(batch, CTX, throttled)).rejects.toThrow('TooManyRequestsException');
  });
});
