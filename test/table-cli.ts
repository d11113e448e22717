import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LocalDynamo } from '../src/local/dynalite';

/** What a `detect` run printed, and how it exited (0, or the code it failed with). */
export interface CliRun {
  stdout: string;
  stderr: string;
  code: number;
}

const run = promisify(execFile);

/** A failed child process as execFile rejects with it: its output and exit code. */
function failedRun(err: unknown): CliRun {
  if (err !== null && typeof err === 'object' && 'stdout' in err && 'stderr' in err && 'code' in err) {
    const { stdout, stderr, code } = err;
    return { stdout: String(stdout), stderr: String(stderr), code: typeof code === 'number' ? code : -1 };
  }
  throw err;
}

/**
 * The `detect` CLI as a responder runs it against the deployment's state table, here a local
 * table (dynalite) through the SDK's endpoint setting. STS is a refused connection unless a test
 * gives one (`AWS_ENDPOINT_URL_STS`), so commands without `--by` name `$USER` at once.
 */
export async function tableCli(local: LocalDynamo): Promise<{
  env: NodeJS.ProcessEnv;
  detect: (args: readonly string[], options?: { table?: string; env?: NodeJS.ProcessEnv }) => Promise<CliRun>;
}> {
  const endpoint = await local.client.config.endpoint?.();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL_DYNAMODB: `${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`,
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9',
  };
  const detect = (args: readonly string[], options: { table?: string; env?: NodeJS.ProcessEnv } = {}) =>
    run(process.execPath, ['bin/detect.mjs', ...args, '--table', options.table ?? local.tableName], {
      env: { ...env, ...options.env },
    }).then((r) => ({ stdout: r.stdout, stderr: r.stderr, code: 0 }), failedRun);
  return { env, detect };
}
