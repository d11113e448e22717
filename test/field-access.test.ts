import { spawnSync } from 'node:child_process';
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

describe('a process that may not compile code from text', () => {
  it('still decides every shipped rule test: the generated reads fall back to plain loops', () => {
    // --disallow-code-generation-from-strings: a hardened runtime's setting; `new Function` throws there.
    const r = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', 'bin/detect.mjs', 'test'], {
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    // The summary is the run's last line (on stderr, beside any failure); nothing else may be there.
    expect(r.stderr.trim()).toMatch(/^\d+ passed, 0 failed$/);
    const summary = /(\d+) passed, (\d+) failed/.exec(r.stderr);
    expect(Number(summary?.[1])).toBeGreaterThan(300);
    expect(summary?.[2]).toBe('0');
    expect(r.status).toBe(0);
  }, 60_000);
});
