import { type MemberRecord, toMemberRecord } from '../alerts/build';
import type { StateTableRef } from '../alerts/cloud';
import { chatbotMessage, snsMessage, subjectFor } from '../alerts/notification';
import { withRunbookLink } from '../alerts/runbook-link';
import { slimmerAlerts } from '../alerts/size-budget';
import { accountAttribute, alertAccount, entityAccount, scopedKey } from '../engine/entity-scope';
import type { Alert, AlertEntity, Message } from '../schema/alert';
import { ENTITY_FIELDS } from '../schema/event';

/** Message dedup records and risk records live this long (DynamoDB TTL deletes them after). */
export const RISK_RETENTION_MS = 7 * 86_400_000;

/** The partition of an entity's risk records: per account for names inside one (src/engine/entity-scope.ts). */
export function riskPk(entity: AlertEntity): string {
  return scopedKey(`risk#${entity.field}#${entity.value}`, entity.account);
}

/**
 * The state machine's input for one decided message. Everything ASL cannot compute (strings to
 * publish, keys, entities) is computed here, once, by the same code in Lambda and locally.
 */
export interface MessageEnvelope {
  /** Dedup key: a message already published is never published again (pending → published). */
  key: string;
  publish: boolean;
  correlate: boolean;
  publishFields: {
    subject: string;
    message: string;
    severity: string;
    tier: string;
    ruleId: string;
    status: string;
    account: string;
    /**
     * Whom the message is for: `all` (everyone subscribed to the tier), or a route's review digest
     * (`r-…`, src/engine/review-routes.ts), which only that route's subscribers take.
     */
    route: string;
    /**
     * The alert as an Amazon Q Developer in chat applications (AWS Chatbot) custom notification, for
     * the chat topic: only for the tiers the chat topic takes (the state machine skips it when absent).
     */
    chat?: string;
  };
  /** Incidents in the respond tier that just opened invoke the automated response (if configured), with this alert. */
  respond: boolean;
  response: Alert | null;
  /** TTL (epoch seconds) as text: ASL's numberFromString takes a string path. */
  expiresAtEpochText: string;
  /** Correlation only: the compact detection (JSON) and the entities it is about. */
  member: string;
  entities: AlertEntity[];
}

/**
 * Publish fields added after the first version, with what the state machine uses when an envelope
 * lacks one: during a deploy the state machine is updated before the detector that sends to it.
 * (`chat`, also added since, is skipped when absent.) A field added to `publishFields` that the
 * state machine reads belongs here.
 */
export const PUBLISH_FIELD_DEFAULTS = { account: 'none', route: 'all' } as const satisfies Partial<
  Record<keyof MessageEnvelope['publishFields'], string>
>;

/** The tiers whose messages go to the chat topic too (config `chat`); `all` where not known (local runs). */
export type ChatTiers = ReadonlySet<string> | 'all';

/**
 * How messages are written for people: which tiers get a chat rendering, the team's time zone
 * (config `timeZone`) beside UTC, and where runbook paths link to (config `runbookBaseUrl`, an
 * https URL ending in `/`; ../alerts/runbook-link.ts).
 */
export interface MessageStyle {
  chatTiers: ChatTiers;
  timeZone: string;
  runbookBase?: string | undefined;
  /** The state table an email's acknowledgement command names (the functions know it; local runs do not). */
  stateTable?: StateTableRef | undefined;
}

export const DEFAULT_STYLE: MessageStyle = { chatTiers: 'all', timeZone: 'UTC' };

export function publishFields(alert: Alert, style: MessageStyle = DEFAULT_STYLE, route?: string): MessageEnvelope['publishFields'] {
  const { chatTiers, timeZone, stateTable } = style;
  return {
    subject: subjectFor(alert),
    message: snsMessage(alert, timeZone, stateTable),
    severity: alert.severity,
    tier: alert.tier,
    ruleId: alert.ruleId,
    status: alert.status,
    account: accountAttribute(alert),
    route: route ?? 'all',
    // A route's digest repeats part of the digest the chat channel already gets.
    ...(route === undefined && (chatTiers === 'all' || chatTiers.has(alert.tier))
      ? { chat: JSON.stringify(chatbotMessage(alert, timeZone)) }
      : {}),
  };
}

/**
 * The entities a detection is about: its own entity and the related users, IPs, hosts and
 * services. Related names inside an account belong to the account the detection is about (its
 * entity's, else its trigger's), or, where its evidence spans accounts (a public address spraying
 * several), to the one the alert's `relatedAccounts` names.
 */
export function entitiesOf(alert: Alert): AlertEntity[] {
  const keys = new Map<string, AlertEntity>();
  const add = (entity: AlertEntity) => keys.set(scopedKey(`${entity.field}=${entity.value}`, entity.account), entity);
  if ((ENTITY_FIELDS as readonly string[]).includes(alert.entity.field)) add(alert.entity);
  const about = alertAccount(alert.entity, alert.cloud);
  for (const field of ENTITY_FIELDS) {
    for (const value of alert.related[field] ?? []) {
      const account = alert.relatedAccounts?.[`${field}=${value}`] ?? entityAccount(field, value, about);
      add({ field, value, ...(account === undefined ? {} : { account }) });
    }
  }
  return [...keys.values()].slice(0, 12);
}

/**
 * Step Functions state stops at 256 KB, and one state holds the detector's envelope and the
 * incidents correlation adds beside it: each side gets under half. An envelope over its budget
 * carries a slimmer alert (size-budget.ts) rather than fail its batch on every retry.
 */
export const ENVELOPE_BUDGET_BYTES = 120 * 1024;

export function envelopeOf(m: Message, budgetBytes = ENVELOPE_BUDGET_BYTES, style: MessageStyle = DEFAULT_STYLE): MessageEnvelope {
  let envelope = envelopeFor(m, m.alert, style);
  for (const slimmer of slimmerAlerts(m.alert)) {
    if (Buffer.byteLength(JSON.stringify(envelope)) <= budgetBytes) break;
    envelope = envelopeFor(m, slimmer, style);
  }
  return envelope;
}

function envelopeFor(m: Message, built: Alert, style: MessageStyle): MessageEnvelope {
  // What is published (and handed to the automated response) names its runbook as a link.
  const alert = withRunbookLink(built, style.runbookBase);
  const last = Date.parse(alert.lastSeen);
  const member: MemberRecord | undefined = m.correlate ? toMemberRecord(alert) : undefined;
  const respond = m.publish && alert.kind === 'incident' && alert.tier === 'respond' && alert.status === 'open';
  return {
    key: m.key,
    publish: m.publish,
    correlate: m.correlate,
    publishFields: publishFields(alert, style, m.route),
    respond,
    response: respond ? alert : null,
    expiresAtEpochText: String(Math.floor((last + RISK_RETENTION_MS) / 1000)),
    member: member ? JSON.stringify(member) : '',
    entities: m.correlate ? entitiesOf(alert) : [],
  };
}
