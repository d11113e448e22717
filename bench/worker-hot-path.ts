/**
 * One worker of the parallel row: the same hot path as `bench/run.ts` (100 rules, in-memory
 * state) over its share of the workload's payloads. Reports its time for one pass after the warm-up passes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { WARMUP_PASSES } from './measure';
import { benchSetup, warmHotPath } from './setup';
import { toLambdaEvent } from './workload';

const Input = z.object({ events: z.number(), rules: z.number(), worker: z.number(), workers: z.number() });
const input = Input.parse(workerData);
const port = parentPort;
if (!port) throw new Error('run as a worker thread');

const { normalizer, payloads, rules: rulesOf } = benchSetup(input.events);
const rules = rulesOf(input.rules);
// Every n-th payload: each worker is one more detector instance (as Lambda runs several).
const mine = payloads.filter((_, i) => i % input.workers === input.worker).map(toLambdaEvent);

// V8's flags are per process: the bench's main thread set the function's heap setting already.
const hotPath = warmHotPath(normalizer, rules);
const pass = () => hotPath.pass(mine);

for (let i = 0; i < WARMUP_PASSES; i++) await pass();
port.postMessage({ ready: true });
port.once('message', async () => {
  const start = performance.now();
  const events = await pass();
  port.postMessage({ ms: performance.now() - start, events });
});
