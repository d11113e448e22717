import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload, normalizePayload } from '../src/engine/pipeline';
import { SkipLedger } from '../src/decode/skips';
import { benchSetup } from './setup';
const setup = benchSetup(100_000);
const { normalizer, lambdaEvents } = setup;
const rules = setup.rules(100);
const only = process.argv[2];
const tot = new Map<string, [number, number, number]>();
for (let r = 0; r < 8; r++) {
  const detector = new Detector({ rules }, new MemoryStateStore());
  const t0 = performance.now();
  for (const e of lambdaEvents) {
    const t = performance.now();
    const d = decodeLambdaEvent(e);
    if (!d.ok) continue;
    if (only && d.payload.logGroup !== only) continue;
    const t1 = performance.now();
    const ev = normalizePayload(d.payload, normalizer, new SkipLedger());
    const t2 = performance.now();
    await detector.evaluate(String(Math.random()), ev);
    const t3 = performance.now();
    if (r >= 4) { const a = tot.get(d.payload.logGroup) ?? [0, 0, 0]; a[0] += t2 - t1; a[1] += t3 - t2; a[2] += d.payload.logEvents.length; tot.set(d.payload.logGroup, a); }
  }
  if (r >= 4) console.log('run', ((performance.now() - t0)));
}
for (const [g, [n, d, c]] of tot) console.log(g.padEnd(40), String(c / 4).padStart(6), 'norm', (n * 1000 / c).toFixed(2), 'eval', (d * 1000 / c).toFixed(2));
