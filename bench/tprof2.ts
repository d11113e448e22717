import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { benchSetup } from './setup';
const setup = benchSetup(100_000);
const { normalizer, lambdaEvents } = setup;
const rules = setup.rules(100);
for (let r = 0; r < 12; r++) {
  const detector = new Detector({ rules }, new MemoryStateStore());
  const t = performance.now();
  for (const e of lambdaEvents) { const d = decodeLambdaEvent(e); if (d.ok) await processPayload(d.payload, normalizer, detector); }
  const ms = performance.now() - t;
  if (r > 6) console.log(((ms * 1000) / setup.eventCount).toFixed(2), 'µs/event full');
}
