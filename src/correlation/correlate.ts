import { type AlertContext, buildIncidentAlert, type MemberRecord } from '../alerts/build';
import type { Alert } from '../schema/alert';
import type { CorrelationRule } from '../schema/rule';

/**
 * Pure correlation: given the detections recorded for one entity (user, IP or host) and the
 * correlation rules, decide which incidents hold. Called by the correlate Lambda inside the
 * Step Functions state machine, by `detect replay`, and by the rule tests.
 *
 * Semantics, per correlation rule whose entity field matches:
 * - the window ends at the newest member detection and reaches back `window`;
 * - each member rule counts once (its highest risk), so ten brute-force alerts do not add up;
 * - every `require` group needs at least one member present; with `ordered`, groups must
 *   first appear in the listed order;
 * - risk = min(10, sum of the distinct members' risk scores) and must reach `riskThreshold`.
 */
export interface Entity {
  field: string;
  value: string;
}

function memberMatches(ref: string, m: MemberRecord): boolean {
  return ref.startsWith('tag:') ? m.tags.includes(ref.slice(4)) : m.ruleId === ref;
}

export interface IncidentDecision {
  rule: CorrelationRule;
  members: MemberRecord[];
  riskScore: number;
  /** Time the incident's window closes: its dedup marker lives until then. */
  windowEndsAt: number;
}

export function evaluateCorrelations(
  entity: Entity,
  records: readonly MemberRecord[],
  rules: readonly CorrelationRule[],
): IncidentDecision[] {
  const decisions: IncidentDecision[] = [];
  const byTime = [...records].sort((a, b) => a.lastSeen.localeCompare(b.lastSeen) || a.id.localeCompare(b.id));
  const newest = byTime[byTime.length - 1];
  if (!newest) return decisions;
  const end = Date.parse(newest.lastSeen);

  for (const rule of rules) {
    const c = rule.correlation;
    if (rule.disabled || c.entity !== entity.field) continue;
    const inWindow = byTime.filter((m) => Date.parse(m.lastSeen) >= end - c.window && c.members.some((ref) => memberMatches(ref, m)));
    // Each member rule counts once, with its highest risk and earliest appearance.
    const perRule = new Map<string, MemberRecord>();
    for (const m of inWindow) {
      const prev = perRule.get(m.ruleId);
      if (!prev || m.riskScore > prev.riskScore)
        perRule.set(m.ruleId, prev && prev.firstSeen < m.firstSeen ? { ...m, firstSeen: prev.firstSeen } : m);
    }
    const distinct = [...perRule.values()];
    const groups = c.require ?? c.members.map((m) => [m]);
    const firstTimes: number[] = [];
    let satisfied = true;
    for (const group of groups) {
      const hits = inWindow.filter((m) => group.some((ref) => memberMatches(ref, m)));
      if (hits.length === 0) {
        satisfied = false;
        break;
      }
      firstTimes.push(Math.min(...hits.map((h) => Date.parse(h.firstSeen))));
    }
    if (!satisfied) continue;
    if (c.ordered && firstTimes.some((t, i) => i > 0 && t < (firstTimes[i - 1] ?? 0))) continue;
    const risk = Math.min(10, Math.round(distinct.reduce((sum, m) => sum + m.riskScore, 0) * 10) / 10);
    if (risk < c.riskThreshold) continue;
    const earliest = Math.min(...inWindow.map((m) => Date.parse(m.firstSeen)));
    decisions.push({ rule, members: inWindow, riskScore: risk, windowEndsAt: earliest + c.window });
  }
  return decisions;
}

/** Correlates and builds the incident alerts (ids are deterministic for the same first member). */
export function correlate(
  entity: Entity,
  records: readonly MemberRecord[],
  rules: readonly CorrelationRule[],
  ctx: AlertContext,
): { alert: Alert; windowEndsAt: number }[] {
  return evaluateCorrelations(entity, records, rules).map((d) => ({
    alert: buildIncidentAlert({ rule: d.rule, entity, members: d.members, riskScore: d.riskScore }, ctx),
    windowEndsAt: d.windowEndsAt,
  }));
}
