import { printable } from '../alerts/plain-text';
import type { ConsumedUnits } from '../local/consumed-capacity';
import type { ParseStats } from '../parse/parse-stats';
import type { Alert } from '../schema/alert';
import type { ReplayStats } from './replay';

/** The human summary printed on stderr after a replay. */
export function formatSummary(stats: ReplayStats, alerts: readonly Alert[], seconds: number): string {
  const byTier = new Map<string, number>();
  for (const a of alerts) byTier.set(a.tier, (byTier.get(a.tier) ?? 0) + 1);
  const incidents = alerts.filter((a) => a.kind === 'incident');
  const skipped = [...stats.skips.counts].map(([r, n]) => `${r}=${n}`).join(', ');
  const statuses = Object.entries(stats.publishedByStatus)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const lines = [
    `replayed ${stats.payloads} payload(s), ${stats.eventsIn} event(s) in ${seconds.toFixed(2)}s`,
    `  processed ${stats.eventsProcessed}, skipped ${stats.skips.events}${skipped ? ` (${skipped})` : ''}, matched a rule ${stats.matchedEvents}`,
    `  published ${alerts.length}: respond ${byTier.get('respond') ?? 0}, notify ${byTier.get('notify') ?? 0}, review ${byTier.get('review') ?? 0}; incidents ${incidents.length}${statuses ? ` (${statuses})` : ''}`,
    `  lifecycle: ${stats.decided} message(s) decided, ${stats.updates} silent update(s) (an open alert seen again: stored, correlated, not published)`,
  ];
  if (stats.exceptedEvents > 0) lines.push(`  exceptions: ${stats.exceptedEvents} rule match(es) left out`);
  if (stats.learnedTerms > 0)
    lines.push(`  learning: ${stats.learnedTerms} new term(s) learned without an alert (new-term rules in their learning period)`);
  lines.push(...formatParse(stats.parse));
  if (stats.redelivered > 0) lines.push(`  redelivered payloads ${stats.redelivered} (answered from their receipts, no state changed)`);
  if (stats.repeatedUndecided > 0)
    lines.push(`  repeated payloads that had decided nothing ${stats.repeatedUndecided} (no receipt kept; decided nothing again)`);
  if (stats.redecided > 0)
    lines.push(
      `  repeated payloads decided anew without a receipt ${stats.redecided} (later batches had changed the state they were decided over)`,
    );
  for (const s of stats.skips.samples.slice(0, 5)) lines.push(`  skipped ${s.reason} at ${s.where}: ${s.detail.split('\n')[0]}`);
  // Example lines, skip details and group names are what the logs said: printed as text only.
  return lines.map(printable).join('\n');
}

/**
 * What the state table consumed with the DynamoDB adapter (`--state dynalite`), beside the
 * detector's calls: units are what on-demand bills — an item by its size, so a call can cost
 * several — and include the correlation state machine's calls to the same table.
 */
export function storeUnits(calls: { reads: number; writes: number }, consumed: ConsumedUnits) {
  return {
    writeUnits: consumed.write,
    readUnits: consumed.read,
    refusedWrites: consumed.refusedWrites,
    detectorWrites: calls.writes,
    detectorReads: calls.reads,
  };
}

export function formatStoreUnits(units: ReturnType<typeof storeUnits>): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return `  DynamoDB: ${n(units.writeUnits)} write units and ${n(units.readUnits)} read units consumed (the detector's ${n(units.detectorWrites)} writes and ${n(units.detectorReads)} reads, and correlation's; items billed by size, index writes not counted)`;
}

/** One line per alert for people reading the demo. */
export function formatAlertLine(a: Alert): string {
  const kind =
    a.kind === 'incident'
      ? `INCIDENT ${a.category ?? ''} risk ${a.riskScore} members ${a.members?.length ?? 0}`
      : a.kind === 'digest'
        ? `DIGEST ${a.digest?.length ?? 0} rule(s)`
        : 'detection';
  return printable(
    `[${a.tier.padEnd(7)}] ${a.status.padEnd(9)} ${a.severity.padEnd(8)} ${a.ruleId.padEnd(34)} ${a.entity.field}=${a.entity.value}  ${kind}  — ${a.title}${a.foldedInto ? `  (part of the page: ${a.foldedInto.ruleId})` : ''}${a.outbreak && !a.outbreak.notice ? `  (outbreak: further alerts held for the digest until ${a.outbreak.heldUntil.slice(11, 16)} UTC)` : ''}`,
  );
}

/** Machine-readable replay figures (`detect replay --stats <file>`), used by the soak. */
export function statsJson(stats: ReplayStats, alerts: readonly Alert[], seconds: number) {
  return {
    payloads: stats.payloads,
    redelivered: stats.redelivered,
    repeatedUndecided: stats.repeatedUndecided,
    redecided: stats.redecided,
    eventsIn: stats.eventsIn,
    eventsProcessed: stats.eventsProcessed,
    eventsSkipped: stats.skips.events,
    eventsUnparsed: stats.parse.totals.unparsed,
    parse: stats.parse.toJSON(),
    skippedByReason: Object.fromEntries(stats.skips.counts),
    matchedEvents: stats.matchedEvents,
    decided: stats.decided,
    updates: stats.updates,
    learnedTerms: stats.learnedTerms,
    exceptedEvents: stats.exceptedEvents,
    published: alerts.length,
    publishedByStatus: stats.publishedByStatus,
    digests: stats.digests,
    seconds,
    // maxRSS is in KiB on Linux.
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

const pct = (n: number, of: number) => (of === 0 ? '0%' : `${((100 * n) / of).toFixed(1)}%`);

/** Parse accounting lines: unparsed in total and per log group, the top shapes, time fallbacks. */
export function formatParse(parse: ParseStats, shapes = 5): string[] {
  const t = parse.totals;
  if (t.events === 0) return [];
  const lines = [
    `  parsed ${t.events - t.unparsed} (${pct(t.events - t.unparsed, t.events)}), unparsed ${t.unparsed} (${pct(t.unparsed, t.events)}): no pattern read their text — only the raw message is known, or a syslog header's time, host and program`,
  ];
  const groups = [...parse.groups].filter(([, g]) => g.unparsed > 0).sort((a, b) => b[1].unparsed - a[1].unparsed);
  for (const [group, g] of groups.slice(0, 10))
    lines.push(`    ${group}: ${g.unparsed} of ${g.events} unparsed (${pct(g.unparsed, g.events)})`);
  const top = parse.topShapes(shapes);
  if (top.length > 0)
    lines.push('  top unparsed shapes (digits masked):', ...top.map((s) => `    ${String(s.count).padStart(6)}  ${s.shape}`));
  if (t.timeFallback > 0) lines.push(`  no usable time in ${t.timeFallback} line(s): the CloudWatch timestamp was used`);
  return lines;
}
