import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evidenceShown } from '../src/alerts/evidence-line';
import { chatbotMessage, emailBody } from '../src/alerts/notification';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { TRAIL_STREAM } from './helpers';

/** A CloudTrail record as a trail writes it: version and the caller's identity first, the call after. */
const record = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLEMSILVA01',
      arn: 'arn:aws:iam::111122223333:user/m.silva',
      accountId: '111122223333',
      accessKeyId: 'ASIAEXAMPLEKEY00001',
      userName: 'm.silva',
      sessionContext: { attributes: { creationDate: '2025-03-03T14:00:00Z', mfaAuthenticated: 'false' } },
    },
    eventTime: '2025-03-03T14:11:00Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'UpdateLoginProfile',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.250',
    userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/iam.update-login-profile',
    requestParameters: { userName: 'ops-admin', passwordResetRequired: false },
    responseElements: null,
    eventID: '0d1f9c2e-1111-4a4a-8c8c-000000000001',
    eventType: 'AwsApiCall',
    recipientAccountId: '111122223333',
    ...overrides,
  });

describe('a long evidence line as a message shows it', () => {
  it('a CloudTrail record shows the call, its request and its caller’s address first, each member as written', () => {
    const line = record();
    expect(line.slice(0, 300)).not.toContain('UpdateLoginProfile'); // what a plain cut showed: who, never what
    const { text, reordered } = evidenceShown(line, 300);
    expect(reordered).toBe(true);
    expect(text).toHaveLength(300);
    expect(
      text.startsWith(
        '{"eventName":"UpdateLoginProfile","eventSource":"iam.amazonaws.com","requestParameters":{"userName":"ops-admin","passwordResetRequired":false},"sourceIPAddress":"198.51.100.250","userAgent":"aws-cli/',
      ),
    ).toBe(true);
    // Given the room, the whole record: the same members, the others in the line's order.
    const whole = evidenceShown(line, line.length - 1).text;
    expect(JSON.parse(`${whole}}`)).toEqual(JSON.parse(line));
    expect(Object.keys(JSON.parse(`${whole}}`))).toEqual([
      'eventName',
      'eventSource',
      'requestParameters',
      'sourceIPAddress',
      'userAgent',
      'responseElements',
      'eventVersion',
      'userIdentity',
      'eventTime',
      'awsRegion',
      'eventID',
      'eventType',
      'recipientAccountId',
    ]);
    const all = evidenceShown(line, 10_000);
    expect(all.text).toBe(line); // it fits: shown as written
  });

  it('a refusal shows its error code before the request', () => {
    const { text } = evidenceShown(
      record({ errorCode: 'AccessDenied', errorMessage: 'User: arn:aws:iam::111122223333:user/m.silva is not authorized' }),
      120,
    );
    expect(
      text.startsWith('{"eventName":"UpdateLoginProfile","eventSource":"iam.amazonaws.com","errorCode":"AccessDenied","requestParameters"'),
    ).toBe(true);
  });

  it('a record the alert cut at 2,048 characters: the whole members before the cut, reordered; the cut one left out', () => {
    const big = record({ requestParameters: { instancesSet: { items: Array.from({ length: 80 }, (_, i) => ({ imageId: `ami-${i}` })) } } });
    const cut = `${big.slice(0, 2048)}…`;
    const { text, reordered } = evidenceShown(cut, 300);
    expect(reordered).toBe(true);
    expect(text.startsWith('{"eventName":"UpdateLoginProfile","eventSource":"iam.amazonaws.com","sourceIPAddress":"198.51.100.250"')).toBe(
      true,
    );
    expect(text).not.toContain('instancesSet');
  });

  it('lines that are not JSON objects, or name none of those members, are cut as they are', () => {
    const text = `Accepted password for root from 203.0.113.7 port 4242 ssh2 ${'x'.repeat(400)}`;
    expect(evidenceShown(text, 300)).toEqual({ text: text.slice(0, 300), reordered: false });
    const app = JSON.stringify({ level: 'error', msg: 'payment failed', detail: 'y'.repeat(400) });
    expect(evidenceShown(app, 300)).toEqual({ text: app.slice(0, 300), reordered: false });
  });

  it('property: any JSON object shown whole parses to the same value; any text, hostile or cut, never throws and never grows', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('eventName', 'verb', 'action', 'a', 'b', '__proto__', 'x"y'), fc.jsonValue()), (value) => {
        const line = JSON.stringify(value);
        const { text } = evidenceShown(line, line.length - 1);
        // Cut by one: the closing brace of the reordered object is the character dropped.
        if (text.length === line.length - 1 && text.startsWith('{') && evidenceShown(line, line.length - 1).reordered)
          expect(JSON.parse(`${text}}`)).toEqual(JSON.parse(line));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.integer({ min: 0, max: 200 }), (text, max) => {
        const shown = evidenceShown(`{"eventName":${text}`, max).text;
        expect(shown.length).toBeLessThanOrEqual(max);
      }),
    );
  });
});

describe('CloudTrail alerts say what was done', () => {
  it('email and chat show the call and its request of a shipped rule’s alert', async () => {
    const { pack } = loadPack(['rules'], { checkRegexes: false });
    const detector = new Detector(pack, new MemoryStateStore());
    const payload = {
      messageType: 'DATA_MESSAGE' as const,
      owner: '111122223333',
      logGroup: 'org-audit/management-events',
      logStream: TRAIL_STREAM,
      logEvents: [{ id: 'e1', timestamp: Date.parse('2025-03-03T14:11:00Z'), message: record() }],
    };
    const result = await processPayload(payload, new Normalizer(pack.sources), detector);
    const alert = result.messages.map((m) => m.alert).find((a) => a.ruleId === 'aws.console_password_reset_for_other_user');
    if (!alert) throw new Error('the rule did not fire');
    const email = emailBody(alert);
    expect(email).toContain('secrets redacted; a long JSON line shows what was done first):');
    expect(email).toContain(
      ': {"eventName":"UpdateLoginProfile","eventSource":"iam.amazonaws.com","requestParameters":{"userName":"ops-admin"',
    );
    const chat = (chatbotMessage(alert).content as { description: string }).description;
    expect(chat).toContain(
      '`{"eventName":"UpdateLoginProfile","eventSource":"iam.amazonaws.com","requestParameters":{"userName":"ops-admin"',
    );
    // The alert's JSON keeps the line as the trail wrote it.
    expect(alert.events[0]?.message.startsWith('{"eventVersion":"1.09","userIdentity"')).toBe(true);
  });
});
