import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRUSTED_PROXIES } from '../src/parse/forwarded-for';
import { Cidr, CidrSet, inRanges, ipv4Number, isCidr } from '../src/rules/cidr';
import { compileSelection } from '../src/rules/selection';

/** What `|cidr` decided before the dotted-quad fast path: ipaddr.js alone, IPv4-mapped IPv6 as IPv4. */
function reference(text: string, ranges: readonly string[], all: boolean): boolean {
  if (!ipaddr.isValid(text)) return false;
  const parsed = ipaddr.parse(text);
  const address = parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress() ? parsed.toIPv4Address() : parsed;
  const hit = (r: string) => {
    const range = ipaddr.parseCIDR(r);
    return address.kind() === range[0].kind() && address.match(range);
  };
  return all ? ranges.every(hit) : ranges.some(hit);
}

const v4Range = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, bits]) => `${a}/${bits}`);
const v6Range = fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, bits]) => `${a}/${bits}`);
// Addresses near the ranges' networks too, so that hits are frequent, not one in four billion.
const address = fc.oneof(
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6(),
  fc.ipV4().map((a) => `::ffff:${a}`),
  fc.constantFrom('10.0.0.1', '10.255.255.255', '11.0.0.0', '172.16.0.1', '172.32.0.1', '0.0.0.0', '255.255.255.255', '010.0.0.1'),
  fc.stringMatching(/^[0-9.]{0,17}$/),
);

describe('|cidr: dotted quads as numbers decide as ipaddr.js does', () => {
  it('on random ranges (IPv4 of every prefix length, IPv6) and addresses of every form', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(v4Range, v4Range, v6Range), { minLength: 1, maxLength: 4 }),
        address,
        fc.boolean(),
        (ranges, text, all) => {
          const cidrs = ranges.map((r) => new Cidr(r));
          expect(inRanges(text, cidrs, all), `${text} in ${ranges.join(', ')}${all ? ' (all)' : ''}`).toBe(reference(text, ranges, all));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('on addresses inside and just outside each private range', () => {
    const ranges = [...DEFAULT_TRUSTED_PROXIES, '1.2.3.4/32', '0.0.0.0/0'];
    const edges = [
      '9.255.255.255',
      '10.0.0.0',
      '10.255.255.255',
      '11.0.0.0',
      '172.15.255.255',
      '172.16.0.0',
      '172.31.255.255',
      '172.32.0.0',
    ];
    for (const r of ranges) {
      for (const text of [
        ...edges,
        '192.167.255.255',
        '192.168.0.0',
        '100.63.255.255',
        '100.64.0.0',
        '100.127.255.255',
        '100.128.0.0',
        '1.2.3.4',
        '1.2.3.5',
      ]) {
        expect(inRanges(text, [new Cidr(r)]), `${text} in ${r}`).toBe(reference(text, [r], false));
      }
    }
  });

  it('reads a dotted quad as its 32-bit number, and nothing else', () => {
    expect(ipv4Number('0.0.0.0')).toBe(0);
    expect(ipv4Number('255.255.255.255')).toBe(4_294_967_295);
    expect(ipv4Number('10.1.2.3')).toBe(10 * 2 ** 24 + 1 * 2 ** 16 + 2 * 2 ** 8 + 3);
    for (const t of ['010.1.2.3', '1.2.3', '1.2.3.4.5', '256.0.0.1', '::1', '1.2.3.4 ', '']) expect(ipv4Number(t), t).toBe(-1);
  });
});

describe('one address alone is the range holding only it, as Sigma reads |cidr', () => {
  it('decides as the /32 or /128 written out, on random addresses', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), address, (host, probe) => {
        const full = host.includes(':') ? `${host}/128` : `${host}/32`;
        expect(inRanges(probe, [new Cidr(host)])).toBe(inRanges(probe, [new Cidr(full)]));
        expect(new CidrSet([new Cidr(host)]).has(probe)).toBe(inRanges(probe, [new Cidr(full)]));
        expect(inRanges(host, [new Cidr(host)])).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('an IPv4-mapped IPv6 address alone is its IPv4 address; other spellings of an address are not ranges', () => {
    expect(inRanges('10.20.0.15', [new Cidr('::ffff:10.20.0.15')])).toBe(true);
    expect(inRanges('10.20.0.16', [new Cidr('::ffff:10.20.0.15')])).toBe(false);
    for (const t of ['10.1', '0x0a000001', '010.0.0.1', '167772161', 'scanner-1', '', '10.0.0.1 ']) expect(isCidr(t), t).toBe(false);
  });

  it('in a rule: a bare address matches that address only, and a bad one names its path', () => {
    expect(() => compileSelection({ 'source.ip|cidr': ['10.20.0.15', '10.1'] }, ['match'])).toThrow(
      "match.source.ip|cidr.1: invalid CIDR '10.1': expected a range (10.0.0.0/8) or one address",
    );
    const { predicate } = compileSelection({ 'source.ip|cidr': ['10.20.0.15', '2001:db8::7'] }, ['match']);
    expect(['10.20.0.15', '10.20.0.14', '2001:db8::7', '2001:db8::8'].map((ip) => predicate({ 'source.ip': ip }))).toEqual([
      true,
      false,
      true,
      false,
    ]);
  });
});

describe('a set of ranges (a named list under |cidr, trusted proxies): IPv4 merged into intervals', () => {
  // Ranges that overlap, nest and touch: a few networks, every prefix length.
  const base = fc.constantFrom(
    '10.0.0.0',
    '10.0.1.0',
    '10.0.2.0',
    '10.1.0.0',
    '10.255.255.0',
    '11.0.0.0',
    '192.168.0.0',
    '0.0.0.0',
    '255.255.255.0',
  );
  const nearRange = fc.tuple(base, fc.integer({ min: 0, max: 32 })).map(([a, bits]) => `${a}/${bits}`);
  const nearAddress = fc.tuple(base, fc.integer({ min: -300, max: 70_000 })).map(([a, offset]) => {
    const n = Math.min(2 ** 32 - 1, Math.max(0, (ipv4Number(a) as number) + offset));
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  });

  it('decides as testing each range does, on many ranges and on addresses of every form', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(nearRange, nearRange, v4Range, v6Range), { minLength: 1, maxLength: 40 }),
        fc.oneof(
          address,
          nearAddress,
          nearAddress,
          nearAddress.map((a) => `::ffff:${a}`),
        ),
        (ranges, text) => {
          const set = new CidrSet(ranges.map((r) => new Cidr(r)));
          expect(set.has(text), `${text} in ${ranges.join(', ')}`).toBe(reference(text, ranges, false));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("a |cidr condition over a list's thousand ranges matches what a single range does", () => {
    // 1,000 /24s of 10.0.0.0/8 and the same ranges written as one: a selection decides alike.
    const many = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const set = new CidrSet(many.map((r) => new Cidr(r)));
    for (const [text, inside] of [
      ['10.0.0.1', true],
      ['10.3.231.255', true],
      ['10.3.232.0', false],
      ['9.255.255.255', false],
      ['::ffff:10.1.2.3', true],
    ] as const)
      expect(set.has(text), text).toBe(inside);
  });
});
