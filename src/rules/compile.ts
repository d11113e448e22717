import { globToRegExp } from '../parse/glob';
import type { DetectionRule } from '../schema/rule';
import { DistinctMembers } from './distinct-members';
import { type IndexKey, indexKeys, RuleIndex } from './rule-index';
import { compileSelection, type Predicate } from './selection';

export type RuleKind = 'event' | 'threshold' | 'distinct' | 'sequence' | 'newTerm' | 'spike' | 'absence';

export interface CompiledStep {
  name: string;
  predicate: Predicate;
  count: number;
}

export interface CompiledRule {
  rule: DetectionRule;
  kind: RuleKind;
  predicate: Predicate;
  /** Conditions the rule cannot match without (src/rules/rule-index.ts); undefined: it runs on every event. */
  indexKeys: IndexKey[] | undefined;
  steps: CompiledStep[];
  /** A distinct rule's reader of the values it counts. */
  distinctMembers: DistinctMembers | undefined;
  logGroups: RegExp[] | undefined;
}

export function ruleKind(rule: DetectionRule): RuleKind {
  if (rule.threshold) return 'threshold';
  if (rule.distinct) return 'distinct';
  if (rule.sequence) return 'sequence';
  if (rule.newTerm) return 'newTerm';
  if (rule.spike) return 'spike';
  if (rule.absence) return 'absence';
  return 'event';
}

export function compileRule(rule: DetectionRule): CompiledRule {
  const selection = compileSelection(rule.match, ['match']);
  const steps = (rule.sequence?.steps ?? []).map((s, i) => ({
    name: s.name,
    predicate: compileSelection(s.match, ['sequence', 'steps', i, 'match']).predicate,
    count: s.count,
  }));
  return {
    rule,
    kind: ruleKind(rule),
    predicate: selection.predicate,
    indexKeys: indexKeys(rule.match),
    steps,
    distinctMembers: rule.distinct ? new DistinctMembers(rule.distinct.field) : undefined,
    logGroups: rule.logGroups?.map(globToRegExp),
  };
}

/** Compiles a pack once and hands out per-log-group indexes. */
export class CompiledRuleSet {
  readonly rules: CompiledRule[];
  private readonly perLogGroup = new Map<string, RuleIndex>();

  /** `plain`: evaluate every rule on every event, no index (the reference for tests and the benchmark). */
  constructor(
    rules: readonly DetectionRule[],
    private readonly plain = false,
  ) {
    this.rules = rules.filter((r) => !r.disabled).map(compileRule);
  }

  indexFor(logGroup: string): RuleIndex {
    let index = this.perLogGroup.get(logGroup);
    if (!index) {
      index = new RuleIndex(
        this.rules.filter((r) => !r.logGroups || r.logGroups.some((g) => g.test(logGroup))),
        this.plain,
      );
      if (this.perLogGroup.size > 10_000) this.perLogGroup.clear();
      this.perLogGroup.set(logGroup, index);
    }
    return index;
  }
}
