import { globToRegExp } from '../parse/glob';
import type { NormalizedEvent } from '../schema/event';
import type { DetectionRule } from '../schema/rule';
import { compileSelection, type EqualityTerm, normalizeForEquality, type Predicate } from './selection';

export type RuleKind = 'event' | 'threshold' | 'distinct' | 'sequence' | 'newTerm' | 'spike';

export interface CompiledStep {
  name: string;
  predicate: Predicate;
  count: number;
}

export interface CompiledRule {
  rule: DetectionRule;
  kind: RuleKind;
  predicate: Predicate;
  equalities: EqualityTerm[];
  steps: CompiledStep[];
  logGroups: RegExp[] | undefined;
}

export function ruleKind(rule: DetectionRule): RuleKind {
  if (rule.threshold) return 'threshold';
  if (rule.distinct) return 'distinct';
  if (rule.sequence) return 'sequence';
  if (rule.newTerm) return 'newTerm';
  if (rule.spike) return 'spike';
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
    equalities: selection.equalities,
    steps,
    logGroups: rule.logGroups?.map(globToRegExp),
  };
}

/** Fields that discriminate best come first when choosing a rule's index key. */
const INDEX_PREFERENCE = ['event.action', 'event.dataset', 'http.response.status_code', 'event.category', 'log.level', 'event.outcome'];

function indexTerm(rule: CompiledRule): EqualityTerm | undefined {
  const terms = [...rule.equalities];
  terms.sort((a, b) => {
    const pa = INDEX_PREFERENCE.indexOf(a.field);
    const pb = INDEX_PREFERENCE.indexOf(b.field);
    // Unknown (app-specific) fields are usually the most selective, then by preference, then fewer values.
    return (pa === -1 ? -1 : pa) - (pb === -1 ? -1 : pb) || a.values.length - b.values.length;
  });
  return terms[0];
}

/**
 * Rules indexed by one equality field of their selection, so an event only meets the rules that
 * could match it: cost grows with the candidates per event, not with the size of the pack.
 * One index is built per log group (rules restricted by `logGroups` are filtered once).
 */
export class RuleIndex {
  private readonly byField = new Map<string, Map<string, CompiledRule[]>>();
  private readonly unindexed: CompiledRule[] = [];
  private readonly fields: string[];

  constructor(rules: readonly CompiledRule[]) {
    for (const rule of rules) {
      const term = indexTerm(rule);
      if (!term) {
        this.unindexed.push(rule);
        continue;
      }
      let byValue = this.byField.get(term.field);
      if (!byValue) {
        byValue = new Map();
        this.byField.set(term.field, byValue);
      }
      for (const value of term.values) {
        const list = byValue.get(value);
        if (list) list.push(rule);
        else byValue.set(value, [rule]);
      }
    }
    this.fields = [...this.byField.keys()];
  }

  /**
   * Rules that match the event (each at most once). A rule whose condition throws on this event
   * is reported to `onError` and skipped for it: one hostile event never fails the batch.
   */
  match(event: NormalizedEvent, out: CompiledRule[], onError?: (rule: CompiledRule, err: unknown) => void): void {
    for (const field of this.fields) {
      const v = event[field];
      if (v === undefined) continue;
      const candidates = this.byField.get(field)?.get(normalizeForEquality(v));
      if (!candidates) continue;
      for (const rule of candidates) test(rule, event, out, onError);
    }
    for (const rule of this.unindexed) test(rule, event, out, onError);
  }

  get stats(): { indexedFields: number; unindexed: number } {
    return { indexedFields: this.fields.length, unindexed: this.unindexed.length };
  }
}

function test(rule: CompiledRule, event: NormalizedEvent, out: CompiledRule[], onError?: (rule: CompiledRule, err: unknown) => void): void {
  try {
    if (rule.predicate(event)) out.push(rule);
  } catch (err) {
    onError?.(rule, err);
  }
}

/** Compiles a pack once and hands out per-log-group indexes. */
export class CompiledRuleSet {
  readonly rules: CompiledRule[];
  private readonly perLogGroup = new Map<string, RuleIndex>();

  constructor(rules: readonly DetectionRule[]) {
    this.rules = rules.filter((r) => !r.disabled).map(compileRule);
  }

  indexFor(logGroup: string): RuleIndex {
    let index = this.perLogGroup.get(logGroup);
    if (!index) {
      index = new RuleIndex(this.rules.filter((r) => !r.logGroups || r.logGroups.some((g) => g.test(logGroup))));
      if (this.perLogGroup.size > 10_000) this.perLogGroup.clear();
      this.perLogGroup.set(logGroup, index);
    }
    return index;
  }
}
