/**
 * `node --expose-gc --import tsx bench/floor-alone.ts`: the decode floor in a process of its own,
 * with V8's default heap settings (this process does not take the detector's: src/runtime/v8-heap.ts).
 * `npm run bench` compares it with the floor it times beside the paths and keeps the faster, so
 * the detector's setting can never flatter a ratio by slowing the floor. Prints `{ "eventsPerSecond": n }`.
 */
import { decodeFloor } from './floor';
import { medianMs } from './measure';
import { benchSetup } from './setup';

const { lambdaEvents, eventCount } = benchSetup(Number(process.env.BENCH_EVENTS ?? 100_000));
// BENCH_FLOOR=pieces: the floor decoding as the detector does (a large payload in pieces).
const inPieces = process.env.BENCH_FLOOR === 'pieces';
const ms = await medianMs(Number(process.env.BENCH_RUNS ?? 5), () => decodeFloor(lambdaEvents, inPieces));
process.stdout.write(`${JSON.stringify({ eventsPerSecond: eventCount / (ms / 1000) })}\n`);
