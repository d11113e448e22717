import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { ANSI_RE, withoutAnsi } from '../src/parse/ansi';
import { Normalizer } from '../src/parse/normalize';
import { checkRegexSafety } from '../src/rules/regex-safety';
import { normalizedLine } from './helpers';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const norm = (logGroup: string, line: string) =>
  normalizedLine(normalizer, line, { logGroup, timestamp: Date.parse('2026-03-03T12:00:00Z') });

/** Plain lines of several parsers, as apps write them without a terminal. */
const LINES: [string, string][] = [
  [
    '/app/api',
    '2024-05-01 12:34:56.789 ERROR 1234 --- [nio-8080-exec-1] c.e.demo.LoginController : Login failed for user admin from 203.0.113.5',
  ],
  ['/app/status', '[2025-03-03 10:00:00] production.ERROR: Unhandled exception {"exception":"RuntimeException"}'],
  ['/var/log/auth.log', 'Mar  3 03:12:10 bastion-1 sshd[2231]: Failed password for invalid user oracle from 203.0.113.50 port 52144 ssh2'],
  ['/app/web', '203.0.113.9 - - [03/Mar/2026:03:12:40 +0000] "GET /login HTTP/1.1" 401 12 "-" "curl/8.5"'],
  ['/app/worker', '2026-03-03 12:00:01,123 - app.jobs - WARNING - retrying job 42'],
];

/** SGR colour codes as a TTY logger writes them around a token. */
const colour = fc.constantFrom('\u001b[0m', '\u001b[31m', '\u001b[1;32m', '\u001b[0;39m', '\u001b[38;5;208m', '\u001b[2m', '\u001b[K');

describe('terminal colour codes in log lines', () => {
  it('a line in colour reads as the same line without: time, level and fields', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...LINES),
        fc.array(fc.tuple(fc.nat(), colour), { minLength: 1, maxLength: 8 }),
        ([group, plain], codes) => {
          // Codes go where a logger puts them: around tokens (at spaces) and at the ends.
          const cuts = [0, plain.length, ...[...plain.matchAll(/ /g)].map((m) => m.index)];
          let coloured = plain;
          for (const [n, code] of [...codes].sort((a, b) => (cuts[b[0] % cuts.length] ?? 0) - (cuts[a[0] % cuts.length] ?? 0))) {
            const at = cuts[n % cuts.length] ?? 0;
            coloured = coloured.slice(0, at) + code + coloured.slice(at);
          }
          const a = norm(group, coloured);
          const b = norm(group, plain);
          expect(a.parsed).toBe(b.parsed);
          expect(a.timeFallback).toBe(b.timeFallback);
          expect({ ...a.event }).toEqual({ ...b.event });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('Spring Boot in colour is read (it was unparsed, with no time and no level)', () => {
    const line =
      '\u001b[2m2024-05-01 12:34:56.789\u001b[0;39m \u001b[31mERROR\u001b[0;39m \u001b[35m1234\u001b[0;39m \u001b[2m---\u001b[0;39m \u001b[2m[nio-8080-exec-1]\u001b[0;39m \u001b[36mc.e.demo.LoginController\u001b[0;39m \u001b[2m:\u001b[0;39m Login failed';
    const r = norm('/app/api', line);
    expect(r.parsed).toBe(true);
    expect(r.event['log.level']).toBe('error');
    expect(r.event['@timestamp']).toBe(Date.parse('2024-05-01T12:34:56.789Z'));
    expect(r.event.message).toBe('Login failed');
  });

  it('removes CSI, OSC (titles, hyperlinks) and two-character escapes, and nothing else', () => {
    expect(withoutAnsi('\u001b]0;window title\u0007text')).toBe('text');
    expect(withoutAnsi('\u001b]8;;https://example.com\u001b\\link\u001b]8;;\u001b\\')).toBe('link');
    expect(withoutAnsi('a\u001b[2Jb\u001b[10;20Hc\u001bMd')).toBe('abcd');
    expect(withoutAnsi('no escapes [31m here')).toBe('no escapes [31m here');
    const plain = 'Failed password for root';
    expect(withoutAnsi(plain)).toBe(plain);
  });

  it('a line that is still binary after its colour codes are gone is skipped as binary', () => {
    const r = normalizer.normalize('\u001b[31mERROR\u001b[0m \u0000\u0001\u0002', {
      logGroup: '/app/api',
      logStream: 's',
      id: '1',
      timestamp: 0,
    });
    expect(r.ok ? 'kept' : r.skip.reason).toBe('binary_message');
  });

  it('a JSON line is parsed once, and reads alike whether it parses as it came or only once its colour codes are gone', () => {
    const at = { logStream: 's', id: '1', timestamp: Date.parse('2026-03-03T12:00:00Z') };
    const read = (logGroup: string, line: string) => normalizer.normalize(line, { logGroup, ...at });
    const json = '{"level":50,"msg":"admin login failed","user":"ops-admin","ip":"203.0.113.9"}';
    const plain = read('/app/api/a', json);
    if (!plain.ok) throw new Error(plain.skip.detail);
    expect(plain.event).toMatchObject({ 'user.name': 'ops-admin', 'source.ip': '203.0.113.9', 'log.level': 'error' });
    // Tabs, newlines and CRs between tokens are JSON; colour codes around the line are not, and are removed first.
    for (const line of [`\t${json.replace(',', ',\n\t')}\r\n`, `\u001b[31m${json}\u001b[0m`, ` \u001b[1m${json}`]) {
      const r = read('/app/api/a', line);
      expect(r.ok && r.parsed ? r.event['user.name'] : r).toBe('ops-admin');
    }
    // A raw control character inside a string is no JSON and no colour code: binary, as for any line.
    expect(read('/app/api/a', '{"msg":"a\u0001b"}')).toMatchObject({ ok: false, skip: { reason: 'binary_message' } });
    expect(read('/app/api/a', '\u0002{"msg":"x"}')).toMatchObject({ ok: false, skip: { reason: 'binary_message' } });
    // Malformed JSON in a JSON source: skipped with the parser's own words, parsed once.
    const bad = read('/app/api/a', '{"msg": "unterminated');
    expect(bad).toMatchObject({ ok: false, skip: { reason: 'malformed_json' } });
    expect(bad.ok ? '' : bad.skip.detail).toMatch(/^line looks like JSON but does not parse: .*JSON/);
    // A text source reads a JSON line with its parsers, unless a container runtime wraps a line in it.
    const wrapper = `{"log":"${LINES[3]?.[1].replaceAll('"', '\\"')}\\n","stream":"stdout","time":"2026-03-03T03:12:40Z"}`;
    // As it came, and behind colour codes (opened once they are gone).
    for (const line of [wrapper, `\u001b[0m${wrapper}`, `\u001b[1m \u001b${wrapper}`]) {
      const wrapped = read('/app/web/a', line);
      expect(wrapped.ok && wrapped.event).toMatchObject({ 'source.ip': '203.0.113.9', 'http.response.status_code': 401, stream: 'stdout' });
    }
    const notWrapped = read('/app/web/a', '{"log":"x"}');
    expect(notWrapped.ok && notWrapped.event).toMatchObject({ message: '{"log":"x"}' });
    expect(notWrapped.ok && notWrapped.event.stream).toBeUndefined();
  });

  it('the escape regex is linear (recheck)', () => {
    expect(checkRegexSafety(ANSI_RE.source)).toMatchObject({ safe: true });
  });
});
