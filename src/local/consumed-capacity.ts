import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';

/**
 * The read and write units a DynamoDB client's calls consumed, as the service reports them
 * (`ReturnConsumedCapacity: TOTAL`, asked of every call that takes it): what on-demand bills,
 * where counting calls assumes one unit each. An item is billed by its size — a write a unit per
 * KB of the larger of the item before and after, a strongly consistent read a unit per 4 KB —
 * so a busy counter slot's batch ids or a sequence step's stored line can cost several units a
 * call. A conditional write that fails reports nothing and is still billed: counted here as one
 * unit (its item's size is not returned). A read request is billed at least a unit (half, read
 * eventually consistent) even when it finds nothing, which dynalite reports as nothing for a
 * Query: counted at that minimum. Run on dynalite, writes to the table's due-time index are not
 * reported (DynamoDB adds a unit per index write of an item that falls due).
 */
export interface ConsumedUnits {
  read: number;
  write: number;
  /** Conditional writes refused, each counted as one write unit. */
  refusedWrites: number;
}

const TAKES_CAPACITY = new Set([
  'GetItemCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
  'TransactGetItemsCommand',
  'TransactWriteItemsCommand',
]);
/** Reads of one request, billed at least the minimum of a read (see above). */
const SINGLE_READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand']);
const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);

const Capacity = z.object({ CapacityUnits: z.number().optional() });
const Output = z.object({ ConsumedCapacity: z.union([Capacity, z.array(Capacity)]).optional() });

/** Counts every later call of `client` into the returned (live) figures. */
export function countConsumedCapacity(client: DynamoDBClient): ConsumedUnits {
  const units: ConsumedUnits = { read: 0, write: 0, refusedWrites: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      if (!TAKES_CAPACITY.has(command)) return next(args);
      const input: unknown = args.input;
      const request = typeof input === 'object' && input !== null ? input : {};
      if (!Reflect.has(request, 'ReturnConsumedCapacity')) Reflect.set(request, 'ReturnConsumedCapacity', 'TOTAL');
      const least = SINGLE_READS.has(command) ? (Reflect.get(request, 'ConsistentRead') === true ? 1 : 0.5) : 0;
      const write = WRITES.has(command);
      try {
        const result = await next(args);
        const parsed = Output.safeParse(result.output);
        const reported = parsed.success ? parsed.data.ConsumedCapacity : undefined;
        const consumed = (Array.isArray(reported) ? reported : reported ? [reported] : []).reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
        if (write) units.write += consumed;
        else units.read += Math.max(consumed, least);
        return result;
      } catch (err) {
        if (write && err instanceof Error && err.name === 'ConditionalCheckFailedException') {
          units.write += 1;
          units.refusedWrites++;
        }
        throw err;
      }
    },
    { step: 'initialize', name: 'countConsumedCapacity' },
  );
  return units;
}
