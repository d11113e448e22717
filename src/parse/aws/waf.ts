import { textValue } from '../../schema/event';
import { type BuiltinSource, base, has } from './builtin-source';

/** AWS WAF logs: the request, the rule that decided and the action. */

const isWaf = (l: string) => has(l, '"webaclId"', '"httpRequest"') && !l.includes('"eventSource"');

export const WAF: BuiltinSource = {
  definition: base('waf', 'AWS WAF web ACL logs', 'json', {
    timestamp: '@timestamp',
    'httpRequest.clientIp': 'source.address',
    'httpRequest.country': 'source.geo.country_iso_code',
    'httpRequest.uri': 'url.path',
    'httpRequest.httpMethod': 'http.request.method',
    'httpRequest.requestId': 'http.request.id',
    terminatingRuleId: 'rule.name',
    webaclId: 'service.id',
  }),
  patterns: [],
  recognize: isWaf,
  recognizedBy: ['webaclId'],
  // WAF delivers to CloudWatch Logs only into groups whose names start so (a requirement of WAF's).
  deliveredIn: { group: /^aws-waf-logs-/, where: 'a WAF log group (aws-waf-logs-…, a prefix WAF requires)' },
  derives: ['event.action', 'event.outcome', 'event.category', 'event.dataset', 'cloud.provider'],
  derive: (e) => {
    const action = textValue(e.action);
    if (action) {
      e['event.action'] = `waf_${action.toLowerCase()}`;
      e['event.outcome'] = action === 'BLOCK' ? 'failure' : 'success';
    }
    e['event.category'] = 'web';
    e['event.dataset'] = 'aws.waf';
    e['cloud.provider'] = 'aws';
  },
};
