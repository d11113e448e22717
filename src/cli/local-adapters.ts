import { MemoryStateStore } from '../engine/memory-store';
import type { CorrelationSink } from '../engine/ports';
import type { StateStore } from '../engine/state-store';
import type { ConsumedUnits } from '../local/consumed-capacity';
import type { LocalDynamo } from '../local/dynalite';
import type { LocalCorrelationRunner } from '../local/state-machine-runner';
import type { RulePack } from '../rules/rule-pack';

// dynalite, the AWS SDK and the local state machine (with its ASL validator) are imported when a
// command runs the pipeline, not when the CLI starts: `detect validate` and `detect sources
// check` load none of them (about 200 modules, a second and a half of every start on a slow machine).

export interface OpenedState {
  store: StateStore;
  /** The local DynamoDB API; correlation always uses one (the state machine's table). */
  dynamo: LocalDynamo;
  /** With the DynamoDB adapter: the units its table's calls consumed (the detector's and the state machine's). */
  consumed?: ConsumedUnits;
  close: () => Promise<void>;
}

/**
 * Detector state: in memory (default) or dynalite; correlation always gets an in-process dynalite
 * table. `attributeWrites`: the memory store sums its writes per rule (`detect backtest`'s cost).
 */
export async function openStateStore(kind: 'memory' | 'dynalite', memory: { attributeWrites?: boolean } = {}): Promise<OpenedState> {
  const { startLocalDynamo } = await import('../local/dynalite');
  const dynamo = await startLocalDynamo();
  if (kind === 'memory') return { store: new MemoryStateStore(memory), dynamo, close: () => dynamo.close() };
  const consumed = (await import('../local/consumed-capacity')).countConsumedCapacity(dynamo.client);
  const { DynamoStateStore } = await import('../../functions/commons/adapters/dynamodb-state-store');
  return { store: new DynamoStateStore(dynamo.client, dynamo.tableName), dynamo, consumed, close: () => dynamo.close() };
}

/**
 * The real, synthesized correlation state machine, run locally. Its correlate task keeps its state
 * in the detector's store, as the deployed functions share one table; the state machine's own
 * DynamoDB steps (message claims) run against the dynalite table.
 */
export async function openCorrelationSink(
  pack: RulePack,
  state: Pick<OpenedState, 'store' | 'dynamo'>,
  rulesDirs: readonly string[] = ['rules'],
  pageFoldWindow?: number,
): Promise<LocalCorrelationRunner & CorrelationSink> {
  const [{ loadDefinition }, { LocalCorrelationRunner }] = await Promise.all([
    import('../local/definition-cache'),
    import('../local/state-machine-runner'),
  ]);
  return new LocalCorrelationRunner(await loadDefinition({ rulesDirs }), pack, state.dynamo.client, {
    store: state.store,
    ...(pageFoldWindow !== undefined ? { pageFoldWindow } : {}),
  });
}
