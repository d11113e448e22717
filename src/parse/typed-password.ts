import { createHash } from 'node:crypto';
import type { FieldValue, NormalizedEvent } from '../schema/event';

/**
 * A password typed at the user-name prompt. Someone whose login form, console or SSH client asks
 * for the name first types their password there, and the log records the failure with the
 * password as the user that does not exist: `Invalid user Summer2025! from …`, Keycloak's
 * `error="user_not_found", username="…"`, `FAILED LOGIN … FOR 'Summer2025!', User not known to
 * the underlying authentication module`. The stack counts those failures (sprays, brute force),
 * stores their names and sends them in alerts — the one secret a key=value pattern never sees.
 *
 * Such a name is replaced by a tag naming a short hash of it, in the event (so neither the state
 * table nor an alert holds it; the same typed text keeps one tag, so counting and grouping are
 * unchanged) and in the line (src/alerts/redact.ts). Only where the log says the user does not
 * exist, and only a name that reads as a password: eight characters or more, of at least three
 * of lower case, upper case, digits and symbols (`.`, `_`, `-`, `@` are a name's, not a symbol).
 * Attackers' word lists (admin, oracle, ubnt, postgres1) stay as they are: none of the 56
 * invalid users of loghub's OpenSSH sample is replaced.
 */

/** The marker every replaced name starts with: a redacted name is never read as a password again. */
const TAG_PREFIX = '[REDACTED user name ';

/** The log says the user does not exist (sshd, Keycloak and other identity services, login). */
export const UNKNOWN_USER = /invalid user |user_not_found|user not found|usernotfound|not known to the underlying|unknown user/i;

const MIN_LENGTH = 8;
const MAX_LENGTH = 128;
/** Names a line's markers point at that are looked at, per marker. */
const MAX_NAMED = 64;
/** Names whose other occurrences on a line are replaced too. */
const MAX_NAMES_REPEATED = 8;

/** Whether a user name reads as a password (see above). */
export function looksLikePassword(name: string): boolean {
  if (name.length < MIN_LENGTH || name.length > MAX_LENGTH || name.startsWith(TAG_PREFIX)) return false;
  let lower = 0;
  let upper = 0;
  let digit = 0;
  let symbol = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20) return false; // a space or a control character: prose, not a name typed at a prompt
    if (c >= 0x61 && c <= 0x7a) lower = 1;
    else if (c >= 0x41 && c <= 0x5a) upper = 1;
    else if (c >= 0x30 && c <= 0x39) digit = 1;
    else if (c !== 0x2e && c !== 0x5f && c !== 0x2d && c !== 0x40) symbol = 1;
  }
  return lower + upper + digit + symbol >= 3;
}

/** What stands for the typed text: the same text, the same tag (16 bits of its SHA-256: it tells values apart, it does not identify one). */
export function typedPasswordTag(name: string): string {
  return `${TAG_PREFIX}${createHash('sha256').update(name).digest('hex').slice(0, 4)}]`;
}

/**
 * Replaces, in a failed authentication whose line says the user does not exist, a user name that
 * reads as a password — in every field holding it (`user.name`, the source's own `username`).
 */
export function maskTypedPassword(event: NormalizedEvent): void {
  if (event['event.outcome'] !== 'failure') return;
  const name = event['user.name'];
  if (typeof name !== 'string' || !looksLikePassword(name)) return;
  if (!saysUnknownUser(event)) return;
  const tag = typedPasswordTag(name);
  for (const field of Object.keys(event)) {
    const value: FieldValue | undefined = event[field];
    if (value === name) event[field] = tag;
    else if (typeof value === 'string' && value.includes(name)) event[field] = value.split(name).join(tag);
  }
}

function saysUnknownUser(event: NormalizedEvent): boolean {
  for (const field of ['event.reason', 'error.code', 'error.message', 'message', 'event.original']) {
    const value = event[field];
    if (typeof value === 'string' && UNKNOWN_USER.test(value)) return true;
  }
  return false;
}

/** Where a line names the user it says does not exist: after these, up to the character given. */
const NAMED_AFTER: readonly { marker: string; end: string }[] = [
  // sshd: `Invalid user X from`, `Failed password for invalid user X from`, `input_userauth_request: invalid user X [preauth]`
  { marker: 'nvalid user ', end: ' ' },
  // login: `FAILED LOGIN (1) on '/dev/tty1' FOR 'X', User not known to the underlying authentication module`
  { marker: " FOR '", end: "'" },
  // Keycloak's text events and JSON (`username="X"`, `"username":"X"`), and other JSON loggers
  { marker: 'username="', end: '"' },
  { marker: '"username":"', end: '"' },
  { marker: '"username": "', end: '"' },
];

/**
 * `text` with every user name it says does not exist, where one reads as a password, replaced by
 * its tag (every occurrence of it on the line). One scan per marker; linear in the line, and at
 * most MAX_NAMED names looked at: a real line names a user or two, and a hostile one of thousands
 * (whose "passwords" its writer chose) must not make each alert's redaction slow.
 */
export function redactTypedPasswords(text: string): string {
  if (!UNKNOWN_USER.test(text)) return text;
  const spans: [number, number, string][] = [];
  for (const { marker, end } of NAMED_AFTER) {
    // Each search for the end stops at the marker's next occurrence at the latest (the marker holds
    // its end character): the scan stays linear on a line of markers.
    for (let at = text.indexOf(marker), seen = 0; at !== -1 && seen < MAX_NAMED; at = text.indexOf(marker, at + marker.length), seen++) {
      const from = at + marker.length;
      const found = text.indexOf(end, from);
      const to = found === -1 ? text.length : found;
      if (to - from > MAX_LENGTH) continue;
      const name = text.slice(from, to);
      if (looksLikePassword(name)) spans.push([from, to, name]);
    }
  }
  if (spans.length === 0) return text;
  spans.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  // Each name's tag, hashed once however often the line repeats it.
  const tags = new Map<string, string>();
  for (const [from, to, name] of spans) {
    if (from < at) continue;
    let tag = tags.get(name);
    if (tag === undefined) {
      tag = typedPasswordTag(name);
      tags.set(name, tag);
    }
    out += `${text.slice(at, from)}${tag}`;
    at = to;
  }
  out += text.slice(at);
  // The same text elsewhere on the line (a JSON event repeating the name in its details); a few
  // names at most, so a hostile line of thousands costs a few passes, not thousands.
  for (const [name, tag] of [...tags].slice(0, MAX_NAMES_REPEATED)) out = out.split(name).join(tag);
  return out;
}
