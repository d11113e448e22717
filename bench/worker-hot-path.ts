/**
 * One worker of the parallel row: the same hot path as `bench/run.ts` (100 rules, in-memory
 * state) over its share of the workload's payloads. Reports its time for one pass after a warm-up.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { loadPack } from '../src/cli/load-pack';
import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { SkipLedger } from '../src/decode/skips';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { normalizePayload, processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { scaledRules, workloadOrder } from './rule-scaling';
import { toLambdaEvent, workloadPayloads } from './workload';

const Input = z.object({ events: z.number(), rules: z.number(), worker: z.number(), workers: z.number() });
const input = Input.parse(workerData);
const port = parentPort;
if (!port) throw new Error('run as a worker thread');

const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const payloads = [...workloadPayloads({ events: input.events, maxEventsPerPayload: 10_000, payloadSpanMs: 3_600_000 })];
const base = workloadOrder(
  pack.rules,
  payloads.map((p) => normalizePayload(p, normalizer, new SkipLedger())),
  (events) => new Detector(pack, new MemoryStateStore()).matchAll(events),
);
const rules = scaledRules(base, input.rules);
// Every n-th payload: each worker is one more detector instance (as Lambda runs several).
const mine = payloads.filter((_, i) => i % input.workers === input.worker).map(toLambdaEvent);

async function pass(): Promise<number> {
  const detector = new Detector({ rules }, new MemoryStateStore());
  let events = 0;
  for (const e of mine) {
    const d = decodeLambdaEvent(e);
    if (d.ok) events += (await processPayload(d.payload, normalizer, detector)).eventsIn;
  }
  return events;
}

await pass(); // warm-up
port.postMessage({ ready: true });
port.once('message', async () => {
  const start = performance.now();
  const events = await pass();
  port.postMessage({ ms: performance.now() - start, events });
});
