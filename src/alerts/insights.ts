import { searchablePart } from '../engine/bounded-value';

/**
 * A CloudWatch Logs Insights query that pulls the evidence for an alert. A bounded entity value
 * (a long one, kept as a prefix and a digest) is searched for by its prefix, which is in the line.
 */
export function logsInsightsQuery(entityValue: string): string {
  return logsInsightsQueryForAny([entityValue]);
}

/**
 * A query for the lines of any of these entities (a review digest's top entities of a rule): one
 * link that finds each entity the digest lists, not only its first. No entity: every line.
 */
export function logsInsightsQueryForAny(entityValues: readonly string[]): string {
  const quote = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  const terms = new Set(entityValues.map(searchablePart).filter((t) => t.length > 0));
  const filter = [...terms].map((t) => `@message like ${quote(t)}`).join(' or ');
  return [
    'fields @timestamp, @log, @logStream, @message',
    ...(filter.length > 0 ? [`| filter ${filter}`] : []),
    '| sort @timestamp desc',
    '| limit 200',
  ].join('\n');
}

/**
 * Console deep link that opens Logs Insights with the query, log groups and time range preset, in
 * the form the console's own address bar holds: the query detail's values escaped with `*` for
 * `%`, the detail percent-encoded twice (`~` as `$257E`, `(` as `$2528`, `'` as `$2527`) and every
 * `%` written `$`. Beside `*`, `$`, `.`, `-` and `_` it is letters and digits only: no character a
 * chat's markdown reads (`~` strikes through in Slack, `(` `)` end a Teams link), so the same
 * link goes to email and chat.
 */
export function logsInsightsUrl(region: string, logGroups: readonly string[], query: string, startMs: number, endMs: number): string {
  // A value's own `*` is escaped too: `*` is the escape.
  const esc = (s: string) => strictlyEncoded(s).replace(/\*/g, '%2A').replace(/%/g, '*');
  const sources = logGroups.map((g) => `~'${esc(g)}`).join('');
  const detail = `~(end~'${esc(new Date(endMs).toISOString())}~start~'${esc(new Date(startMs).toISOString())}~timeType~'ABSOLUTE~tz~'UTC~editorString~'${esc(query)}~source~(${sources}))`;
  const fragment = `logsV2:logs-insights${strictlyEncoded('?queryDetail=')}${strictlyEncoded(strictlyEncoded(detail))}`;
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#${fragment.replace(/%/g, '$')}`;
}

/** Percent-encoded as encodeURIComponent does, and its marks too (`!'()~`); `*` is left: it is the console's own escape. */
function strictlyEncoded(s: string): string {
  // Five scans with fixed replacements: a callback per mark cost more (a query's link has dozens).
  return encodeURIComponent(s).replace(/!/g, '%21').replace(/'/g, '%27').replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/~/g, '%7E');
}
