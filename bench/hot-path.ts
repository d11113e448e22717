/**
 * `node --import tsx bench/hot-path.ts [rules] [events]`: the detector hot path alone (decode,
 * normalize, evaluate with in-memory state), for profiling (`node --cpu-prof --import tsx …`).
 * One detector for every pass, each pass from an empty store (see warmHotPath), with the
 * detector function's heap setting.
 */
import { disablePretenuring } from '../src/runtime/v8-heap';
import { benchSetup, warmHotPath } from './setup';

disablePretenuring();
const size = Number(process.argv[2] ?? 100);
const events = Number(process.argv[3] ?? 100_000);
const { normalizer, lambdaEvents, rules } = benchSetup(events);
const hotPath = warmHotPath(normalizer, rules(size));
const rates: number[] = [];
for (let run = 0; run < 5; run++) {
  const start = performance.now();
  const read = await hotPath.pass(lambdaEvents);
  const ms = performance.now() - start;
  rates.push(read / (ms / 1000));
  process.stdout.write(
    `${size} rules: ${Math.round(read / (ms / 1000)).toLocaleString('en-US')} events/s, ${hotPath.store.calls.writes} writes\n`,
  );
}
rates.sort((a, b) => a - b);
process.stdout.write(`median ${Math.round(rates[2] ?? 0).toLocaleString('en-US')} events/s\n`);
