import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { Detector } from '../src/engine/detector';
import { LineGate } from '../src/engine/line-gate';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import type { StateStore } from '../src/engine/state-store';
import { type NormalizeResult, Normalizer } from '../src/parse/normalize';
import type { Alert } from '../src/schema/alert';
import type { NormalizedEvent } from '../src/schema/event';
import { CorrelationRule, DetectionRule, type SourceDefinition } from '../src/schema/rule';

export const T0 = Date.parse('2025-03-03T10:00:00Z');

/** A log stream CloudTrail delivers to (its records are believed only in one: README, Forged AWS records). */
export const TRAIL_STREAM = '111122223333_CloudTrail_us-east-1';

/** A log stream a flow log delivers to: one per network interface (its records are believed only in one). */
export const FLOW_STREAM = 'eni-0a1b2c3d4e5f67890-all';

/** A line normalized as the detector reads it (one delivery of `logGroup` at `timestamp`); a skipped line fails the test with its reason. */
export function normalizedLine(
  normalizer: Normalizer,
  line: string,
  { logGroup, timestamp = 0, logStream = 's' }: { logGroup: string; timestamp?: number; logStream?: string },
): Extract<NormalizeResult, { ok: true }> {
  const r = normalizer.normalize(line, { logGroup, logStream, id: '1', timestamp });
  if (!r.ok) throw new Error(`skipped: ${r.skip.detail}`);
  return r;
}

/**
 * What the CloudTrail source derives into `field` for a call of `eventName` with this request
 * (JSON text), by alice of account 111122223333, read as the pipeline reads a line in a group no
 * source file names (its source recognized from its content).
 */
export function cloudTrailDerived(field: string, eventSource: string) {
  const normalizer = new Normalizer();
  const ctx = { logGroup: 'org-audit/management-events', logStream: TRAIL_STREAM, id: '1', timestamp: Date.parse('2025-03-03T03:12:41Z') };
  const record = (eventName: string, requestParameters: string) =>
    `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","userName":"alice"},"eventTime":"2025-03-03T03:12:40Z","eventSource":"${eventSource}","eventName":"${eventName}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","requestParameters":${requestParameters},"eventType":"AwsApiCall","recipientAccountId":"111122223333"}`;
  const read = (line: string) => {
    const result = normalizer.normalize(line, ctx, normalizer.sourceFor(ctx.logGroup, line, ctx.logStream));
    return result.ok ? result.event[field] : 'not read';
  };
  return { record, read, of: (eventName: string, requestParameters: string) => read(record(eventName, requestParameters)) };
}

/** Public real logs (../shared/realworld/README.md): read where they are, never copied here. */
export const REALWORLD_LOGS = resolve(__dirname, '../../shared/realworld/logs');

/** The first `limit` non-empty lines of a real log. */
export function realLogLines(file: string, limit = Number.POSITIVE_INFINITY): string[] {
  return readFileSync(join(REALWORLD_LOGS, file), 'utf8').split('\n').filter(Boolean).slice(0, limit);
}

/** Builds a validated rule from a partial YAML-shaped object. */
export function rule(partial: Record<string, unknown>): DetectionRule {
  return DetectionRule.parse({
    id: 'test.rule',
    title: 'test {user.name}',
    description: 'test rule',
    severity: 'high',
    riskScore: 5,
    runbook: 'docs/runbooks/test.md',
    ...partial,
  });
}

let seq = 0;
/** An absence rule the absence tests share: a heartbeat every 10 minutes per host, told at the notify tier once one is an hour late. */
/** Three failed logins of a user in 5 minutes, high: a brute force that opens a respond-tier alert. */
export function bruteForceRule(): DetectionRule {
  return rule({
    id: 'test.brute_force',
    title: 'Brute force against {user.name}',
    severity: 'high',
    match: { 'event.action': 'login', 'event.outcome': 'failure' },
    threshold: { count: 3, window: '5m', groupBy: ['user.name'] },
  });
}

export function heartbeatRule(): DetectionRule {
  return rule({
    id: 'test.heartbeat_missing',
    title: 'No heartbeat from {host.name}',
    severity: 'medium',
    match: { 'event.action': 'heartbeat' },
    absence: { after: '1h', groupBy: ['host.name'], forgetAfter: '2d' },
  });
}

export function ev(fields: Record<string, string | number | boolean>, at = T0): NormalizedEvent {
  seq++;
  return {
    '@timestamp': at,
    'cloudwatch.log_group': '/test',
    'cloudwatch.log_stream': 's',
    'cloudwatch.event_id': `e${seq}`,
    message: 'm',
    ...fields,
  };
}

export function detector(rules: DetectionRule[], store: StateStore = new MemoryStateStore()): Detector {
  return new Detector({ rules }, store);
}

/**
 * Everything a detector decides over payloads (messages as JSON, matched events, store calls, lines
 * the gate left), with the rule index or with every rule's predicate on every event
 * (`plainMatching`); with `gateSources`, behind the line gate the detector function has (built from
 * the rules and these sources, the normalizer's).
 */
export async function decideAll(
  rules: readonly DetectionRule[],
  payloads: readonly SubscriptionPayload[],
  normalizer: Normalizer,
  plainMatching: boolean,
  gateSources?: readonly SourceDefinition[],
) {
  const store = new MemoryStateStore();
  const detector = new Detector({ rules: [...rules] }, store, { plainMatching });
  // Every line of every group tested from the first (the detector function's gate waits for a busy group).
  const gate = gateSources && new LineGate(rules, gateSources, { compileAfter: 0 });
  const messages: string[] = [];
  let matched = 0;
  let gated = 0;
  for (const p of payloads) {
    const r = await processPayload(p, normalizer, detector, { gate });
    matched += r.matchedEvents;
    gated += r.eventsGated;
    for (const m of r.messages) messages.push(JSON.stringify(m));
  }
  return { messages, matched, gated, writes: store.calls.writes, reads: store.calls.reads };
}

/** A CloudWatch Logs payload of raw lines, `stepMs` apart from `t0`, ids 0, 1, 2 … */
export function linesPayload(
  logGroup: string,
  lines: readonly string[],
  t0 = T0,
  stepMs = 1000,
  logStream = 'stream-1',
): SubscriptionPayload {
  return {
    messageType: 'DATA_MESSAGE',
    owner: '111122223333',
    logGroup,
    logStream,
    subscriptionFilters: [],
    logEvents: lines.map((message, i) => ({ id: `${i}`, timestamp: t0 + i * stepMs, message })),
  };
}

/** A takeover incident of one user: a failure burst (`t.failures`) and a privileged action (`t.privileged`). */
export function takeoverCorrelation(): CorrelationRule {
  return CorrelationRule.parse({
    id: 'corr.test',
    title: 'Takeover of {user.name}',
    description: 'a failure burst and a privileged action by one user',
    severity: 'critical',
    riskScore: 9,
    runbook: 'docs/runbooks/corr.test.md',
    correlation: {
      entity: 'user.name',
      window: '2h',
      riskThreshold: 8,
      category: 'account_takeover',
      members: ['t.failures', 't.privileged'],
      require: [['t.failures'], ['t.privileged']],
    },
  });
}

/** One member detection about m.silva at `at`, as the state machine hands it to the correlate task. */
export function takeoverMember(ruleId: string, at: number, id = `det-${ruleId}-${at}`) {
  const time = new Date(at).toISOString();
  const record = {
    id,
    ruleId,
    title: ruleId,
    tags: [],
    riskScore: 6,
    severity: 'high',
    firstSeen: time,
    lastSeen: time,
    logGroups: ['/g'],
    events: [],
    related: {},
  };
  return { entity: { field: 'user.name', value: 'm.silva' }, member: JSON.stringify(record), key: `${record.id}#0` };
}

/**
 * A Logs Insights link read as the console reads it (src/alerts/insights.ts): `$` for `%`, the
 * query detail decoded twice, then its values' `*` escapes — the detail as text
 * (`~(end~'2025-03-03T14:12:00.000Z~start~'…~editorString~'fields @timestamp…`).
 */
export function consoleLinkText(url: string): string {
  const detail = decodeURIComponent(decodeURIComponent(url.slice(url.indexOf('#') + 1).replaceAll('$', '%')));
  return decodeURIComponent(detail.replaceAll('*', '%'));
}

/**
 * The alert a brute force opens: three failed logins of j.chen from 192.0.2.66 (with `extra`
 * fields), their lines holding a password the alert must not show.
 */
export async function failedLoginsAlert(brute: DetectionRule = bruteForceRule(), extra: Record<string, string> = {}): Promise<Alert> {
  const events = [0, 1, 2].map((i) =>
    ev(
      {
        'event.action': 'login',
        'event.outcome': 'failure',
        'user.name': 'j.chen',
        'source.ip': '192.0.2.66',
        ...extra,
        message: `login failed for j.chen password=Hunter2-secret try ${i}`,
        'event.original': `login failed for j.chen password=Hunter2-secret try ${i}`,
      },
      T0 + i * 1000,
    ),
  );
  const { alerts } = await detector([brute]).evaluate('b1', events);
  const alert = alerts[0];
  if (!alert) throw new Error('the rule did not open an alert');
  return alert;
}

/** A brute force tagged as ATT&CK credential access, with a runbook URL and actions, in account 555555555555. */
export function credentialAccessAlert(): Promise<Alert> {
  return failedLoginsAlert(
    rule({
      id: 'auth.brute_force_user',
      title: 'Brute force against {user.name}',
      description: 'Repeated failed logins for one user.',
      tags: ['attack.credential_access', 'attack.t1110'],
      runbook: 'https://runbooks.example.com/auth.brute_force_user',
      recommendedActions: ['Lock the account.', 'Check where the attempts came from.'],
      match: { 'event.action': 'login', 'event.outcome': 'failure' },
      threshold: { count: 3, window: '5m', groupBy: ['user.name'] },
    }),
    { 'cloud.account.id': '555555555555' },
  );
}

/** An event as EventBridge writes it to a CloudWatch Logs log group (a rule's log-group target), in account 111122223333. */
export function eventBridgeLine(
  detailType: string,
  source: string,
  detail: Record<string, unknown>,
  options: { at?: number; id?: string } = {},
): string {
  return JSON.stringify({
    version: '0',
    id: options.id ?? 'e',
    'detail-type': detailType,
    source,
    account: '111122223333',
    time: new Date(options.at ?? Date.parse('2026-03-03T10:04:30Z')).toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
  });
}
