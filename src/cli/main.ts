import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { printableLines, terminalSafeJson } from '../alerts/plain-text';
import { withRunbookLink } from '../alerts/runbook-link';
import { reportJson, reportMarkdown, reportTable } from '../backtest/report';
import { SpoolError } from '../backtest/spool';
import { awsAccountId } from '../engine/entity-scope';
import { PassThroughSink } from '../engine/ports';
import { formatRuleError } from '../rules/rule-pack';
import { runAllRuleTests } from '../rules/rule-tests';
import { disablePretenuring } from '../runtime/v8-heap';
import type { Alert } from '../schema/alert';
import { BacktestError, runBacktest } from './backtest';
import { runDemo } from './demo';
import { addExceptionCommands } from './exception-commands';
import { importSigma, loadMapping, skipSummary } from './import-sigma';
import { UnreadableInputError } from './input-files';
import { addSchemaCommand } from './json-schemas';
import { formatLearnResult, runLearn } from './learn';
import { formatListReports, listReports } from './lists-report';
import { openCorrelationSink, openStateStore } from './local-adapters';
import {
  DEFAULT_RULES,
  EXCEPTIONS_HELP,
  exceptionsOption,
  fail,
  historyFrom,
  historyOptions,
  LEARN_HELP,
  LOG_STREAM_HELP,
  learningScopeOf,
  learningScopeOption,
  learnOption,
  loadPackOrExit,
  loadPackWithWarnings,
  OUTBREAK_AFTER_HELP,
  outbreakAfterOption,
  PAGE_FOLD_HELP,
  pageFoldOption,
  RECEIVED_AT_HELP,
  RUNBOOK_BASE_HELP,
  receivedAtOption,
  reportInterrupted,
  ruleFolders,
  rulesOption,
  runbookBaseOption,
  stopOnInterrupt,
  TIME_ZONE_HELP,
  tableProblem,
  tableStore,
  timeZoneOption,
} from './options';
import { addRedriveCommand } from './redrive-command';
import { replay } from './replay';
import { totalInputBytes } from './replay-input';
import { addResponderCommands } from './responder-commands';
import { checkSources, formatSourcesReport, type SourcesReport } from './sources-check';
import { formatAlertLine, formatStoreUnits, formatSummary, statsJson, storeUnits } from './summary';

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
        `ok: ${pack.rules.length} rules, ${pack.correlations.length} correlation rules, ${pack.sources.length} sources, ${pack.lists.length} ${pack.lists.length === 1 ? 'list' : 'lists'}\n`,
      );
    });

  program
    .command('lists')
    .description('what each named list holds here: its values, the change your folder made and why, the rules that read it')
    .argument('[paths...]', 'rule files or folders (the shipped rules, then yours)', [DEFAULT_RULES])
    .option('--json', 'print the lists as JSON')
    .action((paths: string[], opts: { json?: boolean }) => {
      const reports = listReports(loadPackOrExit(paths, { checkRegexes: false }).lists);
      process.stdout.write(`${opts.json ? terminalSafeJson(reports, 2) : printableLines(formatListReports(reports))}\n`);
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
    .addOption(rulesOption('rule folder'))
    .option('-g, --log-group <name>', 'treat plain lines as events of this log group')
    .option('--log-stream <name>', LOG_STREAM_HELP)
    .option('--received-at <time>', RECEIVED_AT_HELP)
    .option('-o, --out <file>', 'write alert JSONL here instead of stdout')
    .addOption(new Option('--state <kind>', 'state store').choices(['memory', 'dynalite']).default('memory'))
    .option('--no-correlate', 'publish detections without running the correlation state machine')
    .option('-q, --quiet', 'no per-alert lines on stderr')
    .option('--stats <file>', 'also write the run figures (events, skips, alerts, peak memory) as JSON')
    .option('--page-fold <window>', PAGE_FOLD_HELP)
    .option('--outbreak-after <n>', OUTBREAK_AFTER_HELP)
    .option('--learn <period>', LEARN_HELP)
    .addOption(learningScopeOption())
    .option('--time-zone <zone>', TIME_ZONE_HELP)
    .option('--exceptions <file>', EXCEPTIONS_HELP)
    .option('--runbook-base-url <url>', RUNBOOK_BASE_HELP)
    .action(
      async (
        inputs: string[],
        opts: {
          rules?: string[];
          logGroup?: string;
          logStream?: string;
          receivedAt?: string;
          out?: string;
          state: string;
          correlate: boolean;
          quiet?: boolean;
          stats?: string;
          pageFold?: string;
          outbreakAfter?: string;
          learn?: string;
          learningScope: string;
          timeZone?: string;
          exceptions?: string;
          runbookBaseUrl?: string;
        },
      ) => {
        const receivedAt = receivedAtOption(opts.receivedAt);
        const runbookBase = runbookBaseOption(opts.runbookBaseUrl);
        const pageFoldWindow = pageFoldOption(opts.pageFold);
        const outbreakAfter = outbreakAfterOption(opts.outbreakAfter);
        const newTermLearning = learnOption(opts.learn);
        const timeZone = timeZoneOption(opts.timeZone);
        const pack = loadPackOrExit(ruleFolders(opts.rules), { checkRegexes: false });
        const exceptions = exceptionsOption(opts.exceptions, pack);
        let totalBytes = 0;
        try {
          totalBytes = totalInputBytes(inputs);
        } catch (err) {
          fail(err instanceof Error ? err.message : String(err));
        }
        if (totalBytes === 0) fail(`nothing to replay: ${inputs.join(', ')} ${inputs.length === 1 ? 'is' : 'are'} empty`);
        const state = await openStateStore(opts.state === 'dynalite' ? 'dynalite' : 'memory');
        const sink = opts.correlate
          ? await openCorrelationSink(pack, state, ruleFolders(opts.rules), pageFoldWindow)
          : new PassThroughSink();
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
            ...(opts.logStream ? { logStream: opts.logStream } : {}),
            receivedAt,
            ...(pageFoldWindow !== undefined ? { pageFoldWindow } : {}),
            ...(outbreakAfter !== undefined ? { outbreakAfter } : {}),
            ...(newTermLearning !== undefined ? { newTermLearning } : {}),
            newTermLearningScope: learningScopeOf(opts.learningScope),
            ...(timeZone ? { timeZone } : {}),
            ...(exceptions ? { exceptions } : {}),
            onBytes: bar ? (n) => bar.increment(n) : undefined,
            onAlert: (published) => {
              // As the deployment tells it: its runbook a link under the base, where one is given.
              const alert = withRunbookLink(published, runbookBase);
              alerts.push(alert);
              out.write(`${terminalSafeJson(alert)}\n`);
            },
          });
          bar?.stop();
          if (!opts.quiet) for (const a of alerts) process.stderr.write(`${formatAlertLine(a)}\n`);
          const seconds = (performance.now() - started) / 1000;
          process.stderr.write(`${formatSummary(stats, alerts, seconds)}\n`);
          const units = state.consumed && storeUnits(state.store.calls, state.consumed);
          if (units) process.stderr.write(`${formatStoreUnits(units)}\n`);
          if (opts.stats) writeJson(opts.stats, { ...statsJson(stats, alerts, seconds), ...(units ? { dynamodb: units } : {}) });
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
    .addOption(rulesOption('rule folder (its sources)'))
    .option('-g, --log-group <name>', 'treat plain lines as events of this log group')
    .option('--log-stream <name>', LOG_STREAM_HELP)
    .option('--received-at <time>', RECEIVED_AT_HELP)
    .option('--min <share>', 'exit non-zero when a log group is parsed below this share', '0.9')
    .option('--json', 'print the report as JSON')
    .action(
      async (
        inputs: string[],
        opts: { rules?: string[]; logGroup?: string; logStream?: string; receivedAt?: string; min: string; json?: boolean },
      ) => {
        const receivedAt = receivedAtOption(opts.receivedAt);
        const min = Number(opts.min);
        if (!Number.isFinite(min) || min < 0 || min > 1) fail(`--min must be a share between 0 and 1, got '${opts.min}'`);
        const pack = loadPackOrExit(ruleFolders(opts.rules), { checkRegexes: false });
        let report: SourcesReport;
        try {
          report = await checkSources(inputs, pack, { logGroup: opts.logGroup, logStream: opts.logStream, receivedAt, min });
        } catch (err) {
          if (err instanceof UnreadableInputError) fail(err.message);
          throw err;
        }
        process.stdout.write(`${opts.json ? terminalSafeJson(report, 2) : printableLines(formatSourcesReport(report))}\n`);
        if (!report.passed) process.exit(1);
      },
    );

  program
    .command('import-sigma')
    .description('convert Sigma rules and correlations into rule files; unsupported rules are skipped with the reason')
    .argument('<paths...>', 'Sigma files or folders')
    .requiredOption('-o, --out <dir>', 'folder for the converted rule files, e.g. rules/imported')
    .option('-m, --mapping <file>', 'extra Sigma field mapping (YAML `sigmaMapping:` list), tried before the shipped one')
    .option('--with-tests', 'add a generated positive and negative test to each converted rule (run before writing)')
    .addOption(rulesOption('rule folder the imported rules deploy with: the lists it defines are read, not written again'))
    .action(async (paths: string[], opts: { out: string; mapping?: string; withTests?: boolean; rules?: string[] }) => {
      const missing = opts.rules?.find((dir) => !existsSync(dir));
      if (missing !== undefined) fail(`--rules ${missing}: no such folder`);
      let result: Awaited<ReturnType<typeof importSigma>>;
      try {
        // None named: the shipped folder, where there is one.
        result = await importSigma(paths, opts.out, loadMapping(opts.mapping), {
          withTests: opts.withTests === true,
          ruleFolders: ruleFolders(opts.rules),
        });
      } catch (err) {
        fail(err instanceof Error ? err.message : String(err));
      }
      for (const s of result.skipped) process.stderr.write(`SKIP ${s.file}: ${s.title} — ${s.reason}\n`);
      for (const s of result.untested) process.stderr.write(`NO TESTS ${s.file}: ${s.title} — ${s.reason}\n`);
      for (const l of result.lists)
        process.stderr.write(`LIST ${l.path}: Sigma's placeholder %${l.name}%, read by ${l.readBy.join(', ')} — empty: add your values\n`);
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
    .addOption(rulesOption('rule folder'))
    .option('--only <ids>', 'comma-separated rule ids (correlation rules bring their members)')
    .option('-o, --out <file>', 'write the alerts that would have been published as JSONL')
    .option('--report <file>', 'write the report as markdown')
    .option('--json', 'print the report as JSON on stdout (for CI)')
    .option('--max-pages-per-day <n>', 'exit 3 when a rule would page more often than this', (v) => Number(v))
    .option('--no-correlate', 'skip the correlation state machine (no incidents)')
    .option('--page-fold <window>', PAGE_FOLD_HELP)
    .option('--outbreak-after <n>', OUTBREAK_AFTER_HELP)
    .option('--learn <period>', LEARN_HELP)
    .addOption(learningScopeOption())
    .option('--time-zone <zone>', TIME_ZONE_HELP)
    .option('--exceptions <file>', EXCEPTIONS_HELP)
    .action(
      async (opts: {
        logGroup?: string[];
        since: string;
        until?: string;
        rules?: string[];
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
        learningScope: string;
        timeZone?: string;
        exceptions?: string;
      }) => {
        if (opts.maxPagesPerDay !== undefined && !(opts.maxPagesPerDay >= 0)) fail('--max-pages-per-day: expected a number');
        const pageFoldWindow = pageFoldOption(opts.pageFold);
        const outbreakAfter = outbreakAfterOption(opts.outbreakAfter);
        const newTermLearning = learnOption(opts.learn);
        const timeZone = timeZoneOption(opts.timeZone);
        const pack = loadPackOrExit(ruleFolders(opts.rules), { checkRegexes: false });
        const exceptions = exceptionsOption(opts.exceptions, pack);
        const interrupt = stopOnInterrupt();
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
              ...historyFrom(opts),
              pack,
              rulesDirs: ruleFolders(opts.rules),
              ...(opts.only
                ? {
                    only: opts.only
                      .split(',')
                      .map((s) => s.trim())
                      .filter(Boolean),
                  }
                : {}),
              correlate: opts.correlate,
              ...(opts.maxPagesPerDay !== undefined ? { maxPagesPerDay: opts.maxPagesPerDay } : {}),
              ...(pageFoldWindow !== undefined ? { pageFoldWindow } : {}),
              ...(outbreakAfter !== undefined ? { outbreakAfter } : {}),
              ...(newTermLearning !== undefined ? { newTermLearning } : {}),
              newTermLearningScope: learningScopeOf(opts.learningScope),
              ...(timeZone ? { timeZone } : {}),
              ...(exceptions ? { exceptions } : {}),
            },
            {
              signal: interrupt.signal,
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
            reportInterrupted(opts.workDir);
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
          interrupt.release();
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
    .addOption(rulesOption('rule folder (the one deployed)'))
    .option('--account <id>', 'with --from-file: the 12-digit account that owns the log groups (the account the detector sees them from)')
    .addOption(learningScopeOption())
    .action(
      async (opts: {
        table: string;
        learningScope: string;
        logGroup?: string[];
        since: string;
        until?: string;
        rules?: string[];
        fromFile?: string[];
        account?: string;
        resume?: boolean;
        workDir: string;
        profile?: string;
        region?: string;
      }) => {
        if (opts.account !== undefined && awsAccountId(opts.account) === undefined)
          fail(`--account '${opts.account}': expected a 12-digit AWS account id`);
        const pack = loadPackOrExit(ruleFolders(opts.rules), { checkRegexes: false });
        const store = tableStore(opts);
        const interrupt = stopOnInterrupt();
        try {
          const result = await runLearn(
            { ...historyFrom(opts), pack, scope: learningScopeOf(opts.learningScope), ...(opts.account ? { account: opts.account } : {}) },
            store,
            {
              signal: interrupt.signal,
              onGroupDone: (group, events) => process.stderr.write(`learn: ${group}: ${events} events downloaded\n`),
            },
          );
          if (result.interrupted) {
            reportInterrupted(opts.workDir);
            return;
          }
          process.stdout.write(`${printableLines(formatLearnResult(result, opts.table))}\n`);
        } catch (err) {
          if (err instanceof BacktestError || err instanceof SpoolError) fail(err.message);
          const problem = tableProblem(err, opts.table);
          if (problem) fail(problem);
          throw err;
        } finally {
          interrupt.release();
        }
      },
    );

  addExceptionCommands(program);
  addResponderCommands(program);
  addRedriveCommand(program);
  addSchemaCommand(program);

  program
    .command('demo')
    .description('generate realistic sample logs (benign + attack timelines) and replay them through the whole pipeline')
    .addOption(rulesOption('rule folder'))
    .option('--dir <dir>', 'where to write the generated logs and alerts', '.demo-out')
    .addOption(new Option('--state <kind>', 'state store').choices(['memory', 'dynalite']).default('memory'))
    .action(async (opts: { rules?: string[]; dir: string; state: string }) => {
      await runDemo(ruleFolders(opts.rules), opts.dir, opts.state === 'dynalite' ? 'dynalite' : 'memory');
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
