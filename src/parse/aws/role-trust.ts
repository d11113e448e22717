import { z } from 'zod';
import { fixedBy } from './bucket-policy';
import { keptRequest } from './kept-request';

/**
 * Which AWS accounts outside the record's own a role's trust policy lets assume the role, read
 * from the CloudTrail record of the call that set it. A role that trusts another account is the
 * way in that survives every key rotation (Pacu's iam__backdoor_assume_role, Stratus Red Team's
 * aws.persistence.iam-backdoor-role); it is also how vendors and an organization's own accounts
 * are given access, which is why the rule that reads this learns each account's usual ones.
 */

/** The calls that set a trust policy, and the request member holding it (a JSON document as text). */
export const TRUST_POLICY_CALLS: ReadonlyMap<string, string> = new Map([
  ['CreateRole', 'assumeRolePolicyDocument'],
  ['UpdateAssumeRolePolicy', 'policyDocument'],
]);

const Statement = z.object({
  Effect: z.string(),
  Principal: z.unknown().optional(),
  NotPrincipal: z.unknown().optional(),
  Condition: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});
const Policy = z.object({ Statement: z.union([Statement, z.array(Statement)]) });
type Statement = z.infer<typeof Statement>;

/** An account id, or the account of an IAM ARN (`arn:aws:iam::999988887777:root`, `…:role/x`). */
const ACCOUNT = /^(?:arn:aws[a-z-]*:(?:iam|sts)::)?(\d{12})(?::|$)/;

/**
 * The accounts other than `own` that the trust policy set by `call` lets assume the role, sorted
 * and joined with commas (`*` for anyone: a principal of `*` without a condition fixing who, or a
 * NotPrincipal); undefined when it trusts none (services, identity providers, the account itself).
 * A request that cannot be read whole (cut where the record was kept, another shape) is
 * `unreadable`: told, as an unreadable bucket policy is.
 */
export function externalTrust(requestParameters: string, call: string, own: string | undefined): string | undefined {
  const member = TRUST_POLICY_CALLS.get(call);
  if (member === undefined) return undefined;
  const request = keptRequest(requestParameters);
  const text = typeof request === 'object' && request !== null && member in request ? Reflect.get(request, member) : undefined;
  const document = typeof text === 'string' ? keptRequest(text.startsWith('%7B') ? safeDecode(text) : text) : text;
  const policy = Policy.safeParse(document);
  if (!policy.success) return 'unreadable';
  const accounts = new Set<string>();
  for (const s of [policy.data.Statement].flat()) for (const a of trustedBy(s)) if (a !== own) accounts.add(a);
  return accounts.size === 0 ? undefined : [...accounts].sort().join(',');
}

/** The accounts (or `*`) an Allow statement's AWS principals name. */
function trustedBy(s: Statement): string[] {
  if (s.Effect.toLowerCase() !== 'allow') return [];
  if (s.NotPrincipal !== undefined) return ['*'];
  const principal = s.Principal;
  if (principal === '*') return fixedBy(s.Condition) ? [] : ['*'];
  if (typeof principal !== 'object' || principal === null || !('AWS' in principal)) return [];
  const out: string[] = [];
  for (const p of [principal.AWS].flat()) {
    if (p === '*') {
      if (!fixedBy(s.Condition)) out.push('*');
      continue;
    }
    const account = typeof p === 'string' ? ACCOUNT.exec(p)?.[1] : undefined;
    if (account) out.push(account);
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
