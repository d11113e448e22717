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

/** Where syslog from a Linux host usually lands (the CloudWatch agent's common log files). */
const LINUX_SYSLOG_GROUPS = [
  '/var/log/messages',
  '/var/log/syslog',
  '/var/log/secure',
  '/var/log/auth.log',
  '/var/log/cron',
  '/var/log/vsftpd.log',
  '/var/log/clamav/*',
  '/var/log/guacamole*',
  '/app/linux/*',
];

/** Where the Linux audit log lands (rules/sources/linux-auditd.yml). */
const AUDITD_GROUPS = ['/var/log/audit/audit.log', '*/audit/audit.log', '/app/auditd/*'];

/** Web access logs: the W3C/proxy names Sigma uses, onto the fields the access-log parser produces. */
const webFields = {
  'c-ip': 'source.ip',
  'cs-method': 'http.request.method',
  'c-uri': 'url.original',
  'cs-uri': 'url.original',
  'cs-uri-stem': 'url.path',
  'c-uri-stem': 'url.path',
  'cs-uri-query': 'url.query',
  'c-uri-query': 'url.query',
  'c-uri-extension': 'url.extension',
  'sc-status': 'http.response.status_code',
  'cs-user-agent': 'user_agent.original',
  'c-useragent': 'user_agent.original',
  'cs-referrer': 'http.request.referrer',
  'cs-referer': 'http.request.referrer',
  'cs-username': 'user.name',
  'cs-version': 'http.version',
  'cs-host': 'url.domain',
  'r-dns': 'url.domain',
  dst_ip: 'destination.ip',
};

/**
 * The shipped Sigma field mappings, onto the fields the shipped sources produce (rules/sources
 * and the built-ins): Linux auth / sshd and other syslog services (keyword rules search the raw
 * line), Linux auditd, web server and proxy access logs, Apache/nginx error logs and AWS
 * CloudTrail. Entries are tried in order; extend or override with `detect import-sigma --mapping
 * <file>` (a YAML `sigmaMapping:` list, tried first).
 */
export const DEFAULT_SIGMA_MAPPING: SigmaLogsource[] = [
  {
    name: 'linux-sshd',
    match: { product: 'linux', service: 'sshd' },
    logGroups: ['/var/log/secure', '/var/log/auth.log', '/sentinel-demo/bastion/*', '/app/bastion/*'],
    fields: sshFields,
    keywordField: 'event.original',
  },
  {
    name: 'linux-auth',
    match: { product: 'linux', service: 'auth' },
    logGroups: ['/var/log/secure', '/var/log/auth.log', '/sentinel-demo/bastion/*', '/app/bastion/*'],
    fields: sshFields,
    keywordField: 'event.original',
  },
  {
    // The auditd parser keeps every record field under auditd.* (type, a0…, exe, comm, key, name,
    // SYSCALL in the enriched format), with the records of one event joined by serial.
    name: 'linux-auditd',
    match: { product: 'linux', service: 'auditd' },
    logGroups: AUDITD_GROUPS,
    fields: { '*': 'auditd.*' },
    keywordField: 'event.original',
  },
  {
    // Process creation from the Linux audit log (an execve audit rule: `-a always,exit -F
    // arch=b64 -S execve`): one EXECVE record per program started, carrying — joined by serial —
    // its SYSCALL record's executable and ids and its CWD record's directory. auditd records the
    // parent's id only, not its image or command line: rules on those are skipped, with the reason.
    name: 'linux-auditd-process-creation',
    match: { product: 'linux', category: 'process_creation' },
    logGroups: AUDITD_GROUPS,
    conditions: { 'auditd.type': 'EXECVE' },
    fields: {
      Image: 'process.executable',
      CommandLine: 'process.command_line',
      CurrentDirectory: 'auditd.cwd',
      ProcessId: 'process.pid',
      ParentProcessId: 'auditd.ppid',
    },
    keywordField: 'event.original',
  },
  {
    // Files created, from the same log (an audit watch: `-w /etc/cron.d -p wa`): the PATH record
    // of the name created. auditd writes the name as the program passed it, which can be relative
    // to its CWD record's directory: a rule on an absolute prefix misses `cd /etc/cron.d; touch x`.
    name: 'linux-auditd-file-created',
    match: { product: 'linux', category: 'file_event' },
    logGroups: AUDITD_GROUPS,
    conditions: { 'auditd.type': 'PATH', 'auditd.nametype': 'CREATE' },
    fields: { TargetFilename: 'auditd.name', Image: 'process.executable' },
    keywordField: 'event.original',
  },
  {
    // Connections named by the host they go to (DestinationHostname) are read from Route 53
    // Resolver's query log: the lookup that comes before the connection, by any instance or task
    // of the VPC, whatever its log group. The audit log names no connection's host; rules on the
    // connecting program, port or direction (Sysmon for Linux's other fields) are skipped, with the reason.
    name: 'linux-network-connection-dns',
    match: { product: 'linux', category: 'network_connection' },
    conditions: { 'event.dataset': 'aws.route53_resolver' },
    fields: { DestinationHostname: 'dns.question.name' },
    keywordField: 'event.original',
  },
  {
    // Linux rules that are only keywords (a product and maybe a syslog service, no category): the raw line.
    name: 'linux-syslog-keywords',
    match: { product: 'linux', category: null },
    logGroups: LINUX_SYSLOG_GROUPS,
    fields: {},
    keywordField: 'event.original',
  },
  {
    name: 'webserver',
    match: { category: 'webserver' },
    logGroups: ['/sentinel-demo/web/*', '/aws/nginx/*', '/app/web/*'],
    fields: webFields,
    keywordField: 'event.original',
  },
  {
    // Proxy rules read the same request fields as web server rules; a reverse proxy's access log has them.
    name: 'proxy',
    match: { category: 'proxy' },
    logGroups: ['/sentinel-demo/web/*', '/aws/nginx/*', '/app/web/*', '/app/proxy/*'],
    fields: webFields,
    keywordField: 'event.original',
  },
  {
    name: 'web-error-logs',
    match: { service: 'apache', category: null },
    logGroups: ['/var/log/apache2/error.log', '/var/log/httpd/error_log', '/app/web/*error*'],
    fields: {},
    keywordField: 'event.original',
  },
  {
    name: 'nginx-error-logs',
    match: { service: 'nginx', category: null },
    logGroups: ['/var/log/nginx/error.log', '/app/web/*error*'],
    fields: {},
    keywordField: 'event.original',
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
      'userIdentity.arn': 'userIdentity.arn',
      'userIdentity.type': 'user.type',
      'userIdentity.userName': 'userIdentity.userName',
      'userIdentity.*': 'userIdentity.*',
      userAgent: 'user_agent.original',
      errorCode: 'error.code',
      errorMessage: 'error.message',
      awsRegion: 'cloud.region',
      recipientAccountId: 'cloud.account.id',
      // Sigma's CloudTrail rules use `status: success|failure` for the call's outcome.
      status: 'event.outcome',
      // The whole object as JSON text (the cloudtrail source keeps it beside the flattened fields).
      requestParameters: 'requestParameters',
      responseElements: 'responseElements',
      additionalEventData: 'additionalEventData',
      'requestParameters.*': 'requestParameters.*',
      'responseElements.*': 'responseElements.*',
      'additionalEventData.*': 'additionalEventData.*',
      'serviceEventDetails.*': 'serviceEventDetails.*',
    },
    keywordField: 'event.original',
  },
].map((m) => SigmaLogsource.parse(m));
