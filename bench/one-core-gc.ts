/**
 * `node [--single-threaded-gc] --import tsx bench/one-core-gc.ts`: the 100-rule hot path alone in
 * its process (one rule pack, as in a Lambda; BENCH_RULES for another pack size). With `--single-threaded-gc`, V8's garbage collector
 * runs on the JavaScript thread only: in the other rows V8's parallel scavenger uses the machine's
 * second core for part of each collection; a Lambda function below 1,769 MB has one vCPU and no
 * such help. `npm run bench` runs it with and without the flag. Prints `{ "eventsPerSecond": n }`
 * (median of BENCH_RUNS passes after the warm-up passes; run with --expose-gc too, as the bench does).
 */
import { disablePretenuring } from '../src/runtime/v8-heap';
import { medianMs } from './measure';
import { benchSetup, warmHotPath } from './setup';

disablePretenuring(); // as the detector function does

const { normalizer, lambdaEvents, eventCount, rules: rulesOf } = benchSetup(Number(process.env.BENCH_EVENTS ?? 100_000));
// BENCH_RULES: another pack size (the bench's rule-scaling check, each pack alone in its process).
const rules = rulesOf(Number(process.env.BENCH_RULES ?? 100));

const hotPath = warmHotPath(normalizer, rules);
const ms = await medianMs(Number(process.env.BENCH_RUNS ?? 5), () => hotPath.pass(lambdaEvents));
process.stdout.write(`${JSON.stringify({ eventsPerSecond: eventCount / (ms / 1000) })}\n`);
