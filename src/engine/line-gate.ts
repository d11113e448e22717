import type { CompiledSource, Normalizer } from '../parse/normalize';
import { groupedAlternation } from '../rules/alternation';
import { compileFilterPattern } from '../rules/filter-pattern';
import type { DetectionRule, SourceDefinition } from '../schema/rule';
import { FlowRecordTest } from './flow-gate';

/**
 * Lines no rule can match, left before they are normalized: per log group, the test its compiled
 * subscription filter makes in CloudWatch (src/rules/filter-pattern.ts — the texts every line a
 * rule of the group can match holds, conservative by construction and checked against each rule's
 * own matches in test/filter-soundness.test.ts). An account-level subscription policy (one filter
 * for every group of an account), `filterPatterns: all` and a hub's member accounts deliver every
 * line; here the detector leaves the lines CloudWatch would have, which for a busy function or app
 * no rule reads is most of them: a regex test instead of parsing, normalizing and matching. The
 * rules decide the same either way (test/evaluator-equivalence.test.ts).
 *
 * The test costs a tenth of a microsecond to a microsecond a line, and compiling a group's pattern
 * tens of milliseconds, so a group is tested only while that pays: not before it has delivered
 * `compileAfter` lines to this container (a quiet group never repays the compile), and not for the
 * next PAUSE_LINES lines after PROBE_LINES tested lines of it left fewer than MIN_LEFT_SHARE of them
 * (a group whose subscription filter already dropped them, or whose lines the rules read). Which
 * lines are tested changes only the time, never what is decided.
 *
 * A group whose filter is every event (a rule with no literal term reads it, or the pattern could
 * not be brought under CloudWatch's 1,024 characters) has no test. A group read through a source's
 * flow lane has its records tested by what their values say instead (./flow-gate.ts): no text
 * tells one flow from another.
 */
export class LineGate {
  private readonly groups = new Map<string, GroupGate>();
  private readonly compileAfter: number;
  /** Per flow source, its records' test under these rules (null: every record may match). */
  private readonly flowTests = new WeakMap<CompiledSource, FlowRecordTest | null>();

  constructor(
    private readonly rules: readonly DetectionRule[],
    private readonly sources: readonly SourceDefinition[],
    options: { compileAfter?: number } = {},
  ) {
    this.compileAfter = options.compileAfter ?? 2_000;
  }

  /**
   * The test for a payload of `lines` lines of the group (a line that fails it matches no rule), or
   * undefined: every line goes on. With the normalizer, a group its source reads as flow records
   * has them tested by their values.
   */
  forPayload(logGroup: string, lines: number, normalizer?: Normalizer): LineTest | undefined {
    const group = this.group(logGroup);
    const before = group.seen;
    group.seen += lines;
    if (group.seen < this.compileAfter || before < group.pausedUntil) return undefined;
    if (group.test === undefined) group.test = this.compile(logGroup);
    const source = normalizer?.sourceFor(logGroup);
    const flows = source && this.flowTest(source);
    if (normalizer && source && flows) return new FlowLines(normalizer, logGroup, source, flows, group.test ?? undefined);
    return group.test ?? undefined;
  }

  private flowTest(source: CompiledSource): FlowRecordTest | undefined {
    if (!source.flowLane) return undefined;
    let test = this.flowTests.get(source);
    if (test === undefined) {
      test = FlowRecordTest.compile(this.rules, source) ?? null;
      this.flowTests.set(source, test);
    }
    return test ?? undefined;
  }

  /** What the test did to a payload: `tested` lines, `left` of them. */
  tested(logGroup: string, tested: number, left: number): void {
    const group = this.group(logGroup);
    group.tested += tested;
    group.left += left;
    if (group.tested < PROBE_LINES) return;
    if (group.left < group.tested * MIN_LEFT_SHARE) group.pausedUntil = group.seen + PAUSE_LINES;
    group.tested = 0;
    group.left = 0;
  }

  /** The group's test; null for none (its filter is every event), and none rather than a failed batch if compiling throws. */
  private compile(logGroup: string): PatternTest | null {
    try {
      const { pattern } = compileFilterPattern(logGroup, this.rules, this.sources);
      return pattern === '' ? null : new PatternTest(pattern);
    } catch {
      return null;
    }
  }

  private group(logGroup: string): GroupGate {
    let group = this.groups.get(logGroup);
    if (!group) {
      // An account policy delivers every group of the account: bounded as the normalizer's sources are.
      if (this.groups.size >= MAX_GROUPS) this.groups.clear();
      group = { seen: 0, test: undefined, tested: 0, left: 0, pausedUntil: 0 };
      this.groups.set(logGroup, group);
    }
    return group;
  }
}

interface GroupGate {
  /** Lines the group delivered to this container. */
  seen: number;
  /** Its compiled test; null when its filter is every event; undefined until compiled. */
  test: PatternTest | null | undefined;
  /** Lines tested and left since the last probe's verdict. */
  tested: number;
  left: number;
  /** Untested until the group has delivered this many lines. */
  pausedUntil: number;
}

const MAX_GROUPS = 10_000;
const PROBE_LINES = 1_000;
const MIN_LEFT_SHARE = 0.1;
const PAUSE_LINES = 50_000;

/**
 * One in this many of a payload's left lines (the first of them, then every this many) is still
 * normalized, for the parse statistics only, standing for itself and the left lines after it: the
 * unparsed share per log group (the blind-spot alarm) still covers the lines no rule reads.
 */
export const GATE_SAMPLE_EVERY = 32;

/** A payload's test of its lines: whether a line, which `source` reads, may match a rule. */
export interface LineTest {
  passes(line: string, source?: CompiledSource): boolean;
}

/**
 * The lines of a group read through `flowSource`'s flow lane: a record by the start of its event
 * (./flow-gate.ts), any other line by the group's filter pattern, if it has one.
 */
class FlowLines implements LineTest {
  constructor(
    private readonly normalizer: Normalizer,
    private readonly logGroup: string,
    private readonly flowSource: CompiledSource,
    private readonly flows: FlowRecordTest,
    private readonly pattern: PatternTest | undefined,
  ) {}

  passes(line: string, source?: CompiledSource): boolean {
    const start = source === this.flowSource ? this.normalizer.flowRecordStart(line, this.logGroup, source, this.flows.part) : undefined;
    if (start) return this.flows.mayMatch(start);
    return this.pattern?.passes(line) ?? true;
  }
}

/**
 * A compiled filter pattern as a test that reads a line in linear time. As one regex, a
 * key-then-value term (`status.*5[0-9][0-9]`: a JSON line's 5xx status) backtracks over the rest of
 * the line from every place the key occurs: a 250 KB line of the key repeated took 4–7 s, and any
 * client whose input an app logs can write one. Here the terms without a run are one regex (an
 * alternation of fixed texts: a few milliseconds for 250 KB), and each term with runs is its parts
 * found in order, each searched once from where the one before ended. A line holding the parts in
 * order across a line break passes here and not in CloudWatch (`.` stops at one): passing more
 * lines is safe, since the rules read every line that passes.
 */
export class PatternTest implements LineTest {
  private readonly exact: RegExp | undefined;
  private readonly anyCase: RegExp | undefined;
  private readonly runs: RegExp[][];

  constructor(pattern: string) {
    // Terms are separated by `|` alone: no rendered text holds one or a group (src/rules/filter-text.ts).
    const terms = pattern.slice(1, -1).split('|');
    const fixed = terms.filter((t) => !t.includes(RUN));
    // A term whose every letter is written in either case (`[Aa][Dd]`) is its lower-case text
    // found ignoring case, the same ASCII letters: V8 scans such an alternation with the `i` flag
    // in two thirds of the time the classes take (a Lambda function's lines: 0.41 µs against 0.64).
    const anyCase: string[] = [];
    const exact: string[] = [];
    for (const term of fixed) {
      const text = anyCaseText(term);
      if (text === undefined) exact.push(term);
      else anyCase.push(text);
    }
    // Grouped by first character (src/rules/alternation.ts): every line of a gated group is scanned.
    this.exact = exact.length > 0 ? new RegExp(groupedAlternation(exact, false)) : undefined;
    this.anyCase = anyCase.length > 0 ? new RegExp(groupedAlternation(anyCase, true), 'i') : undefined;
    this.runs = terms.filter((t) => t.includes(RUN)).map((t) => t.split(RUN).map((part) => new RegExp(part, 'g')));
  }

  passes(line: string): boolean {
    if (this.exact?.test(line) || this.anyCase?.test(line)) return true;
    for (const parts of this.runs) if (inOrder(line, parts)) return true;
    return false;
  }
}

const EITHER_CASE = /\[([A-Z])([a-z])\]/g;

/**
 * The term as lower-case text to find in any case, when each of its letters is written `[Xx]` (the
 * same letter in both cases) and no letter stands alone; otherwise undefined. Without the `u` flag
 * an ASCII letter matches ignoring case exactly its two cases (no Kelvin sign, no long s), as the
 * class does.
 */
function anyCaseText(term: string): string | undefined {
  let paired = true;
  const text = term.replace(EITHER_CASE, (_, upper: string, lower: string) => {
    if (upper.toLowerCase() !== lower) paired = false;
    return lower;
  });
  const rest = term.replace(EITHER_CASE, '').replaceAll('[0-9]', '');
  return paired && !/[A-Za-z]/.test(rest) ? text : undefined;
}

const RUN = '.*';

/** Whether the parts occur in the line one after another (each found once, from where the one before ended). */
function inOrder(line: string, parts: readonly RegExp[]): boolean {
  let from = 0;
  for (const part of parts) {
    part.lastIndex = from;
    const found = part.exec(line);
    if (!found) return false;
    from = found.index + found[0].length;
  }
  return true;
}
