import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redact } from '../src/alerts/redact';
import { loadPack } from '../src/cli/load-pack';
import { replay } from '../src/cli/replay';
import { MemoryStateStore } from '../src/engine/memory-store';
import { PassThroughSink } from '../src/engine/ports';
import { Normalizer } from '../src/parse/normalize';
import { looksLikePassword, redactTypedPasswords, typedPasswordTag } from '../src/parse/typed-password';
import type { Message } from '../src/schema/alert';
import { REALWORLD_LOGS, realLogLines } from './helpers';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const ctx = (logGroup: string) => ({ logGroup, logStream: 's', id: '1', timestamp: Date.parse('2026-03-03T03:12:30Z') });
const sshd = (rest: string) => `Mar  3 03:12:00 bastion-1 sshd[4242]: ${rest}`;

describe('a password typed as a user name', () => {
  it('reads as one: eight characters or more of three kinds; names and word lists do not', () => {
    for (const typed of ['Summer2025!', 'Tr0ub4dor&3', 'P@ssw0rd1', 'Winter#2026', 'correctHorse9', 'hunter2!X']) {
      expect(looksLikePassword(typed), typed).toBe(true);
    }
    for (const name of [
      'admin',
      'oracle',
      'postgres1',
      'ubnt',
      'PlcmSpIp',
      'Administrator',
      'j.chen@example.com',
      'ec2-user',
      'svc_backup',
      'hunter22',
      'a b C1!xyz',
    ]) {
      expect(looksLikePassword(name), name).toBe(false);
    }
    expect(looksLikePassword(typedPasswordTag('Summer2025!'))).toBe(false);
  });

  it('is replaced in the event where the log says the user does not exist, by one tag per typed text', () => {
    const normalizer = new Normalizer(pack.sources);
    const read = (line: string) => {
      const r = normalizer.normalize(line, ctx('/var/log/auth.log'));
      if (!r.ok) throw new Error(`not read: ${line}`);
      return r.event;
    };
    const invalid = read(sshd('Invalid user Summer2025! from 203.0.113.9 port 52814'));
    const failed = read(sshd('Failed password for invalid user Summer2025! from 203.0.113.9 port 52814 ssh2'));
    const other = read(sshd('Invalid user Winter#2026 from 203.0.113.9 port 52815'));
    expect(invalid['user.name']).toBe(typedPasswordTag('Summer2025!'));
    expect(failed['user.name']).toBe(invalid['user.name']);
    expect(other['user.name']).not.toBe(invalid['user.name']);
    for (const e of [invalid, failed]) expect(JSON.stringify(e)).not.toContain('Summer2025!');
    // What the log does not say is unknown stays: an existing user's name, and a word list's.
    expect(read(sshd('Failed password for Deploy2025x from 203.0.113.9 port 52814 ssh2'))['user.name']).toBe('Deploy2025x');
    expect(read(sshd('Invalid user admin from 203.0.113.9 port 52814'))['user.name']).toBe('admin');
    // Keycloak's text event, where no source names the log group (the default reads it).
    const keycloak = new Normalizer([]).normalize(
      '2026-03-03 03:12:00,123 WARN  [org.keycloak.events] (executor-thread-1) type="LOGIN_ERROR", realmId="acme", clientId="portal", userId="null", ipAddress="203.0.113.9", error="user_not_found", username="Winter#2026"',
      ctx('/app/keycloak'),
    );
    if (!keycloak.ok) throw new Error('not read');
    expect(keycloak.event['user.name']).toBe(typedPasswordTag('Winter#2026'));
    expect(JSON.stringify(keycloak.event)).not.toContain('Winter#2026');
  });

  it('is redacted in any line that says so, however it reached the alert, and redacting twice changes nothing', () => {
    const lines = [
      sshd('input_userauth_request: invalid user Summer2025! [preauth]'),
      "Mar  3 03:12:00 host-1 login[812]: FAILED LOGIN (1) on '/dev/tty1' FOR 'Tr0ub4dor&3', User not known to the underlying authentication module",
      '{"type":"LOGIN_ERROR","error":"user_not_found","ipAddress":"203.0.113.9","details":{"username":"Winter#2026"},"note":"Winter#2026"}',
      'type="LOGIN_ERROR", error="user_not_found", username="Winter#2026"',
    ];
    for (const line of lines) {
      const once = redact(line);
      expect(once, line).toContain('[REDACTED user name ');
      expect(once).not.toMatch(/Summer2025!|Tr0ub4dor&3|Winter#2026/);
      expect(redact(once)).toBe(once);
    }
    // Without the log saying the user is unknown, a name is a name.
    expect(redact('type="LOGIN", username="Winter#2026"')).toBe('type="LOGIN", username="Winter#2026"');
  });

  it('a hostile line of thousands of markers: the first 64 names it points at are looked at, no more (its writer chose those "passwords")', () => {
    const names = Array.from({ length: 12_000 }, (_, i) => `Aa1!${i}xyz`);
    const out = redactTypedPasswords(names.map((n) => `Invalid user ${n} `).join(''));
    const replaced = names.filter((n) => !out.includes(`Invalid user ${n} `));
    expect(replaced).toEqual(names.slice(0, 64));
    // A marker with no end, or a name longer than any password: nothing to replace, the line as it was.
    for (const line of [`FAILED LOGIN user_not_found FOR '${'Aa1!'.repeat(20_000)}`, `invalid user ${'x'.repeat(100_000)}`]) {
      expect(redactTypedPasswords(line)).toBe(line);
    }
  });

  it('none of the 56 invalid users of the real OpenSSH sample is replaced', () => {
    const lines = realLogLines('OpenSSH_2k.log').filter((l) => /[Ii]nvalid user /.test(l));
    expect(lines.length).toBeGreaterThan(50);
    for (const line of lines) expect(redactTypedPasswords(line)).toBe(line);
    expect(REALWORLD_LOGS).toBeTruthy();
  });

  it('through the shipped rules: a brute force whose names include a typed password alerts without it', async () => {
    const names = ['admin', 'oracle', 'test', 'Summer2025!', 'guest', 'ubuntu', 'pi', 'support', 'user', 'ftp', 'deploy', 'git'];
    const lines = names.flatMap((name, i) => {
      const at = `Mar  3 03:1${Math.floor(i / 6)}:${String((i % 6) * 9).padStart(2, '0')}`;
      return [
        `${at} bastion-1 sshd[${5000 + i}]: Invalid user ${name} from 203.0.113.9 port ${40000 + i}`,
        `${at} bastion-1 sshd[${5000 + i}]: Failed password for invalid user ${name} from 203.0.113.9 port ${40000 + i} ssh2`,
      ];
    });
    const dir = mkdtempSync(join(tmpdir(), 'typed-password-'));
    const file = join(dir, 'auth.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const decided: Message[] = [];
    const passThrough = new PassThroughSink();
    await replay([file], {
      pack,
      store: new MemoryStateStore(),
      sink: {
        send: (messages: readonly Message[]) => {
          decided.push(...messages);
          return passThrough.send(messages);
        },
      },
      logGroup: '/var/log/auth.log',
      receivedAt: Date.parse('2026-03-03T03:20:00Z'),
      onAlert: () => undefined,
    });
    const detections = decided.filter((m) => m.alert.kind === 'detection');
    expect(detections.map((m) => m.alert.ruleId)).toContain('ssh.auth_failures');
    const text = JSON.stringify(decided);
    expect(text).not.toContain('Summer2025!');
    expect(text).toContain(typedPasswordTag('Summer2025!'));
    expect(text).toContain('oracle');
  });
});
