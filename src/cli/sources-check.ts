import { SkipLedger } from '../decode/skips';
import { normalizePayload } from '../engine/pipeline';
import { looksLikeFlowRecord } from '../parse/flow-log-format';
import { Normalizer } from '../parse/normalize';
import { ParseStats } from '../parse/parse-stats';
import { compileFilterPattern, filterPasses } from '../rules/filter-pattern';
import type { RulePack } from '../rules/rule-pack';
import { eventTime } from '../schema/event';
import { readReplayInput } from './replay-input';

/** What one log group's sample turned into: the source chosen, the share parsed, what was not understood. */
export interface GroupReport {
  logGroup: string;
  source: string;
  reason: string;
  events: number;
  parsed: number;
  share: number;
  timeFromLine: number;
  /** The source takes delivery times (`time: delivery`): deployed, its events are not dated by their lines. */
  deliveryTime: boolean;
  firstEvent?: string;
  lastEvent?: string;
  /** Events per parser pattern (`event.dataset`), JSON lines as `(json)`, unrecognized lines as `(none)`. */
  patterns: Record<string, number>;
  topUnparsed: { shape: string; count: number; example: string }[];
  filter: FilterSample;
}

/** A group's compiled subscription filter ('' delivers every line, `reason` says why) and how many of the sample's lines it passes. */
export interface FilterSample {
  pattern: string;
  reason: string;
  lines: number;
  delivered: number;
}

export interface SourcesReport {
  groups: GroupReport[];
  skipped: number;
  skippedByReason: Record<string, number>;
  passed: boolean;
  min: number;
}

/**
 * `detect sources check`: runs a sample of a log through the normalizer only (no rules) and
 * reports, per log group, which source and parsers took its lines, the share parsed, the event
 * time range read from the lines, and the shapes nothing understood. This is how a user
 * onboarding a log group finds what to map before any rule depends on it.
 */
export async function checkSources(
  paths: readonly string[],
  pack: RulePack,
  options: { logGroup?: string; logStream?: string; receivedAt?: number; min: number },
): Promise<SourcesReport> {
  const normalizer = new Normalizer(pack.sources);
  const skips = new SkipLedger();
  const perGroup = new Map<
    string,
    { parse: ParseStats; patterns: Map<string, number>; first: number; last: number; filter: FilterSample }
  >();
  for await (const item of readReplayInput(paths, {
    logGroup: options.logGroup,
    logStream: options.logStream,
    receivedAt: options.receivedAt,
  })) {
    if (item.kind === 'skip') {
      skips.add(item.skip);
      continue;
    }
    const { payload } = item;
    let g = perGroup.get(payload.logGroup);
    if (!g) {
      const { pattern, reason } = compileFilterPattern(payload.logGroup, pack.rules, pack.sources);
      g = {
        parse: new ParseStats(),
        patterns: new Map(),
        first: Number.POSITIVE_INFINITY,
        last: Number.NEGATIVE_INFINITY,
        filter: { pattern, reason, lines: 0, delivered: 0 },
      };
      perGroup.set(payload.logGroup, g);
    }
    const filter = g.filter;
    filter.lines += payload.logEvents.length;
    for (const e of payload.logEvents) if (filterPasses(filter.pattern, e.message)) filter.delivered++;
    for (const e of normalizePayload(payload, normalizer, skips, g.parse)) {
      const dataset = e['event.dataset'];
      const pattern =
        typeof dataset === 'string'
          ? dataset
          : e['event.original'] !== undefined && String(e['event.original']).trimStart().startsWith('{')
            ? '(json)'
            : '(none)';
      g.patterns.set(pattern, (g.patterns.get(pattern) ?? 0) + 1);
      const t = eventTime(e);
      if (t < g.first) g.first = t;
      if (t > g.last) g.last = t;
    }
  }
  const groups: GroupReport[] = [...perGroup].map(([logGroup, g]) => {
    const { source, reason: why, unbelieved } = normalizer.describeSource(logGroup);
    // Lines of a file read as of the file's own stream: an export of the service's records is
    // believed as delivered in the stream it came from.
    const reason =
      unbelieved && options.logGroup !== undefined && options.logStream === undefined
        ? `${why}; or, checking an export of them, pass --log-stream with the stream they came from`
        : why;
    const t = g.parse.totals;
    return {
      logGroup,
      source: source.name,
      reason,
      events: t.events,
      parsed: t.events - t.unparsed,
      share: t.events === 0 ? 0 : (t.events - t.unparsed) / t.events,
      timeFromLine: t.events - t.timeFallback,
      deliveryTime: source.time === 'delivery',
      ...(t.events > 0 ? { firstEvent: new Date(g.first).toISOString(), lastEvent: new Date(g.last).toISOString() } : {}),
      patterns: Object.fromEntries([...g.patterns].sort((a, b) => b[1] - a[1])),
      topUnparsed: g.parse.topShapes(10),
      filter: g.filter,
    };
  });
  return {
    groups,
    skipped: skips.events,
    skippedByReason: skips.toJSON(),
    passed: groups.length > 0 && groups.every((g) => g.share >= options.min),
    min: options.min,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatSourcesReport(report: SourcesReport): string {
  const lines: string[] = [];
  for (const g of report.groups) {
    lines.push(`${g.logGroup} → source '${g.source}' (${g.reason})`);
    lines.push(
      `  ${g.events} event(s): parsed ${g.parsed} (${pct(g.share)}; minimum ${pct(report.min)})${g.share < report.min ? '  BELOW MINIMUM' : ''}`,
    );
    if (g.firstEvent) lines.push(`  event time ${g.firstEvent} … ${g.lastEvent}; read from the line for ${g.timeFromLine} of ${g.events}`);
    // A sample file has no CloudWatch delivery times: the lines' own are shown, which the detector will not use.
    if (g.deliveryTime)
      lines.push("  deployed, these events take the time CloudWatch holds for them, not their lines' (source `time: delivery`)");
    const patterns = Object.entries(g.patterns);
    lines.push(
      `  parsers: ${patterns
        .slice(0, 12)
        .map(([p, n]) => `${p} ${n}`)
        .join(', ')}${patterns.length > 12 ? ', …' : ''}`,
    );
    lines.push(
      g.filter.pattern === ''
        ? `  subscription filter: every line delivered (${g.filter.reason})`
        : `  subscription filter: delivers ${g.filter.delivered} of the sample's ${g.filter.lines} lines (${pct(g.filter.lines === 0 ? 0 : g.filter.delivered / g.filter.lines)}); no rule can match the rest (${g.filter.pattern.length}-character pattern)`,
    );
    if (g.topUnparsed.length > 0) {
      lines.push('  unparsed shapes (digits masked), with an example:');
      for (const s of g.topUnparsed)
        lines.push(`    ${String(s.count).padStart(6)}  ${s.shape}`, `            e.g. ${s.example.slice(0, 160)}`);
      if (g.topUnparsed.some((s) => looksLikeFlowRecord(s.example))) {
        lines.push(
          '  these look like VPC Flow Logs in a custom format: give the group a source with `builtin: vpcflow` and the',
          "  flow log's format as `flowLogFormat` (see the README)",
        );
      }
    }
  }
  if (report.groups.length === 0) lines.push('no log events in the input');
  if (report.skipped > 0)
    lines.push(
      `skipped ${report.skipped} event(s): ${Object.entries(report.skippedByReason)
        .map(([r, n]) => `${r}=${n}`)
        .join(', ')}`,
    );
  lines.push(
    report.passed
      ? 'ok: every log group is parsed at or above the minimum'
      : 'FAILED: a log group is parsed below the minimum (map its fields or add a parser, see the shapes above)',
  );
  return lines.join('\n');
}
