/**
 * One path of the isolated rows (bench/isolated.ts), in a process of its own: the floor (V8's
 * default heap settings) or the hot path with one rule pack (the detector function's setting,
 * src/runtime/v8-heap.ts). Warms up when told to, then times one pass per 'go' (after a full
 * collection) and reports it with what the pass decided.
 */
import { z } from 'zod';
import { disablePretenuring } from '../src/runtime/v8-heap';
import { decodeFloor } from './floor';
import { collectGarbage, WARMUP_PASSES } from './measure';
import { benchSetup, warmHotPath } from './setup';

const rulesArg = process.env.BENCH_ISOLATED_RULES;
const rules = rulesArg === undefined || rulesArg === '' ? undefined : Number(rulesArg);
if (rules !== undefined) disablePretenuring(); // as the detector function does
const send = (message: unknown) => {
  if (!process.send) throw new Error('run by bench/isolated.ts (an IPC channel)');
  process.send(message);
};

// What a pass reads, and nothing else: a detector's container holds a payload at a time, not the
// workload's 100,000 decoded events (their objects, kept, made every collection mark ~35 MB more
// and the hot path 4-7% slower in a process of its own).
const { eventCount, pass } = prepare(Number(process.env.BENCH_EVENTS ?? 100_000), rules);

function prepare(events: number, rules: number | undefined) {
  const setup = benchSetup(events);
  const { lambdaEvents, eventCount } = setup;
  if (rules === undefined) {
    const pass = async () => {
      decodeFloor(lambdaEvents);
      return { alerts: 0, reads: 0, writes: 0 };
    };
    return { eventCount, pass };
  }
  const hotPath = warmHotPath(setup.normalizer, setup.rules(rules));
  const pass = async () => {
    let alerts = 0;
    await hotPath.pass(lambdaEvents, (r) => {
      alerts += r.messages.length;
    });
    return { alerts, ...hotPath.store.calls };
  };
  return { eventCount, pass };
}

const Command = z.enum(['warm', 'go']);
send({ ready: true, events: eventCount });
process.on('message', async (message: unknown) => {
  if (Command.parse(message) === 'warm') {
    for (let i = 0; i < WARMUP_PASSES; i++) await pass();
    send({ warm: true });
    return;
  }
  // A turn's first pass is not timed: after the other paths' turns, the first pass of a short path
  // (the floor's 0.2 s) ran up to a fifth slower than passes run back to back, and a longer one's
  // barely — timing it would tilt every ratio towards the long path. The timed pass follows a pass
  // of its own, as in a container serving a stream.
  await pass();
  collectGarbage();
  const start = performance.now();
  const outcome = await pass();
  send({ ms: performance.now() - start, ...outcome });
});
