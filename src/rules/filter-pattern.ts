import { globToRegExp } from '../parse/glob';
import type { DetectionRule, SourceDefinition } from '../schema/rule';
import { type FieldOrigins, groupOrigins, type OwnText } from './filter-origins';
import { ANY_DIGIT, ANY_RUN, isWeakText, minimalTexts, renderText, textLength, textOf, withoutFirst, withoutLast } from './filter-text';
import { type NumericRange, selectionRanges } from './ranges';
import { asNumber, isPlainObject, normalizeForEquality } from './selection';
import { longestLiteral } from './wildcard';

/** CloudWatch Logs limits a filter pattern to 1,024 characters. */
const MAX_PATTERN = 1024;

export interface CompiledFilter {
  /** The subscription filter pattern; '' means every event is delivered. */
  pattern: string;
  /** Why the pattern is what it is (shown by synth and the README). */
  reason: string;
}

/**
 * The ways to let every line the selection matches through: sets of texts one of which each such
 * line holds (a value, a needle, a derivation's marker). An AND offers one per condition that has
 * texts; an `any` one set, the cheapest of each branch together, if every branch has one; `not`
 * none. Empty when there is no way.
 */
function selectionOptions(selection: unknown, origins: FieldOrigins): string[][] {
  if (!isPlainObject(selection)) return [];
  const options: string[][] = [];
  for (const [key, value] of Object.entries(selection)) {
    if (key === 'not') continue;
    if (key === 'all' || key === 'any') {
      if (!Array.isArray(value)) continue;
      const branches = value.map((b) => selectionOptions(b, origins));
      if (key === 'all') options.push(...branches.flat());
      else if (branches.every((b) => b.length > 0)) options.push(branches.flatMap((b) => cheapest(b, new Set())));
      continue;
    }
    const texts = conditionTexts(key, value, origins);
    if (texts) options.push(texts);
  }
  // A field's comparisons together (conditionTexts gives a single one none).
  for (const [field, range] of selectionRanges(selection)) {
    const texts = rangeTexts(field, range, origins);
    if (texts) options.push(texts);
  }
  return options;
}

/** The option adding the fewest characters to a pattern already holding `chosen`. */
function cheapest(options: readonly string[][], chosen: ReadonlySet<string>): string[] {
  let best: string[] = [];
  let bestCost = Number.POSITIVE_INFINITY;
  for (const option of options) {
    const cost = option.reduce((n, t) => n + (chosen.has(t) ? 0 : renderText(t).length + 1), 0);
    if (cost < bestCost) {
      best = option;
      bestCost = cost;
    }
  }
  return best;
}

/**
 * A range that is one decimal block — 500–599, 4000–4999 — as its leading digits and a digit per
 * place (`5[0-9][0-9]`): a number in it written in decimal holds them. Other ranges give none, and
 * so do bounds that are not integers (a number just above 499.5 is not in 500–599).
 */
function rangeTexts(field: string, range: NumericRange, origins: FieldOrigins): string[] | undefined {
  if (!Number.isInteger(range.low) || !Number.isInteger(range.high)) return undefined;
  // Integer bounds: `gt 499` is 500 on; `lt 600` is 599 down (a number below the next integer, 599.5, still holds the block's digits).
  const low = range.lowInclusive ? range.low : range.low + 1;
  const high = range.highInclusive ? range.high : range.high - 1;
  if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || low <= 0) return undefined;
  let places = 0;
  for (let unit = 10; low % unit === 0 && low + unit - 1 <= high; unit *= 10) {
    if (low + unit - 1 === high) places = Math.log10(unit);
  }
  if (places === 0) return undefined;
  const text = String(low / 10 ** places) + ANY_DIGIT.repeat(places);
  return origins.textsFor(field, [{ text }], (v) => {
    const n = asNumber(v);
    return n !== undefined && n >= low && n <= high + 1;
  });
}

/** The texts for one `field|modifiers: value` condition (see selection.ts), or undefined. */
function conditionTexts(key: string, value: unknown, origins: FieldOrigins): string[] | undefined {
  const [field = '', ...mods] = key.split('|');
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return undefined;
  const op = mods.find((m) => m !== 'all' && m !== 'cased');
  const all = mods.includes('all');
  let own: string[];
  let wanted: (v: string) => boolean;
  if (op === undefined) {
    own = [...new Set(list.map((v) => normalizeForEquality(v)))];
    if (all && own.length > 1) return undefined; // never true; the validator says so
    wanted = (v) => own.includes(v);
  } else if (op === 'contains' || op === 'startswith' || op === 'endswith' || op === 'wildcard') {
    const needles = list.map((v) => (op === 'wildcard' ? longestLiteral(String(v)) : String(v).toLowerCase()));
    if (needles.some((n) => n === '')) return undefined;
    // The value goes on after the needle, where `İ` lower-cases to `i` and a combining dot: a
    // needle's last `i` may be an `İ` in the line.
    const open = op === 'endswith' ? needles : needles.map((n) => (n.endsWith('i') ? n.slice(0, -1) : n));
    // With |all every needle is in the value: the one with the best text is enough.
    own = all ? open.slice(0, 1) : open;
    if (all) for (const n of open) if ((textOf(n)?.length ?? 0) > (textOf(own[0] ?? '')?.length ?? 0)) own = [n];
    wanted = (v) => needles.some((n) => v.includes(n));
  } else {
    return undefined; // regexes, ranges, CIDRs, presence, field references: no text the line must hold
  }
  const texts: OwnText[] = [];
  for (const value of own) {
    const text = textOf(value);
    if (text === undefined) return undefined;
    // An equality's value is the whole value; a needle is a part of one.
    texts.push(op === undefined ? { text, value } : { text });
  }
  return origins.textsFor(field, texts, wanted);
}

/**
 * Compiles the subscription filter for one log group: one regex, the OR of the texts each rule
 * that applies to the group needs in a line it matches (`%[Rr][Oo][Oo][Tt]|22%`), so CloudWatch
 * drops events no rule can match before Lambda is invoked. A rule with no such texts (every
 * condition is negated, a pattern, a range, or a value the group's source may compute on any
 * line) forces the fallback: deliver everything. So does a pattern that cannot be brought under
 * the 1,024-character limit.
 */
export function compileFilterPattern(
  logGroup: string,
  rules: readonly DetectionRule[],
  sources: readonly SourceDefinition[],
): CompiledFilter {
  // A rule with `filterTerms: none` reads what the others deliver: it adds no terms.
  const applicable = rules.filter(
    (r) => !r.disabled && r.filterTerms !== 'none' && (!r.logGroups || r.logGroups.some((g) => globToRegExp(g).test(logGroup))),
  );
  if (applicable.length === 0) return { pattern: '', reason: 'no rule applies to this log group' };
  const origins = groupOrigins(logGroup, sources);
  const options: string[][][] = [];
  for (const rule of applicable) {
    const ruleOptions = selectionOptions(rule.match, origins);
    if (ruleOptions.length === 0) return { pattern: '', reason: `rule ${rule.id} has no literal term` };
    options.push(ruleOptions);
  }
  const pattern = fittedPattern(chooseTexts(options));
  if (pattern === undefined) return { pattern: '', reason: `compiled pattern exceeds ${MAX_PATTERN} characters` };
  return { pattern, reason: `${applicable.length} rule(s), ${pattern.split('|').length} literal term(s)` };
}

/**
 * One option per rule, so that together they make a short pattern: each rule's cheapest given the
 * others' (a text two rules share is paid once), settled over a few rounds.
 */
function chooseTexts(options: readonly string[][][]): string[] {
  let chosen = options.map((o) => cheapest(o, new Set()));
  for (let round = 0; round < 3; round++) {
    chosen = chosen.map((_, i) => {
      const others = new Set(chosen.flatMap((c, j) => (j === i ? [] : c)));
      return cheapest(options[i] ?? [], others);
    });
  }
  return [...new Set(chosen.flat())];
}

/**
 * One regex passing a line that holds any of the texts, within the length limit: a text holding
 * another is dropped (the other passes its lines), and while that is not enough the longest text
 * is cut by a character — passing more lines, never fewer — none below six characters while
 * another can be cut, then five, down to two. Undefined when texts that short are still too many.
 */
function fittedPattern(literals: readonly string[]): string | undefined {
  let texts = minimalTexts(literals);
  // Rendered lengths, remembered: the loop asks for each text's hundreds of times.
  const rendered = new Map<string, number>();
  const width = (t: string) => {
    let n = rendered.get(t);
    if (n === undefined) {
      n = renderText(t).length;
      rendered.set(t, n);
    }
    return n;
  };
  const length = () => texts.reduce((n, t) => n + width(t) + 1, 1);
  for (const floor of [6, 5, 4, 3, 2]) {
    while (length() > MAX_PATTERN) {
      let longest = -1;
      let cut: string | undefined;
      texts.forEach((t, i) => {
        if (longest !== -1 && width(t) <= width(texts[longest] ?? '')) return;
        const shorter = shorterText(t, floor);
        if (shorter !== undefined) {
          longest = i;
          cut = shorter;
        }
      });
      if (cut === undefined) break;
      texts = withReplaced(texts, longest, cut);
    }
  }
  return length() > MAX_PATTERN ? undefined : `%${texts.map(renderText).join('|')}%`;
}

/**
 * Minimal sorted texts with the one at `index` replaced by `shorter` (which every line holding it
 * holds), kept minimal and sorted as minimalTexts leaves them: dropped if another text is part of
 * it, else the texts it is part of go. One pass instead of minimalTexts' pairs.
 */
function withReplaced(texts: readonly string[], index: number, shorter: string): string[] {
  const others = texts.filter((_, i) => i !== index);
  if (others.some((t) => shorter.includes(t))) return others;
  const kept = others.filter((t) => !t.includes(shorter));
  kept.push(shorter);
  return kept.sort();
}

/**
 * A text one character shorter (no shorter than `floor`) that every line holding the text holds,
 * or undefined. A plain text loses its last character, but digits are not cut (held by most lines
 * already). A key-then-value text loses its key's first character; at the floor, its value if that
 * is weak (the key alone: `level` rather than `50`), else its key.
 */
function shorterText(text: string, floor: number): string | undefined {
  const run = text.indexOf(ANY_RUN);
  if (run === -1) return textLength(text) > floor && !isWeakText(text) ? withoutLast(text) : undefined;
  const key = text.slice(0, run);
  const value = text.slice(run + 1);
  if (textLength(key) > floor) return `${withoutFirst(key)}${ANY_RUN}${value}`;
  return isWeakText(value) ? key : value;
}

/**
 * The pattern a subscription filter gets: compiled from the rules, or '' (every event) when the
 * deployment says `filterPatterns: all`.
 */
export function subscriptionFilterPattern(
  logGroup: string,
  rules: readonly DetectionRule[],
  sources: readonly SourceDefinition[],
  mode: 'compiled' | 'all',
): CompiledFilter {
  if (mode === 'all') return { pattern: '', reason: "filterPatterns is 'all'" };
  return compileFilterPattern(logGroup, rules, sources);
}

/**
 * Whether CloudWatch delivers a message under a compiled pattern: '' delivers everything, and
 * `%regex%` what the regex finds in the message (the compiled regexes read the same in JavaScript).
 * For measuring and testing the filter locally.
 */
export function filterPasses(pattern: string, message: string): boolean {
  if (pattern === '') return true;
  let regex = compiledRegexes.get(pattern);
  if (!regex) {
    regex = new RegExp(pattern.slice(1, -1));
    compiledRegexes.set(pattern, regex);
  }
  return regex.test(message);
}

const compiledRegexes = new Map<string, RegExp>();
