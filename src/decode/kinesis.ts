import { z } from 'zod';
import { formatIssues } from '../schema/issues';
import { type DecodeResult, decodeAwslogsData, encodePayload, type SubscriptionPayload } from './cloudwatch';
import type { Skip } from './skips';

/**
 * The Lambda event of a Kinesis event source mapping. Behind a CloudWatch Logs destination each
 * record's data is one subscription payload, gzipped (base64 in the event) — the same bytes as
 * `awslogs.data` on the direct path, so both entry points share one decoder.
 */
export const KinesisRecord = z.object({
  eventSource: z.literal('aws:kinesis'),
  eventID: z.string(),
  kinesis: z.object({
    data: z.string(),
    sequenceNumber: z.string().min(1),
    partitionKey: z.string().optional(),
    approximateArrivalTimestamp: z.number().optional(),
  }),
});
export type KinesisRecord = z.infer<typeof KinesisRecord>;

export const KinesisEvent = z.object({ Records: z.array(KinesisRecord) });
export type KinesisEvent = z.infer<typeof KinesisEvent>;

/** Partial batch response (ReportBatchItemFailures): the stream resumes from the first listed record. */
export interface KinesisBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** True for anything shaped like a Kinesis event (its records are validated one by one). */
export function isKinesisEvent(event: unknown): event is { Records: unknown[] } {
  if (typeof event !== 'object' || event === null || !('Records' in event) || !Array.isArray(event.Records)) return false;
  const first: unknown = event.Records[0];
  return typeof first === 'object' && first !== null && 'eventSource' in first && first.eventSource === 'aws:kinesis';
}

export type KinesisItem =
  | {
      ok: true;
      sequenceNumber: string;
      payload: SubscriptionPayload;
      /** When the record reached the stream (Kinesis's own clock, ms), where the event says: when CloudWatch Logs delivered it. */
      arrivedAt?: number;
    }
  | { ok: false; sequenceNumber: string | undefined; skip: Skip };

/** Decodes one record; a malformed record is a skip naming its sequence number, never an exception. */
export function decodeKinesisRecord(raw: unknown, where = 'kinesis record'): KinesisItem {
  // Checked by hand; zod only explains a record that fails (one parse per payload behind the hub).
  let kinesis = kinesisOf(raw);
  if (kinesis === undefined) {
    const parsed = KinesisRecord.safeParse(raw);
    if (!parsed.success) {
      const seq = typeof raw === 'object' && raw !== null && 'kinesis' in raw ? sequenceOf(raw.kinesis) : undefined;
      return {
        ok: false,
        sequenceNumber: seq,
        skip: { reason: 'bad_shape', where, detail: `not a Kinesis record: ${formatIssues(parsed.error, '; ')}`, events: 0 },
      };
    }
    kinesis = parsed.data.kinesis;
  }
  const seq = kinesis.sequenceNumber;
  const decoded: DecodeResult = decodeAwslogsData(kinesis.data, `${where} ${seq}`);
  if (!decoded.ok) return { ok: false, sequenceNumber: seq, skip: decoded.skip };
  const arrival = kinesis.approximateArrivalTimestamp;
  return {
    ok: true,
    sequenceNumber: seq,
    payload: decoded.payload,
    ...(arrival !== undefined && Number.isFinite(arrival) ? { arrivedAt: Math.round(arrival * 1000) } : {}),
  };
}

/** The `kinesis` part of a record zod's KinesisRecord would accept as it is (a subset: anything else goes to zod), else undefined. */
function kinesisOf(raw: unknown): { data: string; sequenceNumber: string; approximateArrivalTimestamp?: number } | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  if (!('eventSource' in raw) || raw.eventSource !== 'aws:kinesis' || !('eventID' in raw) || typeof raw.eventID !== 'string')
    return undefined;
  if (!('kinesis' in raw)) return undefined;
  const k = raw.kinesis;
  if (typeof k !== 'object' || k === null || Array.isArray(k) || !('data' in k) || !('sequenceNumber' in k)) return undefined;
  const { data, sequenceNumber } = k;
  if (typeof data !== 'string' || typeof sequenceNumber !== 'string' || sequenceNumber === '') return undefined;
  if ('partitionKey' in k && k.partitionKey !== undefined && typeof k.partitionKey !== 'string') return undefined;
  const arrival = 'approximateArrivalTimestamp' in k ? k.approximateArrivalTimestamp : undefined;
  if (arrival === undefined) return { data, sequenceNumber };
  return typeof arrival === 'number' && Number.isFinite(arrival)
    ? { data, sequenceNumber, approximateArrivalTimestamp: arrival }
    : undefined;
}

function sequenceOf(kinesis: unknown): string | undefined {
  if (typeof kinesis !== 'object' || kinesis === null || !('sequenceNumber' in kinesis)) return undefined;
  return typeof kinesis.sequenceNumber === 'string' ? kinesis.sequenceNumber : undefined;
}

/** Builds the Kinesis event Lambda would receive for these payloads (demo, tests, replay fixtures). */
export function kinesisEventOf(
  payloads: readonly SubscriptionPayload[],
  options: { shardId?: string; firstSequence?: bigint } = {},
): KinesisEvent {
  const first = options.firstSequence ?? 49_650_000_000_000_000_000n;
  const shard = options.shardId ?? 'shardId-000000000000';
  return {
    Records: payloads.map((payload, i) => {
      const sequenceNumber = String(first + BigInt(i));
      return {
        eventSource: 'aws:kinesis' as const,
        eventID: `${shard}:${sequenceNumber}`,
        kinesis: {
          data: encodePayload(payload).awslogs.data,
          sequenceNumber,
          partitionKey: payload.logStream,
          approximateArrivalTimestamp: (payload.logEvents[0]?.timestamp ?? 0) / 1000,
        },
      };
    }),
  };
}
