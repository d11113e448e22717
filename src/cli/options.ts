import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Command, Option } from 'commander';
import { DynamoStateStore } from '../../functions/commons/adapters/dynamodb-state-store';
import { printableLines } from '../alerts/plain-text';
import { runbookBase } from '../alerts/runbook-link';
import { type HistoryOptions, parseIsoTime } from '../backtest/load-history';
import { awsAccountId } from '../engine/entity-scope';
import { FixedExceptions } from '../engine/exceptions';
import type { LearningScope } from '../engine/term-learning';
import { isKnownTimezone } from '../parse/timestamp';
import { formatRuleError, type RulePack } from '../rules/rule-pack';
import { parseDuration } from '../schema/duration';
import { TIME_ZONE_EXPECTED } from '../schema/time-zone';
import { clientConfig } from './aws-profile';
import { parseTimeOption } from './backtest';
import { ExceptionError, readExceptionsFile } from './exceptions';
import { loadPack } from './load-pack';

/** What the `detect` commands share: exiting with a message, option parsers, the rule pack, the state table. */

export const DEFAULT_RULES = 'rules';

/**
 * `-r, --rules <dir>`, repeatable: the rule folders, in order (a later one adds rules and `tune:`
 * files — the shipped `rules` stay as shipped). None given: `rules`.
 */
export function rulesOption(what: string): Option {
  return new Option('-r, --rules <dir>', `${what}; repeat for several (e.g. -r rules -r my-rules)`)
    .argParser((dir: string, previous: string[] | undefined) => [...(previous ?? []), dir])
    .default(undefined);
}

/** The folders `rulesOption` read. */
export function ruleFolders(dirs: readonly string[] | undefined): string[] {
  return dirs && dirs.length > 0 ? [...dirs] : [DEFAULT_RULES];
}

export function fail(message: string, code = 2): never {
  process.stderr.write(`detect: ${printableLines(message)}\n`);
  process.exit(code);
}

export const LOG_STREAM_HELP =
  "with --log-group: the log stream the lines arrived in (default: the file's path); CloudTrail's records are believed only in CloudTrail's streams (<account>_CloudTrail_<region>), flow records only in an interface's (eni-…-all)";

export const RECEIVED_AT_HELP =
  'with --log-group: when the lines were written, an ISO time or a duration back (30d); syslog lines take their year from it';

/** `--received-at`: an ISO time or a duration back from now (`30d`), as `backtest --since` takes. */
export function receivedAtOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseTimeOption(text, Date.now(), 'received-at');
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
}

export const PAGE_FOLD_HELP = "how long a page stands for its entity, as the deployment's pageFold: a duration (4h) or 'off'";

export const OUTBREAK_AFTER_HELP =
  "alerts of one rule told one by one per hour before the rest are held for the digest, as the deployment's outbreakAfter (default 3; 0: every one)";

/** `--outbreak-after`: a whole number; undefined: the deployment default. */
export function outbreakAfterOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) fail(`--outbreak-after '${text}': expected a whole number (0 tells every alert)`);
  return n;
}

export const TIME_ZONE_HELP =
  "the team's time zone, as the deployment's timeZone: an IANA name (America/New_York) that event.hour_local and event.weekday_local are in (default UTC)";

/** `--time-zone`: a zone Intl knows; undefined: UTC. */
export function timeZoneOption(text: string | undefined): string | undefined {
  if (text !== undefined && !isKnownTimezone(text)) fail(`--time-zone '${text}': ${TIME_ZONE_EXPECTED}`);
  return text;
}

export const RUNBOOK_BASE_HELP =
  "link runbook paths under this https URL, as the deployment's runbookBaseUrl (e.g. https://github.com/acme/sentinel/blob/main/)";

/** `--runbook-base-url`: an https URL, ending in `/`; undefined: runbooks as rules name them. */
export function runbookBaseOption(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const parsed = runbookBase(text);
  if ('error' in parsed) fail(`--runbook-base-url: ${parsed.error}`);
  return parsed.base;
}

export const LEARN_HELP =
  "how long new-term rules only learn after they first see an account's logs, as a fresh deployment's newTermLearning (7d there): a duration, or 'off' (the default here: no learning period, rules alert from the first event)";

/** `--learn`: a duration, or `off`; undefined: none (a replay or backtest asks what a running deployment would send). */
export function learnOption(text: string | undefined): number | undefined {
  if (text === undefined || text === 'off') return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) fail(`--learn '${text}': expected a duration like 7d, or 'off'`);
  return ms;
}

/** Where history comes from and which span of it: the options `backtest` and `learn` share. */
export function historyOptions(command: Command, defaults: { since: string; workDir: string }): Command {
  return awsOptions(
    command
      .option('-g, --log-group <name...>', 'log group names or globs (/app/*); with --from-file, the group of a plain FILE')
      .option('--since <when>', `start: a duration back from now (${defaults.since}, 12h) or an ISO time`, defaults.since)
      .option('--until <when>', 'end: a duration back from now or an ISO time (default now)')
      .option('--from-file <file...>', "offline: 'aws logs filter-log-events' output, as GROUP=FILE or FILE")
      .option(
        '--linked-accounts [id...]',
        "in a monitoring account of CloudWatch cross-account observability: the linked source accounts' log groups too (all, or these 12-digit ids), each read by its ARN",
      )
      .option('--resume', 'continue an interrupted download from the checkpoint in --work-dir')
      .option('--work-dir <dir>', 'where downloaded history and the checkpoint are kept', defaults.workDir),
  );
}

/** The deployment's state table, for the commands that write to it (`learn`, `exception`). */
export function tableStore(opts: { table: string; profile?: string; region?: string }): DynamoStateStore {
  return new DynamoStateStore(new DynamoDBClient(clientConfig(opts)), opts.table);
}

export const EXCEPTIONS_HELP =
  'apply these exceptions (a JSON file, as detect exception list --json prints): what would they have left out?';

/** `--exceptions`: the file's exceptions, or exit with what is wrong in it. */
export function exceptionsOption(file: string | undefined, pack: RulePack): FixedExceptions | undefined {
  if (file === undefined) return undefined;
  try {
    return new FixedExceptions(readExceptionsFile(file, pack));
  } catch (err) {
    if (err instanceof ExceptionError) fail(err.message);
    throw err;
  }
}

/** An ISO 8601 time option. */
export function isoTimeOption(text: string, name: string): number {
  const t = parseIsoTime(text);
  if (t === undefined) fail(`${name} '${text}': expected an ISO time like 2026-12-02T14:00:00Z`);
  return t;
}

/** `--page-fold`: a duration, or `off` (every respond-tier alert pages); undefined: the deployment default. */
export function pageFoldOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === 'off') return 0;
  const ms = parseDuration(text);
  if (ms === undefined) fail(`--page-fold '${text}': expected a duration like 30m or 4h, or 'off'`);
  return ms;
}

/** Every rule error on stderr (file, rule id, path), then exit 1. */
export function loadPackOrExit(paths: readonly string[], options: { checkRegexes?: boolean } = {}): RulePack {
  return loadPackWithWarnings(paths, options).pack;
}

export function loadPackWithWarnings(paths: readonly string[], options: { checkRegexes?: boolean } = {}) {
  const { pack, errors, warnings } = loadPack(paths, options);
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(`${formatRuleError(e)}\n`);
    fail(`${errors.length} error(s) in rule files`, 1);
  }
  return { pack, warnings };
}

/**
 * What went wrong reaching the deployment's state table, said plainly (or undefined for anything
 * else): no credentials, a table name or Region that is not the stack's, a role without the actions.
 */
export function tableProblem(err: unknown, table: string): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (/credential|Could not load credentials|Region is missing/i.test(err.message))
    return `${err.message} (configure AWS credentials and a Region for the deployment's account)`;
  if (err.name === 'ResourceNotFoundException')
    return `no table '${table}' here: --table is the stack output StateTableName, in the stack's Region (--region)`;
  if (err.name === 'AccessDeniedException')
    return `not allowed on table '${table}': ${err.message.split('\n')[0]} (it needs dynamodb:Query, GetItem, BatchGetItem and UpdateItem on it)`;
  return undefined;
}

/** What `historyOptions` parsed, as commander hands it over. */
export interface HistoryCliOptions {
  logGroup?: string[];
  since: string;
  until?: string;
  fromFile?: string[];
  linkedAccounts?: true | string[];
  resume?: boolean;
  workDir: string;
  profile?: string;
  region?: string;
}

/** The history `backtest` and `learn` read, from their shared options. */
export function historyFrom(opts: HistoryCliOptions): HistoryOptions {
  return {
    logGroups: opts.logGroup ?? [],
    since: opts.since,
    ...(opts.until ? { until: opts.until } : {}),
    ...(opts.fromFile ? { fromFile: opts.fromFile } : {}),
    ...(opts.linkedAccounts ? { linkedAccounts: linkedAccountsOf(opts.linkedAccounts) } : {}),
    resume: opts.resume === true,
    workDir: opts.workDir,
    ...(opts.profile ? { profile: opts.profile } : {}),
    ...(opts.region ? { region: opts.region } : {}),
  };
}

/** `--linked-accounts`: every linked account (no ids), or the ids given, each checked. */
function linkedAccountsOf(value: true | string[]): true | string[] {
  if (value === true || value.length === 0) return true;
  const bad = value.find((id) => awsAccountId(id) === undefined);
  if (bad !== undefined) fail(`--linked-accounts '${bad}': expected 12-digit AWS account ids`);
  return value;
}

/** Ctrl-C stops a history download after its current page: the signal to hand it, and `release` for when the command ends. */
export function stopOnInterrupt(): { signal: AbortSignal; release: () => void } {
  const abort = new AbortController();
  const onSigint = () => {
    process.stderr.write('\ninterrupting after the current page…\n');
    abort.abort();
  };
  process.once('SIGINT', onSigint);
  return { signal: abort.signal, release: () => process.removeListener('SIGINT', onSigint) };
}

/** What an interrupted download says (where it is, how to go on), and its exit code. */
export function reportInterrupted(workDir: string): void {
  process.stderr.write(`detect: interrupted; the download so far is in ${workDir}: run the same command with --resume to continue\n`);
  process.exitCode = 130;
}

/** The options of a command that works on the deployment's state table. */
export function tableOptions(c: Command): Command {
  return awsOptions(c.requiredOption('--table <name>', "the deployment's state table (the stack output StateTableName)"));
}

/** `--profile` and `--region`: the options of every command that calls AWS. */
export function awsOptions(c: Command): Command {
  return c
    .option('--profile <name>', 'AWS profile (default: the SDK credential chain)')
    .option('--region <name>', 'AWS Region (default: the SDK configuration)');
}

/**
 * A state-table command's action: its own errors (`known`) and the table's usual problems (no
 * table, no credentials, no access) end it with a clear message instead of a stack trace.
 */
export function tableAction(known?: new (...args: never[]) => Error) {
  return <T extends { table: string }>(run: (opts: T) => Promise<void>) =>
    async (opts: T): Promise<void> => {
      try {
        await run(opts);
      } catch (err) {
        if (known && err instanceof known) fail(err.message);
        const problem = tableProblem(err, opts.table);
        if (problem) fail(problem);
        throw err;
      }
    };
}

/** `--learning-scope`: the deployment's `newTermLearningScope` (src/engine/term-learning.ts), for learn, replay and backtest. */
export function learningScopeOption(): Option {
  return new Option('--learning-scope <scope>', "whose first week new-term rules learn in, as the deployment's newTermLearningScope")
    .choices(['owner', 'account'])
    .default('owner');
}

/** The scope `--learning-scope` chose (commander has checked it is one of the choices). */
export function learningScopeOf(text: string): LearningScope {
  return text === 'account' ? 'account' : 'owner';
}
