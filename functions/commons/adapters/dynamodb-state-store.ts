import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type {
  BucketRange,
  CounterIncrement,
  CounterResult,
  MarkerClaim,
  SetAdd,
  StateStore,
  StoredMarker,
  TermClaim,
  TermClaimResult,
} from '../../../src/engine/state-store';
import { type Alert, AlertList } from '../../../src/schema/alert';

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;
/** Receipts above this (gzipped) are not stored: the item limit is 400 KB; the batch is re-decided instead. */
const MAX_RECEIPT_BYTES = 300_000;

/**
 * DynamoDB adapter of the StateStore port. One table, string keys `pk` / `sk`, TTL on `ttl`
 * (epoch seconds); `expms` (epoch ms) is the logical expiry every read filters on, because TTL
 * deletes lazily and expired items are still returned until then.
 *
 * Idempotency without transactions: a counter item holds, next to its count `cnt`, the set of
 * batch ids already added to it. The update `ADD cnt :d, bids :id` runs under the condition
 * `NOT contains(bids, :id)`, so a redelivered batch fails the condition and changes nothing.
 * Batch-id sets stay small because an item only lives for one bucket of one window.
 *
 * Redelivered batches: before deciding, the detector reads the batch's receipt (`r#<batchId>`),
 * which holds the alerts it decided the first time (gzipped JSON), and re-sends those.
 *
 * Hot keys: the detector pre-aggregates per batch, so one flooding IP costs one write per
 * (rule, bucket) per batch, not per event; reserved concurrency caps batches in flight, which
 * bounds writes per key far below the 1,000 WCU/s partition limit.
 */
export class DynamoStateStore implements StateStore {
  readonly calls = { reads: 0, writes: 0 };

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly concurrency = 16,
  ) {}

  private ttl(expMs: number): string {
    // Physical deletion a day after logical expiry, so late (retried) batches still find state.
    return String(Math.ceil(expMs / 1000) + 86_400);
  }

  async incrementCounters(batchId: string, increments: readonly CounterIncrement[]): Promise<CounterResult[]> {
    return mapLimit(increments, this.concurrency, async (inc) => {
      const Key = { pk: { S: inc.key }, sk: { S: bucketSk(inc.bucket) } };
      try {
        this.calls.writes++;
        const out = await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key,
            UpdateExpression: 'ADD cnt :d, bids :b SET expms = :exp, #ttl = :ttl',
            ConditionExpression: 'attribute_not_exists(bids) OR NOT contains(bids, :id)',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':d': { N: String(inc.delta) },
              ':b': { SS: [batchId] },
              ':id': { S: batchId },
              ':exp': { N: String(inc.expiresAt) },
              ':ttl': { N: this.ttl(inc.expiresAt) },
            },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        return { key: inc.key, bucket: inc.bucket, total: Number(out.Attributes?.cnt?.N ?? inc.delta), applied: true };
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        // Already applied by an earlier delivery of this batch: report the current total.
        this.calls.reads++;
        const item = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
        return { key: inc.key, bucket: inc.bucket, total: Number(item.Item?.cnt?.N ?? 0), applied: false };
      }
    });
  }

  async readCounters(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, number>>> {
    const out = new Map<string, Map<number, number>>();
    await mapLimit(ranges, this.concurrency, async (r) => {
      const found = new Map<number, number>();
      for (const item of await this.queryRange(r, 'sk, cnt, expms')) {
        if (Number(item.expms?.N ?? 0) <= now) continue;
        found.set(skBucket(item.sk?.S ?? ''), Number(item.cnt?.N ?? 0));
      }
      out.set(r.key, found);
    });
    return out;
  }

  async addToSets(adds: readonly SetAdd[]): Promise<void> {
    await mapLimit(adds, this.concurrency, async (add) => {
      if (add.members.length === 0) return;
      try {
        this.calls.writes++;
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: add.key }, sk: { S: bucketSk(add.bucket) } },
            UpdateExpression: 'ADD vals :m SET expms = :exp, #ttl = :ttl',
            ConditionExpression: 'attribute_not_exists(vals) OR size(vals) < :cap',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':m': { SS: add.members },
              ':cap': { N: String(add.cap) },
              ':exp': { N: String(add.expiresAt) },
              ':ttl': { N: this.ttl(add.expiresAt) },
            },
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err; // the set is full: the decision needs no more members
      }
    });
  }

  async readSets(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, string[]>>> {
    const out = new Map<string, Map<number, string[]>>();
    await mapLimit(ranges, this.concurrency, async (r) => {
      const found = new Map<number, string[]>();
      for (const item of await this.queryRange(r, 'sk, vals, expms')) {
        if (Number(item.expms?.N ?? 0) <= now) continue;
        found.set(skBucket(item.sk?.S ?? ''), item.vals?.SS ?? []);
      }
      out.set(r.key, found);
    });
    return out;
  }

  async claimTerms(claims: readonly TermClaim[], now: number): Promise<TermClaimResult[]> {
    const results: TermClaimResult[] = [];
    // Sequential: a later claim for the same entity must see the earlier one.
    for (const c of claims) {
      this.calls.reads++;
      const existing = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :t)',
          ExpressionAttributeValues: { ':pk': { S: c.key }, ':t': { S: 't#' } },
          ProjectionExpression: 'sk, expms',
          ConsistentRead: true,
          Limit: 20,
        }),
      );
      const hadHistory = (existing.Items ?? []).some((i) => i.sk?.S !== `t#${c.term}` && Number(i.expms?.N ?? 0) > now);
      try {
        this.calls.writes++;
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: c.key }, sk: { S: `t#${c.term}` } },
            UpdateExpression: 'SET own = :o, expms = :exp, #ttl = :ttl',
            ConditionExpression: 'attribute_not_exists(pk) OR expms <= :now OR own = :o',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':o': { S: c.owner }, ':exp': { N: String(c.expiresAt) }, ':ttl': { N: this.ttl(c.expiresAt) }, ':now': { N: String(now) } },
          }),
        );
        results.push({ isNew: true, hadHistory });
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        this.calls.writes++;
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: c.key }, sk: { S: `t#${c.term}` } },
            UpdateExpression: 'SET expms = :exp, #ttl = :ttl',
            ConditionExpression: 'expms < :exp',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':exp': { N: String(c.expiresAt) }, ':ttl': { N: this.ttl(c.expiresAt) } },
          }),
        ).catch((e: unknown) => {
          if (!isConditionFailure(e)) throw e;
        });
        results.push({ isNew: false, hadHistory });
      }
    }
    return results;
  }

  async claimMarkers(claims: readonly MarkerClaim[], now: number): Promise<boolean[]> {
    const results: boolean[] = [];
    for (const c of claims) {
      try {
        this.calls.writes++;
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: { pk: { S: c.key }, sk: { S: 'marker' }, own: { S: c.owner }, expms: { N: String(c.expiresAt) }, ttl: { N: this.ttl(c.expiresAt) } },
            ConditionExpression: 'attribute_not_exists(pk) OR expms <= :now OR own = :o',
            ExpressionAttributeValues: { ':now': { N: String(now) }, ':o': { S: c.owner } },
          }),
        );
        results.push(true);
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        results.push(false);
      }
    }
    return results;
  }

  async readMarkers(keys: readonly string[]): Promise<Map<string, StoredMarker>> {
    const out = new Map<string, StoredMarker>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
      let pending: Record<string, AttributeValue>[] = unique.slice(i, i + BATCH_GET_LIMIT).map((k) => ({ pk: { S: k }, sk: { S: 'marker' } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        if (attempt > 8) throw new Error(`marker read: ${pending.length} keys still unprocessed after ${attempt} attempts`);
        this.calls.reads++;
        const res = await this.client.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: 'pk, own, expms' } } }),
        );
        for (const item of res.Responses?.[this.tableName] ?? []) {
          const key = item.pk?.S;
          if (key !== undefined) out.set(key, { owner: item.own?.S ?? '', expiresAt: Number(item.expms?.N ?? 0) });
        }
        // Throttled keys come back unprocessed: retry them with backoff, never drop them.
        pending = res.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return out;
  }

  async readReceipt(batchId: string): Promise<Alert[] | undefined> {
    this.calls.reads++;
    const res = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: `r#${batchId}` }, sk: { S: 'receipt' } }, ConsistentRead: true }),
    );
    const body = res.Item?.alerts?.B;
    return body ? AlertList.parse(JSON.parse(gunzipSync(body).toString('utf8'))) : undefined;
  }

  async writeReceipt(batchId: string, alerts: readonly Alert[], expiresAt: number): Promise<void> {
    const body = gzipSync(JSON.stringify(alerts));
    if (body.length > MAX_RECEIPT_BYTES) return;
    this.calls.writes++;
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { pk: { S: `r#${batchId}` }, sk: { S: 'receipt' }, alerts: { B: body }, expms: { N: String(expiresAt) }, ttl: { N: this.ttl(expiresAt) } },
      }),
    );
  }

  private async queryRange(r: BucketRange, projection: string) {
    const items = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      this.calls.reads++;
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': { S: r.key }, ':from': { S: bucketSk(r.from) }, ':to': { S: bucketSk(r.to) } },
          ProjectionExpression: projection,
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}

/** Bucket sort keys are zero-padded so BETWEEN on strings orders like numbers. */
function bucketSk(bucket: number): string {
  return `b#${String(bucket).padStart(16, '0')}`;
}
function skBucket(sk: string): number {
  return Number(sk.slice(2));
}

function isConditionFailure(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException || (err instanceof Error && err.name === 'ConditionalCheckFailedException');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i];
      if (item !== undefined) results[i] = await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
