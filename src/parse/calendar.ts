import type { NormalizedEvent } from '../schema/event';
import { isKnownTimezone, offsetAt } from './timestamp';

/**
 * The hour and weekday of an event, in UTC (`event.hour_utc`, `event.weekday_utc`) and in the
 * deployment's time zone (`event.hour_local`, `event.weekday_local`: config `timeZone`, UTC
 * unless set). Working hours are a team's, not UTC's: 07:00–20:00 UTC is midnight to 1 pm in
 * California, so an off-hours rule in UTC flags a Pacific team's every afternoon login and misses
 * its 3 a.m. ones.
 *
 * Events come in time order, so the last slot computed almost always answers the next event: UTC
 * per hour, the zone per quarter hour (every zone's offset from UTC is a whole number of quarter
 * hours: India's +5:30 and Nepal's +5:45 included; daylight saving moves it on a quarter-hour
 * boundary too), from the zone's offset as Intl gives it (the zone database Node carries, with
 * its daylight-saving rules; the same offset a source's `timezone` reads its lines' times in).
 */
export class Calendar {
  private utcHourStart = Number.NaN;
  private utcHour = 0;
  private utcWeekday = 'unknown';
  private localSlot = Number.NaN;
  private localHour = 0;
  private localWeekday = 'unknown';
  private readonly zone: string | undefined;

  /** Throws a RangeError naming the zone when Intl does not know it (check with isKnownTimezone first). */
  constructor(readonly timeZone = 'UTC') {
    if (!isKnownTimezone(timeZone)) throw new RangeError(`unknown time zone '${timeZone}' (expected an IANA name such as Europe/Berlin)`);
    this.zone = isUtc(timeZone) ? undefined : timeZone;
  }

  apply(event: NormalizedEvent, time: number): void {
    const hourStart = Math.floor(time / HOUR_MS) * HOUR_MS;
    if (hourStart !== this.utcHourStart) {
      const date = new Date(hourStart);
      this.utcHourStart = hourStart;
      this.utcHour = date.getUTCHours();
      this.utcWeekday = WEEKDAYS[date.getUTCDay()] ?? 'unknown';
    }
    event['event.hour_utc'] = this.utcHour;
    event['event.weekday_utc'] = this.utcWeekday;
    if (this.zone === undefined) {
      event['event.hour_local'] = this.utcHour;
      event['event.weekday_local'] = this.utcWeekday;
      return;
    }
    const slot = Math.floor(time / QUARTER_HOUR_MS);
    if (slot !== this.localSlot) this.readLocal(slot, this.zone);
    event['event.hour_local'] = this.localHour;
    event['event.weekday_local'] = this.localWeekday;
  }

  private readLocal(slot: number, zone: string): void {
    this.localSlot = slot;
    const at = slot * QUARTER_HOUR_MS;
    // An event time past what a Date holds (a hostile line's year 275760) has no local time.
    const wall = Math.abs(at) <= MAX_DATE_MS ? new Date(at + offsetAt(at, zone)) : undefined;
    const hour = wall?.getUTCHours();
    this.localHour = hour === undefined || Number.isNaN(hour) ? 0 : hour;
    this.localWeekday = (wall && WEEKDAYS[wall.getUTCDay()]) ?? 'unknown';
  }
}

function isUtc(name: string): boolean {
  return /^(?:Etc\/)?(?:UTC|UCT|GMT|Zulu|Universal)$/i.test(name);
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const HOUR_MS = 3_600_000;
const QUARTER_HOUR_MS = 900_000;
const MAX_DATE_MS = 8.64e15;
