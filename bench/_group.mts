import { disablePretenuring } from '../src/runtime/v8-heap';
import { benchSetup, warmHotPath } from './setup';

disablePretenuring();
const group = process.argv[2] ?? '/sentinel-demo/identity/audit';
const setup = benchSetup(100_000);
const idx = setup.payloads
  .map((p, i) => [p, i] as const)
  .filter(([p]) => p.logGroup === group)
  .map(([, i]) => i);
const events = idx.map((i) => setup.lambdaEvents[i]);
const hot = warmHotPath(setup.normalizer, setup.rules(100));
for (let w = 0; w < 3; w++) await hot.pass(events);
const passes = Number(process.argv[3] ?? 15);
const times: number[] = [];
let n = 0;
for (let r = 0; r < passes; r++) {
  const t = performance.now();
  n = await hot.pass(events);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const med = times[Math.floor(passes / 2)] ?? 0;
console.log(
  group,
  events.length,
  'payloads',
  n,
  'events',
  ((med * 1000) / n).toFixed(2),
  'µs/event',
  ((med * 1000) / events.length).toFixed(0),
  'µs/payload',
  'writes',
  hot.store.calls.writes,
);
