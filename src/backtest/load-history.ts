import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { compileFilterPattern } from '../rules/filter-pattern';
import type { RulePack } from '../rules/rule-pack';
import { parseDuration } from '../schema/duration';
import {
  BacktestError,
  DEFAULT_PACING,
  fetchGroupHistory,
  type LinkedAccounts,
  PacedCaller,
  type Pacing,
  resolveLogGroups,
} from './cloudwatch-history';
import { readExportFiles } from './from-file';
import type { HistoryEvent, HistoryQuery } from './history';
import { Spool } from './spool';

/** Where history comes from and which span of it: what `detect backtest` and `detect learn` share. */
export interface HistoryOptions {
  logGroups: string[];
  /** A duration back from `now` (7d, 12h) or an ISO time. */
  since: string;
  until?: string;
  fromFile?: string[];
  resume?: boolean;
  workDir: string;
  region?: string;
  profile?: string;
  now?: number;
  /** In a monitoring account of CloudWatch cross-account observability: its linked source accounts' groups too. */
  linkedAccounts?: LinkedAccounts;
}

export interface HistoryProgress {
  logGroup: string;
  events: number;
  /** Event time reached so far. */
  coveredTo: number;
  /** Share of the group's time range covered. */
  fraction: number;
}

export interface HistoryDeps {
  client?: CloudWatchLogsClient;
  pacing?: Pacing;
  signal?: AbortSignal;
  onProgress?: (p: HistoryProgress) => void;
  onGroupDone?: (logGroup: string, events: number) => void;
}

export interface LoadedHistory {
  /** Interrupted while downloading: nothing may be evaluated; `--resume` continues. */
  interrupted: boolean;
  events: AsyncIterable<HistoryEvent>;
  /** Log group → the account that owns it, where known (what a subscription payload names as `owner`). */
  owners: Record<string, string>;
  from: number;
  to: number;
  apiCalls: number;
  retries: number;
}

/** An ISO 8601 time (a date at least), or undefined. */
export function parseIsoTime(text: string): number | undefined {
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** A time option: a duration back from now (`7d`, `36h`) or an ISO 8601 time. */
export function parseTimeOption(text: string, now: number, name: string): number {
  const span = parseDuration(text);
  if (span !== undefined) return now - span;
  const t = parseIsoTime(text);
  if (t === undefined)
    throw new BacktestError(`--${name} '${text}': expected a duration like 7d or 12h, or an ISO time like 2026-11-23T00:00:00Z`);
  return t;
}

/**
 * The history of the log groups, for the rules of `pack`: from exported `filter-log-events` files,
 * or from CloudWatch Logs with each group's compiled subscription filter pattern (CloudWatch drops
 * server-side what no rule can match, as in production), spooled to `workDir` and resumable.
 */
export async function loadHistory(options: HistoryOptions, pack: RulePack, deps: HistoryDeps = {}): Promise<LoadedHistory> {
  const now = options.now ?? Date.now();
  const from = parseTimeOption(options.since, now, 'since');
  const to = options.until ? parseTimeOption(options.until, now, 'until') : now;
  if (from >= to) throw new BacktestError(`--since ${new Date(from).toISOString()} is not before --until ${new Date(to).toISOString()}`);

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
    const resolved = await resolveLogGroups(client, options.logGroups, caller, options.linkedAccounts);
    const logGroups = resolved.map((g) => g.key);
    owners = Object.fromEntries(resolved.flatMap((g) => (g.account ? [[g.key, g.account]] : [])));
    // The subscription filter pattern of each group: CloudWatch drops server-side what no rule can match, as in production.
    const patterns = Object.fromEntries(resolved.map((g) => [g.key, compileFilterPattern(g.name, pack.rules, pack.sources).pattern]));
    const query: HistoryQuery = { logGroups, startTime: from, endTime: to, patterns, owners };
    const spool = options.resume ? Spool.resume(options.workDir, query) : Spool.start(options.workDir, query);
    for (const resolvedGroup of resolved) {
      const group = resolvedGroup.key;
      const progress = spool.progress(group);
      if (progress.done) continue;
      const start = progress.lastTimestamp ?? from;
      for await (const page of fetchGroupHistory(
        client,
        caller,
        resolvedGroup,
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
      if (deps.signal?.aborted) return { interrupted: true, events: empty(), owners, from, to, apiCalls, retries };
      spool.finish(group);
      deps.onGroupDone?.(group, spool.progress(group).events);
    }
    events = spool.events();
  }

  return { interrupted: false, events, owners, from, to, apiCalls, retries };
}

async function* empty(): AsyncGenerator<HistoryEvent> {}
