import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { SkipLedger } from '../src/decode/skips';
import { normalizePayload } from '../src/engine/pipeline';
import { benchSetup } from './setup';
const setup = benchSetup(100_000);
const { normalizer, lambdaEvents } = setup;
const decoded = lambdaEvents.map((e) => { const d = decodeLambdaEvent(e); if (!d.ok) throw new Error(); return d.payload; });
for (let r = 0; r < 15; r++) {
  const t = performance.now();
  for (const p of decoded) normalizePayload(p, normalizer, new SkipLedger());
  const ms = performance.now() - t;
  if (r > 9) console.log(((ms * 1000) / setup.eventCount).toFixed(2), 'µs/event normalize');
}
