import type { CompiledRule } from '../../rules/compile';
import type { NormalizedEvent } from '../../schema/event';
import { distinctRule } from './distinct';
import type { BatchContext, EvaluatedKind, Evaluator, QualifiedGroup } from './evaluator';
import { eventRule } from './event';
import { newTermRule } from './new-term';
import { sequenceRule } from './sequence';
import { spikeRule } from './spike';
import { thresholdRule } from './threshold';

export type { BatchContext, QualifiedGroup, Qualifier } from './evaluator';
export { groupBy, groupEntity, logGroupKeyed } from './grouping';

/** The evaluator of each rule kind the detector decides (an absence rule's is the sweeper's: src/engine/absence.ts). */
const EVALUATORS: Record<EvaluatedKind, Evaluator> = {
  event: eventRule,
  threshold: thresholdRule,
  distinct: distinctRule,
  sequence: sequenceRule,
  newTerm: newTermRule,
  spike: spikeRule,
};

/** Which of a rule's matched events meet its full condition, grouped per entity, with the state as of each. */
export function qualify(rule: CompiledRule, events: NormalizedEvent[], batch: BatchContext): QualifiedGroup[] | Promise<QualifiedGroup[]> {
  return rule.kind === 'absence' ? [] : EVALUATORS[rule.kind](rule, events, batch);
}
