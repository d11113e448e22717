import { encodePayload, type SubscriptionPayload } from '../src/decode/cloudwatch';
import { DEMO_BASE, generateDemo } from '../src/demo/generate';

const FORTNIGHT = 14 * 86_400_000;

export interface WorkloadOptions {
  /** Stop once this many events are generated (the last copy is cut short). */
  events: number;
  maxEventsPerPayload: number;
  payloadSpanMs: number;
  /** Time between copies. A fortnight (default) never overlaps them; shorter interleaves them. */
  copyShiftMs?: number;
}

/**
 * The benchmark and soak workload: copies of the demo (benign traffic with the attack timelines
 * interleaved), each shifted later, so state expires and re-arms as in a long-running deployment.
 * Payloads are cut per log stream like CloudWatch Logs delivers them, in time order.
 */
export function* workloadPayloads(options: WorkloadOptions): Generator<SubscriptionPayload> {
  const shift = options.copyShiftMs ?? FORTNIGHT;
  if (shift >= FORTNIGHT) {
    yield* copies(options, shift); // copies do not overlap: already in time order
    return;
  }
  yield* [...copies(options, shift)].sort((a, b) => (a.logEvents[0]?.timestamp ?? 0) - (b.logEvents[0]?.timestamp ?? 0));
}

function* copies(options: WorkloadOptions, shift: number): Generator<SubscriptionPayload> {
  let emitted = 0;
  for (let copy = 0; emitted < options.events; copy++) {
    const demo = generateDemo(20250303 + copy, {
      base: DEMO_BASE + copy * shift,
      maxEventsPerPayload: options.maxEventsPerPayload,
      payloadSpanMs: options.payloadSpanMs,
    });
    for (const payload of demo.payloads) {
      const room = options.events - emitted;
      if (room <= 0) return;
      // Event ids must stay unique across copies, as CloudWatch's are.
      const logEvents = payload.logEvents.slice(0, room).map((e) => ({ ...e, id: `${copy}-${e.id}` }));
      emitted += logEvents.length;
      yield { ...payload, logEvents };
    }
  }
}

/** The Lambda event CloudWatch Logs sends: base64(gzip(JSON payload)). */
export function toLambdaEvent(payload: SubscriptionPayload): { awslogs: { data: string } } {
  return encodePayload(payload);
}
