import { BacktestError } from '../backtest/cloudwatch-history';
import { type HistoryDeps, type HistoryOptions, loadHistory } from '../backtest/load-history';
import { asPayloads } from '../backtest/payloads';
import { Detector } from '../engine/detector';
import { processPayload } from '../engine/pipeline';
import type { StateStore } from '../engine/state-store';
import { type LearningScope, TermLearning } from '../engine/term-learning';
import { Normalizer } from '../parse/normalize';
import type { RulePack } from '../rules/rule-pack';
import { formatTime } from '../schema/duration';

export interface LearnOptions extends HistoryOptions {
  pack: RulePack;
  /**
   * The account that owns the log groups, where the history does not say (exported files): the
   * `owner` the live detector's payloads name, which scopes each rule's learning.
   */
  account?: string;
  /** The deployment's `newTermLearningScope`: whose first week the rules learn in. */
  scope?: LearningScope;
}

export interface LearnedRule {
  ruleId: string;
  /** Per account of the logs (undefined: lines without one), since when the rule knows them. */
  accounts: { account: string | undefined; since: number }[];
}

export interface LearnResult {
  interrupted: boolean;
  from: number;
  to: number;
  events: number;
  payloads: number;
  rules: LearnedRule[];
  apiCalls: number;
  retries: number;
}

/**
 * The rules `detect learn` reads history for: new-term rules that learn. One with `learn: false`
 * alerts on every term from the first day (a `.env` served): reading last week's history into it
 * would make last week's attack known, and its next one silent.
 */
export function learningRules(pack: RulePack): RulePack['rules'] {
  return pack.rules.filter((r) => r.newTerm !== undefined && r.newTerm.learn !== false);
}

/**
 * `detect learn`: a deployment's new-term rules learn from the history CloudWatch Logs already
 * keeps instead of from their first week live. History (the same download as `detect backtest`,
 * filtered server-side by these rules' compiled patterns) runs through the engine into the
 * deployment's state table with nothing alerting: each rule claims the terms it would have seen
 * (countries per user, regions per account …) with their own event times, so they expire as if
 * seen live, and records since when it has known each account's logs — a deployment whose learning
 * period that history covers alerts on the next new term at once (src/engine/term-learning.ts).
 * Running it again over the same span changes nothing: claims are idempotent per event.
 */
export async function runLearn(options: LearnOptions, store: StateStore, deps: HistoryDeps = {}): Promise<LearnResult> {
  const rules = learningRules(options.pack);
  if (rules.length === 0) throw new BacktestError('no rule to learn for: the pack has no new-term rule that learns');
  const pack: RulePack = { ...options.pack, rules, correlations: [] };
  const history = await loadHistory(options, pack, deps);
  const result: LearnResult = {
    interrupted: history.interrupted,
    from: history.from,
    to: history.to,
    events: 0,
    payloads: 0,
    rules: [],
    apiCalls: history.apiCalls,
    retries: history.retries,
  };
  if (history.interrupted) return result;
  const normalizer = new Normalizer(pack.sources);
  const detector = new Detector(pack, store, { learnOnly: true, newTermLearningScope: options.scope ?? 'owner' });
  const owners = (group: string) => history.owners[group] ?? options.account;
  for await (const item of asPayloads(history.events, owners)) {
    if (item.kind !== 'payload') continue;
    const r = await processPayload(item.payload, normalizer, detector);
    result.events += r.eventsIn;
    result.payloads++;
  }
  const accounts = [...detector.learnedAccounts].sort((a, b) => (a ?? '').localeCompare(b ?? ''));
  const learning = new TermLearning(store);
  for (const rule of rules) {
    const known: LearnedRule['accounts'] = [];
    for (const account of accounts) {
      const since = await learning.storedSince(rule.id, account);
      if (since !== undefined) known.push({ account, since });
    }
    result.rules.push({ ruleId: rule.id, accounts: known });
  }
  return result;
}

const DAY = 86_400_000;

/** What `detect learn` prints: per rule and account, since when it knows the logs and when a 7-day learning period ends. */
export function formatLearnResult(result: LearnResult, table: string): string {
  const lines = [
    `learn ${formatTime(result.from)} → ${formatTime(result.to)}: ${result.events} event(s) in ${result.payloads} payload(s) read into ${table}`,
  ];
  if (result.apiCalls > 0) lines.push(`  ${result.apiCalls} CloudWatch Logs call(s), ${result.retries} retried after throttling`);
  const rows = result.rules.flatMap((r) => r.accounts.map((a) => ({ rule: r.ruleId, ...a })));
  if (rows.length === 0) {
    lines.push('no event of this history is one a new-term rule reads: nothing learned (check the log groups and --since)');
    return lines.join('\n');
  }
  const width = Math.max(...rows.map((r) => r.rule.length), 4);
  lines.push(`${'rule'.padEnd(width)}  ${'account'.padEnd(12)}  ${'known since'.padEnd(20)}  alerts on new terms (newTermLearning 7d)`);
  for (const r of rows) {
    const from = r.since + 7 * DAY;
    lines.push(
      `${r.rule.padEnd(width)}  ${(r.account ?? '(none)').padEnd(12)}  ${formatTime(r.since).padEnd(20)}  ${from <= result.to ? 'now' : `from ${formatTime(from)}`}`,
    );
  }
  const silent = result.rules.filter((r) => r.accounts.length === 0).map((r) => r.ruleId);
  if (silent.length > 0) lines.push(`no event for: ${silent.join(', ')}`);
  return lines.join('\n');
}
