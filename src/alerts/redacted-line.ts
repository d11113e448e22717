import { CoreFields, type NormalizedEvent } from '../schema/event';
import { redact } from './redact';

/**
 * An event's line as it may leave (in an alert's evidence, in a sequence step's stored context),
 * redacted once per event: one batch shows the same event in several alerts and in the stored
 * context of each sequence rule it is a step of (a failed login is a step of four). Kept per event
 * object, so it lives as long as the event and no longer — nothing is remembered across batches.
 */
const redactedLines = new WeakMap<NormalizedEvent, string>();

export function redactedLine(event: NormalizedEvent): string {
  let line = redactedLines.get(event);
  if (line === undefined) {
    line = redact(String(event['event.original'] ?? event[CoreFields.message] ?? ''));
    redactedLines.set(event, line);
  }
  return line;
}
