import { describe, expect, it } from 'vitest';
import { fieldReader, fieldTest, fieldWriter } from '../src/runtime/field-access';
import type { FieldValue, NormalizedEvent } from '../src/schema/event';

// Field names come from rule files and Sigma imports: whatever they hold, they are names, never code.
const HOSTILE_NAMES = [
  'source.ip',
  'a"b',
  "a'b",
  'a\\',
  '"]; globalThis.pwned = 1; //',
  // A template placeholder, built so that it is not one here.
  `\`$${'{'}globalThis.pwned = 1}\``,
  'line\nbreak',
  'sep\u2028arator',
  '__proto__',
  'constructor',
  '',
];

describe('generated field access', () => {
  it('reads, tests and writes exactly the named fields, whatever their names hold', () => {
    const event: NormalizedEvent = Object.create(null);
    HOSTILE_NAMES.forEach((name, i) => {
      Reflect.defineProperty(event, name, { value: `v${i}`, enumerable: true, writable: true });
    });
    const values: (FieldValue | undefined)[] = [];
    fieldReader([...HOSTILE_NAMES, 'absent'])(event, values);
    expect(values).toEqual([...HOSTILE_NAMES.map((_, i) => `v${i}`), undefined]);

    for (const [i, name] of HOSTILE_NAMES.entries()) {
      expect(fieldTest(name, (v) => v === `v${i}`)(event)).toBe(true);
      expect(fieldTest(name, (v) => v === 'other')(event)).toBe(false);
    }
    expect(fieldTest('absent', () => true)(event)).toBe(false);

    const written: Record<string, FieldValue> = Object.create(null);
    fieldWriter(HOSTILE_NAMES)(
      written,
      HOSTILE_NAMES.map((_, i) => (i % 2 === 0 ? i : undefined)),
    );
    expect(Reflect.ownKeys(written)).toEqual(HOSTILE_NAMES.filter((_, i) => i % 2 === 0));
    for (const [i, name] of HOSTILE_NAMES.entries()) if (i % 2 === 0) expect(written[name]).toBe(i);
    expect(Reflect.get(globalThis, 'pwned')).toBeUndefined();
  });
});
