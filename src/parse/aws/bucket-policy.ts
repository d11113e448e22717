import { z } from 'zod';
import { keptRequest } from './kept-request';

/**
 * Whether a bucket policy a `PutBucketPolicy` call set grants anyone access, read from the
 * CloudTrail record's request (`bucketPolicy`, an object). A policy naming a principal of `*` is
 * not necessarily public: the statement every well-kept bucket has — deny any request without TLS
 * (CDK's `enforceSSL`, which cdk-nag asks for; the CIS control) — names `*` and grants nothing,
 * and a grant to `*` fixed to a VPC endpoint, an organization or a source ARN (CloudFront, a
 * service's delivery) is not to the internet. S3's own definition of public (the user guide's
 * "The meaning of public", which Block Public Access enforces) is read here: an Allow to anyone is
 * public unless a condition fixes the caller to one of the keys below, with values holding no
 * wildcard or policy variable.
 */

/** The call whose request holds a bucket policy. */
export const BUCKET_POLICY_CALL = 'PutBucketPolicy';

/**
 * Keys whose fixed value limits who can call: S3's list (source ARN, VPC, VPC endpoint, owner,
 * account, KMS key, user id, an address range), and the principal's organization, account and ARN.
 */
const FIXING_KEYS: ReadonlySet<string> = new Set([
  'aws:sourcearn',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourceowner',
  'aws:sourceaccount',
  's3:x-amz-server-side-encryption-aws-kms-key-id',
  'aws:userid',
  'aws:sourceip',
  'aws:principalorgid',
  'aws:principalaccount',
  'aws:principalarn',
]);

/**
 * Operators that hold a key to the values named. Not a negation (`StringNotEquals`, `NotIpAddress`:
 * everyone else), not `…IfExists` (a request from the internet has no VPC endpoint, so the
 * condition passes), not `ForAllValues:` (true when the key is absent).
 */
const FIXING_OPERATOR = /^(?:ForAnyValue:)?(?:StringEquals|StringEqualsIgnoreCase|StringLike|ArnEquals|ArnLike|IpAddress)$/i;

const Statement = z.object({
  Effect: z.string(),
  Principal: z.unknown().optional(),
  NotPrincipal: z.unknown().optional(),
  Condition: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});
const Request = z.object({ bucketPolicy: z.object({ Statement: z.union([Statement, z.array(Statement)]) }) });
type Statement = z.infer<typeof Statement>;

/**
 * `public` when a statement allows anyone without a fixing condition — and when the request cannot
 * be read whole (cut where the record's request was kept, 8 KB, or a shape not known here): only a
 * policy read whole and found to grant no one at large is `restricted`.
 */
export function bucketPolicyAccess(requestParameters: string): 'public' | 'restricted' {
  const parsed = Request.safeParse(keptRequest(requestParameters));
  if (!parsed.success) return 'public';
  const statements = [parsed.data.bucketPolicy.Statement].flat();
  return statements.some(grantsAnyone) ? 'public' : 'restricted';
}

function grantsAnyone(s: Statement): boolean {
  if (s.Effect.toLowerCase() !== 'allow') return false;
  // Allow with NotPrincipal: everyone but those named.
  if (s.NotPrincipal === undefined && !namesAnyone(s.Principal)) return false;
  return !fixedBy(s.Condition);
}

/** `"*"`, `{"AWS": "*"}` or a list of AWS principals holding `*`. */
function namesAnyone(principal: unknown): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null || !('AWS' in principal)) return false;
  const aws = principal.AWS;
  return aws === '*' || (Array.isArray(aws) && aws.includes('*'));
}

/** A condition holding the caller to fixed values of one of the keys (conditions all apply: one suffices). */
export function fixedBy(condition: Statement['Condition']): boolean {
  if (condition === undefined) return false;
  return Object.entries(condition).some(
    ([operator, keys]) =>
      FIXING_OPERATOR.test(operator) &&
      Object.entries(keys).some(([key, value]) => FIXING_KEYS.has(key.toLowerCase()) && fixedValues(key.toLowerCase(), value)),
  );
}

function fixedValues(key: string, value: unknown): boolean {
  const values = [value].flat();
  return (
    values.length > 0 &&
    values.every((v) => typeof v === 'string' && v !== '' && !/[*?]|\$\{/.test(v) && (key !== 'aws:sourceip' || narrowRange(v)))
  );
}

/** An address range no wider than a /8 (IPv6: /32); a bare address is one host. */
function narrowRange(cidr: string): boolean {
  const slash = cidr.indexOf('/');
  if (slash === -1) return true;
  const bits = Number(cidr.slice(slash + 1));
  return Number.isInteger(bits) && bits >= (cidr.includes(':') ? 32 : 8);
}
