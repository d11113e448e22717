import { loadPack } from '../src/cli/load-pack';
import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { SkipLedger } from '../src/decode/skips';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { normalizePayload, processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import type { DetectionRule } from '../src/schema/rule';
import { scaledRules, workloadOrder } from './rule-scaling';
import { toLambdaEvent, workloadPayloads } from './workload';

/** What every hot-path script starts from: the shipped pack, the busy-streams workload and its rule order. */
export function benchSetup(events: number) {
  const { pack } = loadPack(['rules'], { checkRegexes: false });
  const normalizer = new Normalizer(pack.sources);
  const payloads = [...workloadPayloads({ events, maxEventsPerPayload: 10_000, payloadSpanMs: 3_600_000 })];
  const base = workloadOrder(
    pack.rules,
    payloads.map((p) => normalizePayload(p, normalizer, new SkipLedger())),
    (batch) => new Detector(pack, new MemoryStateStore()).matchAll(batch),
  );
  return {
    pack,
    normalizer,
    payloads,
    lambdaEvents: payloads.map(toLambdaEvent),
    eventCount: payloads.reduce((n, p) => n + p.logEvents.length, 0),
    base,
    rules: (size: number): DetectionRule[] => scaledRules(base, size),
  };
}

/** One pass of the hot path over Lambda events with a fresh detector on the in-memory store; returns the events read. */
export async function hotPathPass(lambdaEvents: readonly unknown[], normalizer: Normalizer, rules: DetectionRule[]): Promise<number> {
  const detector = new Detector({ rules }, new MemoryStateStore());
  let events = 0;
  for (const e of lambdaEvents) {
    const d = decodeLambdaEvent(e);
    if (d.ok) events += (await processPayload(d.payload, normalizer, detector)).eventsIn;
  }
  return events;
}
