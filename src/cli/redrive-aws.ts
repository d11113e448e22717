import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { KinesisEvent } from '../decode/kinesis';
import { type AwsProfile, clientConfig } from './aws-profile';
import type { DetectorFunction, FailureQueue, KinesisBatchInfo, ParkedMessage, StreamRecords } from './redrive';

/** The AWS side of `detect redrive` (src/cli/redrive.ts): the failure queue, the detector function, the hub's stream. */

/** How long a received message stays hidden while its batch is redriven (a hub batch may take several invocations). */
const VISIBILITY_SECONDS = 15 * 60;

export class SqsFailureQueue implements FailureQueue {
  constructor(
    private readonly url: string,
    private readonly sqs: SQSClient,
  ) {}

  static of(url: string, opts: AwsProfile): SqsFailureQueue {
    return new SqsFailureQueue(url, new SQSClient(clientConfig(opts)));
  }

  async receive(max: number): Promise<ParkedMessage[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.url,
        MaxNumberOfMessages: max,
        VisibilityTimeout: VISIBILITY_SECONDS,
        WaitTimeSeconds: 1,
      }),
    );
    return (out.Messages ?? []).flatMap((m) =>
      m.MessageId && m.ReceiptHandle && m.Body !== undefined ? [{ id: m.MessageId, receiptHandle: m.ReceiptHandle, body: m.Body }] : [],
    );
  }

  async remove(message: ParkedMessage): Promise<void> {
    await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: message.receiptHandle }));
  }

  async release(message: ParkedMessage): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: this.url, ReceiptHandle: message.receiptHandle, VisibilityTimeout: 0 }),
    );
  }
}

export class LambdaDetector implements DetectorFunction {
  constructor(
    private readonly functionName: string,
    private readonly lambda: LambdaClient,
  ) {}

  static of(functionName: string, opts: AwsProfile): LambdaDetector {
    // A batch can take the function's whole timeout (a minute): the SDK must wait as long.
    return new LambdaDetector(functionName, new LambdaClient({ ...clientConfig(opts), requestHandler: { requestTimeout: 120_000 } }));
  }

  async invoke(event: unknown): Promise<{ ok: true; response: unknown } | { ok: false; error: string }> {
    const out = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(JSON.stringify(event)),
      }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    let response: unknown;
    try {
      response = text === '' ? undefined : JSON.parse(text);
    } catch {
      response = text;
    }
    if (out.FunctionError) {
      const message =
        typeof response === 'object' && response !== null && 'errorMessage' in response && typeof response.errorMessage === 'string'
          ? response.errorMessage
          : text;
      return { ok: false, error: `${out.FunctionError}: ${message}` };
    }
    return { ok: true, response };
  }
}

export class KinesisStreamRecords implements StreamRecords {
  constructor(private readonly kinesis: KinesisClient) {}

  static of(opts: AwsProfile): KinesisStreamRecords {
    return new KinesisStreamRecords(new KinesisClient(clientConfig(opts)));
  }

  async read(batch: KinesisBatchInfo): Promise<KinesisEvent['Records']> {
    const end = BigInt(batch.endSequenceNumber);
    let iterator: string | undefined;
    try {
      const out = await this.kinesis.send(
        new GetShardIteratorCommand({
          StreamARN: batch.streamArn,
          ShardId: batch.shardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          StartingSequenceNumber: batch.startSequenceNumber,
        }),
      );
      iterator = out.ShardIterator;
    } catch (err) {
      // A sequence number past the stream's retention: nothing of the batch is left.
      if (err instanceof Error && (err.name === 'InvalidArgumentException' || err.name === 'ResourceNotFoundException')) return [];
      throw err;
    }
    const records: KinesisEvent['Records'] = [];
    while (iterator) {
      const out = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      for (const r of out.Records ?? []) {
        if (!r.SequenceNumber || !r.Data) continue;
        if (BigInt(r.SequenceNumber) > end) return records;
        records.push({
          eventSource: 'aws:kinesis',
          eventID: `${batch.shardId}:${r.SequenceNumber}`,
          kinesis: {
            data: Buffer.from(r.Data).toString('base64'),
            sequenceNumber: r.SequenceNumber,
            ...(r.PartitionKey ? { partitionKey: r.PartitionKey } : {}),
            ...(r.ApproximateArrivalTimestamp ? { approximateArrivalTimestamp: r.ApproximateArrivalTimestamp.getTime() / 1000 } : {}),
          },
        });
      }
      // Caught up with the shard (or it was closed): nothing further can be in the batch.
      if ((out.Records ?? []).length === 0 && (out.MillisBehindLatest ?? 0) === 0) return records;
      iterator = out.NextShardIterator;
    }
    return records;
  }
}
