import type { FieldValue, NormalizedEvent } from '../schema/event';
import { parseRange } from './cidr';
import { compileSelection, isPlainObject } from './selection';
import { tokenizeWildcard, type WildcardToken } from './wildcard';

/**
 * Example events for a `match:` selection: a witness that matches it and a near miss that does
 * not (the witness with one field changed). Built from the selection's conditions, then checked
 * against the compiled predicate — the generator may guess, the predicate decides. Used to give
 * imported rules positive and negative tests.
 */
export type Witness = { ok: true; event: Record<string, FieldValue> } | { ok: false; reason: string };
export type NearMiss = { ok: true; event: Record<string, FieldValue>; broken: string } | { ok: false; reason: string };

type Scalar = string | number | boolean;

/** What the chosen conditions require of one field. */
interface FieldNeeds {
  eq?: Scalar;
  /** A `|wildcard` pattern: its stars can absorb `contains` values on the same field. */
  pattern?: WildcardToken[];
  starts: string[];
  contains: string[];
  ends: string[];
  min?: number;
  max?: number;
  ip?: string;
  ref?: string;
  present?: boolean;
  absent?: boolean;
}

class NoWitness extends Error {}

const ATTEMPTS = 64;
const FILLER = 'generated';

export function findWitness(selection: Record<string, unknown>): Witness {
  const { predicate } = compileSelection(selection);
  let lastReason = 'no combination of the conditions produced a matching event';
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    // Attempt 0 takes the first alternative everywhere; later attempts choose at random (seeded).
    const random = attempt === 0 ? () => 0 : seeded(attempt);
    try {
      const needs = new Map<string, FieldNeeds>();
      collect(selection, needs, random);
      const event = build(needs);
      if (predicate(event as NormalizedEvent)) return { ok: true, event };
    } catch (err) {
      if (!(err instanceof NoWitness)) throw err;
      lastReason = err.message;
    }
  }
  return { ok: false, reason: lastReason };
}

/** The witness with one field changed (or removed) so that the selection no longer matches. */
export function findNearMiss(selection: Record<string, unknown>, witness: Record<string, FieldValue>): NearMiss {
  const { predicate } = compileSelection(selection);
  const fields = Object.keys(witness);
  for (const field of fields) {
    const changed = { ...witness, [field]: typeof witness[field] === 'number' ? -987654321 : 'benign-value' };
    if (!predicate(changed as NormalizedEvent)) return { ok: true, event: changed, broken: `${field} changed` };
  }
  for (const field of fields) {
    const { [field]: _removed, ...rest } = witness;
    if (!predicate(rest as NormalizedEvent)) return { ok: true, event: rest, broken: `${field} removed` };
  }
  return { ok: false, reason: 'no single changed or removed field stops the selection matching' };
}

function needsOf(needs: Map<string, FieldNeeds>, field: string): FieldNeeds {
  let n = needs.get(field);
  if (!n) {
    n = { starts: [], contains: [], ends: [] };
    needs.set(field, n);
  }
  return n;
}

function collect(node: unknown, needs: Map<string, FieldNeeds>, random: () => number): void {
  if (!isPlainObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'all' && Array.isArray(value)) for (const sub of value) collect(sub, needs, random);
    else if (key === 'any' && Array.isArray(value)) collect(pick(value, random), needs, random);
    else if (key === 'not') avoid(value, needs);
    else require(key, value, needs, random);
  }
}

/**
 * A negated selection usually holds on its own (its fields are simply absent); the exceptions are
 * conditions on absence, which become presence. Anything else is left to the predicate check.
 */
function avoid(inner: unknown, needs: Map<string, FieldNeeds>): void {
  if (!isPlainObject(inner)) return;
  const entries = Object.entries(inner);
  if (entries.length !== 1) return;
  const [key, value] = entries[0] ?? ['', undefined];
  const [field, ...mods] = key.split('|');
  if (!field || field === 'any' || field === 'all' || field === 'not') return;
  if (value === null && mods.length === 0) needsOf(needs, field).present = true;
  if (mods.length === 1 && mods[0] === 'exists' && typeof value === 'boolean') {
    if (value) needsOf(needs, field).absent = true;
    else needsOf(needs, field).present = true;
  }
}

function require(key: string, value: unknown, needs: Map<string, FieldNeeds>, random: () => number): void {
  const [field = '', ...mods] = key.split('|');
  const n = needsOf(needs, field);
  if (value === null) {
    n.absent = true;
    return;
  }
  const values = (Array.isArray(value) ? value : [value]).filter(
    (v): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean',
  );
  const chosen = mods.includes('all') ? values : [pick(values, random)];
  const op = mods.find((m) => !['all', 'cased', 'i', 'm', 's'].includes(m));
  for (const v of chosen) {
    const text = String(v);
    switch (op) {
      case undefined:
        n.eq = v;
        break;
      case 'wildcard':
        n.pattern = tokenizeWildcard(text);
        break;
      case 'contains':
        n.contains.push(text);
        break;
      case 'startswith':
        n.starts.push(text);
        break;
      case 'endswith':
        n.ends.push(text);
        break;
      case 'gt':
      case 'gte':
        n.min = Math.max(n.min ?? -Infinity, Number(v) + (op === 'gt' ? 1 : 0));
        break;
      case 'lt':
      case 'lte':
        n.max = Math.min(n.max ?? Infinity, Number(v) - (op === 'lt' ? 1 : 0));
        break;
      case 'cidr':
        n.ip = parseRange(text)[0].toString();
        break;
      case 'exists':
        if (v === true) n.present = true;
        else n.absent = true;
        break;
      case 'fieldref':
        n.ref = text;
        break;
      default:
        throw new NoWitness(`no generated example for |${op} conditions (field ${field}); write its tests by hand`);
    }
  }
}

/** `?` becomes one letter, the first `*` the values the field must also contain, other stars nothing. */
function wildcardExample(tokens: readonly WildcardToken[], contains: readonly string[]): string {
  let filled = false;
  return tokens
    .map((t) => {
      if ('lit' in t) return t.lit;
      if ('one' in t) return 'x';
      if (filled) return '';
      filled = true;
      return contains.join('');
    })
    .join('');
}

function build(needs: Map<string, FieldNeeds>): Record<string, FieldValue> {
  const event: Record<string, FieldValue> = {};
  const refs: [string, string][] = [];
  for (const [field, n] of needs) {
    if (n.absent && !n.present) continue;
    if (n.ref) {
      refs.push([field, n.ref]);
      continue;
    }
    event[field] = valueFor(n);
  }
  for (const [field, other] of refs) {
    const shared = event[other] ?? `${FILLER}-shared`;
    event[other] = shared;
    event[field] = shared;
  }
  // Rules on the raw line read `message`; without one a test event's message is its JSON.
  event.message ??= FILLER;
  return event;
}

function valueFor(n: FieldNeeds): FieldValue {
  if (n.eq !== undefined) return n.eq;
  if (n.pattern) return wildcardExample(n.pattern, n.contains);
  if (n.min !== undefined || n.max !== undefined) {
    const low = n.min ?? (n.max ?? 0) - 1;
    return Number.isFinite(low) ? low : 0;
  }
  if (n.ip) return n.ip;
  if (n.starts.length + n.contains.length + n.ends.length === 0) return FILLER;
  // Several startswith/endswith values cannot all hold unless one extends the other: the
  // longest is tried; the predicate check rejects the rest.
  const start = [...n.starts].sort((a, b) => b.length - a.length)[0] ?? '';
  const end = [...n.ends].sort((a, b) => b.length - a.length)[0] ?? '';
  return [start, ...n.contains, end].join('');
}

function pick<T>(values: readonly T[], random: () => number): T {
  const v = values[Math.floor(random() * values.length)] ?? values[0];
  if (v === undefined) throw new NoWitness('an empty list of alternatives');
  return v;
}

/** mulberry32: a small deterministic PRNG, so generated tests are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed * 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
