import { type ChildProcess, fork } from 'node:child_process';
import { z } from 'zod';

const Ready = z.object({ ready: z.literal(true), events: z.number() });
const Warm = z.object({ warm: z.literal(true) });
const Pass = z.object({ ms: z.number(), alerts: z.number(), reads: z.number(), writes: z.number() });
export type IsolatedPass = z.infer<typeof Pass>;

/** A path of the isolated rows: the floor (no rules) or the hot path with a pack of `rules`. */
export interface IsolatedPath {
  name: string;
  rules?: number;
}

/**
 * Each path in a process of its own, as a detector's container holds one pack, the paths timed in
 * turn, one pass each per round. The benchmark's own process holds every path it times (three
 * packs, SigmaHQ's, the naive evaluator, the stage cuts, and the workload decoded) in one heap,
 * whose collections mark all of it; and paths timed in separate processes minutes apart meet
 * different minutes of this VM, whose speed moves by a third. Taking turns, the paths meet the same
 * minute, so a round's ratio between two paths holds while both rates move. Returns every round's
 * pass of every path.
 */
export async function isolatedRounds(
  paths: readonly IsolatedPath[],
  rounds: number,
  env: Record<string, string> = {},
): Promise<{ events: number; passes: Map<string, IsolatedPass[]> }> {
  const children = paths.map((path) =>
    fork(new URL('./isolated-path.ts', import.meta.url), [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      env: { ...process.env, ...env, BENCH_ISOLATED_RULES: path.rules === undefined ? '' : String(path.rules) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  // A child's messages queue until read: one that comes while no one waits (another path's turn) is kept.
  const inboxes = new Map(children.map((child) => [child, inbox(child)]));
  const reply = (child: ChildProcess) => inboxes.get(child)?.next() ?? Promise.reject(new Error('unknown child'));
  try {
    // Set up one at a time (each builds the workload): no two compete for the cores while they do.
    let events = 0;
    for (const child of children) events = Ready.parse(await reply(child)).events;
    for (const child of children) {
      const warm = reply(child);
      child.send('warm');
      Warm.parse(await warm);
    }
    const passes = new Map<string, IsolatedPass[]>(paths.map((p) => [p.name, []]));
    // Round 0 is not counted: a path's first pass after the others' warm-up ran slow in every trial
    // (the floor's by up to two fifths: its heap, which keeps every parsed payload, still growing).
    for (let round = 0; round <= rounds; round++) {
      // Which path goes first turns each round, so none always follows the same one.
      for (let k = 0; k < children.length; k++) {
        const i = (round + k) % children.length;
        const child = children[i];
        const path = paths[i];
        if (!child || !path) continue;
        const done = reply(child);
        child.send('go');
        const pass = Pass.parse(await done);
        if (round > 0) passes.get(path.name)?.push(pass);
      }
    }
    return { events, passes };
  } finally {
    for (const child of children) child.kill();
  }
}

/** A child's messages in order, and its failure (an exit before it answered) as a rejection. */
function inbox(child: ChildProcess): { next(): Promise<unknown> } {
  const queued: unknown[] = [];
  const waiting: { resolve: (m: unknown) => void; reject: (e: Error) => void }[] = [];
  child.on('message', (m: unknown) => {
    const waiter = waiting.shift();
    if (waiter) waiter.resolve(m);
    else queued.push(m);
  });
  child.on('exit', (code) => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`an isolated path exited (code ${code}) before it answered`));
  });
  return {
    next: () =>
      queued.length > 0
        ? Promise.resolve(queued.shift())
        : new Promise((resolve, reject) => {
            if (child.exitCode !== null) reject(new Error(`an isolated path exited (code ${child.exitCode})`));
            else waiting.push({ resolve, reject });
          }),
  };
}
