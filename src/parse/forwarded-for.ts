import { Cidr, CidrSet, readAddress } from '../rules/cidr';

/**
 * The client behind a load balancer or proxy. Behind an ALB, nginx's `$remote_addr` is the load
 * balancer's own address and the client is in `X-Forwarded-For`: without this, every request
 * counts against one private address (a flood alert on your own load balancer) and the real
 * sources are invisible.
 *
 * Read the way nginx's realip module reads it (`set_real_ip_from` + `real_ip_recursive on`): only
 * when the connection came from a trusted proxy, and from the right: each proxy appends the
 * address it saw, so the first untrusted address from the right is the client. Entries further
 * left were written by the client and prove nothing (`X-Forwarded-For: 1.1.1.1` sent by an
 * attacker stays on the left).
 */

/** Private, loopback, link-local and shared (CGNAT) ranges: where load balancers and proxies in a VPC live. */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
];

/** Entries read from the right at most: a header an attacker pads to megabytes costs no more. */
const MAX_HOPS = 32;

/** An entry as proxies write it: an address, perhaps with a port (`1.2.3.4:5678`, `[2001:db8::1]:443`). */
function entryAddress(entry: string): string {
  const text = entry.trim();
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    return close === -1 ? text : text.slice(1, close);
  }
  const colon = text.indexOf(':');
  // One colon: IPv4 with a port. More: IPv6 without brackets (no port possible).
  return colon !== -1 && colon === text.lastIndexOf(':') ? text.slice(0, colon) : text;
}

export class TrustedProxies {
  private readonly ranges: CidrSet;

  constructor(cidrs: readonly string[] = DEFAULT_TRUSTED_PROXIES) {
    this.ranges = new CidrSet(cidrs.map((c) => new Cidr(c)));
  }

  private trusted(address: string): boolean | undefined {
    // An address with brackets and a port is at most 53 characters: longer is not one, and not parsed.
    if (address.length > 64) return undefined;
    const ip = readAddress(address);
    if (ip === null) return undefined;
    return this.ranges.contains(ip);
  }

  /**
   * The client address, when `remote` (the connecting address) is a trusted proxy and the header
   * names one; undefined to keep `remote`. A malformed entry before any untrusted one stops the
   * walk: what lies left of it cannot be trusted either.
   */
  clientOf(remote: string, forwardedFor: string): string | undefined {
    if (this.trusted(remote) !== true) return undefined;
    let end = forwardedFor.length;
    let leftmost: string | undefined;
    for (let hop = 0; hop < MAX_HOPS && end > 0; hop++) {
      const start = forwardedFor.lastIndexOf(',', end - 1) + 1;
      const address = entryAddress(forwardedFor.slice(start, end));
      end = start - 1;
      const trusted = this.trusted(address);
      if (trusted === undefined) return undefined;
      if (!trusted) return address;
      leftmost = address;
    }
    // Every entry read is a proxy of yours: the leftmost is as near the client as the header goes.
    return leftmost;
  }
}
