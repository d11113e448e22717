import { z } from 'zod';
import { isPlainObject } from '../rules/selection';
import { tokenizeWildcard, type WildcardToken } from '../rules/wildcard';
import { formatIssues } from '../schema/issues';
import { placeholderListName, placeholderOf } from '../schema/value-list';
import { ConditionError, type ConditionNode, expandPattern, parseCondition } from './condition';
import { findLogsource, mapField, type SigmaLogsource } from './mapping';

/**
 * Sigma → this project's rule files. Detection rules become `match:` selections (field names
 * through the logsource mapping); correlation rules become threshold (event_count), distinct
 * (value_count), sequence (temporal_ordered) or a correlation rule (temporal). Anything that
 * cannot be expressed exactly is skipped with its reason — never approximated.
 */
export interface SigmaInput {
  file: string;
  doc: unknown;
}

export interface ConvertedRule {
  file: string;
  id: string;
  sigmaId?: string;
  kind: 'rule' | 'correlation';
  /** A raw rule document (YAML-shaped), validated by the rule schemas like any rule file. */
  doc: Record<string, unknown>;
}

export interface SkippedRule {
  file: string;
  title: string;
  reason: string;
}

class Unsupported extends Error {}

/** Metadata Sigma rules and correlations share. */
const SigmaMeta = {
  title: z.string().min(1),
  id: z.string().optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  level: z.string().optional(),
  tags: z.array(z.string()).optional(),
  falsepositives: z.array(z.string()).optional(),
  references: z.array(z.string()).optional(),
};

const SigmaRule = z.looseObject({
  ...SigmaMeta,
  logsource: z.looseObject({ product: z.string().optional(), service: z.string().optional(), category: z.string().optional() }),
  detection: z.record(z.string(), z.unknown()),
});

const SigmaCorrelation = z.looseObject({
  ...SigmaMeta,
  correlation: z.looseObject({
    type: z.string(),
    rules: z.union([z.string(), z.array(z.string())]).transform((r) => (Array.isArray(r) ? r : [r])),
    'group-by': z.array(z.string()).optional(),
    timespan: z.string().regex(/^\d+[smhd]$/, 'timespan like 5m, 1h or 1d'),
    condition: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
    generate: z.boolean().optional(),
  }),
});

const LEVEL: Record<string, { severity: string; riskScore: number }> = {
  informational: { severity: 'info', riskScore: 1 },
  low: { severity: 'low', riskScore: 2 },
  medium: { severity: 'medium', riskScore: 4 },
  high: { severity: 'high', riskScore: 6 },
  critical: { severity: 'critical', riskScore: 8 },
};

export const SIGMA_RUNBOOK = 'docs/runbooks/sigma-imported.md';

/** A Sigma rule (`logsource` + `detection`) or Sigma correlation (`correlation.type` + `.rules`). */
export function isSigmaDocument(doc: unknown): boolean {
  if (!isPlainObject(doc)) return false;
  if ('detection' in doc && 'logsource' in doc) return true;
  return isPlainObject(doc.correlation) && 'type' in doc.correlation && 'rules' in doc.correlation;
}

/** Schema issues in one line: `path: message; …`. */
export function describeIssues(error: z.ZodError): string {
  return formatIssues(error, '; ');
}

export function convertSigma(
  inputs: readonly SigmaInput[],
  mapping: readonly SigmaLogsource[],
): { converted: ConvertedRule[]; skipped: SkippedRule[] } {
  const converted: ConvertedRule[] = [];
  const skipped: SkippedRule[] = [];
  const usedIds = new Set<string>();
  // Referenced by correlations through `name` or `id`.
  const byRef = new Map<string, { rule: ConvertedRule; source: SigmaLogsource }>();
  const unconverted = new Set<string>();
  const titleOf = (doc: unknown) => (isPlainObject(doc) && typeof doc.title === 'string' ? doc.title : '(untitled)');

  const correlations: SigmaInput[] = [];
  for (const input of inputs) {
    if (isPlainObject(input.doc) && 'correlation' in input.doc) {
      correlations.push(input);
      continue;
    }
    const parsed = SigmaRule.safeParse(input.doc);
    if (!parsed.success) {
      skipped.push({ file: input.file, title: titleOf(input.doc), reason: `not a Sigma rule: ${describeIssues(parsed.error)}` });
      continue;
    }
    const sigma = parsed.data;
    try {
      if ('action' in sigma) throw new Unsupported(`multi-document 'action: ${String(sigma.action)}' rules are not supported`);
      const source = findLogsource(mapping, sigma.logsource);
      if (!source) throw new Unsupported(`no field mapping for logsource ${JSON.stringify(sigma.logsource)}`);
      const detection = convertDetection(sigma.detection, source);
      const match = source.conditions ? mergeAll([source.conditions, detection]) : detection;
      const id = uniqueId(usedIds, sigma.name ?? sigma.title);
      const rule: ConvertedRule = {
        file: input.file,
        id,
        sigmaId: sigma.id,
        kind: 'rule',
        doc: { ...common(sigma, id), ...(source.logGroups ? { logGroups: source.logGroups } : {}), match },
      };
      converted.push(rule);
      for (const ref of [sigma.name, sigma.id]) if (ref) byRef.set(ref, { rule, source });
    } catch (err) {
      if (!(err instanceof Unsupported || err instanceof ConditionError)) throw err;
      skipped.push({ file: input.file, title: sigma.title, reason: err.message });
      for (const ref of [sigma.name, sigma.id]) if (ref) unconverted.add(ref);
    }
  }

  for (const input of correlations) {
    const parsed = SigmaCorrelation.safeParse(input.doc);
    if (!parsed.success) {
      skipped.push({ file: input.file, title: titleOf(input.doc), reason: `not a Sigma correlation: ${describeIssues(parsed.error)}` });
      continue;
    }
    const sigma = parsed.data;
    try {
      const members = sigma.correlation.rules.map((ref) => {
        const found = byRef.get(ref);
        if (!found)
          throw new Unsupported(
            unconverted.has(ref) ? `references rule '${ref}', which was skipped` : `references rule '${ref}', which is not in the input`,
          );
        return found;
      });
      const id = uniqueId(usedIds, sigma.name ?? sigma.title);
      const doc = convertCorrelation(sigma, id, members);
      converted.push({ file: input.file, id, sigmaId: sigma.id, kind: 'correlation' in doc ? 'correlation' : 'rule', doc });
      // Sigma's default (generate: false): the referenced rules feed the correlation but do not alert themselves.
      if (!sigma.correlation.generate && sigma.correlation.type !== 'temporal') for (const m of members) m.rule.doc.disabled = true;
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      skipped.push({ file: input.file, title: sigma.title, reason: err.message });
    }
  }
  return { converted, skipped };
}

function common(sigma: z.infer<typeof SigmaRule> | z.infer<typeof SigmaCorrelation>, id: string): Record<string, unknown> {
  const level = LEVEL[(sigma.level ?? 'medium').toLowerCase()];
  if (!level) throw new Unsupported(`unknown level '${sigma.level}'`);
  const tags = (sigma.tags ?? []).map((t) => t.toLowerCase().replace(/[^a-z0-9_.-]/g, '_'));
  return {
    id,
    title: sigma.title.slice(0, 200),
    description: sigma.description ?? sigma.title,
    severity: level.severity,
    riskScore: level.riskScore,
    tags: [...new Set(['sigma', ...tags])],
    runbook: SIGMA_RUNBOOK,
    falsePositives: sigma.falsepositives ?? [],
    references: [...(sigma.references ?? []), ...(sigma.id ? [`sigma:${sigma.id}`] : [])],
  };
}

function uniqueId(used: Set<string>, name: string): string {
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 60) || 'rule';
  let id = `sigma.${slug}`;
  for (let n = 2; used.has(id); n++) id = `sigma.${slug}_${n}`;
  used.add(id);
  return id;
}

// ---------------------------------------------------------------- detection → selection

type Selection = Record<string, unknown>;

export function convertDetection(detection: Record<string, unknown>, source: SigmaLogsource): Selection {
  const condition = detection.condition;
  if ('timeframe' in detection) throw new Unsupported("'timeframe' in detection is not supported; write a Sigma correlation rule instead");
  if (Array.isArray(condition)) throw new Unsupported('a list of conditions is not supported (write one condition with or)');
  if (typeof condition !== 'string') throw new Unsupported('detection has no condition');
  const names = Object.keys(detection).filter((k) => k !== 'condition');
  const selections = new Map(names.map((n) => [n, detection[n]]));
  const tree = parseCondition(condition);
  const build = (node: ConditionNode): Selection => {
    switch (node.type) {
      case 'ref': {
        if (!selections.has(node.name)) throw new Unsupported(`condition names '${node.name}', which is not a selection`);
        return convertSelection(selections.get(node.name), source, node.name);
      }
      case 'and':
        return mergeAll(node.items.map(build));
      case 'or':
        return { any: node.items.map(build) };
      case 'not':
        return { not: build(node.item) };
      case 'of': {
        const matched = expandPattern(node.pattern, names);
        if (matched.length === 0) throw new Unsupported(`'${node.pattern}' matches no selection`);
        const parts = matched.map((n) => convertSelection(selections.get(n), source, n));
        if (parts.length === 1) return parts[0] as Selection;
        return node.quantifier === 'all' ? mergeAll(parts) : { any: parts };
      }
    }
  };
  return build(tree);
}

function convertSelection(value: unknown, source: SigmaLogsource, name: string): Selection {
  if (Array.isArray(value)) {
    const maps = value.filter(isPlainObject);
    if (maps.length === value.length) return { any: maps.map((v) => convertMap(v, source, name)) };
    if (value.every((v) => typeof v === 'string' || typeof v === 'number')) return keywords(value.map(String), source.keywordField, false);
    throw new Unsupported(`selection '${name}' mixes maps and keywords`);
  }
  if (isPlainObject(value)) return convertMap(value, source, name);
  if (typeof value === 'string') return keywords([value], source.keywordField, false);
  throw new Unsupported(`selection '${name}' is neither a map nor a list`);
}

function keywords(values: string[], field: string, all: boolean): Selection {
  return fieldCondition(
    field,
    values.map((v) => classify(v, 'contains')),
    all,
    false,
  );
}

const TRANSFORMS = new Set(['base64', 'windash']);
const MATCHERS = new Set(['contains', 'startswith', 'endswith', 're', 'cidr', 'gt', 'gte', 'lt', 'lte', 'exists', 'fieldref']);
const OPTIONS = new Set(['all', 'cased', 'i', 'm', 's']);

function convertMap(map: Record<string, unknown>, source: SigmaLogsource, name: string): Selection {
  const parts: Selection[] = [];
  for (const [key, raw] of Object.entries(map)) {
    const [sigmaField = '', ...mods] = key.split('|');
    const field = sigmaField === '' ? source.keywordField : mapField(source, sigmaField);
    if (!field) throw new Unsupported(`no mapping for field '${sigmaField}' in logsource '${source.name}' (selection '${name}')`);
    for (const m of mods) {
      if (!TRANSFORMS.has(m) && !MATCHERS.has(m) && !OPTIONS.has(m) && m !== 'expand')
        throw new Unsupported(`modifier '${m}' is not supported (selection '${name}', field '${sigmaField}')`);
    }
    const matchers = mods.filter((m) => MATCHERS.has(m));
    if (matchers.length > 1) throw new Unsupported(`modifiers '${matchers.join('|')}' combined are not supported (field '${sigmaField}')`);
    const matcher = matchers[0];
    const all = mods.includes('all');
    const cased = mods.includes('cased');
    if (mods.includes('expand')) {
      parts.push(placeholderCondition(field, sigmaField, raw, mods));
      continue;
    }
    const flags: string[] = mods.filter((m) => m === 'i' || m === 'm' || m === 's');
    let values: unknown[] = Array.isArray(raw) ? raw : [raw];
    if (mods.includes('base64')) values = values.map((v) => Buffer.from(String(v), 'utf8').toString('base64'));
    if (mods.includes('windash')) values = values.flatMap((v) => windash(String(v)));
    if (matcher === 'fieldref') {
      const refs = values.map((v) => {
        const other = mapField(source, String(v));
        if (!other) throw new Unsupported(`no mapping for field '${String(v)}' referenced by fieldref (field '${sigmaField}')`);
        return other;
      });
      parts.push(
        refs.length === 1 ? { [`${field}|fieldref`]: refs[0] } : { [all ? 'all' : 'any']: refs.map((r) => ({ [`${field}|fieldref`]: r })) },
      );
      continue;
    }
    if (matcher === 're') {
      // PCRE-style leading inline flags (`(?i)…`) are modifiers here: JavaScript has no inline flags.
      const inline = new Set<string>();
      values = values.map((v) => {
        const m = /^\(\?([ims]+)\)/.exec(String(v));
        if (!m) return v;
        for (const f of m[1] ?? '') inline.add(f);
        return String(v).slice(m[0].length);
      });
      for (const f of inline) if (!flags.includes(f)) flags.push(f);
      values = values.map((v) => trimUnanchoredRegex(String(v)));
    }
    if (matcher && !['contains', 'startswith', 'endswith'].includes(matcher)) {
      // re (with its flags), cidr, numeric comparisons, exists: passed through as the same modifier.
      if (matcher === 'exists' && values.length !== 1) throw new Unsupported(`'exists' takes one true/false value (field '${sigmaField}')`);
      const suffix = [matcher, ...(matcher === 're' ? flags.sort() : []), ...(all ? ['all'] : [])].join('|');
      parts.push({ [`${field}|${suffix}`]: values.length === 1 ? values[0] : values });
      continue;
    }
    if (values.length === 1 && values[0] === null) {
      parts.push({ [field]: null });
      continue;
    }
    // Keywords (no field, e.g. `'|all': [a, b]`) search the whole message, as field-less values do.
    const base =
      matcher === 'contains' || matcher === 'startswith' || matcher === 'endswith' ? matcher : sigmaField === '' ? 'contains' : 'eq';
    const classified = values.map((v): [string, unknown] => {
      if (typeof v === 'string') return classify(v, base);
      if (typeof v === 'number' || typeof v === 'boolean') {
        if (matcher) return classify(String(v), base);
        return ['eq', v];
      }
      throw new Unsupported(`value of field '${sigmaField}' is not a string, number, boolean or null`);
    });
    parts.push(fieldCondition(field, classified, all, cased));
  }
  return mergeAll(parts);
}

/** Operators a placeholder's values take (the list's values are compared as the Sigma rule compares them; no operator: Sigma's wildcards). */
const PLACEHOLDER_OPERATORS = new Set(['contains', 'startswith', 'endswith', 'cidr']);

/**
 * A Sigma placeholder (`Image|expand: '%Admins_Workstations%'`): the values a deployment keeps in a
 * named list (src/rules/value-lists.ts), read as such — `detect import-sigma` writes an empty list
 * for each placeholder it has not seen, for the deployment to fill.
 */
function placeholderCondition(field: string, sigmaField: string, raw: unknown, mods: readonly string[]): Selection {
  const unsupported = mods.filter((m) => m !== 'expand' && m !== 'all' && m !== 'cased' && !PLACEHOLDER_OPERATORS.has(m));
  if (unsupported.length > 0)
    throw new Unsupported(`modifier '${unsupported.join('|')}' with 'expand' is not supported (field '${sigmaField}')`);
  const values = Array.isArray(raw) ? raw : [raw];
  const names = values.map((v) => {
    const placeholder = placeholderOf(v);
    if (!placeholder) throw new Unsupported(`'expand' takes placeholders ('%name%'), got ${JSON.stringify(v)} (field '${sigmaField}')`);
    return `%${placeholderListName(placeholder)}%`;
  });
  const operator = mods.find((m) => PLACEHOLDER_OPERATORS.has(m)) ?? 'wildcard';
  const key = [field, operator, ...mods.filter((m) => m === 'cased' || m === 'all'), 'expand'].join('|');
  return { [key]: names.length === 1 ? names[0] : names };
}

/**
 * A Sigma string as an exact condition. Sigma's string rules: `*` any run, `?` one character,
 * `\*` `\?` `\\` a literal star, question mark and backslash, any other backslash literal;
 * contains/startswith/endswith add the wildcards around. Only-leading/trailing stars become
 * contains/startswith/endswith; anything inner becomes our `|wildcard` (same syntax, matched
 * without regex); a lone `*` means the field exists.
 */
export function classify(value: string, base: 'eq' | 'contains' | 'startswith' | 'endswith'): [string, unknown] {
  // `field: ''` means "the field is empty". Parsers drop empty and `-` fields, so an empty field
  // reads as an absent one: as "exists" it would match every event that has the field (the
  // opposite), as "absent" every event of any source without it. Refused rather than guessed.
  if (value === '' && base === 'eq') {
    throw new Unsupported("an empty value ('') cannot be told from an absent field (parsers drop empty fields)");
  }
  const tokens = tokenizeWildcard(value);
  if (base === 'contains' || base === 'endswith') tokens.unshift({ any: true });
  if (base === 'contains' || base === 'startswith') tokens.push({ any: true });
  // Adjacent stars are one star.
  const merged: WildcardToken[] = [];
  for (const t of tokens) if (!('any' in t && 'any' in (merged[merged.length - 1] ?? {}))) merged.push(t);
  const leading = 'any' in (merged[0] ?? {});
  const trailing = merged.length > 1 && 'any' in (merged[merged.length - 1] ?? {});
  const core = merged.slice(leading ? 1 : 0, trailing ? -1 : undefined);
  if (core.length === 0) return ['exists', true];
  if (core.length === 1 && core[0] && 'lit' in core[0]) {
    const lit = core[0].lit;
    return [leading && trailing ? 'contains' : leading ? 'endswith' : trailing ? 'startswith' : 'eq', lit];
  }
  return ['wildcard', merged.map((t) => ('lit' in t ? t.lit.replace(/[\\*?]/g, (c) => `\\${c}`) : 'any' in t ? '*' : '?')).join('')];
}

/**
 * A regex is searched anywhere in the value, so a leading or trailing `.*` adds nothing and `.+`
 * means only "one more character": `.+:assumed-role/aws:.+` matches exactly the values
 * `.:assumed-role/aws:.` does, without the polynomial backtracking the validator refuses.
 */
export function trimUnanchoredRegex(source: string): string {
  let out = source;
  const lead = /^\.([*+])(?![*+?{])/.exec(out);
  if (lead) out = (lead[1] === '+' ? '.' : '') + out.slice(2);
  const trail = /(^|[^\\])\.([*+])$/.exec(out);
  if (trail && out.length > 2) out = out.slice(0, -2) + (trail[2] === '+' ? '.' : '');
  return out;
}

/** Windows command-line dashes: `-x` also as `/x`, en dash, em dash and horizontal bar. */
function windash(value: string): string[] {
  if (!/(^|\s)-/.test(value)) return [value];
  return ['-', '/', '\u2013', '\u2014', '\u2015'].map((d) => value.replace(/(^|\s)-/g, `$1${d}`));
}

/** One field's values, grouped by operator: a single key when they share one, else any/all of keys. */
function fieldCondition(field: string, classified: [string, unknown][], all: boolean, cased: boolean): Selection {
  const byOp = new Map<string, unknown[]>();
  for (const [op, v] of classified) byOp.set(op, [...(byOp.get(op) ?? []), v]);
  const parts = [...byOp].map(([op, vals]): Selection => {
    if (op === 'exists') return { [`${field}|exists`]: true };
    const mods = [...(op === 'eq' ? [] : [op]), ...(cased ? ['cased'] : []), ...(all && vals.length > 1 ? ['all'] : [])];
    const key = [field, ...mods].join('|');
    return { [key]: vals.length === 1 ? vals[0] : vals };
  });
  if (parts.length === 1) return parts[0] as Selection;
  return all ? mergeAll(parts) : { any: parts };
}

/** AND of selections: one map when their keys do not collide, else `all:`. */
function mergeAll(parts: Selection[]): Selection {
  if (parts.length === 1) return parts[0] as Selection;
  const merged: Selection = {};
  for (const p of parts) {
    for (const [k, v] of Object.entries(p)) {
      if (k in merged) return { all: parts };
      merged[k] = v;
    }
  }
  return merged;
}

// ---------------------------------------------------------------- correlations

function convertCorrelation(
  sigma: z.infer<typeof SigmaCorrelation>,
  id: string,
  members: { rule: ConvertedRule; source: SigmaLogsource }[],
): Record<string, unknown> {
  const c = sigma.correlation;
  const source = members[0]?.source;
  if (!source) throw new Unsupported('correlation references no rule');
  const groupBy = (c['group-by'] ?? []).map((f) => {
    const mapped = members.map((m) => mapField(m.source, f));
    if (mapped.some((x) => x === undefined) || new Set(mapped).size !== 1)
      throw new Unsupported(`no single mapping for group-by field '${f}' across the referenced rules`);
    return mapped[0] as string;
  });
  const matches = members.map((m) => m.rule.doc.match);
  const match = matches.length === 1 ? matches[0] : { any: matches };
  const logGroups = [...new Set(members.flatMap((m) => (Array.isArray(m.rule.doc.logGroups) ? m.rule.doc.logGroups.map(String) : [])))];
  const base = { ...common(sigma, id), ...(logGroups.length > 0 ? { logGroups } : {}) };
  const threshold = (): number => {
    const cond = c.condition ?? {};
    const ops = Object.keys(cond).filter((k) => k !== 'field');
    if (ops.length !== 1 || !['gte', 'gt'].includes(ops[0] ?? ''))
      throw new Unsupported(`condition ${JSON.stringify(cond)}: only a single 'gte' or 'gt' threshold can be expressed`);
    const n = Number(cond[ops[0] ?? '']);
    if (!Number.isInteger(n) || n < 1) throw new Unsupported(`condition threshold must be a positive integer, got ${JSON.stringify(cond)}`);
    return ops[0] === 'gt' ? n + 1 : n;
  };
  switch (c.type) {
    case 'event_count':
      if (groupBy.length === 0) throw new Unsupported("event_count without 'group-by' is not supported (state is kept per entity)");
      return { ...base, match, threshold: { count: threshold(), window: c.timespan, groupBy } };
    case 'value_count': {
      const field = c.condition?.field;
      if (typeof field !== 'string') throw new Unsupported("value_count needs 'condition.field'");
      const mapped = mapField(source, field);
      if (!mapped) throw new Unsupported(`no mapping for value_count field '${field}'`);
      if (groupBy.length === 0) throw new Unsupported("value_count without 'group-by' is not supported (state is kept per entity)");
      return { ...base, match, distinct: { field: mapped, count: threshold(), window: c.timespan, groupBy } };
    }
    case 'temporal_ordered':
      if (members.length < 2) throw new Unsupported('temporal_ordered needs at least two rules');
      if (groupBy.length === 0) throw new Unsupported("temporal_ordered without 'group-by' is not supported");
      return {
        ...base,
        match,
        sequence: { window: c.timespan, groupBy, steps: members.map((m) => ({ name: m.rule.id.slice(6), match: m.rule.doc.match })) },
      };
    case 'temporal': {
      // Unordered co-occurrence: a correlation over the member rules' detections.
      if (groupBy.length !== 1) throw new Unsupported('temporal correlation needs exactly one group-by field (the correlated entity)');
      const { logGroups: _unused, ...rest } = base;
      // The member rules' detections must be about that entity for the correlation to see them.
      const entity = groupBy[0];
      for (const m of members) {
        if (m.rule.doc.entity !== undefined && m.rule.doc.entity !== entity)
          throw new Unsupported(`rule '${m.rule.id}' is already correlated on '${String(m.rule.doc.entity)}', not '${entity}'`);
      }
      for (const m of members) m.rule.doc.entity = entity;
      return {
        ...rest,
        correlation: {
          entity: groupBy[0],
          window: c.timespan,
          members: members.map((m) => m.rule.id),
          ordered: false,
          riskThreshold: 0,
          category: 'sigma_correlation',
        },
      };
    }
    default:
      throw new Unsupported(`correlation type '${c.type}' is not supported`);
  }
}
