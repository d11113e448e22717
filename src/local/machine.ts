import type { StateMachineDefinition } from 'aws-local-stepfunctions';

/** The account and Region the local state machine pretends to run in. */
export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';

export interface SynthesizedMachine {
  /** The state machine definition exactly as synthesized, with resource references made concrete. */
  definition: StateMachineDefinition;
  /** Placeholder topic ARN → tier. */
  topicTiers: Map<string, string>;
  tableName: string;
}
