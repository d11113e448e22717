import type { Alert } from '../schema/alert';

/** Evidence line lengths tried in turn, then related values kept per field. */
const EVIDENCE_CHARS = [1024, 256, 64];
const LAST_RESORT_RELATED = 3;

/**
 * Ever slimmer versions of an alert, for when it must fit a transport's limit (the state
 * machine's 256 KB: see envelope.ts): evidence lines cut shorter and shorter, then related values
 * thinned. An attacker writes the evidence, and each level of JSON escaping can double a line of
 * quotes or backslashes; the full alert stays in the log group, the link says where.
 */
export function* slimmerAlerts(alert: Alert): Generator<Alert> {
  for (const chars of EVIDENCE_CHARS) yield { ...alert, events: alert.events.map((e) => ({ ...e, message: shorten(e.message, chars) })) };
  const related = Object.fromEntries(Object.entries(alert.related).map(([field, values]) => [field, values.slice(0, LAST_RESORT_RELATED)]));
  yield { ...alert, events: alert.events.map((e) => ({ ...e, message: shorten(e.message, 0) })), related };
}

function shorten(text: string, chars: number): string {
  if (text.length <= chars) return text;
  // Evidence is redacted before it is cut, so a cut never exposes part of a secret.
  return `${text.slice(0, chars)}… [cut to fit the notification; the full line is in the log group]`;
}
