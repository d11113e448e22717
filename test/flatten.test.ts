import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundedJson, flattenInto } from '../src/parse/flatten';
import type { FieldValue } from '../src/schema/event';

/**
 * What flattenInto must produce, written the obvious way (recursion, document order): dotted keys,
 * nulls dropped, subtrees at depth 8 kept as JSON text cut at 2,048 characters, at most 500
 * fields, each container's children capped by the fields still allowed when it is reached.
 */
function reference(value: unknown): [string, FieldValue][] {
  const out: [string, FieldValue][] = [];
  const done = () => {
    // Assigned into an object as flattenInto assigns (a later duplicate key replaces an earlier one in place).
    const target: Record<string, FieldValue> = Object.create(null);
    for (const [k, v] of out) target[k] = v;
    return Object.entries(target);
  };
  const visit = (node: unknown, prefix: string, depth: number): void => {
    if (out.length >= 500 || node === null || node === undefined) return;
    if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') {
      if (prefix) out.push([prefix, node]);
      return;
    }
    if (typeof node !== 'object') return;
    if (depth >= 8) {
      if (prefix) out.push([prefix, boundedJson(node, 2048)]);
      return;
    }
    const children: [string, unknown][] = Array.isArray(node)
      ? node.map((v, i) => [String(i), v])
      : Object.keys(node).map((k) => [k, Reflect.get(node, k)]);
    for (const [key, child] of children.slice(0, 500 - out.length)) visit(child, prefix ? `${prefix}.${key}` : key, depth + 1);
  };
  visit(value, '', 0);
  return done();
}

function flattened(value: unknown): [string, FieldValue][] {
  const target: Record<string, FieldValue> = Object.create(null);
  const assigned = flattenInto(target, value);
  const entries = Object.entries(target);
  // What it says it assigned: every field it holds (a name two paths flatten to, such as `a.b`, twice), at most 500.
  expect(assigned).toBeGreaterThanOrEqual(entries.length);
  expect(assigned).toBeLessThanOrEqual(500);
  return entries;
}

describe('flattenInto', () => {
  it('agrees with the recursive definition, keys in document order, on JSON of any shape', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), (value) => {
        expect(flattened(value)).toEqual(reference(value));
      }),
      { numRuns: 1500 },
    );
  });

  it('agrees at the field budget: wide arrays and objects, nested, past 500 leaves', () => {
    const wide = fc.oneof(
      // Nulls and empty containers take a child's place under the cap but write no field.
      fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.constant({}), fc.array(fc.string(), { maxLength: 40 })), {
        minLength: 100,
        maxLength: 700,
      }),
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 6 }),
        fc.oneof(fc.constant(null), fc.array(fc.oneof(fc.integer(), fc.constant(null)), { maxLength: 30 })),
        { minKeys: 300, maxKeys: 700 },
      ),
    );
    fc.assert(
      fc.property(fc.array(wide, { minLength: 1, maxLength: 4 }), (value) => {
        expect(flattened(value)).toEqual(reference(value));
      }),
      { numRuns: 200 },
    );
  });

  it('names the same fields whatever its name cache holds: repeated schemas, 200 names under one prefix, 3,000 prefixes', () => {
    const lines: unknown[] = [];
    for (let i = 0; i < 3_000; i++) {
      lines.push({ user: { id: `u${i % 7}`, ip: '10.0.0.1' }, tags: ['a', { b: i }] }); // a schema, line after line
      lines.push({ headers: { [`x-h${i % 200}`]: 'v', [`x-g${i % 150}`]: 'w' } }); // data: names under one prefix past the cap
      lines.push({ [`p${i}`]: { [`q${i % 3}`]: i } }); // a new prefix every line
    }
    for (const value of lines) expect(flattened(value)).toEqual(reference(value));
  });

  it('keeps nothing of one line for the next (its work stack is reused)', () => {
    const first = Object.create(null);
    flattenInto(first, { a: { b: [1, 2, { c: 'x' }] }, d: null });
    const second = Object.create(null);
    flattenInto(second, { e: 1 });
    expect(Object.entries(second)).toEqual([['e', 1]]);
    expect(Object.entries(first)).toEqual([
      ['a.b.0', 1],
      ['a.b.1', 2],
      ['a.b.2.c', 'x'],
    ]);
  });
});
