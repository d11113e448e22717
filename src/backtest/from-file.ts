import { readFileSync } from 'node:fs';
import { formatIssues } from '../schema/issues';
import { BacktestError } from './cloudwatch-history';
import { byTime, FilterLogEventsFile, type HistoryEvent } from './history';

/**
 * `--from-file`: what `aws logs filter-log-events --log-group-name G … > file.json` writes, for
 * teams that can export but not run the tool against the account. `GROUP=FILE` names the group
 * (the CLI's output does not); a plain `FILE` takes the group from `--log-group` when exactly one
 * is given, or from each event's `logGroupName`.
 */
export function readExportFiles(specs: readonly string[], logGroups: readonly string[]): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const [group, file] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [logGroups.length === 1 ? logGroups[0] : undefined, spec];
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new BacktestError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new BacktestError(`${file} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    const parsed = FilterLogEventsFile.safeParse(value);
    if (!parsed.success)
      throw new BacktestError(`${file} is not the output of 'aws logs filter-log-events': ${formatIssues(parsed.error, '; ')}`);
    parsed.data.events.forEach((e, i) => {
      const logGroupName = e.logGroupName ?? group;
      if (!logGroupName)
        throw new BacktestError(`${file}: event ${i} has no log group; name it as GROUP=${file} (or pass exactly one --log-group)`);
      events.push({ ...e, logGroupName });
    });
  }
  return events.sort(byTime);
}
