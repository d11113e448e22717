import { type FieldValue, textValue } from '../../schema/event';
import { AWS_JSON_MARKERS_RE, type BuiltinSource, base, has, withParsers } from './builtin-source';

/** Lambda function logs: the runtime's platform lines (START, END, REPORT, timeouts) in text or JSON, and the function's own lines in either log format. */

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

export const LAMBDA: BuiltinSource = {
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
