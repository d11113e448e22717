import type { Command } from 'commander';
import { printableLines, terminalSafeJson } from '../alerts/plain-text';
import { parseDuration } from '../schema/duration';
import { callerName } from './caller';
import { addException, ExceptionError, endException, formatExceptions, listExceptions } from './exceptions';
import { fail, isoTimeOption, loadPackOrExit, ruleFolders, rulesOption, tableAction, tableOptions, tableStore } from './options';

/** `detect exception add | list | end`: exceptions in the deployment's state table (src/engine/exceptions.ts). */
export function addExceptionCommands(program: Command): void {
  const exception = program
    .command('exception')
    .description(
      "leave an entity out of some rules for a while, without a deploy (a pen test, a scanner): written to the deployment's state table",
    );
  const exceptionAction = tableAction(ExceptionError);
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
      .option('--by <name>', 'who (default: your AWS principal, as sts get-caller-identity names it)')
      .addOption(rulesOption('rule folder (the one deployed)')),
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
        rules?: string[];
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
        const pack = loadPackOrExit(ruleFolders(opts.rules), { checkRegexes: false });
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
            createdBy: opts.by ?? (await callerName(opts)),
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
}
