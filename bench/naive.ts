import type { CompiledRule } from '../src/rules/compile';
import { CoreFields, eventTime, type NormalizedEvent } from '../src/schema/event';

/**
 * The naive detector the benchmark compares against: every rule's predicate on every event (no
 * index), and one state write per matching event for stateful rules (no pre-aggregation), as a
 * per-event Lambda doing `UpdateItem` for each hit would.
 */
export class NaiveDetector {
  writes = 0;
  private readonly counters = new Map<string, number>();

  constructor(private readonly rules: readonly CompiledRule[]) {}

  evaluate(events: readonly NormalizedEvent[]): number {
    let matched = 0;
    for (const event of events) {
      const group = String(event[CoreFields.logGroup] ?? '');
      for (const rule of this.rules) {
        if (rule.logGroups && !rule.logGroups.some((g) => g.test(group))) continue;
        if (!rule.predicate(event)) continue;
        matched++;
        if (rule.kind === 'event') continue;
        this.writes++;
        const key = `${rule.rule.id}#${eventTime(event)}`;
        this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
      }
    }
    return matched;
  }
}
