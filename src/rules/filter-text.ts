/**
 * The texts a subscription filter looks for, and how they are written in CloudWatch's regex
 * syntax (letters, digits, `:_#=@/;,-` and `^$?[]{}|\*+.`; no parentheses, no flags). A text is
 * lower-case and may hold two placeholders: any digit, and any run of characters.
 */

/** A digit the text leaves open (`[0-9]`). */
export const ANY_DIGIT = '\u0001';
/** Any characters between two parts of a text (`.*`): a key, then its value. */
export const ANY_RUN = '\u0002';

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

/** A text as a regex matching it in any case: `admin_1` → `[Aa][Dd][Mm][Ii][Nn]_1`. */
export function renderText(text: string): string {
  let out = '';
  for (const ch of text) {
    const upper = ch.toUpperCase();
    if (upper !== ch) out += `[${upper}${ch}]`;
    else if (ch === '.') out += '\\.';
    else if (ch === ANY_DIGIT) out += '[0-9]';
    else if (ch === ANY_RUN) out += '.*';
    else out += ch;
  }
  return out;
}

/** Digits and punctuation only, or three characters at most: found in most lines (times, ids, addresses). */
export function isWeakText(text: string): boolean {
  return text.length <= 3 || !/[a-z]/.test(text);
}
