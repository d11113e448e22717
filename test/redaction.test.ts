import { describe, expect, it } from 'vitest';
import { REDACTION_PATTERNS, redact } from '../src/alerts/redact';
import { checkRegexSafety } from '../src/rules/regex-safety';
import { detector, ev, rule } from './helpers';

const SECRETS = [
  ['password=hunter2&user=a', 'hunter2'],
  ['{"username":"admin","password":"Winter2025!"}', 'Winter2025!'],
  ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_abcdef', 'eyJhbGciOiJIUzI1NiJ9'],
  ['key AKIAIOSFODNN7EXAMPLE used', 'AKIAIOSFODNN7EXAMPLE'],
  ['aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ['Cookie: laravel_session=abc123def456; theme=dark', 'abc123def456'],
  ['GET /x?PHPSESSID=s3cr3tsess HTTP/1.1', 's3cr3tsess'],
  ['token ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
  ['postgres://app:dbpass99@db:5432/x', 'dbpass99'],
] as const;

describe('secret redaction', () => {
  it.each(SECRETS)('redacts %s', (line, secret) => {
    const out = redact(line);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED]');
  });
  it('leaves ordinary lines alone', () => {
    const line = 'Failed password for invalid user oracle from 203.0.113.50 port 52144 ssh2';
    expect(redact(line)).toBe(line);
  });
  it('redaction patterns are linear-time', () => {
    for (const p of REDACTION_PATTERNS) expect(checkRegexSafety(p.regex.source), p.name).toMatchObject({ safe: true });
  });
  it('alerts never carry the secrets of their evidence', async () => {
    const d = detector([rule({ match: { 'event.action': 'login' }, title: 'login by {user.name}' })]);
    const out = await d.evaluate(
      'b',
      SECRETS.map(([line]) => ({ ...ev({ 'event.action': 'login', 'user.name': 'x' }), 'event.original': line })),
    );
    const json = JSON.stringify(out.alerts);
    for (const [, secret] of SECRETS.slice(0, 5)) expect(json).not.toContain(secret);
  });
});
