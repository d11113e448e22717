import type { CorrelationRule } from '../schema/rule';
import { inWindow, type RiskRecord, riskOf, type WindowMember } from './risk';

/**
 * Pure correlation: given what is known about one entity (user, IP, host: one risk record per
 * rule that detected something about it) and the correlation rules, decide which incidents hold.
 * Called by the correlate task inside the Step Functions state machine, by `detect replay` (the
 * same state machine run locally) and by the rule tests.
 *
 * Per correlation rule whose entity field matches:
 * - the window ends at the newest detection about the entity and reaches back `window`;
 * - members are distinct rules (by id or `tag:`), each counted once;
 * - every `require` group needs a member in the window; with `ordered`, groups must first appear
 *   in the listed order;
 * - risk is the risk model of ./risk.ts (one observed event counts once) and must reach
 *   `riskThreshold`.
 */
export interface Entity {
  field: string;
  value: string;
}

function memberMatches(ref: string, record: RiskRecord): boolean {
  return ref.startsWith('tag:') ? record.tags.includes(ref.slice(4)) : record.ruleId === ref;
}

export interface IncidentDecision {
  rule: CorrelationRule;
  members: WindowMember[];
  riskScore: number;
  /** The newest detection the incident rests on. */
  at: number;
}

export function evaluateCorrelations(
  entity: Entity,
  records: readonly RiskRecord[],
  rules: readonly CorrelationRule[],
): IncidentDecision[] {
  const decisions: IncidentDecision[] = [];
  let end = Number.NEGATIVE_INFINITY;
  for (const r of records) for (const o of r.occurrences) end = Math.max(end, o.lastSeen);
  if (!Number.isFinite(end)) return decisions;

  for (const rule of rules) {
    const c = rule.correlation;
    if (rule.disabled || c.entity !== entity.field) continue;
    const members = records
      .filter((r) => c.members.some((ref) => memberMatches(ref, r)))
      .flatMap((r) => inWindow(r, end, c.window) ?? [])
      .sort((a, b) => a.firstSeen - b.firstSeen || a.record.ruleId.localeCompare(b.record.ruleId));
    const groups = c.require ?? c.members.map((m) => [m]);
    const firstTimes: number[] = [];
    let satisfied = true;
    for (const group of groups) {
      const hits = members.filter((m) => group.some((ref) => memberMatches(ref, m.record)));
      if (hits.length === 0) {
        satisfied = false;
        break;
      }
      firstTimes.push(Math.min(...hits.map((h) => h.firstSeen)));
    }
    if (!satisfied) continue;
    if (c.ordered && firstTimes.some((t, i) => i > 0 && t < (firstTimes[i - 1] ?? 0))) continue;
    const risk = riskOf(members);
    if (risk < c.riskThreshold) continue;
    decisions.push({ rule, members, riskScore: risk, at: Math.max(...members.map((m) => m.lastSeen)) });
  }
  return decisions;
}
