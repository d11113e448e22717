import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LATEST_PREFIX,
  notesRepeat,
  RUNS_HEADING,
  readLastRun,
  readRunNotes,
  withLatestArchived,
  writeLastRun,
} from '../bench/run-history';

const HISTORY = `# Benchmark history\n\nIntro.\n\n${RUNS_HEADING}\n\nThe run of 2026-12-03: older.\n`;
const REPORT = `# Benchmark results\n\n### This run\n\n${LATEST_PREFIX}the path changed in one place.\n\n## State store calls per event\n`;

describe('bench history', () => {
  it("moves the last report's Latest paragraph to the top of the history's runs, under its date", () => {
    const history = withLatestArchived(HISTORY, REPORT, '2026-12-04');
    expect(history).toBe(
      `# Benchmark history\n\nIntro.\n\n${RUNS_HEADING}\n\nThe run of 2026-12-04: the path changed in one place.\n\nThe run of 2026-12-03: older.\n`,
    );
  });

  it('moves a paragraph once, however often the bench runs without keeping its report', () => {
    const once = withLatestArchived(HISTORY, REPORT, '2026-12-04');
    expect(withLatestArchived(once, REPORT, '2026-12-04')).toBe(once);
  });

  it('leaves the history as it is when the report has no Latest paragraph', () => {
    expect(withLatestArchived(HISTORY, '# Benchmark results\n\nNothing here.\n', '2026-12-04')).toBe(HISTORY);
  });

  it('starts the runs section when the history has none', () => {
    const history = withLatestArchived('# Benchmark history\n', REPORT, '2026-12-04');
    expect(history).toBe(`# Benchmark history\n\n${RUNS_HEADING}\n\nThe run of 2026-12-04: the path changed in one place.\n`);
  });

  it('tells notes left from the run before from new ones', () => {
    expect(notesRepeat(REPORT, 'the path changed in one place.')).toBe(true);
    expect(notesRepeat(REPORT, 'the path changed in two places.')).toBe(false);
    expect(notesRepeat(REPORT, '')).toBe(false);
  });

  it('reads the notes as one paragraph, without comment lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-notes-'));
    const file = join(dir, 'run-notes.md');
    writeFileSync(file, '<!-- what changed since the last run -->\nThe path changed\nin one place.\n\nMeasured twice.\n');
    expect(readRunNotes(file)).toBe('The path changed in one place. Measured twice.');
    expect(readRunNotes(join(dir, 'missing.md'))).toBe('');
  });

  it("keeps the last run's figures, and refuses a file that is not what a run writes", () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-last-'));
    const file = join(dir, 'last-run.json');
    const run = {
      date: '2026-12-05',
      floor: 600_000,
      rules10: 140_000,
      rules100: 120_000,
      rules1000: 118_000,
      scaling: 1.19,
      vsFloor: 0.2,
      alone100: 125_000,
      vsNaive: 1.6,
      alerts: 252,
      matched: 41_222,
      reads: 6_589,
      writes: 11_252,
      demoCalls: 16_870,
      demoWrites: 6_940,
    };
    writeLastRun(run, file);
    expect(readLastRun(file)).toEqual(run);
    writeFileSync(file, JSON.stringify({ date: '2026-12-05' }));
    expect(readLastRun(file)).toBeUndefined();
    writeFileSync(file, '{"date": "2026-12-05", ');
    expect(readLastRun(file)).toBeUndefined();
    expect(readLastRun(join(dir, 'missing.json'))).toBeUndefined();
  });
});
