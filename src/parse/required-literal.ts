/**
 * The longest text every match of a parser pattern holds, read from the pattern itself: the
 * literal characters of its top level, outside groups, classes and optional parts. A custom
 * parser (`^\[…\] \w+\.WARNING: Failed login attempt (?<json>…)$`) holds `.WARNING: Failed
 * login attempt ` in every line it matches, so the parser runs its regex only on lines holding
 * it (most lines of a log are not the few a login pattern wants), and the subscription filter
 * can ask CloudWatch for those lines instead of every line of the group.
 *
 * Conservative by construction: anything it does not read with certainty (a group, a class, an
 * escape other than an escaped punctuation character, a quantifier that may repeat or drop a
 * character, an alternation at the top level) ends the run of literal characters or gives up.
 * Undefined when no run is at least MIN_CHARS long: a short text passes most lines anyway.
 */
export function requiredLiteral(pattern: string): string | undefined {
  let best = '';
  let run = '';
  const end = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  for (let i = 0; i < pattern.length; ) {
    const ch = pattern[i] as string;
    if (ch === '|') return undefined; // alternatives at the top level: no one text is in every match
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? groupEnd(pattern, i) : classEnd(pattern, i);
      if (close === -1) return undefined;
      end();
      i = skipQuantifier(pattern, close + 1);
      continue;
    }
    let literal: string | undefined;
    let next = i + 1;
    if (ch === '\\') {
      const escaped = pattern[i + 1];
      if (escaped === undefined) return undefined;
      // Only an escaped punctuation character is itself: \d, \b, \1, \u0041, \k<n> … are not.
      if (!/[A-Za-z0-9]/.test(escaped)) literal = escaped;
      next = escapeEnd(pattern, i);
      if (next === -1) return undefined;
    } else if (!'.^$*+?{}])'.includes(ch)) literal = ch;
    else if (ch === ')' || ch === ']' || ch === '}') return undefined; // unbalanced: not read
    if (literal === undefined) {
      end();
      i = skipQuantifier(pattern, next);
      continue;
    }
    const quantifier = quantifierAt(pattern, next);
    if (!quantifier) {
      if (pattern[next] === '{') return undefined; // a brace this does not read as a quantifier or as text
      run += literal;
      i = next;
      continue;
    }
    // A quantified character: there at least once with `+` or `{n,…}` (n ≥ 1), not at all maybe otherwise.
    if (quantifier.min >= 1) run += literal;
    end();
    i = quantifier.end;
  }
  end();
  return best.length >= MIN_CHARS ? best : undefined;
}

const MIN_CHARS = 4;

/**
 * Past the escape at `at` (a backslash): `\uXXXX`, `\u{…}`, `\xHH`, `\cX`, `\p{…}`, `\k<…>`,
 * a backreference's or octal escape's digits, else one character. -1 when it is cut short.
 */
function escapeEnd(pattern: string, at: number): number {
  const kind = pattern[at + 1];
  const after = at + 2;
  const braced = (open: string, close: string) => {
    if (pattern[after] !== open) return after;
    const end = pattern.indexOf(close, after);
    return end === -1 ? -1 : end + 1;
  };
  if (kind === 'u') return pattern[after] === '{' ? braced('{', '}') : after + 4 <= pattern.length ? after + 4 : -1;
  if (kind === 'x') return after + 2 <= pattern.length ? after + 2 : -1;
  if (kind === 'c') return after + 1 <= pattern.length ? after + 1 : -1;
  if (kind === 'p' || kind === 'P') return braced('{', '}');
  if (kind === 'k') return braced('<', '>');
  if (kind !== undefined && /[0-9]/.test(kind)) {
    let i = after;
    while (i < pattern.length && /[0-9]/.test(pattern[i] as string)) i++;
    return i;
  }
  return after;
}

/** Index of the `)` closing the group opened at `open`, or -1. */
function groupEnd(pattern: string, open: number): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') i++;
    else if (ch === '[') {
      i = classEnd(pattern, i);
      if (i === -1) return -1;
    } else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Index of the `]` closing the class opened at `open`, or -1 (in JavaScript `[]` is a class, empty, and `[^]` one of any character). */
function classEnd(pattern: string, open: number): number {
  for (let i = open + 1; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') i++;
    else if (ch === ']') return i;
  }
  return -1;
}

/**
 * The quantifier at `at`: its least repetitions, and where it ends (past a lazy `?`); undefined
 * when none starts there, or a `{` that is not one this reads.
 */
function quantifierAt(pattern: string, at: number): { min: number; end: number } | undefined {
  const ch = pattern[at];
  let min: number;
  let end = at + 1;
  if (ch === '+') min = 1;
  else if (ch === '*' || ch === '?') min = 0;
  else if (ch === '{') {
    const m = /^\{(\d+)(?:,\d*)?\}/.exec(pattern.slice(at));
    if (!m) return undefined;
    min = Number(m[1]);
    end = at + m[0].length;
  } else return undefined;
  return { min, end: pattern[end] === '?' ? end + 1 : end };
}

/** Past the quantifier at `at`, if one starts there. */
function skipQuantifier(pattern: string, at: number): number {
  return quantifierAt(pattern, at)?.end ?? at;
}

/**
 * The texts one of which every line a pattern matches holds: its declared `literal` (one text, or
 * alternatives), else the one read from the pattern; undefined when there is none.
 */
export function patternLiterals(p: { pattern: string; literal?: string | readonly string[] | undefined }): readonly string[] | undefined {
  if (p.literal !== undefined) return typeof p.literal === 'string' ? [p.literal] : p.literal;
  const read = requiredLiteral(p.pattern);
  return read === undefined ? undefined : [read];
}
