import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { SkipLedger } from '../src/decode/skips';
import { normalizePayload } from '../src/engine/pipeline';
import { benchSetup } from './setup';
const setup = benchSetup(100_000);
const { normalizer, lambdaEvents } = setup;
const decoded = lambdaEvents.map((e) => { const d = decodeLambdaEvent(e); if (!d.ok) throw new Error(); return d.payload; });
const byGroup = new Map<string, typeof decoded>();
for (const p of decoded) { const a = byGroup.get(p.logGroup) ?? []; a.push(p); byGroup.set(p.logGroup, a); }
for (const [g, ps] of byGroup) {
  const n = ps.reduce((s, p) => s + p.logEvents.length, 0);
  let best = Infinity;
  for (let r = 0; r < 15; r++) {
    const t = performance.now();
    for (const p of ps) normalizePayload(p, normalizer, new SkipLedger());
    best = Math.min(best, performance.now() - t);
  }
  const ev = normalizePayload(ps[0]!, normalizer, new SkipLedger())[0]!;
  console.log(g.padEnd(40), String(n).padStart(6), ((best * 1000) / n).toFixed(2), 'µs/event', Object.keys(ev).length, 'fields');
}
