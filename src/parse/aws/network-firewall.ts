import { textValue } from '../../schema/event';
import { type BuiltinSource, base, has } from './builtin-source';

/**
 * AWS Network Firewall logs delivered to CloudWatch Logs: its stateful engine's Suricata EVE JSON
 * (alert, netflow and TLS records) inside the firewall's envelope —
 * `{"firewall_name":…,"availability_zone":…,"event_timestamp":…,"event":{"event_type":"alert",
 * "src_ip":…,"alert":{"action":"blocked","signature":…,"severity":1}}}`.
 */

const isNetworkFirewall = (l: string) =>
  has(l, '"firewall_name"', '"event_type"') && !l.includes('"eventSource"') && !l.includes('"webaclId"');

/** What the firewall did with the traffic an alert is about, as `event.action`. */
const ACTIONS: ReadonlyMap<string, string> = new Map([
  ['allowed', 'nfw_allowed'],
  ['blocked', 'nfw_blocked'],
  ['rejected', 'nfw_blocked'],
  ['dropped', 'nfw_blocked'],
]);

export const NETWORK_FIREWALL: BuiltinSource = {
  definition: base('network-firewall', 'AWS Network Firewall alert, flow and TLS logs (Suricata EVE JSON)', 'json', {
    'event.timestamp': '@timestamp',
    'event.src_ip': 'source.ip',
    'event.src_port': 'source.port',
    'event.dest_ip': 'destination.ip',
    'event.dest_port': 'destination.port',
    'event.app_proto': 'network.protocol',
    'event.alert.signature': 'rule.name',
    'event.alert.signature_id': 'rule.id',
    'event.alert.category': 'rule.category',
    // The server name a TLS client asked for (a domain list rule's match), and an HTTP request's.
    'event.tls.sni': 'tls.client.server_name',
    'event.sni': 'tls.client.server_name',
    'event.http.hostname': 'url.domain',
    'event.http.url': 'url.original',
    'event.http.http_user_agent': 'user_agent.original',
    'event.netflow.bytes': 'network.bytes',
    'event.netflow.pkts': 'network.packets',
    firewall_name: 'observer.name',
    availability_zone: 'cloud.availability_zone',
  }),
  patterns: [],
  recognize: isNetworkFirewall,
  recognizedBy: ['"firewall_name"'],
  derives: [
    'event.kind',
    'event.action',
    'event.outcome',
    'event.severity',
    'network.transport',
    'event.category',
    'event.dataset',
    'cloud.provider',
  ],
  // The subscription filter asks for these texts of the lines whose rules read the action: exact
  // values, as the firewall writes them (lower case), so each claim holds on every line it names.
  derivesOn: {
    'event.action': [
      { values: ['nfw_allowed'], markers: ['"allowed"'] },
      { values: ['nfw_blocked'], markers: ['"blocked"', '"rejected"', '"dropped"'] },
      { values: ['nfw_alert'], markers: ['"alert"'] },
      { values: ['nfw_flow'], markers: ['"netflow"'] },
      { values: ['nfw_tls'], markers: ['"tls"'] },
    ],
    // Every line of a group a source file gives this parsing: no marker.
    'event.dataset': [{ values: ['aws.networkfirewall'] }],
    'event.category': [{ values: ['network'] }],
    'event.kind': [{ values: ['alert', 'event'] }],
    'event.outcome': [{ values: ['success', 'failure'] }],
    'cloud.provider': [{ values: ['aws'] }],
  },
  derive: (e) => {
    const type = textValue(e['event.event_type']);
    if (type === 'alert') {
      const action = textValue(e['event.alert.action']) ?? '';
      e['event.kind'] = 'alert';
      e['event.action'] = ACTIONS.get(action) ?? 'nfw_alert';
      if (e['event.action'] !== 'nfw_alert') e['event.outcome'] = e['event.action'] === 'nfw_blocked' ? 'failure' : 'success';
      // Suricata's severity: 1 the highest (malware command and control, exploits), 3 the lowest.
      const severity = e['event.alert.severity'];
      if (typeof severity === 'number') e['event.severity'] = severity;
    } else if (type === 'netflow') {
      e['event.kind'] = 'event';
      e['event.action'] = 'nfw_flow';
    } else if (type === 'tls') {
      e['event.kind'] = 'event';
      e['event.action'] = 'nfw_tls';
    }
    const proto = textValue(e['event.proto']);
    if (proto) e['network.transport'] = proto.toLowerCase();
    e['event.category'] = 'network';
    e['event.dataset'] = 'aws.networkfirewall';
    e['cloud.provider'] = 'aws';
  },
};
