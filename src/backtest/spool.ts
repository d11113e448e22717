import {
  appendFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { byTime, HistoryEvent, type HistoryQuery } from './history';

/**
 * Downloaded history, kept on disk so an interrupted backtest resumes where it stopped: one
 * JSONL spool per log group (events in time order, as FilterLogEvents returns them) and a small
 * checkpoint naming, per group, how many bytes of its spool are complete and where to resume
 * (the last timestamp and the ids already read at it). The engine runs once everything is
 * downloaded, over the groups merged in time order.
 */
const GroupProgress = z.object({
  file: z.string(),
  bytes: z.number().int().nonnegative(),
  events: z.number().int().nonnegative(),
  lastTimestamp: z.number().optional(),
  idsAtLast: z.array(z.string()),
  done: z.boolean(),
});
type GroupProgress = z.infer<typeof GroupProgress>;

const Checkpoint = z.object({
  version: z.literal(1),
  query: z.object({
    logGroups: z.array(z.string()),
    startTime: z.number(),
    endTime: z.number(),
    patterns: z.record(z.string(), z.string()),
    owners: z.record(z.string(), z.string()),
  }),
  groups: z.record(z.string(), GroupProgress),
});
type Checkpoint = z.infer<typeof Checkpoint>;

export class Spool {
  private readonly checkpointFile: string;
  private state: Checkpoint;

  private constructor(
    private readonly dir: string,
    state: Checkpoint,
  ) {
    this.checkpointFile = join(dir, 'checkpoint.json');
    this.state = state;
  }

  /** A fresh spool for this query (an earlier one in the folder is discarded). */
  static start(dir: string, query: HistoryQuery): Spool {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const groups: Record<string, GroupProgress> = {};
    query.logGroups.forEach((g, i) => {
      groups[g] = { file: `group-${i}.jsonl`, bytes: 0, events: 0, idsAtLast: [], done: false };
      writeFileSync(join(dir, `group-${i}.jsonl`), '');
    });
    const spool = new Spool(dir, { version: 1, query: { ...query, logGroups: [...query.logGroups] }, groups });
    spool.save();
    return spool;
  }

  /** The spool of an interrupted run of the same query; anything written after its last checkpoint is cut off. */
  static resume(dir: string, query: HistoryQuery): Spool {
    const file = join(dir, 'checkpoint.json');
    if (!existsSync(file)) throw new SpoolError(`nothing to resume: no checkpoint in ${dir}`);
    const parsed = Checkpoint.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new SpoolError(`the checkpoint in ${dir} is unreadable; start again without --resume`);
    const saved = parsed.data.query;
    const same =
      saved.startTime === query.startTime &&
      saved.endTime === query.endTime &&
      JSON.stringify(saved.logGroups) === JSON.stringify(query.logGroups) &&
      JSON.stringify(saved.patterns) === JSON.stringify(query.patterns) &&
      JSON.stringify(saved.owners) === JSON.stringify(query.owners);
    if (!same)
      throw new SpoolError(
        `the checkpoint in ${dir} is for another query (${saved.logGroups.join(', ')} from ${new Date(saved.startTime).toISOString()} to ${new Date(saved.endTime).toISOString()}); pass the same options, or start again without --resume`,
      );
    for (const g of Object.values(parsed.data.groups)) truncateSync(join(dir, g.file), g.bytes);
    return new Spool(dir, parsed.data);
  }

  progress(group: string): GroupProgress {
    const p = this.state.groups[group];
    if (!p) throw new SpoolError(`log group ${group} is not part of this backtest`);
    return p;
  }

  /** Appends one page of a group's events and moves its checkpoint past them. */
  append(group: string, events: readonly HistoryEvent[]): void {
    const p = this.progress(group);
    if (events.length > 0) {
      const text = `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
      appendFileSync(join(this.dir, p.file), text);
      p.bytes += Buffer.byteLength(text);
      p.events += events.length;
      const last = events[events.length - 1]?.timestamp ?? p.lastTimestamp;
      const atLast = events.filter((e) => e.timestamp === last).map((e) => e.eventId);
      p.idsAtLast = last === p.lastTimestamp ? [...p.idsAtLast, ...atLast] : atLast;
      p.lastTimestamp = last;
    }
    this.save();
  }

  finish(group: string): void {
    this.progress(group).done = true;
    this.save();
  }

  get groups(): string[] {
    return this.state.query.logGroups;
  }

  /** Every group's events merged in time order. */
  async *events(): AsyncGenerator<HistoryEvent> {
    const readers = this.groups.map((g) => lines(join(this.dir, this.progress(g).file)));
    const heads: (HistoryEvent | undefined)[] = await Promise.all(readers.map(async (r) => (await r.next()).value));
    for (;;) {
      let best = -1;
      heads.forEach((h, i) => {
        const current = best === -1 ? undefined : heads[best];
        if (h && (!current || byTime(h, current) < 0)) best = i;
      });
      const event = heads[best];
      const reader = readers[best];
      if (!event || !reader) return;
      yield event;
      heads[best] = (await reader.next()).value;
    }
  }

  private save(): void {
    // Atomic: a crash leaves the previous checkpoint, never half of one.
    const tmp = `${this.checkpointFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state));
    renameSync(tmp, this.checkpointFile);
  }
}

export class SpoolError extends Error {
  override name = 'SpoolError';
}

async function* lines(file: string): AsyncGenerator<HistoryEvent, undefined> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    yield HistoryEvent.parse(JSON.parse(line));
  }
  return undefined;
}
