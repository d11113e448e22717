/**
 * Secret redaction for log lines and field values that leave the account in alerts.
 * Patterns are linear-time (checked with recheck in the test suite) and cover credentials
 * the stack's log sources are known to leak: passwords and tokens in key=value, JSON and
 * query strings, Authorization headers, AWS keys, session cookies, JWTs, vendor tokens and
 * private key blocks.
 */
export const REDACTED = '[REDACTED]';

const SECRET_KEY = `(?:password|passwd|pwd|pass|secret|client_secret|token|access_token|refresh_token|id_token|api_?key|apikey|x-api-key|auth_token|session_?id|sessionid|private_key|aws_secret_access_key|credentials?)`;

// Secrets often sit URL-encoded in query strings (`?q=key%20AKIA…`): a token may start right
// after a %XX escape, and separators may be encoded too.
const START = String.raw`(?:(?<![A-Za-z0-9_])|(?<=%[0-9A-Fa-f]{2}))`;
const SPACE = String.raw`(?:\s|%20|\+)`;
const ASSIGN = String.raw`(?:[=:]|%3[ADad])`;

const PATTERNS: { name: string; regex: RegExp; replace: string }[] = [
  {
    name: 'json_secret',
    regex: new RegExp(String.raw`("${SECRET_KEY}"\s*:\s*)"(?:[^"\\]|\\.)*"`, 'gi'),
    replace: `$1"${REDACTED}"`,
  },
  {
    name: 'kv_secret',
    regex: new RegExp(String.raw`(${START}${SECRET_KEY}\s*${ASSIGN}\s*)(?!\[REDACTED\])[^\s&,;"'}\]]+`, 'gi'),
    replace: `$1${REDACTED}`,
  },
  {
    name: 'auth_header',
    regex: new RegExp(
      String.raw`(${START}authorization${SPACE}*${ASSIGN}${SPACE}*(?:bearer|basic|token|digest)${SPACE}+)[\w\-.~/=]+`,
      'gi',
    ),
    replace: `$1${REDACTED}`,
  },
  { name: 'bearer', regex: new RegExp(String.raw`(${START}bearer${SPACE}+)[\w\-.~/]{8,}=*`, 'gi'), replace: `$1${REDACTED}` },
  {
    name: 'cookie',
    regex: /(\b(?:set-)?cookie\s*[:=]\s*)[^\r\n"]+/gi,
    replace: `$1${REDACTED}`,
  },
  {
    name: 'session_cookie',
    regex: /(\b(?:PHPSESSID|JSESSIONID|laravel_session|connect\.sid|sessionid|session|_session_id|XSRF-TOKEN)=)[^\s;&"]+/gi,
    replace: `$1${REDACTED}`,
  },
  {
    name: 'aws_access_key_id',
    regex: new RegExp(String.raw`${START}(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}(?![A-Za-z0-9])`, 'g'),
    replace: REDACTED,
  },
  {
    name: 'aws_secret_access_key',
    regex: /(\baws_?secret_?access_?key\W{0,4})[A-Za-z0-9/+=]{40}\b/gi,
    replace: `$1${REDACTED}`,
  },
  // JWTs and other base64url JSON tokens: one character class keeps the scan linear.
  { name: 'jwt', regex: new RegExp(String.raw`${START}eyJ[\w.-]{10,}`, 'g'), replace: REDACTED },
  { name: 'github_token', regex: new RegExp(String.raw`${START}gh[pousr]_[A-Za-z0-9]{30,}`, 'g'), replace: REDACTED },
  { name: 'slack_token', regex: new RegExp(String.raw`${START}xox[abprs]-[A-Za-z0-9-]{10,}`, 'g'), replace: REDACTED },
  { name: 'stripe_key', regex: new RegExp(String.raw`${START}[sr]k_(?:live|test)_[A-Za-z0-9]{16,}`, 'g'), replace: REDACTED },
  {
    name: 'private_key',
    regex: /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[^-]*-----END [A-Z ]{0,40}PRIVATE KEY-----/g,
    replace: REDACTED,
  },
  { name: 'url_userinfo', regex: /(:\/\/[^\s:/@]+:)[^\s@/]+@/gi, replace: `$1${REDACTED}@` },
];

export const REDACTION_PATTERNS: readonly { name: string; regex: RegExp }[] = PATTERNS;

const SECRET_FIELD = /(?:pass(?:word|wd)?|secret|token|cookie|authorization|api.?key|session.?id|credential|private.?key)/i;

export function redact(text: string): string {
  let out = text;
  for (const p of PATTERNS) out = out.replace(p.regex, p.replace);
  return out;
}

/** True when a field's name says it holds a secret, so its whole value is dropped. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}
