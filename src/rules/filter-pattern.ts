import { BUILTIN_SOURCES, type BuiltinSource } from '../parse/aws-sources';
import { builtinPatterns } from '../parse/builtin-parsers';
import { globToRegExp } from '../parse/glob';
import { KEYCLOAK_DERIVES, KEYCLOAK_LOGGER } from '../parse/keycloak';
import { DEFAULT_PARSERS } from '../parse/normalize';
import type { DetectionRule, SourceDefinition } from '../schema/rule';
import { compileSelection } from './selection';

/** CloudWatch Logs limits a filter pattern to 1,024 characters. */
const MAX_PATTERN = 1024;
/** Fields the normalizer computes rather than copies from the line: their values may not appear in it. */
const COMPUTED_FIELDS = new Set([
  '@timestamp',
  'event.hour_utc',
  'event.weekday_utc',
  'event.outcome',
  'url.path',
  'log.level',
  'event.dataset',
  'event.original',
  'message',
]);

export interface CompiledFilter {
  /** The subscription filter pattern; '' means every event is delivered. */
  pattern: string;
  /** Why the pattern is what it is (shown by synth and the README). */
  reason: string;
}

function sourceFor(logGroup: string, sources: readonly SourceDefinition[]): SourceDefinition['source'] | undefined {
  return sources.find((s) => s.source.logGroups.some((g) => globToRegExp(g).test(logGroup)))?.source;
}

/** Fields whose value the normalizer may set without the text appearing in the raw line. */
class DerivedFields {
  private readonly names = new Set<string>(COMPUTED_FIELDS);
  private readonly prefixes: string[] = [];
  /** Fields computed only on lines that hold a marker text: field → the marker's filter term. */
  private readonly marked = new Map<string, string>();

  add(field: string): void {
    if (field.endsWith('*')) this.prefixes.push(field.slice(0, -1));
    else this.names.add(field);
  }

  /** Fields computed only on lines holding `marker`: a rule keyed on one also lets lines with the marker through. */
  addWhenMarked(fields: readonly string[], marker: string): void {
    const term = filterTerm(marker);
    if (term === undefined) for (const f of fields) this.add(f);
    else for (const f of fields) this.marked.set(f, term);
  }

  markerTerm(field: string): string | undefined {
    return this.marked.get(field);
  }

  /** A built-in parser's constants and what its special groups compute. */
  addParser(name: string): void {
    for (const p of builtinPatterns(name)) {
      for (const f of Object.keys(p.fields)) this.add(f);
      for (const f of p.derives ?? []) this.add(f);
    }
  }

  /** A built-in AWS source: what its derive sets, and its parsers'. */
  addBuiltinSource(source: BuiltinSource): void {
    for (const f of source.derives) this.add(f);
    for (const name of source.definition.parsers) this.addParser(name);
  }

  has(field: string): boolean {
    return this.names.has(field) || this.prefixes.some((p) => field.startsWith(p));
  }
}

function derivedFields(source: SourceDefinition['source'] | undefined): DerivedFields {
  const out = new DerivedFields();
  // Keycloak's events compute their category, action and outcome (src/parse/keycloak.ts), in text
  // logging (its parser) or JSON logging (any source that takes JSON); every such line names the logger.
  if (source?.format !== 'text' || source.parsers.includes('keycloak')) out.addWhenMarked(KEYCLOAK_DERIVES, KEYCLOAK_LOGGER);
  if (!source) {
    // The default parsers, or any built-in AWS source that recognizes the group's lines by content.
    for (const name of DEFAULT_PARSERS) out.addParser(name);
    for (const b of BUILTIN_SOURCES) out.addBuiltinSource(b);
    return out;
  }
  const builtin = BUILTIN_SOURCES.find((b) => b.definition.name === source.builtin);
  if (builtin) out.addBuiltinSource(builtin);
  for (const f of Object.keys(source.valueMap)) out.add(f);
  for (const l of source.lookups) out.add(l.to);
  for (const f of Object.keys(source.fields)) out.add(f);
  for (const name of source.parsers) out.addParser(name);
  for (const p of source.customParsers) for (const f of Object.keys(p.fields)) out.add(f);
  return out;
}

/**
 * Characters a log line holds as themselves whenever a field value holds them, and a filter
 * regex can express: ASCII letters except k, digits and `_ - . : , ; = @ #`. Not `k`: the Kelvin
 * sign lower-cases to k, so a rule on `kms` matches `\u212Ams`, which no ASCII pattern finds.
 * Not `/`: JSON encoders may write `\/`. Not spaces, quotes or anything non-ASCII: the regex
 * syntax has no room for them, and encoders escape some.
 */
const SAFE_RUN = /[a-jl-zA-JL-Z0-9_\-.:,;=@#]+/g;

/**
 * The filter term for a value a rule compares case-insensitively: its longest safe run (at least
 * two characters), as a regex that matches it in any case (`Admin_1` → `[Aa][Dd][Mm][Ii][Nn]_1`);
 * undefined when no run is long enough. A line whose field equals the value holds the run
 * verbatim in some case, so the filter never drops an event the rule matches — a few fixed
 * spellings would have let `rOoT` through the rule and past the filter.
 */
export function filterTerm(value: string): string | undefined {
  let best = '';
  for (const run of value.match(SAFE_RUN) ?? []) if (run.length > best.length) best = run;
  if (best.length < 2) return undefined;
  let out = '';
  for (const ch of best) {
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    out += lower !== upper ? `[${upper}${lower}]` : ch === '.' ? '\\.' : ch;
  }
  return out;
}

/**
 * Compiles the subscription filter for one log group: one regex, the OR of a term per rule that
 * applies to the group (`%[Rr][Oo][Oo][Tt]|22%`), so CloudWatch drops events no rule can match
 * before Lambda is invoked.
 * A rule without a literal that must appear verbatim in its matching lines (every condition is
 * computed, negated or a pattern) forces the fallback: deliver everything. So do patterns over
 * the 1,024-character limit.
 */
export function compileFilterPattern(
  logGroup: string,
  rules: readonly DetectionRule[],
  sources: readonly SourceDefinition[],
): CompiledFilter {
  const applicable = rules.filter((r) => !r.disabled && (!r.logGroups || r.logGroups.some((g) => globToRegExp(g).test(logGroup))));
  if (applicable.length === 0) return { pattern: '', reason: 'no rule applies to this log group; all events delivered' };
  const derived = derivedFields(sourceFor(logGroup, sources));
  const terms = new Set<string>();
  for (const rule of applicable) {
    const equalities = compileSelection(rule.match).equalities.filter(
      (e) => !derived.has(e.field) && e.values.every((v) => filterTerm(v) !== undefined),
    );
    const best = equalities.sort((a, b) => a.values.length - b.values.length)[0];
    if (!best) return { pattern: '', reason: `rule ${rule.id} has no literal term; all events delivered` };
    for (const v of best.values) terms.add(filterTerm(v) ?? '');
    const marker = derived.markerTerm(best.field);
    if (marker) terms.add(marker);
  }
  // One regex: the event passes when any term is in it, in any case.
  const pattern = `%${[...terms].sort().join('|')}%`;
  if (pattern.length > MAX_PATTERN)
    return { pattern: '', reason: `compiled pattern is ${pattern.length} characters (limit ${MAX_PATTERN}); all events delivered` };
  return { pattern, reason: `${applicable.length} rule(s), ${terms.size} literal term(s)` };
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
  if (mode === 'all') return { pattern: '', reason: "filterPatterns is 'all'; all events delivered" };
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
