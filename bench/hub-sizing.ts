/**
 * Hub sizing: shards and dollars per million events for the organization hub (CloudWatch Logs
 * destination → Kinesis → detector), from measured detector figures and list prices.
 *
 * Kinesis prices are not in shared/design/aws-facts.md: these are the us-east-1 list prices as
 * published on the Kinesis Data Streams pricing page (re-check before quoting them).
 */
export const KINESIS_PRICE = {
  /** Provisioned: per shard-hour, and per million 25 KB PUT payload units. */
  shardHour: 0.015,
  putPayloadUnitPerMillion: 0.014,
  /** On-demand: per stream-hour, per GB written, per GB read. */
  onDemandStreamHour: 0.04,
  onDemandGbIn: 0.08,
  onDemandGbOut: 0.04,
};
const HOURS_PER_MONTH = 730;
/** Per shard: 1 MB/s or 1,000 records/s of writes. */
const SHARD_WRITE_BYTES = 1024 * 1024;
const SHARD_WRITE_RECORDS = 1000;
const MAX_PARALLELIZATION = 10;

export interface HubSizingInput {
  eventsPerSecond: number;
  /** Measured: events per second one detector invocation sustains on a Kinesis batch (CPU and store round trips). */
  eventsPerSecondPerInvocation: number;
  /** Measured: gzipped subscription payload bytes per event (what lands on the stream). */
  recordBytesPerEvent: number;
  /** Events per stream record (one CloudWatch Logs delivery). */
  eventsPerRecord: number;
  /** Records per detector invocation (event source mapping batch size). */
  batchSize: number;
  /** What the rest of the pipeline costs per million events (Lambda, DynamoDB, Step Functions, SNS), from the single-account model. */
  pipelineUsdPerMillion: number;
  /** Lambda requests + duration per million events, already inside pipelineUsdPerMillion. */
  lambdaUsdPerMillion: number;
}

export interface HubSizing {
  eventsPerSecond: number;
  writeShards: number;
  readShards: number;
  shards: number;
  concurrency: number;
  provisionedUsdPerMillion: number;
  onDemandUsdPerMillion: number;
  totalUsdPerMillion: number;
}

export function hubSizing(input: HubSizingInput): HubSizing {
  const recordsPerSecond = input.eventsPerSecond / input.eventsPerRecord;
  const bytesPerSecond = input.eventsPerSecond * input.recordBytesPerEvent;
  const writeShards = Math.max(1, Math.ceil(bytesPerSecond / SHARD_WRITE_BYTES), Math.ceil(recordsPerSecond / SHARD_WRITE_RECORDS));
  // Reading: each shard feeds at most MAX_PARALLELIZATION concurrent invocations.
  const concurrency = Math.ceil(input.eventsPerSecond / input.eventsPerSecondPerInvocation);
  const readShards = Math.max(1, Math.ceil(concurrency / MAX_PARALLELIZATION));
  const shards = Math.max(writeShards, readShards);
  const millionsPerHour = (input.eventsPerSecond * 3600) / 1e6;
  const recordKb = (input.eventsPerRecord * input.recordBytesPerEvent) / 1024;
  const putUnitsPerMillionEvents = (1e6 / input.eventsPerRecord) * Math.max(1, Math.ceil(recordKb / 25));
  const provisioned =
    (shards * KINESIS_PRICE.shardHour) / millionsPerHour + (putUnitsPerMillionEvents / 1e6) * KINESIS_PRICE.putPayloadUnitPerMillion;
  // On-demand bills written and read bytes rounded up to 1 KB per record.
  const gbPerMillion = ((1e6 / input.eventsPerRecord) * Math.max(1, Math.ceil(recordKb)) * 1024) / 2 ** 30;
  const onDemand =
    KINESIS_PRICE.onDemandStreamHour / millionsPerHour + gbPerMillion * (KINESIS_PRICE.onDemandGbIn + KINESIS_PRICE.onDemandGbOut);
  return {
    eventsPerSecond: input.eventsPerSecond,
    writeShards,
    readShards,
    shards,
    concurrency,
    provisionedUsdPerMillion: provisioned,
    onDemandUsdPerMillion: onDemand,
    totalUsdPerMillion: input.pipelineUsdPerMillion + Math.min(provisioned, onDemand),
  };
}

export const HUB_ASSUMPTIONS = (input: Pick<HubSizingInput, 'eventsPerRecord' | 'batchSize'>) =>
  `Model: ${input.eventsPerRecord} events per stream record (one CloudWatch Logs delivery), ${input.batchSize} records per invocation, records processed in order (each its own idempotent batch: CPU time plus the store round trips per payload). ` +
  `Shards: the larger of the write limit (1 MB/s or 1,000 records/s per shard) and the read side (concurrent invocations ÷ parallelization factor ${MAX_PARALLELIZATION}). ` +
  `Kinesis list prices (us-east-1, Kinesis pricing page, not in aws-facts.md): provisioned $${KINESIS_PRICE.shardHour}/shard-hour + $${KINESIS_PRICE.putPayloadUnitPerMillion}/M 25 KB PUT units; on-demand $${KINESIS_PRICE.onDemandStreamHour}/stream-hour + $${KINESIS_PRICE.onDemandGbIn}/GB in + $${KINESIS_PRICE.onDemandGbOut}/GB out. ` +
  `The total takes the cheaper stream mode and the single-account pipeline cost per event (the detector work is the same). At a steady rate a month is ${HOURS_PER_MONTH} hours.`;
