import { StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDetectionAlert } from '../src/alerts/build';
import { ENVELOPE_BUDGET_BYTES, envelopeOf } from '../src/correlation/envelope';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { Alert, type Message } from '../src/schema/alert';
import { lambdaEvent, loadDetectorHandler, SSH_ATTACK, sentEnvelopes } from './handler-harness';
import { ev, rule, T0 } from './helpers';

/**
 * Any line an attacker can write: none may fail its batch, leak, or blind the detector to the
 * rest of the batch. Each hostile line rides in a batch with a real SSH brute force, which must
 * still be detected.
 */
let h: Awaited<ReturnType<typeof loadDetectorHandler>>;
beforeAll(async () => {
  h = await loadDetectorHandler();
});
afterAll(async () => h.db.close());

const deep = (n: number, open: string, close: string, leaf = '1') => `${open.repeat(n)}${leaf}${close.repeat(n)}`;
const HOSTILE: [string, string][] = [
  ['JSON objects nested 5,000 deep', deep(5000, '{"a":', '}')],
  ['JSON objects nested 100,000 deep', deep(100_000, '{"a":', '}')],
  ['JSON arrays nested 50,000 deep', deep(50_000, '[', ']')],
  ['a 100,000-element array', `{"list":[${Array.from({ length: 100_000 }, (_, i) => i).join(',')}]}`],
  ['a 100,000-key object', `{${Array.from({ length: 100_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`],
  [
    '__proto__ / constructor / prototype keys',
    '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":"x","toString":"x"}',
  ],
  ['a lone surrogate in JSON', '{"user":"\\ud800","msg":"\\udfff lone"}'],
  ['a lone surrogate in text', `Mar  3 03:12:00 bastion-1 sshd[1]: Invalid user \ud800x from 203.0.113.9`],
  ['a 1 MB single line', `{"msg":"${'A'.repeat(1024 * 1024)}"}`],
  [
    'a 255 KB text line made to backtrack sshd patterns',
    `Mar  3 03:12:00 bastion-1 sshd[1]: Failed password for ${' from x'.repeat(36_000)}`,
  ],
  ['NUL bytes', 'user=admin\u0000\u0000 password=x'],
  ['a number like 1e999', '{"time":1e999,"status":1e999,"ip":"203.0.113.9","level":-1e999}'],
  ['truncated JSON', '{"user":"a","nested":{"b":'],
  [
    'terminal escapes: 100,000 colour codes and an unterminated window title',
    `Mar  3 03:12:00 bastion-1 sshd[1]: ${'\u001b[31m'.repeat(100_000)}Failed password for root \u001b]0;${'x'.repeat(10_000)}`,
  ],
];

const batch = (hostile: string, i: number): SubscriptionPayload => ({
  owner: '123456789012',
  logGroup: '/var/log/auth.log',
  logStream: `hostile-${i}`,
  messageType: 'DATA_MESSAGE',
  logEvents: [
    // Each case two hours after the last: one rule firing for many addresses within an hour is an
    // outbreak, told once (src/engine/outbreak.ts), and each case must show its own detection.
    ...SSH_ATTACK(`10.51.100.${i + 1}`, 12, Date.parse('2026-03-03T00:00:00Z') + i * 2 * 3_600_000),
    { id: `hostile-${i}`, timestamp: Date.parse('2026-03-03T03:12:06Z'), message: hostile },
  ],
});

describe('hostile lines through the real detector handler', () => {
  it.each(HOSTILE.map(([name, line], i) => [name, line, i] as const))(
    '%s: the batch succeeds and the attack beside it is still detected',
    async (_, line, i) => {
      h.sfn.resetHistory();
      const out = await h.detect(lambdaEvent(batch(line, i)));
      expect(out.eventsIn).toBe(13);
      expect(out.published).toBe(1);
      expect(sentEnvelopes(h.sfn).filter((e) => e.publish)).toHaveLength(1);
    },
  );

  it('no hostile key polluted a prototype', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

/** A password spray (JSON login failures from one address, a user each) whose own values are hostile. */
const spray = (i: number, user: (n: number) => string, pad = ''): SubscriptionPayload => ({
  owner: '123456789012',
  logGroup: '/app/portal',
  logStream: `spray-${i}`,
  messageType: 'DATA_MESSAGE',
  logEvents: Array.from({ length: 14 }, (_, n) => ({
    id: `spray-${i}-${n}`,
    timestamp: Date.parse('2026-03-03T03:12:00Z') + n * 1000,
    message: `{${pad}"event":{"category":"authentication","outcome":"failure","action":"login"},"source":{"ip":"203.0.113.${i}"},"user":{"name":${JSON.stringify(user(n))}},"host":{"name":${JSON.stringify(`h-${user(n)}`)}}}`,
  })),
});
const SNS_LIMIT = 256 * 1024;

describe('an attack whose own values are hostile is still published', () => {
  it.each([
    ['100 KB user and host names (DynamoDB keys stop at 2,048 bytes)', spray(1, (n) => `admin${n}-${'x'.repeat(100_000)}`)],
    ['names of 4-byte characters cut at the bound', spray(2, (n) => `${n}${'😀'.repeat(5_000)}`)],
    // Every level of JSON escaping doubles these: the alert, the SNS message, the state machine input.
    ['evidence of escaped quotes and backslashes', spray(3, (n) => `u${n}${'\\"'.repeat(300)}`, `"pad":"${'\\\\\\"'.repeat(2_000)}",`)],
    ['evidence of JSON \\u escapes', spray(4, (n) => `u${n}`, `"pad":"${'\\u001b'.repeat(4_000)}",`)],
  ])('%s', async (_, payload) => {
    h.sfn.resetHistory();
    const out = await h.detect(lambdaEvent(payload));
    expect(out.eventsIn).toBe(14);
    expect(out.skipped).toBe(0);
    const inputs = h.sfn.commandCalls(StartSyncExecutionCommand).map((c) => c.args[0].input.input ?? '');
    const published = inputs.map((i) => JSON.parse(i)).filter((e) => e.publish);
    expect(published.map((e) => e.publishFields.ruleId)).toContain('auth.password_spray');
    for (const input of inputs) expect(Buffer.byteLength(input)).toBeLessThan(SNS_LIMIT);
    for (const e of published) expect(Buffer.byteLength(e.publishFields.message)).toBeLessThan(SNS_LIMIT);
  });
});

/**
 * A spray whose client writes each line's `time` (a JSON app that logs what the client sends at
 * the top level): `time` gets the line's number and its delivery. Delivered on a day of its own
 * (an outbreak holds a rule's fourth alert within an hour).
 */
const timed = (i: number, time: (n: number, delivered: number) => string, logGroup = '/app/portal'): SubscriptionPayload => {
  const payload = spray(i, (n) => `t${i}-${n}`);
  const days = (i + 3) * 86_400_000;
  return {
    ...payload,
    logGroup,
    logEvents: payload.logEvents.map((e, n) => ({
      ...e,
      timestamp: e.timestamp + days,
      message: e.message.replace('{', `{"time":${JSON.stringify(time(n, e.timestamp + days))},`),
    })),
  };
};

/** The rules of the messages the real handler published for a payload (all 14 events read). */
async function publishedRules(payload: SubscriptionPayload): Promise<string[]> {
  h.sfn.resetHistory();
  const out = await h.detect(lambdaEvent(payload));
  expect(out.eventsIn).toBe(14);
  expect(out.skipped).toBe(0);
  const inputs = h.sfn.commandCalls(StartSyncExecutionCommand).map((c) => JSON.parse(c.args[0].input.input ?? '{}'));
  return inputs.filter((e) => e.publish).map((e) => e.publishFields.ruleId);
}

describe('an attack whose lines give their own times', () => {
  it.each([
    // Each in a window of its own: the spray was never counted together.
    ['a year apart each (2031, 2032, …)', timed(11, (n) => `${2031 + n}-01-01T00:00:00Z`)],
    ['past the dates JavaScript can write, or before 2000', timed(12, (n) => (n % 2 ? '+275760-09-13T00:00:00Z' : '1970-01-01T00:00:00Z'))],
    ['a day apart each, back from 2099', timed(13, (n) => new Date(Date.parse('2099-12-31T00:00:00Z') - n * 86_400_000).toISOString())],
  ])('%s: the times are not used, and the spray is detected', async (_, payload) => {
    expect(await publishedRules(payload)).toContain('auth.password_spray');
  });
});

describe('a client dating its lines minutes apart into the past', () => {
  // Each attempt ten minutes before the last: within a day of delivery and after 2000, so usable.
  const tenMinutesApart = (n: number, delivered: number) => new Date(delivered - n * 600_000).toISOString();
  it('spreads its spray out of every window where the line times are trusted (the default: a limit, documented)', async () => {
    expect(await publishedRules(timed(5, tenMinutesApart))).not.toContain('auth.password_spray');
  });
  it('is detected where its source takes delivery times (`time: delivery`)', async () => {
    expect(await publishedRules(timed(6, tenMinutesApart, '/app/portal-client-fields'))).toContain('auth.password_spray');
  });
});

describe('an alert that would not fit the state machine', () => {
  const alert = buildDetectionAlert(
    {
      rule: rule({ id: 'test.big', title: 'big', match: { 'source.ip': '203.0.113.9' } }),
      entity: { field: 'source.ip', value: '203.0.113.9' },
      groupKey: '203.0.113.9',
      trigger: ev({ 'source.ip': '203.0.113.9' }),
      evidence: [ev({ 'source.ip': '203.0.113.9' })],
      count: 1,
      windowStart: T0,
      windowEnd: T0,
      lifecycle: { alertId: 'det-1', status: 'open', occurrences: 1, openedAt: T0 },
    },
    { region: 'us-east-1' },
  );
  const message = (a: Alert): Message => ({ alert: a, key: 'det-1#1', publish: true, digest: false, correlate: true });
  const bytes = (a: Alert, budget?: number) => Buffer.byteLength(JSON.stringify(envelopeOf(message(a), budget)));
  it('carries the alert as it is when it fits', () => {
    expect(JSON.parse(envelopeOf(message(alert)).publishFields.message).default).toBe(JSON.stringify(alert));
  });
  it('carries a slimmer alert, evidence cut and saying so, when it would not', () => {
    const [sample] = alert.events;
    if (!sample) throw new Error('the alert has no evidence');
    // Quotes double at every level of escaping: five lines of 2,048 are 80 KB in the input; with related values, more.
    const related = Object.fromEntries(
      ['user.name', 'host.name', 'source.ip'].map((f) => [f, Array.from({ length: 10 }, (_, i) => `${i}${'"'.repeat(127)}`)]),
    );
    const big: Alert = {
      ...alert,
      related,
      events: Array.from({ length: 5 }, (_, i) => ({ ...sample, eventId: `e${i}`, message: '"'.repeat(2048) })),
    };
    const unbounded = Buffer.byteLength(JSON.stringify(envelopeOf(message(big), Number.POSITIVE_INFINITY)));
    expect(unbounded).toBeGreaterThan(ENVELOPE_BUDGET_BYTES);
    expect(bytes(big)).toBeLessThanOrEqual(ENVELOPE_BUDGET_BYTES);
    const carried = Alert.parse(JSON.parse(JSON.parse(envelopeOf(message(big)).publishFields.message).default));
    expect(carried.events).toHaveLength(5);
    for (const e of carried.events) expect(e.message).toMatch(/^"+… \[cut to fit the notification/);
    expect({ ...carried, events: [], related: {} }).toEqual({ ...big, events: [], related: {} });
    // A smaller budget (incidents that open together share one) slims further, down to three related values a field.
    expect(bytes(big, 20 * 1024)).toBeLessThan(unbounded);
  });
});
