import type { Alert } from '../schema/alert';
import { snsMessage } from './notification';

/**
 * SNS messages and Step Functions inputs both stop at 256 KB, and an alert travels inside both:
 * as the SNS message (the alert JSON and the email text), which is itself a string in the state
 * machine's input. Each level of JSON escaping can double an evidence line of quotes or
 * backslashes, and an attacker writes those lines: an alert over the limit would fail its batch
 * on every retry, and the attack it describes would never be published. So evidence is cut until
 * the SNS message, escaped once more, fits this budget (the rest of the input is small).
 */
export const MAX_MESSAGE_BYTES = 160 * 1024;
/** Evidence line lengths tried in turn, then related values kept per field. */
const EVIDENCE_CHARS = [1024, 256, 64];
const LAST_RESORT_RELATED = 3;

export function fitAlert(alert: Alert): Alert {
  if (escapedMessageBytes(alert) <= MAX_MESSAGE_BYTES) return alert;
  for (const chars of EVIDENCE_CHARS) {
    const fitted: Alert = { ...alert, events: alert.events.map((e) => ({ ...e, message: shorten(e.message, chars) })) };
    if (escapedMessageBytes(fitted) <= MAX_MESSAGE_BYTES) return fitted;
  }
  const related = Object.fromEntries(Object.entries(alert.related).map(([field, values]) => [field, values.slice(0, LAST_RESORT_RELATED)]));
  return { ...alert, events: alert.events.map((e) => ({ ...e, message: shorten(e.message, 0) })), related };
}

/** The SNS message's size as the state machine's input carries it (a JSON string inside JSON). */
export function escapedMessageBytes(alert: Alert): number {
  return Buffer.byteLength(JSON.stringify(snsMessage(alert)));
}

function shorten(text: string, chars: number): string {
  if (text.length <= chars) return text;
  // Evidence is redacted before it is cut, so a cut never exposes part of a secret.
  return `${text.slice(0, chars)}… [cut to fit the notification; the full line is in the log group]`;
}
