import type { CompiledRule } from '../../rules/compile';
import { CoreFields, ENTITY_FIELDS, eventTime, type NormalizedEvent } from '../../schema/event';
import { boundedValue } from '../bounded-value';
import { eventEntityAccount, scopedKey } from '../entity-scope';
import type { QualifiedGroup } from './evaluator';
import { push } from './grouping';

/** Stateless: every matching event qualifies (no intensity: counting within a batch would depend on how events were batched). */
export function eventRule(rule: CompiledRule, events: NormalizedEvent[]): QualifiedGroup[] {
  const groups = new Map<string, NormalizedEvent[]>();
  const entityField = new Map<string, string>();
  for (const e of events) {
    const field = rule.rule.entity ?? ENTITY_FIELDS.find((f) => e[f] !== undefined) ?? CoreFields.logGroup;
    const key = scopedKey(`${field}=${boundedValue(String(e[field] ?? ''))}`, eventEntityAccount(e, field));
    entityField.set(key, field);
    push(groups, key, e);
  }
  return [...groups].map(([key, list]) => ({
    key,
    list,
    entityField: entityField.get(key) ?? CoreFields.logGroup,
    forward: true,
    qualifiers: list.map((e, index) => ({ index, from: index, count: 0, windowStart: eventTime(e) })),
  }));
}
