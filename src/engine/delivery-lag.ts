import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { readDocBody, type StateStore } from './state-store';

/**
 * How late the detector receives what it processes, so that the sweeper never takes a delivery
 * still on its way for an absence.
 *
 * Absence rules judge an entity by its deliveries (src/engine/absence.ts): its deadline runs from
 * the later of its last event's time and its delivery. That is exact while deliveries arrive in
 * the order they were made, however far behind: a backlog worked through in order still brings
 * each stream's events before anything newer. A throttled detector does not keep that order:
 * Lambda puts a throttled invocation back in its queue and retries it up to five minutes later,
 * again and again for up to six hours, while other invocations run — so one entity's heartbeat
 * can wait an hour in the queue while everything around it is processed minutes late. Judged
 * then, every quiet entity whose delivery is stuck looks absent: false pages, exactly when the
 * pipeline is under load (often because of an attack).
 *
 * So each detector container notes, per delivery, its lag — when it received it less the newest
 * CloudWatch time in it — and writes a summary at most once a minute: how many deliveries fell in
 * each lag class, and the largest lag of each log group over a minute behind. The sweeper reads
 * the last quarter hour of summaries and holds an absence until the entity's silence exceeds
 * `after` by the backlog: the lag most deliveries stayed under (the 90th percentile, rounded up to
 * its class: one group catching up on an old file is not the whole pipeline) or the entity's own
 * log group's largest lag, whichever is longer. Told then, the silence is real; nothing is lost,
 * only told later — by as much as the pipeline is behind.
 */

const MINUTE = 60_000;
/** A container writes its summary at most this often. */
const FLUSH_EVERY = MINUTE;
/** Summaries are filed per five minutes; the sweeper reads this far back. */
const PARTITION = 5 * MINUTE;
export const BACKLOG_LOOKBACK = 15 * MINUTE;
/** Lags below this are a healthy pipeline's (the agent's buffering, the subscription's batching). */
const LATE = MINUTE;
/** Log groups named per summary (the latest first): the rest only count in the classes. */
const MAX_GROUPS = 100;
/**
 * The longest a delivery can wait in the pipeline: Lambda keeps an asynchronous invocation at
 * most 6 hours (and the hub's event source mapping gives a record up after `maxRecordAge`, 6
 * hours as shipped). A longer lag is not a backlog but old event times — an agent uploading
 * yesterday's file, or a writer giving PutLogEvents times up to 14 days back, which whoever
 * writes a log group chooses: no log writer can hold any absence longer, its own group's or another's.
 */
export const MAX_PIPELINE_LAG = 6 * 60 * MINUTE;
/** Upper bounds of the lag classes (the last is open: its bound is the largest lag seen). */
const LAG_CLASSES = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * MINUTE);

const Summary = z.object({
  /** Deliveries per lag class (LAG_CLASSES, then one past the last bound). */
  classes: z.array(z.number().int().nonnegative()),
  /** The largest lag, for the open class. */
  max: z.number().nonnegative(),
  /** Per log group over a minute behind, its largest lag. */
  groups: z.record(z.string(), z.number().nonnegative()),
});
type Summary = z.infer<typeof Summary>;

const partitionKey = (at: number) => `lag#${at - (at % PARTITION)}`;

/** The name a log group's lag is filed under: with its account where the payload names one (a hub's groups). */
export function lagGroup(logGroup: string, owner?: string): string {
  return owner ? `${owner}/${logGroup}` : logGroup;
}

/** A count per lag class, all zero. */
const emptyClasses = (): number[] => new Array<number>(LAG_CLASSES.length + 1).fill(0);

function classOf(lag: number): number {
  const i = LAG_CLASSES.findIndex((bound) => lag <= bound);
  return i === -1 ? LAG_CLASSES.length : i;
}

/** The detector's side: one per container. */
export class DeliveryLagRecorder {
  private classes = emptyClasses();
  private max = 0;
  private readonly groups = new Map<string, number>();
  private noted = 0;
  private lastFlush = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: StateStore,
    private readonly container: string = randomUUID(),
  ) {}

  /** One delivery: its log group, when it was sent (its newest CloudWatch time, or its arrival in the hub's stream), and when it was received. */
  note(group: string, sentAt: number, receivedAt: number): void {
    if (!Number.isFinite(sentAt) || !Number.isFinite(receivedAt)) return;
    const lag = Math.max(0, receivedAt - sentAt);
    const lagClass = classOf(lag);
    this.classes[lagClass] = (this.classes[lagClass] ?? 0) + 1;
    this.max = Math.max(this.max, lag);
    if (lag > LATE) {
      // Re-inserted: the map keeps the latest groups last, and a full map forgets the oldest.
      const before = this.groups.get(group) ?? 0;
      this.groups.delete(group);
      this.groups.set(group, Math.max(before, lag));
      if (this.groups.size > MAX_GROUPS) this.groups.delete(this.groups.keys().next().value ?? group);
    }
    this.noted++;
  }

  /**
   * Writes what was noted since the last write, if a minute has passed (a container's own item:
   * no other writer, no condition). Deliveries noted in an idle container's last minute wait for
   * its next delivery: an idle pipeline has no backlog to tell.
   */
  async flush(now: number): Promise<void> {
    if (this.noted === 0 || now < this.lastFlush + FLUSH_EVERY) return;
    const summary: Summary = { classes: this.classes, max: this.max, groups: Object.fromEntries(this.groups) };
    this.lastFlush = now;
    this.classes = emptyClasses();
    this.max = 0;
    this.groups.clear();
    this.noted = 0;
    await this.store.writeDoc({
      pk: partitionKey(now),
      sk: `${this.container}#${now}`,
      body: JSON.stringify(summary),
      ifVersion: undefined,
      now,
      expiresAt: now + BACKLOG_LOOKBACK + PARTITION,
    });
  }
}

/** The sweeper's reading: how far behind the pipeline's deliveries are running. */
export interface Backlog {
  /** How far behind a delivery from this log group may still arrive (0 when nothing runs late; at most the pipeline's longest wait). */
  lagOf(group: string): number;
  /**
   * Deliveries the detector received in the last BACKLOG_LOOKBACK: told with an absence, so a
   * responder sees at once whether only this source went quiet or nothing reaches the detector.
   */
  deliveries: number;
}

/**
 * The summaries of the last BACKLOG_LOOKBACK, combined. `maxLag`: the longest a delivery can
 * wait in this deployment's pipeline (a hub whose event source mapping keeps records longer than
 * 6 hours says so).
 */
export async function readBacklog(store: StateStore, now: number, maxLag = MAX_PIPELINE_LAG): Promise<Backlog> {
  const partitions: string[] = [];
  const first = now - BACKLOG_LOOKBACK;
  for (let at = first - (first % PARTITION); at <= now; at += PARTITION) partitions.push(partitionKey(at));
  const docs = (await Promise.all(partitions.map((pk) => store.queryDocs(pk, now)))).flat();
  const classes = emptyClasses();
  let max = 0;
  const groups = new Map<string, number>();
  for (const doc of docs) {
    const written = Number(doc.sk.slice(doc.sk.lastIndexOf('#') + 1));
    if (!(written >= now - BACKLOG_LOOKBACK && written <= now)) continue;
    const summary = readDocBody(Summary, doc.body);
    if (!summary) continue;
    summary.classes.forEach((n, i) => {
      if (i < classes.length) classes[i] = (classes[i] ?? 0) + n;
    });
    max = Math.max(max, summary.max);
    for (const [group, lag] of Object.entries(summary.groups)) groups.set(group, Math.max(groups.get(group) ?? 0, lag));
  }
  const deliveries = classes.reduce((a, b) => a + b, 0);
  const pipeline = percentileBound(classes, deliveries, max, 0.9);
  return { lagOf: (group) => Math.min(Math.max(pipeline, groups.get(group) ?? 0), maxLag), deliveries };
}

/** The upper bound of the class holding the `q` quantile of the `total` deliveries; 0 when that is a healthy lag. */
function percentileBound(classes: readonly number[], total: number, max: number, q: number): number {
  if (total === 0) return 0;
  let seen = 0;
  for (const [i, n] of classes.entries()) {
    seen += n;
    if (seen >= q * total) {
      const bound = LAG_CLASSES[i] ?? max;
      return bound <= LATE ? 0 : Math.min(bound, max);
    }
  }
  return 0;
}
