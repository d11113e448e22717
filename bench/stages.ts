/**
 * `node --import tsx bench/stages.ts [rules]`: where the hot path's time goes, stage by stage
 * (decode; + normalize; + rule matching; + state and lifecycle), best of 5 runs each.
 */
import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { SkipLedger } from '../src/decode/skips';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { normalizePayload } from '../src/engine/pipeline';
import { disablePretenuring } from '../src/runtime/v8-heap';
import { benchSetup, warmHotPath } from './setup';

disablePretenuring(); // as the detector function does

const size = Number(process.argv[2] ?? 100);
const setup = benchSetup(100_000);
const { normalizer, lambdaEvents } = setup;
const events = setup.eventCount;
const rules = setup.rules(size);

async function best(name: string, fn: () => Promise<void> | void) {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t);
  }
  process.stdout.write(
    `${name.padEnd(28)} ${(min / 1000).toFixed(3)} s  ${Math.round(events / (min / 1000)).toLocaleString('en-US')} events/s  ${((min * 1000) / events).toFixed(2)} µs/event\n`,
  );
}
await best('decode', () => {
  for (const e of lambdaEvents) decodeLambdaEvent(e);
});
await best('decode+normalize', () => {
  for (const e of lambdaEvents) {
    const d = decodeLambdaEvent(e);
    if (d.ok) normalizePayload(d.payload, normalizer, new SkipLedger());
  }
});
const matcher = new Detector({ rules }, new MemoryStateStore());
await best('decode+normalize+match', () => {
  for (const e of lambdaEvents) {
    const d = decodeLambdaEvent(e);
    if (d.ok) matcher.matchAll(normalizePayload(d.payload, normalizer, new SkipLedger()));
  }
});
const hotPath = warmHotPath(normalizer, rules);
await best(`full (${size} rules)`, async () => {
  await hotPath.pass(lambdaEvents);
});
