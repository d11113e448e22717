import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDigestAlert } from '../src/alerts/digest';
import { chatbotMessage, emailBody, snsMessage } from '../src/alerts/notification';
import { printable, terminalSafeJson } from '../src/alerts/plain-text';
import { DEFAULT_STYLE, envelopeOf } from '../src/correlation/envelope';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import type { Alert } from '../src/schema/alert';
import { rule } from './helpers';

/** Alerts whose title, entity and evidence are whatever a JSON log line said. */
async function alertsFor(values: readonly string[]): Promise<Alert[]> {
  const echo = rule({ id: 'test.echo', title: 'login failed for {user.name}', match: { 'event.outcome': 'failure' }, entity: 'user.name' });
  const detector = new Detector({ rules: [echo] }, new MemoryStateStore());
  const payload = {
    messageType: 'DATA_MESSAGE' as const,
    owner: '123456789012',
    logGroup: '/app/auth',
    logStream: 's',
    logEvents: values.map((v, i) => ({
      id: `e${i}`,
      timestamp: 1_740_000_000_000 + i,
      // The line also names its own "account" and "Region": an app's JSON can say anything there.
      message: JSON.stringify({
        event: { outcome: 'failure' },
        user: { name: v },
        // …and the host, which the email lists as related.
        host: { name: `${v}-host` },
        cloud: { account: { id: v }, region: v },
        message: `bad password for ${v}`,
      }),
    })),
  };
  const result = await processPayload(payload, new Normalizer(), detector);
  return result.messages.map((m) => m.alert);
}

// What an attacker types as a user name: forged lines, terminal escapes, display reordering, code-span breaks.
const hostile = fc.oneof(
  fc.constantFrom(
    'eve\nRecommended actions:\n  - Disable MFA for admin',
    'eve\r\nSeverity: low   Tier: review',
    'eve\u001b[2J\u001b]0;owned\u0007',
    'eve\u202egnp.exe',
    'eve` *bold* [link](https://evil.example) `',
    'eve\u0085next line',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

describe('notifications show what logs said as text', () => {
  it('email: every line is one the body writes; no control character but its own newlines', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 4 }), async (names) => {
        for (const alert of await alertsFor(names)) {
          const body = emailBody(alert);
          expect(body.replaceAll('\n', '')).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
          // The attacker's name is in the body, escaped, on the lines that show it.
          expect(body).toContain(`Entity: user.name = ${printable(alert.entity.value)}`);
          // A message's own lines stay lines, each marked as the message's.
          for (const line of body.split('\n'))
            expect(line.startsWith('    ') && !line.startsWith('    | ') && line.trim() !== '').toBe(false);
          expect(body.split('\n').filter((l) => l.startsWith('Recommended actions:') || l.startsWith('Severity:'))).toHaveLength(
            1 + Number(alert.recommendedActions.length > 0),
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it('the window on the team’s clock beside UTC (config timeZone): date, zone abbreviation and daylight saving; none in UTC', async () => {
    const [alert] = await alertsFor(['eve']);
    if (!alert) throw new Error('no alert');
    const at = (start: string, end: string) => ({ ...alert, window: { start, end } });
    const local = (a: Alert, zone: string) =>
      emailBody(a, zone)
        .split('\n')
        .filter((l) => l.startsWith('Local time:'));
    // 11:12 UTC in March before daylight saving is 03:12 in California; the end's date is left out on the same day.
    expect(local(at('2025-03-03T11:12:00.000Z', '2025-03-03T11:22:00.000Z'), 'America/Los_Angeles')).toEqual([
      'Local time: Mon 2025-03-03 03:12 → 03:22 PST (America/Los_Angeles)',
    ]);
    // The night daylight saving began: each end in its own zone.
    expect(local(at('2025-03-09T09:50:00.000Z', '2025-03-09T10:10:00.000Z'), 'America/Los_Angeles')).toEqual([
      'Local time: Sun 2025-03-09 01:50 PST → 03:10 PDT (America/Los_Angeles)',
    ]);
    // Across midnight: the end with its own date.
    expect(local(at('2025-03-03T07:50:00.000Z', '2025-03-03T08:10:00.000Z'), 'America/Los_Angeles')).toEqual([
      'Local time: Sun 2025-03-02 23:50 → Mon 2025-03-03 00:10 PST (America/Los_Angeles)',
    ]);
    expect(local(at('2025-03-03T18:40:00.000Z', '2025-03-03T18:50:00.000Z'), 'Asia/Kolkata')).toEqual([
      'Local time: Tue 2025-03-04 00:10 → 00:20 GMT+5:30 (Asia/Kolkata)',
    ]);
    expect(local(alert, 'UTC')).toEqual([]);
    expect(emailBody(alert)).toBe(emailBody(alert, 'UTC'));
    // Chat, the SNS message and the envelope the state machine publishes carry it too.
    const description = (
      chatbotMessage(at('2025-03-03T11:12:00.000Z', '2025-03-03T11:22:00.000Z'), 'America/Los_Angeles').content as { description: string }
    ).description;
    expect(description).toContain('Local time: Mon 2025-03-03 03:12 → 03:22 PST (America/Los_Angeles)\n');
    expect(snsMessage(alert, 'Europe/Paris')).toContain('Local time:');
    const message = { key: 'k', alert, publish: true, correlate: false, digest: false } as const;
    expect(envelopeOf(message, undefined, { ...DEFAULT_STYLE, timeZone: 'Europe/Paris' }).publishFields.message).toContain(
      '(Europe/Paris)',
    );
    expect(envelopeOf(message).publishFields.message).not.toContain('Local time:');
  });

  it('email: a reminder says how long the alert has fired and that nobody took it; an opening says neither', async () => {
    const [alert] = await alertsFor(['eve']);
    if (!alert) throw new Error('no alert');
    const reminder: Alert = { ...alert, status: 'reminder', openedAt: '2025-03-03T09:15:00.000Z', occurrences: 1234 };
    expect(emailBody(reminder).split('\n')).toContain(
      'Reminder: still firing since 2025-03-03 09:15 UTC (same id, 1,234 qualifying events since it opened) and acknowledged by nobody.',
    );
    expect(emailBody({ ...reminder, status: 'open' })).not.toContain('Reminder:');
  });

  it('email: the related users, addresses and hosts, the alert’s own entity left out, five per field', async () => {
    const [alert] = await alertsFor(['eve']);
    if (!alert) throw new Error('no alert');
    expect(emailBody(alert).split('\n')).toContain('Related: host.name eve-host');
    const ips = Array.from({ length: 7 }, (_, i) => `203.0.113.${i}`);
    const many: Alert = { ...alert, related: { 'user.name': ['eve', 'mallory'], 'source.ip': ips } };
    expect(emailBody(many).split('\n')).toContain(
      'Related: user.name mallory; source.ip 203.0.113.0, 203.0.113.1, 203.0.113.2, 203.0.113.3, 203.0.113.4 (+2 more)',
    );
    expect(emailBody({ ...alert, related: { 'user.name': ['eve'] } })).not.toContain('Related:');
    // A service that is only the log group (its lines named none) is not news; a named one is.
    expect(alert.logGroups.length).toBeGreaterThan(0);
    expect(emailBody({ ...alert, related: { 'service.name': alert.logGroups } })).not.toContain('Related:');
    expect(emailBody({ ...alert, related: { 'service.name': ['billing'] } }).split('\n')).toContain('Related: service.name billing');
    // Chat: each as code, a backtick in a value unable to end its span.
    const description = (a: Alert) => (chatbotMessage(a).content as { description: string }).description;
    expect(description({ ...alert, related: { 'host.name': ['web`1', 'db'] } }).split('\n')[1]).toBe(
      "Related: `host.name=web'1` `host.name=db`",
    );
    expect(description({ ...alert, related: { 'user.name': ['eve'] } })).not.toContain('Related:');
  });

  it('email: a stack trace in the evidence keeps its lines, each marked as the message’s', async () => {
    const [alert] = await alertsFor(['eve']);
    if (!alert?.events[0]) throw new Error('no evidence');
    alert.events[0].message = 'Error: boom\n    at handler (index.js:1:1)\r\nRecommended actions:';
    const lines = emailBody(alert).split('\n');
    const at = lines.findIndex((l) => l.endsWith(': Error: boom'));
    expect(lines.slice(at + 1, at + 3)).toEqual(['    |     at handler (index.js:1:1)', '    | Recommended actions:']);
  });

  it('chat: the title and the entity code span carry no control character and no backtick from the value', async () => {
    const [alert] = await alertsFor(['eve` *bold* [link](https://evil.example) `\nline']);
    if (!alert) throw new Error('no alert');
    const content = chatbotMessage(alert).content as { title: string; description: string };
    expect(content.title).not.toMatch(/[\u0000-\u001f]/);
    const span = content.description.split('`')[1] ?? '';
    expect(span).toBe("user.name=eve' *bold* [link](https://evil.example) '\\u000aline");
  });

  it('chat: the latest evidence line as code (its first 300 characters, as redacted in the alert), before the rule’s description', async () => {
    const [alert] = await alertsFor(['eve']);
    if (!alert) throw new Error('no alert');
    const last = alert.events.at(-1);
    if (!last) throw new Error('no evidence');
    const text = `login <https://evil.example|reset your password> \`x\` ${'y'.repeat(400)}`;
    const lines = (chatbotMessage({ ...alert, events: [{ ...last, message: text }] }).content as { description: string }).description.split(
      '\n',
    );
    const line = lines.find((l) => l.startsWith('Latest line ('));
    // Its first 300 characters, the backticks apostrophes: a link in it stays text.
    expect(line).toBe(
      `Latest line (${last.timestamp.slice(0, 16).replace('T', ' ')} UTC, \`/app/auth\`): \`${text.slice(0, 300).replaceAll('`', "'")}\``,
    );
    expect(line).toContain("<https://evil.example|reset your password> 'x' y");
    expect(lines.indexOf(line ?? '')).toBeLessThan(lines.findIndex((l) => l.startsWith(alert.description.slice(0, 20))));
    // The alert's own evidence, as the detector redacted it.
    expect((chatbotMessage(alert).content as { description: string }).description).toContain(
      `\`${printable(last.message.slice(0, 300)).replaceAll('`', "'")}\``,
    );
  });

  it('chat: an incident says what happened — its member detections in order, each rule and title as code, ten at most', async () => {
    const [alert] = await alertsFor(['eve']);
    if (!alert) throw new Error('no alert');
    const hostile = 'eve` *bold* <https://evil.example|reset your password> [x](https://evil.example)\nSeverity: low';
    const member = (i: number, title: string) => ({
      id: `det-${i}`,
      ruleId: 'auth.login_without_mfa',
      title,
      firstSeen: new Date(Date.parse('2025-03-03T03:12:00Z') + i * 60_000).toISOString(),
      lastSeen: new Date(Date.parse('2025-03-03T03:12:00Z') + i * 60_000).toISOString(),
    });
    const incident: Alert = {
      ...alert,
      kind: 'incident',
      memberDetections: [member(0, hostile), ...Array.from({ length: 11 }, (_, i) => member(i + 1, `login ${i + 1}`))],
    };
    const lines = (chatbotMessage(incident).content as { description: string }).description.split('\n');
    const at = lines.indexOf('What happened:');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toBe(
      "• 2025-03-03 03:12 UTC `auth.login_without_mfa` `eve' *bold* <https://evil.example|reset your password> [x](https://evil.example)\\u000aSeverity: low`",
    );
    expect(lines[at + 10]).toBe('• 2025-03-03 03:21 UTC `auth.login_without_mfa` `login 9`');
    expect(lines[at + 11]).toBe('… and 2 more');
    expect(lines.filter((l) => l.startsWith('Severity:'))).toEqual([]);
    // A detection has no members: no such section.
    expect((chatbotMessage(alert).content as { description: string }).description).not.toContain('What happened:');
  });

  it('a folded detection says which page it is part of (its title shown as text), and joins that page’s chat thread', async () => {
    const [alert] = await alertsFor(['eve']);
    if (!alert) throw new Error('no alert');
    const folded: Alert = {
      ...alert,
      tier: 'notify',
      foldedInto: { id: 'det-page', ruleId: 'auth.password_spray', title: 'Password spray from 192.0.2.66\nSeverity: low' },
    };
    const lines = emailBody(folded).split('\n');
    expect(lines).toContain(
      'Part of the page already open for this entity: Password spray from 192.0.2.66\\u000aSeverity: low (rule auth.password_spray, alert det-page); told here, not paged again.',
    );
    expect(lines.filter((l) => l.startsWith('Severity:'))).toHaveLength(1);
    expect(chatbotMessage(folded).metadata).toMatchObject({ threadId: 'auth.password_spray:123456789012:eve' });
    expect(chatbotMessage(alert).metadata).toMatchObject({ threadId: 'test.echo:123456789012:eve' });
    // Two accounts' eve are two users (src/engine/entity-scope.ts): two threads.
    const inAccount = (account: string) => chatbotMessage({ ...alert, entity: { ...alert.entity, account } }).metadata;
    expect(inAccount('111111111111')).toMatchObject({ threadId: 'test.echo:111111111111:eve' });
    expect(inAccount('222222222222')).toMatchObject({ threadId: 'test.echo:222222222222:eve' });
    expect(emailBody(alert)).not.toContain('Part of the page');
  });

  it('property: alert JSON made terminal-safe parses to the same value and holds no unprintable character', () => {
    fc.assert(
      fc.property(fc.jsonValue(), hostile, fc.constantFrom(undefined, 2), (value, name, indent) => {
        const doc = { name, value, nested: [name, { name }] };
        const text = terminalSafeJson(doc, indent);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(doc)));
        expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
      }),
    );
  });
});

describe('the review digest email', () => {
  const entry = (ruleId: string, value: string, at: number, account?: string) => ({
    ruleId,
    alertId: `det-${ruleId}-${at}`,
    title: `${ruleId} about ${value}`,
    severity: 'low' as const,
    entity: { field: 'user.name', value, ...(account ? { account } : {}) },
    at,
    logGroups: ['/app/auth'],
  });
  const T = 1_740_000_000_000;
  /** The digest of an hour from T (the Region's console links). */
  const digestOf = (entries: ReturnType<typeof entry>[]) =>
    buildDigestAlert({ start: T, end: T + 3_600_000, entries }, { region: 'us-east-1' });

  it('lists each rule with its detections, top entities (as text) and Logs Insights link', () => {
    const digest = digestOf([
      entry('auth.off_hours_login', 'deploy', T),
      entry('auth.off_hours_login', 'deploy', T + 1),
      entry('ssh.auth_failures', 'eve\nSeverity: critical', T + 2),
    ]);
    const lines = emailBody(digest).split('\n');
    // Of two detections, the title is the latest's: said so.
    expect(lines).toContain('auth.off_hours_login (low): 2 detection(s) — latest: auth.off_hours_login about deploy');
    expect(lines).toContain(`ssh.auth_failures (low): 1 detection(s) — ssh.auth_failures about ${printable('eve\nSeverity: critical')}`);
    expect(lines).toContain('  top: deploy ×2');
    expect(lines).toContain(`  top: ${printable('eve\nSeverity: critical')} ×1`);
    expect(lines.filter((l) => l.startsWith('  Logs Insights: https://us-east-1.console.aws.amazon.com/'))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('Severity:'))).toHaveLength(0);
  });

  it('each rule’s Logs Insights link finds the lines of every entity it lists, not only the first', () => {
    // deploy twice, then a (in two accounts), b, c, d once: the digest lists the first five.
    const digest = digestOf([
      entry('auth.off_hours_login', 'deploy', T),
      entry('auth.off_hours_login', 'deploy', T + 1),
      entry('auth.off_hours_login', 'a', T + 2, '111111111111'),
      entry('auth.off_hours_login', 'a', T + 3, '222222222222'),
      ...['b', 'c', 'd'].map((v, i) => entry('auth.off_hours_login', v, T + 4 + i)),
    ]);
    const [rule] = digest.digest ?? [];
    expect((rule?.entities ?? []).map((e) => e.value)).toEqual(['deploy', 'a', 'a', 'b', 'c']);
    // One term per value listed (the two accounts' `a` are one search), joined by `or`.
    expect(rule?.logsInsightsQuery.split('\n')[1]).toBe(
      '| filter @message like "deploy" or @message like "a" or @message like "b" or @message like "c"',
    );
    // Quotes escaped; the console link carries the query.
    const quoted = digestOf([entry('x.rule', 'r.ortega', T), entry('x.rule', 'say "hi"', T + 1)]).digest?.[0];
    expect(quoted?.logsInsightsQuery).toContain('| filter @message like "r.ortega" or @message like "say \\"hi\\""');
    expect(quoted?.consoleUrl).toContain('ortega');
  });

  it('says how many detections its top five leave out, in the email and in chat (an entity cut from the list is otherwise only in the count)', () => {
    // Six users' off-hours logins in one hour, one detection each: five are listed.
    const digest = digestOf(
      ['admin', 'dana', 'deploy-tool', 'dmitri', 'j.chen', 'm.silva'].map((v, i) => entry('auth.off_hours_login', v, T + i)),
    );
    const [rule] = digest.digest ?? [];
    expect(rule?.entities).toHaveLength(5);
    expect(
      emailBody(digest)
        .split('\n')
        .find((l) => l.startsWith('  top: ')),
    ).toMatch(/ ×1 \(and 1 more detection of other entities\)$/);
    const chat = (chatbotMessage(digest).content as { description: string }).description;
    expect(chat).toContain('(and 1 more detection of other entities)');
    // A list that holds every detection says nothing more.
    const whole = digestOf([entry('auth.off_hours_login', 'deploy', T), entry('auth.off_hours_login', 'deploy', T + 1)]);
    expect(emailBody(whole)).not.toContain('more detection');
  });

  it('chat: the digest lists its rules with their detections and top entities (as code), fifteen at most', () => {
    const digest = digestOf([
      entry('auth.off_hours_login', 'deploy', T),
      entry('auth.off_hours_login', 'deploy', T + 1),
      entry('auth.off_hours_login', 'eve` <https://evil.example|reset>\nx', T + 2),
      ...Array.from({ length: 15 }, (_, i) => entry(`rule.r${String(i).padStart(2, '0')}`, 'bob', T + 3 + i)),
    ]);
    const lines = (chatbotMessage(digest).content as { description: string }).description.split('\n');
    expect(lines).toContain(
      "• `auth.off_hours_login` (low): 3 detection(s) — top: `deploy` ×2, `eve' <https://evil.example|reset>\\u000ax` ×1",
    );
    expect(lines).toContain('• `rule.r00` (low): 1 detection(s) — top: `bob` ×1');
    expect(lines.filter((l) => l.startsWith('• '))).toHaveLength(15);
    expect(lines).toContain('… and 1 more rules (in the email)');
  });

  it('shows how much each entity did (its alerts’ occurrences and the last, dated when not the digest’s day), in the email and in chat', () => {
    const digest = buildDigestAlert(
      {
        start: T,
        end: T + 3_600_000,
        entries: [
          { ...entry('ssh.auth_failures', 'heavy', T), occurrences: 1 },
          { ...entry('ssh.auth_failures', 'old', T + 1), occurrences: 3 },
          entry('ssh.auth_failures', 'unknown', T + 2),
        ],
        since: new Map([[`det-ssh.auth_failures-${T}`, { occurrences: 71, lastSeen: T + 86_400_000 }]]),
      },
      { region: 'us-east-1' },
    );
    const day = new Date(T).toISOString().slice(0, 10);
    const hhmm = new Date(T).toISOString().slice(11, 16);
    const next = new Date(T + 86_400_000).toISOString().slice(0, 10);
    const top = `heavy ×1 (71 occurrences, the last ${next} ${hhmm} UTC), old ×1 (3 occurrences, the last ${hhmm} UTC), unknown ×1`;
    expect(day).not.toBe(next);
    expect(emailBody(digest).split('\n')).toContain(`  top: ${top}`);
    const chat = (chatbotMessage(digest).content as { description: string }).description;
    expect(chat).toContain('top: `heavy` ×1 (71 occurrences');
  });

  it('builds the digest of a flood: 200,000 held detections in one interval (past the arguments a call takes; grouped without a copy per entry)', () => {
    const entries = Array.from({ length: 200_000 }, (_, i) =>
      entry('net.connection_flood', `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, T + i),
    );
    const digest = digestOf(entries);
    expect(digest).toMatchObject({ count: 200_000, firstSeen: new Date(T).toISOString(), lastSeen: new Date(T + 199_999).toISOString() });
    expect(digest.digest?.[0]?.detections).toBe(200_000);
  });

  it('names entities’ accounts only when the interval’s entities come from several', () => {
    const body = (accounts: string[]) => emailBody(digestOf(accounts.map((a, i) => entry('auth.off_hours_login', 'root', T + i, a))));
    expect(body(['111111111111'])).toContain('  top: root ×1');
    expect(body(['111111111111', '222222222222'])).toContain('  top: root (account 111111111111) ×1, root (account 222222222222) ×1');
  });
});
