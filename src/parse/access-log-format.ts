/**
 * API Gateway access logs in the text format a stage was given (its `accessLogSettings.format`,
 * CDK `AccessLogFormat.custom(...)`), declared as the same `$context` template in a source file's
 * `accessLogFormat`. The presets (CLF, CSV, XML) and every JSON format are read without it; a
 * text format of your own is not, since its order is yours.
 *
 * The template becomes one regex: its literal text as is, each `$context` variable a group that
 * reads up to the first character of the literal after it. API Gateway does not escape values,
 * so a group must not read that character: it ends where the next literal must begin, the match
 * cannot backtrack into an earlier group, and the scan stays linear on any line. The last
 * variable reads to the line's last characters, so free text belongs there: the user agent must
 * be last (a client chooses it, quotes and all), and a value holding the character after it in
 * the format shifts the fields after it.
 */

/** What a group may read at most: more than any `$context` value, less than a hostile line. */
const MAX_VALUE = 8192;
/**
 * Written as the client sent it, quotes and all: anything after it in the line could be the
 * client's. The format must end with it, so the fields before it are the ones API Gateway wrote.
 */
const CLIENT_TEXT = new Set(['identity.userAgent']);

/** Group names the line parser reads specially (src/parse/line-parser.ts); no `$context` variable is named so. */
const RESERVED = new Set(['timestamp', 'json', 'request', 'message', 'auditd', 'keycloak', 'xml']);
const VARIABLE_RE = /\$context\.([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)/g;

export type CompiledAccessLogFormat = { ok: true; pattern: string; fields: string[] } | { ok: false; error: string };

/**
 * The raw field a variable becomes: the name the JSON presets use, so the source's field map
 * reads both — `identity.sourceIp` is `sourceIp`, `error.message` stays `error.message`.
 */
export function accessLogField(variable: string): string {
  return variable.startsWith('identity.') ? variable.slice('identity.'.length) : variable;
}

const escapeLiteral = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const escapeInClass = (c: string) => c.replace(/[\\\]^-]/g, '\\$&');

export function compileAccessLogFormat(template: string): CompiledAccessLogFormat {
  const text = template.trim();
  if (text.startsWith('{') || text.startsWith('<')) {
    return { ok: false, error: 'JSON and XML formats need no accessLogFormat: their lines are read by their keys and elements' };
  }
  const parts: { literal: string; variable?: string }[] = [];
  let last = 0;
  for (const m of text.matchAll(VARIABLE_RE)) {
    parts.push({ literal: text.slice(last, m.index), variable: m[1] });
    last = m.index + m[0].length;
  }
  const tail = text.slice(last);
  if (parts.length === 0) return { ok: false, error: 'the format names no $context variable' };
  const seen = new Set<string>();
  let pattern = '^';
  for (let i = 0; i < parts.length; i++) {
    const { literal, variable = '' } = parts[i] as { literal: string; variable?: string };
    const field = accessLogField(variable);
    if (RESERVED.has(field)) return { ok: false, error: `$context.${variable} is not an API Gateway variable` };
    if (seen.has(field)) return { ok: false, error: `$context.${variable} appears twice` };
    if (CLIENT_TEXT.has(variable) && i + 1 < parts.length) {
      return {
        ok: false,
        error: `$context.${variable} is written as the client sent it: make it the format's last variable, or a client can write the fields after it`,
      };
    }
    seen.add(field);
    const next = i + 1 < parts.length ? (parts[i + 1]?.literal ?? '') : tail;
    if (i + 1 < parts.length && next === '') {
      return {
        ok: false,
        error: `$context.${variable} and $context.${parts[i + 1]?.variable ?? ''} have nothing between them: the line cannot tell where one ends`,
      };
    }
    // The last variable reads to the end (less the format's closing text); the others up to their delimiter.
    const value = i + 1 < parts.length ? `[^${escapeInClass(next.charAt(0))}\\n]` : '.';
    pattern += `${escapeLiteral(literal)}(?<${field.replace(/\./g, '__')}>${value}{0,${MAX_VALUE}})`;
  }
  pattern += `${escapeLiteral(tail)}$`;
  return { ok: true, pattern, fields: [...seen] };
}
