import { DescribeTableCommand, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { MemoryStateStore } from '../src/engine/memory-store';
import { type ConsumedUnits, countConsumedCapacity } from '../src/local/consumed-capacity';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';

/** What a store call costs in DynamoDB units, not calls: the figure on-demand bills (dynalite sizes items as DynamoDB does). */
let dynamo: LocalDynamo;
let units: ConsumedUnits;
beforeAll(async () => {
  dynamo = await startLocalDynamo('capacity');
  units = countConsumedCapacity(dynamo.client);
});
afterAll(async () => dynamo.close());

const put = (pk: string, bytes: number, condition?: string) =>
  dynamo.client.send(
    new PutItemCommand({
      TableName: dynamo.tableName,
      Item: { pk: { S: pk }, sk: { S: 'x' }, body: { S: 'b'.repeat(bytes) } },
      ...(condition ? { ConditionExpression: condition } : {}),
    }),
  );
const delta = async (call: () => Promise<unknown>) => {
  const before = { ...units };
  await call().catch(() => undefined);
  return { read: units.read - before.read, write: units.write - before.write, refusedWrites: units.refusedWrites - before.refusedWrites };
};

describe('consumed capacity', () => {
  it('a write costs a unit per KB of its item, a strongly consistent read a unit per 4 KB, half that eventually consistent', async () => {
    expect(await delta(() => put('small', 100))).toEqual({ read: 0, write: 1, refusedWrites: 0 });
    expect(await delta(() => put('large', 3000))).toEqual({ read: 0, write: 3, refusedWrites: 0 });
    const get = (consistent: boolean) =>
      dynamo.client.send(
        new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 'large' }, sk: { S: 'x' } }, ConsistentRead: consistent }),
      );
    expect(await delta(() => get(true))).toEqual({ read: 1, write: 0, refusedWrites: 0 });
    expect(await delta(() => get(false))).toEqual({ read: 0.5, write: 0, refusedWrites: 0 });
    // A read that finds nothing is billed its minimum (dynalite reports an empty Query as nothing).
    const none = (consistent: boolean) =>
      dynamo.client.send(
        new QueryCommand({
          TableName: dynamo.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'absent' } },
          ConsistentRead: consistent,
        }),
      );
    expect(await delta(() => none(true))).toEqual({ read: 1, write: 0, refusedWrites: 0 });
    expect(await delta(() => none(false))).toEqual({ read: 0.5, write: 0, refusedWrites: 0 });
  });

  it('a refused conditional write is billed and counted as one unit; calls that take no capacity are not counted', async () => {
    expect(await delta(() => put('small', 100, 'attribute_not_exists(pk)'))).toEqual({ read: 0, write: 1, refusedWrites: 1 });
    expect(await delta(() => dynamo.client.send(new DescribeTableCommand({ TableName: dynamo.tableName })))).toEqual({
      read: 0,
      write: 0,
      refusedWrites: 0,
    });
  });

  it('a term seen again costs one write, not a refused claim and an extension; the memory store counts the calls alike', async () => {
    const store = new DynamoStateStore(dynamo.client, dynamo.tableName);
    const memory = new MemoryStateStore();
    const sighting = (owner: string, at: number, expiresAt: number) => ({
      key: 'n#auth.new_country#alice',
      term: 'NL',
      owner,
      at,
      expiresAt,
    });
    const claims = [
      sighting('e1', 1000, 5000), // new: the extension is refused, the claim made
      sighting('e2', 2000, 6000), // known, extended: one write
      sighting('e3', 1500, 5500), // known, delivered late (not extended): extension, claim and extension refused
      sighting('e1', 1000, 5000), // the first batch again (a retry): its own claim, new again
    ];
    const results: (boolean | undefined)[] = [];
    for (const c of claims) {
      const calls = { ...store.calls };
      const memoryCalls = { ...memory.calls };
      const spent = await delta(async () => {
        const [r] = await store.claimTerms([c]);
        results.push(r?.isNew);
        expect((await memory.claimTerms([c], c.at))[0]?.isNew).toBe(r?.isNew);
      });
      const made = { reads: store.calls.reads - calls.reads, writes: store.calls.writes - calls.writes };
      expect({ reads: memory.calls.reads - memoryCalls.reads, writes: memory.calls.writes - memoryCalls.writes }).toEqual(made);
      expect(spent.write).toBe(made.writes);
    }
    expect(results).toEqual([true, false, false, true]);
    // The sightings' write calls: 2, 1, 3, 2 (each a unit: small items).
    expect(memory.calls.writes).toBe(8);
  });

  it("one store call can cost several units: a sequence step's set holding its latest line", async () => {
    const store = new DynamoStateStore(dynamo.client, dynamo.tableName);
    const add = (context: string) =>
      store.addToSets([{ key: `s#rule#10.0.0.1#${context.length}`, bucket: 1, members: ['e1'], cap: 50, expiresAt: 4e12, context }]);
    expect(await delta(() => add('short line'))).toMatchObject({ write: 1 });
    const long = await delta(() => add('x'.repeat(2500)));
    expect(long.write).toBe(3);
    expect(store.calls.writes).toBe(2);
  });
});
