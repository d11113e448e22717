/**
 * `node --import tsx bench/hot-path.ts [rules] [events]`: the detector hot path alone (decode,
 * normalize, evaluate with in-memory state), for profiling (`node --cpu-prof --import tsx …`).
 */
import { loadPack } from '../src/cli/load-pack';
import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { SkipLedger as Ledger } from '../src/decode/skips';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { normalizePayload as normalizeForOrder, processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { scaledRules, workloadOrder } from './rule-scaling';
import { toLambdaEvent, workloadPayloads } from './workload';

const size = Number(process.argv[2] ?? 100);
const events = Number(process.argv[3] ?? 100_000);
const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const payloads = [...workloadPayloads({ events, maxEventsPerPayload: 10_000, payloadSpanMs: 3_600_000 })];
const lambdaEvents = payloads.map(toLambdaEvent);
const base = workloadOrder(
  pack.rules,
  payloads.map((p) => normalizeForOrder(p, normalizer, new Ledger())),
  (events) => new Detector(pack, new MemoryStateStore()).matchAll(events),
);
const rules = scaledRules(base, size);
process.stdout.write(
  `first rules: ${base
    .slice(0, Math.min(size, 10))
    .map((r) => r.id)
    .join(', ')}\n`,
);
const rates: number[] = [];
for (let run = 0; run < 5; run++) {
  const store = new MemoryStateStore();
  const detector = new Detector({ rules }, store);
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
