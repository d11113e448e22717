import ipaddr from 'ipaddr.js';

/**
 * CIDR ranges as `|cidr` reads them, and the addresses tested against them. Nearly every event
 * carries an IPv4 address and a rule pack with a `|cidr` key tests each one, so a dotted quad is
 * read as one 32-bit number and tested with a mask: no ipaddr.js object (whose `isValid` first
 * tries the address as IPv6), no cache lookup. Anything else — IPv6, IPv4-mapped IPv6, forms
 * ipaddr.js accepts beyond dotted quads — takes ipaddr.js, as before.
 */

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

const DOT = 46;

/**
 * A dotted quad as net.isIP accepts one (four decimal parts of 0–255, no leading zeros) as an
 * unsigned 32-bit number; -1 for any other text.
 */
export function ipv4Number(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let parts = 0;
  let value = 0;
  let digits = 0;
  let address = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? DOT : text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || value > 255 || ++parts > 4) return -1;
      address = address * 256 + value;
      value = 0;
      digits = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9 || (digits === 1 && value === 0)) return -1; // a leading zero
    value = value * 10 + d;
    if (++digits > 3) return -1;
  }
  return parts === 4 ? address : -1;
}

/** One range: ipaddr.js's, and for an IPv4 range its network and mask as numbers. */
export class Cidr {
  private readonly range: [IpAddress, number];
  private readonly v4: boolean;
  private readonly mask: number;
  private readonly network: number;

  /** Throws on text that is neither a CIDR range nor an address (see parseRange). */
  constructor(text: string) {
    this.range = parseRange(text);
    const [base, bits] = this.range;
    this.v4 = base.kind() === 'ipv4';
    this.mask = !this.v4 || bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    this.network = this.v4 ? (octetsNumber(base.toByteArray()) & this.mask) >>> 0 : 0;
  }

  /**
   * Whether an address from `readAddress` lies in this range: a dotted quad's number by mask,
   * any other by ipaddr.js (an IPv4 address is never in an IPv6 range, nor the reverse).
   */
  contains(address: number | IpAddress): boolean {
    if (typeof address === 'number') return this.v4 && (address & this.mask) >>> 0 === this.network;
    return address.kind() === this.range[0].kind() && address.match(this.range);
  }

  /** An IPv4 range's first and last address as numbers; undefined for an IPv6 range. */
  get v4Interval(): [number, number] | undefined {
    return this.v4 ? [this.network, (this.network | ~this.mask) >>> 0] : undefined;
  }
}

/**
 * Ranges an address is tested against, any of them (a `|cidr` list, trusted proxies). A named
 * list may hold hundreds of ranges (every office, a provider's published ranges), and a rule tests
 * them on every event it reads: IPv4 ranges are merged into sorted, disjoint intervals searched by
 * halves — ten comparisons for a thousand ranges, where testing each took a thousand. IPv6 ranges
 * (few, in practice) are tested one by one.
 */
export class CidrSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly v6: Cidr[] = [];

  constructor(ranges: readonly Cidr[]) {
    const intervals: [number, number][] = [];
    for (const range of ranges) {
      const interval = range.v4Interval;
      if (interval) intervals.push(interval);
      else this.v6.push(range);
    }
    intervals.sort((a, b) => a[0] - b[0]);
    for (const [start, end] of intervals) {
      const last = this.ends.length - 1;
      // Overlapping or adjacent: one interval.
      if (last >= 0 && start <= (this.ends[last] as number) + 1) this.ends[last] = Math.max(this.ends[last] as number, end);
      else {
        this.starts.push(start);
        this.ends.push(end);
      }
    }
  }

  /** Whether the text is an address in any of the ranges; false for text that is no address. */
  has(text: string): boolean {
    const address = readAddress(text);
    return address !== null && this.contains(address);
  }

  /** Whether an address from `readAddress` lies in any of the ranges. */
  contains(address: number | IpAddress): boolean {
    if (typeof address === 'number') return this.hasV4(address);
    // IPv4-mapped IPv6 reads as ipaddr.js's IPv4: matched against the IPv4 ranges, as Cidr.contains does.
    if (address.kind() === 'ipv4') return this.hasV4(octetsNumber(address.toByteArray()));
    return this.v6.some((r) => r.contains(address));
  }

  private hasV4(n: number): boolean {
    // The last interval starting at or before n.
    let low = 0;
    let high = this.starts.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if ((this.starts[mid] as number) <= n) low = mid + 1;
      else high = mid - 1;
    }
    return high >= 0 && n <= (this.ends[high] as number);
  }
}

/**
 * A range as `|cidr` takes one: `10.0.0.0/8`, `2001:db8::/32`, or one address alone (`10.20.0.15`,
 * `2001:db8::7`) as the range holding only it (/32, /128), as Sigma's `cidr` modifier reads it —
 * a scanner's address added to a list as written. An IPv4-mapped IPv6 address alone is its IPv4
 * address (addresses are tested that way, readAddress). A bare IPv4 address must be a dotted quad:
 * ipaddr.js also reads `10.1` or `0x0a000001` as addresses, which nobody means in a list. Throws,
 * as ipaddr.parseCIDR does, on anything else.
 */
export function parseRange(text: string): [IpAddress, number] {
  if (text.includes('/')) return ipaddr.parseCIDR(text);
  if (ipv4Number(text) !== -1) return [ipaddr.IPv4.parse(text), 32];
  if (!text.includes(':') || !ipaddr.IPv6.isValid(text)) throw new Error(`'${text}' is neither a CIDR range nor an IP address`);
  const address = ipaddr.IPv6.parse(text);
  return address.isIPv4MappedAddress() ? [address.toIPv4Address(), 32] : [address, 128];
}

function octetsNumber(bytes: number[]): number {
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}

const ipCache = new Map<string, IpAddress | null>();

/** Whether the text is a range `|cidr` takes (one address alone included: parseRange). */
export function isCidr(text: string): boolean {
  try {
    new Cidr(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * An address as `|cidr` reads it, for `Cidr.contains`: a dotted quad as its number; anything else
 * parsed by ipaddr.js (IPv4-mapped IPv6 as IPv4, cached); null when the text is no address.
 */
export function readAddress(text: string): number | IpAddress | null {
  const v4 = ipv4Number(text);
  return v4 === -1 ? parseIp(text) : v4;
}

function parseIp(text: string): IpAddress | null {
  const cached = ipCache.get(text);
  if (cached !== undefined) return cached;
  let parsed: IpAddress | null = null;
  if (ipaddr.isValid(text)) {
    const addr = ipaddr.parse(text);
    // IPv4-mapped IPv6 (::ffff:1.2.3.4) is matched against IPv4 ranges.
    parsed = addr.kind() === 'ipv6' && addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress() ? addr.toIPv4Address() : addr;
  }
  if (ipCache.size > 100_000) ipCache.clear();
  ipCache.set(text, parsed);
  return parsed;
}

/** Whether the text is an address in any of the ranges (`all`: in every one); false for text that is no address. */
export function inRanges(text: string, ranges: readonly Cidr[], all = false): boolean {
  const address = readAddress(text);
  if (address === null) return false;
  return all ? ranges.every((r) => r.contains(address)) : ranges.some((r) => r.contains(address));
}
