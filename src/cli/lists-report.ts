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
  readBy: string[];
}

export function listReports(lists: readonly PackList[]): ListReport[] {
  return [...lists]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((l) => ({
      list: l.name,
      file: l.file,
      values: l.values,
      ...(l.change ? { change: l.change } : {}),
      readBy: [...l.readBy].sort(),
    }));
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
  lines.push(
    r.readBy.length === 0
      ? `  read by no rule (a rule reads it with field|…|expand: '%${r.list}%')`
      : `  read by ${r.readBy.length} ${r.readBy.length === 1 ? 'rule' : 'rules'}: ${r.readBy.join(', ')}`,
  );
  return lines.join('\n');
}
