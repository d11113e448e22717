/**
 * One worker of the parallel row: the same hot path as `bench/run.ts` (100 rules, in-memory
 * state) over its share of the workload's payloads. Reports its time for one pass after the warm-up passes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { WARMUP_PASSES } from './measure';
import { benchSetup, hotPathPass } from './setup';
import { toLambdaEvent } from './workload';

const Input = z.object({ events: z.number(), rules: z.number(), worker: z.number(), workers: z.number() });
const input = Input.parse(workerData);
const port = parentPort;
if (!port) throw new Error('run as a worker thread');

const { normalizer, payloads, rules: rulesOf } = benchSetup(input.events);
const rules = rulesOf(input.rules);
// Every n-th payload: each worker is one more detector instance (as Lambda runs several).
const mine = payloads.filter((_, i) => i % input.workers === input.worker).map(toLambdaEvent);

const pass = () => hotPathPass(mine, normalizer, rules);

for (let i = 0; i < WARMUP_PASSES; i++) await pass();
port.postMessage({ ready: true });
port.once('message', async () => {
  const start = performance.now();
  const events = await pass();
  port.postMessage({ ms: performance.now() - start, events });
});
