/**
 * `node --import tsx bench/hot-path.ts [rules] [events]`: the detector hot path alone (decode,
 * normalize, evaluate with in-memory state), for profiling (`node --cpu-prof --import tsx …`).
 */
import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { benchSetup } from './setup';

const size = Number(process.argv[2] ?? 100);
const events = Number(process.argv[3] ?? 100_000);
const { normalizer, lambdaEvents, rules } = benchSetup(events);
const pack = rules(size);
const rates: number[] = [];
for (let run = 0; run < 5; run++) {
  const store = new MemoryStateStore();
  const detector = new Detector({ rules: pack }, store);
  const start = performance.now();
  let messages = 0;
  let matched = 0;
  for (const e of lambdaEvents) {
    const decoded = decodeLambdaEvent(e);
    if (!decoded.ok) continue;
    const r = await processPayload(decoded.payload, normalizer, detector);
    messages += r.messages.length;
    matched += r.matchedEvents;
  }
  const ms = performance.now() - start;
  rates.push(events / (ms / 1000));
  process.stdout.write(
    `${size} rules: ${Math.round(events / (ms / 1000)).toLocaleString('en-US')} events/s, ${messages} messages, ${matched} matched, ${store.calls.writes} writes\n`,
  );
}
rates.sort((a, b) => a - b);
process.stdout.write(`median ${Math.round(rates[2] ?? 0).toLocaleString('en-US')} events/s\n`);
