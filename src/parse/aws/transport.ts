/** IANA protocol numbers by the names ECS `network.transport` uses: flow logs and security group rules may write either. */
const TRANSPORT: Readonly<Record<string, string>> = { '1': 'icmp', '6': 'tcp', '17': 'udp', '58': 'ipv6-icmp' };

/** A protocol's name: its IANA number named, a name (or a number without one) as written. */
export function transportName(protocol: string): string {
  return TRANSPORT[protocol] ?? protocol;
}
