import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { compileAccessLogFormat } from '../parse/access-log-format';
import { parseFlowLogFormat } from '../parse/flow-log-format';
import { compileSelection, SelectionError } from '../rules/selection';
import { Duration } from './duration';
import { Severity, Tier, tierFor, tierRank } from './severity';
import { TimeZoneName } from './time-zone';

/** A `match:` selection; its structure is checked by compiling it, so errors carry exact paths. */
export const Selection = z.record(z.string(), z.unknown()).superRefine((raw, ctx) => {
  try {
    compileSelection(raw);
  } catch (err) {
    if (!(err instanceof SelectionError)) throw err;
    for (const issue of err.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  }
});
export type Selection = z.infer<typeof Selection>;

export const FieldName = z.string().regex(/^[@A-Za-z_][\w.@-]*$/, 'expected a field name like user.name');
const GroupBy = z.array(FieldName).min(1, 'groupBy needs at least one field');

export const ThresholdClause = z.strictObject({
  count: z.number().int().min(1),
  window: Duration,
  groupBy: GroupBy,
});

/** The most distinct values a rule counts to (its `count`, or its escalation step's). */
export const MAX_DISTINCT_COUNT = 10_000;

export const DistinctClause = z.strictObject({
  /**
   * The field whose distinct values are counted, or several read in order (the first an event
   * carries counts: SSM names a parameter `name`, `names` or `path` by call). A list counts each
   * element (src/engine/distinct-members.ts).
   */
  field: z.union([FieldName, z.array(FieldName).min(1).max(8)]),
  count: z.number().int().min(2).max(MAX_DISTINCT_COUNT),
  window: Duration,
  groupBy: GroupBy,
});

export const SequenceStep = z.strictObject({
  name: z.string().min(1),
  match: Selection,
  count: z.number().int().min(1).max(1000).default(1),
});

export const SequenceClause = z.strictObject({
  window: Duration,
  groupBy: GroupBy,
  steps: z.array(SequenceStep).min(2, 'a sequence needs at least two steps').max(20, 'a sequence has at most 20 steps'),
});

export const NewTermClause = z.strictObject({
  field: FieldName,
  groupBy: GroupBy,
  /** How long a term stays known after it was last seen. */
  baseline: Duration.prefault('30d'),
  /** Only alert for entities with at least one earlier known term (skip the very first sighting). */
  requireHistory: z.boolean().default(true),
  /**
   * What one alert is about. `term` (default): each new term is its own finding — a second new
   * country is news. `entity`: the entity's new terms while its alert is open are occurrences of
   * that alert — a principal that creates a user, then a key, then a console password is one
   * finding, told once (the later terms are stored and correlated, not published again).
   */
  alertPer: z.enum(['term', 'entity']).default('term'),
  /**
   * How long the rule only learns after it starts watching an account's logs: terms seen then
   * become known without an alert (src/engine/term-learning.ts). Absent: the deployment's
   * `newTermLearning` (7d in a stack, none in a local replay unless `--learn`). `false`: never —
   * for rules whose every term is news from the first event (a `.env` file served).
   */
  learn: z.union([Duration, z.literal(false)]).optional(),
});

export const SpikeClause = z.strictObject({
  window: Duration,
  /** Rolling baseline length; a whole number of windows. */
  baseline: Duration,
  factor: z.number().gt(1),
  /** Floor: never fire below this many events in the window. */
  min: z.number().int().min(1),
  groupBy: z.array(FieldName).default([]),
});

/**
 * Expected events that stop: per entity (`groupBy`, else each log group of each account) that has
 * sent a matching event, an alert once none has arrived for `after` — a host's hourly cron run, a
 * load balancer's health checks, a job's heartbeat line. Decided by the sweeper
 * (src/engine/absence.ts); the alert resolves when the events come back.
 */
export const AbsenceClause = z.strictObject({
  after: Duration.refine((ms) => ms >= 10 * 60_000, {
    message: 'after must be at least 10m (delivery takes minutes, and the sweeper runs every 5)',
  }),
  groupBy: z.array(FieldName).default([]),
  /** An entity silent this long is no longer watched (a host retired): its alert resolves saying so. */
  forgetAfter: Duration.prefault('7d'),
});

/** The clauses that make a rule stateful; a rule takes at most one. */
export const STATEFUL_CLAUSES = ['threshold', 'distinct', 'sequence', 'newTerm', 'spike', 'absence'] as const;

const ExpectedOutcome = z.enum(['fire', 'none']);

/** One event in a rule test: a partial normalized event, or one repeated `repeat` times. */
export const TestEvent = z.union([
  z
    .strictObject({
      repeat: z.number().int().min(1).max(10_000),
      every: Duration.prefault('1s'),
      /**
       * Value lists cycled across repetitions, e.g. many user names for a spray; `{i}` in a string
       * is the repetition's number (0, 1, …), for as many different values as repetitions.
       */
      vary: z.record(FieldName, z.array(z.union([z.string(), z.number()])).min(1)).default({}),
      event: z.record(z.string(), z.unknown()),
    })
    .transform((r) => ({ kind: 'repeat' as const, ...r })),
  z.record(z.string(), z.unknown()).transform((fields) => ({ kind: 'single' as const, fields })),
]);

export const RuleTest = z.strictObject({
  name: z.string().min(1),
  expect: ExpectedOutcome,
  /** How many alerts must fire (only with expect: fire); defaults to at least one. */
  alerts: z.number().int().min(1).optional(),
  /** The first alert's title, exactly as published (only with expect: fire): pins placeholders and counts. */
  title: z.string().min(1).optional(),
  /** The severity of the most severe alert told (only with expect: fire): pins an `escalate` step. */
  severity: Severity.optional(),
  logGroup: z.string().default('/test/app'),
  /**
   * The log stream the lines arrive in. A service's records are believed only in the streams it
   * writes, where AWS fixes them: CloudTrail's in `<account>_CloudTrail_<region>` (README, Forged
   * AWS records).
   */
  logStream: z.string().min(1).default('test'),
  /** Start time for events without @timestamp; events advance by 1s. */
  start: z.iso.datetime().default('2025-03-02T14:00:00Z'),
  /** The deployment's time zone the test runs in (config `timeZone`: `event.hour_local`, `event.weekday_local`); UTC unless set. */
  timeZone: TimeZoneName.optional(),
  events: z.array(TestEvent).optional(),
  /** Raw log lines, parsed by the sources that apply to logGroup. */
  lines: z.array(z.string()).optional(),
  /**
   * After the events, the clock runs on this long with none arriving, the sweeper running every
   * 5 minutes as deployed: what an absence rule is tested with.
   */
  quietAfter: Duration.optional(),
});

/** Per-rule lifecycle overrides (defaults: see src/engine/alert-policy.ts and the README). */
export const AlertSettings = z.strictObject({
  /** Re-notify while still firing after this long (default: notify 24h, respond 4h; review never). */
  repeatInterval: Duration.optional(),
  /** Resolve once no qualifying event was seen for this long (default: 2 × the rule window, at least 15m). */
  resolveAfter: Duration.optional(),
  /** A re-fire within this long after resolving continues the same alert (default 1h). */
  flapGrace: Duration.optional(),
  /** Publish `resolved` when the condition goes quiet (default: threshold, distinct and spike rules; not events or incidents). */
  notifyResolved: z.boolean().optional(),
  /**
   * Alerts told one by one within an hour (per account) before the rest are held for the review
   * digest behind one outbreak notice (default: the deployment's, 3; 0 tells every one).
   */
  outbreakAfter: z.number().int().min(0).max(1000).optional(),
});

/** The log groups a rule reads, as globs (`/app/web/*`). */
const LogGroupGlobs = z.array(z.string().min(1));

const RuleCommon = {
  id: z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_-]+)+$/, 'expected a dotted lower-case id like auth.brute_force_user'),
  title: z.string().min(1).max(200),
  description: z.string().min(1),
  severity: Severity,
  riskScore: z.number().min(0).max(10),
  tags: z.array(z.string().regex(/^[a-z0-9_.-]+$/, 'tags are lower-case, e.g. attack.t1110')).default([]),
  runbook: z.string().min(1),
  falsePositives: z.array(z.string()).default([]),
  recommendedActions: z.array(z.string()).default([]),
  references: z.array(z.string()).default([]),
  /** Overrides the tier the severity implies (e.g. a high-severity rule kept for review while it is tuned). */
  tier: Tier.optional(),
  alert: AlertSettings.optional(),
};

/**
 * A counting rule's second step: its alert is raised to `severity` (and the tier it implies) once
 * the rule's count in its window reaches `count` — a flood of 300 requests a minute tells the
 * team, one of 3,000 pages; a spray across 10 accounts tells the team, across 200 pages. One alert
 * throughout: the step is told as its escalation.
 */
export const Escalation = z.strictObject({
  /** The threshold's count (a distinct rule's number of values) in its window that raises the alert. */
  count: z.number().int().min(2).max(1_000_000),
  severity: Severity,
});
export type Escalation = z.infer<typeof Escalation>;

export const DetectionRule = z
  .strictObject({
    ...RuleCommon,
    logGroups: LogGroupGlobs.optional(),
    /**
     * `none`: the rule adds no terms to its log groups' subscription filters, and reads only the
     * lines the other rules' terms deliver. For a rule about lines that matter only when another
     * rule would have read them (integrity.forged_aws_record: a forged record that would have set
     * off a CloudTrail rule is delivered; one that would not costs nothing, where terms of its own
     * would deliver every CloudTrail record to the detector).
     */
    filterTerms: z.literal('none').optional(),
    /** The entity a stateless rule's alert is about; defaults to the first of user.name, source.ip, host.name present. */
    entity: FieldName.optional(),
    match: Selection,
    threshold: ThresholdClause.optional(),
    distinct: DistinctClause.optional(),
    sequence: SequenceClause.optional(),
    newTerm: NewTermClause.optional(),
    spike: SpikeClause.optional(),
    absence: AbsenceClause.optional(),
    /** After an alert, further alerts for the same rule and entity are suppressed for this long. */
    suppress: Duration.optional(),
    escalate: Escalation.optional(),
    tests: z.array(RuleTest).default([]),
    disabled: z.boolean().default(false),
  })
  .superRefine((rule, ctx) => {
    const clauses = STATEFUL_CLAUSES.filter((k) => rule[k]);
    if (clauses.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [clauses[1] ?? ''],
        message: `a rule takes one stateful clause, found ${clauses.join(' and ')}`,
      });
    }
    if (rule.spike && rule.spike.baseline % rule.spike.window !== 0) {
      ctx.addIssue({ code: 'custom', path: ['spike', 'baseline'], message: 'baseline must be a whole number of windows' });
    }
    if (rule.spike && rule.spike.baseline / rule.spike.window > 168) {
      ctx.addIssue({ code: 'custom', path: ['spike', 'baseline'], message: 'baseline may span at most 168 windows' });
    }
    if (rule.absence && rule.absence.forgetAfter <= rule.absence.after) {
      ctx.addIssue({ code: 'custom', path: ['absence', 'forgetAfter'], message: 'forgetAfter must be longer than after' });
    }
    if (rule.escalate) escalationIssues(rule, rule.escalate, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
  });
export type DetectionRule = z.infer<typeof DetectionRule>;

/** What makes an `escalate` step meaningless: no count to reach, a count the rule opens at, no tier to rise to. */
function escalationIssues(
  rule: Pick<DetectionRule, 'severity' | 'tier' | 'threshold' | 'distinct'>,
  step: Escalation,
  report: (path: (string | number)[], message: string) => void,
): void {
  // A threshold's count and a distinct rule's values run on past the rule's own count (a distinct
  // rule with a step keeps values up to the step's count); a spike counts to its crossing.
  const counting = rule.threshold ?? rule.distinct;
  if (!counting) {
    report(['escalate'], 'escalate needs a count that runs on past the alert: a threshold or distinct clause');
    return;
  }
  if (step.count <= counting.count) {
    report(
      ['escalate', 'count'],
      `escalate.count must be above the ${rule.threshold ? 'threshold' : 'distinct'} count (${counting.count})`,
    );
  }
  if (rule.distinct && step.count > MAX_DISTINCT_COUNT) {
    report(['escalate', 'count'], `a distinct rule counts at most ${MAX_DISTINCT_COUNT} values: escalate.count must not exceed it`);
  }
  if (rule.tier !== undefined) {
    report(['escalate'], 'a rule with a tier override does not escalate: remove tier, or escalate');
  } else if (tierRank(tierFor(step.severity)) <= tierRank(tierFor(rule.severity))) {
    report(
      ['escalate', 'severity'],
      `escalate.severity ${step.severity} must reach a higher tier than the rule's ${rule.severity} (${tierFor(rule.severity)})`,
    );
  }
}

export const CorrelationClause = z.strictObject({
  entity: FieldName,
  window: Duration.prefault('4h'),
  /** Member rules: rule ids, or `tag:<tag>` for every rule carrying that tag. */
  members: z.array(z.string().min(1)).min(1),
  /** Groups that must each be represented (any member of the group); by default every member is one group. */
  require: z.array(z.array(z.string().min(1)).min(1)).optional(),
  /** Groups in the listed order: one detection of each group after one of the group before it (a chain; earlier ones do not undo it). */
  ordered: z.boolean().default(false),
  /** Accumulated risk (distinct member rules, each counted once) needed to raise the incident. */
  riskThreshold: z.number().min(0).max(100),
  category: z.string().regex(/^[a-z_]+$/),
  response: z.string().optional(),
});

export const CorrelationTest = z.strictObject({
  name: z.string().min(1),
  expect: ExpectedOutcome,
  entity: z.string().default('alice'),
  detections: z
    .array(
      z.strictObject({
        ruleId: z.string(),
        at: Duration.or(z.literal(0)).default(0),
        entity: z.string().optional(),
        /** Detections naming the same event fired on one observed event (e.g. one login): they are one signal. */
        event: z.string().optional(),
      }),
    )
    .min(1),
  /** The exact risk the incident must have (see the risk model in src/correlation/risk.ts). */
  risk: z.number().optional(),
});

export const CorrelationRule = z.strictObject({
  ...RuleCommon,
  correlation: CorrelationClause,
  tests: z.array(CorrelationTest).default([]),
  disabled: z.boolean().default(false),
});
export type CorrelationRule = z.infer<typeof CorrelationRule>;

/** A format string a parser compiles (a flow log's `--log-format`, an API Gateway stage's format): its error is the issue. */
const FormatString = (compile: (format: string) => { ok: true } | { ok: false; error: string }) =>
  z.string().superRefine((format, ctx) => {
    const compiled = compile(format);
    if (!compiled.ok) ctx.addIssue({ code: 'custom', message: compiled.error });
  });

/** A log source: which log groups it covers and how their lines become normalized events. */
export const CustomParser = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]+$/),
  /** Regex with named groups; a group named user__name sets field user.name. */
  pattern: z.string().min(1),
  /** Fields set on every event this parser accepts, e.g. event.category: authentication. */
  fields: z.record(FieldName, z.union([z.string(), z.number(), z.boolean()])).default({}),
});

export const SourceDefinition = z.strictObject({
  source: z
    .strictObject({
      name: z.string().regex(/^[a-z0-9_-]+$/),
      description: z.string().default(''),
      logGroups: z.array(z.string().min(1)).min(1),
      format: z.enum(['auto', 'json', 'text']).default('auto'),
      /** Text parsers tried in order: built-in names or names from customParsers. */
      parsers: z.array(z.string()).default([]),
      customParsers: z.array(CustomParser).default([]),
      /** App field → normalized field. Several app fields may map to one; the first present wins. */
      fieldMap: z.record(z.string(), FieldName).default({}),
      /** Per normalized field, app value → normalized value (e.g. granted → success). */
      valueMap: z.record(FieldName, z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))).default({}),
      /** Derive a field from another one's value, e.g. event.category from event.action. */
      lookups: z
        .array(
          z.strictObject({ from: FieldName, to: FieldName, values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])) }),
        )
        .default([]),
      /** Static fields added to every event of this source. */
      fields: z.record(FieldName, z.union([z.string(), z.number(), z.boolean()])).default({}),
      /** Use a built-in AWS source's parsing (cloudtrail, vpcflow, lambda, apigateway, waf, network-firewall, guardduty, securityhub, health, route53-resolver, eks-audit, rds) for these log groups. */
      builtin: z
        .enum([
          'cloudtrail',
          'vpcflow',
          'lambda',
          'apigateway',
          'waf',
          'network-firewall',
          'guardduty',
          'securityhub',
          'health',
          'route53-resolver',
          'eks-audit',
          'rds',
        ])
        .optional(),
      /** IANA zone of times the lines write without one (syslog, Laravel, Python asctime); UTC when absent. */
      timezone: TimeZoneName.optional(),
      /**
       * Whose time an event takes in the deployed detector: `line` (the default), the time the line
       * writes, when it can be the event's; `delivery`, the time CloudWatch holds for the log event
       * (what the Lambda runtime or the container's log driver stamped when the line was written).
       * For an app that logs what a client sends as top-level fields: the client can write `time`,
       * and lines dated minutes apart spread its attack out of every window. The line's own time
       * stays in the message. Replays, which have no delivery times, use the line's.
       */
      time: z.enum(['line', 'delivery']).optional(),
      /**
       * Addresses of your load balancers and proxies (CIDRs). A request that came through one takes
       * its client from `http.request.x_forwarded_for`; private ranges when absent (an ALB in a VPC).
       */
      trustedProxies: z
        .array(z.string().refine((c) => ipaddr.isValidCIDR(c), { message: 'expected a CIDR range like 10.0.0.0/8 or 2001:db8::/32' }))
        .optional(),
      /**
       * VPC Flow Logs written in a custom format: the flow log's `--log-format` string, e.g.
       * `${version} ${vpc-id} ${srcaddr} …`. The default (version 2) format when absent.
       */
      flowLogFormat: FormatString(parseFlowLogFormat).optional(),
      /**
       * API Gateway access logs in a text format of your own: the stage's format string, e.g.
       * `$context.identity.sourceIp [$context.requestTime] "$context.httpMethod $context.path" $context.status`.
       * The presets (CLF, CSV, XML) and JSON formats are read without it.
       */
      accessLogFormat: FormatString(compileAccessLogFormat).optional(),
    })
    .superRefine((s, ctx) => {
      // A format string is read by one parser: the source must use it.
      for (const [key, parser] of [
        ['accessLogFormat', 'apigateway'],
        ['flowLogFormat', 'vpcflow'],
      ] as const) {
        if (s[key] !== undefined && s.builtin !== parser && !s.parsers.includes(parser)) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `${key} is read by the ${parser} parser: add \`builtin: ${parser}\` (or ${parser} under parsers)`,
          });
        }
      }
    }),
});
export type SourceDefinition = z.infer<typeof SourceDefinition>;
export type CustomParser = z.infer<typeof CustomParser>;

/**
 * A tuning of a rule the pack already has (`tune: <rule id>`), kept in a file of its own — in
 * your own rule folder, so the shipped rules stay as shipped and upgrade cleanly: turn it off,
 * change its severity, tier or risk, its lifecycle, the log groups it reads, the settings of its
 * stateful clause, leave out what it must never count (`exclude`, a selection: the rule's
 * `match` gets `not` it) or keep to what it must only count (`only`: the match gets `all` it). The settings take the rule's own schemas (src/rules/tuning.ts merges).
 */
export const RuleTuning = z.strictObject({
  tune: z.string().min(1),
  /** Why: what a reviewer of the tuning reads (a ticket, the job that caused the false positive). */
  reason: z.string().min(1),
  disabled: z.boolean().optional(),
  severity: RuleCommon.severity.optional(),
  tier: RuleCommon.tier,
  riskScore: RuleCommon.riskScore.optional(),
  alert: RuleCommon.alert,
  /** The rule's escalation step in place of its own (`count` for when your traffic pages, `severity`). */
  escalate: Escalation.optional(),
  /** The log groups the rule reads (globs), in place of its own: `web.request_flood` for your public sites only. */
  logGroups: LogGroupGlobs.min(1).optional(),
  exclude: Selection.optional(),
  /**
   * What the rule counts only: its match and this (`cloud.account.id: [production accounts]` in a
   * hub, where every account's log groups have the same names).
   */
  only: Selection.optional(),
  threshold: ThresholdClause.partial().optional(),
  distinct: DistinctClause.partial().optional(),
  spike: SpikeClause.partial().optional(),
  absence: AbsenceClause.partial().optional(),
  newTerm: NewTermClause.partial().optional(),
  sequence: SequenceClause.partial().optional(),
  /** The tuned rule's tests; a tuning that changes what the rule counts (`logGroups`, `exclude`, `only`, a clause) brings its own. */
  tests: z.array(RuleTest).optional(),
});
export type RuleTuning = z.infer<typeof RuleTuning>;
