import type { DigestEntry, DigestedSince } from '../engine/digests';
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
    /** What each digested alert's condition has seen by now, by alert id (readDigestedSince). */
    since?: ReadonlyMap<string, DigestedSince>;
  },
  ctx: AlertContext,
): Alert {
  const { start, end, entries, route, since } = input;
  const byRule = new Map<string, DigestEntry[]>();
  // Pushed, not copied per entry: a flood's interval was quadratic that way (minutes at 200,000).
  for (const e of entries) {
    const list = byRule.get(e.ruleId);
    if (list) list.push(e);
    else byRule.set(e.ruleId, [e]);
  }
  const digest = [...byRule]
    .map(([ruleId, list]) => {
      const entities = topEntities(list, since);
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
        entities: entities.map(({ value, account, detections, occurrences, lastSeen }) => ({
          value,
          detections,
          ...(account === undefined ? {} : { account }),
          ...(occurrences === undefined ? {} : { occurrences, lastSeen: new Date(lastSeen).toISOString() }),
        })),
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
      'Low-severity detections of the interval, for review in working hours. Each rule lists its top entities — how many of its detections each is (×n) and what their alerts have counted since they opened (occurrences) — and a Logs Insights link.',
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

interface EntityTally {
  value: string;
  account: string | undefined;
  detections: number;
  /** Qualifying events of its alerts, as their conditions last said (undefined: no entry says: an absence's, or one stored before entries kept it). */
  occurrences: number | undefined;
  lastSeen: number;
}

/**
 * A rule's entities in the interval, the most detected first and, among as many detections, the
 * one with the most occurrences: how much each did, not only how often it was digested (an entry
 * is written when a condition opens or escalates; its alert's later occurrences are in `since`).
 * Two accounts' `root` are two entities (src/engine/entity-scope.ts).
 */
function topEntities(list: readonly DigestEntry[], since: ReadonlyMap<string, DigestedSince> | undefined): EntityTally[] {
  const byEntity = new Map<string, EntityTally>();
  // One map of the alerts for every entity (an alert is one entity's): a flood's interval holds 200,000.
  const alerts = new Map<string, { entity: EntityTally; written: DigestedSince | undefined }>();
  for (const e of list) {
    const key = scopedKey(e.entity.value, e.entity.account);
    let entity = byEntity.get(key);
    if (!entity) {
      entity = {
        value: e.entity.value,
        account: e.entity.account,
        detections: 0,
        occurrences: undefined,
        lastSeen: Number.NEGATIVE_INFINITY,
      };
      byEntity.set(key, entity);
    }
    entity.detections++;
    // An alert digested twice (opened, then escalated): its latest word counts, once.
    const written = e.occurrences === undefined ? undefined : { occurrences: e.occurrences, lastSeen: e.eventAt ?? e.at };
    const known = alerts.get(e.alertId);
    if (known) known.written = later(known.written, written);
    else alerts.set(e.alertId, { entity, written });
  }
  for (const [alertId, { entity, written }] of alerts) {
    const latest = later(written, since?.get(alertId));
    if (!latest) continue;
    entity.occurrences = (entity.occurrences ?? 0) + latest.occurrences;
    entity.lastSeen = Math.max(entity.lastSeen, latest.lastSeen);
  }
  return [...byEntity.values()]
    .sort(
      (a, b) =>
        b.detections - a.detections ||
        (b.occurrences ?? 0) - (a.occurrences ?? 0) ||
        a.value.localeCompare(b.value) ||
        (a.account ?? '').localeCompare(b.account ?? ''),
    )
    .slice(0, TOP_ENTITIES);
}

/** Of two words about one alert, the one that has seen more. */
function later(a: DigestedSince | undefined, b: DigestedSince | undefined): DigestedSince | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.occurrences > a.occurrences || (b.occurrences === a.occurrences && b.lastSeen > a.lastSeen) ? b : a;
}
