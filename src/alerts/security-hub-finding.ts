import { isIP } from 'node:net';
import type { AwsSecurityFinding, BatchImportFindingsResponse, Resource, SeverityLabel } from '@aws-sdk/client-securityhub';
import { isInstanceId } from '../parse/aws/cloudtrail';
import { SENTINEL_GENERATOR_PREFIX } from '../parse/aws/security-hub';
import { Alert } from '../schema/alert';
import type { Severity } from '../schema/severity';
import { bounded } from './truncate';

/**
 * Sentinel's alerts as AWS Security Hub findings (ASFF), imported with BatchImportFindings under
 * the account's default product (a custom integration): where cloud teams already triage
 * GuardDuty, Inspector and their control checks, and where their automation rules, tickets and
 * cross-Region aggregation already run.
 *
 * One alert is one finding: the alert's id is the finding's, so its escalation raises the same
 * finding's severity (through FindingProviderFields, the fields a provider updates) and its
 * resolved notice archives it (RecordState; the workflow is the responders' own). Only published
 * detections and incidents of the notify and respond tiers are findings — digests and the
 * stack's notices to the team are not. Their text is the alert's, already redacted.
 *
 * BatchImportFindings takes a finding only from the account it names (AwsAccountId): the
 * deployment's own. In many-account mode the account an alert is about is in its resource and
 * product fields.
 */

/** What every finding of a deployment shares: its product (the account's default), account, Region and partition, and when it is written. */
export interface FindingContext {
  productArn: string;
  account: string;
  region: string;
  partition: string;
  now: () => Date;
}

const LABELS: Record<Severity, SeverityLabel> = {
  info: 'INFORMATIONAL',
  low: 'LOW',
  medium: 'MEDIUM',
  high: 'HIGH',
  critical: 'CRITICAL',
};

/** ATT&CK tactics (the rules' `attack.*` tags) as ASFF finding types; a rule with none is unusual behavior. */
const TACTIC_TYPES: Record<string, string> = {
  'attack.reconnaissance': 'TTPs/Discovery',
  'attack.resource_development': 'TTPs',
  'attack.initial_access': 'TTPs/Initial Access',
  'attack.execution': 'TTPs/Execution',
  'attack.persistence': 'TTPs/Persistence',
  'attack.privilege_escalation': 'TTPs/Privilege Escalation',
  'attack.defense_evasion': 'TTPs/Defense Evasion',
  'attack.credential_access': 'TTPs/Credential Access',
  'attack.discovery': 'TTPs/Discovery',
  'attack.lateral_movement': 'TTPs/Lateral Movement',
  'attack.collection': 'TTPs/Collection',
  'attack.command_and_control': 'TTPs/Command and Control',
  'attack.exfiltration': 'Effects/Data Exfiltration',
  'attack.impact': 'Effects',
};

/** At most this many related entities become resources of their own (ASFF allows 32). */
const MAX_RELATED_RESOURCES = 10;

/** `namespace/category/classifier`, the rule id the classifier: one type per tactic, at most 50. */
function findingTypes(alert: Pick<Alert, 'tags' | 'ruleId'>): string[] {
  const categories = [...new Set(alert.tags.map((t) => TACTIC_TYPES[t]).filter((t): t is string => t !== undefined))];
  const types = categories.length > 0 ? categories : ['Unusual Behaviors/Application'];
  return types.slice(0, 50).map((t) => `${t}/${alert.ruleId}`);
}

/**
 * The entity a finding is about as a resource, its account and field beside it: an EC2 instance
 * (by id, in a known account) as Security Hub names one — `AwsEc2Instance` and its ARN, so the
 * finding sits beside GuardDuty's and Inspector's about the same instance —, anything else as
 * `Other`.
 */
function entityResource(field: string, value: string, account: string | undefined, ctx: FindingContext, region: string): Resource {
  const partition = ctx.partition === 'aws-cn' || ctx.partition === 'aws-us-gov' ? ctx.partition : 'aws';
  const details = { Other: { field, value: bounded(value, 1024), ...(account === undefined ? {} : { account }) } };
  if (isInstanceId(value) && account !== undefined && AWS_ACCOUNT.test(account))
    return {
      Type: 'AwsEc2Instance',
      Id: `arn:${partition}:ec2:${region}:${account}:instance/${value}`,
      Partition: partition,
      Region: region,
      Details: details,
    };
  return { Type: 'Other', Id: bounded(`${field}=${value}`, 512), Partition: partition, Region: region, Details: details };
}

const AWS_ACCOUNT = /^\d{12}$/;

/** Whether a published alert is a finding: a detection or incident told to the team or paged (not a digest, a notice, a review-tier message). */
const isFinding = (alert: Pick<Alert, 'kind' | 'ruleId' | 'tier'>): boolean =>
  alert.kind !== 'digest' && !alert.ruleId.startsWith('sentinel.') && alert.tier !== 'review';

/** The finding for one published alert, or undefined when it is no finding. */
export function securityHubFinding(alert: Alert, ctx: FindingContext): AwsSecurityFinding | undefined {
  if (!isFinding(alert)) return undefined;
  const severity = { Label: LABELS[alert.severity], Original: alert.severity };
  const types = findingTypes(alert);
  const region = alert.cloud?.region ?? ctx.region;
  const about = alert.cloud?.account.id ?? alert.entity.account;
  const related = Object.entries(alert.related)
    .flatMap(([field, values]) => values.map((value) => ({ field, value })))
    .filter((r) => !(r.field === alert.entity.field && r.value === alert.entity.value))
    .slice(0, MAX_RELATED_RESOURCES);
  const ip = isIP(alert.entity.value);
  const productFields: Record<string, string> = {
    'sentinel/ruleId': alert.ruleId,
    'sentinel/kind': alert.kind,
    'sentinel/tier': alert.tier,
    'sentinel/status': alert.status,
    'sentinel/riskScore': String(alert.riskScore),
    'sentinel/count': String(alert.count),
    'sentinel/entity': bounded(`${alert.entity.field}=${alert.entity.value}`, 2048),
    ...(about === undefined ? {} : { 'sentinel/account': about }),
    ...(alert.logGroups.length > 0 ? { 'sentinel/logGroups': bounded(alert.logGroups.join(', '), 2048) } : {}),
    ...(alert.category ? { 'sentinel/category': alert.category } : {}),
    ...(alert.response ? { 'sentinel/response': bounded(alert.response, 2048) } : {}),
    ...(alert.members ? { 'sentinel/members': bounded(alert.members.join(', '), 2048) } : {}),
    ...(alert.foldedInto ? { 'sentinel/foldedInto': alert.foldedInto.id } : {}),
    ...(alert.acknowledged ? { 'sentinel/acknowledgedBy': bounded(alert.acknowledged.by, 2048) } : {}),
  };
  const actions = alert.recommendedActions.join(' ');
  const runbook = /^https:\/\//.test(alert.runbook) ? alert.runbook : undefined;
  return {
    SchemaVersion: '2018-10-08',
    Id: alert.id,
    ProductArn: ctx.productArn,
    GeneratorId: `${SENTINEL_GENERATOR_PREFIX}${alert.ruleId}`,
    AwsAccountId: ctx.account,
    CompanyName: 'Sentinel',
    ProductName: 'Sentinel',
    Types: types,
    FirstObservedAt: alert.firstSeen,
    LastObservedAt: alert.lastSeen,
    CreatedAt: alert.openedAt,
    UpdatedAt: ctx.now().toISOString(),
    Severity: severity,
    // What a provider updates after the finding exists (an escalation raises it); Severity and Types above are read on creation.
    FindingProviderFields: { Severity: severity, Types: types },
    Title: bounded(alert.title, 256),
    Description: bounded(alert.description || alert.title, 1024),
    SourceUrl: alert.consoleUrl,
    ...(actions || runbook
      ? { Remediation: { Recommendation: { ...(actions ? { Text: bounded(actions, 512) } : {}), ...(runbook ? { Url: runbook } : {}) } } }
      : {}),
    ProductFields: productFields,
    Resources: [
      entityResource(alert.entity.field, alert.entity.value, about, ctx, region),
      ...related.map((r) => entityResource(r.field, r.value, alert.relatedAccounts?.[`${r.field}=${r.value}`] ?? about, ctx, region)),
    ],
    ...(ip === 4 ? { Network: { Direction: 'IN', SourceIpV4: alert.entity.value } } : {}),
    ...(ip === 6 ? { Network: { Direction: 'IN', SourceIpV6: alert.entity.value } } : {}),
    // A resolved alert's finding is archived: its product retired it (the responders' workflow status stays theirs).
    RecordState: alert.status === 'resolved' ? 'ARCHIVED' : 'ACTIVE',
  };
}

/** One queued message: its queue id and its body (an SNS message: alert JSON). */
export interface QueuedMessage {
  id: string;
  body: string;
}

export interface ExportOutcome {
  /** The findings imported, by alert id. */
  imported: string[];
  /** Messages that are no finding (a digest, a notice, no alert at all), said why. */
  skipped: string[];
  /** Messages whose finding Security Hub refused: to be delivered again (and parked once their tries are spent). */
  failed: string[];
  /** Why Security Hub refused them. */
  refusals: string[];
}

/** Later in an alert's life: a resolution over an escalation over an opening or reminder, then the later event. */
const STATUS_ORDER: Record<Alert['status'], number> = { open: 0, reminder: 0, escalated: 1, resolved: 2 };
const isLater = (a: Alert, than: Alert) =>
  STATUS_ORDER[a.status] !== STATUS_ORDER[than.status] ? STATUS_ORDER[a.status] > STATUS_ORDER[than.status] : a.lastSeen > than.lastSeen;

/**
 * Imports the findings of a batch of queued messages in one call (Security Hub takes 100 per
 * call, 10 calls a second per account and Region). Messages about the same alert (an opening and
 * its escalation queued together) are one finding: the latest in the alert's life. What is no
 * alert or no finding is skipped; the messages of a finding Security Hub refuses are `failed`.
 * A call that fails as a whole (throttled past the SDK's retries, Security Hub not enabled) throws.
 */
export async function exportToSecurityHub(
  messages: readonly QueuedMessage[],
  ctx: FindingContext,
  importFindings: (findings: AwsSecurityFinding[]) => Promise<Pick<BatchImportFindingsResponse, 'FailedFindings'>>,
): Promise<ExportOutcome> {
  const latest = new Map<string, { alert: Alert; messageIds: string[] }>();
  const skipped: string[] = [];
  for (const message of messages) {
    const parsed = Alert.safeParse(parseJson(message.body));
    if (!parsed.success) {
      skipped.push(`${message.id}: not an alert`);
      continue;
    }
    const alert = parsed.data;
    if (!isFinding(alert)) {
      skipped.push(`${message.id}: ${alert.ruleId} ${alert.id} (${alert.kind}, ${alert.tier})`);
      continue;
    }
    const known = latest.get(alert.id);
    if (!known) latest.set(alert.id, { alert, messageIds: [message.id] });
    else {
      known.messageIds.push(message.id);
      if (isLater(alert, known.alert)) known.alert = alert;
    }
  }
  const findings = [...latest.values()].flatMap(({ alert }) => securityHubFinding(alert, ctx) ?? []);
  if (findings.length === 0) return { imported: [], skipped, failed: [], refusals: [] };
  const answer = await importFindings(findings);
  const refused = new Map((answer.FailedFindings ?? []).map((f) => [f.Id ?? '', `${f.Id}: ${f.ErrorCode} ${f.ErrorMessage}`]));
  return {
    imported: findings.map((f) => f.Id ?? '').filter((id) => !refused.has(id)),
    skipped,
    failed: [...latest].flatMap(([id, { messageIds }]) => (refused.has(id) ? messageIds : [])),
    refusals: [...refused.values()],
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
