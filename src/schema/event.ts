import { z } from 'zod';

/** A field value after normalization: JSON scalars only (nested objects are flattened to dotted keys). */
export const FieldValue = z.union([z.string(), z.number(), z.boolean()]);
export type FieldValue = z.infer<typeof FieldValue>;

/**
 * The normalized event (contract): ECS-style dotted field names mapped to scalar values.
 * `@timestamp` is epoch milliseconds; arrays are flattened to `field.0`, `field.1`, ...
 */
export const NormalizedEvent = z.record(z.string(), FieldValue);
export type NormalizedEvent = z.infer<typeof NormalizedEvent>;

/** Fields the engine itself relies on; everything else is free-form ECS. */
export const CoreFields = {
  timestamp: '@timestamp',
  message: 'message',
  logGroup: 'cloudwatch.log_group',
  logStream: 'cloudwatch.log_stream',
  eventId: 'cloudwatch.event_id',
  /** The account that owns the log group (the subscription payload's `owner`). */
  owner: 'cloudwatch.owner',
  /** How many occurrences one line stands for (syslog `message repeated N times`); absent means one. */
  repeatCount: 'event.repeat_count',
} as const;

/** Entity fields correlation keys on (user, IP, host, service), in order of preference. */
export const ENTITY_FIELDS = ['user.name', 'source.ip', 'host.name', 'service.name'] as const;

export function eventTime(event: NormalizedEvent): number {
  const ts = event[CoreFields.timestamp];
  return typeof ts === 'number' ? ts : 0;
}

export function eventId(event: NormalizedEvent): string {
  const id = event[CoreFields.eventId];
  return id === undefined ? '' : String(id);
}

/** How many occurrences the event stands for: counters, sequences and occurrences add this, not 1. */
export function eventWeight(event: NormalizedEvent): number {
  const n = event[CoreFields.repeatCount];
  return typeof n === 'number' && n >= 1 ? n : 1;
}

/** A value that is a non-empty string, else undefined: how derives and parsers read a text field. */
export function textValue(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
