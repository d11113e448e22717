import { describe, expect, it } from 'vitest';
import { BUILTIN_PARSERS, RFC5424_HEADER, SYSLOG_HEADER } from '../src/parse/builtin-parsers';
import { checkRegexSafety } from '../src/rules/regex-safety';

/**
 * Every line a built-in parser reads can be written by an attacker (a typed user or mailbox name,
 * a request line, a user agent): a pattern that backtracks catastrophically would stall a detector
 * on one line. Source files' custom parsers are checked the same way by `detect validate`.
 */
describe('built-in parser patterns', () => {
  it('each passes recheck (no super-linear backtracking)', () => {
    const patterns = new Set<string>([SYSLOG_HEADER, RFC5424_HEADER]);
    for (const parsers of Object.values(BUILTIN_PARSERS)) {
      for (const parser of parsers) {
        if (parser.program) patterns.add(parser.program);
        for (const p of parser.patterns) patterns.add(p.pattern);
      }
    }
    expect(patterns.size).toBeGreaterThan(80);
    const unsafe = [...patterns].map((p) => ({ pattern: p, verdict: checkRegexSafety(p) })).filter((r) => !r.verdict.safe);
    expect(unsafe).toEqual([]);
  }, 120_000);

  it('gives a pattern checked twice in a process the verdict it gave first (detect import-sigma checks, then validates what it wrote)', () => {
    const first = checkRegexSafety('^(?<x>\\d{1,5}) [a-z]{1,8}$');
    expect(first).toEqual({ safe: true, detail: 'safe' });
    expect(checkRegexSafety('^(?<x>\\d{1,5}) [a-z]{1,8}$')).toBe(first);
  });
});
