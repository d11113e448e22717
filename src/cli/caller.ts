import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { clientConfig } from './aws-profile';

/** What a record's author field holds at most (the exception and acknowledgement schemas). */
const MAX_AUTHOR_CHARS = 200;

/**
 * Who is running a command that writes to the deployment's table, for the record it writes: the
 * AWS principal the credentials belong to (`sts get-caller-identity`: an assumed role's ARN ends
 * with the session name, usually the person), not `$USER`, which is `cloudshell-user` in
 * CloudShell and anyone's choice on a laptop. `$USER` only when STS cannot say (no network to it,
 * no Region); the table write that follows fails on its own if the credentials are the problem.
 */
export async function callerName(opts: { profile?: string; region?: string }): Promise<string> {
  try {
    const sts = new STSClient({
      ...clientConfig(opts),
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 2_000, requestTimeout: 3_000 },
    });
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
    if (Arn) return Arn.slice(0, MAX_AUTHOR_CHARS);
  } catch {
    // Fall through: an author the record can still name.
  }
  return (process.env.USER ?? 'unknown').slice(0, MAX_AUTHOR_CHARS) || 'unknown';
}
