import type { CorrelationRule } from '../schema/rule';
import { inWindow, type RiskRecord, riskOf, type WindowMember } from './risk';

/**
 * Pure correlation: given what is known about one entity (user, IP, host: one risk record per
 * rule that detected something about it) and the correlation rules, decide which incidents hold.
 * Called by the correlate task inside the Step Functions state machine, by `detect replay` (the
 * same state machine run locally) and by the rule tests.
 *
 * Per correlation rule whose entity field matches:
 * - an incident holds when some window of `window` holds what the rule requires; a window ends at
 *   one of its members' detections. Decided as each detection arrives, the windows tried are those
 *   holding it (from it to a window after it): a detection delivered late — its log group's
 *   deliveries retried for hours — still completes the incident its members make with it, and
 *   detections after the window do not hide it;
 * - members are distinct rules (by id or `tag:`), each counted once;
 * - every `require` group needs a member in the window; with `ordered`, one detection of each
 *   group must follow one of the group before it (a login, then an access, then an export: an
 *   access before the login does not undo the chain, so a detection arriving late never unmakes
 *   an incident told before it came);
 * - risk is the risk model of ./risk.ts (one observed event counts once) and must reach
 *   `riskThreshold`.
 */
export interface Entity {
  field: string;
  value: string;
}

function memberMatches(ref: string, record: { ruleId: string; tags: readonly string[] }): boolean {
  return ref.startsWith('tag:') ? record.tags.includes(ref.slice(4)) : record.ruleId === ref;
}

export interface IncidentDecision {
  rule: CorrelationRule;
  members: WindowMember[];
  riskScore: number;
  /** The newest detection the incident rests on. */
  at: number;
}

/** The detection being correlated: only the rules it is a member of are decided, over the windows holding it. */
export interface Arriving {
  ruleId: string;
  tags: readonly string[];
  lastSeen: number;
}

export function evaluateCorrelations(
  entity: Entity,
  records: readonly RiskRecord[],
  rules: readonly CorrelationRule[],
  arriving?: Arriving,
): IncidentDecision[] {
  const decisions: IncidentDecision[] = [];
  for (const rule of rules) {
    const c = rule.correlation;
    if (rule.disabled || c.entity !== entity.field) continue;
    if (arriving && !c.members.some((ref) => memberMatches(ref, arriving))) continue;
    const memberRecords = records.filter((r) => c.members.some((ref) => memberMatches(ref, r)));
    // Where a window can end: at a member's detection (from the arriving one to a window after it).
    const ends = [...new Set(memberRecords.flatMap((r) => r.occurrences.map((o) => o.lastSeen)))]
      .filter((end) => !arriving || (end >= arriving.lastSeen && end <= arriving.lastSeen + c.window))
      .sort((a, b) => a - b);
    for (const end of ends) {
      const decision = decideWindow(rule, memberRecords, end);
      if (!decision) continue;
      decisions.push(decision);
      break;
    }
  }
  return decisions;
}

/** The incident the window ending at `end` holds, if it holds one. */
function decideWindow(rule: CorrelationRule, memberRecords: readonly RiskRecord[], end: number): IncidentDecision | undefined {
  const c = rule.correlation;
  const members = memberRecords
    .flatMap((r) => inWindow(r, end, c.window) ?? [])
    .sort((a, b) => a.firstSeen - b.firstSeen || a.record.ruleId.localeCompare(b.record.ruleId));
  const groups = c.require ?? c.members.map((m) => [m]);
  // Each group's detections in the window, by when each began (ascending).
  const starts = groups.map((group) =>
    members
      .filter((m) => group.some((ref) => memberMatches(ref, m.record)))
      .flatMap((m) => m.starts)
      .sort((a, b) => a - b),
  );
  if (starts.some((s) => s.length === 0)) return undefined;
  if (c.ordered && !chained(starts)) return undefined;
  const risk = riskOf(members);
  if (risk < c.riskThreshold) return undefined;
  return { rule, members, riskScore: risk, at: Math.max(...members.map((m) => m.lastSeen)) };
}

/** Whether one time of each list follows one of the list before it (each list ascending): the earliest that does, greedily. */
function chained(starts: readonly (readonly number[])[]): boolean {
  let after = Number.NEGATIVE_INFINITY;
  for (const times of starts) {
    const next = times.find((t) => t >= after);
    if (next === undefined) return false;
    after = next;
  }
  return true;
}
