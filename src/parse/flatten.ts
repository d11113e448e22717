import type { FieldValue } from '../schema/event';

const MAX_DEPTH = 8;
const MAX_FIELDS = 500;

/**
 * Flattens nested JSON into dotted keys (`{"a":{"b":1}}` → `a.b: 1`, arrays → `a.0`).
 * Depth and field count are bounded so a hostile line cannot blow up memory; nulls are dropped.
 */
export function flattenInto(target: Record<string, FieldValue>, value: unknown): void {
  let fields = 0;
  const walk = (node: unknown, prefix: string, depth: number): void => {
    if (node === null || node === undefined || fields >= MAX_FIELDS) return;
    if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') {
      if (prefix) {
        target[prefix] = node;
        fields++;
      }
      return;
    }
    if (typeof node !== 'object') return;
    if (depth >= MAX_DEPTH) {
      if (prefix) target[prefix] = JSON.stringify(node);
      fields++;
      return;
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) walk(node[i], prefix ? `${prefix}.${i}` : String(i), depth + 1);
      return;
    }
    for (const key in node) {
      if (Object.hasOwn(node, key)) walk((node as Record<string, unknown>)[key], prefix ? `${prefix}.${key}` : key, depth + 1);
    }
  };
  walk(value, '', 0);
}
