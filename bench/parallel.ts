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
