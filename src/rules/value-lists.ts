import { formatPath } from '../schema/issues';
import { placeholderListName, placeholderOf, ValueListChange, ValueListDefinition } from '../schema/value-list';
import { isCidr } from './cidr';
import type { RawRuleFile, RuleFileError } from './rule-pack';
import { isMap } from './tuning';

/**
 * Named lists (`list:` files) and the `|expand` keys that read them. Lists are resolved when the
 * pack is loaded, before any rule is validated: the rules the engine compiles hold the values, so
 * matching, the rule index and the subscription filters see what they saw when each rule wrote its
 * ranges out — and a deployment that adds its own network changes one file, not every rule.
 */

export interface ValueList {
  name: string;
  values: (string | number)[];
  /** The file that defines it. */
  file: string;
  /** The change a later folder made to it, as the alerts of the rules that read it say. */
  change?: { file: string; reason: string; added: (string | number)[]; removed: (string | number)[] };
  /** Where each value was written (by its text): a mistake in one is that file's. */
  origins: ReadonlyMap<string, { file: string; path: string }>;
}

export type ValueLists = ReadonlyMap<string, ValueList>;

/** Where a document reads a list: the key's path, and whether its values are left out there (under `not:` or a tuning's `exclude:`). */
export interface ListRead {
  list: string;
  path: string;
  leavesOut: boolean;
}

/** A list as the loaded pack holds it: with the rules that read it, and how each reads it. */
export interface PackList extends ValueList {
  readBy: string[];
  reads: (Omit<ListRead, 'list'> & { ruleId: string })[];
}

export const isValueListDocument = (doc: unknown): boolean => isMap(doc) && 'list' in doc;

/** The lists of a pack's `list:` files: definitions first, then the changes to them, checked. */
export function readValueLists(files: readonly RawRuleFile[], errors: RuleFileError[]): Map<string, ValueList> {
  const lists = new Map<string, ValueList>();
  const changes: { file: string; change: ValueListChange }[] = [];
  for (const { file, doc } of files) {
    if (!isMap(doc)) continue;
    const parsed = 'values' in doc ? ValueListDefinition.safeParse(doc) : ValueListChange.safeParse(doc);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) errors.push({ file, path: formatPath(issue.path), message: issue.message });
      continue;
    }
    if (!('values' in parsed.data)) {
      changes.push({ file, change: parsed.data });
      continue;
    }
    const { list: name, values } = parsed.data;
    const previous = lists.get(name);
    if (previous) {
      errors.push({
        file,
        path: 'list',
        message: `list '${name}' is defined already in ${previous.file} (a file with add: or remove: and a reason changes it)`,
      });
      continue;
    }
    const origins = new Map(values.map((v, i) => [String(v), { file, path: `values[${i}]` }]));
    lists.set(name, { name, values: [...values], file, origins });
  }
  for (const { file, change } of changes) applyChange(lists, file, change, errors);
  return lists;
}

function applyChange(lists: Map<string, ValueList>, file: string, change: ValueListChange, errors: RuleFileError[]): void {
  const list = lists.get(change.list);
  if (!list) {
    errors.push({ file, path: 'list', message: `'${change.list}' names no list in the pack (a list: file with values: defines one)` });
    return;
  }
  if (list.change) {
    errors.push({ file, path: 'list', message: `list '${list.name}' is changed already in ${list.change.file} (one change per list)` });
    return;
  }
  const values = [...list.values];
  const origins = new Map(list.origins);
  const at = (value: string | number) => values.findIndex((v) => String(v) === String(value));
  let ok = true;
  change.remove?.forEach((value, i) => {
    const index = at(value);
    if (index < 0) {
      ok = false;
      errors.push({ file, path: `remove[${i}]`, message: `'${value}' is not in list '${list.name}' (${list.file})` });
    } else values.splice(index, 1);
  });
  change.add?.forEach((value, i) => {
    if (at(value) >= 0) {
      ok = false;
      errors.push({ file, path: `add[${i}]`, message: `'${value}' is in list '${list.name}' already (${list.file})` });
    } else {
      values.push(value);
      origins.set(String(value), { file, path: `add[${i}]` });
    }
  });
  if (ok)
    lists.set(list.name, {
      ...list,
      values,
      change: { file, reason: change.reason, added: change.add ?? [], removed: change.remove ?? [] },
      origins,
    });
}

/** Where what goes wrong in an expansion is told. */
export interface ExpansionReport {
  /** A mistake in the document, at `path`. */
  inDocument(path: string, message: string): void;
  /** A value of a list the key at `path` cannot take (no CIDR range for a `|cidr` key): the list's mistake. */
  inList(list: ValueList, value: string | number, path: string): void;
}

/**
 * The document with each `field|…|expand` key's placeholders replaced by their lists' values and
 * the key without `expand`. Anything wrong is reported and the key left out: the pack does not
 * validate such a file further (src/rules/rule-pack.ts), so the key's absence reports nothing more.
 */
export function expandLists(doc: unknown, lists: ValueLists, report: ExpansionReport): { doc: unknown; reads: ListRead[] } {
  const reads: ListRead[] = [];
  /** `leavesOut`: the map sits under an odd number of `not:` (or a tuning's `exclude:`) keys. */
  const walk = (value: unknown, path: (string | number)[], leavesOut: boolean): unknown => {
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i], leavesOut));
    if (!isMap(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const keyPath = [...path, key];
      const parts = key.split('|');
      if (!parts.includes('expand')) {
        out[key] = walk(inner, keyPath, key === 'not' || (key === 'exclude' && path.length === 0) ? !leavesOut : leavesOut);
        continue;
      }
      const plain = parts.filter((m) => m !== 'expand').join('|');
      if (plain in value || plain in out) {
        report.inDocument(formatPath(keyPath), `'${key}' and '${plain}' in one map: write the values in one of them`);
        continue;
      }
      const read = new Set<string>();
      const expanded = expandValues(inner, parts.includes('cidr'), lists, keyPath, report, read);
      for (const list of read) reads.push({ list, path: formatPath(keyPath), leavesOut });
      // Lists with no values yet leave the key an empty `|expand` one: its condition holds for no
      // event (src/rules/selection.ts), as a list of no values means.
      if (expanded) out[expanded.length > 0 ? plain : key] = expanded;
    }
    return out;
  };
  return { doc: walk(doc, [], false), reads };
}

function expandValues(
  value: unknown,
  asCidr: boolean,
  lists: ValueLists,
  path: (string | number)[],
  report: ExpansionReport,
  read: Set<string>,
): unknown[] | undefined {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) {
    report.inDocument(formatPath(path), `expected a placeholder naming a list, '%list_name%'`);
    return undefined;
  }
  const out: unknown[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const itemPath = formatPath(Array.isArray(value) ? [...path, i] : path);
    if (typeof item !== 'string' || !item.includes('%')) {
      out.push(item);
      return;
    }
    const name = placeholderOf(item);
    const list = name === undefined ? undefined : (lists.get(name) ?? lists.get(placeholderListName(name)));
    if (!list) {
      ok = false;
      report.inDocument(
        itemPath,
        name === undefined
          ? `'${item}': a placeholder is a whole value, '%list_name%'`
          : `'%${name}%' names no list in the pack${placeholderListName(name) === name ? '' : ` (as a list name: ${placeholderListName(name)})`} (a list: file in a rule folder defines one; the shipped ones are in rules/lists)`,
      );
      return;
    }
    read.add(list.name);
    for (const v of list.values) {
      if (asCidr && !isCidr(String(v))) {
        ok = false;
        report.inList(list, v, itemPath);
      } else out.push(v);
    }
  });
  return ok ? out : undefined;
}

/**
 * The rule document with what a later folder changed in the lists it reads said in its
 * description, as a tuning's changes are: its alerts say what this deployment's lists hold
 * (which networks are internal, which accounts are programs').
 */
export function withListChanges(doc: Record<string, unknown>, read: Iterable<string>, lists: ValueLists): Record<string, unknown> {
  const changes = [...new Set(read)].flatMap((name) => {
    const change = lists.get(name)?.change;
    if (!change) return [];
    return [`list ${name} ${changeMoves(change)} (${change.file}). Reason: ${change.reason}`];
  });
  if (changes.length === 0 || typeof doc.description !== 'string') return doc;
  return { ...doc, description: `${doc.description.trim()}\n\nTuned for this deployment: ${changes.join('; ')}` };
}

/** What a change did to its list, as alerts and the CLI say it: `adds 10.20.0.15/32 and removes 172.16.0.0/12`. */
export function changeMoves(change: NonNullable<ValueList['change']>): string {
  const moves = [
    ...(change.added.length > 0 ? [`adds ${change.added.join(', ')}`] : []),
    ...(change.removed.length > 0 ? [`removes ${change.removed.join(', ')}`] : []),
  ];
  return moves.join(' and ');
}

/** Where a list's value was written: the definition's file or the change's that added it. */
export function valueOrigin(list: ValueList, value: string | number): { file: string; path: string } {
  return list.origins.get(String(value)) ?? { file: list.file, path: 'values' };
}
