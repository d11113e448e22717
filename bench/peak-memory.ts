/**
 * Child process of the benchmark: runs one 10,000-event payload through decode, normalize and
 * evaluate, and prints the peak RSS growth (MiB) over the process with everything loaded.
 */

import { loadPack } from '../src/cli/load-pack';
import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { floodPayload } from './flood';
import { toLambdaEvent } from './workload';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const detector = new Detector(pack, new MemoryStateStore());
const lambdaEvent = toLambdaEvent(floodPayload());
const baseline = process.memoryUsage().rss;
const decoded = decodeLambdaEvent(lambdaEvent);
if (!decoded.ok) throw new Error(decoded.skip.detail);
const result = await processPayload(decoded.payload, normalizer, detector);
const peakRss = process.resourceUsage().maxRSS * 1024;
process.stdout.write(
  JSON.stringify({
    baselineMiB: baseline / 2 ** 20,
    peakMiB: peakRss / 2 ** 20,
    growthMiB: (peakRss - baseline) / 2 ** 20,
    alerts: result.messages.length,
    events: result.eventsProcessed,
  }),
);
