/** us-east-1 list prices (shared/design/aws-facts.md). */
export const PRICE = {
  lambdaRequest: 0.2 / 1e6,
  lambdaArmGbSecond: 0.0000133334,
  ddbWrite: 0.625 / 1e6,
  ddbRead: 0.125 / 1e6,
  sfnExpressRequest: 1 / 1e6,
  sfnExpressGbSecond: 0.00001667,
  snsPublish: 0.5 / 1e6,
};

export const DETECTOR_GB = 1; // detector memorySize 1,024 MB
/** Lambda gets one full vCPU at 1,769 MB; at 1,024 MB it gets that share of one. */
export const CPU_SHARE = 1024 / 1769;
/** One DynamoDB round trip, as seen from Lambda in the same Region. */
export const ROUND_TRIP_S = 0.008;
/**
 * Sequential store phases per batch in this design: counters (the receipt read beside them),
 * reads, sets, markers, claims, receipt.
 */
export const PHASES_PER_BATCH = 6;
/** The adapter's parallel requests per phase; the naive path gets the same. */
const CONCURRENCY = 16;

export interface CostInput {
  /** CPU rate over the events the filter delivers. */
  eventsPerSecondPerCore: number;
  /** Delivered events per delivered payload. */
  eventsPerInvocation: number;
  /** Store calls per event written to the log groups (the filter drops none of the events that make them). */
  readsPerEvent: number;
  writesPerEvent: number;
  /** Write units per event written that the due index's upkeep adds (a global secondary index bills its own writes). */
  indexWritesPerEvent: number;
  detectionsPerEvent: number;
  /** Share of events the subscription filter delivers to Lambda. */
  deliveredShare: number;
  /** Sequential store rounds per batch; at most PHASES_PER_BATCH (a batch nothing matched makes none). */
  roundsPerBatch?: number;
  naive?: boolean;
}

/** Dollars per million log events written to the watched log groups. */
export function costPerMillion(input: CostInput): { lines: { item: string; usd: number }[]; total: number; assumptions: string } {
  const delivered = 1e6 * input.deliveredShare;
  const invocations = delivered / input.eventsPerInvocation;
  const cpuSeconds = delivered / input.eventsPerSecondPerCore / CPU_SHARE;
  const ioRounds = input.naive
    ? (input.writesPerEvent * delivered) / CONCURRENCY
    : invocations * (input.roundsPerBatch ?? PHASES_PER_BATCH);
  const lambdaSeconds = cpuSeconds + ioRounds * ROUND_TRIP_S;
  const detections = 1e6 * input.detectionsPerEvent;
  // Per detection: one Express execution (~200 ms at 64 MB), ~3 DynamoDB calls in the state machine, one SNS publish.
  const lines = [
    { item: 'Lambda requests', usd: invocations * PRICE.lambdaRequest },
    { item: 'Lambda duration (arm64, 1 GB)', usd: lambdaSeconds * DETECTOR_GB * PRICE.lambdaArmGbSecond },
    // Store calls come from events a rule matches, which the filter never drops: per event written, delivered or not.
    { item: 'DynamoDB writes (on-demand)', usd: (input.writesPerEvent * 1e6 + 2 * detections) * PRICE.ddbWrite },
    { item: 'DynamoDB due index writes (GSI, on-demand)', usd: input.indexWritesPerEvent * 1e6 * PRICE.ddbWrite },
    { item: 'DynamoDB reads (on-demand, strongly consistent)', usd: (input.readsPerEvent * 1e6 + detections) * PRICE.ddbRead },
    { item: 'Step Functions Express (correlation)', usd: detections * (PRICE.sfnExpressRequest + 0.0625 * 0.2 * PRICE.sfnExpressGbSecond) },
    { item: 'SNS publishes', usd: detections * PRICE.snsPublish },
  ];
  const assumptions =
    `Model: Lambda time = CPU time at the measured events/s (scaled to the ${Math.round(CPU_SHARE * 100)}% vCPU of a 1 GB function) + ${ROUND_TRIP_S * 1000} ms per sequential DynamoDB round (${PHASES_PER_BATCH} per batch here; naive: one write per matching event, ${CONCURRENCY} in parallel). ` +
    'One write or read unit per call (items under 1 KB / 4 KB: a packed counter or set item stays under 1 KB, a spike counter item holds at most 160 batch ids, under 4 KB, so a spike key delivered more than about 40 times in one slot costs two to four write units a write, which this model counts as one). Measured on dynalite, which sizes items as DynamoDB bills them (bench/store-units.ts, 2026-12-03, the packed layout): the busy-streams workload through the DynamoDB adapter consumed 21,994 write units for 21,473 writes (1.024 a write, the 36 conditional writes refused counted at one each) and 8,773 read units for 8,632 reads — one unit a call is this workload to within 3% (per key, before: 63,435 write units for 62,914 writes, 28,917 read units for 28,789 reads). ' +
    "The due index (a sparse global secondary index, keys only, of the open conditions and pending digests the sweeper lists) bills a write unit of its own when a document enters or leaves it and two when its due time moves; the in-memory store counts them as the adapter would make them (dynalite reports no index units). Each detection costs one Express execution (64 MB, 200 ms), three state-machine DynamoDB calls and one SNS publish; the sweeper's calls (every 5 minutes, per condition due) are not in these columns. " +
    'CloudWatch Logs ingestion ($0.50/GB) is paid by the application either way and is not included. The naive column gets no subscription-filter saving.';
  return { lines, total: lines.reduce((s, l) => s + l.usd, 0), assumptions };
}
