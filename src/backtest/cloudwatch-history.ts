import {
  type CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  type FilterLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import { awsAccountId } from '../engine/entity-scope';
import { globToRegExp } from '../parse/glob';
import type { HistoryEvent } from './history';

/**
 * The adapter between `detect backtest` and CloudWatch Logs: resolves log group names and globs,
 * and pulls a group's history with FilterLogEvents (server-side filter pattern, pagination),
 * paced under the API's request rate and backing off when throttled.
 *
 * Why FilterLogEvents and not Logs Insights: FilterLogEvents has no per-GB charge while Insights
 * bills every GB it scans and returns at most 10,000 rows per query; for a backtest that must
 * see every matching event, FilterLogEvents is the cheaper path at any volume (Insights is only
 * faster).
 */
export class BacktestError extends Error {
  override name = 'BacktestError';
}

export interface Pacing {
  /** Calls per second (FilterLogEvents allows a few per second per account and Region). */
  ratePerSecond: number;
  /** Attempts per call when throttled or the service is unavailable. */
  maxAttempts: number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_PACING: Pacing = {
  ratePerSecond: 5,
  maxAttempts: 8,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const RETRYABLE = new Set([
  'ThrottlingException',
  'LimitExceededException',
  'ServiceUnavailableException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

/** Runs one API call at the paced rate, retrying throttling with exponential backoff and jitter. */
export class PacedCaller {
  private last = 0;
  retries = 0;
  calls = 0;

  constructor(private readonly pacing: Pacing = DEFAULT_PACING) {}

  async call<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const wait = this.last + 1000 / this.pacing.ratePerSecond - Date.now();
      if (wait > 0) await this.pacing.sleep(wait);
      this.last = Date.now();
      this.calls++;
      try {
        return await fn();
      } catch (err) {
        if (!RETRYABLE.has(errorName(err)) || attempt >= this.pacing.maxAttempts) throw err;
        this.retries++;
        const backoff = Math.min(10_000, 200 * 2 ** (attempt - 1));
        await this.pacing.sleep(backoff / 2 + Math.random() * (backoff / 2));
      }
    }
  }
}

export interface ResolvedGroup {
  name: string;
  /** The account that owns it (from its ARN): the events' `cloud.account.id`, as the live payloads' owner. */
  account?: string;
  /** What it is read by: its name, or its ARN in a linked source account (several accounts can have a group of one name). */
  key: string;
}

/**
 * In a monitoring account of CloudWatch cross-account observability: read the log groups of its
 * linked source accounts too — every one (`true`), or those of these account ids.
 */
export type LinkedAccounts = true | readonly string[];

/** DescribeLogGroups takes at most this many account ids at a time. */
const ACCOUNTS_PER_CALL = 20;

/** Exact names are checked to exist; globs (`/app/*`) expand to the groups they match. */
export async function resolveLogGroups(
  client: CloudWatchLogsClient,
  names: readonly string[],
  caller: PacedCaller,
  linked?: LinkedAccounts,
): Promise<ResolvedGroup[]> {
  // Linked accounts named: DescribeLogGroups searches at most 20 at a time.
  const accountSets: (readonly string[] | undefined)[] =
    linked === undefined || linked === true
      ? [undefined]
      : Array.from({ length: Math.ceil(linked.length / ACCOUNTS_PER_CALL) }, (_, i) =>
          linked.slice(i * ACCOUNTS_PER_CALL, (i + 1) * ACCOUNTS_PER_CALL),
        );
  const out: ResolvedGroup[] = [];
  for (const name of names) {
    const wildcard = name.search(/[*?]/);
    const prefix = wildcard === -1 ? name : name.slice(0, wildcard);
    const matcher = globToRegExp(name);
    const found: ResolvedGroup[] = [];
    for (const accounts of accountSets) {
      let nextToken: string | undefined;
      do {
        const page = await caller.call(() =>
          client.send(
            new DescribeLogGroupsCommand({
              ...(prefix ? { logGroupNamePrefix: prefix } : {}),
              ...(linked === undefined ? {} : { includeLinkedAccounts: true }),
              ...(accounts ? { accountIdentifiers: [...accounts] } : {}),
              ...(nextToken ? { nextToken } : {}),
            }),
          ),
        );
        for (const g of page.logGroups ?? []) {
          if (!g.logGroupName || !matcher.test(g.logGroupName)) continue;
          const account = awsAccountId(g.arn?.split(':')[4]);
          const arn = g.logGroupArn ?? g.arn?.replace(/:\*$/, '');
          // With linked accounts, a group is read by its ARN: the name alone reads the monitoring account's own.
          const key = linked !== undefined && arn ? arn : g.logGroupName;
          found.push({ name: g.logGroupName, key, ...(account ? { account } : {}) });
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
    if (found.length === 0) {
      const region = await client.config.region();
      const where = linked === undefined ? region : `${region} or the linked accounts`;
      throw new BacktestError(
        wildcard === -1
          ? `log group '${name}' does not exist in ${where} (for the credentials in use; check --region and --profile)`
          : `no log group matches '${name}' in ${where}`,
      );
    }
    for (const g of found) if (!out.some((o) => o.key === g.key)) out.push(g);
  }
  return out;
}

export interface FetchFrom {
  startTime: number;
  /** Events at `startTime` already read before an interruption (their ids), skipped on resume. */
  skipIds: readonly string[];
}

/** A group's events in [from, endTime), page by page, in time order. */
export async function* fetchGroupHistory(
  client: CloudWatchLogsClient,
  caller: PacedCaller,
  group: ResolvedGroup,
  from: FetchFrom,
  endTime: number,
  filterPattern: string,
  signal?: AbortSignal,
): AsyncGenerator<HistoryEvent[]> {
  const skip = new Set(from.skipIds);
  let nextToken: string | undefined;
  do {
    if (signal?.aborted) return;
    let page: FilterLogEventsCommandOutput;
    try {
      page = await caller.call(() =>
        client.send(
          new FilterLogEventsCommand({
            // A linked source account's group only by its ARN (a monitoring account reads it so).
            ...(group.key === group.name ? { logGroupName: group.name } : { logGroupIdentifier: group.key }),
            startTime: from.startTime,
            endTime: endTime - 1,
            ...(filterPattern.trim() ? { filterPattern } : {}),
            ...(nextToken ? { nextToken } : {}),
            limit: 10_000,
          }),
        ),
      );
    } catch (err) {
      if (errorName(err) === 'ResourceNotFoundException')
        throw new BacktestError(`log group '${group.key}' does not exist in ${await client.config.region()} (it may have been deleted)`);
      throw err;
    }
    const events: HistoryEvent[] = [];
    for (const e of page.events ?? []) {
      if (e.eventId === undefined || e.timestamp === undefined || e.logStreamName === undefined) continue;
      if (e.timestamp === from.startTime && skip.has(e.eventId)) continue;
      events.push({
        logGroupName: group.name,
        // Read by ARN: the event names its account itself, since another account's group may share the name.
        ...(group.key !== group.name && group.account ? { owner: group.account } : {}),
        logStreamName: e.logStreamName,
        timestamp: e.timestamp,
        message: e.message ?? '',
        eventId: e.eventId,
      });
    }
    // Empty pages with a token are normal: FilterLogEvents stops after searching a slice of the group.
    yield events;
    nextToken = page.nextToken;
  } while (nextToken);
}
