import type { DigestEntry } from '../engine/digests';
import { scopedKey } from '../engine/entity-scope';
import type { Alert } from '../schema/alert';
import { type AlertContext, stableId } from './build';
import { logsInsightsQuery, logsInsightsQueryForAny, logsInsightsUrl } from './insights';

const TOP_ENTITIES = 5;

/**
 * One review-tier digest: detections per rule in the interval, with their top entities and a Logs
 * Insights link per rule. Published once per interval to the review topic instead of one message
 * per low-severity detection.
 */
export function buildDigestAlert(
  input: {
    start: number;
    end: number;
    entries: readonly DigestEntry[];
    /** A route's digest: its id (`r-…`) and what it covers, for the title. */
    route?: { id: string; label: string };
  },
  ctx: AlertContext,
): Alert {
  const { start, end, entries, route } = input;
  const byRule = new Map<string, DigestEntry[]>();
  // Pushed, not copied per entry: a flood's interval was quadratic that way (minutes at 200,000).
  for (const e of entries) {
    const list = byRule.get(e.ruleId);
    if (list) list.push(e);
    else byRule.set(e.ruleId, [e]);
  }
  const digest = [...byRule]
    .map(([ruleId, list]) => {
      // Per entity: two accounts' `root` are two lines (src/engine/entity-scope.ts).
      const counts = new Map<string, { value: string; account: string | undefined; detections: number }>();
      for (const e of list) {
        const key = scopedKey(e.entity.value, e.entity.account);
        const known = counts.get(key);
        if (known) known.detections++;
        else counts.set(key, { value: e.entity.value, account: e.entity.account, detections: 1 });
      }
      const entities = [...counts.values()]
        .sort((a, b) => b.detections - a.detections || a.value.localeCompare(b.value) || (a.account ?? '').localeCompare(b.account ?? ''))
        .slice(0, TOP_ENTITIES);
      const groups = [...new Set(list.flatMap((e) => e.logGroups))].sort().slice(0, 10);
      // Every entity the digest lists for the rule: a link to the first alone left the others' lines unfound.
      const query = logsInsightsQueryForAny(entities.map((e) => e.value));
      // From its earliest evidence to its latest: an absence's last event, a log running behind,
      // precede the interval; a log running ahead follows it.
      const from = list.reduce((t, e) => Math.min(t, e.eventAt ?? e.at), start);
      const to = list.reduce((t, e) => Math.max(t, e.eventAt ?? e.at), end);
      const latest = list.reduce((a, b) => (b.at > a.at ? b : a));
      const counted = latest.counted ? { ...latest.counted, entity: latest.entity.value } : undefined;
      return {
        ruleId,
        title: latest.title,
        severity: latest.severity,
        detections: list.length,
        entities: entities.map(({ value, account, detections }) => ({ value, detections, ...(account === undefined ? {} : { account }) })),
        ...(counted ? { counted } : {}),
        logsInsightsQuery: query,
        consoleUrl: logsInsightsUrl(ctx.region, groups, query, from, to),
      };
    })
    .sort((a, b) => b.detections - a.detections || a.ruleId.localeCompare(b.ruleId));
  const logGroups = [...new Set(entries.flatMap((e) => e.logGroups))].sort();
  // Not Math.min(...times): an interval of a flood's held detections passes the arguments limit.
  const first = entries.reduce((t, e) => Math.min(t, e.at), Number.POSITIVE_INFINITY);
  const last = entries.reduce((t, e) => Math.max(t, e.at), Number.NEGATIVE_INFINITY);
  const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
  const query = logsInsightsQuery('');
  return {
    schemaVersion: '1',
    id: route ? stableId('dig', String(start), String(end), route.id) : stableId('dig', String(start), String(end)),
    kind: 'digest',
    ruleId: 'sentinel.digest',
    title: `Review digest ${new Date(start).toISOString().slice(0, 10)} ${hhmm(start)}–${hhmm(end)} UTC${route ? ` for ${route.label}` : ''}: ${entries.length} detection(s) from ${digest.length} rule(s)`,
    description:
      'Low-severity detections of the interval, for review in working hours. Each rule lists its top entities and a Logs Insights link.',
    severity: 'low',
    tier: 'review',
    riskScore: 0,
    entity: { field: 'digest', value: new Date(start).toISOString() },
    window: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
    count: entries.length,
    firstSeen: new Date(first).toISOString(),
    lastSeen: new Date(last).toISOString(),
    logGroups,
    events: [],
    tags: [],
    runbook: 'docs/runbooks/review-digest.md',
    recommendedActions: ['Review each rule below in working hours; escalate an entity that also appears in notify or respond alerts'],
    logsInsightsQuery: query,
    consoleUrl: logsInsightsUrl(ctx.region, logGroups, query, start, end),
    related: {},
    status: 'open',
    occurrences: entries.length,
    openedAt: new Date(start).toISOString(),
    digest,
  };
}
