import { loadPack } from '../src/cli/load-pack';
import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { SkipLedger } from '../src/decode/skips';
import { Detector } from '../src/engine/detector';
import { LineGate } from '../src/engine/line-gate';
import { MemoryStateStore } from '../src/engine/memory-store';
import { normalizePayload, type PayloadResult, processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import type { RulePack } from '../src/rules/rule-pack';
import type { DetectionRule, SourceDefinition } from '../src/schema/rule';
import { scaledRules, workloadOrder } from './rule-scaling';
import { toLambdaEvent, workloadPayloads } from './workload';

/**
 * Whose logs may be about other accounts, as the detector function is told: the stack's own account
 * (the workload's logs are its own, as the demo's are).
 */
export const STACK_ACCOUNTS: ReadonlySet<string> = new Set(['123456789012']);

let shipped: RulePack | undefined;
/** The shipped pack, read once per process (benchSetup's, and the sources a hot path's gate reads by default). */
function shippedPack(): RulePack {
  shipped ??= loadPack(['rules'], { checkRegexes: false }).pack;
  return shipped;
}

/** What every hot-path script starts from: the shipped pack, the busy-streams workload and its rule order. */
export function benchSetup(events: number) {
  const pack = shippedPack();
  const normalizer = new Normalizer(pack.sources, { accountsFor: STACK_ACCOUNTS });
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

/**
 * The hot path as a Lambda container runs it: one detector, built once (rules compiled outside
 * the timing, as on a cold start) and kept for every pass; each pass starts from an empty state
 * store. A detector built afresh per pass measured 10–20% slower after a forced GC than the one a
 * container keeps: collecting the previous pass's detector (its compiled rules, its index)
 * deoptimized about 50 functions whose optimized code had embedded them, and each timed pass
 * paid to optimize them again — a cost no container pays per batch.
 */
export function warmHotPath(normalizer: Normalizer, rules: DetectionRule[], sources: readonly SourceDefinition[] = shippedPack().sources) {
  const store = new MemoryStateStore();
  const detector = new Detector({ rules }, store);
  // As the detector function has it: lines no rule can match are left unread (sources: the normalizer's).
  const gate = new LineGate(rules, sources);
  return {
    store,
    detector,
    /** One pass over the Lambda events from an empty store, each payload's result to `onResult`; returns the events read. */
    async pass(lambdaEvents: readonly unknown[], onResult?: (result: PayloadResult) => void): Promise<number> {
      store.clear();
      let events = 0;
      for (const e of lambdaEvents) {
        const d = decodeLambdaEvent(e);
        if (!d.ok) continue;
        const result = await processPayload(d.payload, normalizer, detector, { gate });
        events += result.eventsIn;
        onResult?.(result);
      }
      return events;
    },
  };
}
