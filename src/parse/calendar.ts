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
 * hours: India's +5:30 and Nepal's +5:45 included), from the zone's offset as Intl gives it (the
 * zone database Node carries, with its daylight-saving rules; the same offset a source's
 * `timezone` reads its lines' times in). A clock change need not fall on a quarter hour (St
 * John's changed at 00:01 local time until 2011, at 02:31 UTC), nor an offset be whole quarter
 * hours (a zone's local mean time before standard time): a slot whose offset is not the same at
 * its start and at the next slot's, or is not whole quarter hours, reads each event's own offset.
 */
export class Calendar {
  private utcHourStart = Number.NaN;
  private utcHour = 0;
  private utcWeekday = 'unknown';
  private localSlot = Number.NaN;
  private localOffsetSlot = Number.NaN;
  private localHour = 0;
  private localWeekday = 'unknown';
  /** Whether one offset holds for all of the local slot (else each event in it reads its own). */
  private localUniform = false;
  private readonly zone: string | undefined;
  /** The zone's offset per quarter hour looked up (Intl takes microseconds): bounded, cleared when full. */
  private readonly offsets = new Map<number, number>();

  /** Throws a RangeError naming the zone when Intl does not know it (check with isKnownTimezone first). */
  constructor(readonly timeZone = 'UTC') {
    if (!isKnownTimezone(timeZone)) throw new RangeError(`unknown time zone '${timeZone}' (expected an IANA name such as Europe/Berlin)`);
    this.zone = isUtc(timeZone) ? undefined : timeZone;
  }

  /**
   * `reference`: when CloudWatch received the line. Within a day of it, the zone's offset is the
   * one at the event's own time; further off (a backfill, or a line that lies about its time) it
   * is the one at the reference — exact but for a day either side of a clock change, and a line
   * choosing random times cannot make every event cost a zone look-up (about 5 µs each).
   */
  apply(event: NormalizedEvent, time: number, reference = time): void {
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
    const offsetSlot = Math.abs(time - reference) <= DAY_MS ? slot : Math.floor(reference / QUARTER_HOUR_MS);
    if (slot !== this.localSlot || offsetSlot !== this.localOffsetSlot) this.readLocal(slot, offsetSlot, this.zone);
    if (!this.localUniform && offsetSlot === slot) {
      // A clock change inside this quarter hour (or an offset of odd minutes): this event's own offset.
      const own = Math.abs(time) <= MAX_DATE_MS ? offsetAt(time, this.zone) : undefined;
      this.writeLocal(time, own);
    }
    event['event.hour_local'] = this.localHour;
    event['event.weekday_local'] = this.localWeekday;
  }

  private readLocal(slot: number, offsetSlot: number, zone: string): void {
    this.localSlot = slot;
    this.localOffsetSlot = offsetSlot;
    const offset = this.offsetOf(offsetSlot, zone);
    this.localUniform =
      offset !== undefined && offset % QUARTER_HOUR_MS === 0 && (offsetSlot !== slot || this.offsetOf(offsetSlot + 1, zone) === offset);
    this.writeLocal(slot * QUARTER_HOUR_MS, offset);
  }

  /** The local hour and weekday of `at` read with `offset`. */
  private writeLocal(at: number, offset: number | undefined): void {
    // An event time past what a Date holds (a hostile line's year 275760) has no local time.
    const wall = offset !== undefined && Math.abs(at) <= MAX_DATE_MS ? new Date(at + offset) : undefined;
    const hour = wall?.getUTCHours();
    this.localHour = hour === undefined || Number.isNaN(hour) ? 0 : hour;
    this.localWeekday = (wall && WEEKDAYS[wall.getUTCDay()]) ?? 'unknown';
  }

  private offsetOf(slot: number, zone: string): number | undefined {
    const at = slot * QUARTER_HOUR_MS;
    if (!(Math.abs(at) <= MAX_DATE_MS)) return undefined;
    let offset = this.offsets.get(slot);
    if (offset === undefined) {
      if (this.offsets.size >= MAX_CACHED_OFFSETS) this.offsets.clear();
      offset = offsetAt(at, zone);
      this.offsets.set(slot, offset);
    }
    return offset;
  }
}

function isUtc(name: string): boolean {
  return /^(?:Etc\/)?(?:UTC|UCT|GMT|Zulu|Universal)$/i.test(name);
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const HOUR_MS = 3_600_000;
const QUARTER_HOUR_MS = 900_000;
const MAX_DATE_MS = 8.64e15;
const DAY_MS = 86_400_000;
/** Two days of quarter hours and more: the slots near the deliveries of a busy hour. */
const MAX_CACHED_OFFSETS = 1024;
