import { BacktestError } from '../backtest/cloudwatch-history';
import { type HistoryDeps, type HistoryOptions, type HistoryProgress, loadHistory, parseTimeOption } from '../backtest/load-history';
import { asPayloads } from '../backtest/payloads';
import { type BacktestReport, buildReport } from '../backtest/report';
import { type StateCost, stateCost } from '../backtest/state-cost';
import type { ExceptionSource } from '../engine/exceptions';
import { MemoryStateStore } from '../engine/memory-store';
import { type CorrelationSink, PassThroughSink } from '../engine/ports';
import type { StateStore } from '../engine/state-store';
import type { LearningScope } from '../engine/term-learning';
import type { RulePack } from '../rules/rule-pack';
import type { Alert, Message } from '../schema/alert';
import { openCorrelationSink, openStateStore } from './local-adapters';
import { type ReplayStats, replayItems } from './replay';

export { BacktestError, parseTimeOption };
export type BacktestProgress = HistoryProgress;
export type BacktestDeps = HistoryDeps;

export interface BacktestOptions extends HistoryOptions {
  pack: RulePack;
  rulesDirs: readonly string[];
  /** Only these rule ids (and the members of listed correlation rules). */
  only?: string[];
  correlate: boolean;
  maxPagesPerDay?: number;
  /** How long a page stands for its entity, as the deployment's `pageFold` (0: off). */
  pageFoldWindow?: number;
  /** Alerts of one rule told one by one per hour, as the deployment's `outbreakAfter` (0: every one). */
  outbreakAfter?: number;
  /** New-term rules learn first, as a fresh deployment's `newTermLearning` (default: none, history taken as learned). */
  newTermLearning?: number;
  /** Whose first week new-term rules learn in (the deployment's `newTermLearningScope`; default owner). */
  newTermLearningScope?: LearningScope;
  /** The team's time zone, as the deployment's `timeZone` (`event.hour_local`); default UTC. */
  timeZone?: string;
  /** Exceptions to apply (`--exceptions`): what they would have kept out. */
  exceptions?: ExceptionSource;
}

export interface BacktestResult {
  /** Interrupted while downloading: nothing was evaluated; `--resume` continues. */
  interrupted: boolean;
  report?: BacktestReport;
  alerts: Alert[];
  stats?: ReplayStats;
  apiCalls: number;
  retries: number;
}

/** The pack restricted to `--only`: listed rules, listed correlation rules and their members. */
export function restrictPack(pack: RulePack, only: readonly string[] | undefined): RulePack {
  if (!only || only.length === 0) return pack;
  const known = new Set([...pack.rules.map((r) => r.id), ...pack.correlations.map((c) => c.id)]);
  const unknown = only.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new BacktestError(`--only: no rule named ${unknown.join(', ')} in the rule folder`);
  const correlations = pack.correlations.filter((c) => only.includes(c.id));
  const wanted = new Set(only);
  for (const c of correlations) {
    for (const m of c.correlation.members) {
      if (m.startsWith('tag:')) for (const r of pack.rules.filter((x) => x.tags.includes(m.slice(4)))) wanted.add(r.id);
      else wanted.add(m);
    }
  }
  return { ...pack, rules: pack.rules.filter((r) => wanted.has(r.id)), correlations };
}

/**
 * `detect backtest`: the account's own history through the same engine and lifecycle, with
 * in-memory state. History comes from CloudWatch Logs (spooled to `workDir`, resumable) or from
 * exported `filter-log-events` files.
 */
export async function runBacktest(options: BacktestOptions, deps: BacktestDeps = {}): Promise<BacktestResult> {
  const pack = restrictPack(options.pack, options.only);
  const history = await loadHistory(options, pack, deps);
  const { events, owners, from, to, apiCalls, retries } = history;
  if (history.interrupted) return { interrupted: true, alerts: [], apiCalls, retries };

  const state = await openStateStore('memory', { attributeWrites: true });
  try {
    const inner: CorrelationSink = options.correlate
      ? await openCorrelationSink(pack, state, options.rulesDirs, options.pageFoldWindow)
      : new PassThroughSink();
    const decided: Message[] = [];
    const sink: CorrelationSink = {
      send: async (messages) => {
        decided.push(...messages);
        const published = await inner.send(messages);
        // Incidents are decided inside the state machine: what it published is what responders would have seen.
        for (const alert of published)
          if (alert.kind === 'incident')
            decided.push({ alert, key: `${alert.id}#${alert.status}`, publish: true, digest: false, correlate: false });
        return published;
      },
    };
    const alerts: Alert[] = [];
    const stats = await replayItems(asPayloads(events, owners), {
      pack,
      store: state.store,
      sink,
      onAlert: (a) => void alerts.push(a),
      ...(options.pageFoldWindow !== undefined ? { pageFoldWindow: options.pageFoldWindow } : {}),
      ...(options.outbreakAfter !== undefined ? { outbreakAfter: options.outbreakAfter } : {}),
      ...(options.newTermLearning !== undefined ? { newTermLearning: options.newTermLearning } : {}),
      ...(options.newTermLearningScope ? { newTermLearningScope: options.newTermLearningScope } : {}),
      ...(options.timeZone ? { timeZone: options.timeZone } : {}),
      ...(options.exceptions ? { exceptions: options.exceptions } : {}),
    });
    const report = buildReport({
      pack,
      messages: decided,
      stats,
      from,
      to,
      ...stateUsage(state.store, from, to),
      ...(options.maxPagesPerDay !== undefined ? { maxPagesPerDay: options.maxPagesPerDay } : {}),
    });
    return { interrupted: false, report, alerts, stats, apiCalls, retries };
  } finally {
    await state.close();
  }
}

/** The detector's state calls over the history, per rule, priced (src/backtest/state-cost.ts). */
function stateUsage(store: StateStore, from: number, to: number): { state?: StateCost } {
  if (!(store instanceof MemoryStateStore) || !store.writesByOwner) return {};
  const days = Math.max((to - from) / 86_400_000, 1 / 24);
  // Write units: the calls' own and the due index's (an alert's document entering, leaving or moving in it).
  const writes = store.calls.writes + store.dueIndexWrites;
  return { state: stateCost({ reads: store.calls.reads, writes, byOwner: store.writesByOwner.totals() }, days) };
}
