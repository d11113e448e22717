import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Normalizer } from '../src/parse/normalize';
import { parseTimestamp, plausibleLineTime } from '../src/parse/timestamp';
import { SourceDefinition } from '../src/schema/rule';

const utc = (iso: string) => Date.parse(iso);
const NOV_30_2026 = utc('2026-11-30T19:00:00Z');
const JAN_2_2026 = utc('2026-01-02T08:00:00Z');
const DEC_31_2025 = utc('2025-12-31T23:30:00Z');

describe('event time from the line', () => {
  it.each([
    ['ISO with Z', '2025-03-02T03:12:40.118Z', undefined, '2025-03-02T03:12:40.118Z'],
    ['ISO with offset', '2025-03-02T05:12:40+02:00', undefined, '2025-03-02T03:12:40Z'],
    ['ISO with compact offset', '2025-03-02T05:12:40+0200', undefined, '2025-03-02T03:12:40Z'],
    ['ISO with hour-only offset', '2025-03-01T22:12:40-05', undefined, '2025-03-02T03:12:40Z'],
    ['ISO with nanoseconds (Go, Lambda)', '2025-03-02T03:12:40.118123456Z', undefined, '2025-03-02T03:12:40.118Z'],
    ['Python asctime, no zone: UTC', '2025-03-02 03:12:41,554', undefined, '2025-03-02T03:12:41.554Z'],
    ['Laravel, no zone: UTC', '2025-03-02 03:12:40', undefined, '2025-03-02T03:12:40Z'],
    ['Laravel, source zone Europe/Berlin (winter, +1)', '2025-03-02 04:12:40', 'Europe/Berlin', '2025-03-02T03:12:40Z'],
    ['Python, source zone Europe/Berlin (summer, +2)', '2025-07-02 05:12:40,000', 'Europe/Berlin', '2025-07-02T03:12:40Z'],
    ['New York, after the spring DST change', '2025-03-09 03:30:00', 'America/New_York', '2025-03-09T07:30:00Z'],
    ['New York, before it', '2025-03-08 03:30:00', 'America/New_York', '2025-03-08T08:30:00Z'],
    ['an explicit zone wins over the source zone', '2025-03-02T03:12:40Z', 'Asia/Tokyo', '2025-03-02T03:12:40Z'],
    ['CLF (Apache, nginx)', '02/Mar/2025:03:12:40 +0000', undefined, '2025-03-02T03:12:40Z'],
    ['CLF with an offset', '17/May/2015:10:05:03 -0700', undefined, '2015-05-17T17:05:03Z'],
    ['syslog with a trailing year', 'Mar  2 03:12:40 2024', undefined, '2024-03-02T03:12:40Z'],
    ['RFC 2822 with GMT', 'Sun, 02 Mar 2025 03:12:40 GMT', undefined, '2025-03-02T03:12:40Z'],
    ['nginx error log', '2025/03/02 03:12:40', undefined, '2025-03-02T03:12:40Z'],
    ["MariaDB's audit plugin (RDS for MySQL)", '20250302 03:12:40', undefined, '2025-03-02T03:12:40Z'],
    ['Apache 2.4 error log', 'Sun Mar 02 03:12:40.118123 2025', undefined, '2025-03-02T03:12:40.118Z'],
    ['Apache 2.2 error log, source zone', 'Sun Mar 02 04:12:40 2025', 'Europe/Berlin', '2025-03-02T03:12:40Z'],
    ['29 February of a leap year', '2024-02-29T10:00:00Z', undefined, '2024-02-29T10:00:00Z'],
    ['29 February of a year divisible by 400', '29/Feb/2000:10:00:00 +0000', undefined, '2000-02-29T10:00:00Z'],
    ['31 December', '2025-12-31 23:59:59', undefined, '2025-12-31T23:59:59Z'],
  ] as const)('%s', (_, text, timezone, expected) => {
    expect(parseTimestamp(text, { reference: NOV_30_2026, timezone })).toBe(utc(expected));
  });

  it.each([
    ['epoch seconds', 1740885160, '2025-03-02T03:12:40Z'],
    ['epoch seconds with fraction', 1740885160.118, '2025-03-02T03:12:40.118Z'],
    ['epoch milliseconds', 1740885160118, '2025-03-02T03:12:40.118Z'],
    ['epoch seconds as text', '1740885160', '2025-03-02T03:12:40Z'],
    ['epoch milliseconds as text', '1740885160118', '2025-03-02T03:12:40.118Z'],
    ['epoch microseconds', 1740885160118123, '2025-03-02T03:12:40.118Z'],
    ['epoch microseconds as text (Aurora MySQL audit log)', '1740885160118123', '2025-03-02T03:12:40.118Z'],
    ['epoch nanoseconds', 1740885160118 * 1e6, '2025-03-02T03:12:40.118Z'],
    ['epoch nanoseconds as text', '1740885160118123456', '2025-03-02T03:12:40.118Z'],
  ] as const)('%s', (_, value, expected) => {
    expect(parseTimestamp(value)).toBe(utc(expected));
  });

  describe('syslog has no year: the delivery time decides it', () => {
    it.each([
      ['same year', 'Jun 14 15:16:01', NOV_30_2026, '2026-06-14T15:16:01Z'],
      ['a December line read in January is last year', 'Dec 30 23:59:58', JAN_2_2026, '2025-12-30T23:59:58Z'],
      [
        'a line ten days "ahead" of the clock is last year (OpenSSH_2k read on Nov 30)',
        'Dec 10 06:55:46',
        NOV_30_2026,
        '2025-12-10T06:55:46Z',
      ],
      ['a January line read on December 31 by a host ahead of UTC is next year', 'Jan  1 00:10:00', DEC_31_2025, '2026-01-01T00:10:00Z'],
      ['single-digit day padded with a space', 'Mar  2 03:12:40', NOV_30_2026, '2026-03-02T03:12:40Z'],
      ['fractions (high-precision syslog)', 'Mar 12 03:12:40.250', NOV_30_2026, '2026-03-12T03:12:40.250Z'],
    ] as const)('%s', (_, text, reference, expected) => {
      expect(parseTimestamp(text, { reference })).toBe(utc(expected));
    });

    it('reads the line in the source zone', () => {
      expect(parseTimestamp('Jul  7 08:06:15', { reference: NOV_30_2026, timezone: 'Asia/Tokyo' })).toBe(utc('2026-07-06T23:06:15Z'));
    });

    it('without a delivery time a year-less line has no usable time', () => {
      expect(parseTimestamp('Mar  2 03:12:40')).toBeUndefined();
    });
  });

  it.each([
    ['a day that does not exist', '2025-02-30T03:12:40Z'],
    ['29 February of a common year', '2025-02-29T03:12:40Z'],
    ['29 February of a century not divisible by 400', '29/Feb/2100:03:12:40 +0000'],
    ['31 April', '2025-04-31 03:12:40'],
    ['mixed date separators', '2025/03-02 03:12:40'],
    ['one date separator of two', '202503-02 03:12:40'],
    ['epoch digits of no known length', '17408851601181'],
    ['a ctime without a year', 'Sun Mar 02 03:12:40'],
    ['an hour that does not exist', '2025-03-02 25:12:40'],
    ['a month name that does not exist', 'Foo  2 03:12:40'],
    ['a date without a time', '2025-03-02'],
    ['free text', 'yesterday at noon'],
    ['a zone-less shape Date would read in local time', 'March 2, 2025 03:12:40'],
    ['an empty string', ''],
    ['a boolean', true],
    ['an infinite number', Number.POSITIVE_INFINITY],
    ['a negative epoch', -5],
  ] as const)('rejects %s', (_, value) => {
    expect(parseTimestamp(value, { reference: NOV_30_2026 })).toBeUndefined();
  });

  it('an epoch reads as the same instant in seconds, milliseconds, microseconds or nanoseconds, as a number or as text (ten digits of seconds: from 2001)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2002, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        const whole = ms - (ms % 1000);
        expect(parseTimestamp(whole / 1000)).toBe(whole);
        expect(parseTimestamp(String(whole / 1000))).toBe(whole);
        for (const [value, text] of [
          [ms, String(ms)],
          [ms * 1000, `${ms}000`],
          [ms * 1e6, `${ms}000000`],
        ] as const) {
          expect(parseTimestamp(value)).toBe(ms);
          expect(parseTimestamp(text)).toBe(ms);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a date is read when the calendar has that day, and only then', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1970, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, mo, d) => {
        const exists = new Date(Date.UTC(y, mo - 1, d)).getUTCDate() === d;
        const iso = `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T10:00:00Z`;
        expect(parseTimestamp(iso)).toBe(exists ? Date.UTC(y, mo - 1, d, 10) : undefined);
      }),
      { numRuns: 3000 },
    );
  });

  it('times of one hour read one after another agree with each read alone', () => {
    // Another hour read first empties the remembered hour and second.
    const alone = (value: string, timezone?: string) => {
      parseTimestamp('1999-01-01T00:00:00Z');
      return parseTimestamp(value, { reference: NOV_30_2026, timezone });
    };
    const two = (n: number) => String(n).padStart(2, '0');
    const time = fc
      .record({
        shape: fc.constantFrom('iso', 'iso-space', 'compact', 'clf'),
        hour: fc.integer({ min: 3, max: 4 }),
        minute: fc.integer({ min: 0, max: 61 }),
        second: fc.integer({ min: 0, max: 61 }),
        fraction: fc.constantFrom('', '.1', ',25', '.118', '.123456789', '.1234567890', '.'),
        zone: fc.constantFrom('', 'Z', '+02:00', '-0530', '+01', ' +0000', ' -0700', 'x'),
      })
      .map(({ shape, hour, minute, second, fraction, zone }) =>
        shape === 'clf'
          ? `2/Mar/2025:${two(hour)}:${two(minute)}:${two(second)}${fraction === '' ? '' : fraction}${zone}`
          : `${shape === 'compact' ? '20250302' : '2025-03-02'}${shape === 'iso' ? 'T' : ' '}${two(hour)}:${two(minute)}:${two(second)}${fraction}${zone}`,
      );
    // Each time in the zone of its own source (lines of sources with different zones may follow each other).
    const zone = fc.constantFrom(undefined, 'UTC', 'Europe/Berlin');
    fc.assert(
      fc.property(fc.array(fc.tuple(time, zone), { minLength: 1, maxLength: 12 }), (values) => {
        const expected = values.map(([v, timezone]) => alone(v, timezone));
        parseTimestamp('1999-01-01T00:00:00Z');
        expect(values.map(([v, timezone]) => parseTimestamp(v, { reference: NOV_30_2026, timezone }))).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('a line time that cannot be the event’s is not used', () => {
  const delivered = utc('2026-03-03T03:12:00Z');
  const DAY = 86_400_000;
  it.each([
    ['an hour behind its delivery', delivered - 3_600_000, DAY, true],
    ['14 hours ahead (a zone east of UTC read as UTC)', delivered + 14 * 3_600_000, DAY, true],
    ['two days ahead of a real delivery', delivered + 2 * DAY, DAY, false],
    ['two days ahead of a made-up delivery (a replayed plain line)', delivered + 2 * DAY, Number.POSITIVE_INFINITY, true],
    ['1999-12-31', utc('1999-12-31T23:59:59Z'), Number.POSITIVE_INFINITY, false],
    ['2100-01-01', utc('2100-01-01T00:00:00Z'), Number.POSITIVE_INFINITY, false],
    ['the last date JavaScript writes', 8_640_000_000_000_000, Number.POSITIVE_INFINITY, false],
  ])('%s', (_, ms, maxAhead, kept) => {
    expect(plausibleLineTime(ms, delivered, maxAhead)).toBe(kept ? ms : undefined);
  });

  it('the normalizer falls back to the delivery time, and counts it, only where the delivery is real for the far-ahead case', () => {
    const line = JSON.stringify({ time: '2026-03-06T00:00:00Z', msg: 'x' });
    const ctx = { logGroup: '/app/x', logStream: 's', id: 'e1', timestamp: delivered };
    const real = new Normalizer([], { realDelivery: true }).normalize(line, ctx);
    const madeUp = new Normalizer().normalize(line, ctx);
    expect(real.ok && [real.event['@timestamp'], real.timeFallback]).toEqual([delivered, true]);
    expect(madeUp.ok && [madeUp.event['@timestamp'], madeUp.timeFallback]).toEqual([utc('2026-03-06T00:00:00Z'), false]);
    const ancient = new Normalizer().normalize(JSON.stringify({ time: 0.5, ts: '1970-01-01T00:00:01Z', msg: 'x' }), ctx);
    expect(ancient.ok && ancient.event['@timestamp']).toBe(delivered);
  });
});

describe('a source that takes delivery times (`time: delivery`)', () => {
  const delivered = utc('2026-03-03T03:12:00Z');
  const claimed = '2026-03-03T02:02:00Z'; // what a client wrote: 70 minutes earlier
  const line = JSON.stringify({ time: claimed, msg: 'login failed' });
  const source = (name: string, extra: Record<string, unknown>) =>
    SourceDefinition.parse({ source: { name, logGroups: [`/app/${name}`], ...extra } });
  const ctxOf = (name: string) => ({ logGroup: `/app/${name}`, logStream: 's', id: 'e1', timestamp: delivered });
  const sources = [source('portal', { format: 'json', time: 'delivery' }), source('plain', { format: 'json' })];

  it('gives the deployed detector the delivery time, not counted as a line without one, the line kept in the message', () => {
    const r = new Normalizer(sources, { realDelivery: true }).normalize(line, ctxOf('portal'));
    expect(r.ok && [r.event['@timestamp'], r.event['event.hour_utc'], r.timeFallback]).toEqual([delivered, 3, false]);
    expect(r.ok && r.event['event.original']).toContain(claimed);
    // Sources without it keep the line's time.
    const plain = new Normalizer(sources, { realDelivery: true }).normalize(line, ctxOf('plain'));
    expect(plain.ok && plain.event['@timestamp']).toBe(utc(claimed));
  });

  it("inside a container runtime's wrapper, takes the runtime's time (written by the runtime, not the client)", () => {
    const written = '2026-03-03T03:11:58.250Z';
    const wrapped = JSON.stringify({ log: `${line}\n`, stream: 'stdout', time: written });
    const r = new Normalizer(sources, { realDelivery: true }).normalize(wrapped, ctxOf('portal'));
    expect(r.ok && [r.event['@timestamp'], r.event.message, r.timeFallback]).toEqual([utc(written), 'login failed', false]);
  });

  it("leaves a replay, whose delivery times are made up, the line's own", () => {
    const r = new Normalizer(sources).normalize(line, ctxOf('portal'));
    expect(r.ok && r.event['@timestamp']).toBe(utc(claimed));
  });

  it('applies to a source file naming a built-in parser (Lambda: the runtime stamps each line as it is written)', () => {
    const report = `${claimed.replace('Z', '.000Z')}\t3f6c1c2e-5f0b-4b9a-9a2e-1c2d3e4f5a6b\tERROR\tlogin failed`;
    const read = (extra: Record<string, unknown>) => {
      const r = new Normalizer([source('fn', { builtin: 'lambda', ...extra })], { realDelivery: true }).normalize(report, ctxOf('fn'));
      return r.ok && [r.event['@timestamp'], r.event['log.level']];
    };
    expect(read({ time: 'delivery' })).toEqual([delivered, 'error']);
    expect(read({})).toEqual([utc(claimed), 'error']);
  });
});
