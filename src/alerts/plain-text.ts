/**
 * Text from log lines, made safe to show a person as text: on a terminal (`detect` output), in an
 * email body, in a chat message. Alert titles, entity values, evidence lines, unparsed example
 * lines and parse errors all carry what an attacker wrote into a log: an escape sequence there
 * could clear the responder's screen, retitle the window or hide a line, and a newline could
 * forge one ("Recommended actions: …" in an email). Control characters (C0 but tab, DEL, C1) and
 * the bidirectional overrides that reorder what is displayed are shown as `\uXXXX` instead. JSON
 * output goes through `terminalSafeJson`: JSON.stringify escapes C0 controls but leaves DEL, C1
 * and the bidi overrides raw.
 */
const UNPRINTABLE_RE = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One line of output: every unprintable character escaped, newlines included. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE_RE, escaped);
}

/** Several lines of output: each made printable, the newlines between them kept. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/**
 * JSON text (alert lines, `--json` reports) that is as safe to print as `printable` text and
 * parses to the same value: the characters JSON.stringify leaves raw — DEL, C1 controls, bidi
 * overrides — written as `\uXXXX` escapes. It emits them only inside strings, where an escape
 * means the same character.
 */
export function terminalSafeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(RAW_IN_JSON_RE, escaped);
}

/** UNPRINTABLE_RE but the C0 controls, which JSON.stringify escapes itself (a raw newline is the layout's). */
const RAW_IN_JSON_RE = /[\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
