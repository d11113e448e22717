import { getDomain } from 'tldts-icann';
import { textValue } from '../../schema/event';
import { type BuiltinSource, base, has } from './builtin-source';

const isResolverQuery = (l: string) => has(l, '"query_name"', '"query_timestamp"');

/**
 * Route 53 Resolver query logs: every DNS query your VPCs' instances, containers and functions
 * make, one JSON record each — where malware asks for its command server (random names that do
 * not exist) and where data leaves in long labels when nothing else is allowed out.
 */
export const RESOLVER_QUERY: BuiltinSource = {
  definition: base('route53-resolver', 'Amazon Route 53 Resolver query logs', 'json', {
    query_timestamp: '@timestamp',
    account_id: 'cloud.account.id',
    region: 'cloud.region',
    vpc_id: 'vpc.id',
    query_type: 'dns.question.type',
    query_class: 'dns.question.class',
    rcode: 'dns.response_code',
    srcaddr: 'source.address',
    'srcids.instance': 'cloud.instance.id',
  }),
  patterns: [],
  recognize: isResolverQuery,
  recognizedBy: ['query_name'],
  derives: [
    'dns.question.name',
    'dns.question.registered_domain',
    'source.port',
    'network.transport',
    'event.action',
    'event.outcome',
    'event.category',
    'event.dataset',
    'cloud.provider',
  ],
  derive: (e) => {
    // Resolver writes names fully qualified (`example.com.`); rules and ECS read them without the
    // root dot, and in lower case: names are case-insensitive, and a client (or malware) asking for
    // `POOL.SupportXMR.com` gets the same answer as one asking in lower case.
    const name = textValue(e.query_name)?.toLowerCase();
    if (name) {
      const bare = name.endsWith('.') ? name.slice(0, -1) : name;
      e['dns.question.name'] = bare;
      // The domain someone registered, under the public suffix list's ICANN part: a tunnel under
      // evil.co.uk is evil.co.uk's, not co.uk's (which would group every British domain's names
      // into one and title the alert "co.uk"). A name under no listed suffix keeps its last two
      // labels (ip-10-0-1-5.ec2.internal: ec2.internal). Hosting providers' own suffixes (the list's
      // private part) are not used: a list of services names ngrok-free.app, not each tunnel's name.
      const labels = bare.split('.');
      if (labels.length >= 2)
        e['dns.question.registered_domain'] = getDomain(bare, { validateHostname: false }) ?? labels.slice(-2).join('.');
    }
    const port = Number(e.srcport);
    if (Number.isInteger(port) && port > 0 && port < 65_536) e['source.port'] = port;
    const transport = textValue(e.transport);
    if (transport) e['network.transport'] = transport.toLowerCase();
    e['event.action'] = 'dns_query';
    e['event.outcome'] = e['dns.response_code'] === 'NOERROR' ? 'success' : 'failure';
    e['event.category'] = 'network';
    e['event.dataset'] = 'aws.route53_resolver';
    e['cloud.provider'] = 'aws';
  },
};
