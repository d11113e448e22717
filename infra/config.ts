import { z } from 'zod';
import { runbookBase } from '../src/alerts/runbook-link';
import { RuleRef, refMatches } from '../src/rules/rule-ref';
import { Duration } from '../src/schema/duration';
import { formatIssues } from '../src/schema/issues';
import { TimeZoneName } from '../src/schema/time-zone';

/** CloudWatch Logs log-group names: 1–512 of letters, digits and `_ - / . #`. */
export const LogGroupName = z
  .string()
  .regex(
    /^[\w\-/.#]{1,512}$/,
    "expected a log group name (1-512 characters: letters, digits and _ - / . #), e.g. '/aws/lambda/checkout-api'",
  );

/** Who is told: email addresses, HTTPS endpoints, SQS queues (raw message delivery). */
const Endpoints = z.strictObject({
  emails: z.array(z.email()).default([]),
  httpsEndpoints: z.array(z.url({ protocol: /^https$/ })).default([]),
  sqsQueueArns: z.array(z.string().regex(/^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w.-]+$/, 'expected an SQS queue ARN')).default([]),
});
export type Endpoints = z.infer<typeof Endpoints>;

function endpointCount(e: Endpoints): number {
  return e.emails.length + e.httpsEndpoints.length + e.sqsQueueArns.length;
}

/** A route's subscriptions on a tier's topic: its endpoints, and its PagerDuty forwarder where it pages through one. */
function routeSubscriptions(route: Endpoints & { pagerDutyRoutingKeySecret?: string | undefined }, tier: string): number {
  return endpointCount(route) + (route.pagerDutyRoutingKeySecret !== undefined && tier !== 'review' ? 1 : 0);
}

const Subscribers = Endpoints.default({ emails: [], httpsEndpoints: [], sqsQueueArns: [] });

const AccountId = z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id');

const Tier = z.enum(['review', 'notify', 'respond']);

/** The SNS limit on values in one filter policy (the product of each attribute's count). */
const MAX_FILTER_POLICY_VALUES = 150;
/** The SNS default quota of filter policies per topic. */
const MAX_FILTER_POLICIES_PER_TOPIC = 200;

/**
 * One team's share of the alerts: its subscribers get the listed tiers' messages about the listed
 * accounts and/or from the listed rules only (an SNS filter policy on the `account` and `ruleId`
 * message attributes). In a hub, each member account's team can be told of its own account; in
 * any stack, the team that owns a system can be told of its rules, while the security team
 * (`subscribers`) sees all.
 */
const Route = Endpoints.extend({
  /** The team's name, for the title of its review digest (`Review digest … for payments`). */
  name: z
    .string()
    .regex(/^[\w .@-]{1,64}$/, 'expected a short name (letters, digits, spaces and _ . @ -, at most 64)')
    .optional(),
  accounts: z.array(AccountId).min(1).max(MAX_FILTER_POLICY_VALUES).optional(),
  rules: z.array(RuleRef).min(1).max(MAX_FILTER_POLICY_VALUES).optional(),
  // The review tier is a digest per interval: a route that takes it gets its own digest of the
  // detections it selects (src/engine/review-routes.ts).
  tiers: z.array(Tier).min(1).default(['notify', 'respond']),
  /**
   * The team's own PagerDuty service: a Secrets Manager secret (name or ARN) holding its
   * integration key. Its notify and respond tiers' alerts page there, as `pagerDuty` does for everyone.
   */
  pagerDutyRoutingKeySecret: z.string().min(1).optional(),
});
type Route = z.infer<typeof Route>;

/**
 * A route's `rules` that name no rule or correlation of the pack (a typo would route nothing,
 * silently), as `routes[r].rules[i]: …` lines; checked at synth, where the pack is loaded.
 */
export function unknownRouteRules(routes: readonly Route[], ruleIds: readonly string[]): string[] {
  const out: string[] = [];
  routes.forEach((route, r) => {
    route.rules?.forEach((ref, i) => {
      if (ruleIds.some((id) => refMatches(ref, id))) return;
      out.push(
        `routes[${r}].rules[${i}]: ${ref.endsWith('*') ? `no rule id starts with ${ref.slice(0, -1)}` : `no rule has the id ${ref}`}`,
      );
    });
  });
  return out;
}

/**
 * Routes that also take the incidents their rules feed: a correlation joins a route's `rules`
 * when one of its members (by id, or `tag:` for the rules carrying the tag) is a rule the route
 * takes — the team that owns `web.*` hears of the denial of service built on its flood alert, as
 * the team that owns `aws.*` does of the account compromise. Errors are `routes[r]: …` lines for
 * routes the additions carry past SNS's 150 filter-policy combinations.
 */
export function routesWithIncidents(
  routes: readonly Route[],
  rules: readonly { id: string; tags: readonly string[] }[],
  correlations: readonly { id: string; correlation: { members: readonly string[] } }[],
): { routes: Route[]; errors: string[] } {
  const errors: string[] = [];
  const memberIds = (ref: string) => (ref.startsWith('tag:') ? rules.filter((r) => r.tags.includes(ref.slice(4))).map((r) => r.id) : [ref]);
  const expanded = routes.map((route, r) => {
    const refs = route.rules;
    if (!refs) return route;
    const added = correlations
      .filter((c) => !refs.some((ref) => refMatches(ref, c.id)))
      .filter((c) => c.correlation.members.some((m) => memberIds(m).some((id) => refs.some((ref) => refMatches(ref, id)))))
      .map((c) => c.id);
    if (added.length === 0) return route;
    const ruleCount = refs.length + added.length;
    const combinations = (route.accounts?.length ?? 1) * ruleCount;
    if (combinations > MAX_FILTER_POLICY_VALUES)
      errors.push(
        `routes[${r}]: with the incidents built on its rules (${added.join(', ')}), ${route.accounts?.length ?? 1} accounts × ${ruleCount} rules make ${combinations} filter-policy combinations (SNS allows ${MAX_FILTER_POLICY_VALUES}): split the route`,
      );
    return { ...route, rules: [...refs, ...added] };
  });
  return { routes: expanded, errors };
}

/** The CloudWatch Logs limit on log-group names in a subscription filter policy's `NOT IN` list. */
export const MAX_POLICY_EXCLUSIONS = 50;

const AccountPolicy = z
  .looseObject({
    enabled: z.boolean().default(false),
    /** Exact log-group names the account-level policy leaves out (CloudWatch matches exact names, not prefixes). */
    excludeLogGroups: z.array(LogGroupName).default([]),
  })
  .superRefine((raw, ctx) => {
    for (const key of Object.keys(raw)) {
      if (key === 'enabled' || key === 'excludeLogGroups') continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message:
          key === 'excludeLogGroupPrefixes'
            ? 'excludeLogGroupPrefixes was removed: the policy selection criteria match exact log-group names, not prefixes, so it excluded nothing. List exact names under excludeLogGroups'
            : `unknown key '${key}' (expected enabled, excludeLogGroups)`,
      });
    }
  })
  .transform(({ enabled, excludeLogGroups }) => ({ enabled, excludeLogGroups }));

/** Hub mode: the stream member accounts send to, and how the detector reads it. */
const HubSettings = z
  .strictObject({
    /** The CloudWatch Logs destination's name (its ARN is a stack output, for the spokes). */
    destinationName: z
      .string()
      .regex(/^[^:*]{1,512}$/, 'expected a destination name without : or *')
      .default('sentinel-hub'),
    /** On-demand scales by itself; provisioned takes `shards` (1 MB/s or 1,000 records/s of writes each). */
    streamMode: z.enum(['on-demand', 'provisioned']).default('on-demand'),
    shards: z.number().int().min(1).max(500).optional(),
    retentionHours: z.number().int().min(24).max(8760).default(24),
    /** Records per detector invocation (each record is one subscription payload, up to ~1 MB of events). */
    batchSize: z.number().int().min(1).max(10_000).default(100),
    batchWindow: Duration.prefault('1s'),
    /** Concurrent batches per shard (order is kept per partition key, i.e. per log stream). */
    parallelizationFactor: z.number().int().min(1).max(10).default(2),
    maxRetryAttempts: z.number().int().min(0).max(10_000).default(3),
    maxRecordAge: Duration.prefault('6h'),
    /** Alarm when the detector falls this far behind the stream. */
    iteratorAgeAlarm: Duration.prefault('5m'),
  })
  .superRefine((h, ctx) => {
    if (h.streamMode === 'provisioned' && h.shards === undefined)
      ctx.addIssue({ code: 'custom', path: ['shards'], message: "a provisioned stream needs 'shards'" });
    if (h.streamMode === 'on-demand' && h.shards !== undefined)
      ctx.addIssue({ code: 'custom', path: ['shards'], message: "'shards' applies to streamMode 'provisioned' only" });
    if (h.maxRecordAge < 60_000 || h.maxRecordAge > 604_800_000)
      ctx.addIssue({ code: 'custom', path: ['maxRecordAge'], message: 'between 1m and 7d (the event source mapping limits)' });
    if (h.batchWindow > 300_000) ctx.addIssue({ code: 'custom', path: ['batchWindow'], message: 'at most 5m' });
  });

/** Spoke mode, deployed to many accounts at once from the management or delegated-admin account. */
const StackSetSettings = z.strictObject({
  organizationalUnitIds: z
    .array(z.string().regex(/^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$/, 'expected an OU id (ou-…) or root id (r-…)'))
    .min(1),
  regions: z.array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'expected a Region like eu-west-1')).min(1),
  /** SELF from the management account, DELEGATED_ADMIN from a delegated administrator account. */
  callAs: z.enum(['SELF', 'DELEGATED_ADMIN']).default('SELF'),
});

/** Stack configuration: `cdk.json` context key `sentinel` (or `-c sentinel='{…}'`), validated at synth. */
export const SentinelConfig = z
  .strictObject({
    /**
     * single: one account watches itself. hub: also receives member accounts' logs through a
     * CloudWatch Logs destination and a Kinesis stream. spoke: a member account sending to a hub.
     */
    mode: z.enum(['single', 'hub', 'spoke']).default('single'),
    /** Hub: who may subscribe to the destination — the whole organization … */
    organizationId: z
      .string()
      .regex(/^o-[a-z0-9]{10,32}$/, 'expected an organization id like o-a1b2c3d4e5')
      .optional(),
    /** … or these accounts. */
    memberAccounts: z.array(AccountId).default([]),
    /**
     * Hub: the member accounts whose log groups hold an organization trail (the management account,
     * or the log-archive account it delivers to). Their CloudTrail records are each about the member
     * account they name; any other member account's lines are about that account, whatever account
     * they name (a member's logs cannot put an alert, incident or automated response on another
     * account). The hub's own account is always trusted so.
     */
    organizationTrailAccounts: z.array(AccountId).default([]),
    hub: HubSettings.prefault({}),
    /** Spoke: the hub's destination (the hub stack's DestinationArn output). */
    hubDestinationArn: z
      .string()
      .regex(/^arn:aws[\w-]*:logs:[a-z0-9-]+:\d{12}:destination:[^:*]+$/, 'expected a CloudWatch Logs destination ARN')
      .optional(),
    /** Spoke: also synthesize a StackSet that deploys the spoke to these OUs and Regions. */
    stackSet: StackSetSettings.optional(),
    /** Log groups to watch, by exact name: each gets a subscription filter to the detector. */
    logGroups: z.array(LogGroupName).default([]),
    /**
     * Read Amazon GuardDuty's findings: an EventBridge rule writes every finding (new and updated)
     * to a log group the detector reads; the aws.guardduty_* rules tell them by severity. In
     * GuardDuty's administrator account the findings are every member account's.
     */
    guardDutyFindings: z.boolean().default(false),
    /**
     * Read AWS Security Hub's findings, in ASFF (Security Hub CSPM) and OCSF (Findings Imported
     * V2): an EventBridge rule writes those that can still fire (active, open, above
     * informational; not GuardDuty's when guardDutyFindings is on) to a log
     * group the detector reads; the aws.securityhub_* rules tell threats by severity and
     * weaknesses (failed checks, vulnerabilities) to the team or the review digest. In Security
     * Hub's administrator account and aggregation Region they are every member account's and
     * linked Region's.
     */
    securityHubFindings: z.boolean().default(false),
    /**
     * Send Sentinel's alerts to AWS Security Hub: a function on the notify and respond topics
     * imports each detection and incident as a finding of the account's default product (one
     * finding per alert: its escalation raises it, its resolution archives it), where the team's
     * other findings, automation rules and tickets already are. Security Hub must be enabled in
     * the stack's account and Region.
     */
    securityHubExport: z.boolean().default(false),
    /**
     * Read AWS Health's security notices: an EventBridge rule writes its AWS_RISK_* and AWS_ABUSE_*
     * events (an access key found in public, credentials compromised, a resource reported for
     * abuse) to a log group the detector reads; aws.health_credentials_exposed and
     * aws.health_abuse_report page on them. They are global: AWS delivers them in us-east-1. Each
     * account's own: set it on the hub and on the spokes, which send them on to the hub.
     */
    healthRiskEvents: z.boolean().default(false),
    /**
     * An account-level subscription filter policy (one per account and Region): every log group
     * except the stack's own, those in `logGroups` (already subscribed) and `excludeLogGroups`.
     */
    accountPolicy: AccountPolicy.optional(),
    /**
     * `compiled`: each subscription filter is the regex compiled from the rules that apply to its
     * group, so CloudWatch drops events no rule can match. `all`: every event is delivered — for
     * log groups whose five regex filter patterns (metric and subscription filters together) are
     * already taken, where a compiled regex would fail the deployment.
     */
    filterPatterns: z.enum(['compiled', 'all']).default('compiled'),
    subscribers: z.strictObject({ review: Subscribers, notify: Subscribers, respond: Subscribers }).default({
      review: { emails: [], httpsEndpoints: [], sqsQueueArns: [] },
      notify: { emails: [], httpsEndpoints: [], sqsQueueArns: [] },
      respond: { emails: [], httpsEndpoints: [], sqsQueueArns: [] },
    }),
    /**
     * A chat topic for Amazon Q Developer in chat applications (AWS Chatbot): these tiers' messages
     * are also published to it in the service's custom-notification format; attach the
     * `ChatTopicArn` output to a Slack or Microsoft Teams channel configuration.
     */
    chat: z.strictObject({ tiers: z.array(Tier).min(1).default(['notify', 'respond']) }).optional(),
    /**
     * Page through PagerDuty: these tiers' alerts become Events API v2 events keyed by the alert's
     * id (escalations join the open PagerDuty alert, the resolved notice resolves it; reminders
     * are not sent: PagerDuty re-notifies itself). `routingKeySecret`: a Secrets Manager secret (name or ARN) holding the integration key.
     */
    pagerDuty: z
      .strictObject({
        routingKeySecret: z.string().min(1),
        tiers: z
          .array(z.enum(['notify', 'respond']))
          .min(1)
          .default(['respond']),
        eventsUrl: z
          .string()
          .regex(/^https:\/\/events(\.eu)?\.pagerduty\.com\/v2\/enqueue$/, 'expected https://events.pagerduty.com/v2/enqueue or the EU one')
          .optional(),
        // An alert a team's own PagerDuty service pages for (its route's pagerDutyRoutingKeySecret) does not page this one too.
        leaveTeamPages: z.boolean().default(false),
      })
      .optional(),
    /**
     * PagerDuty's acknowledgements back into Sentinel: a function URL for a v3 webhook
     * subscription; an acknowledged or resolved incident of an alert acknowledges the alert (its
     * e-mail and chat reminders go silent). `signingSecret`: a Secrets Manager secret (name or
     * ARN) holding the subscription's signing secret.
     */
    pagerDutyWebhook: z.strictObject({ signingSecret: z.string().min(1) }).optional(),
    /** Per-account teams: each route's subscribers get its tiers' alerts about its accounts only. */
    routes: z.array(Route).default([]),
    /** Lambda invoked with every respond-tier incident when it opens (e.g. disable the user, block the IP). */
    responseFunctionArn: z
      .string()
      .regex(/^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w-]+)?$/, 'expected a Lambda function ARN')
      .optional(),
    /** Retention of the stack's own log groups, in days. */
    logRetentionDays: z.number().int().positive().default(30),
    /** The rule folders embedded in the Lambdas, in order: a later one adds rules and `tune:` files. */
    rulesDir: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .default('rules')
      .transform((dirs) => (typeof dirs === 'string' ? [dirs] : dirs)),
    /** Cap on concurrent detector invocations: bounds DynamoDB write rate on hot keys and cost. */
    detectorConcurrency: z.number().int().min(1).max(1000).default(20),
    detectorMemoryMb: z.number().int().min(128).max(10240).default(1024),
    /** The account's Lambda concurrency limit (1,000 unless raised): reserved concurrency must leave 100 unreserved. */
    accountConcurrencyLimit: z.number().int().min(10).default(1000),
    /** Review-tier detections are published as one digest per this interval (e.g. 1h, 4h, 1d). */
    digestInterval: Duration.prefault('1h'),
    /**
     * One page per entity: for this long after a respond-tier alert pages about a user, address or
     * host, another rule's alert about it (no more severe, no riskier) goes to the notify tier as
     * part of that page. `false` pages every respond-tier alert.
     */
    pageFold: z.union([Duration, z.literal(false).transform(() => 0)]).prefault('4h'),
    /**
     * One message per outbreak: of a rule's alerts about different entities within an hour (per
     * account), this many are told one by one; the next tells the outbreak and the rest are held
     * for the review digest until the hour ends (src/engine/outbreak.ts). 0 tells every alert.
     */
    outbreakAfter: z.number().int().min(0).max(1000).default(3),
    /**
     * Deploy day without a flood: for this long after a new-term rule starts watching an account's
     * logs, the terms it sees (regions, countries, projects) are learned, not alerted on
     * (src/engine/term-learning.ts); a rule's own `newTerm.learn` overrides it. `false`: never.
     */
    newTermLearning: z.union([Duration, z.literal(false).transform(() => 0)]).prefault('7d'),
    /**
     * Whose first week new-term rules learn in: `owner` (each account whose logs are delivered) or
     * `account` (as `owner`, but a CloudTrail record counts toward the account it is about: an
     * organization trail delivered from one account learns each member account's first week,
     * accounts that join later included). Switching an existing deployment to `account` starts a
     * learning week for every member account its trail delivers.
     */
    newTermLearningScope: z.enum(['owner', 'account']).default('owner'),
    /**
     * The team's time zone (an IANA name such as America/New_York): what `event.hour_local` and
     * `event.weekday_local` are in, which `auth.off_hours_login` reads — working hours are the
     * team's, with its daylight saving, not UTC's.
     */
    timeZone: TimeZoneName.default('UTC'),
    /**
     * Where rules' runbook paths link to in published messages: the web address of the repository
     * (or site) the rules folder's `docs/` is in, e.g. `https://github.com/acme/sentinel/blob/main/`
     * — `docs/runbooks/ssh.auth_failures.md` is then told as a link under it. A runbook already
     * written as a URL is left as written. Unset: runbooks are told as their rules name them.
     */
    runbookBaseUrl: z
      .string()
      .transform((text, ctx) => {
        const parsed = runbookBase(text);
        if ('base' in parsed) return parsed.base;
        ctx.addIssue({ code: 'custom', message: parsed.error });
        return z.NEVER;
      })
      .optional(),
    /** Log correlation executions with their input and output (alert JSON with evidence), into a KMS-encrypted log group. */
    logExecutionData: z.boolean().default(false),
    /** Alarm when a watched log group's unparsed share stays above `share` for `for` (a blind spot). */
    unparsedAlarm: z.strictObject({ share: z.number().gt(0).max(1).default(0.5), for: Duration.prefault('1h') }).prefault({}),
  })
  .superRefine((c, ctx) => {
    // SNS keeps one subscription per endpoint and topic: an endpoint listed twice for a tier would be one subscription with one filter.
    const seen = new Map<string, string>();
    const claim = (tier: string, endpoint: string, path: (string | number)[]) => {
      const key = `${tier} ${endpoint}`;
      const first = seen.get(key);
      if (first)
        ctx.addIssue({ code: 'custom', path, message: `${endpoint} already gets the ${tier} tier (${first}): list it once per tier` });
      else seen.set(key, path.join('.'));
    };
    const claimAll = (tier: string, endpoints: Endpoints, path: (string | number)[]) => {
      for (const kind of ['emails', 'httpsEndpoints', 'sqsQueueArns'] as const)
        for (const [i, endpoint] of endpoints[kind].entries()) claim(tier, endpoint, [...path, kind, i]);
    };
    for (const tier of Tier.options) claimAll(tier, c.subscribers[tier], ['subscribers', tier]);
    if (c.pagerDuty?.leaveTeamPages && !c.routes.some((r) => r.pagerDutyRoutingKeySecret !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['pagerDuty', 'leaveTeamPages'],
        message: 'no route has a PagerDuty service of its own (pagerDutyRoutingKeySecret) to leave its pages to',
      });
    for (const [r, route] of c.routes.entries()) {
      if (endpointCount(route) === 0 && route.pagerDutyRoutingKeySecret === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['routes', r],
          message: 'a route tells no one: give it emails, httpsEndpoints, sqsQueueArns or a pagerDutyRoutingKeySecret',
        });
      if (route.pagerDutyRoutingKeySecret !== undefined && !route.tiers.some((t) => t !== 'review'))
        ctx.addIssue({
          code: 'custom',
          path: ['routes', r, 'pagerDutyRoutingKeySecret'],
          message: 'a route pages only for its notify or respond tier, and this route takes neither',
        });
      if (!route.accounts && !route.rules)
        ctx.addIssue({
          code: 'custom',
          path: ['routes', r],
          message: 'a route selects everything: give it accounts, rules or both (subscribers take every alert)',
        });
      // SNS counts a filter policy's values as the product over its keys.
      const combinations = (route.accounts?.length ?? 1) * (route.rules?.length ?? 1);
      if (combinations > MAX_FILTER_POLICY_VALUES)
        ctx.addIssue({
          code: 'custom',
          path: ['routes', r],
          message: `${route.accounts?.length} accounts × ${route.rules?.length} rules make ${combinations} filter-policy combinations (SNS allows ${MAX_FILTER_POLICY_VALUES}): split the route`,
        });
      for (const tier of new Set(route.tiers)) claimAll(tier, route, ['routes', r]);
    }
    // Each route endpoint is a subscription with a filter policy on its tiers' topics; once a route
    // takes the review tier, the review subscribers' too (they take every digest but the routes').
    for (const tier of Tier.options) {
      const routes = c.routes.filter((route) => route.tiers.includes(tier));
      const filtered =
        routes.reduce((n, route) => n + routeSubscriptions(route, tier), 0) +
        (tier === 'review' && routes.length > 0 ? endpointCount(c.subscribers.review) : 0);
      if (filtered > MAX_FILTER_POLICIES_PER_TOPIC)
        ctx.addIssue({
          code: 'custom',
          path: ['routes'],
          message: `the ${tier} topic would have ${filtered} filtered subscriptions (SNS allows ${MAX_FILTER_POLICIES_PER_TOPIC} filter policies per topic unless raised): give teams a shared queue or endpoint`,
        });
    }
    if (c.mode === 'hub' && !c.organizationId && c.memberAccounts.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['organizationId'],
        message: 'hub mode needs organizationId or memberAccounts (who may send logs)',
      });
    if (c.mode !== 'hub' && (c.organizationId || c.memberAccounts.length > 0 || c.organizationTrailAccounts.length > 0))
      ctx.addIssue({
        code: 'custom',
        path: ['mode'],
        message: "organizationId, memberAccounts and organizationTrailAccounts apply to mode 'hub' only",
      });
    if (c.mode === 'spoke' && !c.hubDestinationArn)
      ctx.addIssue({
        code: 'custom',
        path: ['hubDestinationArn'],
        message: "spoke mode needs the hub's destination ARN (the hub stack's DestinationArn output)",
      });
    if (c.mode !== 'spoke' && (c.hubDestinationArn || c.stackSet))
      ctx.addIssue({ code: 'custom', path: ['mode'], message: "hubDestinationArn and stackSet apply to mode 'spoke' only" });
    if (c.mode === 'spoke' && c.securityHubExport)
      ctx.addIssue({
        code: 'custom',
        path: ['securityHubExport'],
        message: 'a spoke publishes no alerts: set securityHubExport on the hub, whose alerts cover every member account',
      });
    for (const [key, service] of [
      ['guardDutyFindings', 'GuardDuty'],
      ['securityHubFindings', 'Security Hub'],
    ] as const) {
      if (c.mode === 'spoke' && c[key])
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `a spoke does not read ${service}'s findings: set ${key} on the hub, in ${service}'s administrator account, which receives every member account's`,
        });
    }
    if (c.mode === 'spoke' && c.logGroups.length === 0 && !c.accountPolicy?.enabled && !c.healthRiskEvents)
      ctx.addIssue({
        code: 'custom',
        path: ['logGroups'],
        message: 'a spoke sends nothing: list logGroups, or enable accountPolicy or healthRiskEvents',
      });
    // Lambda keeps 100 of the account's concurrency unreserved; the sweeper reserves 1.
    const available = c.accountConcurrencyLimit - 100 - 1;
    if (c.detectorConcurrency > available) {
      ctx.addIssue({
        code: 'custom',
        path: ['detectorConcurrency'],
        message: `${c.detectorConcurrency} cannot be reserved: the account limit ${c.accountConcurrencyLimit} leaves ${available} (Lambda keeps 100 unreserved; the sweeper takes 1). Lower it or raise accountConcurrencyLimit after a quota increase`,
      });
    }
    if (
      c.accountPolicy?.enabled &&
      c.accountPolicy.excludeLogGroups.length +
        c.logGroups.length +
        (c.guardDutyFindings ? 1 : 0) +
        (c.securityHubFindings ? 1 : 0) +
        (c.healthRiskEvents ? 1 : 0) +
        4 >
        MAX_POLICY_EXCLUSIONS
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['accountPolicy', 'excludeLogGroups'],
        message: `the policy must exclude the stack's 4 own log groups, the ${c.logGroups.length} in logGroups and these: more than the ${MAX_POLICY_EXCLUSIONS} names CloudWatch accepts`,
      });
    }
  });
export type SentinelConfig = z.infer<typeof SentinelConfig>;

/** A configuration or rule problem found at synth: printed as its message alone, never as a stack trace. */
export class SynthInputError extends Error {
  override name = 'SynthInputError';
}

export function parseConfig(raw: unknown): SentinelConfig {
  const parsed = SentinelConfig.safeParse(raw ?? {});
  if (!parsed.success) throw new SynthInputError(`invalid sentinel config (cdk.json context "sentinel"):\n${formatIssues(parsed.error)}`);
  return parsed.data;
}
