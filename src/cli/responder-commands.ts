import type { Command } from 'commander';
import { printableLines, terminalSafeJson } from '../alerts/plain-text';
import { parseDuration } from '../schema/duration';
import {
  AcknowledgementError,
  acknowledgeOpen,
  endAcknowledgement,
  formatAcknowledgements,
  listAcknowledgements,
} from './acknowledgements';
import { callerName } from './caller';
import { formatOpenAlerts, listOpenAlerts } from './open-alerts';
import { fail, tableAction, tableOptions, tableStore } from './options';

interface TableOpts {
  table: string;
  profile?: string;
  region?: string;
}

/**
 * What a responder does with the deployed stack's alerts: `detect open` (what is open now) and
 * `detect ack add | list | end` (acknowledgements, src/engine/acknowledgements.ts).
 */
export function addResponderCommands(program: Command): void {
  tableOptions(
    program
      .command('open')
      .description('the alerts open now, most urgent first: their ids (for detect ack), entities, and who has them')
      .option('--review', 'also review-tier ones (told in the digest)')
      .option('--json', 'as JSON'),
  ).action(
    tableAction()(async (opts: TableOpts & { review?: boolean; json?: boolean }) => {
      const { alerts, truncated, unreadable } = await listOpenAlerts(tableStore(opts), Date.now(), { review: opts.review === true });
      process.stdout.write(
        opts.json ? `${terminalSafeJson(alerts, 2)}\n` : `${printableLines(formatOpenAlerts(alerts, truncated, unreadable))}\n`,
      );
    }),
  );
  const ack = program
    .command('ack')
    .description('acknowledge an alert you are working on: its reminders stop (escalations and its resolution are still told)');
  const ackAction = tableAction(AcknowledgementError);
  tableOptions(
    ack
      .command('add')
      .description(
        'acknowledge open alerts by id (the Alert id line of the message): their reminders are silent from the next batch on; an id no open alert has is refused',
      )
      .argument('<alert-id...>', 'det-… or inc-…')
      .option('--for <duration>', 'reminders start again after this long (8h); default: for the alert’s whole life')
      .option('--reason <text>', 'what you are doing about it (a ticket, a bridge)')
      .option('--by <name>', 'who (default: your AWS principal, as sts get-caller-identity names it)'),
  ).action(async (alertIds: string[], opts: TableOpts & { for?: string; reason?: string; by?: string }) =>
    ackAction(async () => {
      const now = Date.now();
      let until: number | null = null;
      if (opts.for !== undefined) {
        const span = parseDuration(opts.for);
        if (span === undefined || span <= 0) fail(`--for '${opts.for}': expected a duration like 8h or 2d`);
        until = now + span;
      }
      const store = tableStore(opts);
      const by = opts.by ?? (await callerName(opts));
      const acks = await acknowledgeOpen(store, alertIds, { by, until, ...(opts.reason ? { reason: opts.reason } : {}) }, now);
      process.stdout.write(`${printableLines(formatAcknowledgements(acks, now))}\n`);
    })(opts),
  );
  tableOptions(
    ack
      .command('list')
      .description('acknowledgements in force')
      .option('--all', 'also those ended in the last 30 days')
      .option('--json', 'as JSON'),
  ).action(
    ackAction(async (opts: TableOpts & { all?: boolean; json?: boolean }) => {
      const now = Date.now();
      const acks = await listAcknowledgements(tableStore(opts), now, opts.all === true);
      process.stdout.write(opts.json ? `${terminalSafeJson(acks, 2)}\n` : `${printableLines(formatAcknowledgements(acks, now))}\n`);
    }),
  );
  tableOptions(
    ack
      .command('end')
      .description("end an acknowledgement now: the alert's reminders are told again")
      .argument('<alert-id>', 'det-… or inc-…'),
  ).action(async (alertId: string, opts: TableOpts) =>
    ackAction(async () => {
      const now = Date.now();
      process.stdout.write(`${printableLines(formatAcknowledgements([await endAcknowledgement(tableStore(opts), alertId, now)], now))}\n`);
    })(opts),
  );
}
