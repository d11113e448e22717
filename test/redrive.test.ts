import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DetectorFunction,
  type FailureQueue,
  formatRedrive,
  type KinesisBatchInfo,
  type ParkedMessage,
  redrive,
  redriveFailed,
  type StreamRecords,
} from '../src/cli/redrive';
import { KinesisStreamRecords, LambdaDetector, SqsFailureQueue } from '../src/cli/redrive-aws';
import { encodePayload, type SubscriptionPayload } from '../src/decode/cloudwatch';
import { type KinesisEvent, kinesisEventOf } from '../src/decode/kinesis';
import { loadDetectorHandler, SSH_ATTACK, sentEnvelopes } from './handler-harness';

/** Bytes as the SDK hands them over (a Uint8Array that can say itself as text). */
const blob = (text: string) => Object.assign(new TextEncoder().encode(text), { transformToString: () => text });

/** The failure queue in memory, as SQS behaves: a received message is hidden until removed or released. */
class MemoryQueue implements FailureQueue {
  readonly messages = new Map<string, { body: string; hidden: boolean }>();
  private next = 0;

  put(record: unknown): string {
    const id = `m${this.next++}`;
    this.messages.set(id, { body: JSON.stringify(record), hidden: false });
    return id;
  }
  async receive(max: number): Promise<ParkedMessage[]> {
    const out: ParkedMessage[] = [];
    for (const [id, m] of this.messages) {
      if (out.length >= max || m.hidden) continue;
      m.hidden = true;
      out.push({ id, receiptHandle: `rh-${id}`, body: m.body });
    }
    return out;
  }
  async remove(message: ParkedMessage): Promise<void> {
    this.messages.delete(message.id);
  }
  async release(message: ParkedMessage): Promise<void> {
    const m = this.messages.get(message.id);
    if (m) m.hidden = false;
  }
  get visible(): number {
    return [...this.messages.values()].filter((m) => !m.hidden).length;
  }
}

type Harness = Awaited<ReturnType<typeof loadDetectorHandler>>;

/** The published alerts handed to the state machine: rule and main entity. */
const published = (harness: Harness) =>
  harness.sfn
    .commandCalls(StartSyncExecutionCommand)
    .map((c) => JSON.parse(c.args[0].input.input ?? '{}'))
    .filter((m) => m.publish === true)
    .map((m) => `${m.publishFields?.ruleId} ${m.entities?.[0]?.value}`);
let h: Harness;
beforeAll(async () => {
  h = await loadDetectorHandler();
});
afterAll(async () => {
  await h.db.close();
});

/** The deployed detector, invoked synchronously: the real handler, in process. */
const deployed = (): DetectorFunction & { calls: number } => {
  const fn = {
    calls: 0,
    async invoke(event: unknown) {
      fn.calls++;
      try {
        return { ok: true as const, response: await h.detectAny(event) };
      } catch (err) {
        return { ok: false as const, error: err instanceof Error ? err.message : String(err) };
      }
    },
  };
  return fn;
};

const sshPayload = (ip: string, n: number, base?: number): SubscriptionPayload => ({
  messageType: 'DATA_MESSAGE',
  owner: '123456789012',
  logGroup: '/var/log/auth.log',
  logStream: 'bastion-1',
  subscriptionFilters: ['sentinel'],
  logEvents: SSH_ATTACK(ip, n, base),
});

/** What Lambda parks for an asynchronous invocation that failed every attempt. */
const invocationRecord = (payload: SubscriptionPayload, errorMessage: string) => ({
  version: '1.0',
  timestamp: '2026-03-03T09:12:00.000Z',
  requestContext: {
    requestId: 'e4b46cbf-b738-4a8e-8880-a18cdf61200e',
    functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sentinel-detector:$LATEST',
    condition: 'RetriesExhausted',
    approximateInvokeCount: 3,
  },
  requestPayload: encodePayload(payload),
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  responsePayload: { errorType: 'ProvisionedThroughputExceededException', errorMessage },
});

describe('detect redrive: the direct path (asynchronous invocation records)', () => {
  it('lists what is parked and why without touching it, then redrives it: the alert it held is told, and the record leaves the queue', async () => {
    const queue = new MemoryQueue();
    // Failed logins from inside the network: the notify tier, published.
    queue.put(invocationRecord(sshPayload('10.0.3.7', 30), 'Rate exceeded for table sentinel-state (password=hunter2)'));
    const detector = deployed();
    h.sfn.resetHistory();

    const listed = await redrive(queue, detector, undefined, { dryRun: true });
    expect(listed.items.map((i) => i.outcome)).toEqual(['listed']);
    expect(listed.items[0]?.what).toBe(
      '123456789012 /var/log/auth.log bastion-1: 30 event(s) 2026-03-03T03:12:00.000Z – 2026-03-03T03:12:29.000Z',
    );
    expect(listed.items[0]?.why).toMatch(
      /^RetriesExhausted after 3 attempt\(s\) at 2026-03-03T09:12:00.000Z: Rate exceeded for table sentinel-state/,
    );
    // A secret in the function's error message does not reach the operator's terminal.
    expect(formatRedrive(listed, true)).not.toContain('hunter2');
    expect(detector.calls).toBe(0);
    expect(queue.visible).toBe(1);

    const done = await redrive(queue, detector, undefined);
    expect(done.items.map((i) => i.outcome)).toEqual(['redriven']);
    expect(redriveFailed(done)).toBe(false);
    expect(queue.messages.size).toBe(0);
    expect(published(h)).toEqual(['ssh.internal_auth_failures 10.0.3.7']);
  });

  it('redriving a batch twice tells nothing twice (a crash between the invocation and the delete)', async () => {
    const queue = new MemoryQueue();
    const record = invocationRecord(sshPayload('10.0.3.8', 30), 'Task timed out after 60.00 seconds');
    queue.put(record);
    h.sfn.resetHistory();
    await redrive(queue, deployed(), undefined);
    const first = sentEnvelopes(h.sfn).map((m) => m.key);
    expect(first.length).toBeGreaterThan(0);
    // The delete was lost: the same record is parked again and redriven again.
    queue.put(record);
    h.sfn.resetHistory();
    const again = await redrive(queue, deployed(), undefined);
    expect(again.items.map((i) => i.outcome)).toEqual(['redriven']);
    // Answered from its receipt: the same messages (the state machine drops repeats by key), none new.
    expect(sentEnvelopes(h.sfn).map((m) => m.key)).toEqual(first);
  });

  it('keeps a batch that fails again, visible for the next run and the alarm, and says why', async () => {
    const queue = new MemoryQueue();
    queue.put(invocationRecord(sshPayload('10.0.3.9', 5), 'boom'));
    queue.put('not a record');
    // Over the queue's 256 KB, Lambda parks the record without its payload.
    const { requestPayload: _, ...withoutPayload } = invocationRecord(sshPayload('10.0.3.10', 5), 'boom');
    queue.put(withoutPayload);
    const failing: DetectorFunction = { invoke: async () => ({ ok: false, error: 'Unhandled: AccessDeniedException: not authorized' }) };
    const result = await redrive(queue, failing, undefined);
    expect(result.items.map((i) => [i.outcome, i.detail])).toEqual([
      ['failed', 'the detector failed again: Unhandled: AccessDeniedException: not authorized'],
      ['unreadable', 'left in the queue: look at it with the SQS console'],
      [
        'unreadable',
        expect.stringMatching(/^its payload is not in the record .*backtest the log groups around 2026-03-03T09:12:00.000Z instead$/),
      ],
    ]);
    expect(redriveFailed(result)).toBe(true);
    expect(queue.visible).toBe(3);
  });

  it('goes on past a batch whose invocation is refused (throttled past the SDK retries), keeping it', async () => {
    const queue = new MemoryQueue();
    queue.put(invocationRecord(sshPayload('10.0.3.11', 2), 'x'));
    queue.put(invocationRecord(sshPayload('10.0.3.12', 2), 'x'));
    let calls = 0;
    const refusing: DetectorFunction = {
      invoke: async (event) => {
        calls++;
        if (calls === 1) throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
        return deployed().invoke(event);
      },
    };
    const result = await redrive(queue, refusing, undefined);
    expect(result.items.map((i) => [i.outcome, i.detail])).toEqual([
      ['failed', 'TooManyRequestsException: Rate exceeded'],
      ['redriven', undefined],
    ]);
    expect(queue.visible).toBe(1);
  });

  it('redrives --parallel batches at once, never more, and reports them in queue order', async () => {
    const queue = new MemoryQueue();
    const base = Date.parse('2026-03-03T03:00:00Z');
    for (let i = 0; i < 7; i++) queue.put(invocationRecord(sshPayload('10.0.7.1', 1, base + i * 60_000), 'x'));
    let inFlight = 0;
    let most = 0;
    const slow: DetectorFunction = {
      invoke: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        return { ok: true, response: { eventsIn: 1 } };
      },
    };
    const result = await redrive(queue, slow, undefined, { parallel: 3 });
    expect(result.items.map((i) => i.outcome)).toEqual(Array(7).fill('redriven'));
    // In queue order (each batch's minute), whichever invocation finished first.
    expect(result.items.map((i) => i.what.match(/T03:0(\d):00/)?.[1])).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(most).toBe(3);
    expect(queue.messages.size).toBe(0);
  });

  it('stops at --max and says more are waiting', async () => {
    const queue = new MemoryQueue();
    for (let i = 0; i < 5; i++) queue.put(invocationRecord(sshPayload(`10.0.4.${i}`, 2), 'x'));
    const result = await redrive(queue, deployed(), undefined, { max: 3 });
    expect(result.items).toHaveLength(3);
    expect(result.more).toBe(true);
    expect(queue.messages.size).toBe(2);
    expect(formatRedrive(result, false)).toContain('stopped at --max: run again');
  });
});

describe('detect redrive: the hub (Kinesis batch records)', () => {
  /** A shard holding these payloads from sequence number 100, as the stream keeps them. */
  const shardOf = (payloads: SubscriptionPayload[]) => kinesisEventOf(payloads, { firstSequence: 100n }).Records;
  const streamOf = (records: KinesisEvent['Records']): StreamRecords & { reads: number } => {
    const stream = {
      reads: 0,
      async read(batch: KinesisBatchInfo) {
        stream.reads++;
        const from = BigInt(batch.startSequenceNumber);
        const to = BigInt(batch.endSequenceNumber);
        // The stream's trim horizon: records before it are gone (AT_SEQUENCE_NUMBER starts at the first kept).
        return records.filter((r) => BigInt(r.kinesis.sequenceNumber) <= to && BigInt(r.kinesis.sequenceNumber) >= from);
      },
    };
    return stream;
  };
  const batchRecord = (start: number, end: number) => ({
    requestContext: {
      requestId: 'c9b8fa9f',
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:d',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 4,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: '2026-03-03T09:30:00.000Z',
    KinesisBatchInfo: {
      shardId: 'shardId-000000000000',
      startSequenceNumber: String(start),
      endSequenceNumber: String(end),
      approximateArrivalOfFirstRecord: '2026-03-03T03:12:00.000Z',
      approximateArrivalOfLastRecord: '2026-03-03T03:13:00.000Z',
      batchSize: end - start + 1,
      streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/sentinel-hub',
    },
  });

  it('reads the batch back from the stream and runs it through the detector: the alerts it held are told', async () => {
    const records = shardOf([sshPayload('10.0.5.1', 2), sshPayload('10.0.5.2', 30), sshPayload('10.0.5.3', 30), sshPayload('10.0.5.4', 2)]);
    const queue = new MemoryQueue();
    queue.put(batchRecord(101, 102));
    h.sfn.resetHistory();
    const result = await redrive(queue, deployed(), streamOf(records));
    expect(result.items.map((i) => [i.outcome, i.what])).toEqual([
      [
        'redriven',
        'hub stream shardId-000000000000 101–102: 2 record(s) arrived from 2026-03-03T03:12:00.000Z (60 event(s) of 123456789012 /var/log/auth.log)',
      ],
    ]);
    expect(queue.messages.size).toBe(0);
    // The two payloads of the batch, not their neighbours in the shard.
    expect(published(h).sort()).toEqual(['ssh.internal_auth_failures 10.0.5.2', 'ssh.internal_auth_failures 10.0.5.3']);
  });

  it('keeps a batch the stream no longer holds in full (past its retention), redriving what is left; --drop-lost takes it out', async () => {
    // The stream has trimmed everything before 203.
    const records = shardOf([
      sshPayload('10.0.6.1', 2),
      sshPayload('10.0.6.2', 2),
      sshPayload('10.0.6.3', 2),
      sshPayload('10.0.6.4', 2),
    ]).map((r, i) => ({ ...r, kinesis: { ...r.kinesis, sequenceNumber: String(200 + i) } }));
    const held = records.filter((r) => BigInt(r.kinesis.sequenceNumber) >= 203n);
    const queue = new MemoryQueue();
    queue.put(batchRecord(201, 203));
    const detector = deployed();
    // A dry run reads the stream too (reading takes nothing from it): it already says what is lost.
    const listed = await redrive(queue, detector, streamOf(held), { dryRun: true });
    expect(listed.items.map((i) => [i.outcome, i.detail])).toEqual([
      ['listed', 'the stream no longer holds 2 of its records (past its retention)'],
    ]);
    expect(detector.calls).toBe(0);
    const kept = await redrive(queue, detector, streamOf(held));
    expect(kept.items.map((i) => [i.outcome, i.detail])).toEqual([
      ['lost', 'the stream no longer holds 2 of its records (past its retention); the 1 it holds were redriven'],
    ]);
    expect(detector.calls).toBe(1);
    expect(queue.visible).toBe(1);
    expect(redriveFailed(kept)).toBe(true);
    const dropped = await redrive(queue, detector, streamOf([]), { dropLost: true });
    expect(dropped.items.map((i) => i.outcome)).toEqual(['dropped']);
    expect(queue.messages.size).toBe(0);
  });
});

describe('detect redrive: the AWS adapters', () => {
  it('SQS: receives with a long visibility, deletes what was decided and releases the rest at once', async () => {
    const sqs = mockClient(SQSClient);
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [{ MessageId: 'a', ReceiptHandle: 'rh-a', Body: '{}' }] })
      .resolves({});
    const queue = new SqsFailureQueue('https://sqs.us-east-1.amazonaws.com/123456789012/failed', new SQSClient({ region: 'us-east-1' }));
    expect(await queue.receive(10)).toEqual([{ id: 'a', receiptHandle: 'rh-a', body: '{}' }]);
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toMatchObject({ MaxNumberOfMessages: 10, VisibilityTimeout: 900 });
    await queue.remove({ id: 'a', receiptHandle: 'rh-a', body: '{}' });
    await queue.release({ id: 'a', receiptHandle: 'rh-a', body: '{}' });
    expect(sqs.commandCalls(DeleteMessageCommand)[0]?.args[0].input.ReceiptHandle).toBe('rh-a');
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toMatchObject({
      ReceiptHandle: 'rh-a',
      VisibilityTimeout: 0,
    });
    sqs.restore();
  });

  it('Lambda: a synchronous invocation; a function error is a failure with its message', async () => {
    const lambda = mockClient(LambdaClient);
    lambda
      .on(InvokeCommand)
      .resolvesOnce({ StatusCode: 200, Payload: blob('{"eventsIn":3}') })
      .resolvesOnce({ StatusCode: 200, FunctionError: 'Unhandled', Payload: blob('{"errorMessage":"Rate exceeded"}') });
    const fn = new LambdaDetector('sentinel-detector', new LambdaClient({ region: 'us-east-1' }));
    expect(await fn.invoke({ a: 1 })).toEqual({ ok: true, response: { eventsIn: 3 } });
    expect(await fn.invoke({ a: 1 })).toEqual({ ok: false, error: 'Unhandled: Rate exceeded' });
    expect(lambda.commandCalls(InvokeCommand)[0]?.args[0].input).toMatchObject({
      FunctionName: 'sentinel-detector',
      InvocationType: 'RequestResponse',
    });
    lambda.restore();
  });

  it('Kinesis: reads from the first sequence number page by page and stops past the last; a trimmed start reads nothing', async () => {
    const kinesis = mockClient(KinesisClient);
    const rec = (seq: number) => ({
      SequenceNumber: String(seq),
      Data: blob(`d${seq}`),
      PartitionKey: 'p',
      ApproximateArrivalTimestamp: new Date(1_000_000),
    });
    kinesis
      .on(GetShardIteratorCommand)
      .resolvesOnce({ ShardIterator: 'it-1' })
      .rejectsOnce(Object.assign(new Error('trimmed'), { name: 'InvalidArgumentException' }));
    kinesis
      .on(GetRecordsCommand, { ShardIterator: 'it-1' })
      .resolves({ Records: [rec(5), rec(6)], NextShardIterator: 'it-2', MillisBehindLatest: 1000 })
      .on(GetRecordsCommand, { ShardIterator: 'it-2' })
      .resolves({ Records: [], NextShardIterator: 'it-3', MillisBehindLatest: 500 })
      .on(GetRecordsCommand, { ShardIterator: 'it-3' })
      .resolves({ Records: [rec(7), rec(8)], NextShardIterator: 'it-4', MillisBehindLatest: 0 });
    const reader = new KinesisStreamRecords(new KinesisClient({ region: 'us-east-1' }));
    const batch = {
      shardId: 'shardId-1',
      startSequenceNumber: '5',
      endSequenceNumber: '7',
      batchSize: 3,
      streamArn: 'arn:aws:kinesis:us-east-1:1:stream/s',
    };
    const records = await reader.read(batch);
    expect(records.map((r) => [r.kinesis.sequenceNumber, Buffer.from(r.kinesis.data, 'base64').toString()])).toEqual([
      ['5', 'd5'],
      ['6', 'd6'],
      ['7', 'd7'],
    ]);
    expect(records[0]).toMatchObject({
      eventSource: 'aws:kinesis',
      eventID: 'shardId-1:5',
      kinesis: { partitionKey: 'p', approximateArrivalTimestamp: 1000 },
    });
    expect(kinesis.commandCalls(GetShardIteratorCommand)[0]?.args[0].input).toMatchObject({
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      StartingSequenceNumber: '5',
    });
    expect(await reader.read(batch)).toEqual([]);
    kinesis.restore();
  });
});
