import { describe, expect, it } from 'vitest';
import { bucketPolicyAccess } from '../src/parse/aws/bucket-policy';
import { cloudTrailDerived } from './helpers';

const request = (...Statement: unknown[]) => JSON.stringify({ bucketName: 'b', bucketPolicy: { Version: '2012-10-17', Statement } });
const allowAnyone = (Condition?: unknown, Principal: unknown = '*') => ({
  Effect: 'Allow',
  Principal,
  Action: 's3:GetObject',
  Resource: 'arn:aws:s3:::b/*',
  ...(Condition === undefined ? {} : { Condition }),
});
const denyWithoutTls = {
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: 's3:*',
  Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'],
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
};

describe('whether a bucket policy grants anyone access (as S3 defines public)', () => {
  it('a grant to anyone, in each way a principal names anyone, is public', () => {
    expect(bucketPolicyAccess(request(allowAnyone()))).toBe('public');
    expect(bucketPolicyAccess(request(allowAnyone(undefined, { AWS: '*' })))).toBe('public');
    expect(bucketPolicyAccess(request(allowAnyone(undefined, { AWS: ['arn:aws:iam::444455556666:root', '*'] })))).toBe('public');
    expect(bucketPolicyAccess(JSON.stringify({ bucketPolicy: { Statement: allowAnyone() } }))).toBe('public'); // one statement, not a list
    expect(bucketPolicyAccess(request({ Effect: 'Allow', NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 's3:*' }))).toBe(
      'public',
    );
  });

  it('denying anyone, or granting named principals, is not', () => {
    expect(bucketPolicyAccess(request(denyWithoutTls))).toBe('restricted');
    expect(bucketPolicyAccess(request(allowAnyone(undefined, { AWS: 'arn:aws:iam::444455556666:root' })))).toBe('restricted');
    expect(bucketPolicyAccess(request(allowAnyone(undefined, { Service: 'cloudfront.amazonaws.com' })))).toBe('restricted');
    expect(bucketPolicyAccess(request(denyWithoutTls, allowAnyone()))).toBe('public');
  });

  it('a condition fixing the caller makes a grant to anyone not public; one that does not fix it, or not for sure, does not', () => {
    const fixed = (operator: string, key: string, value: unknown) =>
      bucketPolicyAccess(request(allowAnyone({ [operator]: { [key]: value } })));
    expect(fixed('StringEquals', 'aws:SourceVpce', 'vpce-0a1b2c3d4e5f67890')).toBe('restricted');
    expect(fixed('StringEquals', 'aws:PrincipalOrgID', ['o-a1b2c3d4e5'])).toBe('restricted');
    expect(fixed('ArnLike', 'AWS:SourceArn', 'arn:aws:cloudfront::111122223333:distribution/E1ABCDEF')).toBe('restricted');
    expect(fixed('StringEquals', 'aws:SourceAccount', '111122223333')).toBe('restricted');
    expect(fixed('IpAddress', 'aws:SourceIp', ['198.51.100.0/24', '203.0.113.7'])).toBe('restricted');
    // Not fixed: a wildcard or a policy variable, a negation, IfExists, ForAllValues, a key that says nothing of the caller, the whole internet.
    expect(fixed('ArnLike', 'aws:SourceArn', 'arn:aws:cloudfront::*')).toBe('public');
    expect(fixed('StringEquals', 'aws:userid', `\${aws:userid}`)).toBe('public');
    expect(fixed('StringNotEquals', 'aws:SourceVpce', 'vpce-0a1b2c3d4e5f67890')).toBe('public');
    expect(fixed('StringEqualsIfExists', 'aws:SourceVpce', 'vpce-0a1b2c3d4e5f67890')).toBe('public');
    expect(fixed('ForAllValues:StringEquals', 'aws:SourceVpce', ['vpce-0a1b2c3d4e5f67890'])).toBe('public');
    expect(fixed('Bool', 'aws:SecureTransport', 'true')).toBe('public');
    expect(fixed('IpAddress', 'aws:SourceIp', '0.0.0.0/0')).toBe('public');
    expect(fixed('IpAddress', 'aws:SourceIp', ['198.51.100.0/24', '0.0.0.0/1'])).toBe('public');
    expect(fixed('StringEquals', 'aws:SourceVpce', [])).toBe('public');
  });

  it('a request it cannot read whole counts as public: cut where it was kept, or of a shape not known here', () => {
    expect(bucketPolicyAccess(request(denyWithoutTls).slice(0, 60))).toBe('public');
    expect(bucketPolicyAccess(JSON.stringify({ bucketName: 'b', bucketPolicy: 'a string' }))).toBe('public');
    expect(bucketPolicyAccess('')).toBe('public');
  });

  it('the CloudTrail source sets it on a PutBucketPolicy record only', () => {
    const { of } = cloudTrailDerived('aws.s3.bucket_policy_access', 's3.amazonaws.com');
    expect(of('PutBucketPolicy', request(denyWithoutTls))).toBe('restricted');
    expect(of('PutBucketPolicy', request(allowAnyone()))).toBe('public');
    expect(of('GetBucketPolicy', '{"bucketName":"b"}')).toBeUndefined();
  });
});
