import type { Command } from 'commander';
import { printableLines } from '../alerts/plain-text';
import { awsOptions, fail } from './options';
import { formatRedrive, redrive, redriveFailed } from './redrive';
import { KinesisStreamRecords, LambdaDetector, SqsFailureQueue } from './redrive-aws';

interface RedriveCliOptions {
  queue: string;
  function: string;
  dryRun?: boolean;
  max: string;
  parallel: string;
  dropLost?: boolean;
  profile?: string;
  region?: string;
}

/** `detect redrive` (src/cli/redrive.ts). */
export function addRedriveCommand(program: Command): void {
  awsOptions(
    program
      .command('redrive')
      .description(
        "run the log batches the detector gave up on (the stack's failure queue, where the FailedBatches alarm looks) through the deployed detector again; each leaves the queue once decided",
      )
      .requiredOption('--queue <url>', 'the failure queue (the stack output FailedBatchesQueueUrl)')
      .requiredOption('--function <name>', 'the detector function (the stack output DetectorFunctionName)')
      .option('--dry-run', 'list what is parked and why, and leave it there')
      .option('--max <n>', 'messages handled at most in this run', '1000')
      .option(
        '--parallel <n>',
        "batches redriven at once, 1–10 (each an invocation beside the detector's live traffic, within its reserved concurrency)",
        '4',
      )
      .option('--drop-lost', 'take out of the queue hub batches whose records the stream no longer holds (they cannot come back)'),
  ).action(async (opts: RedriveCliOptions) => {
    const max = Number(opts.max);
    if (!Number.isInteger(max) || max < 1) fail(`--max '${opts.max}': expected a whole number of messages, at least 1`);
    const parallel = Number(opts.parallel);
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > 10)
      fail(`--parallel '${opts.parallel}': expected a whole number from 1 to 10`);
    try {
      const result = await redrive(
        SqsFailureQueue.of(opts.queue, opts),
        LambdaDetector.of(opts.function, opts),
        KinesisStreamRecords.of(opts),
        {
          dryRun: opts.dryRun === true,
          max,
          dropLost: opts.dropLost === true,
          parallel,
        },
      );
      process.stdout.write(`${printableLines(formatRedrive(result, opts.dryRun === true))}\n`);
      if (redriveFailed(result)) process.exitCode = 1;
    } catch (err) {
      // No credentials, no such queue or function, no access, no network: what was said, not a stack trace.
      fail(`redrive: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
  });
}
