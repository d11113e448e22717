import { describe, expect, it } from 'vitest';
import { internetExposure } from '../src/parse/aws/internet-exposure';
import { Normalizer } from '../src/parse/normalize';
import { TRAIL_STREAM } from './helpers';

const permission = (protocol: string, from: number | undefined, to: number | undefined, cidr = '0.0.0.0/0') => ({
  ipProtocol: protocol,
  ...(from === undefined ? {} : { fromPort: from, toPort: to }),
  groups: {},
  ipRanges: cidr.includes(':') ? {} : { items: [{ cidrIp: cidr }] },
  ipv6Ranges: cidr.includes(':') ? { items: [{ cidrIpv6: cidr }] } : {},
});
const authorize = (...permissions: ReturnType<typeof permission>[]) =>
  JSON.stringify({ groupId: 'sg-0123456789abcdef0', ipPermissions: { items: permissions } });
const modify = (rules: { IpProtocol: string; FromPort: number; ToPort: number; CidrIpv4?: string; CidrIpv6?: string }[]) =>
  JSON.stringify({
    ModifySecurityGroupRulesRequest: {
      GroupId: 'sg-0123456789abcdef0',
      SecurityGroupRule: rules.map((r, i) => ({ SecurityGroupRuleId: `sgr-${i}`, SecurityGroupRule: r })),
    },
  });

describe('what a security group change opened to the internet (CloudTrail request parameters)', () => {
  it('web ports alone are told apart; anything else opened to the world is not', () => {
    expect(internetExposure(authorize(permission('tcp', 443, 443), permission('tcp', 80, 80)))).toEqual({
      ports: 'tcp/443, tcp/80',
      exposure: 'web',
    });
    expect(internetExposure(authorize(permission('6', 443, 443, '::/0')))).toEqual({ ports: 'tcp/443', exposure: 'web' });
    expect(internetExposure(authorize(permission('tcp', 22, 22)))).toEqual({ ports: 'tcp/22', exposure: 'beyond_web' });
    expect(internetExposure(authorize(permission('tcp', 443, 443), permission('tcp', 22, 22)))?.exposure).toBe('beyond_web');
    expect(internetExposure(authorize(permission('tcp', 0, 65535)))).toEqual({ ports: 'tcp/0-65535', exposure: 'beyond_web' });
    expect(internetExposure(authorize(permission('tcp', 80, 443)))?.exposure).toBe('beyond_web'); // a range, not two ports
    expect(internetExposure(authorize(permission('-1', undefined, undefined)))).toEqual({ ports: 'all traffic', exposure: 'beyond_web' });
    expect(internetExposure(authorize(permission('udp', 443, 443)))).toEqual({ ports: 'udp/443', exposure: 'beyond_web' });
    expect(internetExposure(authorize(permission('icmp', -1, -1)))).toEqual({ ports: 'icmp', exposure: 'beyond_web' });
  });

  it('only what is opened to anywhere counts: an office range beside it is not the internet', () => {
    expect(internetExposure(authorize(permission('tcp', 22, 22, '198.51.100.0/24'), permission('tcp', 443, 443)))).toEqual({
      ports: 'tcp/443',
      exposure: 'web',
    });
    expect(internetExposure(authorize(permission('tcp', 22, 22, '198.51.100.0/24')))).toBeUndefined();
  });

  it('reads ModifySecurityGroupRules, one rule or several', () => {
    expect(internetExposure(modify([{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIpv4: '0.0.0.0/0' }]))?.exposure).toBe('web');
    expect(
      internetExposure(
        modify([
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIpv6: '::/0' },
          { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, CidrIpv4: '0.0.0.0/0' },
        ]),
      ),
    ).toEqual({ ports: 'tcp/443, tcp/5432', exposure: 'beyond_web' });
    const one = JSON.parse(modify([{ IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, CidrIpv4: '0.0.0.0/0' }]));
    one.ModifySecurityGroupRulesRequest.SecurityGroupRule = one.ModifySecurityGroupRulesRequest.SecurityGroupRule[0];
    expect(internetExposure(JSON.stringify(one))).toEqual({ ports: 'tcp/3306', exposure: 'beyond_web' });
  });

  it('a request it cannot read whole is not taken for web ports: cut where it was kept, or of a shape not known here', () => {
    const cut = authorize(permission('tcp', 443, 443)).slice(0, -10);
    expect(internetExposure(cut)).toEqual({ ports: 'not read from the request', exposure: 'beyond_web' });
    expect(internetExposure(JSON.stringify({ groupId: 'sg-1', cidrIp: '0.0.0.0/0', fromPort: 443 }))?.exposure).toBe('beyond_web');
  });

  it('a CloudTrail record gets the fields; one whose request passed its kept size (8 KB) counts beyond web', () => {
    const normalizer = new Normalizer();
    const record = (requestParameters: unknown) =>
      JSON.stringify({
        eventVersion: '1.08',
        userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', userName: 'alice', accountId: '111122223333' },
        eventTime: '2025-03-03T03:12:40Z',
        eventSource: 'ec2.amazonaws.com',
        eventName: 'AuthorizeSecurityGroupIngress',
        awsRegion: 'us-east-1',
        requestParameters,
        eventType: 'AwsApiCall',
        recipientAccountId: '111122223333',
      });
    const ctx = {
      logGroup: 'org-audit/management-events',
      logStream: TRAIL_STREAM,
      id: '1',
      timestamp: Date.parse('2025-03-03T03:12:41Z'),
    };
    // As the pipeline reads a line: its source recognized from its content (this group is named by no source file).
    const read = (line: string) => normalizer.normalize(line, ctx, normalizer.sourceFor(ctx.logGroup, line, ctx.logStream));
    const web = read(record(JSON.parse(authorize(permission('tcp', 443, 443)))));
    expect(web.ok && web.event['aws.security_group.internet_exposure']).toBe('web');
    expect(web.ok && web.event['aws.security_group.internet_ports']).toBe('tcp/443');
    // Three hundred descriptions later, the same HTTPS rule: the kept request is cut, so it is not read as web alone.
    const long = JSON.parse(authorize(permission('tcp', 443, 443)));
    long.ipPermissions.items.push(
      ...Array.from({ length: 300 }, (_, i) => ({ ...permission('tcp', 443, 443, `10.${i % 250}.0.0/16`), description: 'x'.repeat(20) })),
    );
    const big = read(record(long));
    expect(big.ok && big.event['aws.security_group.internet_exposure']).toBe('beyond_web');
    const none = read(record(JSON.parse(authorize(permission('tcp', 22, 22, '198.51.100.0/24')))));
    expect(none.ok && none.event['aws.security_group.internet_exposure']).toBeUndefined();
  });
});
