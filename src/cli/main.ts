import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { DynamoStateStore } from '../../functions/commons/adapters/dynamodb-state-store';
import { printableLines, terminalSafeJson } from '../alerts/plain-text';
import { reportJson, reportMarkdown, reportTable } from '../backtest/report';
import { SpoolError } from '../backtest/spool';
import { FixedExceptions } from '../engine/exceptions';
import { PassThroughSink } from '../engine/ports';
import { formatRuleError, type RulePack } from '../rules/rule-pack';
import { runAllRuleTests } from '../rules/rule-tests';
import { disablePretenuring } from '../runtime/v8-heap';
import type { Alert } from '../schema/alert';
import { parseDuration } from '../schema/duration';
import { BacktestError, parseTimeOption, runBacktest } from './backtest';
import { runDemo } from './demo';
import { addException, ExceptionError, endException, formatExceptions, listExceptions, readExceptionsFile } from './exceptions';
import { importSigma, loadMapping, skipSummary } from './import-sigma';
import { UnreadableInputError } from './input-files';
import { formatLearnResult, runLearn } from './learn';
import { loadPack } from './load-pack';
import { openCorrelationSink, openStateStore } from './local-adapters';
import { replay } from './replay';
import { totalInputBytes } from './replay-input';
import { checkSources, formatSourcesReport, type SourcesReport } from './sources-check';
import { formatAlertLine, formatSummary, statsJson } from './summary';

const DEFAULT_RULES = 'rules';

function fail(message: string, code = 2): never {
  process.stderr.write(`detect: ${printableLines(message)}\n`);
  process.exit(code);
}

const RECEIVED_AT_HELP =
  'with --log-group: when the lines were written, an ISO time or a duration back (30d); syslog lines take their year from it';

/** `--received-at`: an ISO time or a duration back from now (`30d`), as `backtest --since` takes. */
function receivedAtOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseTimeOption(text, Date.now(), 'received-at');
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
}

const PAGE_FOLD_HELP = "how long a page stands for its entity, as the deployment's pageFold: a duration (4h) or 'off'";

const OUTBREAK_AFTER_HELP =
  "alerts of one rule told one by one per hour before the rest are held for the digest, as the deployment's outbreakAfter (default 3; 0: every one)";

/** `--outbreak-after`: a whole number; undefined: the deployment default. */
function outbreakAfterOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) fail(`--outbreak-after '${text}': expected a whole number (0 tells every alert)`);
  return n;
}

const LEARN_HELP =
  "how long new-term rules only learn after they first see an account's logs, as a fresh deployment's newTermLearning (7d there): a duration, or 'off' (the default here: no learning period, rules alert from the first event)";

/** `--learn`: a duration, or `off`; undefined: none (a replay or backtest asks what a running deployment would send). */
function learnOption(text: string | undefined): number | undefined {
  if (text === undefined || text === 'off') return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) fail(`--learn '${text}': expected a duration like 7d, or 'off'`);
  return ms;
}

/** Where history comes from and which span of it: the options `backtest` and `learn` share. */
function historyOptions(command: Command, defaults: { since: string; workDir: string }): Command {
  return command
    .option('-g, --log-group <name...>', 'log group names or globs (/app/*); with --from-file, the group of a plain FILE')
    .option('--since <when>', `start: a duration back from now (${defaults.since}, 12h) or an ISO time`, defaults.since)
    .option('--until <when>', 'end: a duration back from now or an ISO time (default now)')
    .option('--from-file <file...>', "offline: 'aws logs filter-log-events' output, as GROUP=FILE or FILE")
    .option('--resume', 'continue an interrupted download from the checkpoint in --work-dir')
    .option('--work-dir <dir>', 'where downloaded history and the checkpoint are kept', defaults.workDir)
    .option('--profile <name>', 'AWS profile (default: the SDK credential chain)')
    .option('--region <name>', 'AWS Region (default: the SDK configuration)');
}

/** The deployment's state table, for the commands that write to it (`learn`, `exception`). */
function tableStore(opts: { table: string; profile?: string; region?: string }): DynamoStateStore {
  return new DynamoStateStore(
    new DynamoDBClient({ ...(opts.region ? { region: opts.region } : {}), ...(opts.profile ? { profile: opts.profile } : {}) }),
    opts.table,
  );
}

const EXCEPTIONS_HELP = 'apply these exceptions (a JSON file, as detect exception list --json prints): what would they have left out?';

/** `--exceptions`: the file's exceptions, or exit with what is wrong in it. */
function exceptionsOption(file: string | undefined, pack: RulePack): FixedExceptions | undefined {
  if (file === undefined) return undefined;
  try {
    return new FixedExceptions(readExceptionsFile(file, pack));
  } catch (err) {
    if (err instanceof ExceptionError) fail(err.message);
    throw err;
  }
}

/** An ISO 8601 time option. */
function isoTimeOption(text: string, name: string): number {
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(t)) fail(`${name} '${text}': expected an ISO time like 2026-12-02T14:00:00Z`);
  return t;
}

/** `--page-fold`: a duration, or `off` (every respond-tier alert pages); undefined: the deployment default. */
function pageFoldOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === 'off') return 0;
  const ms = parseDuration(text);
  if (ms === undefined) fail(`--page-fold '${text}': expected a duration like 30m or 4h, or 'off'`);
  return ms;
}

/** Every rule error on stderr (file, rule id, path), then exit 1. */
function loadPackOrExit(paths: readonly string[], options: { checkRegexes?: boolean } = {}): RulePack {
  return loadPackWithWarnings(paths, options).pack;
}

function loadPackWithWarnings(paths: readonly string[], options: { checkRegexes?: boolean } = {}) {
  const { pack, errors, warnings } = loadPack(paths, options);
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(`${formatRuleError(e)}\n`);
    fail(`${errors.length} error(s) in rule files`, 1);
  }
  return { pack, warnings };
}

export function buildProgram(): Command {
  const program = new Command('detect').description('Sentinel detection engine: replay logs, test and validate rules').showHelpAfterError();

  program
    .command('validate')
    .description('validate rule files: schema, references and regex safety (no execution)')
    .argument('[paths...]', 'rule files or folders', [DEFAULT_RULES])
    .action((paths: string[]) => {
      const { pack, warnings } = loadPackWithWarnings(paths);
      for (const w of warnings) process.stderr.write(`warning: ${formatRuleError(w)}\n`);
      process.stderr.write(
        `ok: ${pack.rules.length} rules, ${pack.correlations.length} correlation rules, ${pack.sources.length} sources\n`,
      );
    });

  program
    .command('test')
    .description("run every rule's inline test cases")
    .argument('[paths...]', 'rule files or folders', [DEFAULT_RULES])
    .action(async (paths: string[]) => {
      const pack = loadPackOrExit(paths);
      const results = await runAllRuleTests(pack);
      const failed = results.filter((r) => !r.passed);
      for (const r of failed) process.stderr.write(`FAIL ${r.ruleId} — ${r.test}: ${r.detail}\n`);
      process.stderr.write(`${results.length - failed.length} passed, ${failed.length} failed\n`);
      if (failed.length > 0) process.exit(1);
    });

  program
    .command('replay')
    .description('run the detection pipeline over CloudWatch Logs payloads, Lambda events or plain log lines')
    .argument(
      '<inputs...>',
      'files or folders: CloudWatch payload JSONL, Lambda or Kinesis events (JSONL, or one per .json file), or plain lines with --log-group',
    )
    .option('-r, --rules <dir>', 'rule folder', DEFAULT_RULES)
    .option('-g, --log-group <name>', 'treat plain lines as events of this log group')
    .option('--received-at <time>', RECEIVED_AT_HELP)
    .option('-o, --out <file>', 'write alert JSONL here instead of stdout')
    .addOption(new Option('--state <kind>', 'state store').choices(['memory', 'dynalite']).default('memory'))
    .option('--no-correlate', 'publish detections without running the correlation state machine')
    .option('-q, --quiet', 'no per-alert lines on stderr')
    .option('--stats <file>', 'also write the run figures (events, skips, alerts, peak memory) as JSON')
    .option('--page-fold <window>', PAGE_FOLD_HELP)
    .option('--outbreak-after <n>', OUTBREAK_AFTER_HELP)
    .option('--learn <period>', LEARN_HELP)
    .option('--exceptions <file>', EXCEPTIONS_HELP)
    .action(
      async (
        inputs: string[],
        opts: {
          rules: string;
          logGroup?: string;
          receivedAt?: string;
          out?: string;
          state: string;
          correlate: boolean;
          quiet?: boolean;
          stats?: string;
          pageFold?: string;
          outbreakAfter?: string;
          learn?: string;
          exceptions?: string;
        },
      ) => {
        const receivedAt = receivedAtOption(opts.receivedAt);
        const pageFoldWindow = pageFoldOption(opts.pageFold);
        const outbreakAfter = outbreakAfterOption(opts.outbreakAfter);
        const newTermLearning = learnOption(opts.learn);
        const pack = loadPackOrExit([opts.rules], { checkRegexes: false });
        const exceptions = exceptionsOption(opts.exceptions, pack);
        let totalBytes = 0;
        try {
          totalBytes = totalInputBytes(inputs);
        } catch (err) {
          fail(err instanceof Error ? err.message : String(err));
        }
        if (totalBytes === 0) fail(`nothing to replay: ${inputs.join(', ')} ${inputs.length === 1 ? 'is' : 'are'} empty`);
        const state = await openStateStore(opts.state === 'dynalite' ? 'dynalite' : 'memory');
        const sink = opts.correlate ? await openCorrelationSink(pack, state, opts.rules, pageFoldWindow) : new PassThroughSink();
        const out = opts.out ? openOut(opts.out) : process.stdout;
        const alerts: Alert[] = [];
        const bar =
          process.stderr.isTTY && totalBytes > 1_000_000
            ? new SingleBar({ format: 'replay [{bar}] {percentage}% | {value}/{total} bytes | {eta}s', stream: process.stderr })
            : undefined;
        bar?.start(totalBytes, 0);
        const started = performance.now();
        try {
          const stats = await replay(inputs, {
            pack,
            store: state.store,
            sink,
            logGroup: opts.logGroup,
            receivedAt,
            ...(pageFoldWindow !== undefined ? { pageFoldWindow } : {}),
            ...(outbreakAfter !== undefined ? { outbreakAfter } : {}),
            ...(newTermLearning !== undefined ? { newTermLearning } : {}),
            ...(exceptions ? { exceptions } : {}),
            onBytes: bar ? (n) => bar.increment(n) : undefined,
            onAlert: (alert) => {
              alerts.push(alert);
              out.write(`${terminalSafeJson(alert)}\n`);
            },
          });
          bar?.stop();
          if (!opts.quiet) for (const a of alerts) process.stderr.write(`${formatAlertLine(a)}\n`);
          const seconds = (performance.now() - started) / 1000;
          process.stderr.write(`${formatSummary(stats, alerts, seconds)}\n`);
          if (opts.stats) writeJson(opts.stats, statsJson(stats, alerts, seconds));
          if (stats.payloads === 0) {
            const why = [...stats.skips.counts].map(([r, n]) => `${n} ${r}`).join(', ');
            process.exitCode = 2;
            process.stderr.write(
              `detect: nothing in the input could be read (${why || 'no lines'})${opts.logGroup ? '' : '; to replay plain log lines, pass --log-group <name>'}\n`,
            );
          }
        } catch (err) {
          bar?.stop();
          if (err instanceof UnreadableInputError) fail(err.message);
          throw err;
        } finally {
          if (out !== process.stdout) out.end();
          await state.close();
        }
      },
    );

  const sources = program.command('sources').description('inspect how log groups are parsed');
  sources
    .command('check')
    .description(
      'for a sample of a log: which source and parser each line goes to, the share parsed, the unparsed shapes and the time range read',
    )
    .argument('<inputs...>', 'files or folders: CloudWatch payload JSONL, Lambda events, or plain lines with --log-group')
    .option('-r, --rules <dir>', 'rule folder (its sources)', DEFAULT_RULES)
    .option('-g, --log-group <name>', 'treat plain lines as events of this log group')
    .option('--received-at <time>', RECEIVED_AT_HELP)
    .option('--min <share>', 'exit non-zero when a log group is parsed below this share', '0.9')
    .option('--json', 'print the report as JSON')
    .action(async (inputs: string[], opts: { rules: string; logGroup?: string; receivedAt?: string; min: string; json?: boolean }) => {
      const receivedAt = receivedAtOption(opts.receivedAt);
      const min = Number(opts.min);
      if (!Number.isFinite(min) || min < 0 || min > 1) fail(`--min must be a share between 0 and 1, got '${opts.min}'`);
      const pack = loadPackOrExit([opts.rules], { checkRegexes: false });
      let report: SourcesReport;
      try {
        report = await checkSources(inputs, pack, { logGroup: opts.logGroup, receivedAt, min });
      } catch (err) {
        if (err instanceof UnreadableInputError) fail(err.message);
        throw err;
      }
      process.stdout.write(`${opts.json ? terminalSafeJson(report, 2) : printableLines(formatSourcesReport(report))}\n`);
      if (!report.passed) process.exit(1);
    });

  program
    .command('import-sigma')
    .description('convert Sigma rules and correlations into rule files; unsupported rules are skipped with the reason')
    .argument('<paths...>', 'Sigma files or folders')
    .requiredOption('-o, --out <dir>', 'folder for the converted rule files, e.g. rules/imported')
    .option('-m, --mapping <file>', 'extra Sigma field mapping (YAML `sigmaMapping:` list), tried before the shipped one')
    .option('--with-tests', 'add a generated positive and negative test to each converted rule (run before writing)')
    .action(async (paths: string[], opts: { out: string; mapping?: string; withTests?: boolean }) => {
      let result: Awaited<ReturnType<typeof importSigma>>;
      try {
        result = await importSigma(paths, opts.out, loadMapping(opts.mapping), { withTests: opts.withTests === true });
      } catch (err) {
        fail(err instanceof Error ? err.message : String(err));
      }
      for (const s of result.skipped) process.stderr.write(`SKIP ${s.file}: ${s.title} — ${s.reason}\n`);
      for (const s of result.untested) process.stderr.write(`NO TESTS ${s.file}: ${s.title} — ${s.reason}\n`);
      const rules = result.written.filter((w) => w.kind === 'rule').length;
      process.stderr.write(
        `converted ${result.written.length} (${rules} rules, ${result.written.length - rules} correlation rules) into ${opts.out}; skipped ${result.skipped.length}\n`,
      );
      for (const [reason, n] of skipSummary(result.skipped)) process.stderr.write(`  ${n} × ${reason}\n`);
      if (opts.withTests) process.stderr.write(`generated tests for ${rules - result.untested.length} of ${rules} rules\n`);
    });

  historyOptions(
    program
      .command('backtest')
      .description(
        "run the rules over a log group's history (CloudWatch Logs, or exported filter-log-events JSON) and report what they would have done",
      ),
    { since: '7d', workDir: '.backtest' },
  )
    .option('-r, --rules <dir>', 'rule folder', DEFAULT_RULES)
    .option('--only <ids>', 'comma-separated rule ids (correlation rules bring their members)')
    .option('-o, --out <file>', 'write the alerts that would have been published as JSONL')
    .option('--report <file>', 'write the report as markdown')
    .option('--json', 'print the report as JSON on stdout (for CI)')
    .option('--max-pages-per-day <n>', 'exit 3 when a rule would page more often than this', (v) => Number(v))
    .option('--no-correlate', 'skip the correlation state machine (no incidents)')
    .option('--page-fold <window>', PAGE_FOLD_HELP)
    .option('--outbreak-after <n>', OUTBREAK_AFTER_HELP)
    .option('--learn <period>', LEARN_HELP)
    .option('--exceptions <file>', EXCEPTIONS_HELP)
    .action(
      async (opts: {
        logGroup?: string[];
        since: string;
        until?: string;
        rules: string;
        only?: string;
        out?: string;
        report?: string;
        json?: boolean;
        maxPagesPerDay?: number;
        fromFile?: string[];
        resume?: boolean;
        workDir: string;
        correlate: boolean;
        profile?: string;
        region?: string;
        pageFold?: string;
        outbreakAfter?: string;
        learn?: string;
        exceptions?: string;
      }) => {
        if (opts.maxPagesPerDay !== undefined && !(opts.maxPagesPerDay >= 0)) fail('--max-pages-per-day: expected a number');
        const pageFoldWindow = pageFoldOption(opts.pageFold);
        const outbreakAfter = outbreakAfterOption(opts.outbreakAfter);
        const newTermLearning = learnOption(opts.learn);
        const pack = loadPackOrExit([opts.rules], { checkRegexes: false });
        const exceptions = exceptionsOption(opts.exceptions, pack);
        const abort = new AbortController();
        const onSigint = () => {
          process.stderr.write('\ninterrupting after the current page…\n');
          abort.abort();
        };
        process.once('SIGINT', onSigint);
        const bars = process.stderr.isTTY
          ? new MultiBar(
              {
                format: '{group} [{bar}] {percentage}% | {events} events | to {covered} | ETA {eta_formatted}',
                stream: process.stderr,
                hideCursor: true,
              },
              Presets.shades_classic,
            )
          : undefined;
        const barsByGroup = new Map<string, ReturnType<MultiBar['create']>>();
        try {
          const result = await runBacktest(
            {
              pack,
              rulesDir: opts.rules,
              logGroups: opts.logGroup ?? [],
              since: opts.since,
              ...(opts.until ? { until: opts.until } : {}),
              ...(opts.only
                ? {
                    only: opts.only
                      .split(',')
                      .map((s) => s.trim())
                      .filter(Boolean),
                  }
                : {}),
              ...(opts.fromFile ? { fromFile: opts.fromFile } : {}),
              resume: opts.resume === true,
              workDir: opts.workDir,
              correlate: opts.correlate,
              ...(opts.maxPagesPerDay !== undefined ? { maxPagesPerDay: opts.maxPagesPerDay } : {}),
              ...(pageFoldWindow !== undefined ? { pageFoldWindow } : {}),
              ...(outbreakAfter !== undefined ? { outbreakAfter } : {}),
              ...(newTermLearning !== undefined ? { newTermLearning } : {}),
              ...(exceptions ? { exceptions } : {}),
              ...(opts.profile ? { profile: opts.profile } : {}),
              ...(opts.region ? { region: opts.region } : {}),
            },
            {
              signal: abort.signal,
              onProgress: (p) => {
                if (!bars) return;
                let bar = barsByGroup.get(p.logGroup);
                if (!bar) {
                  bar = bars.create(1000, 0, { group: p.logGroup, events: 0, covered: '' });
                  barsByGroup.set(p.logGroup, bar);
                }
                bar.update(Math.round(p.fraction * 1000), { events: p.events, covered: new Date(p.coveredTo).toISOString().slice(0, 16) });
              },
              onGroupDone: (group, events) => {
                barsByGroup.get(group)?.update(1000);
                if (!bars) process.stderr.write(`backtest: ${group}: ${events} events downloaded\n`);
              },
            },
          );
          bars?.stop();
          if (result.interrupted || !result.report) {
            process.stderr.write(
              `detect: interrupted; the download so far is in ${opts.workDir}: run the same command with --resume to continue\n`,
            );
            process.exitCode = 130;
            return;
          }
          const report = result.report;
          if (opts.out) writeFileSync(opts.out, result.alerts.map((a) => `${terminalSafeJson(a)}\n`).join(''));
          if (opts.report) writeFileSync(opts.report, reportMarkdown(report));
          if (opts.json) process.stdout.write(`${reportJson(report)}\n`);
          else process.stderr.write(`${printableLines(reportTable(report))}\n`);
          if (result.apiCalls > 0)
            process.stderr.write(`  ${result.apiCalls} CloudWatch Logs call(s), ${result.retries} retried after throttling\n`);
          if (report.overBudget.length > 0) {
            process.stderr.write(`detect: over ${report.maxPagesPerDay} page(s)/day: ${report.overBudget.join(', ')}\n`);
            process.exitCode = 3;
          }
        } catch (err) {
          bars?.stop();
          if (err instanceof BacktestError || err instanceof SpoolError) fail(err.message);
          if (err instanceof Error && /credential|Could not load credentials|Region is missing/i.test(err.message))
            fail(`${err.message} (configure AWS credentials and a Region, or use --from-file with exported logs)`);
          throw err;
        } finally {
          process.removeListener('SIGINT', onSigint);
        }
      },
    );

  historyOptions(
    program
      .command('learn')
      .description(
        "teach a deployment's new-term rules the history CloudWatch Logs already keeps, instead of a week of learning live (writes to its state table; alerts on nothing)",
      ),
    { since: '30d', workDir: '.learn' },
  )
    .requiredOption('--table <name>', "the deployment's state table (the stack output StateTableName)")
    .option('-r, --rules <dir>', 'rule folder (the one deployed)', DEFAULT_RULES)
    .option('--account <id>', 'with --from-file: the 12-digit account that owns the log groups (the account the detector sees them from)')
    .action(
      async (opts: {
        table: string;
        logGroup?: string[];
        since: string;
        until?: string;
        rules: string;
        fromFile?: string[];
        account?: string;
        resume?: boolean;
        workDir: string;
        profile?: string;
        region?: string;
      }) => {
        if (opts.account !== undefined && !/^\d{12}$/.test(opts.account))
          fail(`--account '${opts.account}': expected a 12-digit AWS account id`);
        const pack = loadPackOrExit([opts.rules], { checkRegexes: false });
        const store = tableStore(opts);
        const abort = new AbortController();
        const onSigint = () => {
          process.stderr.write('\ninterrupting after the current page…\n');
          abort.abort();
        };
        process.once('SIGINT', onSigint);
        try {
          const result = await runLearn(
            {
              pack,
              logGroups: opts.logGroup ?? [],
              since: opts.since,
              ...(opts.until ? { until: opts.until } : {}),
              ...(opts.fromFile ? { fromFile: opts.fromFile } : {}),
              ...(opts.account ? { account: opts.account } : {}),
              resume: opts.resume === true,
              workDir: opts.workDir,
              ...(opts.profile ? { profile: opts.profile } : {}),
              ...(opts.region ? { region: opts.region } : {}),
            },
            store,
            {
              signal: abort.signal,
              onGroupDone: (group, events) => process.stderr.write(`learn: ${group}: ${events} events downloaded\n`),
            },
          );
          if (result.interrupted) {
            process.stderr.write(
              `detect: interrupted; the download so far is in ${opts.workDir}: run the same command with --resume to continue\n`,
            );
            process.exitCode = 130;
            return;
          }
          process.stdout.write(`${printableLines(formatLearnResult(result, opts.table))}\n`);
        } catch (err) {
          if (err instanceof BacktestError || err instanceof SpoolError) fail(err.message);
          if (err instanceof Error && /credential|Could not load credentials|Region is missing/i.test(err.message))
            fail(`${err.message} (configure AWS credentials and a Region for the deployment's account)`);
          throw err;
        } finally {
          process.removeListener('SIGINT', onSigint);
        }
      },
    );

  const exception = program
    .command('exception')
    .description(
      "leave an entity out of some rules for a while, without a deploy (a pen test, a scanner): written to the deployment's state table",
    );
  const tableOptions = (c: Command) =>
    c
      .requiredOption('--table <name>', "the deployment's state table (the stack output StateTableName)")
      .option('--profile <name>', 'AWS profile (default: the SDK credential chain)')
      .option('--region <name>', 'AWS Region (default: the SDK configuration)');
  const exceptionAction =
    <T>(run: (opts: T) => Promise<void>) =>
    async (opts: T) => {
      try {
        await run(opts);
      } catch (err) {
        if (err instanceof ExceptionError) fail(err.message);
        if (err instanceof Error && /credential|Could not load credentials|Region is missing/i.test(err.message))
          fail(`${err.message} (configure AWS credentials and a Region for the deployment's account)`);
        throw err;
      }
    };
  tableOptions(
    exception
      .command('add')
      .description(
        'the named rules stop counting events whose field holds one of the values, from now (or --from) until --until or for --for',
      )
      .requiredOption('--rule <pattern...>', 'rule ids or prefixes ending in * (web.*)')
      .requiredOption('--field <name>', 'the event field to compare (source.ip, user.name, host.name …)')
      .requiredOption('--value <value...>', 'values it leaves out (compared case-insensitively; a CIDR range holds its addresses)')
      .option('--for <duration>', 'how long from the start (4h, 2d)')
      .option('--from <time>', 'start: an ISO time (default now)')
      .option('--until <time>', "end: an ISO time, or 'never' (until `detect exception end`)")
      .requiredOption('--reason <text>', 'why (shown with the exception: a ticket, a pen test)')
      .option('--by <name>', 'who (default $USER)')
      .option('-r, --rules <dir>', 'rule folder (the one deployed)', DEFAULT_RULES),
  ).action(
    exceptionAction(
      async (opts: {
        rule: string[];
        field: string;
        value: string[];
        for?: string;
        from?: string;
        until?: string;
        reason: string;
        by?: string;
        rules: string;
        table: string;
        profile?: string;
        region?: string;
      }) => {
        const now = Date.now();
        const from = opts.from === undefined ? now : isoTimeOption(opts.from, '--from');
        if ((opts.for === undefined) === (opts.until === undefined))
          fail('name how long: --for 4h, or --until <ISO time> (or --until never)');
        let until: number | null;
        if (opts.for !== undefined) {
          const span = parseDuration(opts.for);
          if (span === undefined) fail(`--for '${opts.for}': expected a duration like 4h or 2d`);
          until = from + span;
        } else until = opts.until === 'never' ? null : isoTimeOption(opts.until ?? '', '--until');
        const pack = loadPackOrExit([opts.rules], { checkRegexes: false });
        const spec = await addException(
          tableStore(opts),
          pack,
          {
            rules: opts.rule,
            field: opts.field,
            values: opts.value,
            from,
            until,
            reason: opts.reason,
            createdBy: opts.by ?? process.env.USER ?? 'unknown',
          },
          now,
        );
        process.stdout.write(`${printableLines(formatExceptions([spec], now))}\n`);
      },
    ),
  );
  tableOptions(
    exception
      .command('list')
      .description('exceptions in force or to come')
      .option('--all', 'also those ended in the last 30 days')
      .option('--json', 'as JSON (what replay and backtest --exceptions read)'),
  ).action(
    exceptionAction(async (opts: { all?: boolean; json?: boolean; table: string; profile?: string; region?: string }) => {
      const now = Date.now();
      const specs = await listExceptions(tableStore(opts), now, opts.all === true);
      process.stdout.write(opts.json ? `${terminalSafeJson(specs, 2)}\n` : `${printableLines(formatExceptions(specs, now))}\n`);
    }),
  );
  tableOptions(
    exception.command('end').description('end an exception now (it stays listed with --all)').argument('<id>', 'ex-… from list'),
  ).action(async (id: string, opts: { table: string; profile?: string; region?: string }) =>
    exceptionAction(async () => {
      const now = Date.now();
      process.stdout.write(`${printableLines(formatExceptions([await endException(tableStore(opts), id, now)], now))}\n`);
    })(opts),
  );

  program
    .command('demo')
    .description('generate realistic sample logs (benign + attack timelines) and replay them through the whole pipeline')
    .option('-r, --rules <dir>', 'rule folder', DEFAULT_RULES)
    .option('--dir <dir>', 'where to write the generated logs and alerts', '.demo-out')
    .addOption(new Option('--state <kind>', 'state store').choices(['memory', 'dynalite']).default('memory'))
    .action(async (opts: { rules: string; dir: string; state: string }) => {
      await runDemo(opts.rules, opts.dir, opts.state === 'dynalite' ? 'dynalite' : 'memory');
    });

  return program;
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function openOut(file: string) {
  mkdirSync(dirname(file), { recursive: true });
  return createWriteStream(file);
}

export async function main(argv: string[]): Promise<void> {
  // Replays and backtests run the detector's hot path: the same heap setting as the function.
  disablePretenuring();
  await buildProgram().parseAsync(argv);
}
