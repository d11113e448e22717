import { MemoryStateStore } from '../engine/memory-store';
import { PassThroughSink, type CorrelationSink } from '../engine/ports';
import type { StateStore } from '../engine/state-store';
import type { RulePack } from '../rules/rule-pack';

export interface OpenedState {
  store: StateStore;
  /** Set when the store is dynalite, so correlation can share the same local DynamoDB. */
  dynamo?: unknown;
  close: () => Promise<void>;
}

export async function openStateStore(kind: 'memory' | 'dynalite'): Promise<OpenedState> {
  if (kind === 'dynalite') throw new Error('dynalite state is not available yet');
  return { store: new MemoryStateStore(), close: async () => {} };
}

export async function openCorrelationSink(pack: RulePack, dynamo: unknown): Promise<CorrelationSink> {
  void pack;
  void dynamo;
  return new PassThroughSink();
}
