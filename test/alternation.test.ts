import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { neededChecks, redact } from '../src/alerts/redact';
import { groupedAlternation, topLevelAlternatives } from '../src/rules/alternation';

describe('topLevelAlternatives', () => {
  it('splits at the top level only, stepping over escapes, classes and groups', () => {
    expect(topLevelAlternatives(String.raw`a|b(?:c|d)|[|]|\||e`)).toEqual(['a', 'b(?:c|d)', '[|]', String.raw`\|`, 'e']);
    expect(topLevelAlternatives('single')).toEqual(['single']);
    expect(topLevelAlternatives('a||b')).toEqual(['a', '', 'b']);
  });
});

const { plain, grouped } = neededChecks();

/** Alternatives of the kinds the prefilters hold: literals sharing first letters in either case, escapes, classes, groups, quantified first characters. */
const ALTERNATIVE_SETS = [
  topLevelAlternatives(plain.anyNeededOrUnknownUser.source),
  [
    'pass',
    'Pwd',
    'pypi-',
    'p',
    'ab*c',
    'a*bc',
    'a?x',
    'a{2}y',
    String.raw`\.env`,
    '[sr]k_',
    'gl(?:pat|dt)-',
    'S',
    'sk-',
    'SG\\.',
    '7z',
    '://',
  ],
  ['union select', 'union all', 'UNION', 'u', '../', '..%2f', 'etc/passwd', 'ETC/shadow'],
];

describe('groupedAlternation', () => {
  it('answers test() exactly as the plain alternation, with and without ignoring case', () => {
    for (const alternatives of ALTERNATIVE_SETS) {
      // Texts made of the alternatives' own pieces (their prefixes, in either case) and other characters.
      const pieces = alternatives.flatMap((a) => [a, a.slice(0, 1), a.slice(0, 3), a.slice(1), a.toUpperCase()]).filter((p) => p !== '');
      const text = fc
        .array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 3 }), fc.constantFrom('K', 'ſ', 'İ', '\u212a')), {
          maxLength: 12,
        })
        .map((parts) => parts.join(''));
      for (const flags of ['', 'i']) {
        const plainRegex = new RegExp(alternatives.join('|'), flags);
        const groupedRegex = new RegExp(groupedAlternation(alternatives, flags === 'i'), flags);
        fc.assert(
          fc.property(text, (t) => groupedRegex.test(t) === plainRegex.test(t)),
          { numRuns: 1500 },
        );
      }
    }
  });

  it('groups alternatives by first character, ignoring case when the regex does', () => {
    expect(groupedAlternation(['pass', 'Pwd', 'key', 'a*b'], true)).toBe('p(?:ass|wd)|key|a*b');
    expect(groupedAlternation(['pass', 'Pwd', 'key'], false)).toBe('pass|Pwd|key');
  });
});

describe('redaction prefilters', () => {
  it('grouped by first character, find what the plain alternations find', () => {
    const pieces = topLevelAlternatives(plain.anyNeededOrUnknownUser.source).map((a) => a.replaceAll('\\', ''));
    const line = fc
      .array(
        fc.oneof(
          fc.constantFrom(...pieces),
          fc.constantFrom('"method":"api_key"', ' ', '=', 'GET /a HTTP/1.1'),
          fc.string({ maxLength: 4 }),
        ),
        {
          maxLength: 10,
        },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(
        line,
        (l) =>
          grouped.anyNeeded.test(l) === plain.anyNeeded.test(l) &&
          grouped.anyNeededOrUnknownUser.test(l) === plain.anyNeededOrUnknownUser.test(l),
      ),
      { numRuns: 3000 },
    );
    // And redaction still finds what it did.
    expect(redact('{"method":"api_key","api_key":"s3cr3t-value"}')).not.toContain('s3cr3t-value');
  });
});
