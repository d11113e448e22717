import { type FieldValue, type NormalizedEvent, textValue } from '../schema/event';
import type { SourceDefinition } from '../schema/rule';
import type { ParserPattern } from './builtin-parsers';

/** Values a built-in's derive gives a field, on lines holding one of the markers (see BuiltinSource.derivesOn). */
export interface DeriveClaim {
  values?: readonly string[];
  markers?: readonly string[];
}

/**
 * AWS's own logs, understood out of the box: CloudTrail records (when a trail delivers to
 * CloudWatch Logs), VPC Flow Logs (default or declared format), Lambda function logs (text and JSON log
 * formats, platform lines included), API Gateway access logs (JSON), AWS WAF logs, Route 53
 * Resolver query logs, EKS (Kubernetes) audit logs and RDS / Aurora database logs (PostgreSQL,
 * MySQL, MariaDB).
 *
 * Each is a source like the ones users write, plus two things only built-ins have: `recognize`,
 * a cheap check that a line is of this kind (substrings for JSON, an anchored regex for text),
 * used when no source file names the log group; and `derive`, for what a field map cannot say
 * (a user from an identity ARN, a function from its log group). Recognizers are mutually
 * exclusive: a line of one kind is never taken for another (a property test checks it).
 */
export interface BuiltinSource {
  definition: SourceDefinition['source'];
  /** The text patterns of this source (tried in order), for text formats. */
  patterns: ParserPattern[];
  recognize: (line: string) => boolean;
  /**
   * Texts one of which every line `recognize` accepts holds (as written), when there are such: in
   * a log group no source names, this source parses and derives only on those lines.
   */
  recognizedBy?: readonly string[];
  derive: (event: NormalizedEvent, logGroup: string) => void;
  /**
   * Every field `derive` may set: their values need not appear in the line, so the subscription
   * filter compiler must not require them there (a test checks derive sets nothing else).
   */
  derives: readonly string[];
  /**
   * What is known of some of `derives`: every value `derive` gives such a field is one of a
   * claim's `values` (any, without them), on a line holding one of its `markers` (as written; any
   * line, without them). The subscription filter then lets those lines through, where a field
   * derived on any line to any value makes it deliver every line to the rules that read it (a
   * test checks the claims against the fixtures and the demo).
   */
  derivesOn?: Readonly<Record<string, readonly DeriveClaim[]>>;
  /** Top-level JSON keys also kept whole, as JSON text (rules may match the serialized object). */
  keepJson?: string[];
}

const has = (line: string, ...needles: string[]) => needles.every((n) => line.includes(n));
/**
 * Every recognizer that takes JSON lines requires one of these in the line (CloudTrail's
 * eventSource, WAF's webaclId, API Gateway's and Lambda's requestId, Resolver's query_name,
 * Powertools' function_name, Lambda's platform events, Kubernetes' auditID; a property test checks it). Most app JSON
 * holds none: one scan rules out every recognizer, where each would scan the line again.
 */
export const AWS_JSON_MARKERS_RE = /"(?:eventSource|webaclId|requestId|query_name|function_name|auditID)"|"platform\./;

const base = (
  name: string,
  description: string,
  format: 'json' | 'text' | 'auto',
  fieldMap: Record<string, string> = {},
): SourceDefinition['source'] => ({
  name,
  description,
  logGroups: [`(built-in ${name})`],
  format,
  parsers: [],
  customParsers: [],
  fieldMap,
  valueMap: {},
  lookups: [],
  fields: {},
});

const withParsers = (parsers: string[], def: SourceDefinition['source']): SourceDefinition['source'] => ({ ...def, parsers });

// ------------------------------------------------------------------ CloudTrail

const isCloudTrail = (l: string) => has(l, '"eventSource"', '"eventName"', '"userIdentity"');

/** An assumed-role session of an IAM Identity Center permission set: `assumed-role/AWSReservedSSO_<set>_<id>/<user>`. */
const SSO_SESSION = /^assumed-role\/AWSReservedSSO_[^/]+\/(.+)$/;

/** `assumed-role/<role>/<session>`: the role and the session name. */
const ASSUMED_ROLE = /^assumed-role\/([^/]+)\/(.+)$/;

/**
 * Session names machines generate: an ECS task id (32 hex digits), an EC2 instance id, the
 * defaults of the AWS SDKs and the CLI (`botocore-session-<time>`, `aws-sdk-js-<time>`, …), a
 * UUID, a bare number. A name a person or a pipeline chose (`alice`, `GitHubActions`, a Lambda
 * function's name) is kept.
 */
const MACHINE_SESSION =
  /^(?:[0-9a-f]{32}|i-[0-9a-f]{8}(?:[0-9a-f]{9})?|(?:botocore-session|aws-sdk-[a-z]+|aws-go-sdk|aws-dotnet-sdk-session)-\d{9,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{10,})$/i;

/**
 * The principal a CloudTrail record names: user name, role/session (the person, for Identity
 * Center sessions; the role, for sessions a machine named), root.
 */
export function principalName(e: NormalizedEvent): string | undefined {
  const type = textValue(e['userIdentity.type']);
  if (type === 'Root') return 'root';
  const userName = textValue(e['userIdentity.userName']);
  if (userName) return userName;
  const arn = textValue(e['userIdentity.arn']);
  if (arn) {
    // arn:partition:service:region:account:resource — user/alice, assumed-role/Role/session, root.
    const resource = arn.split(':').slice(5).join(':');
    // IAM Identity Center: the session is the person (their user name, usually an email), the role
    // only the permission set. The person is the same in every account; the role name is not theirs.
    const sso = SSO_SESSION.exec(resource);
    if (sso?.[1]) return sso[1];
    // A session name a machine generated says nothing about who: each ECS task, instance or SDK
    // client would be an entity of its own, and a fleet's calls (a burst, a sweep spread over
    // tasks) would be counted a task at a time. Such sessions are their role.
    const session = ASSUMED_ROLE.exec(resource);
    if (session?.[1] && session[2] && MACHINE_SESSION.test(session[2])) return session[1];
    const slash = resource.indexOf('/');
    return slash === -1 ? resource : resource.slice(slash + 1);
  }
  return (
    textValue(e['userIdentity.sessionContext.sessionIssuer.userName']) ??
    textValue(e['userIdentity.invokedBy']) ??
    textValue(e['userIdentity.principalId'])
  );
}

const CLOUDTRAIL: BuiltinSource = {
  definition: base('cloudtrail', 'AWS CloudTrail records delivered to CloudWatch Logs', 'json', {
    eventTime: '@timestamp',
    eventName: 'event.action',
    eventSource: 'event.provider',
    eventType: 'event.kind',
    sourceIPAddress: 'source.address',
    'userIdentity.type': 'user.type',
    'userIdentity.principalId': 'user.id',
    userAgent: 'user_agent.original',
    errorCode: 'error.code',
    errorMessage: 'error.message',
    awsRegion: 'cloud.region',
    recipientAccountId: 'cloud.account.id',
  }),
  patterns: [],
  keepJson: ['requestParameters', 'responseElements', 'additionalEventData'],
  recognize: isCloudTrail,
  recognizedBy: ['eventSource'],
  derives: ['user.name', 'event.outcome', 'event.category', 'cloud.provider', 'event.dataset'],
  derivesOn: {
    'event.outcome': [{ values: ['success', 'failure'] }],
    // A sign-in is named by its event name, IAM by its event source; anything else is configuration.
    'event.category': [
      { values: ['authentication'], markers: ['ConsoleLogin', 'GetSigninToken'] },
      { values: ['iam'], markers: ['iam.amazonaws.com'] },
      { values: ['configuration'] },
    ],
    'cloud.provider': [{ values: ['aws'] }],
    'event.dataset': [{ values: ['aws.cloudtrail'] }],
  },
  derive: (e) => {
    const name = principalName(e);
    if (name) e['user.name'] = name;
    const action = textValue(e['event.action']);
    const failed = e['error.code'] !== undefined || e['responseElements.ConsoleLogin'] === 'Failure';
    e['event.outcome'] = failed ? 'failure' : 'success';
    e['event.category'] =
      action === 'ConsoleLogin' || action === 'GetSigninToken'
        ? 'authentication'
        : e['event.provider'] === 'iam.amazonaws.com'
          ? 'iam'
          : 'configuration';
    e['cloud.provider'] = 'aws';
    e['event.dataset'] = 'aws.cloudtrail';
  },
};

// ------------------------------------------------------------------ VPC Flow Logs

// The account is `unknown` for interfaces AWS services create (endpoints, load balancers).
const VPC_FLOW_RE = /^\d{1,2} (?:\d{12}|unknown) eni-[0-9a-f]{8,17} /;
const TRANSPORT: Readonly<Record<string, string>> = { '1': 'icmp', '6': 'tcp', '17': 'udp', '58': 'ipv6-icmp' };

const VPC_FLOW: BuiltinSource = {
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
  derives: ['event.action', 'event.outcome', 'network.transport', 'cloud.provider'],
  derive: (e) => {
    const action = textValue(e['vpcflow.action']);
    if (action) {
      e['event.action'] = action.toLowerCase();
      e['event.outcome'] = action === 'ACCEPT' ? 'success' : 'failure';
    }
    const proto = e['network.iana_number'];
    if (proto !== undefined) e['network.transport'] = TRANSPORT[String(proto)] ?? String(proto);
    e['cloud.provider'] = 'aws';
  },
};

// ------------------------------------------------------------------ Lambda

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const LAMBDA_TEXT_RE = new RegExp(
  String.raw`^(?:(?:START|END|REPORT) RequestId: ${UUID}|INIT_START |INIT_REPORT |RequestId: ${UUID} Error: |\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z(?:\t(?:${UUID}|undefined)\t[A-Z]{3,5}\t| ${UUID} Task timed out)|\[[A-Z]{3,8}\]\t\d{4}-\d\d-\d\dT)`,
);
const LAMBDA_JSON_PLATFORM_RE = /"type":\s?"platform\.[a-zA-Z]{1,32}"/;
// Lambda's JSON log format for application lines: timestamp, level, a request id that is a Lambda request UUID, message.
const LAMBDA_JSON_APP_RE = /"requestId":\s?"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/;
const isLambdaJson = (l: string) =>
  // Each way of being one needs a marker: a line without any (every text line, most JSON) is ruled out on one scan.
  AWS_JSON_MARKERS_RE.test(l) &&
  !l.includes('"eventSource"') &&
  !l.includes('"webaclId"') &&
  !l.includes('"httpMethod"') &&
  (LAMBDA_JSON_PLATFORM_RE.test(l) ||
    (has(l, '"level"', '"message"', '"timestamp"') && LAMBDA_JSON_APP_RE.test(l)) ||
    // Powertools for AWS Lambda's logger (TypeScript, Python, Java, .NET): the function's context keys.
    has(l, '"function_name"', '"function_request_id"'));

const lambda = (action: string, extra: Record<string, FieldValue> = {}) => ({
  'event.category': 'process',
  'event.action': action,
  ...extra,
});

const LAMBDA: BuiltinSource = {
  definition: withParsers(
    ['lambda'],
    base('lambda', 'AWS Lambda function logs: platform lines and application logs, text or JSON log format', 'auto', {
      requestId: 'faas.execution',
      'record.requestId': 'faas.execution',
      'record.status': 'faas.status',
      'record.errorType': 'error.type',
      'record.metrics.durationMs': 'faas.duration_ms',
      'record.metrics.maxMemoryUsedMB': 'faas.max_memory_used_mb',
      'record.metrics.memorySizeMB': 'faas.memory_mb',
      errorType: 'error.type',
      errorMessage: 'error.message',
      // Powertools for AWS Lambda's logger.
      function_request_id: 'faas.execution',
      cold_start: 'faas.coldstart',
      xray_trace_id: 'trace.id',
      service: 'service.name',
    }),
  ),
  patterns: [
    {
      name: 'lambda_start',
      literal: 'START ',
      pattern: String.raw`^START RequestId: (?<faas__execution>${UUID})(?: Version: (?<faas__version>\S{1,64}))?`,
      fields: lambda('lambda_start'),
    },
    { name: 'lambda_end', literal: 'END ', pattern: String.raw`^END RequestId: (?<faas__execution>${UUID})`, fields: lambda('lambda_end') },
    {
      name: 'lambda_report',
      literal: 'REPORT ',
      pattern: String.raw`^REPORT RequestId: (?<faas__execution>${UUID})\tDuration: (?<faas__duration_ms>[\d.]{1,12}) ms\tBilled Duration: [\d.]{1,12} ms\tMemory Size: (?<faas__memory_mb>\d{1,6}) MB\tMax Memory Used: (?<faas__max_memory_used_mb>\d{1,6}) MB(?:\tInit Duration: (?<faas__init_duration_ms>[\d.]{1,12}) ms)?(?:\tStatus: (?<faas__status>\w{1,20}))?(?:\tError Type: (?<error__type>[\w.]{1,64}))?`,
      fields: lambda('lambda_report'),
    },
    {
      name: 'lambda_timeout',
      literal: 'Task timed out',
      pattern: String.raw`^(?<timestamp>\d{4}-\d\d-\d\dT[\d:.]{8,15}Z) (?<faas__execution>${UUID}) Task timed out after (?<faas__timeout_s>[\d.]{1,8}) seconds`,
      fields: lambda('lambda_timeout', { 'log.level': 'error', 'error.type': 'Task.TimedOut' }),
    },
    {
      name: 'lambda_runtime_exit',
      literal: 'Runtime exited',
      pattern: String.raw`^RequestId: (?<faas__execution>${UUID}) Error: Runtime exited with error: (?<error__message>[^\n]{0,300})`,
      fields: lambda('lambda_runtime_exit', { 'log.level': 'error', 'error.type': 'Runtime.ExitError' }),
    },
    {
      name: 'lambda_init_start',
      literal: 'INIT_START',
      pattern: String.raw`^INIT_START Runtime Version: (?<faas__runtime>\S{1,128})`,
      fields: lambda('lambda_init_start'),
    },
    {
      name: 'lambda_init_report',
      literal: 'INIT_REPORT',
      pattern: String.raw`^INIT_REPORT Init Duration: (?<faas__init_duration_ms>[\d.]{1,12}) ms\tPhase: (?<faas__phase>\w{1,20})(?:\tStatus: (?<faas__status>\w{1,20}))?(?:\tError Type: (?<error__type>[\w.]{1,64}))?`,
      fields: lambda('lambda_init_report'),
    },
    {
      name: 'lambda_app_text',
      pattern: String.raw`^(?<timestamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\t(?<faas__execution>${UUID}|undefined)\t(?<log__level>[A-Z]{3,5})\t(?<message>[\s\S]*)$`,
      fields: { 'event.category': 'process' },
    },
    {
      name: 'lambda_app_python',
      pattern: String.raw`^\[(?<log__level>[A-Z]{3,8})\]\t(?<timestamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z)\t(?<faas__execution>${UUID}|undefined)\t(?<message>[\s\S]*)$`,
      fields: { 'event.category': 'process' },
    },
  ],
  recognize: (l) => LAMBDA_TEXT_RE.test(l) || isLambdaJson(l),
  derives: ['faas.name', 'cloud.provider', 'event.category', 'event.action', 'log.level'],
  derivesOn: {
    'cloud.provider': [{ values: ['aws'] }],
    // JSON platform records name their type (`platform.report`); a failed init is an INIT_REPORT
    // line; out of memory is the runtime's error type or its `signal: killed`.
    'event.category': [{ values: ['process'], markers: ['platform.'] }],
    'event.action': [{ markers: ['platform.', 'INIT_REPORT', 'Runtime.OutOfMemory', 'signal: killed'] }],
    'log.level': [{ values: ['error'], markers: ['platform.', 'INIT_REPORT', 'Task timed out', 'Runtime.OutOfMemory', 'signal: killed'] }],
  },
  derive: (e, logGroup) => {
    const fn = logGroup.startsWith('/aws/lambda/')
      ? logGroup.slice('/aws/lambda/'.length)
      : (textValue(e.functionName) ?? textValue(e.function_name));
    if (fn) e['faas.name'] = fn;
    e['cloud.provider'] = 'aws';
    // JSON log format: platform records carry the lifecycle in `type` and `record.status`.
    const type = textValue(e.type);
    const status = textValue(e['faas.status']);
    if (type?.startsWith('platform.')) {
      e['event.category'] = 'process';
      if (type === 'platform.report') e['event.action'] = status === 'timeout' ? 'lambda_timeout' : 'lambda_report';
      else if (type === 'platform.initReport' || type === 'platform.initRuntimeDone')
        e['event.action'] = status === 'error' || status === 'failure' ? 'lambda_init_error' : 'lambda_init';
      else e['event.action'] = `lambda_${type.slice('platform.'.length).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
    } else if (e['event.action'] === 'lambda_init_report' && (status === 'error' || status === 'failure')) {
      e['event.action'] = 'lambda_init_error';
    }
    if (e['event.action'] === 'lambda_timeout' || e['event.action'] === 'lambda_init_error') e['log.level'] = 'error';
    // Out of memory: the runtime says so, or it was killed (the text format's only sign of it).
    const message = textValue(e['error.message']) ?? '';
    if (e['error.type'] === 'Runtime.OutOfMemory' || message.includes('signal: killed')) {
      e['event.action'] = 'lambda_out_of_memory';
      e['log.level'] = 'error';
    }
  },
};

// ------------------------------------------------------------------ API Gateway access logs

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

const API_GATEWAY: BuiltinSource = {
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

// ------------------------------------------------------------------ WAF

const isWaf = (l: string) => has(l, '"webaclId"', '"httpRequest"') && !l.includes('"eventSource"');

const WAF: BuiltinSource = {
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

// ------------------------------------------------------------------ Route 53 Resolver query logs

const isResolverQuery = (l: string) => has(l, '"query_name"', '"query_timestamp"');

/**
 * Route 53 Resolver query logs: every DNS query your VPCs' instances, containers and functions
 * make, one JSON record each — where malware asks for its command server (random names that do
 * not exist) and where data leaves in long labels when nothing else is allowed out.
 */
const RESOLVER_QUERY: BuiltinSource = {
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
    // Resolver writes names fully qualified (`example.com.`); rules and ECS read them without the root dot.
    const name = textValue(e.query_name);
    if (name) {
      const bare = name.endsWith('.') ? name.slice(0, -1) : name;
      e['dns.question.name'] = bare;
      // The last two labels: enough to group a domain's random subdomains (not a public-suffix list).
      const labels = bare.split('.');
      if (labels.length >= 2) e['dns.question.registered_domain'] = labels.slice(-2).join('.');
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

// ------------------------------------------------------------------ EKS (Kubernetes) audit logs

const isKubernetesAudit = (l: string) => has(l, '"auditID"', '"audit.k8s.io/');

/** A pod spec's keys, flattened, that give a container the node: privileged, its namespaces, its files. */
const PRIVILEGED_KEY = /\.securityContext\.privileged$/;
const HOST_NAMESPACE_KEY = /\.spec\.host(?:PID|Network|IPC)$/;
const HOST_PATH_KEY = /\.volumes\.\d{1,4}\.hostPath\.path$/;

/**
 * Kubernetes API server audit events (audit.k8s.io/v1), as EKS control plane logging writes them
 * to `/aws/eks/<cluster>/cluster` (streams `kube-apiserver-audit-*`). The event keeps the audit
 * fields under their Kubernetes names (`verb`, `objectRef.resource`, `objectRef.subresource`,
 * `annotations.authorization.k8s.io/decision`, `requestObject.*`), plus ECS names for who, from
 * where and what came back. A request body (`requestObject`, logged at the Request level EKS uses
 * for writes) that gives a container the node sets `kubernetes.pod.privileged`,
 * `kubernetes.pod.host_namespace` or `kubernetes.pod.host_path`, wherever the pod spec sits (a pod,
 * a Deployment's template, a CronJob's job template).
 */
const KUBERNETES_AUDIT: BuiltinSource = {
  definition: base('eks-audit', 'Amazon EKS (Kubernetes) API server audit logs', 'json', {
    requestReceivedTimestamp: '@timestamp',
    'user.username': 'user.name',
    'sourceIPs.0': 'source.address',
    userAgent: 'user_agent.original',
    'responseStatus.code': 'http.response.status_code',
    requestURI: 'url.original',
    'objectRef.namespace': 'orchestrator.namespace',
    'objectRef.resource': 'orchestrator.resource.type',
    'objectRef.name': 'orchestrator.resource.name',
  }),
  patterns: [],
  recognize: isKubernetesAudit,
  recognizedBy: ['auditID'],
  derives: [
    'kubernetes.audit.level',
    'event.action',
    'event.category',
    'event.dataset',
    'cloud.provider',
    'orchestrator.type',
    'orchestrator.cluster.name',
    'kubernetes.pod.privileged',
    'kubernetes.pod.host_namespace',
    'kubernetes.pod.host_path',
  ],
  derive: (e, logGroup) => {
    // The audit event's `level` is how much of the request was logged, not a severity.
    const level = textValue(e.level);
    if (level !== undefined && e['log.level'] === level) {
      e['kubernetes.audit.level'] = level;
      Reflect.deleteProperty(e, 'log.level');
    }
    const verb = textValue(e.verb);
    if (verb) e['event.action'] = `k8s_${verb}`;
    e['event.category'] = 'api';
    e['event.dataset'] = 'kubernetes.audit';
    e['cloud.provider'] = 'aws';
    e['orchestrator.type'] = 'kubernetes';
    const cluster = EKS_GROUP_RE.exec(logGroup)?.[1];
    if (cluster) e['orchestrator.cluster.name'] = cluster;
    if (verb !== 'create' && verb !== 'update' && verb !== 'patch') return;
    for (const key in e) {
      if (!key.startsWith('requestObject.')) continue;
      const value = e[key];
      if (value === true && PRIVILEGED_KEY.test(key)) e['kubernetes.pod.privileged'] = true;
      else if (value === true && HOST_NAMESPACE_KEY.test(key)) e['kubernetes.pod.host_namespace'] = true;
      else if (typeof value === 'string' && HOST_PATH_KEY.test(key)) e['kubernetes.pod.host_path'] = true;
      // A spec nested deeper than flattening goes (a CronJob's) is kept as JSON text.
      else if (typeof value === 'string' && value.includes('"privileged":true')) e['kubernetes.pod.privileged'] = true;
    }
  },
};
const EKS_GROUP_RE = /^\/aws\/eks\/([^/]{1,255})\/cluster$/;

// ------------------------------------------------------------------ RDS and Aurora database logs

/**
 * PostgreSQL's log line prefix on RDS and Aurora is fixed (`%t:%r:%u@%d:[%p]:`): the time, the
 * client `address(port)` (`[local]`, or nothing for the server's own processes), `user@database`,
 * the pid. The time and the address are the server's; the user and the database are what the
 * client sent, and may hold `:[1]:FATAL:  …`: patterns read the message from the last such
 * marker on the line, and the address before any of it.
 */
const PG_PREFIX = String.raw`^(?<timestamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC):(?:(?<source__address>[^\s()]{1,255})\((?<source__port>\d{1,5})\)|\[local\])?:`;
/** A PostgreSQL line whose message, after the last `:[pid]:` that fits, is `message`. */
const pgLine = (message: string) => String.raw`${PG_PREFIX}.{0,400}:\[(?<process__pid>\d{1,10})\]:${message}`;
/** MySQL 8 / 5.7 (`2025-03-03T04:10:01.123456Z 12 [Note] [MY-010926] [Server] `) and MariaDB (`2025-03-03 04:10:01 12 [Warning] `) error logs. */
const MYSQL_PREFIX = String.raw`^(?:(?<timestamp>\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:\.\d{1,6})?Z| \d\d:\d\d:\d\d))|\d{4}-\d\d-\d\d  \d:\d\d:\d\d) {1,2}(?<process__thread__id>\d{1,20}) \[(?<log__level>[A-Za-z]{1,10})\] (?:\[(?<error__code>MY-\d{6})\] \[(?<mysql__subsystem>\w{1,20})\] )?`;
/**
 * The MySQL audit log RDS and Aurora export to `/aws/rds/…/audit` (the MariaDB Audit Plugin on RDS
 * for MySQL and MariaDB, Advanced Auditing on Aurora MySQL): `time,server,user,host,connection,
 * query,OPERATION,database,object,retcode`, the time `20250303 04:10:01` on RDS and epoch
 * microseconds on Aurora; RDS's plugin adds a connection type or two empty fields at the end.
 * Nothing is escaped but the object (a query, quoted): the user and database a client sends sit
 * unescaped around the server's own fields. Those are found from the operation on: on a
 * connection's line `CONNECT,` (or FAILED_/DIS-) appears once, and the address, connection and
 * query ids just before it are the server's. A line holding it twice holds a client's copy.
 */
const MYSQL_AUDIT_HEAD = String.raw`^(?<timestamp>\d{8} \d\d:\d\d:\d\d|\d{16}),(?<host__name>[^,]{1,255}),`;
/** What RDS's plugin writes after the return code: a connection type or empty fields (letters only: never a client's digits). */
const MYSQL_AUDIT_TRAILER = '(?:,[A-Za-z_/ ]{0,20}){0,2}$';
// A table event (READ, WRITE, CREATE, ALTER, RENAME, DROP) ends with its object and an empty
// return code: the plugin writes them as the table is opened, before there is one.
const MYSQL_AUDIT_TAIL = String.raw`(?<db__return_code>\d{1,10})?${MYSQL_AUDIT_TRAILER}`;
/** What connectionFields reads; the subscription filter must not look for them in a line as they are. */
const MYSQL_CONNECTION_FIELDS = ['user.name', 'source.address', 'db.session.id', 'mysql.audit.operation', 'db.name', 'db.return_code'];
// The server's fields before the operation (a comma-free address, the connection and query ids).
const CONNECTION_OPERATION_RE = /,(\d{1,20}),\d{1,20},(FAILED_CONNECT|CONNECT|DISCONNECT),/;
const CONNECTION_END_RE = new RegExp(String.raw`,(\d{1,10})${MYSQL_AUDIT_TRAILER}`);

const mysqlAudit: Record<string, FieldValue> = { 'db.system': 'mysql', 'event.dataset': 'mysql.audit' };
/** MySQL's "Access denied" (a wrong password, or a user that does not exist): the return code of a guess. */
const MYSQL_ACCESS_DENIED = 1045;
const RDS_PG_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC:/;
const RDS_MYSQL_RE =
  /^\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\d\.\d{6}Z| {1,2}\d{1,2}:\d\d:\d\d) {1,2}\d{1,20} \[(?:Note|Warning|ERROR|Error|System)\] /;
const postgres = (action?: string, outcome?: 'success' | 'failure'): Record<string, FieldValue> => ({
  'db.system': 'postgresql',
  ...(action ? { 'event.category': 'authentication', 'event.action': action } : {}),
  ...(outcome ? { 'event.outcome': outcome } : {}),
});

const RDS: BuiltinSource = {
  definition: withParsers(['rds'], base('rds', 'Amazon RDS and Aurora database logs: PostgreSQL, MySQL and MariaDB', 'text')),
  patterns: [
    {
      name: 'rds_postgresql_auth_failed',
      literal: 'password authentication failed for user',
      pattern: pgLine(`FATAL:  password authentication failed for user "(?<user__name>.{0,200})"$`),
      fields: postgres('db_login', 'failure'),
    },
    {
      // Refused before any password (no pg_hba.conf line for it, e.g. without TLS where TLS is forced): a connection, not a guess.
      name: 'rds_postgresql_no_hba_entry',
      literal: 'no pg_hba.conf entry',
      pattern: pgLine(
        String.raw`FATAL:  no pg_hba.conf entry for host "[^"]{0,255}", user "(?<user__name>.{0,200})", database "(?<db__name>.{0,200})", (?<tls__mode>[\w ]{1,40})$`,
      ),
      fields: postgres('db_connection_refused', 'failure'),
    },
    {
      // Logged when the log_connections parameter is on (off by default).
      name: 'rds_postgresql_connection_authorized',
      literal: 'connection authorized: ',
      pattern: pgLine(String.raw`LOG:  connection authorized: user=(?<user__name>\S{1,200}) database=(?<db__name>\S{1,200})`),
      fields: postgres('db_login', 'success'),
    },
    {
      name: 'rds_postgresql',
      literal: ' UTC:',
      pattern: String.raw`${PG_PREFIX}.{0,400}?:\[(?<process__pid>\d{1,10})\]:(?<log__level>[A-Z]{3,10}):  (?<message>[\s\S]*)$`,
      fields: postgres(),
    },
    {
      // The user is what the client sent, and may hold `'@'`: the address is the last `'@'…'` of the line, the server's.
      name: 'rds_mysql_access_denied',
      literal: 'Access denied for user',
      pattern: String.raw`${MYSQL_PREFIX}Access denied for user '(?<user__name>.{0,200})'@'(?<source__address>[^']{0,255})' \(using password: (?<db__password_used>YES|NO)\)$`,
      fields: { 'db.system': 'mysql', 'event.category': 'authentication', 'event.action': 'db_login', 'event.outcome': 'failure' },
    },
    {
      // A connection opened, refused or closed: read in code (connectionFields), from the operation out.
      name: 'rds_mysql_audit_connect',
      literal: 'CONNECT,',
      once: 'CONNECT,',
      pattern: String.raw`${MYSQL_AUDIT_HEAD}(?<mysql__audit__connection>[^\n]{1,16384})$`,
      fields: mysqlAudit,
    },
    {
      // A connection's line with a second `CONNECT,` in what the client sent: which address the server
      // wrote cannot be told, and someone is writing into the database's audit log.
      name: 'rds_mysql_audit_forged',
      literal: 'CONNECT,',
      twice: 'CONNECT,',
      pattern: MYSQL_AUDIT_HEAD,
      fields: { ...mysqlAudit, 'event.action': 'log_injection', 'event.outcome': 'failure' },
    },
    {
      // Queries and table events of an authenticated session (the user is the server's account name).
      name: 'rds_mysql_audit',
      pattern: String.raw`${MYSQL_AUDIT_HEAD}(?<user__name>[^,]{0,200}),(?<source__address>[^,]{0,255}),(?<db__session__id>\d{1,20}),(?<mysql__audit__query_id>\d{1,20}),(?<mysql__audit__operation>[A-Z_]{1,40}),(?<db__name>[^,]{0,200}),(?:'(?<db__statement>(?:[^'\\]|\\.){0,16384})'|(?<mysql__audit__object>[^,']{0,255})),${MYSQL_AUDIT_TAIL}`,
      fields: mysqlAudit,
    },
    {
      name: 'rds_mysql',
      literal: '] ',
      pattern: String.raw`${MYSQL_PREFIX}(?<message>[\s\S]*)$`,
      fields: { 'db.system': 'mysql' },
    },
  ],
  recognize: (l) => RDS_PG_RE.test(l) || RDS_MYSQL_RE.test(l),
  recognizedBy: [' UTC:', '[Note] ', '[Warning] ', '[ERROR] ', '[Error] ', '[System] '],
  derives: [
    'db.instance.id',
    'cloud.provider',
    'cloud.service.name',
    'event.category',
    'event.action',
    'event.outcome',
    ...MYSQL_CONNECTION_FIELDS,
  ],
  derive: (e, logGroup) => {
    // `/aws/rds/instance/<id>/<log>` or `/aws/rds/cluster/<id>/<log>`: which database.
    const m = RDS_GROUP_RE.exec(logGroup);
    if (m?.[1]) e['db.instance.id'] = m[1];
    e['cloud.provider'] = 'aws';
    e['cloud.service.name'] = 'rds';
    if (e['event.dataset'] !== 'mysql.audit' || e['event.action'] !== undefined) return;
    const connection = e['mysql.audit.connection'];
    if (typeof connection === 'string') {
      Reflect.deleteProperty(e, 'mysql.audit.connection'); // the line itself, kept as the message
      connectionFields(connection, e);
    }
    auditAction(e);
  },
};
const RDS_GROUP_RE = /^\/aws\/rds\/(?:instance|cluster|proxy)\/([^/]{1,255})\//;

/**
 * A connection record after its time and server: `user,host,connection,query,OPERATION,database,,
 * retcode[,type]`, the user and database as the client sent them (commas and all). `once` has made
 * the operation's text unique on the line, so the fields just before it are the server's: the
 * address is the last comma-free field before the ids, the user whatever precedes it; the return
 * code is the last number, and the database what lies between.
 */
function connectionFields(record: string, e: Record<string, FieldValue>): void {
  const op = CONNECTION_OPERATION_RE.exec(record);
  if (!op) return;
  const before = record.slice(0, op.index);
  const comma = before.lastIndexOf(',');
  if (comma === -1) return;
  const user = before.slice(0, comma);
  const address = before.slice(comma + 1);
  if (user !== '') e['user.name'] = user;
  if (address !== '') e['source.address'] = address;
  e['db.session.id'] = op[1] ?? '';
  e['mysql.audit.operation'] = op[2] ?? '';
  const after = record.slice(op.index + op[0].length);
  const end = CONNECTION_END_RE.exec(after);
  if (!end) return;
  e['db.return_code'] = Number(end[1]);
  // Then `database,object`: a connection's object is empty.
  const database = after.slice(0, end.index).replace(/,$/, '');
  if (database !== '') e['db.name'] = database;
}

/**
 * What a MySQL audit record did. A connection refused with "Access denied" (1045) is a password
 * guess (`db_login`, as the error log's line is); refused for another reason — no access to the
 * database named (1044, the password was right), a host not allowed, TLS required, too many
 * connections — it is a connection, not a guess. Other records are `db_` and their operation.
 */
/** The audit plugin's table events: written with an empty return code. */
const MYSQL_TABLE_OPERATIONS: ReadonlySet<string> = new Set(['READ', 'WRITE', 'CREATE', 'ALTER', 'RENAME', 'DROP']);

function auditAction(e: Record<string, FieldValue>): void {
  const operation = textValue(e['mysql.audit.operation']);
  const code = e['db.return_code'];
  if (operation === undefined) return;
  if (typeof code !== 'number') {
    // A table event has no return code; a connection or query cut short says nothing.
    if (!MYSQL_TABLE_OPERATIONS.has(operation)) return;
    e['event.category'] = 'database';
    e['event.action'] = `db_${operation.toLowerCase()}`;
    return;
  }
  if (operation === 'CONNECT' || operation === 'FAILED_CONNECT') {
    e['event.category'] = 'authentication';
    if (code === 0 && operation === 'CONNECT') {
      e['event.action'] = 'db_login';
      e['event.outcome'] = 'success';
    } else {
      e['event.action'] = code === MYSQL_ACCESS_DENIED ? 'db_login' : 'db_connection_refused';
      e['event.outcome'] = 'failure';
    }
    return;
  }
  e['event.category'] = 'database';
  e['event.action'] = `db_${operation.toLowerCase()}`;
  e['event.outcome'] = code === 0 ? 'success' : 'failure';
}

/** In the order recognition tries them (each excludes the others' markers anyway). */
export const VPC_FLOW_PATTERNS = VPC_FLOW.patterns;
export const LAMBDA_PATTERNS = LAMBDA.patterns;
export const RDS_PATTERNS = RDS.patterns;

export const BUILTIN_SOURCES: readonly BuiltinSource[] = [
  CLOUDTRAIL,
  WAF,
  API_GATEWAY,
  RESOLVER_QUERY,
  KUBERNETES_AUDIT,
  LAMBDA,
  VPC_FLOW,
  RDS,
];
export const BUILTIN_SOURCE_NAMES = BUILTIN_SOURCES.map((s) => s.definition.name);
