import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timeZoneEnv } from '../functions/commons/env';
import { parseConfig } from '../infra/config';
import { Calendar } from '../src/parse/calendar';
import { Normalizer } from '../src/parse/normalize';
import type { NormalizedEvent } from '../src/schema/event';

const fieldsAt = (calendar: Calendar, iso: string | number) => {
  const event: NormalizedEvent = {};
  calendar.apply(event, typeof iso === 'number' ? iso : Date.parse(iso));
  return [event['event.hour_local'], event['event.weekday_local'], event['event.hour_utc'], event['event.weekday_utc']];
};

/** The hour and weekday Intl gives for an instant in a zone: what the calendar must agree with. */
function intlFields(zone: string, at: number): [number, string] {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', hour: 'numeric', weekday: 'short' }).formatToParts(at);
  return [Number(parts.find((p) => p.type === 'hour')?.value), String(parts.find((p) => p.type === 'weekday')?.value).toLowerCase()];
}

describe('an event’s hour and weekday in the team’s time zone', () => {
  it('UTC unless set: the local fields are the UTC ones', () => {
    expect(fieldsAt(new Calendar(), '2025-03-03T22:30:00Z')).toEqual([22, 'mon', 22, 'mon']);
  });
  it('New York across the night daylight saving starts: 01:59 EST is followed by 03:00 EDT', () => {
    const ny = new Calendar('America/New_York');
    expect(fieldsAt(ny, '2025-03-09T06:59:59Z')).toEqual([1, 'sun', 6, 'sun']);
    expect(fieldsAt(ny, '2025-03-09T07:00:00Z')).toEqual([3, 'sun', 7, 'sun']);
    expect(fieldsAt(ny, '2025-11-02T05:30:00Z')).toEqual([1, 'sun', 5, 'sun']); // 01:30 EDT
    expect(fieldsAt(ny, '2025-11-02T06:30:00Z')).toEqual([1, 'sun', 6, 'sun']); // 01:30 EST, the hour again
  });
  it('zones off the hour: India (+5:30) and Nepal (+5:45) turn to Tuesday mid-hour in UTC, events in time order', () => {
    const india = new Calendar('Asia/Kolkata');
    expect(fieldsAt(india, '2025-03-03T18:29:59Z')).toEqual([23, 'mon', 18, 'mon']);
    expect(fieldsAt(india, '2025-03-03T18:30:00Z')).toEqual([0, 'tue', 18, 'mon']);
    const nepal = new Calendar('Asia/Kathmandu');
    expect(fieldsAt(nepal, '2025-03-03T18:14:59Z')).toEqual([23, 'mon', 18, 'mon']);
    expect(fieldsAt(nepal, '2025-03-03T18:15:00Z')).toEqual([0, 'tue', 18, 'mon']);
  });
  it('a clock change off the quarter hour: St John’s left daylight saving at 00:01 local time (02:31 UTC) until 2011', () => {
    const stJohns = new Calendar('America/St_Johns');
    expect(fieldsAt(stJohns, '2002-10-27T02:30:00Z').slice(0, 2)).toEqual([0, 'sun']); // 00:00 NDT
    expect(fieldsAt(stJohns, '2002-10-27T02:31:00Z').slice(0, 2)).toEqual([23, 'sat']); // 23:01 NST, Saturday again
    expect(fieldsAt(stJohns, '2002-10-27T02:44:59Z').slice(0, 2)).toEqual([23, 'sat']);
    expect(fieldsAt(stJohns, '2002-10-27T02:45:00Z').slice(0, 2)).toEqual([23, 'sat']);
    // Found by the property below (seed 1140472089): an event in that quarter hour took its start's offset.
  });
  it('a time more than a day from its delivery takes the offset at delivery: a line choosing its time cannot make each event a zone look-up', () => {
    const ny = new Calendar('America/New_York');
    const july = Date.parse('2025-07-01T12:00:00Z'); // EDT, UTC−4
    const event: NormalizedEvent = {};
    // A January time (EST, UTC−5) delivered in July: read with July's offset.
    ny.apply(event, Date.parse('2025-01-15T15:30:00Z'), july);
    expect(event['event.hour_local']).toBe(11);
    // Within a day of its delivery: its own offset, across a clock change too.
    ny.apply(event, Date.parse('2025-11-02T06:30:00Z'), Date.parse('2025-11-02T04:00:00Z'));
    expect(event['event.hour_local']).toBe(1); // 01:30 EST, not EDT's 02:30
  });
  it('a time no Date holds (a hostile line’s) has no local hour, and does not throw', () => {
    expect(fieldsAt(new Calendar('Europe/Berlin'), 9e15).slice(0, 2)).toEqual([0, 'unknown']);
    expect(fieldsAt(new Calendar('Europe/Berlin'), Number.NaN).slice(0, 2)).toEqual([0, 'unknown']);
  });
  it('an unknown zone is refused by name', () => {
    expect(() => new Calendar('Mars/Olympus_Mons')).toThrow(/unknown time zone 'Mars\/Olympus_Mons'/);
  });
  it('property: agrees with Intl for any instant in any of these zones, whatever order events come in', () => {
    const zones = ['America/Los_Angeles', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham', 'America/St_Johns'];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.array(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2060, 0, 1) }), { minLength: 1, maxLength: 20 }),
        (zone, instants) => {
          const calendar = new Calendar(zone);
          for (const at of instants) expect(fieldsAt(calendar, at).slice(0, 2)).toEqual(intlFields(zone, at));
        },
      ),
      { numRuns: 300 },
    );
  });
  it('the normalizer gives every event both: a JSON line’s time in Berlin', () => {
    const line = JSON.stringify({ time: '2025-07-01T21:30:00Z', msg: 'login', user: 'ana' });
    const result = new Normalizer([], { timeZone: 'Europe/Berlin' }).normalize(line, {
      logGroup: '/app/x',
      logStream: 's',
      id: '1',
      timestamp: Date.parse('2025-07-01T21:30:05Z'),
    });
    expect(result.ok && [result.event['event.hour_local'], result.event['event.weekday_local'], result.event['event.hour_utc']]).toEqual([
      23,
      'tue',
      21,
    ]);
  });
  it('deployment config timeZone reaches the detector as TIME_ZONE; an unknown name fails synth, and an unknown TIME_ZONE the cold start', () => {
    expect(parseConfig({ logGroups: ['/app/x'] }).timeZone).toBe('UTC');
    expect(parseConfig({ logGroups: ['/app/x'], timeZone: 'America/Chicago' }).timeZone).toBe('America/Chicago');
    expect(() => parseConfig({ logGroups: ['/app/x'], timeZone: 'Central Time' })).toThrow(/timeZone/);
    const before = process.env.TIME_ZONE;
    try {
      delete process.env.TIME_ZONE;
      expect(timeZoneEnv()).toBe('UTC'); // a stack from before the setting
      process.env.TIME_ZONE = 'Asia/Tokyo';
      expect(timeZoneEnv()).toBe('Asia/Tokyo');
      process.env.TIME_ZONE = 'Tokyo';
      expect(() => timeZoneEnv()).toThrow(/TIME_ZONE must be an IANA time zone name, got 'Tokyo'/);
    } finally {
      if (before === undefined) delete process.env.TIME_ZONE;
      else process.env.TIME_ZONE = before;
    }
  });
});
