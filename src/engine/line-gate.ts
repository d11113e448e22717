import { compileFilterPattern, filterRegex } from '../rules/filter-pattern';
import type { DetectionRule, SourceDefinition } from '../schema/rule';

/**
 * Lines no rule can match, left before they are normalized: per log group, the test its compiled
 * subscription filter makes in CloudWatch (src/rules/filter-pattern.ts — the texts every line a
 * rule of the group can match holds, conservative by construction and checked against each rule's
 * own matches in test/filter-soundness.test.ts). A group subscribed with that filter delivers only
 * lines that pass, and they pass again here; an account-level subscription policy (one filter for
 * every group of an account), `filterPatterns: all` and a hub's member accounts deliver every
 * line, and here the detector leaves the same lines CloudWatch would have — most of a busy
 * account's lines, which no rule reads, cost a regex test instead of parsing, normalizing and
 * matching. The rules decide the same either way (test/line-gate.test.ts).
 *
 * A group whose filter is every event (a rule with no literal term reads it, or the pattern could
 * not be brought under CloudWatch's 1,024 characters) has no gate.
 */
export class LineGate {
  private readonly groups = new Map<string, RegExp | null>();

  constructor(
    private readonly rules: readonly DetectionRule[],
    private readonly sources: readonly SourceDefinition[],
  ) {}

  /** The group's test (a line that fails it matches no rule), or undefined when every line goes on. */
  forGroup(logGroup: string): RegExp | undefined {
    let regex = this.groups.get(logGroup);
    if (regex === undefined) {
      // An account policy delivers every group of the account: the cache is bounded as the normalizer's sources are.
      if (this.groups.size >= MAX_GROUPS) this.groups.clear();
      regex = filterRegex(compileFilterPattern(logGroup, this.rules, this.sources).pattern) ?? null;
      this.groups.set(logGroup, regex);
    }
    return regex ?? undefined;
  }
}

const MAX_GROUPS = 10_000;

/**
 * One in this many of a payload's left lines (the first of them, then every this many) is still
 * normalized, for the parse statistics only, standing for itself and the left lines after it: the
 * unparsed share per log group (the blind-spot alarm) still covers the lines no rule reads.
 */
export const GATE_SAMPLE_EVERY = 32;
