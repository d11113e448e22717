import { type FieldReader, fieldReader } from '../runtime/field-access';
import type { FieldValue, NormalizedEvent } from '../schema/event';

/**
 * Most elements of one list an event contributes to a distinct count. CloudTrail's requests name
 * at most tens of resources (SSM's GetParameters ten); flattening already caps an event at 500
 * fields, and a set item at 1,000 members.
 */
export const MAX_LIST_ELEMENTS = 100;

/**
 * What a distinct clause counts in an event. Its `field` is one field or several, read in order:
 * the first one the event carries is counted (SSM names a parameter `name` in GetParameter,
 * `names` in GetParameters, `path` in GetParametersByPath). A field holding a list — flattened
 * to `field.0`, `field.1`, … — counts each element: one call reading ten secrets is ten reads.
 */
export class DistinctMembers {
  private readonly fields: readonly string[];
  /** Per field, the name of its list's first element (`field.0`): built once, not per event. */
  private readonly firstElements: readonly string[];
  private readonly singles: readonly (readonly string[])[];
  /** Reads the fields, then their first elements, into `values` (see runtime/field-access.ts): every event of the rule is asked. */
  private readonly read: FieldReader;
  private readonly values: (FieldValue | undefined)[] = [];

  constructor(field: string | readonly string[]) {
    this.fields = typeof field === 'string' ? [field] : field;
    this.firstElements = this.fields.map((f) => `${f}.0`);
    this.singles = this.fields.map((f) => [f]);
    this.read = fieldReader([...this.fields, ...this.firstElements]);
  }

  /** Whether the event carries anything to count. */
  has(e: NormalizedEvent): boolean {
    const values = this.values;
    this.read(e, values);
    for (let i = 0; i < values.length; i++) if (values[i] !== undefined) return true;
    return false;
  }

  /** The clause field a member field of `fieldsOf` holds a value of: itself, or the list an element (`field.3`) belongs to. */
  kindOf(member: string): string {
    if (this.fields.includes(member)) return member;
    const dot = member.lastIndexOf('.');
    return dot < 0 ? member : member.slice(0, dot);
  }

  /**
   * The fields holding the event's values: the first of the clause's fields it carries, or that
   * list's elements (`field.0`, `field.1`, …, at most MAX_LIST_ELEMENTS) — empty when it carries
   * none. A scalar's answer is an array built once, so the common event allocates nothing here.
   */
  fieldsOf(e: NormalizedEvent): readonly string[] {
    const values = this.values;
    this.read(e, values);
    const n = this.fields.length;
    for (let i = 0; i < n; i++) {
      if (values[i] !== undefined) return this.singles[i] as readonly string[];
      if (values[n + i] === undefined) continue;
      const field = this.fields[i] as string;
      const elements: string[] = [];
      for (let n = 0; n < MAX_LIST_ELEMENTS; n++) {
        const element = `${field}.${n}`;
        if (e[element] === undefined) break;
        elements.push(element);
      }
      return elements;
    }
    return NONE;
  }
}

const NONE: readonly string[] = [];
