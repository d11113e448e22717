import { z } from 'zod';
import { keptRequest } from './kept-request';
import { transportName } from './transport';

/**
 * What a security group change opened to the internet (a rule whose source is 0.0.0.0/0 or ::/0),
 * read from the CloudTrail record's request: `AuthorizeSecurityGroupIngress` (its `ipPermissions`)
 * and `ModifySecurityGroupRules` (its `SecurityGroupRule`). A public load balancer's group opens
 * TCP 80 and 443 to the world by design, and every deployment that creates one makes that call;
 * SSH, a database port or all traffic opened to the world is what a responder must hear of.
 */

/** The calls that can open a group to the internet. */
export const INGRESS_CALLS: ReadonlySet<string> = new Set(['AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules']);

/** A source of anywhere as CloudTrail writes it in each call's request (compact JSON). */
export const ANYWHERE_MARKERS: readonly string[] = [
  '"cidrIp":"0.0.0.0/0"',
  '"cidrIpv6":"::/0"',
  '"CidrIpv4":"0.0.0.0/0"',
  '"CidrIpv6":"::/0"',
];

const WEB_PORTS: ReadonlySet<number> = new Set([80, 443]);
const ANYWHERE: ReadonlySet<string> = new Set(['0.0.0.0/0', '::/0']);

const Protocol = z.union([z.string(), z.number()]).optional();
const Range = z.object({ cidrIp: z.string().optional(), cidrIpv6: z.string().optional() });
const Ranges = z.object({ items: z.array(Range).optional() }).optional();
const IpPermission = z.object({
  ipProtocol: Protocol,
  fromPort: z.number().optional(),
  toPort: z.number().optional(),
  ipRanges: Ranges,
  ipv6Ranges: Ranges,
});
const AuthorizeRequest = z.object({ ipPermissions: z.object({ items: z.array(IpPermission) }) });
const RuleUpdate = z.object({
  SecurityGroupRule: z.object({
    IpProtocol: Protocol,
    FromPort: z.number().optional(),
    ToPort: z.number().optional(),
    CidrIpv4: z.string().optional(),
    CidrIpv6: z.string().optional(),
  }),
});
const ModifyRequest = z.object({
  ModifySecurityGroupRulesRequest: z.object({ SecurityGroupRule: z.union([RuleUpdate, z.array(RuleUpdate)]) }),
});

interface Opening {
  protocol: string;
  from?: number | undefined;
  to?: number | undefined;
}

export interface InternetExposure {
  /** What was opened to the internet, as a responder reads it: `tcp/22`, `tcp/8000-8080`, `udp/53`, `all traffic`. */
  ports: string;
  /** `web` when every opening is TCP 80 or 443 alone; `beyond_web` otherwise, and when the request cannot be read. */
  exposure: 'web' | 'beyond_web';
}

/**
 * The request's openings to the internet; undefined when it names no source of anywhere. A request
 * of another shape, or cut where the record's request was kept (8 KB), counts as `beyond_web`:
 * only what is read whole and found to be web ports alone is told apart.
 */
export function internetExposure(requestParameters: string): InternetExposure | undefined {
  if (!ANYWHERE_MARKERS.some((marker) => requestParameters.includes(marker))) return undefined;
  const openings = openingsToAnywhere(requestParameters);
  if (openings === undefined || openings.length === 0) return { ports: 'not read from the request', exposure: 'beyond_web' };
  const web = openings.every((o) => o.protocol === 'tcp' && o.from !== undefined && o.from === o.to && WEB_PORTS.has(o.from));
  return { ports: [...new Set(openings.map(describe))].join(', '), exposure: web ? 'web' : 'beyond_web' };
}

function openingsToAnywhere(requestParameters: string): Opening[] | undefined {
  const request = keptRequest(requestParameters);
  if (request === undefined) return undefined;
  const authorize = AuthorizeRequest.safeParse(request);
  if (authorize.success)
    return authorize.data.ipPermissions.items
      .filter((p) => [...(p.ipRanges?.items ?? []), ...(p.ipv6Ranges?.items ?? [])].some((r) => isAnywhere(r.cidrIp ?? r.cidrIpv6)))
      .map((p) => ({ protocol: protocolName(p.ipProtocol), from: p.fromPort, to: p.toPort }));
  const modify = ModifyRequest.safeParse(request);
  if (modify.success) {
    const updates = [modify.data.ModifySecurityGroupRulesRequest.SecurityGroupRule].flat();
    return updates
      .map((u) => u.SecurityGroupRule)
      .filter((r) => isAnywhere(r.CidrIpv4) || isAnywhere(r.CidrIpv6))
      .map((r) => ({ protocol: protocolName(r.IpProtocol), from: r.FromPort, to: r.ToPort }));
  }
  return undefined;
}

const ICMP: ReadonlySet<string> = new Set(['icmp', 'icmpv6', 'ipv6-icmp']);

const isAnywhere = (cidr: string | undefined) => cidr !== undefined && ANYWHERE.has(cidr);

/** `-1` is every protocol; a number is named as flow logs name it (6 is TCP). */
function protocolName(protocol: string | number | undefined): string {
  const text = String(protocol ?? '-1').toLowerCase();
  return text === '-1' || text === 'all' ? 'all' : transportName(text);
}

function describe(o: Opening): string {
  if (o.protocol === 'all') return 'all traffic';
  if (ICMP.has(o.protocol)) return 'icmp'; // its "ports" are message types
  if (o.from === undefined || o.from === -1) return `${o.protocol} (every port)`;
  if (o.to === undefined || o.to === o.from) return `${o.protocol}/${o.from}`;
  return `${o.protocol}/${o.from}-${o.to}`;
}
