import { changeMoves, type PackList } from '../rules/value-lists';

/**
 * `detect lists`: what each named list holds in this deployment's folders — its values, the
 * change a later folder made and why, and the rules that read it — so a reviewer of a change to
 * `authorized_scanners` sees the ten rules it quiets before it is deployed.
 */

/** A list with no values: a condition over it holds for no event, so `not:` of it for every one. */
const EMPTY = 'empty (a rule that leaves its values out leaves out nothing; one that asks for them matches nothing through it)';

/** Values shown per list; a list of a thousand office ranges is summed up after these. */
const SHOWN_VALUES = 40;

export interface ListReport {
  list: string;
  file: string;
  values: (string | number)[];
  change?: { file: string; reason: string; added: (string | number)[]; removed: (string | number)[] };
  /** Rules that ask for the list's values (an event must hold one) … */
  askedForBy: string[];
  /** … and rules that leave them out (under `not:` or a tuning's `exclude:`): a value added to the list is one they stop telling. */
  leftOutBy: string[];
}

export function listReports(lists: readonly PackList[]): ListReport[] {
  return [...lists]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((l) => ({
      list: l.name,
      file: l.file,
      values: l.values,
      ...(l.change ? { change: l.change } : {}),
      askedForBy: readers(l, false),
      leftOutBy: readers(l, true),
    }));
}

function readers(list: PackList, leavesOut: boolean): string[] {
  return [...new Set(list.reads.filter((r) => r.leavesOut === leavesOut).map((r) => r.ruleId))].sort();
}

export function formatListReports(reports: readonly ListReport[]): string {
  return reports.map(formatOne).join('\n\n');
}

function formatOne(r: ListReport): string {
  const shown = r.values.slice(0, SHOWN_VALUES).map(String);
  const more = r.values.length > SHOWN_VALUES ? [`… and ${r.values.length - SHOWN_VALUES} more`] : [];
  const lines = [
    `${r.list} (${r.file}): ${r.values.length === 0 ? EMPTY : `${r.values.length} ${r.values.length === 1 ? 'value' : 'values'}`}`,
    ...(shown.length > 0 ? [`  values: ${[...shown, ...more].join(', ')}`] : []),
  ];
  if (r.change) lines.push(`  changed by ${r.change.file}: ${changeMoves(r.change)}. Reason: ${r.change.reason}`);
  if (r.askedForBy.length > 0) lines.push(`  asked for by ${rules(r.askedForBy)}`);
  if (r.leftOutBy.length > 0) lines.push(`  left out by ${rules(r.leftOutBy)}`);
  if (r.askedForBy.length + r.leftOutBy.length === 0) lines.push(`  read by no rule (a rule reads it with field|…|expand: '%${r.list}%')`);
  return lines.join('\n');
}

function rules(ids: readonly string[]): string {
  return `${ids.length} ${ids.length === 1 ? 'rule' : 'rules'}: ${ids.join(', ')}`;
}
