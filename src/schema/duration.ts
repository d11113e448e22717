import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const UNIT_BY_LETTER: Readonly<Record<string, number>> = UNIT_MS;
const DURATION_RE = /^(\d+)(ms|s|m|h|d)$/;

/** Parses `30s`, `5m`, `4h`, `7d` into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text);
  if (!m?.[1] || !m[2]) return undefined;
  const size = UNIT_BY_LETTER[m[2]];
  if (size === undefined) return undefined;
  const ms = Number(m[1]) * size;
  return ms > 0 ? ms : undefined;
}

/** A window or period written as `<n><s|m|h|d>`, at most 90 days, parsed to milliseconds. */
export const Duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, {
    message: 'expected a duration like 30s, 5m, 4h or 7d (a positive whole number and one of ms, s, m, h, d)',
  })
  .transform((s) => parseDuration(s) ?? 0)
  .refine((ms) => ms <= 90 * UNIT_MS.d, { message: 'duration must be at most 90d' });

export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
    ['m', UNIT_MS.m],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

/** A time as people read it in messages and command output: ISO 8601 in UTC, whole seconds without `.000`. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000', '');
}

/** `3h 20m`, `2d 4h`, `45m`: to the minute, its two largest units. */
export function spokenDuration(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  const parts: [number, string][] = [
    [Math.floor(minutes / 1440), 'd'],
    [Math.floor((minutes % 1440) / 60), 'h'],
    [minutes % 60, 'm'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}
