import { isIP } from 'node:net';
import { ipv4Number } from '../rules/cidr';
import type { NormalizedEvent } from '../schema/event';

/**
 * An IPv4 address as `net.isIP` accepts one (four decimal parts of 0–255, no leading zeros),
 * without its regex: nearly every event carries one or two addresses. Anything else goes to isIP.
 */
export const isDottedQuad = (text: string): boolean => ipv4Number(text) !== -1;

/**
 * An address field's value as the event's IP (`source.ip`) when it is an address, else as its
 * domain (a host name: PAM's rhost, HostnameLookups), where the event has neither yet.
 */
export function addressToIp(event: NormalizedEvent, addressField: string, ipField: string, domainField: string): void {
  const address = event[addressField];
  if (typeof address !== 'string' || event[ipField] !== undefined) return;
  if (isDottedQuad(address) || isIP(address) !== 0) event[ipField] = address;
  else if (event[domainField] === undefined) event[domainField] = address;
}

/** Both ends of a connection: `source.ip` / `source.domain` and `destination.ip` / `destination.domain`. */
export function addressesToIps(event: NormalizedEvent): void {
  // Constant keys, not templates: a key built per event is hashed and looked up per event.
  addressToIp(event, 'source.address', 'source.ip', 'source.domain');
  addressToIp(event, 'destination.address', 'destination.ip', 'destination.domain');
}
