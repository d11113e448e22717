/**
 * `node --single-threaded-gc --import tsx bench/one-core-gc.ts`: the 100-rule hot path with V8's
 * garbage collector on the JavaScript thread only. In the other rows V8's parallel scavenger uses
 * the machine's second core for part of each collection; a Lambda function below 1,769 MB has one
 * vCPU and no such help. Prints `{ "eventsPerSecond": n }` (median of BENCH_RUNS passes after a warm-up; run with --expose-gc too, as the bench does).
 */
import { medianMs } from './measure';
import { benchSetup, hotPathPass } from './setup';

const { normalizer, lambdaEvents, eventCount, rules: rulesOf } = benchSetup(Number(process.env.BENCH_EVENTS ?? 100_000));
const rules = rulesOf(100);

const ms = await medianMs(Number(process.env.BENCH_RUNS ?? 5), () => hotPathPass(lambdaEvents, normalizer, rules));
process.stdout.write(`${JSON.stringify({ eventsPerSecond: eventCount / (ms / 1000) })}\n`);
