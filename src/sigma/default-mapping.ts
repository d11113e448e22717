import { SigmaLogsource } from './mapping';

const sshFields = {
  User: 'user.name',
  user: 'user.name',
  TargetUserName: 'user.name',
  SourceIp: 'source.ip',
  src_ip: 'source.ip',
  IpAddress: 'source.ip',
  Hostname: 'host.name',
  host: 'host.name',
  ComputerName: 'host.name',
  CommandLine: 'process.command_line',
  ProcessName: 'process.name',
  Image: 'process.name',
  pid: 'process.pid',
  message: 'message',
};

/**
 * The shipped Sigma field mappings: Linux auth / sshd, web server access logs and AWS
 * CloudTrail, onto the fields the shipped sources produce (rules/sources). Extend or override
 * with `detect import-sigma --mapping <file>` (a YAML `sigmaMapping:` list, tried first).
 */
export const DEFAULT_SIGMA_MAPPING: SigmaLogsource[] = [
  {
    name: 'linux-sshd',
    match: { product: 'linux', service: 'sshd' },
    logGroups: ['/var/log/secure', '/var/log/auth.log', '/sentinel-demo/bastion/*', '/app/bastion/*'],
    fields: sshFields,
    keywordField: 'message',
  },
  {
    name: 'linux-auth',
    match: { product: 'linux', service: 'auth' },
    logGroups: ['/var/log/secure', '/var/log/auth.log', '/sentinel-demo/bastion/*', '/app/bastion/*'],
    fields: sshFields,
    keywordField: 'message',
  },
  {
    name: 'webserver',
    match: { category: 'webserver' },
    logGroups: ['/sentinel-demo/web/*', '/aws/nginx/*', '/app/web/*'],
    fields: {
      'c-ip': 'source.ip',
      'cs-method': 'http.request.method',
      'c-uri': 'url.original',
      'cs-uri': 'url.original',
      'cs-uri-stem': 'url.path',
      'c-uri-stem': 'url.path',
      'cs-uri-query': 'url.original',
      'c-uri-query': 'url.original',
      'sc-status': 'http.response.status_code',
      'cs-user-agent': 'user_agent.original',
      'c-useragent': 'user_agent.original',
      'cs-referrer': 'http.request.referrer',
      'cs-username': 'user.name',
      'cs-version': 'http.version',
    },
    keywordField: 'message',
  },
  {
    name: 'aws-cloudtrail',
    match: { product: 'aws', service: 'cloudtrail' },
    logGroups: ['aws-cloudtrail-logs-*', '/aws/cloudtrail/*'],
    fields: {
      eventName: 'event.action',
      eventSource: 'event.provider',
      eventType: 'event.kind',
      sourceIPAddress: 'source.ip',
      'userIdentity.arn': 'user.name',
      'userIdentity.type': 'user.type',
      'userIdentity.userName': 'user.name',
      'userIdentity.sessionContext.sessionIssuer.userName': 'user.name',
      userAgent: 'user_agent.original',
      errorCode: 'error.code',
      errorMessage: 'error.message',
      awsRegion: 'cloud.region',
      recipientAccountId: 'cloud.account.id',
      'requestParameters.*': 'requestParameters.*',
      'responseElements.*': 'responseElements.*',
      'additionalEventData.*': 'additionalEventData.*',
    },
    keywordField: 'message',
  },
].map((m) => SigmaLogsource.parse(m));
