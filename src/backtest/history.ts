import { z } from 'zod';
import { AwsAccountId } from '../schema/account';

/** One log event as FilterLogEvents returns it (and `aws logs filter-log-events` writes it). */
export const FileEvent = z.object({
  logGroupName: z.string().optional(),
  logStreamName: z.string().min(1),
  timestamp: z.number().int().nonnegative(),
  message: z.string(),
  eventId: z.string().min(1),
  ingestionTime: z.number().optional(),
});
/**
 * An event with its log group known (spooled, or given by --from-file), and the account that owns
 * the group when the history says so itself (a linked source account's group, read by its ARN:
 * two accounts can each have a group of that name).
 */
export const HistoryEvent = FileEvent.extend({
  logGroupName: z.string().min(1),
  owner: AwsAccountId.optional(),
});
export type HistoryEvent = z.infer<typeof HistoryEvent>;

/** The JSON `aws logs filter-log-events` prints (the CLI follows nextToken itself, so one file is every page). */
export const FilterLogEventsFile = z.object({
  events: z.array(FileEvent),
  searchedLogStreams: z.array(z.unknown()).optional(),
  nextToken: z.string().optional(),
});

/** What to pull: groups, the time range and the server-side filter pattern compiled per group. */
export interface HistoryQuery {
  /** The groups to read: names, or ARNs for groups of linked source accounts. */
  logGroups: string[];
  startTime: number;
  endTime: number;
  /** Per log group: the subscription filter pattern the rules compile to ('' = every event). */
  patterns: Record<string, string>;
  /** Per log group: its account, when known (the payload owner the live detector would have seen). */
  owners: Record<string, string>;
}

/** Events of one group in time order, a page at a time. */
export interface HistoryPage {
  logGroup: string;
  events: HistoryEvent[];
}

/** Orders events the way FilterLogEvents does: by timestamp, then event id. */
export function byTime(a: Pick<HistoryEvent, 'timestamp' | 'eventId'>, b: Pick<HistoryEvent, 'timestamp' | 'eventId'>): number {
  return a.timestamp - b.timestamp || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}
