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

/**
 * `10 minutes`, `6 hours`, `1 day 2 hours`, `24 hours 30 minutes`: a rule's window as a title
 * says it, exact to the second: in its smallest whole unit and the one above it.
 */
export function wordedDuration(ms: number): string {
  const units: [number, string][] = [
    [UNIT_MS.s, 'second'],
    [UNIT_MS.m, 'minute'],
    [UNIT_MS.h, 'hour'],
    [UNIT_MS.d, 'day'],
  ];
  const exact = Math.max(UNIT_MS.s, Math.round(ms / UNIT_MS.s) * UNIT_MS.s);
  let i = units.length - 1;
  while (i > 0 && exact % (units[i]?.[0] ?? 1) !== 0) i--;
  const [small = UNIT_MS.s, smallName = 'second'] = units[i] ?? [];
  const [big, bigName] = units[i + 1] ?? [];
  const words = (n: number, name: string) => `${n} ${name}${n === 1 ? '' : 's'}`;
  if (big === undefined || bigName === undefined || exact < big) return words(exact / small, smallName);
  // Not a whole number of `big` (else `small` would be it): both units, the rest never 0.
  const wholeBig = Math.floor(exact / big);
  return `${words(wholeBig, bigName)} ${words((exact - wholeBig * big) / small, smallName)}`;
}
