import { textValue } from '../../schema/event';
import { type BuiltinSource, base } from './builtin-source';
import { transportName } from './transport';

/** VPC Flow Logs records (read by splitting against their format: src/parse/flow-log-format.ts), recognized by their interface id. */

// The account is `unknown` for interfaces AWS services create (endpoints, load balancers).
const VPC_FLOW_RE = /^\d{1,2} (?:\d{12}|unknown) eni-[0-9a-f]{8,17} /;

export const VPC_FLOW: BuiltinSource = {
  definition: { ...base('vpcflow', 'VPC Flow Logs, version 2 default format', 'text'), parsers: ['vpcflow'] },
  patterns: [
    {
      name: 'vpcflow_v2',
      literal: ' eni-',
      // Read by splitting (src/parse/flow-log-format.ts); this regex declares the default format's
      // fields and is the reference that reader is tested against.
      // version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
      pattern: String.raw`^(?<vpcflow__version>\d{1,2}) (?<cloud__account__id>\d{12}) (?<network__interface__id>eni-[0-9a-f]{8,17}) (?<source__address>[0-9a-fA-F.:]{2,45}|-) (?<destination__address>[0-9a-fA-F.:]{2,45}|-) (?<source__port>\d{1,5}|-) (?<destination__port>\d{1,5}|-) (?<network__iana_number>\d{1,3}|-) (?<network__packets>\d{1,20}|-) (?<network__bytes>\d{1,20}|-) (?<timestamp>\d{9,11}) (?<vpcflow__end>\d{9,11}) (?<vpcflow__action>ACCEPT|REJECT|-) (?<vpcflow__log_status>OK|NODATA|SKIPDATA)$`,
      fields: { 'event.category': 'network', 'event.dataset': 'aws.vpcflow' },
    },
  ],
  recognize: (l) => VPC_FLOW_RE.test(l),
  recognizedBy: ['eni-'],
  // A flow log writes one stream per network interface, named after it and the traffic it logs.
  deliveredIn: {
    stream: /^eni-[0-9a-f]{8,17}(?:-(?:all|accept|reject))?$/,
    where: "VPC Flow Logs' own log streams (one per network interface: eni-…-all)",
  },
  derives: ['event.action', 'event.outcome', 'network.transport', 'cloud.provider'],
  deriveReads: ['vpcflow.action', 'network.iana_number'],
  derive: (e) => {
    const action = textValue(e['vpcflow.action']);
    if (action) {
      e['event.action'] = action.toLowerCase();
      e['event.outcome'] = action === 'ACCEPT' ? 'success' : 'failure';
    }
    const proto = e['network.iana_number'];
    if (proto !== undefined) e['network.transport'] = transportName(String(proto));
    e['cloud.provider'] = 'aws';
  },
};
