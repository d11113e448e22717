/**
 * What `npm run bench` remembers between runs, so a run's report compares itself with the run
 * before without anyone copying numbers by hand:
 *
 * - bench/last-run.json: the figures of the last run (written at the end of each run);
 * - bench/history.md: every earlier run's account, newest first, and the before/after figures of
 *   every stop of issue 15 until the report took this shape. Each run moves the report's
 *   `Latest (this run)` paragraph there before it writes its own.
 * - bench/run-notes.md: what changed since the last run, in the words of whoever changed it
 *   (edited by hand before a run; the report opens its `Latest` paragraph with it).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

export const LAST_RUN_FILE = 'bench/last-run.json';
export const HISTORY_FILE = 'bench/history.md';
export const RUN_NOTES_FILE = 'bench/run-notes.md';

/** The report's paragraph for the run it describes; history.md keeps each under the date it ran. */
export const LATEST_PREFIX = 'Latest (this run): ';
/** Where history.md's runs start: a moved paragraph goes right under this line. */
export const RUNS_HEADING = '## Runs, newest first';

export const LastRun = z.object({
  date: z.string(),
  floor: z.number(),
  rules10: z.number(),
  rules100: z.number(),
  rules1000: z.number(),
  /** 1,000 rules against 10, in time. */
  scaling: z.number(),
  /** 100 rules against the floor. */
  vsFloor: z.number(),
  /** The 100-rule path alone in its process. */
  alone100: z.number(),
  /** The indexed 100-rule path against the naive one. */
  vsNaive: z.number(),
  alerts: z.number(),
  matched: z.number(),
  reads: z.number(),
  writes: z.number(),
  demoCalls: z.number(),
  demoWrites: z.number(),
  /**
   * The named rows as they are measured since 2026-12-05: each path in a process of its own, timed
   * in turn (bench/isolated.ts); the fields above are the benchmark's shared process. `scaling` is
   * the median of the rounds' ratios; `vsFastestFloor` the 100-rule path's median against the
   * fastest floor the run measured.
   */
  isolated: z
    .object({
      floor: z.number(),
      rules10: z.number(),
      rules100: z.number(),
      rules1000: z.number(),
      scaling: z.number(),
      vsFastestFloor: z.number(),
    })
    .optional(),
});
export type LastRun = z.infer<typeof LastRun>;

/** The last run's figures, or undefined when there is none (or the file is not what a run writes). */
export function readLastRun(file = LAST_RUN_FILE): LastRun | undefined {
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const parsed = LastRun.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

export function writeLastRun(run: LastRun, file = LAST_RUN_FILE): void {
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
}

/** The hand-written account of what changed since the last run (one paragraph; blank lines join). */
export function readRunNotes(file = RUN_NOTES_FILE): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('<!--'))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Whether the notes are the ones the last report opened with: left from the run before, they tell
 * of changes that run already measured (the bench says so, and runs).
 */
export function notesRepeat(oldReport: string, notes: string): boolean {
  return notes !== '' && (latestLine(oldReport)?.startsWith(`${LATEST_PREFIX}${notes}`) ?? false);
}

/** A report's `Latest (this run)` paragraph (one line), if it has one. */
function latestLine(report: string): string | undefined {
  return report.split('\n').find((line) => line.startsWith(LATEST_PREFIX));
}

/**
 * history.md with the old report's `Latest` paragraph moved under RUNS_HEADING, as the run of
 * `date`. Unchanged when the report has no such paragraph or history.md already holds it (a run
 * whose report was not kept, run again).
 */
export function withLatestArchived(history: string, oldReport: string, date: string): string {
  const latest = latestLine(oldReport);
  if (!latest) return history;
  const paragraph = `The run of ${date}: ${latest.slice(LATEST_PREFIX.length)}`;
  if (history.includes(paragraph)) return history;
  const at = history.indexOf(`${RUNS_HEADING}\n`);
  if (at === -1) return `${history.trimEnd()}\n\n${RUNS_HEADING}\n\n${paragraph}\n`;
  const after = at + RUNS_HEADING.length + 1;
  return `${history.slice(0, after)}\n${paragraph}\n${history.slice(after)}`;
}
