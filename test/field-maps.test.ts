import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FIELD_MAP, mapFields } from '../src/parse/field-maps';
import { Normalizer } from '../src/parse/normalize';
import type { FieldValue } from '../src/schema/event';

/** A JSON line's event: a null-prototype object, as normalize makes it. */
function openEvent(entries: readonly [string, FieldValue][]): Record<string, FieldValue> {
  const event: Record<string, FieldValue> = Object.create(null);
  for (const [k, v] of entries) event[k] = v;
  return event;
}

const source = new Normalizer([]).sourceFor('/app/any');
// Few names, so maps often read what they or the event already hold, and entries chain.
const name = fc.constantFrom('a', 'b', 'c', 'msg', 'message', 'level', 'log.level', 'user.name', 'username', '0', '__proto__');
const value = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean());

describe('mapFields: a field map applied from the event’s own names', () => {
  it('gives what applying it entry by entry gives — the same fields, values and order — for any map and event', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, name), { maxLength: 12 }),
        fc.array(fc.tuple(name, value), { maxLength: 8 }),
        (fieldMap, entries) => {
          // Entry by entry (no field count), and from the event's names (fewer fields than entries, whenever the map allows).
          const byEntries = mapFields(source, openEvent(entries), fieldMap);
          const byNames = mapFields(source, openEvent(entries), fieldMap, 0);
          expect(Object.entries(byNames)).toEqual(Object.entries(byEntries));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('on the default map: the first name present wins, and a field the line names itself is kept', () => {
    const line = openEvent([
      ['time', 1],
      ['msg', 'from msg'],
      ['event', 'from event'],
      ['level', 'warn'],
      ['log.level', 'error'],
    ]);
    const event = mapFields(source, line, DEFAULT_FIELD_MAP, 5);
    expect(event.message).toBe('from msg');
    expect(event['@timestamp']).toBe(1);
    expect(event['log.level']).toBe('error');
  });

  it('a map whose entry reads what an earlier one wrote still chains, as entry by entry', () => {
    const fieldMap: [string, string][] = [
      ['a', 'b'],
      ['b', 'c'],
    ];
    expect(mapFields(source, openEvent([['a', 1]]), fieldMap, 1)).toEqual(
      openEvent([
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ]),
    );
    // Read after it was written, in map order only: the reverse order does not chain.
    expect(mapFields(source, openEvent([['a', 1]]), [...fieldMap].reverse(), 1)).toEqual(
      openEvent([
        ['a', 1],
        ['b', 1],
      ]),
    );
  });
});
