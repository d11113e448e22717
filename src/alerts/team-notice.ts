import type { Alert, AlertCloud, AlertEntity } from '../schema/alert';

/** The rule id of the notice telling the team who acknowledged which alerts (./acknowledgement-notice.ts). */
export const ACKNOWLEDGEMENT_NOTICE = 'sentinel.acknowledgement';

/** What one of the stack's own notices to the team says; the rest of its alert is the same for all of them. */
export interface TeamNotice {
  id: string;
  ruleId: string;
  title: string;
  description: string;
  entity: AlertEntity;
  /** When what it tells of happened (ms): its first and last seen, and its opening. */
  at: number;
  /** The span it is about (ms). */
  window: { from: number; to: number };
  runbook: string;
  recommendedActions: string[];
  logsInsightsQuery: string;
  consoleUrl: string;
  /** The account it is about, when one is: its `account` message attribute, for teams routed their own. */
  cloud?: AlertCloud;
}

/**
 * A notice of the stack's own (an exception added, an alert acknowledged): told once to the notify
 * tier, about one thing that happened at one time — no evidence, no risk, nothing to correlate.
 */
export function teamNoticeAlert(notice: TeamNotice): Alert {
  const at = new Date(notice.at).toISOString();
  return {
    schemaVersion: '1',
    id: notice.id,
    kind: 'detection',
    ruleId: notice.ruleId,
    title: notice.title,
    description: notice.description,
    severity: 'medium',
    tier: 'notify',
    riskScore: 0,
    entity: notice.entity,
    window: { start: new Date(notice.window.from).toISOString(), end: new Date(notice.window.to).toISOString() },
    count: 1,
    firstSeen: at,
    lastSeen: at,
    logGroups: [],
    events: [],
    tags: [],
    runbook: notice.runbook,
    recommendedActions: notice.recommendedActions,
    logsInsightsQuery: notice.logsInsightsQuery,
    consoleUrl: notice.consoleUrl,
    related: {},
    status: 'open',
    occurrences: 1,
    openedAt: at,
    ...(notice.cloud ? { cloud: notice.cloud } : {}),
  };
}
