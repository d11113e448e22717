import { z } from 'zod';
import { redact } from '../alerts/redact';
import { newOpenEvent } from '../parse/event-record';
import { CoreFields, ENTITY_FIELDS, eventId, eventTime, type NormalizedEvent } from '../schema/event';
import { boundedValue } from './bounded-value';

/**
 * What a sequence keeps of a step's latest event beside the step's stored occurrences: enough for
 * the alert to show the earlier steps when the last one comes in a later batch (the failures and
 * the login before the command, with the address they came from), which the batch alone cannot.
 * The line is redacted before it is stored and cut short; entity values are bounded as keys are.
 */
const MAX_CONTEXT_LINE_CHARS = 1024;

const StepContext = z.object({
  t: z.number(),
  g: z.string(),
  s: z.string(),
  i: z.string(),
  m: z.string(),
  o: z.string().optional(),
  a: z.string().optional(),
  e: z.record(z.string(), z.string()),
});
type StepContext = z.infer<typeof StepContext>;

/** The stored context of one event (JSON text). */
export function stepContext(event: NormalizedEvent): string {
  const line = redact(String(event['event.original'] ?? event[CoreFields.message] ?? ''));
  const entities: Record<string, string> = {};
  for (const field of ENTITY_FIELDS) {
    const value = event[field];
    if (value !== undefined && value !== '') entities[field] = boundedValue(redact(String(value)));
  }
  const owner = event[CoreFields.owner];
  const account = event['cloud.account.id'];
  const context: StepContext = {
    t: eventTime(event),
    g: String(event[CoreFields.logGroup] ?? ''),
    s: String(event[CoreFields.logStream] ?? ''),
    i: eventId(event),
    m: line.length > MAX_CONTEXT_LINE_CHARS ? `${line.slice(0, MAX_CONTEXT_LINE_CHARS)}…` : line,
    ...(owner === undefined ? {} : { o: boundedValue(String(owner)) }),
    ...(account === undefined ? {} : { a: boundedValue(String(account)) }),
    e: entities,
  };
  return JSON.stringify(context);
}

/** The event a stored context stands for (its line, time, place and entities), or undefined when the text is not one. */
export function contextEvent(text: string): NormalizedEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = StepContext.safeParse(raw);
  if (!parsed.success) return undefined;
  const c = parsed.data;
  // A line that names its own fields: a hash table, like a JSON line's event (src/parse/event-record.ts).
  const event = newOpenEvent();
  event[CoreFields.timestamp] = c.t;
  event[CoreFields.logGroup] = c.g;
  event[CoreFields.logStream] = c.s;
  event[CoreFields.eventId] = c.i;
  event[CoreFields.message] = c.m;
  event['event.original'] = c.m;
  if (c.o !== undefined) event[CoreFields.owner] = c.o;
  if (c.a !== undefined) event['cloud.account.id'] = c.a;
  for (const field of ENTITY_FIELDS) {
    const value = c.e[field];
    if (value !== undefined) event[field] = value;
  }
  return event;
}
