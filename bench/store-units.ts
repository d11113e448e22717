/**
 * `node --import tsx bench/store-units.ts [events]`: the busy-streams workload (100-rule pack)
 * through the DynamoDB adapter on dynalite, with what its calls consumed in DynamoDB units
 * (src/local/consumed-capacity.ts) — the check on the cost model's one unit a call for this
 * workload. Not part of `npm run bench`: dynalite takes about two minutes for 100,000 events.
 */
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { Detector } from '../src/engine/detector';
import { processPayload } from '../src/engine/pipeline';
import { countConsumedCapacity } from '../src/local/consumed-capacity';
import { startLocalDynamo } from '../src/local/dynalite';
import { benchSetup } from './setup';

const setup = benchSetup(Number(process.argv[2] ?? 100_000));
const dynamo = await startLocalDynamo('store-units');
const units = countConsumedCapacity(dynamo.client);
const store = new DynamoStateStore(dynamo.client, dynamo.tableName);
const detector = new Detector({ rules: setup.rules(100) }, store);
for (const p of setup.payloads) await processPayload(p, setup.normalizer, detector);
await dynamo.close();
const per = (n: number, d: number) => (d === 0 ? 0 : n / d).toFixed(3);
process.stdout.write(
  `${JSON.stringify({
    events: setup.eventCount,
    writeCalls: store.calls.writes,
    readCalls: store.calls.reads,
    writeUnits: units.write,
    readUnits: units.read,
    refusedWrites: units.refusedWrites,
    unitsPerWrite: per(units.write, store.calls.writes),
    unitsPerRead: per(units.read, store.calls.reads),
  })}\n`,
);
