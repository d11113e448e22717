import { fieldTest } from '../runtime/field-access';
import type { FieldValue, NormalizedEvent } from '../schema/event';
import { Cidr, CidrSet, inRanges } from './cidr';
import { lowerCase } from './lower-case';
import { wildcardMatcher } from './wildcard';

/**
 * A selection is the `match:` language of rules (Sigma-like):
 *   field: value            equality (strings compare case-insensitively; numbers numerically)
 *   field: [a, b]           any of the values
 *   field: null             the field is absent
 *   field|contains: x       also |startswith |endswith (case-insensitive), |re, |cidr,
 *                           |gt |gte |lt |lte, |exists (true/false); add |all to require every list value
 *   field|wildcard: a*b?c   Sigma wildcards (`\*` `\?` `\\` escape them), case-insensitive, no regex
 *   |cased                  makes equality, contains, startswith, endswith and wildcard case-sensitive
 *   field|re|i (|m, |s)     regex flags
 *   field|fieldref: other   the field's value equals the value of field `other`
 *   field|cidr|expand: '%internal_networks%'   a named list's values (resolved when the pack
 *                           is loaded, src/rules/value-lists.ts: compiled selections never see it)
 *   not: {selection}        negation
 *   any: [{sel}, {sel}]     at least one sub-selection matches
 *   all: [{sel}, {sel}]     every sub-selection matches
 * All keys of one map must hold (AND).
 */
export type Predicate = (event: NormalizedEvent) => boolean;

/** Operators: at most one per field. */
const OPERATORS = ['contains', 'startswith', 'endswith', 're', 'cidr', 'gt', 'gte', 'lt', 'lte', 'exists', 'wildcard', 'fieldref'] as const;
/** Options that qualify the operator. */
const OPTIONS = ['all', 'cased', 'i', 'm', 's'] as const;
export const MODIFIERS = [...OPERATORS, ...OPTIONS] as const;
type Modifier = (typeof MODIFIERS)[number];

export interface SelectionIssue {
  path: (string | number)[];
  message: string;
}

/** A literal the CloudWatch filter pattern compiler can use: the event must contain this exact text. */
export interface EqualityTerm {
  field: string;
  values: string[];
}

export interface CompiledSelection {
  predicate: Predicate;
  /** Top-level equality conditions (AND of them), used for rule indexing and filter patterns. */
  equalities: EqualityTerm[];
  /** Regex sources used, so a validator can check them for catastrophic backtracking. */
  regexes: { path: (string | number)[]; source: string }[];
  /** Every field the selection reads. */
  fields: string[];
}

type Scalar = string | number | boolean;

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function normalizeForEquality(v: FieldValue): string {
  return typeof v === 'string' ? lowerCase(v) : String(v);
}

/** A field value as a number (numbers, and strings that are numbers), as comparisons read it. */
export function asNumber(v: FieldValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

interface CompileContext {
  issues: SelectionIssue[];
  regexes: { path: (string | number)[]; source: string }[];
  fields: Set<string>;
}

export function compileSelection(raw: unknown, basePath: (string | number)[] = []): CompiledSelection {
  const ctx: CompileContext = { issues: [], regexes: [], fields: new Set() };
  const equalities: EqualityTerm[] = [];
  const predicate = compileMap(raw, basePath, ctx, equalities);
  if (ctx.issues.length > 0) {
    throw new SelectionError(ctx.issues);
  }
  return { predicate, equalities, regexes: ctx.regexes, fields: [...ctx.fields] };
}

export class SelectionError extends Error {
  constructor(readonly issues: SelectionIssue[]) {
    super(issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    this.name = 'SelectionError';
  }
}

const ALWAYS: Predicate = () => true;
const NEVER: Predicate = () => false;

function compileMap(raw: unknown, path: (string | number)[], ctx: CompileContext, equalities?: EqualityTerm[]): Predicate {
  if (!isPlainObject(raw)) {
    ctx.issues.push({ path, message: 'expected a map of field conditions' });
    return ALWAYS;
  }
  const keys = Object.keys(raw);
  if (keys.length === 0) {
    ctx.issues.push({ path, message: 'a selection needs at least one condition' });
    return ALWAYS;
  }
  const parts: Predicate[] = [];
  for (const key of keys) {
    const value = raw[key];
    const keyPath = [...path, key];
    if (key === 'not') {
      const inner = compileMap(value, keyPath, ctx);
      parts.push((e) => !inner(e));
    } else if (key === 'any' || key === 'all') {
      if (!Array.isArray(value) || value.length === 0) {
        ctx.issues.push({ path: keyPath, message: `expected a non-empty list of selections under '${key}'` });
        continue;
      }
      const subs = value.map((sub, i) => compileMap(sub, [...keyPath, i], ctx));
      parts.push(key === 'any' ? (e) => subs.some((p) => p(e)) : (e) => subs.every((p) => p(e)));
    } else {
      parts.push(compileField(key, value, keyPath, ctx, equalities));
    }
  }
  if (parts.length === 1 && parts[0]) return parts[0];
  return (e) => {
    for (const p of parts) if (!p(e)) return false;
    return true;
  };
}

function compileField(key: string, value: unknown, path: (string | number)[], ctx: CompileContext, equalities?: EqualityTerm[]): Predicate {
  const [field, ...mods] = key.split('|');
  if (!field) {
    ctx.issues.push({ path, message: 'empty field name' });
    return ALWAYS;
  }
  ctx.fields.add(field);
  for (const m of mods) {
    if (m !== 'expand' && !(MODIFIERS as readonly string[]).includes(m)) {
      ctx.issues.push({ path, message: `unknown modifier '${m}' (known: ${MODIFIERS.join(', ')})` });
      return ALWAYS;
    }
  }
  const modifiers = mods.filter((m): m is Modifier => (MODIFIERS as readonly string[]).includes(m));
  const requireAll = modifiers.includes('all');
  const cased = modifiers.includes('cased');
  const flags = modifiers.filter((m) => m === 'i' || m === 'm' || m === 's').join('');
  const ops = modifiers.filter((m) => (OPERATORS as readonly string[]).includes(m));
  if (ops.length > 1) {
    ctx.issues.push({ path, message: `only one of ${OPERATORS.join(', ')} per field (got ${ops.join(', ')})` });
    return ALWAYS;
  }
  const op = ops[0];
  if (flags && op !== 're') {
    ctx.issues.push({ path, message: `regex flags (|i, |m, |s) go with |re only` });
    return ALWAYS;
  }
  if (cased && op !== undefined && !['contains', 'startswith', 'endswith', 'wildcard'].includes(op)) {
    ctx.issues.push({ path, message: `|cased goes with equality, contains, startswith, endswith or wildcard, not |${op}` });
    return ALWAYS;
  }
  if (mods.includes('expand')) {
    // A pack resolves placeholders when it is loaded (src/rules/value-lists.ts) and keeps `|expand`
    // only where a list has no values yet (a deployment's scanners, before it names any): no value,
    // so no event meets the condition, whatever its operator. Compiled alone, a selection has no lists.
    if (Array.isArray(value) && value.length === 0) return NEVER;
    ctx.issues.push({ path, message: `'|expand' reads a named list, which only a rule pack's list: files define` });
    return ALWAYS;
  }

  if (value === null) {
    if (op) ctx.issues.push({ path, message: 'null (field absent) cannot take a modifier' });
    return (e) => e[field] === undefined;
  }
  const list: unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0) {
    ctx.issues.push({ path, message: 'expected a value or a non-empty list of values' });
    return ALWAYS;
  }
  const scalars: Scalar[] = [];
  list.forEach((v, i) => {
    if (isScalar(v)) scalars.push(v);
    else ctx.issues.push({ path: Array.isArray(value) ? [...path, i] : path, message: 'expected a string, number or boolean' });
  });
  if (scalars.length !== list.length) return ALWAYS;

  const combine = (test: (actual: FieldValue) => boolean): Predicate => fieldTest(field, test);

  switch (op) {
    case undefined: {
      const wanted = new Set(scalars.map(normalizeForEquality));
      if (!requireAll) equalities?.push({ field, values: [...wanted] });
      if (requireAll && wanted.size > 1) return () => false; // one value cannot equal several different values
      if (cased) {
        const exact = new Set(scalars.map(String));
        return combine((a) => exact.has(String(a)));
      }
      // Consecutive events mostly repeat a field's value: the last answer stands for the same value.
      let last: FieldValue | undefined;
      let lastAnswer = false;
      return combine((a) => {
        if (a !== last) {
          last = a;
          lastAnswer = wanted.has(normalizeForEquality(a));
        }
        return lastAnswer;
      });
    }
    case 'wildcard': {
      const matchers = scalars.map((s) => wildcardMatcher(String(s), cased));
      return combine((a) => {
        const text = String(a);
        return requireAll ? matchers.every((m) => m(text)) : matchers.some((m) => m(text));
      });
    }
    case 'fieldref': {
      if (scalars.length !== 1 || typeof scalars[0] !== 'string') {
        ctx.issues.push({ path, message: '|fieldref expects one field name' });
        return ALWAYS;
      }
      const other = scalars[0];
      ctx.fields.add(other);
      return (e) => {
        const a = e[field];
        const b = e[other];
        return a !== undefined && b !== undefined && String(a) === String(b);
      };
    }
    case 'contains':
    case 'startswith':
    case 'endswith': {
      const needles = scalars.map((s) => (cased ? String(s) : String(s).toLowerCase()));
      const test =
        op === 'contains'
          ? (h: string, n: string) => h.includes(n)
          : op === 'startswith'
            ? (h: string, n: string) => h.startsWith(n)
            : (h: string, n: string) => h.endsWith(n);
      return combine((a) => {
        const hay = cased ? String(a) : lowerCase(String(a));
        return requireAll ? needles.every((n) => test(hay, n)) : needles.some((n) => test(hay, n));
      });
    }
    case 're': {
      const regexes: RegExp[] = [];
      scalars.forEach((s, i) => {
        const source = String(s);
        const where = Array.isArray(value) ? [...path, i] : path;
        try {
          regexes.push(new RegExp(source, flags));
          ctx.regexes.push({ path: where, source });
        } catch (err) {
          ctx.issues.push({ path: where, message: `invalid regular expression: ${err instanceof Error ? err.message : String(err)}` });
        }
      });
      return combine((a) => {
        const s = String(a);
        return requireAll ? regexes.every((r) => r.test(s)) : regexes.some((r) => r.test(s));
      });
    }
    case 'cidr': {
      const ranges: Cidr[] = [];
      scalars.forEach((s, i) => {
        try {
          ranges.push(new Cidr(String(s)));
        } catch {
          ctx.issues.push({
            path: Array.isArray(value) ? [...path, i] : path,
            message: `invalid CIDR '${String(s)}': expected a range (10.0.0.0/8) or one address`,
          });
        }
      });
      if (requireAll) return combine((a) => inRanges(String(a), ranges, true));
      const set = new CidrSet(ranges);
      return combine((a) => set.has(String(a)));
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bounds = scalars.map((s) => asNumber(s));
      if (bounds.some((b) => b === undefined) || bounds.length !== 1) {
        ctx.issues.push({ path, message: `|${op} expects one number` });
        return ALWAYS;
      }
      const bound = bounds[0] ?? 0;
      const cmp =
        op === 'gt'
          ? (n: number) => n > bound
          : op === 'gte'
            ? (n: number) => n >= bound
            : op === 'lt'
              ? (n: number) => n < bound
              : (n: number) => n <= bound;
      return combine((a) => {
        const n = asNumber(a);
        return n !== undefined && cmp(n);
      });
    }
    case 'exists': {
      if (scalars.length !== 1 || typeof scalars[0] !== 'boolean') {
        ctx.issues.push({ path, message: '|exists expects true or false' });
        return ALWAYS;
      }
      const want = scalars[0];
      return (e) => (e[field] !== undefined) === want;
    }
    default:
      ctx.issues.push({ path, message: `modifier '${op}' is not allowed here` });
      return ALWAYS;
  }
}
