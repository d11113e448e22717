import { Worker } from 'node:worker_threads';
import { z } from 'zod';

const Ready = z.object({ ready: z.literal(true) });
const Done = z.object({ ms: z.number(), events: z.number() });

/**
 * The hot path on `workers` threads at once (each its own detector over every n-th payload): the
 * wall time until all finish, after every worker has warmed up. How throughput scales with cores.
 */
export async function parallelHotPath(
  workers: number,
  events: number,
  rules: number,
): Promise<{ eventsPerSecond: number; wallMs: number; events: number }> {
  const threads = Array.from(
    { length: workers },
    (_, worker) =>
      new Worker(new URL('./worker-boot.mjs', import.meta.url), {
        workerData: { events, rules, worker, workers },
      }),
  );
  const message = (w: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  await Promise.all(threads.map(async (w) => Ready.parse(await message(w))));
  const start = performance.now();
  const results = await Promise.all(
    threads.map(async (w) => {
      const done = message(w);
      w.postMessage('go');
      return Done.parse(await done);
    }),
  );
  const wallMs = performance.now() - start;
  await Promise.all(threads.map((w) => w.terminate()));
  const total = results.reduce((n, r) => n + r.events, 0);
  return { eventsPerSecond: total / (wallMs / 1000), wallMs, events: total };
}

/**
 * How a loop of pure arithmetic (no allocation) scales on `workers` threads: the work of one
 * thread done `workers` times at once, as a speed-up over one thread. What the machine's cores
 * give when nothing else is shared, to read the hot path's worker rows against.
 */
export async function cpuLoopScaling(workers: number): Promise<number> {
  const code = `const { parentPort } = require('node:worker_threads');
let x = 0;
for (let i = 0; i < 2e8; i++) x = (x + i * 7) % 1000003;
parentPort.postMessage(x);`;
  const wall = async (n: number) => {
    const start = performance.now();
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise((resolve, reject) => {
            const w = new Worker(code, { eval: true });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    return performance.now() - start;
  };
  const one = await wall(1);
  return (workers * one) / (await wall(workers));
}
