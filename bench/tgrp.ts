import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { benchSetup } from './setup';

const setup = benchSetup(100_000);
const { normalizer, payloads } = setup;
const rules = setup.rules(100);
const groups = [...new Set(payloads.map((p) => p.logGroup))];
let total = 0;
for (const g of groups) {
  const ps = payloads.filter((p) => p.logGroup === g);
  const n = ps.reduce((s, p) => s + p.logEvents.length, 0);
  let best = Infinity;
  for (let i = 0; i < 15; i++) {
    const d = new Detector({ rules }, new MemoryStateStore());
    const t = performance.now();
    for (const p of ps) await processPayload(p, normalizer, d);
    best = Math.min(best, ((performance.now() - t) * 1000) / n);
  }
  total += best * n;
  console.log(g.padEnd(40), String(n).padStart(6), best.toFixed(2), 'µs/event', ((best * n) / 1e5).toFixed(2), 'µs/event share');
}
console.log('sum', (total / 1e5).toFixed(2));
