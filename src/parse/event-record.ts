import type { FieldValue, NormalizedEvent } from '../schema/event';

/**
 * The object an event of a fixed-shape line is (a text line a parser pattern understood, or a
 * message-only one): a plain bag of fields that inherits nothing (its prototype is empty and has
 * no prototype), so `constructor`, `__proto__` or `toString` never read as fields. Lines that
 * name their own fields get a null-prototype object instead (newOpenEvent, below).
 *
 * Why a class and not `Object.create(null)`: V8 keeps null-prototype objects in dictionary mode,
 * where each of an event's 20–30 fields is a three-word hash-table entry and the table is
 * reallocated each time it doubles (about 3 KB of garbage per event; normalization took 5.3
 * µs per event that way and 3.7 this way). Instances of a class get hidden classes shared by
 * events of the same shape and keep their fields in slots inside the object.
 *
 * How many slots: V8 sizes a class's instances by the `this.x =` assignments in its
 * constructor, as written — the ones below never run (`reserve` is never passed); they make room
 * for 40 fields inside the object (in-object slack tracking then trims what the first events
 * leave unused). Without them V8 reserves only a handful, and the other fields go to a side
 * array that is copied to grow a few slots at a time. bench/history.md has the measured
 * difference; if a V8 version stops doing this, events are only as slow as before, never wrong.
 *
 * One class per shape: each eventShape() call makes a class of its own, and V8 keeps the slot
 * count per class, trimmed to what its first instances used (in-object slack tracking). With one
 * class for every parser, a VPC flow record (33 fields) got the slots of the sources that came
 * first (20 in the benchmark) and its other 13 fields a side array copied to grow, per event.
 * Each parser pattern and flow format now has its own (src/parse/line-parser.ts,
 * flow-log-format.ts): a flow record keeps 32 fields inside (V8's %DebugPrint), and normalizing
 * one allocated 1,146 bytes where it allocated 1,326.
 */
export function eventShape(): () => NormalizedEvent {
  class EventRecord {
    [field: string]: FieldValue;

    constructor(reserve = false) {
      if (reserve) {
        this.slot00 = 0;
        this.slot01 = 0;
        this.slot02 = 0;
        this.slot03 = 0;
        this.slot04 = 0;
        this.slot05 = 0;
        this.slot06 = 0;
        this.slot07 = 0;
        this.slot08 = 0;
        this.slot09 = 0;
        this.slot10 = 0;
        this.slot11 = 0;
        this.slot12 = 0;
        this.slot13 = 0;
        this.slot14 = 0;
        this.slot15 = 0;
        this.slot16 = 0;
        this.slot17 = 0;
        this.slot18 = 0;
        this.slot19 = 0;
        this.slot20 = 0;
        this.slot21 = 0;
        this.slot22 = 0;
        this.slot23 = 0;
        this.slot24 = 0;
        this.slot25 = 0;
        this.slot26 = 0;
        this.slot27 = 0;
        this.slot28 = 0;
        this.slot29 = 0;
        this.slot30 = 0;
        this.slot31 = 0;
        this.slot32 = 0;
        this.slot33 = 0;
        this.slot34 = 0;
        this.slot35 = 0;
        this.slot36 = 0;
        this.slot37 = 0;
        this.slot38 = 0;
        this.slot39 = 0;
      }
    }
  }
  Object.setPrototypeOf(EventRecord.prototype, null);
  Reflect.deleteProperty(EventRecord.prototype, 'constructor');
  return () => new EventRecord();
}

const messageOnly = eventShape();

/** A new, empty event for a message-only line (no parser pattern understood it). */
export function newEvent(): NormalizedEvent {
  return messageOnly();
}

/**
 * A new, empty event for a line that names its own fields (a JSON line: an app that logs request
 * headers as an object lets the client choose keys). A hash table, as slow for ten known names
 * as for ten never seen: with the class, every unseen name is a new hidden class, and lines of
 * random keys cost a third more to normalize than they already do (measured: 64 → 88 µs for 30
 * random keys; JSON.parse itself pays most of that).
 */
export function newOpenEvent(): NormalizedEvent {
  return Object.create(null);
}
