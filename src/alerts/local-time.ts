/**
 * An alert's window on the team's clock (config `timeZone`), beside the UTC times the alert JSON
 * carries: a responder in California woken by a page should not have to work out that 11:12 UTC
 * was 03:12 their time — the hour is often what tells an attack from a colleague.
 */

/** One formatter per zone (a deployment has one zone; replays and tests may use a few). */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

interface LocalClock {
  date: string;
  time: string;
  zone: string;
}

function localClock(instant: number, timeZone: string): LocalClock {
  const parts = new Map(
    formatterFor(timeZone)
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.get(type) ?? '';
  return {
    date: `${part('weekday')} ${part('year')}-${part('month')}-${part('day')}`,
    time: `${part('hour')}:${part('minute')}`,
    zone: part('timeZoneName'),
  };
}

/**
 * `Sun 2025-03-02 19:12 → 19:22 PST (America/Los_Angeles)`: the span on the team's clock, the end's
 * date only when it differs. Undefined in UTC (the message's times already are), or for times that
 * do not parse.
 */
export function localSpan(startIso: string, endIso: string, timeZone: string): string | undefined {
  if (timeZone === 'UTC') return undefined;
  const start = Date.parse(startIso);
  const end = Date.parse(endIso);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  const from = localClock(start, timeZone);
  const to = localClock(end, timeZone);
  const toText = to.date === from.date ? to.time : `${to.date} ${to.time}`;
  const fromZone = from.zone === to.zone ? '' : ` ${from.zone}`;
  return `${from.date} ${from.time}${fromZone} → ${toText} ${to.zone} (${timeZone})`;
}
