import { lowerCase } from './lower-case';

/**
 * Sigma-style wildcard strings: `*` is any run of characters, `?` one character; `\*`, `\?` and
 * `\\` are a literal star, question mark and backslash; any other backslash is itself (so
 * `C:\Windows\\*` is the folder's contents, `C:\Windows\*` the text `C:\Windows*`). Matched without regular expressions, in
 * O(text × pattern) at worst: a hostile log line cannot make it backtrack catastrophically.
 */
export type WildcardToken = { lit: string } | { any: true } | { one: true };

export function tokenizeWildcard(pattern: string): WildcardToken[] {
  const tokens: WildcardToken[] = [];
  let lit = '';
  const flush = () => {
    if (lit) tokens.push({ lit });
    lit = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === '*' || next === '?' || next === '\\') {
        lit += next;
        i++;
      } else lit += '\\';
    } else if (ch === '*') {
      flush();
      if (!('any' in (tokens[tokens.length - 1] ?? {}))) tokens.push({ any: true });
    } else if (ch === '?') {
      flush();
      tokens.push({ one: true });
    } else lit += ch;
  }
  flush();
  return tokens;
}

/**
 * A pattern's longest literal run, lower-cased: every value it matches holds it (the matcher
 * lower-cases pattern and value alike unless `cased`). '' when the pattern is only wildcards.
 */
export function longestLiteral(pattern: string, cased = false): string {
  let best = '';
  for (const t of tokenizeWildcard(cased ? pattern : pattern.toLowerCase())) if ('lit' in t && t.lit.length > best.length) best = t.lit;
  return best.toLowerCase();
}

export function hasWildcards(tokens: readonly WildcardToken[]): boolean {
  return tokens.some((t) => !('lit' in t));
}

/** A compiled matcher; `cased` false lower-cases both sides (Sigma matches ignore case by default). */
const STAR = Symbol('star');
const ONE = Symbol('one');

export function wildcardMatcher(pattern: string, cased = false): (text: string) => boolean {
  const tokens = tokenizeWildcard(cased ? pattern : pattern.toLowerCase());
  // Literals expanded to single characters: the classic two-pointer algorithm, backtracking only to the last star.
  const kinds: (string | symbol)[] = [];
  for (const t of tokens) {
    if ('lit' in t) for (const c of t.lit) kinds.push(c);
    else kinds.push('any' in t ? STAR : ONE);
  }
  return (input: string) => {
    const text = cased ? input : lowerCase(input);
    let p = 0;
    let s = 0;
    let starP = -1;
    let starS = 0;
    while (s < text.length) {
      const k = kinds[p];
      if (p < kinds.length && (k === ONE || k === text[s])) {
        p++;
        s++;
      } else if (p < kinds.length && k === STAR) {
        starP = p++;
        starS = s;
      } else if (starP !== -1) {
        p = starP + 1;
        s = ++starS;
      } else return false;
    }
    while (p < kinds.length && kinds[p] === STAR) p++;
    return p === kinds.length;
  };
}
