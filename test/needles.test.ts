import { describe, expect, it } from 'vitest';
import { LOWERS_TO_ASCII_CLASS, NeedleSet } from '../src/rules/needles';

function* codePointsOutsideAscii(): Generator<string> {
  for (let c = 128; c <= 0x10ffff; c++) if (c < 0xd800 || c > 0xdfff) yield String.fromCodePoint(c);
}

describe('needle search over lower-cased text', () => {
  it('names every character outside ASCII whose lower case holds ASCII, and none matches an ASCII letter ignoring case', () => {
    const named = new RegExp(LOWERS_TO_ASCII_CLASS, 'i');
    const anyLetter = /[a-z]/i;
    for (const ch of codePointsOutsideAscii()) {
      const lower = ch.toLowerCase();
      let holdsAscii = false;
      for (let i = 0; i < lower.length; i++) if (lower.charCodeAt(i) < 128) holdsAscii = true;
      if (holdsAscii) expect(named.test(ch), `U+${ch.codePointAt(0)?.toString(16)}`).toBe(true);
      if (ch.length === 1 && anyLetter.test(ch)) expect.fail(`U+${ch.codePointAt(0)?.toString(16)} matches an ASCII letter ignoring case`);
    }
  });

  it('finds exactly the needles the lower-cased text holds, whatever characters the text has', () => {
    const needles = ['kill -9', 'history -c', 'istanbul', 'straße', 'ς end', 'k'];
    const asciiOnly = new NeedleSet<string>();
    const mixed = new NeedleSet<string>();
    for (const n of needles) {
      mixed.add(n, n);
      if (/^[\x20-\x7e]*$/.test(n)) asciiOnly.add(n, n);
    }
    const pieces = [
      'KILL -9',
      '\u212AILL -9',
      'kİll',
      'İstanbul',
      'ISTANBUL',
      'STRASSE',
      'STRAẞE',
      'straße',
      'ΑΣ END',
      'History -C',
      'é',
      ' ',
      'x',
    ];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 3000; i++) {
      let text = '';
      for (let p = next() % 4; p >= 0; p--) text += pieces[next() % pieces.length];
      const lower = text.toLowerCase();
      for (const set of [asciiOnly, mixed]) {
        const found = new Set<string>();
        set.searchLowerCased(text, (n) => found.add(n));
        const expected = needles.filter((n) => (set === mixed || /^[\x20-\x7e]*$/.test(n)) && lower.includes(n));
        expect([...found].sort(), JSON.stringify(text)).toEqual(expected.sort());
      }
    }
  });
});
