import { redactTypedPasswords, UNKNOWN_USER } from '../parse/typed-password';
import { groupedAlternation, topLevelAlternatives } from '../rules/alternation';
import { COMMAND_LITERALS, redactCommandLines } from './command-line-secrets';

/**
 * Secret redaction for log lines and field values that leave the account in alerts (evidence,
 * titles, entities, related values, Logs Insights queries, email text). Patterns are linear-time
 * (checked with recheck in the test suite: a log line is attacker-controlled) and bounded.
 *
 * Covered: any key that names a secret (password, passwd, pwd, pass, secret, token, api key,
 * private key, credential, session id) in snake, kebab or camel case, as JSON (`"db_password":
 * "…"`, `"newPassword": "…"`, `"SecretAccessKey": "…"`) or key=value / key: value in free text,
 * `pass <value>` / `pwd <value>`; Authorization and Proxy-Authorization headers and bearer tokens;
 * cookies; AWS access key ids and a bare 40-character secret key on a line that carries one; JWTs;
 * vendor tokens by prefix (GitHub, GitLab, npm, Slack, Stripe, Google, SendGrid, Shopify, Hugging
 * Face, PyPI, Docker Hub, OpenAI/Anthropic, age); Azure connection-string keys; signed URLs'
 * signatures; private key blocks; credentials in URLs; passwords in command-line options
 * (./command-line-secrets.ts); a password typed as a user name that does not exist
 * (../parse/typed-password.ts).
 */
export const REDACTED = '[REDACTED]';

// A word that names a secret, inside a longer key: db_password, newPassword, x-api-key, SecretAccessKey.
const SECRET_WORD = String.raw`(?:pass(?:word|wd|phrase|code)?|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|credentials?|session[_-]?id|sessionid|auth[_-]?key)`;
// The whole key token (word characters and dashes), which must contain a secret word somewhere.
const KEY = String.raw`(?=[\w-]{0,40}?${SECRET_WORD})[\w-]{1,80}(?![\w-])`;

// Secrets often sit URL-encoded in query strings (`?q=key%20AKIA…`): a token may start right
// after a %XX escape, and separators may be encoded too.
const START = String.raw`(?:(?<![\w-])|(?<=%[0-9A-Fa-f]{2}))`;
const SPACE = String.raw`(?:\s|%20|\+)`;
const ASSIGN = String.raw`(?:[=:]|%3[ADad])`;
// Words that follow "password" in ordinary prose and log messages ("Failed password for root").
// The word must stand alone (then a space, the end, or sentence punctuation and a space): a
// secret may start with one, as in `--password ON#_.%..0_+` (found by the property test).
const PROSE = String.raw`(?:for|from|reset|resets|change|changed|changes|expired|expires|expiry|policy|required|incorrect|invalid|attempts?|authentication|auth|check|failed|mismatch|updated|is|was|has|the|of|to|and|or|not|too|must|should|will|can|cannot|did|does|in|on|at|by|with|without|ok|okay)(?:[.,;:!?)]{0,2}(?:\s|$))`;

// An unquoted value: up to a space, a quote or `&` (query strings). Commas, semicolons and
// closing brackets end it only when nothing but such characters, a space or the end follows
// (`password=x, user=y`, `User{password=x}`): passwords contain them (`Summer,2025!`, `a}b]c`).
// A run of them is taken whole or not at all, so the scan stays linear.
const VALUE_CHAR = String.raw`(?:[^\s&,;"'}\]]|[,;}\]]{1,64}(?=[^\s&,;"'}\]]))`;

// A secret-named key and its assignment (`password=`, `"db_password": `, `token%3D`), before its value.
const KV_PREFIX = String.raw`${START}${KEY}\s{0,8}${ASSIGN}\s{0,8}`;

/**
 * Every pattern's match holds a literal of its own (a secret word, a header name, a token prefix):
 * `needs` is that literal, so a line without it skips the pattern's scan. Most evidence lines hold
 * none of them, and scanning one with every pattern took about 30 µs; a test checks that redaction
 * with and without the checks agrees, on generated lines made of the literals.
 *
 * Where a literal alone is common in lines that hold no secret, `needs` says more. Every CloudTrail
 * record's `"sessionContext"` held `session`, an identity log's `"method": "password"` a secret word
 * as a value, and the patterns that start with a secret-named key (a lookahead at each word) took
 * 4–12 µs each on such a line to find nothing: the key patterns need a secret word whose key is
 * assigned, the header patterns the header and what follows it.
 */
export interface LiteralCheck {
  test(text: string): boolean;
}

const SECRET_WORD_ANYWHERE = new RegExp(SECRET_WORD, 'gi');
const REST_OF_KEY = /[\w-]*/y;
// What follows a secret-named key in a match: `=`, `:` or `%3D` (key=value) or `": "` (JSON).
const ASSIGNED = new RegExp(String.raw`\s{0,8}${ASSIGN}|"\s{0,8}:\s{0,8}"`, 'y');

/**
 * A secret word whose key is assigned a value: the check every key pattern's match passes. In code
 * rather than one regex, to stay linear: as a regex (the word, the rest of its key, the assignment)
 * it backtracks quadratically on a line of repeated `pwd`; here each key is read once, whichever
 * of its secret words is found first.
 */
const SECRET_KEY_ASSIGNED: LiteralCheck = {
  test(text: string): boolean {
    SECRET_WORD_ANYWHERE.lastIndex = 0;
    while (SECRET_WORD_ANYWHERE.exec(text) !== null) {
      REST_OF_KEY.lastIndex = SECRET_WORD_ANYWHERE.lastIndex;
      REST_OF_KEY.test(text);
      ASSIGNED.lastIndex = REST_OF_KEY.lastIndex;
      if (ASSIGNED.test(text)) return true;
      SECRET_WORD_ANYWHERE.lastIndex = REST_OF_KEY.lastIndex;
    }
    return false;
  },
};

interface RedactionPattern {
  name: string;
  /** A literal every match of `regex` holds (case-insensitive where `regex` is). */
  needs: LiteralCheck;
  regex: RegExp;
  replace: string;
}

const PATTERNS: RedactionPattern[] = [
  {
    name: 'json_secret',
    needs: SECRET_KEY_ASSIGNED,
    regex: new RegExp(String.raw`("${KEY}"\s{0,8}:\s{0,8})"(?:[^"\\]|\\.){0,4096}"`, 'gi'),
    replace: `$1"${REDACTED}"`,
  },
  {
    // Header lists as WAF and load balancers log them: {"name":"Authorization","value":"Basic …"}.
    name: 'json_header',
    needs: /(?:authorization|cookie|x-api-key|x-auth-token|x-amz-security-token)"\s{0,8},/i,
    regex:
      /("name"\s{0,8}:\s{0,8}"(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|x-amz-security-token)"\s{0,8},\s{0,8}"value"\s{0,8}:\s{0,8})"(?:[^"\\]|\\.){0,8192}"/gi,
    replace: `$1"${REDACTED}"`,
  },
  {
    // Request headers logged as an object (API Gateway, ALB, app middleware): {"authorization": "Basic …"}.
    name: 'json_credential_header',
    needs: /(?:authorization|cookie)"\s{0,8}:\s{0,8}"/i,
    regex: /("(?:(?:proxy-)?authorization|(?:set-)?cookie)"\s{0,8}:\s{0,8})"(?:[^"\\]|\\.){0,8192}"/gi,
    replace: `$1"${REDACTED}"`,
  },
  {
    // SQL that sets a password, as database audit logs record it: MySQL's `IDENTIFIED [WITH plugin]
    // BY|AS '…'` and `SET PASSWORD [FOR u] = [PASSWORD(]'…'`, PostgreSQL's `[ENCRYPTED] PASSWORD '…'`;
    // the string quoted '…' ('' and \' inside), "…", or \'…\' inside an audit record's own quotes,
    // and kept in its quotes. A space, `=` or `(` must come between the word and the string:
    // `"password": "…"` is JSON's. Before the key=value patterns, which take `PASSWORD(` for the
    // value of MySQL 5's `PASSWORD = PASSWORD('…')` and would leave the string.
    name: 'sql_password',
    // A match has `password` followed by a space, `=` or `(` (a JSON key or value `"password"` has a quote).
    needs: /identified|password[\s=(]/i,
    regex:
      /(\b(?:identified(?:\s{1,8}with\s{1,8}[\w'"\\]{1,80})?\s{1,8}(?:by|as)\s{0,8}|password(?:\s{1,8}for\s{1,8}[^\s=]{1,256})?(?:\s{0,8}=\s{0,8}(?:password\s{0,8}\(\s{0,8})?|\s{0,8}\(\s{0,8}|\s{1,8})))(?!\\?['"]\[REDACTED\])(\\?['"])(?:[^'"\\\r\n]|\\[^'"\r\n]|(?!\2)\\?['"]|''){0,1024}\2/gi,
    replace: `$1$2${REDACTED}$2`,
  },
  {
    // A quoted value may hold spaces: `password="correct horse"`, `pwd: 'a b'`, and the same
    // with JSON-escaped quotes inside a JSON line's message (`password=\"a b\"`).
    name: 'kv_quoted_secret',
    needs: SECRET_KEY_ASSIGNED,
    regex: new RegExp(String.raw`(${KV_PREFIX})"(?:[^"\\\r\n]|\\.){0,4096}"`, 'gi'),
    replace: `$1"${REDACTED}"`,
  },
  {
    name: 'kv_escaped_quoted_secret',
    needs: SECRET_KEY_ASSIGNED,
    regex: new RegExp(String.raw`(${KV_PREFIX})\\"(?:[^"\\\r\n]|\\[^"\r\n]){0,4096}\\"`, 'gi'),
    replace: `$1\\"${REDACTED}\\"`,
  },
  {
    name: 'kv_single_quoted_secret',
    needs: SECRET_KEY_ASSIGNED,
    regex: new RegExp(String.raw`(${KV_PREFIX})'[^'\r\n]{0,4096}'`, 'gi'),
    replace: `$1'${REDACTED}'`,
  },
  {
    // Not sudo's working directory (`TTY=pts/1 ; PWD=/home/deploy ; USER=root ; COMMAND=…`): an
    // absolute path followed by sudo's ` ; ` separator is where the command ran, not a password.
    name: 'kv_secret',
    needs: SECRET_KEY_ASSIGNED,
    regex: new RegExp(String.raw`((?!(?:OLD)?PWD=/[^\s;]{0,4096} ; )${KV_PREFIX}["']?)(?!\[REDACTED\])${VALUE_CHAR}{1,4096}`, 'gi'),
    replace: `$1${REDACTED}`,
  },
  {
    // `pass hunter2`, `mysql --password s3cret`: a password word followed by a value, unless prose follows.
    name: 'spaced_password',
    needs: /(?:pass(?:word|wd)?|pwd)\s/i,
    regex: new RegExp(
      String.raw`(${START}(?:--?)?(?:pass(?:word|wd)?|pwd)\s{1,4})(?!${PROSE})(?!\[REDACTED\])(?=[^\s]*[0-9!@#$%^&*_+=.\-])${VALUE_CHAR}{2,256}`,
      'gi',
    ),
    replace: `$1${REDACTED}`,
  },
  {
    name: 'auth_header',
    needs: new RegExp(`authorization${SPACE}{0,8}${ASSIGN}`, 'i'),
    regex: new RegExp(
      String.raw`(${START}(?:proxy-)?authorization${SPACE}{0,8}${ASSIGN}${SPACE}{0,8}(?:bearer|basic|token|digest)${SPACE}{1,8})[\w\-.~/+=]{1,4096}`,
      'gi',
    ),
    replace: `$1${REDACTED}`,
  },
  {
    // A raw token with no scheme (`Authorization: 3f9a…`); with a digit, so `Authorization: required`
    // stays. Plain spaces only: `+` as an encoded space, also a token character, made the scan superlinear.
    name: 'auth_header_raw',
    needs: /authorization[ \t]{0,8}[=:]/i,
    regex: new RegExp(
      String.raw`(${START}(?:proxy-)?authorization[ \t]{0,8}[=:][ \t]{0,8})(?!(?:bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256)\b)(?!\[REDACTED\])(?=[\w\-.~/+=]{0,64}\d)[\w\-.~/+=]{8,4096}`,
      'gi',
    ),
    replace: `$1${REDACTED}`,
  },
  {
    name: 'bearer',
    needs: /bearer/i,
    regex: new RegExp(String.raw`(${START}bearer${SPACE}{1,8})[\w\-.~/+]{8,4096}=*`, 'gi'),
    replace: `$1${REDACTED}`,
  },
  {
    name: 'cookie',
    needs: /cookie\s{0,8}[:=]/i,
    regex: /(\b(?:set-)?cookie\s{0,8}[:=]\s{0,8})[^\r\n"]{1,8192}/gi,
    replace: `$1${REDACTED}`,
  },
  {
    name: 'session_cookie',
    needs: /(?:sessid|session|session_?id|connect\.sid|xsrf-token)=/i,
    regex: /(\b(?:PHPSESSID|JSESSIONID|laravel_session|connect\.sid|sessionid|session|_session_id|XSRF-TOKEN)=)[^\s;&"]{1,4096}/gi,
    replace: `$1${REDACTED}`,
  },
  {
    name: 'aws_access_key_id',
    needs: /(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}(?![A-Za-z0-9])/,
    regex: new RegExp(String.raw`${START}(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}(?![A-Za-z0-9])`, 'g'),
    replace: REDACTED,
  },
  // JWTs and other base64url JSON tokens: one character class keeps the scan linear.
  { name: 'jwt', needs: /eyJ/, regex: new RegExp(String.raw`${START}eyJ[\w.-]{10,8192}`, 'g'), replace: REDACTED },
  {
    name: 'github_token',
    needs: /gh[pousr]_/,
    regex: new RegExp(String.raw`${START}gh[pousr]_[A-Za-z0-9]{30,255}`, 'g'),
    replace: REDACTED,
  },
  {
    name: 'slack_token',
    needs: /xox[abeprs]-|xapp-/,
    regex: new RegExp(`${START}(?:xox[abeprs]|xapp)-[A-Za-z0-9-]{10,255}`, 'g'),
    replace: REDACTED,
  },
  { name: 'google_api_key', needs: /AIza/, regex: new RegExp(String.raw`${START}AIza[\w-]{35}(?![\w-])`, 'g'), replace: REDACTED },
  // OpenAI and Anthropic keys (sk-…, sk-proj-…, sk-ant-…), GitLab and npm tokens.
  { name: 'sk_key', needs: /sk-/, regex: new RegExp(`${START}sk-[A-Za-z0-9_-]{20,255}`, 'g'), replace: REDACTED },
  {
    name: 'gitlab_token',
    needs: /gl(?:pat|dt|rt|ptt)-/,
    regex: new RegExp(String.raw`${START}gl(?:pat|dt|rt|ptt)-[\w-]{20,255}`, 'g'),
    replace: REDACTED,
  },
  { name: 'npm_token', needs: /npm_/, regex: new RegExp(`${START}npm_[A-Za-z0-9]{36,255}`, 'g'), replace: REDACTED },
  // Incoming-webhook URLs are credentials: whoever has one can post as the integration.
  {
    name: 'webhook_url',
    needs: /hooks\.slack\.com\/|discord/i,
    regex: /(hooks\.slack\.com\/(?:services|workflows|triggers)\/|discord(?:app)?\.com\/api\/webhooks\/\d{1,30}\/)[\w/-]{8,512}/gi,
    replace: `$1${REDACTED}`,
  },
  {
    name: 'stripe_key',
    needs: /[sr]k_(?:live|test)_/,
    regex: new RegExp(`${START}[sr]k_(?:live|test)_[A-Za-z0-9]{16,255}`, 'g'),
    replace: REDACTED,
  },
  {
    name: 'private_key',
    needs: /-----BEGIN /,
    regex: /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[^-]{0,16384}-----END [A-Z ]{0,40}PRIVATE KEY-----/g,
    replace: REDACTED,
  },
  // SendGrid, Shopify, Hugging Face, PyPI, Docker Hub, GitHub fine-grained tokens and age secret keys.
  {
    name: 'vendor_token',
    needs: /SG\.|shp(?:at|ca|pa|ss)_|hf_|pypi-AgEIcHlwaS5vcmc|dckr_pat_|github_pat_|AGE-SECRET-KEY-1/,
    regex: new RegExp(
      String.raw`${START}(?:SG\.[\w-]{16,32}\.[\w-]{16,64}|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}|hf_[A-Za-z0-9]{30,64}|pypi-AgEIcHlwaS5vcmc[\w-]{20,512}|dckr_pat_[\w-]{20,128}|github_pat_\w{22,255}|AGE-SECRET-KEY-1[0-9A-Z]{58})`,
      'g',
    ),
    replace: REDACTED,
  },
  {
    // Azure storage and Service Bus connection strings: `AccountKey=…;`, `SharedAccessKey=…`.
    name: 'connection_string_key',
    needs: /accountkey|sharedaccess(?:key|signature)/i,
    regex: /((?<![\w-])(?:AccountKey|SharedAccessKey|SharedAccessSignature)\s{0,4}=\s{0,4})(?!\[REDACTED\])[^\s;"']{1,4096}/gi,
    replace: `$1${REDACTED}`,
  },
  {
    // A signed URL is a credential until it expires: S3 and GCS presigned URLs, CloudFront signed
    // URLs, Azure SAS tokens (`sig=`). Redacting the signature leaves what was asked for readable.
    name: 'url_signature',
    needs: /(?:signature|sig)=/i,
    regex: /([?&;](?:X-Amz-Signature|X-Goog-Signature|Signature|sig)=)(?!\[REDACTED\])[^\s&"'#]{1,4096}/gi,
    replace: `$1${REDACTED}`,
  },
  // `scheme://user:password@host`, and `redis://:password@host` (no user).
  { name: 'url_userinfo', needs: /:\/\//, regex: /(:\/\/[^\s:/@]{0,256}:)[^\s@/]{1,256}@/gi, replace: `$1${REDACTED}@` },
];

/** An access key id anywhere on the line: its 40-character secret key may sit next to it, unlabelled. */
const ACCESS_KEY_ID = /(?:AKIA|ASIA)[A-Z0-9]{16}/;
const BARE_SECRET_KEY: { name: string; regex: RegExp; replace: string } = {
  name: 'aws_secret_access_key',
  // 40 characters of the secret-key alphabet, with both cases (SHA-1 hex, lower case only, is not one).
  regex: /(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[A-Z])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
  replace: REDACTED,
};

/** Every pattern, the bare secret key last (it applies only beside an access key id: see redact). */
export const REDACTION_PATTERNS: readonly { name: string; regex: RegExp; replace: string; needs?: LiteralCheck }[] = [
  ...PATTERNS,
  BARE_SECRET_KEY,
];

// A line holding none of the patterns' literals (most evidence lines: addresses, request lines,
// flow records) is returned as it is after one scan. The bare literals, not the checks: the union of
// the checks with what follows their literals scanned an access-log line in 2.3 µs, this in 0.9.
const NEEDED_LITERALS = [
  'pass|pwd|secret|token|key|credential|session|sessid|connect\\.sid|identified|authorization|cookie|bearer',
  'AKIA|ASIA|AGPA|AIDA|AROA|ANPA|eyJ|gh[pousr]_|xox[abeprs]-|xapp-|AIza|sk-|gl(?:pat|dt|rt|ptt)-|npm_|[sr]k_(?:live|test)_',
  'hooks\\.slack\\.com/|discord|-----BEGIN |://',
  'SG\\.|shp(?:at|ca|pa|ss)_|hf_|pypi-|dckr_pat_|github_pat_|sig=|signature=',
  COMMAND_LITERALS,
].flatMap(topLevelAlternatives);
// Grouped by first character (src/rules/alternation.ts): every redact call scans with it first.
const ANY_NEEDED = new RegExp(groupedAlternation(NEEDED_LITERALS, true), 'i');

/** Each pattern with its check's place among the distinct checks (patterns may share one). */
const CHECKS = [...new Set(PATTERNS.map((p) => p.needs))];
const CHECKED_PATTERNS = PATTERNS.map((pattern) => ({ pattern, check: CHECKS.indexOf(pattern.needs) }));
/** A call's answers per check: -1 not asked since the text last changed, else 0 or 1 (redact never re-enters itself). */
const answers = new Int8Array(CHECKS.length);

/**
 * The checks that are regexes, as one alternation per set of flags: where it finds nothing, none
 * of its checks would (an alternation matches where one of its alternatives does), and a line that
 * holds a common literal (`key` in `"method":"api_key"`) is cleared by two scans instead of one
 * per check. A check with a backreference keeps its own test (its group numbers would shift).
 * Exported for the regex-safety test.
 */
export const CHECK_GROUPS: readonly { any: RegExp; checks: number[] }[] = (() => {
  const byFlags = new Map<string, number[]>();
  CHECKS.forEach((check, i) => {
    if (!(check instanceof RegExp) || check.global || check.sticky || /\\[1-9]|\\k</.test(check.source)) return;
    const group = byFlags.get(check.flags) ?? [];
    group.push(i);
    byFlags.set(check.flags, group);
  });
  return [...byFlags].map(([flags, checks]) => ({
    any: new RegExp(checks.map((i) => `(?:${(CHECKS[i] as RegExp).source})`).join('|'), flags),
    checks,
  }));
})();

/**
 * ANY_NEEDED, or a line that says its user does not exist (where a typed password may be the
 * name): most lines hold neither, and are returned as they are after this one scan instead of two.
 */
const ANY_NEEDED_OR_UNKNOWN_USER = new RegExp(
  groupedAlternation([...NEEDED_LITERALS, ...topLevelAlternatives(UNKNOWN_USER.source)], true),
  'i',
);
/** The first checks as redact scans with them and as plain alternations, for the test that they answer alike (built when asked). */
export function neededChecks() {
  return {
    grouped: { anyNeeded: ANY_NEEDED, anyNeededOrUnknownUser: ANY_NEEDED_OR_UNKNOWN_USER },
    plain: {
      anyNeeded: new RegExp(NEEDED_LITERALS.join('|'), 'i'),
      anyNeededOrUnknownUser: new RegExp(`${NEEDED_LITERALS.join('|')}|${UNKNOWN_USER.source}`, 'i'),
    },
  };
}

export function redact(text: string): string {
  if (!ANY_NEEDED_OR_UNKNOWN_USER.test(text)) return text;
  // A typed password has no literal of its own to find (its markers are the log's own words): checked apart.
  if (!ANY_NEEDED.test(text)) return redactTypedPasswords(text);
  const pairedKey = ACCESS_KEY_ID.test(text);
  let out = text;
  // Checked on the text as redacted so far: an earlier pattern's replacement may have removed the
  // literal, and the match with it. Patterns that share a check (the key=value family, and the
  // JSON secret before the headers and SQL between them) ask it once while no replacement has
  // changed the text.
  answers.fill(-1);
  for (const group of CHECK_GROUPS) if (!group.any.test(out)) for (const check of group.checks) answers[check] = 0;
  for (const { pattern: p, check } of CHECKED_PATTERNS) {
    if (answers[check] === -1) answers[check] = p.needs.test(out) ? 1 : 0;
    if (answers[check] === 0) continue;
    const replaced = out.replace(p.regex, p.replace);
    if (replaced !== out) {
      out = replaced;
      answers.fill(-1);
    }
  }
  if (pairedKey) out = out.replace(BARE_SECRET_KEY.regex, BARE_SECRET_KEY.replace);
  return redactTypedPasswords(redactCommandLines(out, REDACTED));
}

const SECRET_FIELD = new RegExp(`${SECRET_WORD}|authorization|cookie`, 'i');

/** True when a field's name says it holds a secret, so its whole value is dropped. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}
