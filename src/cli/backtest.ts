import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  BacktestError,
  DEFAULT_PACING,
  fetchGroupHistory,
  PacedCaller,
  type Pacing,
  resolveLogGroups,
} from '../backtest/cloudwatch-history';
import { readExportFiles } from '../backtest/from-file';
import type { HistoryEvent, HistoryQuery } from '../backtest/history';
import { asPayloads } from '../backtest/payloads';
import { type BacktestReport, buildReport } from '../backtest/report';
import { Spool } from '../backtest/spool';
import { type CorrelationSink, PassThroughSink } from '../engine/ports';
import { compileFilterPattern } from '../rules/filter-pattern';
import type { RulePack } from '../rules/rule-pack';
import type { Alert, Message } from '../schema/alert';
import { parseDuration } from '../schema/duration';
import { openCorrelationSink, openStateStore } from './local-adapters';
import { type ReplayStats, replayItems } from './replay';

export { BacktestError };

export interface BacktestOptions {
  pack: RulePack;
  rulesDir: string;
  logGroups: string[];
  /** A duration back from `now` (7d, 12h) or an ISO time. */
  since: string;
  until?: string;
  /** Only these rule ids (and the members of listed correlation rules). */
  only?: string[];
  fromFile?: string[];
  resume?: boolean;
  workDir: string;
  correlate: boolean;
  maxPagesPerDay?: number;
  /** How long a page stands for its entity, as the deployment's `pageFold` (0: off). */
  pageFoldWindow?: number;
  /** Alerts of one rule told one by one per hour, as the deployment's `outbreakAfter` (0: every one). */
  outbreakAfter?: number;
  /** New-term rules learn first, as a fresh deployment's `newTermLearning` (default: none, history taken as learned). */
  newTermLearning?: number;
  region?: string;
  profile?: string;
  now?: number;
}

export interface BacktestProgress {
  logGroup: string;
  events: number;
  /** Event time reached so far. */
  coveredTo: number;
  /** Share of the group's time range covered. */
  fraction: number;
}

export interface BacktestDeps {
  client?: CloudWatchLogsClient;
  pacing?: Pacing;
  signal?: AbortSignal;
  onProgress?: (p: BacktestProgress) => void;
  onGroupDone?: (logGroup: string, events: number) => void;
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

/** A time option: a duration back from now (`7d`, `36h`) or an ISO 8601 time. */
export function parseTimeOption(text: string, now: number, name: string): number {
  const span = parseDuration(text);
  if (span !== undefined) return now - span;
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(t))
    throw new BacktestError(`--${name} '${text}': expected a duration like 7d or 12h, or an ISO time like 2026-11-23T00:00:00Z`);
  return t;
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
  const now = options.now ?? Date.now();
  const from = parseTimeOption(options.since, now, 'since');
  const to = options.until ? parseTimeOption(options.until, now, 'until') : now;
  if (from >= to) throw new BacktestError(`--since ${new Date(from).toISOString()} is not before --until ${new Date(to).toISOString()}`);
  const pack = restrictPack(options.pack, options.only);

  let events: AsyncIterable<HistoryEvent>;
  let owners: Record<string, string> = {};
  let apiCalls = 0;
  let retries = 0;
  if (options.fromFile && options.fromFile.length > 0) {
    const all = readExportFiles(options.fromFile, options.logGroups).filter((e) => e.timestamp >= from && e.timestamp < to);
    events = (async function* () {
      yield* all;
    })();
  } else {
    if (options.logGroups.length === 0) throw new BacktestError('name at least one --log-group (or --from-file)');
    const client =
      deps.client ??
      new CloudWatchLogsClient({
        ...(options.region ? { region: options.region } : {}),
        ...(options.profile ? { profile: options.profile } : {}),
      });
    const caller = new PacedCaller(deps.pacing ?? DEFAULT_PACING);
    const resolved = await resolveLogGroups(client, options.logGroups, caller);
    const logGroups = resolved.map((g) => g.name);
    owners = Object.fromEntries(resolved.flatMap((g) => (g.account ? [[g.name, g.account]] : [])));
    // The subscription filter pattern of each group: CloudWatch drops server-side what no rule can match, as in production.
    const patterns = Object.fromEntries(logGroups.map((g) => [g, compileFilterPattern(g, pack.rules, pack.sources).pattern]));
    const query: HistoryQuery = { logGroups, startTime: from, endTime: to, patterns, owners };
    const spool = options.resume ? Spool.resume(options.workDir, query) : Spool.start(options.workDir, query);
    for (const group of logGroups) {
      const progress = spool.progress(group);
      if (progress.done) continue;
      const start = progress.lastTimestamp ?? from;
      for await (const page of fetchGroupHistory(
        client,
        caller,
        group,
        { startTime: start, skipIds: progress.idsAtLast },
        to,
        patterns[group] ?? '',
        deps.signal,
      )) {
        spool.append(group, page);
        const reached = spool.progress(group).lastTimestamp ?? from;
        deps.onProgress?.({
          logGroup: group,
          events: spool.progress(group).events,
          coveredTo: reached,
          fraction: (reached - from) / (to - from),
        });
      }
      apiCalls = caller.calls;
      retries = caller.retries;
      if (deps.signal?.aborted) return { interrupted: true, alerts: [], apiCalls, retries };
      spool.finish(group);
      deps.onGroupDone?.(group, spool.progress(group).events);
    }
    events = spool.events();
  }

  const state = await openStateStore('memory');
  try {
    const inner: CorrelationSink = options.correlate
      ? await openCorrelationSink(pack, state, options.rulesDir, options.pageFoldWindow)
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
    });
    const report = buildReport({
      pack,
      messages: decided,
      stats,
      from,
      to,
      ...(options.maxPagesPerDay !== undefined ? { maxPagesPerDay: options.maxPagesPerDay } : {}),
    });
    return { interrupted: false, report, alerts, stats, apiCalls, retries };
  } finally {
    await state.close();
  }
}
