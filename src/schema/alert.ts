import { z } from 'zod';
import { Severity, Tier } from './severity';

/** Where a condition is in its lifecycle (src/engine/lifecycle.ts decides it). */
export const AlertStatus = z.enum(['open', 'escalated', 'reminder', 'resolved']);
export type AlertStatus = z.infer<typeof AlertStatus>;

export const AlertEvent = z.object({
  timestamp: z.string(),
  logGroup: z.string(),
  logStream: z.string(),
  eventId: z.string(),
  /** The original log line, secrets redacted, truncated to 2 KB. */
  message: z.string(),
});
export type AlertEvent = z.infer<typeof AlertEvent>;

/** The alert (contract, schemaVersion "1"): SNS message body and the replay JSONL line. */
/**
 * The account the events are about (CloudTrail's recipient account, else the log group's owner)
 * and the Region; `logsAccount` is where the log groups live when that is another account (an
 * organization trail delivered to a log-archive account).
 */
export const AlertCloud = z.object({
  account: z.object({ id: z.string() }),
  region: z.string(),
  logsAccount: z.string().optional(),
});
export type AlertCloud = z.infer<typeof AlertCloud>;

/** The page a detection is part of (src/engine/page-fold.ts): the alert that paged for its entity. */
export const FoldTarget = z.object({ id: z.string(), ruleId: z.string(), title: z.string() });
export type FoldTarget = z.infer<typeof FoldTarget>;

/**
 * What an alert is about: a field and its value, and the account it belongs to when the value is a
 * name inside one account (users, hosts, services, private addresses; src/engine/entity-scope.ts).
 */
export const AlertEntity = z.object({ field: z.string(), value: z.string(), account: z.string().optional() });
export type AlertEntity = z.infer<typeof AlertEntity>;

/** What a distinct-value rule counted: the first few values (redacted), of how many. */
export const CountedValues = z.object({ field: z.string(), values: z.array(z.string()), total: z.number().int().nonnegative() });
export type CountedValues = z.infer<typeof CountedValues>;

export const Alert = z.object({
  schemaVersion: z.literal('1'),
  id: z.string(),
  kind: z.enum(['detection', 'incident', 'digest']),
  ruleId: z.string(),
  title: z.string(),
  description: z.string(),
  severity: Severity,
  tier: Tier,
  riskScore: z.number(),
  entity: AlertEntity,
  window: z.object({ start: z.string(), end: z.string() }),
  count: z.number().int(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  logGroups: z.array(z.string()),
  events: z.array(AlertEvent),
  tags: z.array(z.string()),
  runbook: z.string(),
  recommendedActions: z.array(z.string()),
  logsInsightsQuery: z.string(),
  consoleUrl: z.string(),
  /** Incident only: the detection ids it correlates. */
  members: z.array(z.string()).optional(),
  /** Incident only: what each member detection was (the same order as `members`). */
  memberDetections: z
    .array(z.object({ id: z.string(), ruleId: z.string(), title: z.string(), firstSeen: z.string(), lastSeen: z.string() }))
    .optional(),
  /** Incident only: e.g. insider_threat. */
  category: z.string().optional(),
  /** Incident only: the response action the correlation rule asks for. */
  response: z.string().optional(),
  /** Other entities seen in the evidence, so correlation can key on user, IP and host. */
  related: z.record(z.string(), z.array(z.string())).default({}),
  /**
   * Evidence from several accounts only: the account of each related name inside one
   * (`field=value` → account id), so correlation files it under its own account.
   */
  relatedAccounts: z.record(z.string(), z.string()).optional(),
  /** Where the condition is in its lifecycle: one alert id from open to resolved (see src/engine/lifecycle.ts). */
  status: AlertStatus,
  /** Qualifying events (detections) or member observations (incidents) since the alert opened. */
  occurrences: z.number(),
  openedAt: z.string(),
  /** Digest only: detections per rule in the interval, with their top entities. */
  digest: z
    .array(
      z.object({
        ruleId: z.string(),
        title: z.string(),
        severity: Severity,
        detections: z.number(),
        entities: z.array(
          z.object({
            value: z.string(),
            /** Its detections digested in the interval (opened, re-opened or escalated). */
            detections: z.number(),
            account: z.string().optional(),
            /** Qualifying events of those alerts since they opened, as their conditions said when the digest was built. */
            occurrences: z.number().optional(),
            /** The last of them. */
            lastSeen: z.string().optional(),
          }),
        ),
        /** A distinct-value rule's latest detection in the interval: the first few values it counted, and its entity. */
        counted: CountedValues.extend({ entity: z.string() }).optional(),
        logsInsightsQuery: z.string(),
        consoleUrl: z.string(),
      }),
    )
    .optional(),
  /**
   * A respond-tier detection about an entity that already has a page open (another rule's, no
   * less severe): this alert went to the notify tier as part of that page instead of paging again.
   */
  foldedInto: FoldTarget.optional(),
  /**
   * Its rule opened alerts for many entities at once (src/engine/outbreak.ts). On the notice (no
   * `notice`): further alerts of the rule are held for the review digest until `heldUntil`. On a
   * held alert: it was not published; `notice` is the alert that told the outbreak.
   */
  outbreak: z.object({ heldUntil: z.string(), notice: FoldTarget.optional() }).optional(),
  /** The account and Region the events are about (see src/alerts/cloud.ts). */
  cloud: AlertCloud.optional(),
  /**
   * A responder acknowledged the alert (`detect ack add`; src/engine/acknowledgements.ts): its
   * reminders are silent, and an escalation says who has it.
   */
  acknowledged: z.object({ by: z.string(), at: z.string(), reason: z.string().optional() }).optional(),
  /**
   * An acknowledgement notice (`sentinel.acknowledgement`): the alerts it tells of, by id — the
   * PagerDuty forwarder acknowledges their PagerDuty alerts (src/alerts/pagerduty.ts).
   */
  acknowledgedAlerts: z.array(z.string()).optional(),
  /**
   * Spike rules: what the window was measured against — the mean count per window of the
   * baseline before it, and the count that fired (its factor × that mean and at least its floor;
   * `held`: the level an earlier window of the same spike reached, which holds while it lasts).
   */
  baseline: z
    .object({ mean: z.number(), windowMs: z.number(), baselineMs: z.number(), threshold: z.number(), held: z.boolean() })
    .optional(),
  /**
   * Distinct-value rules: what they counted in the window that fired, earlier deliveries' values
   * included — the accounts a spray tried, the ports a scan probed — so the responder need not
   * search for them: `values` the first 20 in natural order (ports as numbers; redacted; a name
   * in another account than the alert's as `name (account)`), `total` how many there were.
   */
  distinct: CountedValues.optional(),
  /**
   * Absence rules (src/engine/absence.ts): how long without a matching event makes the entity
   * absent, and the last one recorded (not on the resolved notice, which says when they came back).
   */
  absence: z
    .object({
      afterMs: z.number(),
      lastEventAt: z.string().optional(),
      /**
       * Deliveries of any log group the detector received in the quarter hour before the check
       * (src/engine/delivery-lag.ts): none means nothing reaches the detector at all — the
       * pipeline, not only this source, may be down.
       */
      deliveriesLast15m: z.number().int().nonnegative().optional(),
    })
    .optional(),
});
export type Alert = z.infer<typeof Alert>;
export type SpikeBaseline = NonNullable<Alert['baseline']>;

/**
 * One decided message: the alert and where it goes. Silent updates are neither published nor
 * digested: they only keep correlation's view of the condition fresh.
 */
export const Message = z.object({
  alert: Alert,
  /** Dedup key: the condition's alert id and message sequence (`<alertId>#<seq>`). */
  key: z.string(),
  /** Published to the tier's SNS topic. */
  publish: z.boolean(),
  /** Listed in the review tier's digest instead. */
  digest: z.boolean(),
  /** Feeds correlation (detections, silent updates included; not resolved notices or digests). */
  correlate: z.boolean(),
  /** A route's review digest (its id, `r-…`): published for that route's subscribers only. */
  route: z.string().optional(),
});
export type Message = z.infer<typeof Message>;

/** Messages as recorded in a batch receipt. */
export const MessageList = z.array(Message);
