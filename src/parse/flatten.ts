import type { FieldValue } from '../schema/event';

const MAX_DEPTH = 8;
const MAX_FIELDS = 500;
/** Subtrees below MAX_DEPTH are kept as bounded JSON text, so a rule can still search them. */
const MAX_SUBTREE_CHARS = 2048;

/**
 * Flattens nested JSON into dotted keys (`{"a":{"b":1}}` → `a.b: 1`, arrays → `a.0`).
 * Iterative and bounded: depth, field count and the text kept for deeper subtrees are capped, so a
 * hostile line (5,000 levels deep, a 100k-element array) costs little and cannot exhaust the stack.
 * Nulls are dropped. Only scalars are ever assigned, so keys like `__proto__` cannot change a
 * prototype; events are null-prototype objects, so inherited names never read as fields.
 *
 * Every JSON line goes through here (a CloudTrail record has some 60 leaves), so the work stack is
 * three parallel arrays kept between calls rather than a tuple per node and an array of entries
 * per object: those were a third of what normalizing a CloudTrail record allocated.
 *
 * Returns how many fields it assigned (at most 500; a name two paths flatten to, `a.b` of
 * `{"a.b":1,"a":{"b":2}}`, twice).
 */
export function flattenInto(target: Record<string, FieldValue>, value: unknown): number {
  const { nodes, prefixes, depths, keys } = work;
  line++;
  let fields = 0;
  nodes[0] = value;
  prefixes[0] = '';
  depths[0] = 0;
  let top = 1;
  while (top > 0 && fields < MAX_FIELDS) {
    top--;
    const node = nodes[top];
    const prefix = prefixes[top] ?? '';
    const depth = depths[top] ?? 0;
    nodes[top] = undefined; // the work arrays outlive the call: hold no reference to this line
    if (node === null || node === undefined) continue;
    if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') {
      if (prefix) {
        target[prefix] = node;
        fields++;
      }
      continue;
    }
    if (typeof node !== 'object') continue;
    if (depth >= MAX_DEPTH) {
      if (prefix) {
        target[prefix] = boundedJson(node, MAX_SUBTREE_CHARS);
        fields++;
      }
      continue;
    }
    // Children are pushed in reverse so they pop in document order; never more than the remaining field budget.
    const room = MAX_FIELDS - fields;
    const names = prefix ? namesUnder(prefix) : undefined;
    if (Array.isArray(node)) {
      const n = Math.min(node.length, room);
      for (let i = n - 1; i >= 0; i--) {
        nodes[top] = node[i];
        prefixes[top] = prefix ? joinedKey(names, prefix, String(i)) : String(i);
        depths[top] = depth + 1;
        top++;
      }
    } else {
      let n = 0;
      for (const key in node) {
        if (n >= room) break;
        if (Object.hasOwn(node, key)) keys[n++] = key;
      }
      for (let i = n - 1; i >= 0; i--) {
        const key = keys[i] ?? '';
        nodes[top] = Reflect.get(node, key);
        prefixes[top] = prefix ? joinedKey(names, prefix, key) : key;
        depths[top] = depth + 1;
        top++;
      }
    }
  }
  // Left on the stack when the field budget ran out.
  for (let i = 0; i < top; i++) nodes[i] = undefined;
  return fields;
}

/**
 * The names under `prefix` seen before, each `prefix.key` the same string object every time: a
 * field name built by concatenation is hashed and looked up in V8's string table every time it
 * names a property, and JSON lines of one app repeat the same few dozen names. Undefined where
 * names are concatenated as they come: a prefix first seen in this line (one an attacker makes
 * up per line costs one entry, not one per name), or one with more distinct names under it than
 * a schema has (request headers keyed by whatever the client sent). Bounded.
 */
function namesUnder(prefix: string): Map<string, string> | undefined {
  const names = joined.get(prefix);
  if (names === undefined) {
    if (joined.size >= MAX_PREFIXES) joined.clear();
    joined.set(prefix, line);
    return undefined;
  }
  if (typeof names !== 'number') return names ?? undefined;
  if (names === line) return undefined;
  const fresh = new Map<string, string>();
  joined.set(prefix, fresh);
  return fresh;
}

function joinedKey(names: Map<string, string> | undefined, prefix: string, key: string): string {
  if (names === undefined) return `${prefix}.${key}`;
  let name = names.get(key);
  if (name === undefined) {
    name = `${prefix}.${key}`;
    if (names.size >= MAX_NAMES_PER_PREFIX) joined.set(prefix, null);
    else names.set(key, name);
  }
  return name;
}
/** Per prefix: the line it was first seen in (a number), its names, or null (too many to be a schema). */
const joined = new Map<string, Map<string, string> | number | null>();
const MAX_PREFIXES = 2_000;
const MAX_NAMES_PER_PREFIX = 64;
/** flattenInto calls so far: which line a prefix was first seen in. */
let line = 0;

/** flattenInto's work stack, reused by every call (it never calls itself). */
const work = { nodes: [] as unknown[], prefixes: [] as string[], depths: [] as number[], keys: [] as string[] };

/**
 * JSON text of a value, cut at `maxChars` (marked with `…`), built iteratively: a value nested
 * thousands of levels deep costs at most `maxChars` of work, never a deep recursion.
 */
export function boundedJson(value: unknown, maxChars: number): string {
  let out = '';
  // Work items: a value to write, or a literal piece of text (closing brackets, commas).
  const stack: ({ text: string } | { value: unknown; key?: string })[] = [{ value }];
  while (stack.length > 0) {
    if (out.length >= maxChars) return `${out.slice(0, maxChars)}…`;
    const item = stack.pop();
    if (!item) break;
    if ('text' in item) {
      out += item.text;
      continue;
    }
    if (item.key !== undefined) out += `${JSON.stringify(item.key)}:`;
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      out += typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? JSON.stringify(v) : 'null';
      continue;
    }
    const entries: { value: unknown; key?: string }[] = Array.isArray(v)
      ? v.slice(0, maxChars).map((x) => ({ value: x }))
      : entriesOf(v, maxChars).map(([key, child]) => ({ value: child, key }));
    out += Array.isArray(v) ? '[' : '{';
    stack.push({ text: Array.isArray(v) ? ']' : '}' });
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i];
      if (entry) stack.push(entry);
      if (i > 0) stack.push({ text: ',' });
    }
  }
  return out;
}

/** At most `limit` own enumerable entries of an object (a 100k-key object costs `limit`, not 100k). */
function entriesOf(obj: object, limit: number): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const key in obj) {
    if (out.length >= limit) break;
    if (Object.hasOwn(obj, key)) out.push([key, Reflect.get(obj, key)]);
  }
  return out;
}
