import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { generateDemo } from '../src/demo/generate';
import { BUILTIN_PARSER_NAMES, builtinPatterns } from '../src/parse/builtin-parsers';
import { patternLiterals, requiredLiteral } from '../src/parse/required-literal';

describe('the text every match of a parser pattern holds', () => {
  it.each([
    [String.raw`^\[(?<timestamp>[0-9: T-]+)\] \w+\.WARNING: Failed login attempt (?<json>\{.*\})$`, '.WARNING: Failed login attempt '],
    [String.raw`^\d{1,5} Failed password for (?<user>\S+)`, ' Failed password for '],
    ['(?:Running|Executing) the job', ' the job'],
    ['abcd?efgh', 'efgh'], // the d may be absent: abc and efgh are the runs
    ['ab+cdefg', 'cdefg'], // one b at least: ab, then the run ends
    ['x{2}yzzz', 'yzzz'],
    ['wxyzq{0,3}ab', 'wxyz'], // no q at all, maybe
    [String.raw`\bword\b`, 'word'],
    [String.raw`foo\.bar\(x\)`, 'foo.bar(x)'],
    [String.raw`\u0041BCDE`, 'BCDE'], // \u0041 is A: its digits are not text of the match
    [String.raw`\x41BCDE`, 'BCDE'],
    [String.raw`\u{1F600}smile`, 'smile'],
    [String.raw`(a)\1\12345text`, 'text'], // a backreference's digits
    [String.raw`\p{Lu}upper`, 'upper'],
    [String.raw`(?<n>a)\k<n>named`, 'named'],
    ['ab(?=cd)efgh', 'efgh'], // a lookahead ends the run
    ['[^]xyzw', 'xyzw'], // [^] is any one character in JavaScript
  ])('%s → %s', (pattern, literal) => {
    expect(requiredLiteral(pattern)).toBe(literal);
  });
  it.each([
    ['Failed|Accepted password'], // alternatives at the top level
    ['(?<message>.*)'],
    ['abc'], // shorter than four
    ['ab}cd efgh'], // unbalanced: not read
    ['[]a]bcde'], // [] is an empty class in JavaScript, and the ] after it unbalanced
    ['a{,3}bcdefg'], // not a quantifier this reads
    [String.raw`abcd\u00`], // cut short
  ])('%s → none', (pattern) => {
    expect(requiredLiteral(pattern)).toBeUndefined();
  });
  it('a declared literal wins, and alternatives are kept', () => {
    expect(patternLiterals({ pattern: 'x(?:Running|Executing)', literal: ['Running', 'Executing'] })).toEqual(['Running', 'Executing']);
    expect(patternLiterals({ pattern: 'Failed password', literal: 'Failed ' })).toEqual(['Failed ']);
    expect(patternLiterals({ pattern: '(?<message>.*)' })).toBeUndefined();
  });
  it('every built-in and shipped custom pattern: a line it matches holds its texts (demo, real logs and rule tests)', () => {
    const { pack } = loadPack(['rules'], { checkRegexes: false });
    const patterns = [
      ...BUILTIN_PARSER_NAMES.flatMap((name) => builtinPatterns(name)),
      ...pack.sources.flatMap((s) => s.source.customParsers),
    ].flatMap((p) => {
      const texts = patternLiterals(p);
      return texts ? [{ name: p.name, regex: new RegExp(p.pattern), texts }] : [];
    });
    const lines = [
      ...generateDemo(20250303).payloads.flatMap((p) => p.logEvents.map((e) => e.message)),
      ...['Linux_2k.log', 'OpenSSH_2k.log', 'apache_access_10k.log'].flatMap((f) =>
        readFileSync(join('..', 'shared', 'realworld', 'logs', f), 'utf8').split('\n'),
      ),
      ...pack.rules.flatMap((r) => r.tests.flatMap((t) => t.lines ?? [])),
    ];
    let matched = 0;
    for (const line of lines) {
      // A syslog parser's pattern reads the body after `program[pid]: `: try it there as well.
      const bodies = [line, ...[...line.matchAll(/: /g)].map((m) => line.slice((m.index ?? 0) + 2))];
      for (const body of bodies)
        for (const p of patterns) {
          if (!p.regex.test(body)) continue;
          matched++;
          expect(
            p.texts.some((t) => body.includes(t)),
            `${p.name} matched ${JSON.stringify(body.slice(0, 200))} without ${JSON.stringify(p.texts)}`,
          ).toBe(true);
        }
    }
    expect(matched).toBeGreaterThan(10_000);
  });
});
