import { describe, expect, it } from 'vitest';
import { externalTrust } from '../src/parse/aws/role-trust';
import { cloudTrailDerived } from './helpers';

const OWN = '111122223333';
const policy = (...Statement: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement }, null, 2);
const update = (...Statement: unknown[]) => JSON.stringify({ roleName: 'r', policyDocument: policy(...Statement) });
const trust = (Principal: unknown, Condition?: unknown) => ({
  Effect: 'Allow',
  Principal,
  Action: 'sts:AssumeRole',
  ...(Condition === undefined ? {} : { Condition }),
});

describe("the accounts outside its own that a role's trust policy lets assume it", () => {
  it('reads each way a principal names an account, sorted and without repeats', () => {
    expect(externalTrust(update(trust({ AWS: 'arn:aws:iam::999988887777:root' })), 'UpdateAssumeRolePolicy', OWN)).toBe('999988887777');
    expect(externalTrust(update(trust({ AWS: '999988887777' })), 'UpdateAssumeRolePolicy', OWN)).toBe('999988887777');
    expect(
      externalTrust(
        update(
          trust({ AWS: ['arn:aws:iam::999988887777:role/x', 'arn:aws:sts::444455556666:assumed-role/y/z'] }),
          trust({ AWS: 'arn:aws:iam::999988887777:user/u' }),
        ),
        'UpdateAssumeRolePolicy',
        OWN,
      ),
    ).toBe('444455556666,999988887777');
    // CreateRole holds it under another name; one statement need not be a list.
    const created = JSON.stringify({
      roleName: 'r',
      assumeRolePolicyDocument: JSON.stringify({ Statement: trust({ AWS: '444455556666' }) }),
    });
    expect(externalTrust(created, 'CreateRole', OWN)).toBe('444455556666');
  });

  it('anyone is `*`: a principal of `*` no condition holds to an organization or account (an external id is a secret, not who), or a NotPrincipal', () => {
    expect(externalTrust(update(trust('*')), 'UpdateAssumeRolePolicy', OWN)).toBe('*');
    expect(externalTrust(update(trust({ AWS: '*' }, { StringEquals: { 'sts:ExternalId': 'x' } })), 'UpdateAssumeRolePolicy', OWN)).toBe(
      '*',
    );
    expect(
      externalTrust(
        update({ Effect: 'Allow', NotPrincipal: { AWS: `arn:aws:iam::${OWN}:root` }, Action: 'sts:AssumeRole' }),
        'UpdateAssumeRolePolicy',
        OWN,
      ),
    ).toBe('*');
    expect(
      externalTrust(update(trust({ AWS: '*' }, { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } })), 'UpdateAssumeRolePolicy', OWN),
    ).toBeUndefined();
    // A wildcard organization is no organization.
    expect(externalTrust(update(trust({ AWS: '*' }, { StringLike: { 'aws:PrincipalOrgID': 'o-*' } })), 'UpdateAssumeRolePolicy', OWN)).toBe(
      '*',
    );
  });

  it('services, identity providers, the account itself and denials are not other accounts', () => {
    expect(externalTrust(update(trust({ Service: 'ec2.amazonaws.com' })), 'UpdateAssumeRolePolicy', OWN)).toBeUndefined();
    expect(
      externalTrust(
        update(trust({ Federated: `arn:aws:iam::${OWN}:oidc-provider/token.actions.githubusercontent.com` })),
        'UpdateAssumeRolePolicy',
        OWN,
      ),
    ).toBeUndefined();
    expect(externalTrust(update(trust({ AWS: `arn:aws:iam::${OWN}:role/ops` })), 'UpdateAssumeRolePolicy', OWN)).toBeUndefined();
    expect(
      externalTrust(
        update({ Effect: 'Deny', Principal: { AWS: '999988887777' }, Action: 'sts:AssumeRole' }),
        'UpdateAssumeRolePolicy',
        OWN,
      ),
    ).toBeUndefined();
    // A role id left by a deleted role names no account.
    expect(externalTrust(update(trust({ AWS: 'AROAEXAMPLEID' })), 'UpdateAssumeRolePolicy', OWN)).toBeUndefined();
  });

  it('a URL-encoded document is read; a request cut where it was kept, or of another shape, is unreadable; other calls are not read', () => {
    const encoded = JSON.stringify({ roleName: 'r', policyDocument: encodeURIComponent(policy(trust({ AWS: '999988887777' }))) });
    expect(externalTrust(encoded, 'UpdateAssumeRolePolicy', OWN)).toBe('999988887777');
    expect(externalTrust(update(trust({ AWS: '999988887777' })).slice(0, 80), 'UpdateAssumeRolePolicy', OWN)).toBe('unreadable');
    expect(externalTrust(JSON.stringify({ roleName: 'r', policyDocument: '{"Statement": 3}' }), 'UpdateAssumeRolePolicy', OWN)).toBe(
      'unreadable',
    );
    expect(externalTrust(update(trust({ AWS: '999988887777' })), 'PutRolePolicy', OWN)).toBeUndefined();
  });

  it('the CloudTrail source sets it on the calls that set a trust policy, against the account the record is about', () => {
    const { record, read } = cloudTrailDerived('aws.iam.role_trust_external', 'iam.amazonaws.com');
    expect(read(record('UpdateAssumeRolePolicy', update(trust({ AWS: ['999988887777', `arn:aws:iam::${OWN}:root`] }))))).toBe(
      '999988887777',
    );
    expect(read(record('UpdateAssumeRolePolicy', update(trust({ AWS: `arn:aws:iam::${OWN}:root` }))))).toBeUndefined();
    expect(read(record('GetRole', '{"roleName":"r"}'))).toBeUndefined();
    // A record that names no recipient account is about its caller's.
    const withoutRecipient = record('UpdateAssumeRolePolicy', update(trust({ AWS: `arn:aws:iam::${OWN}:root` }))).replace(
      `,"recipientAccountId":"${OWN}"`,
      '',
    );
    expect(read(withoutRecipient.replace('"userName":"alice"}', `"userName":"alice","accountId":"${OWN}"}`))).toBeUndefined();
  });
});
