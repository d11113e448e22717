import { z } from 'zod';
import { redact } from '../alerts/redact';
import { decodeLambdaEvent } from '../decode/cloudwatch';
import { decodeKinesisRecord, type KinesisEvent } from '../decode/kinesis';

/**
 * `detect redrive`: the log batches the detector gave up on, run through it again.
 *
 * A batch the detector cannot decide (DynamoDB throttled for longer than Lambda's retries, a
 * bug, a payload past its age) is not dropped: Lambda parks a record of it in the stack's failure
 * queue, and the FailedBatches alarm fires. What the record holds depends on the path:
 * - the direct path (CloudWatch Logs invokes the detector asynchronously): the invocation
 *   record, with the subscription payload itself in `requestPayload`;
 * - the hub (a Kinesis stream): only where the batch was — shard and first and last sequence
 *   numbers. Its records are read back from the stream, which keeps them for its retention (24
 *   hours by default) from when they arrived: a batch given up on after 6 hours leaves 18.
 *
 * Each batch is handed to the deployed detector function (a synchronous invocation: the same
 * code, rules and settings as live), and its record leaves the queue only once the detector
 * decided it. Redriving is safe to repeat: a batch the detector decided before answers from its
 * receipt, and every counter write it repeats is a no-op — a crash between the invocation and
 * the queue delete costs nothing but the repeat. A batch that fails again stays in the queue,
 * with why.
 */

/** What every record Lambda parks says: when, why (condition, attempts) and the function's answer. */
const FailureRecord = z.object({
  timestamp: z.string(),
  requestContext: z.object({ condition: z.string(), approximateInvokeCount: z.number().optional() }),
  responsePayload: z.unknown().optional(),
});

/** The invocation record of an asynchronous invocation that failed every attempt (the direct path). */
const AsyncFailure = FailureRecord.extend({ requestPayload: z.unknown().optional() });

export const KinesisBatchInfo = z.object({
  shardId: z.string(),
  startSequenceNumber: z.string().regex(/^\d+$/),
  endSequenceNumber: z.string().regex(/^\d+$/),
  batchSize: z.number().int().nonnegative(),
  streamArn: z.string(),
  approximateArrivalOfFirstRecord: z.string().optional(),
});
export type KinesisBatchInfo = z.infer<typeof KinesisBatchInfo>;

/** The record of a Kinesis batch an event source mapping discarded (the hub): where it is, not what. */
const StreamFailure = FailureRecord.extend({ KinesisBatchInfo });

/** A message of the failure queue, as received. */
export interface ParkedMessage {
  id: string;
  receiptHandle: string;
  body: string;
}

/** The stack's failure queue. */
export interface FailureQueue {
  /** Up to `max` messages, each hidden from other readers until removed or released. */
  receive(max: number): Promise<ParkedMessage[]>;
  remove(message: ParkedMessage): Promise<void>;
  /** Visible again at once (for the next run, and the alarm). */
  release(message: ParkedMessage): Promise<void>;
}

/** The deployed detector function, invoked synchronously. */
export interface DetectorFunction {
  invoke(event: unknown): Promise<{ ok: true; response: unknown } | { ok: false; error: string }>;
}

/** Reads a discarded batch's records back from the hub's stream. */
export interface StreamRecords {
  /** The records from the batch's first to its last sequence number that the stream still holds, in order. */
  read(batch: KinesisBatchInfo): Promise<KinesisEvent['Records']>;
}

export interface RedriveOptions {
  /** List what is parked and leave it there. */
  dryRun?: boolean;
  /** Messages handled at most. */
  max?: number;
  /** Take out of the queue a hub batch whose records the stream no longer holds (they cannot come back). */
  dropLost?: boolean;
  /** Batches redriven at once (each its own invocation of the detector, beside its live traffic). */
  parallel?: number;
}

export type Outcome = 'redriven' | 'failed' | 'lost' | 'dropped' | 'unreadable' | 'listed';

export interface RedriveItem {
  outcome: Outcome;
  /** What the batch is: its log group and stream and events, or its shard and sequence numbers. */
  what: string;
  /** Why Lambda gave up on it, as its record says (redacted). */
  why: string;
  /** What happened now, when it is not simply done. */
  detail?: string;
}

export interface RedriveResult {
  items: RedriveItem[];
  /** The run stopped at `max`: the queue may hold more. */
  more: boolean;
}

/** Records per invocation of the detector for a hub batch: Lambda's synchronous request is at most 6 MB. */
const MAX_INVOKE_BYTES = 4 * 1024 * 1024;

export async function redrive(
  queue: FailureQueue,
  detector: DetectorFunction,
  stream: StreamRecords | undefined,
  options: RedriveOptions = {},
): Promise<RedriveResult> {
  const max = options.max ?? 1000;
  const parallel = Math.max(1, options.parallel ?? 1);
  const items: RedriveItem[] = [];
  const keep: ParkedMessage[] = [];
  const seen = new Set<string>();
  let more = false;
  try {
    for (let empty = 0; empty < 2; ) {
      if (seen.size >= max) {
        more = true;
        break;
      }
      const messages = (await queue.receive(Math.min(10, max - seen.size))).filter((m) => !seen.has(m.id));
      if (messages.length === 0) {
        // An SQS receive samples some of the queue's servers: an empty answer is asked twice.
        empty++;
        continue;
      }
      empty = 0;
      for (const message of messages) seen.add(message.id);
      // A few batches at once (--parallel): each is its own invocation, and the detector decides
      // a batch the same whichever order batches come in (late deliveries are counted where they belong).
      for (let start = 0; start < messages.length; start += parallel) {
        const group = messages.slice(start, start + parallel);
        const handled = await Promise.all(
          group.map(async (message) => ({ message, item: await handle(message, detector, stream, options).catch(refused(message)) })),
        );
        for (const { message, item } of handled) {
          items.push(item);
          if (item.outcome === 'redriven' || item.outcome === 'dropped') await queue.remove(message);
          else keep.push(message);
        }
      }
    }
  } finally {
    // Whatever stays is visible again at once: for the next run, and for the alarm.
    for (const message of keep) await queue.release(message);
  }
  return { items, more };
}

/** The invocation or the stream read refused (throttled past the SDK's retries, no access): this batch stays for the next run; the others are still tried. */
function refused(message: ParkedMessage) {
  return (err: unknown): RedriveItem => ({
    outcome: 'failed',
    what: `message ${message.id}`,
    why: 'not read',
    detail: `${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
  });
}

async function handle(
  message: ParkedMessage,
  detector: DetectorFunction,
  stream: StreamRecords | undefined,
  options: RedriveOptions,
): Promise<RedriveItem> {
  let body: unknown;
  try {
    body = JSON.parse(message.body);
  } catch {
    return unreadable(message, 'not JSON');
  }
  const direct = AsyncFailure.safeParse(body);
  const hub = StreamFailure.safeParse(body);
  if (hub.success) return handleStreamBatch(hub.data, detector, stream, options);
  if (direct.success) return handleInvocation(direct.data, detector, options);
  return unreadable(message, 'neither an asynchronous invocation record nor a Kinesis batch record');
}

function unreadable(message: ParkedMessage, why: string): RedriveItem {
  return { outcome: 'unreadable', what: `message ${message.id}`, why, detail: 'left in the queue: look at it with the SQS console' };
}

/** Why Lambda gave up, from the record: its condition, attempts and the function's error message. */
function whyParked(record: z.infer<typeof FailureRecord>): string {
  const tries = record.requestContext.approximateInvokeCount;
  const error = errorMessage(record.responsePayload);
  return [
    `${record.requestContext.condition}${tries === undefined ? '' : ` after ${tries} attempt(s)`} at ${record.timestamp}`,
    error === undefined ? undefined : `: ${excerpt(error)}`,
  ]
    .filter(Boolean)
    .join('');
}

/** A function's error message as the operator's terminal may show it: redacted, and short. */
function excerpt(error: string): string {
  return redact(error).slice(0, 300);
}

function failedAgain(error: string): string {
  return `the detector failed again: ${excerpt(error)}`;
}

function errorMessage(response: unknown): string | undefined {
  if (typeof response !== 'object' || response === null || !('errorMessage' in response)) return undefined;
  return typeof response.errorMessage === 'string' ? response.errorMessage : undefined;
}

async function handleInvocation(
  record: z.infer<typeof AsyncFailure>,
  detector: DetectorFunction,
  options: RedriveOptions,
): Promise<RedriveItem> {
  const why = whyParked(record);
  const decoded = decodeLambdaEvent(record.requestPayload);
  if (!decoded.ok) {
    // Lambda leaves the payload out of a record that would pass the destination's 256 KB.
    return {
      outcome: 'unreadable',
      what: 'a subscription payload',
      why,
      detail: `its payload is not in the record (${decoded.skip.detail}): Lambda leaves it out of a record over the queue's 256 KB; backtest the log groups around ${record.timestamp} instead`,
    };
  }
  const p = decoded.payload;
  const times = p.logEvents.map((e) => e.timestamp);
  const what = `${p.owner ? `${p.owner} ` : ''}${p.logGroup} ${p.logStream}: ${p.logEvents.length} event(s)${times.length > 0 ? ` ${iso(Math.min(...times))} – ${iso(Math.max(...times))}` : ''}`;
  if (options.dryRun) return { outcome: 'listed', what, why };
  const result = await detector.invoke(record.requestPayload);
  if (!result.ok) return { outcome: 'failed', what, why, detail: failedAgain(result.error) };
  return { outcome: 'redriven', what, why };
}

async function handleStreamBatch(
  record: z.infer<typeof StreamFailure>,
  detector: DetectorFunction,
  stream: StreamRecords | undefined,
  options: RedriveOptions,
): Promise<RedriveItem> {
  const batch = record.KinesisBatchInfo;
  const why = whyParked(record);
  const what = `hub stream ${batch.shardId} ${batch.startSequenceNumber}–${batch.endSequenceNumber}: ${batch.batchSize} record(s)${
    batch.approximateArrivalOfFirstRecord ? ` arrived from ${batch.approximateArrivalOfFirstRecord}` : ''
  }`;
  if (!stream) return { outcome: 'failed', what, why, detail: 'a hub batch: its records are in the stream, which this run does not read' };
  // Read in a dry run too (reading a stream takes nothing from it): what the batch holds, and whether it still can be redriven.
  const records = await stream.read(batch);
  const described = `${what}${contentOf(records)}`;
  // The stream trims records past its retention from the front: a batch whose first record is
  // gone has lost what came before the first it still holds.
  const lost =
    records[0]?.kinesis.sequenceNumber === batch.startSequenceNumber
      ? undefined
      : `the stream no longer holds ${records.length === 0 ? 'its records' : `${Math.max(1, batch.batchSize - records.length)} of its records`} (past its retention)`;
  if (options.dryRun) return { outcome: 'listed', what: described, why, ...(lost ? { detail: lost } : {}) };
  if (lost !== undefined && records.length === 0)
    return { outcome: options.dropLost ? 'dropped' : 'lost', what: described, why, detail: lost };
  const failed = await invokeInChunks(detector, records);
  if (failed !== undefined) return { outcome: 'failed', what: described, why, detail: failed };
  if (lost !== undefined) {
    return {
      outcome: options.dropLost ? 'dropped' : 'lost',
      what: described,
      why,
      detail: `${lost}; the ${records.length} it holds were redriven`,
    };
  }
  return { outcome: 'redriven', what: described, why };
}

/** What a hub batch's records hold: their events and the log groups they came from. */
function contentOf(records: KinesisEvent['Records']): string {
  let events = 0;
  const groups = new Set<string>();
  for (const record of records) {
    const item = decodeKinesisRecord(record);
    if (!item.ok) continue;
    events += item.payload.logEvents.length;
    groups.add(item.payload.owner ? `${item.payload.owner} ${item.payload.logGroup}` : item.payload.logGroup);
  }
  if (records.length === 0) return '';
  const named = [...groups].slice(0, 3).join(', ');
  return ` (${events} event(s) of ${named}${groups.size > 3 ? ` and ${groups.size - 3} more group(s)` : ''})`;
}

/** The records as Kinesis events of at most MAX_INVOKE_BYTES each, in order; what went wrong, or undefined. */
async function invokeInChunks(detector: DetectorFunction, records: KinesisEvent['Records']): Promise<string | undefined> {
  let chunk: KinesisEvent['Records'] = [];
  let bytes = 0;
  const send = async (): Promise<string | undefined> => {
    if (chunk.length === 0) return undefined;
    const event: KinesisEvent = { Records: chunk };
    chunk = [];
    bytes = 0;
    const result = await detector.invoke(event);
    if (!result.ok) return failedAgain(result.error);
    const failures = BatchResponse.safeParse(result.response);
    if (!failures.success) return 'the detector answered with something other than a batch response (is --function the detector?)';
    const first = failures.data.batchItemFailures[0];
    return first ? `the detector failed again from record ${first.itemIdentifier}` : undefined;
  };
  for (const record of records) {
    const size = record.kinesis.data.length + 512;
    if (bytes + size > MAX_INVOKE_BYTES) {
      const failed = await send();
      if (failed) return failed;
    }
    chunk.push(record);
    bytes += size;
  }
  return send();
}

const BatchResponse = z.object({ batchItemFailures: z.array(z.object({ itemIdentifier: z.string() })) });

/** A readable account of a run. */
export function formatRedrive(result: RedriveResult, dryRun: boolean): string {
  if (result.items.length === 0) return 'redrive: the failure queue is empty';
  const count = (o: Outcome) => result.items.filter((i) => i.outcome === o).length;
  const lines = result.items.map(
    (i) => `  ${i.outcome.padEnd(10)} ${i.what}\n             parked: ${i.why}${i.detail ? `\n             ${i.detail}` : ''}`,
  );
  const head = dryRun
    ? `redrive (dry run): ${result.items.length} parked batch(es), left in the queue`
    : `redrive: ${count('redriven')} redriven, ${count('failed')} failed again, ${count('lost')} lost (kept), ${count('dropped')} lost (dropped), ${count('unreadable')} unreadable`;
  return [head, ...lines, ...(result.more ? ['  … stopped at --max: run again for any more (or raise --max)'] : [])].join('\n');
}

/** True when the run leaves batches in the queue that a rerun will not fix by itself. */
export function redriveFailed(result: RedriveResult): boolean {
  return result.items.some((i) => i.outcome === 'failed' || i.outcome === 'lost' || i.outcome === 'unreadable');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
