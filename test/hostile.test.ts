import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { lambdaEvent, loadDetectorHandler, SSH_ATTACK, sentEnvelopes } from './handler-harness';

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
];

const batch = (hostile: string, i: number): SubscriptionPayload => ({
  owner: '123456789012',
  logGroup: '/var/log/auth.log',
  logStream: `hostile-${i}`,
  messageType: 'DATA_MESSAGE',
  logEvents: [
    ...SSH_ATTACK(`198.51.100.${i + 1}`, 12),
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
