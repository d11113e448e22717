/**
 * Terminal colour and cursor codes in log lines. An app logging to a TTY (Spring Boot, pino-pretty,
 * colorlog, `docker run -t`) writes `ESC[32m INFO ESC[0m`, and CloudWatch keeps the bytes: no
 * pattern reads such a line, so its time, level and fields are lost (an error spike in colour is
 * no spike). They carry nothing a rule can use, so they are removed before a line is parsed.
 *
 * What is removed (ECMA-48): CSI sequences (`ESC [` parameters, intermediates, a final byte: SGR
 * colours, cursor moves, erase), OSC strings (`ESC ]` … BEL or `ESC \`, window titles and
 * hyperlinks, at most 4,096 characters) and two-character escapes (`ESC` and one of `@`–`_`).
 * The classes of each part are disjoint, so the regex is linear on any input.
 */
export const ANSI_RE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]{0,4096}(?:\u0007|\u001b\\)?|[@-Z\\-_])/g;

const ESC = '\u001b';

/** The line without terminal escape sequences (the same string when it has none). */
export function withoutAnsi(line: string): string {
  return line.includes(ESC) ? line.replace(ANSI_RE, '') : line;
}
