import type { SubscriptionPayload } from '../src/decode/cloudwatch';

const T0 = Date.parse('2025-03-10T09:00:00Z');

/**
 * One 10,000-event payload from a busy nginx stream during an attack: a request flood and
 * forbidden probing from `attackers` sources over one minute, and normal traffic (a quarter of
 * the events) from `visitors` other addresses. With few sources this is the case batch
 * pre-aggregation is for: many events, few keys.
 */
export function floodPayload(events = 10_000, attackers = 5, visitors = 0): SubscriptionPayload {
  const logEvents = Array.from({ length: events }, (_, i) => {
    const t = T0 + Math.floor((i * 60_000) / events);
    const attacker = visitors === 0 || i % 4 !== 0;
    const ip = attacker ? `203.0.113.${10 + (i % attackers)}` : `198.51.100.${i % visitors}`;
    const status = attacker ? (i % 3 === 0 ? 403 : 200) : 200;
    const path = attacker ? '/api/v1/search?q=x' : `/docs/page-${i % 50}`;
    const clf = new Date(t).toISOString();
    const message = `${ip} - - [10/Mar/2025:${clf.slice(11, 19)} +0000] "GET ${path} HTTP/1.1" ${status} 512 "-" "Mozilla/5.0"`;
    return { id: `flood-${String(i).padStart(6, '0')}`, timestamp: t, message };
  });
  return {
    owner: '123456789012',
    logGroup: '/sentinel-demo/web/nginx',
    logStream: 'web-1',
    subscriptionFilters: ['sentinel-detector'],
    messageType: 'DATA_MESSAGE',
    logEvents,
  };
}
