import type { ParserPattern } from '../builtin-parsers';
import { type BuiltinSource, base, has, withParsers } from './builtin-source';

/** API Gateway access logs: JSON, and the text presets of the console, the docs and CDK (a stage's own format: a source's `accessLogFormat`). */

const isApiGatewayJson = (l: string) =>
  has(l, '"requestId"', '"httpMethod"', '"status"') &&
  (l.includes('"ip"') || l.includes('"sourceIp"')) &&
  !l.includes('"webaclId"') &&
  !l.includes('"eventSource"');

// The text presets of the console, the docs and CDK (`AccessLogFormat.clf()`), for REST and
// HTTP APIs. Groups take the `$context` variable names, so the JSON field map reads them too.
/** A month as API Gateway writes it in `$context.requestTime`: its English abbreviation, one of twelve. */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const CLF_TIME = String.raw`\d\d/(?:${MONTHS.join('|')})/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}`;
const SOURCE_IP = String.raw`(?<ip>[0-9a-fA-F.:]{2,45}|-)`;
/** A request id: a UUID (REST; a client may choose it), base64-like (HTTP APIs), or an extended id. */
const REQUEST_ID = String.raw`[\w=+/-]{6,128}`;
const STATUS = String.raw`(?<status>\d{3}|-)`;
const LENGTH = String.raw`(?<responseLength>\d{1,15}|-)`;
export const API_GATEWAY_PATTERNS: ParserPattern[] = [
  {
    // REST: ip caller user [time] "method resourcePath protocol" status length requestId [extendedRequestId]
    // (the CloudFormation example puts the extended id first). HTTP APIs write `- -` for caller and
    // user, and the route key (`GET /pets`, `$default`) where REST writes the resource path.
    name: 'apigateway_clf',
    pattern: String.raw`^(?:${REQUEST_ID} )?${SOURCE_IP} (?<caller>[^\s\[]{1,512}) (?<user>[^\s\[]{1,512}) \[(?<requestTime>${CLF_TIME})\] "(?<httpMethod>[A-Z]{1,10}) (?:(?<routeKey>[A-Z]{1,10} /[^" ]{0,2048}|\$default)|(?<resourcePath>/[^" ]{0,2048})) (?<protocol>[^" ]{1,16})" ${STATUS} ${LENGTH} (?<requestId>${REQUEST_ID})(?: (?<extendedRequestId>${REQUEST_ID}))?$`,
    fields: {},
  },
  {
    // REST: ip,caller,user,time,method,resourcePath,protocol,status,length,requestId[,extendedRequestId]
    name: 'apigateway_csv',
    pattern: String.raw`^${SOURCE_IP},(?<caller>[^,\s]{1,512}),(?<user>[^,\s]{1,512}),(?<requestTime>${CLF_TIME}),(?<httpMethod>[A-Z]{1,10}),(?<resourcePath>[^,]{1,2048}),(?<protocol>[^,\s]{1,16}),${STATUS},${LENGTH},(?<requestId>${REQUEST_ID})(?:,(?<extendedRequestId>${REQUEST_ID}))?$`,
    fields: {},
  },
  {
    // HTTP APIs: ip,time,method,routeKey,protocol,status,length,requestId
    name: 'apigateway_http_csv',
    pattern: String.raw`^${SOURCE_IP},(?<requestTime>${CLF_TIME}),(?<httpMethod>[A-Z]{1,10}),(?<routeKey>[^,]{1,2048}),(?<protocol>[^,\s]{1,16}),${STATUS},${LENGTH},(?<requestId>${REQUEST_ID})$`,
    fields: {},
  },
  {
    // <request id="…"> <ip>…</ip> <requestTime>…</requestTime> … </request>: every element is a field.
    name: 'apigateway_xml',
    literal: '<request id="',
    pattern: String.raw`^<request id="(?<requestId>[^"<>]{1,128})">(?<xml>.*)$`,
    fields: {},
  },
];
const API_GATEWAY_TEXT = API_GATEWAY_PATTERNS.map((p) => new RegExp(p.pattern));
const QUOTE = 34;
// An access-log line of another server ends with a quoted user agent or with its byte count; a
// preset line of API Gateway with its request id.
const isApiGatewayText = (l: string) => l.charCodeAt(l.length - 1) !== QUOTE && API_GATEWAY_TEXT.some((re) => re.test(l));

export const API_GATEWAY: BuiltinSource = {
  definition: withParsers(
    ['apigateway'],
    base('apigateway', 'Amazon API Gateway access logs: JSON, or the CLF, CSV and XML presets', 'auto', {
      requestTimeEpoch: '@timestamp',
      requestTime: '@timestamp',
      ip: 'source.address',
      sourceIp: 'source.address',
      httpMethod: 'http.request.method',
      status: 'http.response.status_code',
      path: 'url.path',
      resourcePath: 'url.path',
      routeKey: 'http.route',
      userAgent: 'user_agent.original',
      user: 'user.name',
      caller: 'user.name',
      responseLength: 'http.response.body.bytes',
      requestId: 'http.request.id',
      apiId: 'service.name',
    }),
  ),
  patterns: API_GATEWAY_PATTERNS,
  recognize: (l) => isApiGatewayJson(l) || isApiGatewayText(l),
  // JSON records name the method; the CLF and CSV presets hold the month of their time; XML its element.
  recognizedBy: ['"httpMethod"', ...MONTHS.map((m) => `/${m}/`), '<request id="'],
  derives: ['http.response.status_code', 'service.name', 'event.category', 'event.dataset', 'cloud.provider'],
  derive: (e, logGroup) => {
    // Access-log formats write the status as text ("$context.status").
    const status = e['http.response.status_code'];
    if (typeof status === 'string' && /^\d{3}$/.test(status)) e['http.response.status_code'] = Number(status);
    e['service.name'] ??= logGroup.split('/').filter(Boolean).pop() ?? logGroup;
    e['event.category'] = 'web';
    e['event.dataset'] = 'aws.apigateway';
    e['cloud.provider'] = 'aws';
  },
};
