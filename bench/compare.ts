/**
 * `node --expose-gc --import tsx bench/compare.ts <revision> [log groups|all] [rounds]`: the
 * 100-rule hot path of another revision (a commit, a branch) against this working tree's, both in
 * this one process, their passes alternated.
 *
 * Why: this VM's passes of the same code vary by a third from minute to minute, so two runs of
 * `npm run bench` (or of bench/hot-path.ts in two processes) cannot tell a 3% change from the
 * noise. Timed in turn in one process, the two paths meet the same minute's machine, and the
 * median of the per-round ratios stays within about a percent from run to run where their
 * medians in events/s move by twenty. Each side is bundled by esbuild from its own tree (the other
 * revision checked out in a scratch worktree), so neither shares a function, a class or feedback
 * with the other. Both pass over the same busy-streams workload and must decide the same alerts
 * with the same store calls: the comparison says so when they do not.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { scratchDir } from '../src/runtime/scratch-dir';
import { collectGarbage, fmt, median } from './measure';

/** The hot path a bundle exports (bench/setup.ts of its own tree): one detector, a pass over the workload. */
const ENTRY = `
import { disablePretenuring } from '../src/runtime/v8-heap';
import { benchSetup, warmHotPath } from './setup';
export { disablePretenuring };
export function hotPath(groups, size) {
  const setup = benchSetup(100_000);
  const chosen = setup.payloads.flatMap((p, i) => (!groups || groups.includes(p.logGroup) ? [i] : []));
  const lambdaEvents = chosen.map((i) => setup.lambdaEvents[i]);
  const path = warmHotPath(setup.normalizer, setup.rules(size));
  // Every message decided (published, digested or silent), as npm run bench counts alerts.
  let alerts = 0;
  return {
    events: chosen.reduce((n, i) => n + setup.payloads[i].logEvents.length, 0),
    pass: () => { alerts = 0; return path.pass(lambdaEvents, (r) => { alerts += r.messages.length; }); },
    outcome: () => ({ alerts, ...path.store.calls }),
  };
}
`;

interface HotPath {
  events: number;
  pass(): Promise<number>;
  outcome(): { alerts: number; reads: number; writes: number };
}

interface Bundle {
  disablePretenuring(): boolean;
  hotPath(groups: string[] | undefined, size: number): HotPath;
}

const [revision, groupsArg = 'all', roundsArg = '21'] = process.argv.slice(2);
if (!revision) {
  process.stderr.write('usage: node --expose-gc --import tsx bench/compare.ts <revision> [log groups, comma-separated | all] [rounds]\n');
  process.exit(2);
}
const groups = groupsArg === 'all' ? undefined : groupsArg.split(',');
const rounds = Number(roundsArg);

const dir = scratchDir('sentinel-compare-');
const otherTree = join(dir, 'tree');
execFileSync('git', ['worktree', 'add', '--detach', '--quiet', otherTree, revision], { stdio: 'inherit' });
try {
  const [other, current] = await Promise.all([load(otherTree, join(dir, 'other.mjs')), load(process.cwd(), join(dir, 'current.mjs'))]);
  current.disablePretenuring(); // as the detector function does; one process, so once for both
  const paths = { [revision]: other.hotPath(groups, 100), 'working tree': current.hotPath(groups, 100) };
  const [before, after] = Object.values(paths) as [HotPath, HotPath];
  for (let i = 0; i < 3; i++) for (const path of [before, after]) await path.pass();
  const times = { before: [] as number[], after: [] as number[] };
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Which goes first alternates, so neither always meets a heap the other just filled.
    const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
    for (const side of order) {
      collectGarbage();
      const start = performance.now();
      await (side === 'before' ? before : after).pass();
      times[side].push(performance.now() - start);
    }
    ratios.push((times.after.at(-1) ?? 0) / (times.before.at(-1) ?? 1));
  }
  const rate = (ms: number) => fmt.int(before.events / (ms / 1000));
  process.stdout.write(
    `${fmt.int(before.events)} events, ${rounds} rounds: ${revision} ${rate(median(times.before))} events/s, working tree ${rate(median(times.after))} events/s; ` +
      `the working tree takes ${median(ratios).toFixed(3)}× the time (median of the rounds' ratios; quartiles ${quartiles(ratios)})\n`,
  );
  const [was, is] = [before.outcome(), after.outcome()];
  const same = was.alerts === is.alerts && was.reads === is.reads && was.writes === is.writes;
  process.stdout.write(`${same ? 'same' : 'DIFFERENT'} alerts and store calls: ${JSON.stringify(was)} / ${JSON.stringify(is)}\n`);
  if (!same) process.exitCode = 1;
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', otherTree]);
}

/** The tree's hot path, bundled on its own (its packages resolved from this checkout's node_modules). */
async function load(tree: string, outfile: string): Promise<Bundle> {
  buildSync({
    stdin: { contents: ENTRY, resolveDir: join(tree, 'bench'), sourcefile: 'compare-entry.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    nodePaths: [resolve('node_modules')],
    // Bundled CommonJS packages call require(); an ES module has none of its own.
    banner: {
      js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
    },
    logLevel: 'error',
  });
  return (await import(pathToFileURL(outfile).href)) as Bundle;
}

function quartiles(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted[Math.floor(q * (sorted.length - 1))] ?? 0).toFixed(3);
  return `${at(0.25)}–${at(0.75)}`;
}
