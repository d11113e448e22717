/**
 * The texts a subscription filter looks for, and how they are written in CloudWatch's regex
 * syntax (letters, digits, `:_#=@/;,-` and `^$?[]{}|\*+.`; no parentheses, no flags). A text is
 * lower-case, matched in any case, but for letters marked exact (what a line holds as a program
 * wrote it: a JSON key, a parser's literal), and may hold two placeholders: any digit, and any run
 * of characters.
 */

/** A digit the text leaves open (`[0-9]`). */
export const ANY_DIGIT = '\u0001';
/** Any characters between two parts of a text (`.*`): a key, then its value. */
export const ANY_RUN = '\u0002';
/** The letter after it is matched in its own case only (`Task`, not `[Tt][Aa][Ss][Kk]`: a quarter of the length). */
const EXACT = '\u0003';

/**
 * Characters a log line holds as themselves whenever a field value holds them, and a filter
 * regex can express: ASCII letters except k, digits and `_ - . : , ; = @ #`. Not `k`: the Kelvin
 * sign lower-cases to k, so a rule on `kms` matches `\u212Ams`, which no ASCII pattern finds.
 * Not `/`: JSON encoders may write `\/`. Not spaces, quotes or anything non-ASCII: the regex
 * syntax has no room for them, and encoders escape some.
 */
const SAFE_RUN = /[a-jl-zA-JL-Z0-9_\-.:,;=@#]+/g;

/**
 * The text for a value a rule compares case-insensitively: its longest safe run (at least two
 * characters), lower-cased; undefined when no run is long enough. A line whose field equals the
 * value holds the run verbatim in some case. `İ` lower-cases to `i` and a combining dot, so an `i`
 * right before a combining dot may be `İ` in the line: such an `i` ends a run without being in it.
 */
export function textOf(value: string): string | undefined {
  let best = '';
  for (const run of value.replaceAll('i\u0307', '\u0307').match(SAFE_RUN) ?? []) if (run.length > best.length) best = run;
  return best.length < 2 ? undefined : best.toLowerCase();
}

/** Characters a line holds exactly as a program wrote them, where JSON encoders leave them alone (not `/`). */
const EXACT_RUN = /[a-zA-Z0-9_\-.:,;=@#]+/g;

/**
 * The text for something a line holds exactly as written (a JSON key, a parser's literal, a
 * value-map key): its longest run a JSON encoder leaves alone, its letters matched in their own
 * case; undefined when no run has two characters.
 */
export function exactTextOf(written: string): string | undefined {
  let best = '';
  for (const run of written.match(EXACT_RUN) ?? []) if (run.length > best.length) best = run;
  return best.length < 2 ? undefined : best.replaceAll(/[a-zA-Z]/g, (letter) => `${EXACT}${letter}`);
}

/** A text as a regex: `admin_1` → `[Aa][Dd][Mm][Ii][Nn]_1`; exact letters as themselves. */
export function renderText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    const upper = ch.toUpperCase();
    if (ch === EXACT) out += text[++i] ?? '';
    else if (upper !== ch) out += `[${upper}${ch}]`;
    else if (ch === '.') out += '\\.';
    else if (ch === ANY_DIGIT) out += '[0-9]';
    else if (ch === ANY_RUN) out += '.*';
    else out += ch;
  }
  return out;
}

/** How many characters of a line the text stands for (an exact letter is one). */
export function textLength(text: string): number {
  return text.replaceAll(EXACT, '').length;
}

/** The text without its last character, or without its first. */
export function withoutLast(text: string): string {
  return text.at(-2) === EXACT ? text.slice(0, -2) : text.slice(0, -1);
}
export function withoutFirst(text: string): string {
  return text.startsWith(EXACT) ? text.slice(2) : text.slice(1);
}

/** Digits and punctuation only, or three characters at most: found in most lines (times, ids, addresses). */
export function isWeakText(text: string): boolean {
  const plain = text.replaceAll(EXACT, '').toLowerCase();
  return plain.length <= 3 || !/[a-z]/.test(plain);
}

/**
 * The texts no other of them is part of, sorted: a line holding the longer holds the shorter (an
 * any-case text found inside an exact one is in every line the exact one is; an exact one is never
 * found inside an any-case one, which holds no exact marks).
 */
export function minimalTexts(texts: readonly string[]): string[] {
  const unique = [...new Set(texts)].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  const kept: string[] = [];
  for (const t of unique) if (!kept.some((k) => t.includes(k))) kept.push(t);
  return kept.sort();
}
