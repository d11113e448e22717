import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { SkipLedger } from '../src/decode/skips';
import { AWS_LOG_GROUPS, cloudTrailRecord, flowRecord } from '../src/demo/aws';
import { generateDemo } from '../src/demo/generate';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { normalizePayload, processPayload } from '../src/engine/pipeline';
import { compileAccessLogFormat } from '../src/parse/access-log-format';
import { AWS_JSON_MARKERS_RE, BUILTIN_SOURCES } from '../src/parse/aws-sources';
import { Normalizer } from '../src/parse/normalize';
import { XML_ELEMENT_RE } from '../src/parse/xml-elements';
import { checkRegexSafety } from '../src/rules/regex-safety';
import type { Alert } from '../src/schema/alert';
import { SourceDefinition } from '../src/schema/rule';
import { eventBridgeLine, FLOW_STREAM, linesPayload, normalizedLine, realLogLines, T0, TRAIL_STREAM } from './helpers';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const UUID = '8f5d6c1e-1a2b-4c3d-9e8f-0123456789ab';

/** Lines written from AWS's documented record formats, under log-group names no source file mentions. */
const FIXTURES: [string, string, string, Record<string, unknown>][] = [
  [
    'cloudtrail',
    'org-audit/management-events',
    '{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:bob","arn":"arn:aws:sts::111122223333:assumed-role/Admin/bob","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","userName":"Admin"}}},"eventTime":"2025-03-03T03:12:40Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","userAgent":"aws-cli/2","requestParameters":{"userName":"svc"},"responseElements":{"accessKey":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","status":"Active"}},"eventType":"AwsApiCall","recipientAccountId":"111122223333"}',
    {
      'user.name': 'Admin/bob',
      'event.action': 'CreateAccessKey',
      'event.provider': 'iam.amazonaws.com',
      'event.category': 'iam',
      'event.outcome': 'success',
      'source.ip': '203.0.113.5',
      'cloud.account.id': '111122223333',
      'cloud.region': 'us-east-1',
      '@timestamp': Date.parse('2025-03-03T03:12:40Z'),
    },
  ],
  [
    'cloudtrail',
    'security/trail',
    '{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2025-03-03T03:12:40Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.1","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333","errorMessage":"Failed authentication"}',
    { 'user.name': 'root', 'event.category': 'authentication', 'event.outcome': 'failure' },
  ],
  [
    'vpcflow',
    'vpc/prod-flows',
    '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
    {
      'source.ip': '172.31.16.139',
      'destination.ip': '172.31.16.21',
      'source.port': 20641,
      'destination.port': 22,
      'network.transport': 'tcp',
      'event.action': 'accept',
      'event.outcome': 'success',
      'cloud.account.id': '123456789010',
      '@timestamp': 1418530010000,
    },
  ],
  [
    'vpcflow',
    'vpc/prod-flows',
    '2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA',
    { 'vpcflow.log_status': 'NODATA' },
  ],
  [
    'lambda',
    '/aws/lambda/checkout-api',
    `REPORT RequestId: ${UUID}\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 156.82 ms`,
    { 'faas.name': 'checkout-api', 'event.action': 'lambda_report', 'faas.duration_ms': 102.25, 'faas.max_memory_used_mb': 70 },
  ],
  [
    'lambda',
    '/aws/lambda/checkout-api',
    `2025-03-03T03:12:43.120Z ${UUID} Task timed out after 3.00 seconds`,
    { 'event.action': 'lambda_timeout', 'log.level': 'error', 'faas.execution': UUID },
  ],
  [
    'lambda',
    '/aws/lambda/checkout-api',
    `2025-03-03T03:12:41.001Z\t${UUID}\tERROR\tInvoke Error {"errorType":"TypeError"}`,
    { 'log.level': 'error', 'faas.name': 'checkout-api' },
  ],
  [
    'lambda',
    '/aws/lambda/py-worker',
    `[ERROR]\t2025-03-03T03:12:41.001Z\t${UUID}\tKeyError: 'order'`,
    { 'log.level': 'error', 'faas.name': 'py-worker' },
  ],
  [
    'lambda',
    '/aws/lambda/checkout-api',
    `RequestId: ${UUID} Error: Runtime exited with error: signal: killed\nRuntime.ExitError`,
    { 'event.action': 'lambda_out_of_memory' },
  ],
  [
    'lambda',
    '/aws/lambda/checkout-api',
    'INIT_REPORT Init Duration: 1023.12 ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError',
    { 'event.action': 'lambda_init_error', 'error.type': 'Runtime.ImportModuleError' },
  ],
  [
    'lambda',
    '/aws/lambda/checkout-api',
    `{"time":"2025-03-03T03:12:44.000Z","type":"platform.report","record":{"requestId":"${UUID}","metrics":{"durationMs":3000.0,"billedDurationMs":3000,"memorySizeMB":128,"maxMemoryUsedMB":71},"status":"timeout"}}`,
    { 'event.action': 'lambda_timeout', 'faas.status': 'timeout' },
  ],
  [
    'lambda',
    '/aws/lambda/checkout-api',
    `{"timestamp":"2025-03-03T03:12:44.000Z","level":"ERROR","requestId":"${UUID}","message":"payment failed"}`,
    { 'log.level': 'error', 'faas.execution': UUID },
  ],
  [
    // A platform record of the JSON log format, in a log group of the function's own choosing: no request id to go by.
    'lambda',
    'payments/fn-logs',
    '{"time":"2025-03-03T03:12:40.000Z","type":"platform.initRuntimeDone","record":{"initializationType":"on-demand","phase":"init","status":"failure","errorType":"Runtime.ImportModuleError"}}',
    { 'event.action': 'lambda_init_error', 'log.level': 'error', 'event.category': 'process' },
  ],
  [
    // Powertools for AWS Lambda's logger, in a log group of the function's own choosing.
    'lambda',
    'payments/fn-logs',
    `{"level":"ERROR","message":"payment failed","sampling_rate":0,"service":"checkout","timestamp":"2025-03-03T03:12:41.001Z","xray_trace_id":"1-67c5a1b2-0a1b2c3d4e5f","cold_start":false,"function_arn":"arn:aws:lambda:us-east-1:111122223333:function:checkout-api","function_memory_size":"128","function_name":"checkout-api","function_request_id":"${UUID}","error":{"name":"Error","message":"card declined"}}`,
    {
      'faas.name': 'checkout-api',
      'faas.execution': UUID,
      'log.level': 'error',
      'service.name': 'checkout',
      'trace.id': '1-67c5a1b2-0a1b2c3d4e5f',
      '@timestamp': Date.parse('2025-03-03T03:12:41.001Z'),
    },
  ],
  [
    'apigateway',
    'api/prod-access',
    '{"requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","ip":"198.51.100.7","requestTime":"03/Mar/2025:03:12:40 +0000","httpMethod":"POST","resourcePath":"/orders","status":"503","protocol":"HTTP/1.1","responseLength":"88"}',
    {
      'source.ip': '198.51.100.7',
      'http.response.status_code': 503,
      'http.request.method': 'POST',
      'url.path': '/orders',
      '@timestamp': Date.parse('2025-03-03T03:12:40Z'),
    },
  ],
  [
    'apigateway',
    'http-api/logs',
    '{"requestId":"abc=","sourceIp":"198.51.100.8","requestTimeEpoch":1740971560000,"httpMethod":"GET","routeKey":"GET /items","status":200,"protocol":"HTTP/1.1"}',
    { 'source.ip': '198.51.100.8', 'http.route': 'GET /items', 'http.response.status_code': 200 },
  ],
  // The text presets of the console, the docs and CDK, REST and HTTP APIs.
  [
    'apigateway',
    'rest-api/clf',
    '198.51.100.7 - - [03/Mar/2025:03:12:40 +0000] "POST /orders/{id} HTTP/1.1" 403 42 c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    {
      'source.ip': '198.51.100.7',
      'http.request.method': 'POST',
      'url.path': '/orders/{id}',
      'http.response.status_code': 403,
      'http.request.id': 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      'event.dataset': 'aws.apigateway',
      '@timestamp': Date.parse('2025-03-03T03:12:40Z'),
    },
  ],
  [
    'apigateway',
    'rest-api/clf-extended',
    'JRzEqh3zvHcEMfA= 198.51.100.7 AIDAEXAMPLE bob [03/Mar/2025:03:12:40 +0000] "GET /orders HTTP/1.1" 200 - c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    { 'source.ip': '198.51.100.7', 'user.name': 'bob', 'http.response.status_code': 200, 'event.dataset': 'aws.apigateway' },
  ],
  [
    'apigateway',
    'http-api/clf',
    '198.51.100.8 - - [03/Mar/2025:03:12:40 +0000] "GET GET /pets HTTP/1.1" 401 18 JRzEqh3zvHcEMfA=',
    { 'source.ip': '198.51.100.8', 'http.route': 'GET /pets', 'http.response.status_code': 401, 'http.request.id': 'JRzEqh3zvHcEMfA=' },
  ],
  [
    'apigateway',
    'rest-api/csv',
    '198.51.100.7,-,-,03/Mar/2025:03:12:40 +0000,POST,/login,HTTP/1.1,401,52,c6af9ac6-7b61-11e6-9a41-93e8deadbeef,JRzEqh3zvHcEMfA=',
    { 'source.ip': '198.51.100.7', 'url.path': '/login', 'http.response.status_code': 401, 'event.dataset': 'aws.apigateway' },
  ],
  [
    'apigateway',
    'http-api/csv',
    '198.51.100.8,03/Mar/2025:03:12:40 +0000,GET,$default,HTTP/1.1,404,0,JRzEqh3zvHcEMfA=',
    {
      'source.ip': '198.51.100.8',
      'http.route': '$default',
      'http.response.status_code': 404,
      '@timestamp': Date.parse('2025-03-03T03:12:40Z'),
    },
  ],
  [
    'apigateway',
    'rest-api/xml',
    '<request id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef"> <extendedRequestId>JRzEqh3zvHcEMfA=</extendedRequestId> <ip>198.51.100.7</ip> <caller>-</caller> <user>-</user> <requestTime>03/Mar/2025:03:12:40 +0000</requestTime> <httpMethod>POST</httpMethod> <resourcePath>/login</resourcePath> <status>401</status> <protocol>HTTP/1.1</protocol> <responseLength>52</responseLength> </request>',
    {
      'source.ip': '198.51.100.7',
      'http.request.method': 'POST',
      'url.path': '/login',
      'http.response.status_code': 401,
      'http.request.id': 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      '@timestamp': Date.parse('2025-03-03T03:12:40Z'),
    },
  ],
  [
    'apigateway',
    'http-api/xml',
    '<request id="JRzEqh3zvHcEMfA="> <ip>198.51.100.8</ip> <requestTime>03/Mar/2025:03:12:40 +0000</requestTime> <httpMethod>GET</httpMethod> <routeKey>GET /pets</routeKey> <status>200</status> <protocol>HTTP/1.1</protocol> <responseLength>18</responseLength> </request>',
    { 'source.ip': '198.51.100.8', 'http.route': 'GET /pets', 'http.response.status_code': 200 },
  ],
  [
    'waf',
    'aws-waf-logs-shop',
    '{"timestamp":1740971560000,"formatVersion":1,"webaclId":"arn:aws:wafv2:us-east-1:111122223333:regional/webacl/prod/abc","terminatingRuleId":"AWS-AWSManagedRulesSQLiRuleSet","terminatingRuleType":"MANAGED_RULE_GROUP","action":"BLOCK","httpSourceName":"ALB","httpRequest":{"clientIp":"203.0.113.66","country":"NL","headers":[{"name":"Host","value":"shop.example.com"}],"uri":"/search","args":"q=1","httpVersion":"HTTP/1.1","httpMethod":"GET","requestId":"1-abc"}}',
    {
      'source.ip': '203.0.113.66',
      'source.geo.country_iso_code': 'NL',
      'event.action': 'waf_block',
      'rule.name': 'AWS-AWSManagedRulesSQLiRuleSet',
    },
  ],
  [
    'network-firewall',
    '/aws/network-firewall/alert',
    '{"firewall_name":"egress-fw","availability_zone":"us-east-1a","event_timestamp":"1740971560","event":{"timestamp":"2025-03-03T03:12:40.598481+0000","flow_id":1582438383425873,"event_type":"alert","src_ip":"10.0.3.25","src_port":49152,"dest_ip":"198.51.100.99","dest_port":443,"proto":"TCP","app_proto":"tls","tls":{"sni":"cdn.bad.example"},"alert":{"action":"allowed","signature_id":2027865,"rev":3,"signature":"ET MALWARE Cobalt Strike Beacon Observed","category":"A Network Trojan was detected","severity":1}}}',
    {
      '@timestamp': Date.parse('2025-03-03T03:12:40.598Z'),
      'event.dataset': 'aws.networkfirewall',
      'event.kind': 'alert',
      'event.action': 'nfw_allowed',
      'event.outcome': 'success',
      'event.severity': 1,
      'source.ip': '10.0.3.25',
      'destination.ip': '198.51.100.99',
      'destination.port': 443,
      'network.transport': 'tcp',
      'tls.client.server_name': 'cdn.bad.example',
      'rule.name': 'ET MALWARE Cobalt Strike Beacon Observed',
      'rule.id': 2027865,
      'observer.name': 'egress-fw',
    },
  ],
  [
    // Its flow records (netflow): one direction of a flow each, no alert.
    'network-firewall',
    'nfw/flows',
    '{"firewall_name":"egress-fw","availability_zone":"us-east-1b","event_timestamp":"1601587565","event":{"timestamp":"2020-10-01T21:26:05.007515+0000","flow_id":1770453319291727,"event_type":"netflow","src_ip":"45.129.33.153","src_port":47047,"dest_ip":"172.31.16.139","dest_port":16463,"proto":"TCP","netflow":{"pkts":1,"bytes":60,"start":"2020-10-01T21:25:04.070479+0000","end":"2020-10-01T21:25:04.070479+0000","age":0,"min_ttl":241,"max_ttl":241}}}',
    { 'event.action': 'nfw_flow', 'event.kind': 'event', 'network.bytes': 60, 'network.packets': 1, 'source.ip': '45.129.33.153' },
  ],
  [
    'guardduty',
    '/aws/events/guardduty',
    '{"version":"0","id":"c8c4daa7-a20c-2f03-0070-b7393dd542ad","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"111122223333","time":"2026-03-03T10:04:30Z","region":"us-east-1","resources":[],"detail":{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","partition":"aws","id":"2cb3f1a0d9e84c7b6a5f4e3d2c1b0a99","arn":"arn:aws:guardduty:us-east-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0/finding/2cb3f1a0d9e84c7b6a5f4e3d2c1b0a99","type":"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS","resource":{"resourceType":"AccessKey","accessKeyDetails":{"accessKeyId":"ASIAEXAMPLEKEY123456","principalId":"AROAEXAMPLEROLE12345:i-0a1b2c3d4e5f67890","userName":"web-server-role","userType":"AssumedRole"}},"service":{"serviceName":"guardduty","detectorId":"12abc34d567e8fa901bc2d34e56789f0","action":{"actionType":"AWS_API_CALL","awsApiCallAction":{"api":"ListBuckets","serviceName":"s3.amazonaws.com","callerType":"Remote IP","remoteIpDetails":{"ipAddressV4":"203.0.113.50","country":{"countryName":"Exampleland"}}}},"resourceRole":"ACTOR","additionalInfo":{},"eventFirstSeen":"2026-03-03T09:40:00.000Z","eventLastSeen":"2026-03-03T10:04:00.000Z","archived":false,"count":1},"severity":8,"createdAt":"2026-03-03T09:45:00.000Z","updatedAt":"2026-03-03T10:04:30.000Z","title":"Credentials for the EC2 instance role web-server-role used from a remote AWS account.","description":"Credentials for the EC2 instance role web-server-role used from a remote AWS account. More details in the GuardDuty console."}}',
    // The principal as CloudTrail names it: a session an instance's id names is its role.
    {
      '@timestamp': Date.parse('2026-03-03T10:04:30Z'),
      'event.dataset': 'aws.guardduty',
      'event.action': 'guardduty_finding',
      'event.kind': 'alert',
      'event.severity': 8,
      'rule.name': 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS',
      'rule.category': 'UnauthorizedAccess',
      'user.name': 'web-server-role',
      'source.ip': '203.0.113.50',
      'aws.access_key_id': 'ASIAEXAMPLEKEY123456',
      'cloud.account.id': '111122223333',
      'cloud.region': 'us-east-1',
    },
  ],
  [
    'guardduty',
    '/aws/events/guardduty-findings',
    '{"version":"0","id":"c8c4daa7-a20c-2f03-0070-b7393dd542ad","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"111122223333","time":"2026-03-03T10:04:30Z","region":"us-east-1","resources":[],"detail":{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","partition":"aws","id":"3dc4e2b1eaf95d8c7b6a5f4e3d2c1b00","arn":"arn:aws:guardduty:us-east-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0/finding/3dc4e2b1eaf95d8c7b6a5f4e3d2c1b00","type":"Backdoor:EC2/C&CActivity.B!DNS","resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0a1b2c3d4e5f67890","instanceType":"t3.micro","networkInterfaces":[{"privateIpAddress":"10.0.1.25","publicIp":"54.240.0.10"}]}},"service":{"serviceName":"guardduty","detectorId":"12abc34d567e8fa901bc2d34e56789f0","action":{"actionType":"DNS_REQUEST","dnsRequestAction":{"domain":"c2.bad.example","protocol":"UDP","blocked":false}},"resourceRole":"ACTOR","additionalInfo":{},"eventFirstSeen":"2026-03-03T09:40:00.000Z","eventLastSeen":"2026-03-03T10:04:00.000Z","archived":false,"count":1},"severity":8,"createdAt":"2026-03-03T09:45:00.000Z","updatedAt":"2026-03-03T10:04:30.000Z","title":"EC2 instance i-0a1b2c3d4e5f67890 is querying a domain name associated with a known command and control server.","description":"EC2 instance i-0a1b2c3d4e5f67890 is querying a domain name associated with a known command and control server. More details in the GuardDuty console."}}',
    {
      'host.name': 'i-0a1b2c3d4e5f67890',
      'cloud.instance.id': 'i-0a1b2c3d4e5f67890',
      'dns.question.name': 'c2.bad.example',
      'rule.category': 'Backdoor',
    },
  ],
  [
    'securityhub',
    '/aws/events/securityhub',
    '{"version":"0","id":"8e5622f9-d81c-4d81-612a-9319e7ee2506","detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","account":"111122223333","time":"2026-03-03T10:04:30Z","region":"us-east-1","resources":["arn:aws:securityhub:us-east-1::product/aws/guardduty/arn:aws:guardduty:us-east-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0/finding/2cb3f1a0d9e84c7b6a5f4e3d2c1b0a99"],"detail":{"findings":[{"SchemaVersion":"2018-10-08","Id":"arn:aws:guardduty:us-east-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0/finding/2cb3f1a0d9e84c7b6a5f4e3d2c1b0a99","ProductArn":"arn:aws:securityhub:us-east-1::product/aws/guardduty","ProductName":"GuardDuty","CompanyName":"AWS","Region":"us-east-1","GeneratorId":"arn:aws:guardduty:us-east-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0","AwsAccountId":"111122223333","Types":["TTPs/Initial Access/UnauthorizedAccess:IAMUser-InstanceCredentialExfiltration.OutsideAWS"],"FirstObservedAt":"2026-03-03T09:40:00.000Z","LastObservedAt":"2026-03-03T10:04:30.000Z","CreatedAt":"2026-03-03T09:40:00.000Z","UpdatedAt":"2026-03-03T10:04:30.000Z","Severity":{"Label":"HIGH","Normalized":70,"Product":8},"Title":"Credentials for the EC2 instance role web-server-role used from a remote AWS account.","Description":"Credentials for the EC2 instance role web-server-role used from a remote AWS account.","Action":{"ActionType":"AWS_API_CALL","AwsApiCallAction":{"Api":"ListBuckets","ServiceName":"s3.amazonaws.com","CallerType":"Remote IP","RemoteIpDetails":{"IpAddressV4":"203.0.113.50","Country":{"CountryName":"Exampleland"}}}},"ProductFields":{"aws/guardduty/service/action/actionType":"AWS_API_CALL","aws/guardduty/service/count":"1","aws/guardduty/service/archived":"false","aws/securityhub/ProductName":"GuardDuty","aws/securityhub/CompanyName":"Amazon"},"Resources":[{"Type":"AwsIamAccessKey","Id":"AWS::IAM::AccessKey:ASIAEXAMPLEKEY123456","Partition":"aws","Region":"us-east-1","Details":{"AwsIamAccessKey":{"PrincipalId":"AROAEXAMPLEROLE12345:i-0a1b2c3d4e5f67890","PrincipalType":"AssumedRole","PrincipalName":"web-server-role"}}}],"WorkflowState":"NEW","Workflow":{"Status":"NEW"},"RecordState":"ACTIVE"}]}}',
    // GuardDuty's finding through Security Hub: the principal as CloudTrail names it, the caller, a threat.
    {
      '@timestamp': Date.parse('2026-03-03T10:04:30Z'),
      'event.dataset': 'aws.securityhub',
      'event.action': 'securityhub_finding',
      'event.kind': 'alert',
      'event.category': 'threat',
      'rule.category': 'TTPs',
      'aws.securityhub.product': 'GuardDuty',
      'aws.securityhub.severity': 'HIGH',
      'aws.securityhub.live': true,
      'aws.securityhub.sample': false,
      'user.name': 'web-server-role',
      'source.ip': '203.0.113.50',
      'cloud.account.id': '111122223333',
      'cloud.region': 'us-east-1',
    },
  ],
  [
    'securityhub',
    '/aws/events/securityhub-findings',
    '{"version":"0","id":"8e5622f9-d81c-4d81-612a-9319e7ee2506","detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","account":"111122223333","time":"2026-03-03T10:04:30Z","region":"us-east-1","resources":["arn:aws:securityhub:us-east-1::product/aws/securityhub/arn:aws:securityhub:us-east-1:111122223333:security-control/S3.8/finding/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"],"detail":{"findings":[{"SchemaVersion":"2018-10-08","Id":"arn:aws:securityhub:us-east-1:111122223333:security-control/S3.8/finding/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b","ProductArn":"arn:aws:securityhub:us-east-1::product/aws/securityhub","ProductName":"Security Hub","CompanyName":"AWS","Region":"us-east-1","GeneratorId":"security-control/S3.8","AwsAccountId":"111122223333","Types":["Software and Configuration Checks/Industry and Regulatory Standards"],"FirstObservedAt":"2026-03-03T09:40:00.000Z","LastObservedAt":"2026-03-03T10:04:30.000Z","CreatedAt":"2026-03-03T09:40:00.000Z","UpdatedAt":"2026-03-03T10:04:30.000Z","Severity":{"Label":"CRITICAL","Normalized":90},"Title":"S3 general purpose buckets should block public access","Description":"This control checks whether an Amazon S3 general purpose bucket blocks public access.","ProductFields":{"aws/securityhub/ProductName":"Security Hub","aws/securityhub/CompanyName":"AWS"},"Resources":[{"Type":"AwsS3Bucket","Id":"arn:aws:s3:::acme-exports","Partition":"aws","Region":"us-east-1"}],"Compliance":{"Status":"FAILED","SecurityControlId":"S3.8"},"WorkflowState":"NEW","Workflow":{"Status":"NEW"},"RecordState":"ACTIVE"}]}}',
    // A failed control check: a weakness, about the bucket (no principal, no host but the resource).
    {
      'event.category': 'configuration',
      'rule.name': 'S3 general purpose buckets should block public access',
      'aws.securityhub.control': 'S3.8',
      'aws.securityhub.severity': 'CRITICAL',
      'aws.securityhub.live': true,
      'host.name': 'arn:aws:s3:::acme-exports',
    },
  ],
  [
    'securityhub',
    '/aws/events/securityhub-v2',
    '{"version":"0","id":"1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b","detail-type":"Findings Imported V2","source":"aws.securityhub","account":"111122223333","time":"2026-03-03T10:04:30Z","region":"us-east-1","resources":[],"detail":{"findings":[{"class_uid":2003,"class_name":"Compliance Finding","category_uid":2,"category_name":"Findings","activity_id":1,"activity_name":"Create","type_uid":200301,"severity_id":5,"severity":"Critical","status_id":1,"status":"New","time":1772532270000,"metadata":{"version":"1.5.0","product":{"name":"Security Hub","vendor_name":"AWS"}},"finding_info":{"uid":"arn:aws:securityhub:us-east-1:111122223333:security-control/S3.8/finding/0f1e2d3c","title":"S3 general purpose buckets should block public access","types":["Posture Management"]},"cloud":{"provider":"AWS","region":"us-east-1","account":{"uid":"111122223333"}},"resources":[{"type":"AWS::S3::Bucket","uid":"arn:aws:s3:::acme-exports","region":"us-east-1"}],"compliance":{"status":"Fail","status_id":3,"control":"S3.8"}}]}}',
    // The same check from the Security Hub of December 2025 (OCSF): the same fields.
    {
      'event.dataset': 'aws.securityhub',
      'event.category': 'configuration',
      'rule.name': 'S3 general purpose buckets should block public access',
      'aws.securityhub.control': 'S3.8',
      'aws.securityhub.severity': 'CRITICAL',
      'aws.securityhub.live': true,
      'host.name': 'arn:aws:s3:::acme-exports',
      'cloud.account.id': '111122223333',
    },
  ],
  [
    'health',
    '/aws/events/health',
    '{"version":"0","id":"6a7e8f9d-0c1b-4a2b-9c3d-4e5f6a7b8c9d","detail-type":"AWS Health Event","source":"aws.health","account":"111122223333","time":"2026-03-03T10:04:30Z","region":"us-east-1","resources":["AKIAEXAMPLEEXPOSED01"],"detail":{"eventArn":"arn:aws:health:global::event/RISK/AWS_RISK_CREDENTIALS_EXPOSED/AWS_RISK_CREDENTIALS_EXPOSED-Ex4mpl3Id01","service":"RISK","eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","eventTypeCategory":"issue","eventScopeCode":"ACCOUNT_SPECIFIC","communicationId":"3f1e9a0c2b7d4e5f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d","startTime":"Tue, 3 Mar 2026 10:03:54 GMT","endTime":"Tue, 17 Mar 2026 10:03:54 GMT","lastUpdatedTime":"Tue, 3 Mar 2026 10:03:55 GMT","statusCode":"open","eventRegion":"us-east-1","eventDescription":[{"language":"en_US","latestDescription":"Your AWS Account may be compromised! We have opened a Support Case with more details. Please visit the AWS Support Center to review the case and take action immediately."}],"eventMetadata":{"accountId":"111122223333","publicKey":"AKIAEXAMPLEEXPOSED01","userName":"ci-deployer","exposedUrl":"https://github.com/example-org/build-scripts","truncated":"false"},"affectedEntities":[{"entityValue":"AKIAEXAMPLEEXPOSED01","lastUpdatedTime":"Tue, 3 Mar 2026 10:03:55 GMT"}],"affectedAccount":"111122223333"}}',
    // AWS found a key in public: its user, the key, where it was found.
    {
      '@timestamp': Date.parse('2026-03-03T10:04:30Z'),
      'event.dataset': 'aws.health',
      'event.category': 'threat',
      'rule.name': 'AWS_RISK_CREDENTIALS_EXPOSED',
      'user.name': 'ci-deployer',
      'aws.access_key_id': 'AKIAEXAMPLEEXPOSED01',
      'url.full': 'https://github.com/example-org/build-scripts',
      'cloud.account.id': '111122223333',
    },
  ],
  [
    'health',
    '/aws/events/health-abuse',
    '{"version":"0","id":"6a7e8f9d-0c1b-4a2b-9c3d-4e5f6a7b8c9d","detail-type":"AWS Health Abuse Event","source":"aws.health","account":"111122223333","time":"2026-03-03T10:04:30Z","region":"us-east-1","resources":["198.51.100.20"],"detail":{"eventArn":"arn:aws:health:global::event/ABUSE/AWS_ABUSE_PORT_SCAN_REPORT/AWS_ABUSE_PORT_SCAN_REPORT-Ex4mpl3Id01","service":"ABUSE","eventTypeCode":"AWS_ABUSE_PORT_SCAN_REPORT","eventTypeCategory":"issue","eventScopeCode":"ACCOUNT_SPECIFIC","communicationId":"3f1e9a0c2b7d4e5f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d","startTime":"Tue, 3 Mar 2026 10:03:54 GMT","endTime":"Tue, 17 Mar 2026 10:03:54 GMT","lastUpdatedTime":"Tue, 3 Mar 2026 10:03:55 GMT","statusCode":"open","eventRegion":"us-east-1","eventDescription":[{"language":"en_US","latestDescription":"Your AWS Account may be compromised! We have opened a Support Case with more details. Please visit the AWS Support Center to review the case and take action immediately."}],"affectedEntities":[{"entityValue":"198.51.100.20","lastUpdatedTime":"Tue, 3 Mar 2026 10:03:55 GMT"}],"affectedAccount":"111122223333"}}',
    // An address of the account reported for scanning others.
    { 'rule.name': 'AWS_ABUSE_PORT_SCAN_REPORT', 'source.ip': '198.51.100.20', 'aws.health.service': 'ABUSE' },
  ],
  [
    'route53-resolver',
    '/aws/route53/resolver-queries',
    '{"version":"1.100000","account_id":"111122223333","region":"us-east-1","vpc_id":"vpc-0a1b2c3d","query_timestamp":"2026-03-03T03:12:00Z","query_name":"x7f3kq9zz0p.example.com.","query_type":"A","query_class":"IN","rcode":"NXDOMAIN","answers":[],"srcaddr":"10.0.1.23","srcport":"49255","transport":"UDP","srcids":{"instance":"i-0123456789abcdef0"}}',
    {
      '@timestamp': Date.parse('2026-03-03T03:12:00Z'),
      'dns.question.name': 'x7f3kq9zz0p.example.com',
      'dns.question.registered_domain': 'example.com',
      'dns.question.type': 'A',
      'dns.response_code': 'NXDOMAIN',
      'source.ip': '10.0.1.23',
      'source.port': 49255,
      'network.transport': 'udp',
      'cloud.instance.id': 'i-0123456789abcdef0',
      'vpc.id': 'vpc-0a1b2c3d',
      'event.action': 'dns_query',
      'event.outcome': 'failure',
      'event.dataset': 'aws.route53_resolver',
    },
  ],
  [
    'cloudtrail',
    'org-audit/management-events',
    '{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLESSO:alice@corp.example","arn":"arn:aws:sts::222233334444:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@corp.example","accountId":"222233334444","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::222233334444:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef","userName":"AWSReservedSSO_AdministratorAccess_0123456789abcdef"}}},"eventTime":"2025-03-03T03:12:40Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.5","userAgent":"aws-cli/2","requestParameters":{"bucketName":"payroll"},"responseElements":null,"eventType":"AwsApiCall","recipientAccountId":"222233334444"}',
    // An IAM Identity Center session is its person, whatever permission set it took.
    { 'user.name': 'alice@corp.example', 'cloud.account.id': '222233334444', 'event.action': 'GetObject' },
  ],
  [
    'eks-audit',
    '/aws/eks/prod/cluster',
    '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"4d2c7e8a-1b7e-4c55-9b1e-0c8f2f7b9a10","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/default/deployments","verb":"create","user":{"username":"arn:aws:sts::111122223333:assumed-role/Dev/alice","uid":"aws-iam-authenticator:111122223333:AROAEXAMPLEDEV","groups":["system:authenticated"]},"sourceIPs":["198.51.100.9"],"userAgent":"kubectl/v1.29.0 (linux/amd64)","objectRef":{"resource":"deployments","namespace":"default","name":"agent","apiGroup":"apps","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"agent"},"spec":{"template":{"spec":{"hostNetwork":true,"containers":[{"name":"agent","image":"busybox","securityContext":{"privileged":true}}]}}}},"requestReceivedTimestamp":"2025-03-03T04:11:01.123456Z","stageTimestamp":"2025-03-03T04:11:01.200000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \\"dev\\""}}',
    {
      '@timestamp': Date.parse('2025-03-03T04:11:01.123Z'),
      'user.name': 'arn:aws:sts::111122223333:assumed-role/Dev/alice',
      'source.ip': '198.51.100.9',
      'event.action': 'k8s_create',
      'event.category': 'api',
      'event.outcome': 'success',
      'event.dataset': 'kubernetes.audit',
      'http.response.status_code': 201,
      'orchestrator.cluster.name': 'prod',
      'orchestrator.namespace': 'default',
      'orchestrator.resource.type': 'deployments',
      'orchestrator.resource.name': 'agent',
      'kubernetes.audit.level': 'RequestResponse',
      'kubernetes.pod.privileged': true,
      'kubernetes.pod.host_namespace': true,
    },
  ],
  [
    'rds',
    'db/exported-postgresql',
    '2025-03-03 04:10:01 UTC:203.0.113.70(51234):postgres@appdb:[4242]:FATAL:  password authentication failed for user "postgres"',
    {
      '@timestamp': Date.parse('2025-03-03T04:10:01Z'),
      'db.system': 'postgresql',
      'event.category': 'authentication',
      'event.action': 'db_login',
      'event.outcome': 'failure',
      'user.name': 'postgres',
      'source.ip': '203.0.113.70',
      'source.port': 51234,
      'process.pid': 4242,
      'cloud.service.name': 'rds',
    },
  ],
  [
    'rds',
    'db/exported-mysql',
    "2025-03-03T04:10:07.123456Z 12345 [Note] [MY-010926] [Server] Access denied for user 'root'@'203.0.113.71' (using password: YES)",
    {
      '@timestamp': Date.parse('2025-03-03T04:10:07.123Z'),
      'db.system': 'mysql',
      'event.action': 'db_login',
      'event.outcome': 'failure',
      'user.name': 'root',
      'source.ip': '203.0.113.71',
      'error.code': 'MY-010926',
    },
  ],
  [
    'rds',
    'db/exported-mariadb',
    "2025-03-03 04:10:09 12347 [Warning] Access denied for user 'admin'@'scanner.example.net' (using password: NO)",
    {
      'db.system': 'mysql',
      'event.action': 'db_login',
      'user.name': 'admin',
      'source.domain': 'scanner.example.net',
      'db.password_used': 'NO',
    },
  ],
  [
    // A key an instance's metadata service handed out: the instance is named (its session), the principal is its role.
    'cloudtrail',
    'org-audit/management-events',
    '{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEAPP:i-0abc1234def567890","arn":"arn:aws:sts::111122223333:assumed-role/app-server-role/i-0abc1234def567890","accountId":"111122223333","accessKeyId":"ASIAEXAMPLEKEY1","sessionContext":{"sessionIssuer":{"type":"Role","userName":"app-server-role"},"ec2RoleDelivery":"2.0"}},"eventTime":"2025-03-03T03:12:40Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.77","userAgent":"aws-cli/2","requestParameters":null,"responseElements":null,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}',
    { 'user.name': 'app-server-role', 'cloud.instance.id': 'i-0abc1234def567890', 'source.ip': '198.51.100.77' },
  ],
];

describe('AWS logs recognized by content', () => {
  it.each(FIXTURES)('%s line in %s', (kind, logGroup, line, expected) => {
    const normalizer = new Normalizer(pack.sources);
    const logStream = kind === 'cloudtrail' ? TRAIL_STREAM : kind === 'vpcflow' ? FLOW_STREAM : 's';
    const source = normalizer.sourceFor(logGroup, line, logStream);
    expect(source.name).toBe(kind);
    const r = normalizer.normalize(line, { logGroup, logStream, id: '1', timestamp: Date.parse('2026-11-30T00:00:00Z') }, source);
    if (!r.ok) throw new Error(r.skip.detail);
    expect(r.parsed).toBe(true);
    expect(r.event).toMatchObject(expected);
    // Recognized by its content wherever it is; a function's own group is Lambda's by its name.
    expect(BUILTIN_SOURCES.filter((b) => b.recognize(line)).map((b) => b.definition.name)).toEqual([kind]);
    expect(normalizer.describeSource(logGroup).reason).toContain(
      logGroup.startsWith('/aws/lambda/') ? "a Lambda function's log group" : 'recognized by content',
    );
  });

  it('names an instance only for a key its metadata service handed out, not for a session named like one', () => {
    const normalizer = new Normalizer(pack.sources);
    const ctx = {
      logGroup: 'org-audit/management-events',
      logStream: TRAIL_STREAM,
      id: '1',
      timestamp: Date.parse('2026-11-30T00:00:00Z'),
    };
    const person =
      '{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:i-0abc1234def567890","arn":"arn:aws:sts::111122223333:assumed-role/Admin/i-0abc1234def567890","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","userName":"Admin"}}},"eventTime":"2025-03-03T03:12:40Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.77","userAgent":"aws-cli/2","requestParameters":null,"responseElements":null,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}';
    const r = normalizer.normalize(person, ctx, normalizer.sourceFor(ctx.logGroup, person, ctx.logStream));
    if (!r.ok) throw new Error(r.skip.detail);
    expect(r.event['user.name']).toBe('Admin');
    expect(r.event['cloud.instance.id']).toBeUndefined();
  });
  it("every line of an RDS database's log group is the database's, by the group's name", () => {
    const normalizer = new Normalizer(pack.sources);
    const group = '/aws/rds/cluster/orders-aurora/postgresql';
    expect(normalizer.describeSource(group).reason).toContain("an RDS or Aurora database's log group");
    // A statement's continuation line is no PostgreSQL line at all: still the database's, unparsed.
    for (const line of ['\tFROM orders WHERE id = 1', FIXTURES.find(([k]) => k === 'rds')?.[2] ?? '']) {
      expect(normalizer.sourceFor(group, line).name).toBe('rds');
      const r = normalizer.normalize(line, { logGroup: group, logStream: 's', id: '1', timestamp: 0 });
      if (!r.ok) throw new Error(r.skip.detail);
      expect(r.event).toMatchObject({ 'db.instance.id': 'orders-aurora', 'cloud.service.name': 'rds' });
    }
  });

  it('a database user name the client typed cannot forge the address or hide the failure', () => {
    const normalizer = new Normalizer(pack.sources);
    const group = '/aws/rds/instance/orders-db/postgresql';
    const read = (line: string) => normalizedLine(normalizer, line, { logGroup: group }).event;
    const forged = [
      'x:[1]:FATAL:  password authentication failed for user "y"',
      'a(1):b@c:[2]:LOG:  connection authorized: user=root database=d',
      "u'@'10.9.9.9",
    ];
    for (const user of forged) {
      const pg = read(
        `2025-03-03 04:10:06 UTC:203.0.113.80(51236):${user}@db:[4245]:FATAL:  password authentication failed for user "${user}"`,
      );
      expect(pg).toMatchObject({ 'source.ip': '203.0.113.80', 'event.action': 'db_login', 'event.outcome': 'failure' });
      const mysql = read(
        `2025-03-03T04:10:07.123456Z 1 [Note] [MY-010926] [Server] Access denied for user '${user}'@'203.0.113.81' (using password: YES)`,
      );
      expect(mysql).toMatchObject({ 'source.ip': '203.0.113.81', 'event.action': 'db_login', 'event.outcome': 'failure' });
    }
  });

  describe("MySQL's audit log (RDS for MySQL and MariaDB, Aurora MySQL)", () => {
    const normalizer = new Normalizer(pack.sources);
    const read = (line: string, group = '/aws/rds/instance/billing-db/audit') => {
      const r = normalizer.normalize(line, { logGroup: group, logStream: 's', id: '1', timestamp: 0 });
      if (!r.ok) throw new Error(r.skip.detail);
      return { parsed: r.parsed, event: r.event };
    };

    it.each([
      [
        "RDS: a refused password, with the plugin's connection type",
        '20250303 04:10:01,ip-10-0-0-1,baduser,203.0.113.6,44,0,FAILED_CONNECT,,,1045,SOCKET',
        {
          '@timestamp': Date.parse('2025-03-03T04:10:01Z'),
          'event.action': 'db_login',
          'event.outcome': 'failure',
          'user.name': 'baduser',
        },
      ],
      [
        'RDS: a login',
        '20250303 04:10:02,ip-10-0-0-1,app,10.0.0.5,43,0,CONNECT,orders,,0,SSL',
        { 'event.action': 'db_login', 'event.outcome': 'success', 'user.name': 'app', 'source.ip': '10.0.0.5', 'db.name': 'orders' },
      ],
      [
        'Aurora: a refused password, the time in microseconds',
        '1728498527380921,aurora-node-1,user_1,172.31.49.222,147189,0,FAILED_CONNECT,,,1045',
        { '@timestamp': 1728498527381, 'event.action': 'db_login', 'event.outcome': 'failure', 'host.name': 'aurora-node-1' },
      ],
      [
        'a CONNECT refused by its return code',
        '1728498527380921,aurora-node-1,root,203.0.113.6,7,0,CONNECT,,,1045',
        { 'event.action': 'db_login', 'event.outcome': 'failure' },
      ],
      [
        'a right password for a database the user may not use is no guess',
        '20250303 04:10:03,ip-10-0-0-1,app,10.0.0.5,45,0,FAILED_CONNECT,payroll,,1044',
        { 'event.action': 'db_connection_refused', 'event.outcome': 'failure', 'db.name': 'payroll' },
      ],
      [
        'a query, its commas and escaped quotes inside the statement',
        "20250303 04:10:04,ip-10-0-0-1,app,10.0.0.5,43,9,QUERY,orders,'SELECT \\'a,b\\' FROM t WHERE x IN (1, 2)',0,,",
        {
          'event.category': 'database',
          'event.action': 'db_query',
          'event.outcome': 'success',
          'db.statement': "SELECT \\'a,b\\' FROM t WHERE x IN (1, 2)",
          'db.return_code': 0,
        },
      ],
      [
        'a table event',
        '1728498527380921,aurora-node-1,admin,10.1.2.3,34,1234,WRITE,orders,invoices,0',
        { 'event.action': 'db_write', 'mysql.audit.object': 'invoices', 'user.name': 'admin' },
      ],
      [
        "MariaDB's table event: written as the table opens, with an empty return code",
        '20250303 04:10:05,ip-10-0-0-1,app,10.0.0.5,43,9,READ,orders,invoices,',
        { 'event.action': 'db_read', 'event.category': 'database', 'mysql.audit.object': 'invoices', 'db.name': 'orders' },
      ],
      [
        'a table renamed (old name | new database.name), no return code',
        '20250303 04:10:06,ip-10-0-0-1,app,10.0.0.5,43,10,RENAME,orders,invoices_old|orders.invoices,',
        { 'event.action': 'db_rename', 'mysql.audit.object': 'invoices_old|orders.invoices' },
      ],
      [
        'a disconnection',
        '1728498527380940,aurora-node-1,user_1,172.31.49.222,147189,0,DISCONNECT,,,0',
        { 'event.action': 'db_disconnect', 'event.category': 'database' },
      ],
    ])('%s', (_, line, expected) => {
      const { parsed, event } = read(line);
      expect(parsed).toBe(true);
      expect(event).toMatchObject({ 'db.system': 'mysql', 'event.dataset': 'mysql.audit', 'db.instance.id': 'billing-db', ...expected });
    });

    it('a connection or query cut short of its return code is parsed but says nothing about its outcome', () => {
      for (const line of [
        '20250303 04:10:05,ip-10-0-0-1,app,10.0.0.5,43,9,QUERY,orders,orders,',
        '20250303 04:10:05,ip-10-0-0-1,app,10.0.0.5,43,0,DISCONNECT,,,',
      ]) {
        const { event } = read(line);
        expect(event['event.outcome'], line).toBeUndefined();
        expect(event['event.action'], line).toBeUndefined();
      }
    });

    it('what a client sends cannot forge the address or hide a refused login', () => {
      // The user and database name a client sends are written unescaped on each side of the server's
      // fields. Whatever they hold, a refused connection is either counted against the address the server
      // wrote, or read as someone writing into the log (integrity.log_injection) — never against another.
      const clientText = fc
        .array(fc.constantFrom('a', 'b', '1', '0', ',', ' ', "'", '198.51.100.9', 'CONNECT', 'FAILED_', 'DIS', ',,', '1045', '\\'), {
          maxLength: 12,
        })
        .map((parts) => parts.join(''));
      fc.assert(
        fc.property(clientText, clientText, fc.constantFrom('FAILED_CONNECT', 'CONNECT'), (user, db, operation) => {
          const { event } = read(`20250303 04:10:01,ip-10-0-0-1,${user},203.0.113.6,44,0,${operation},${db},,1045`);
          if (event['event.action'] === 'log_injection') return;
          expect(event).toMatchObject({ 'event.action': 'db_login', 'event.outcome': 'failure', 'source.ip': '203.0.113.6' });
        }),
        { numRuns: 2000 },
      );
      expect(read('20250303 04:10:01,ip-10-0-0-1,x,198.51.100.9,1,0,CONNECT,,203.0.113.6,44,0,FAILED_CONNECT,,,1045').event).toMatchObject({
        'event.action': 'log_injection',
      });
      expect(read('20250303 04:10:01,ip-10-0-0-1,a,b,c,203.0.113.6,44,0,FAILED_CONNECT,d,b,,1045').event).toMatchObject({
        'user.name': 'a,b,c',
        'source.ip': '203.0.113.6',
        'db.name': 'd,b',
      });
    });
  });

  it('an explicit source always wins over recognition', () => {
    const normalizer = new Normalizer(pack.sources);
    // /aws/cloudtrail/* is named by rules/sources/aws-cloudtrail.yml (built-in cloudtrail parsing).
    expect(normalizer.sourceFor('/aws/cloudtrail/main', FIXTURES[0]?.[2]).name).toBe('aws-cloudtrail');
    expect(normalizer.sourceFor('/var/log/auth.log', FIXTURES[2]?.[2]).name).toBe('bastion-sshd');
  });

  it('each built-in declares every field its derive sets (the filter compiler relies on the list)', () => {
    const lines = [
      ...FIXTURES.map(([, group, line]) => ({ group, line })),
      ...generateDemo(20250303, { awsAttack: true })
        .payloads.filter((p) => (Object.values(AWS_LOG_GROUPS) as string[]).includes(p.logGroup))
        .flatMap((p) => p.logEvents.map((e) => ({ group: p.logGroup, line: e.message }))),
    ];
    const undeclared = new Set<string>();
    // What derivesOn claims (the value set, a marker on the line) and a derive did otherwise.
    const unclaimed = new Set<string>();
    const seen = new Set<string>();
    let current = '';
    for (const builtin of BUILTIN_SOURCES) {
      const derive = builtin.derive;
      // Watched through a source file naming the built-in: compiling it takes the function as it is now.
      builtin.derive = (event, logGroup) => {
        const before = new Map(Object.entries(event));
        derive(event, logGroup);
        for (const [k, v] of Object.entries(event)) {
          if (before.get(k) === v) continue;
          seen.add(builtin.definition.name);
          if (!builtin.derives.includes(k)) undeclared.add(`${builtin.definition.name}: ${k}`);
          const claims = builtin.derivesOn?.[k];
          const held = claims?.some(
            (c) => (!c.values || c.values.includes(String(v).toLowerCase())) && (!c.markers || c.markers.some((m) => current.includes(m))),
          );
          if (claims && !held) unclaimed.add(`${builtin.definition.name}: ${k} = ${v} on ${current.slice(0, 80)}`);
        }
      };
      try {
        const source = { name: 'all', logGroups: ['*'], builtin: builtin.definition.name };
        const normalizer = new Normalizer([SourceDefinition.parse({ source })]);
        for (const { group, line } of lines) {
          current = line;
          normalizer.normalize(line, { logGroup: group, logStream: 's', id: '1', timestamp: 0 });
        }
      } finally {
        builtin.derive = derive;
      }
    }
    expect(seen).toEqual(new Set(BUILTIN_SOURCES.map((b) => b.definition.name)));
    expect([...undeclared]).toEqual([]);
    expect([...unclaimed]).toEqual([]);
    // The claims are tested where they apply: Lambda and CloudTrail lines setting the claimed fields were seen.
    for (const name of ['lambda', 'cloudtrail']) {
      expect(Object.keys(BUILTIN_SOURCES.find((b) => b.definition.name === name)?.derivesOn ?? {}).length).toBeGreaterThan(2);
    }
  });

  it('every line a built-in recognizes holds one of the texts it declares (the subscription filter lets those lines through)', () => {
    const realworld = ['OpenSSH_2k.log', 'Linux_2k.log', 'apache_access_10k.log'].flatMap((f) => realLogLines(f, 3000));
    const lines = [
      ...FIXTURES.map(([, , line]) => line),
      ...generateDemo(20250303, { awsAttack: true }).payloads.flatMap((p) => p.logEvents.map((e) => e.message)),
      ...realworld,
    ];
    const wrong: string[] = [];
    let recognized = 0;
    for (const builtin of BUILTIN_SOURCES) {
      const markers = builtin.recognizedBy;
      if (!markers) continue;
      for (const line of lines) {
        if (!builtin.recognize(line)) continue;
        recognized++;
        if (!markers.some((m) => line.includes(m))) wrong.push(`${builtin.definition.name}: ${line.slice(0, 80)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(recognized).toBeGreaterThan(1_000);
  });

  it("every line of a function's own log group is the function's: any JSON logger, any text", () => {
    const normalizer = new Normalizer(pack.sources);
    const group = '/aws/lambda/orders-worker';
    const lines = [
      '{"level":50,"time":1740971561001,"msg":"db down","pid":8}', // pino, no Lambda keys at all
      `{"level":"ERROR","location":"handler:12","message":"boom","timestamp":"2025-03-03 03:12:41,001+0000","service":"payment","cold_start":true,"function_name":"orders-worker","function_request_id":"${UUID}"}`,
      'plain text from a custom runtime',
    ];
    const events = normalizePayload(linesPayload(group, lines, T0), normalizer, new SkipLedger());
    expect(events.map((e) => e['faas.name'])).toEqual(['orders-worker', 'orders-worker', 'orders-worker']);
    expect(events.map((e) => e['log.level'])).toEqual(['error', 'error', undefined]);
    expect(normalizer.describeSource(group).reason).toContain('Lambda function');
    // So the function's error rules see them, as they see the runtime's own lines.
    const errorRule = pack.rules.find((r) => r.id === 'lambda.error_spike');
    if (!errorRule) throw new Error('lambda.error_spike is missing');
    const matched = [...new Detector({ rules: [errorRule] }, new MemoryStateStore()).matchAll(events).values()].flat();
    expect(matched).toHaveLength(2);
    // A source file naming the group still wins.
    const named = new Normalizer([
      SourceDefinition.parse({ source: { name: 'mine', logGroups: ['/aws/lambda/orders-*'], format: 'json' } }),
    ]);
    expect(named.sourceFor(group, lines[0]).name).toBe('mine');
  });

  it("a Resolver query's registered domain is the name under its ICANN public suffix; a hosting provider's own suffix is not one", () => {
    const resolver = FIXTURES.find(([kind]) => kind === 'route53-resolver');
    if (!resolver) throw new Error('no Resolver fixture');
    const [, logGroup, line] = resolver;
    const registered = (name: string) => {
      const normalizer = new Normalizer(pack.sources);
      const asked = line.replace(/"query_name":"[^"]*"/, `"query_name":"${name}"`);
      const r = normalizer.normalize(
        asked,
        { logGroup, logStream: 's', id: '1', timestamp: T0 },
        normalizer.sourceFor(logGroup, asked, 's'),
      );
      if (!r.ok) throw new Error(r.skip.detail);
      return r.event['dns.question.registered_domain'];
    };
    expect(registered('x7f3kq9zz0p.t.Exfil-Example.CO.UK.')).toBe('exfil-example.co.uk');
    expect(registered('a.b.example.com.au.')).toBe('example.com.au');
    // Lists name services by their own domain: each tunnel's name is under it.
    expect(registered('3f2a-198-51-100-7.ngrok-free.app.')).toBe('ngrok-free.app');
    expect(registered('xyz.trycloudflare.com.')).toBe('trycloudflare.com');
    // Under no listed suffix, the last two labels; a suffix asked for itself, itself.
    expect(registered('ip-10-0-1-5.ec2.internal.')).toBe('ec2.internal');
    expect(registered('co.uk.')).toBe('co.uk');
    expect(registered('localhost.')).toBeUndefined();
  });

  it('re-recognizes a group whose lines change format', () => {
    const normalizer = new Normalizer(pack.sources);
    expect(normalizer.sourceFor('shared', FIXTURES[2]?.[2], FLOW_STREAM).name).toBe('vpcflow');
    expect(normalizer.sourceFor('shared', FIXTURES[0]?.[2], TRAIL_STREAM).name).toBe('cloudtrail');
    expect(normalizer.sourceFor('shared', 'plain text').name).toBe('default');
    expect(normalizer.sourceFor('shared').name).toBe('cloudtrail');
  });
});

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const uuid = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((p) => p.join('-'));
const t = fc.integer({ min: 1_500_000_000_000, max: 1_800_000_000_000 });
const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_ .:/-]{0,30}$/);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** `03/Mar/2025:03:12:40 +0000`, as API Gateway's `$context.requestTime` writes it. */
const clfTime = (at: number) => {
  const d = new Date(at);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
};

/** Random instances of each format, and of lines that are none of them. */
const BY_KIND: Record<string, fc.Arbitrary<string>> = {
  cloudtrail: fc
    .tuple(
      t,
      fc.constantFrom('IAMUser', 'AssumedRole', 'Root'),
      word,
      fc.constantFrom('ec2.amazonaws.com', 's3.amazonaws.com', 'iam.amazonaws.com'),
      word,
      ipv4,
    )
    .map(([at, type, name, src, event, ip]) =>
      cloudTrailRecord(at, { type: type as 'IAMUser', name: name.replace(/\s/g, '') || 'x' }, src, event.replace(/\s/g, '') || 'X', { ip }),
    ),
  vpcflow: fc
    .tuple(
      t,
      ipv4,
      ipv4,
      fc.integer({ min: 1, max: 65535 }),
      fc.integer({ min: 1, max: 65535 }),
      fc.constantFrom('ACCEPT' as const, 'REJECT' as const),
    )
    .map(([at, a, b, p, q, act]) => flowRecord(at, a, b, p, q, act)),
  lambda: fc.oneof(
    uuid.map((u) => `START RequestId: ${u} Version: $LATEST`),
    fc
      .tuple(t, uuid, fc.constantFrom('INFO', 'ERROR', 'WARN', 'DEBUG'), word)
      .map(([at, u, lvl, m]) => `${new Date(at).toISOString()}\t${u}\t${lvl}\t${m}`),
    fc.tuple(t, uuid).map(([at, u]) => `${new Date(at).toISOString()} ${u} Task timed out after 3.00 seconds`),
    fc
      .tuple(t, fc.constantFrom('platform.start', 'platform.report', 'platform.runtimeDone'))
      .map(([at, type]) => JSON.stringify({ time: new Date(at).toISOString(), type, record: { requestId: 'r' } })),
    fc
      .tuple(t, uuid, word)
      .map(([at, u, m]) => JSON.stringify({ timestamp: new Date(at).toISOString(), level: 'ERROR', requestId: u, message: m })),
    fc.tuple(t, uuid, word, fc.constantFrom('INFO', 'ERROR')).map(([at, u, m, level]) =>
      JSON.stringify({
        level,
        message: m,
        service: 'svc',
        timestamp: new Date(at).toISOString(),
        cold_start: false,
        function_name: 'fn',
        function_request_id: u,
      }),
    ),
  ),
  apigateway: fc
    .tuple(
      uuid,
      ipv4,
      fc.constantFrom('GET', 'POST'),
      fc.integer({ min: 200, max: 599 }),
      word.map((w) => w.replace(/[\s,]/g, '') || 'x'),
      fc.boolean(),
      fc.constantFrom('json', 'clf', 'csv', 'xml'),
      t,
    )
    .map(([id, ip, m, st, path, v2, format, at]) => {
      const time = clfTime(at);
      const route = v2 ? `${m} /${path}` : `/${path}`;
      if (format === 'clf') return `${ip} - - [${time}] "${m} ${v2 ? route : `/${path}`} HTTP/1.1" ${st} 12 ${id}`;
      if (format === 'csv')
        return v2 ? `${ip},${time},${m},${route},HTTP/1.1,${st},12,${id}` : `${ip},-,-,${time},${m},${route},HTTP/1.1,${st},12,${id}`;
      const pathElement = v2 ? `<routeKey>${route}</routeKey>` : `<resourcePath>${route}</resourcePath>`;
      if (format === 'xml')
        return `<request id="${id}"> <ip>${ip}</ip> <requestTime>${time}</requestTime> <httpMethod>${m}</httpMethod> ${pathElement} <status>${st}</status> </request>`;
      return JSON.stringify(
        v2
          ? { requestId: id, sourceIp: ip, httpMethod: m, routeKey: route, status: st }
          : { requestId: id, ip, httpMethod: m, resourcePath: route, status: String(st) },
      );
    }),
  waf: fc.tuple(t, ipv4, fc.constantFrom('ALLOW', 'BLOCK', 'COUNT'), word).map(([at, ip, action, uri]) =>
    JSON.stringify({
      timestamp: at,
      webaclId: 'arn:aws:wafv2:us-east-1:1:regional/webacl/x/y',
      action,
      httpRequest: { clientIp: ip, uri: `/${uri}`, httpMethod: 'GET', headers: [] },
    }),
  ),
  'network-firewall': fc
    .tuple(
      t,
      ipv4,
      ipv4,
      fc.constantFrom('alert', 'netflow', 'tls'),
      fc.constantFrom('allowed', 'blocked'),
      fc.integer({ min: 1, max: 3 }),
      word,
    )
    .map(([at, src, dest, type, action, severity, signature]) =>
      JSON.stringify({
        firewall_name: 'fw',
        availability_zone: 'us-east-1a',
        event_timestamp: String(Math.floor(at / 1000)),
        event: {
          timestamp: new Date(at).toISOString(),
          event_type: type,
          src_ip: src,
          src_port: 40000,
          dest_ip: dest,
          dest_port: 443,
          proto: 'TCP',
          ...(type === 'alert' ? { alert: { action, signature_id: 1, signature, category: '', severity } } : {}),
        },
      }),
    ),
  guardduty: fc
    .tuple(
      t,
      ipv4,
      fc.constantFrom('Recon:EC2/PortProbeUnprotectedPort', 'UnauthorizedAccess:EC2/SSHBruteForce'),
      fc.double({ min: 1, max: 9.9, noNaN: true }),
      word,
    )
    .map(([at, ip, type, severity, title]) =>
      eventBridgeLine(
        'GuardDuty Finding',
        'aws.guardduty',
        {
          id: 'f',
          type,
          severity,
          title,
          updatedAt: new Date(at).toISOString(),
          resource: { resourceType: 'Instance', instanceDetails: { instanceId: 'i-1' } },
          service: { action: { actionType: 'NETWORK_CONNECTION', networkConnectionAction: { remoteIpDetails: { ipAddressV4: ip } } } },
        },
        { at },
      ),
    ),
  securityhub: fc.oneof(
    fc
      .tuple(t, ipv4, fc.constantFrom(2002, 2003, 2004), fc.constantFrom('Low', 'High', 'Critical'), word)
      .map(([at, ip, classUid, severity, title]) =>
        eventBridgeLine(
          'Findings Imported V2',
          'aws.securityhub',
          {
            findings: [
              {
                class_uid: classUid,
                severity,
                status: 'New',
                metadata: { product: { name: 'Inspector' } },
                finding_info: { uid: 'f', title },
                src_endpoint: { ip },
                resources: [{ type: 'AWS::EC2::Instance', uid: 'i-1' }],
              },
            ],
          },
          { at },
        ),
      ),
    fc
      .tuple(
        t,
        ipv4,
        fc.constantFrom('TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort', 'Software and Configuration Checks/Vulnerabilities/CVE'),
        fc.constantFrom('INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'),
        word,
      )
      .map(([at, ip, type, label, title]) =>
        eventBridgeLine(
          'Security Hub Findings - Imported',
          'aws.securityhub',
          {
            findings: [
              {
                Id: 'f',
                ProductName: 'Inspector',
                Types: [type],
                Severity: { Label: label },
                Title: title,
                UpdatedAt: new Date(at).toISOString(),
                Network: { Direction: 'IN', SourceIpV4: ip },
                Resources: [{ Type: 'AwsEc2Instance', Id: 'arn:aws:ec2:us-east-1:111122223333:instance/i-1' }],
                Workflow: { Status: 'NEW' },
                RecordState: 'ACTIVE',
              },
            ],
          },
          { at },
        ),
      ),
  ),
  health: fc
    .tuple(t, fc.constantFrom('AWS_RISK_CREDENTIALS_EXPOSED', 'AWS_ABUSE_DOS_REPORT', 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED'), word, ipv4)
    .map(([at, code, user, ip]) =>
      eventBridgeLine(
        code.startsWith('AWS_ABUSE_') ? 'AWS Health Abuse Event' : 'AWS Health Event',
        'aws.health',
        {
          eventArn: 'arn:aws:health:global::event/RISK/x',
          service: 'RISK',
          eventTypeCode: code,
          statusCode: 'open',
          eventMetadata: { userName: user },
          affectedEntities: [{ entityValue: ip }],
        },
        { at },
      ),
    ),
  'route53-resolver': fc.tuple(t, ipv4, word, fc.constantFrom('NOERROR', 'NXDOMAIN', 'SERVFAIL')).map(([at, ip, w, rcode]) =>
    JSON.stringify({
      version: '1.100000',
      account_id: '111122223333',
      region: 'us-east-1',
      vpc_id: 'vpc-1',
      query_timestamp: new Date(at).toISOString(),
      query_name: `${w.replace(/\s/g, '') || 'x'}.example.com.`,
      query_type: 'A',
      query_class: 'IN',
      rcode,
      answers: [],
      srcaddr: ip,
      srcport: '53000',
      transport: 'UDP',
      srcids: { instance: 'i-1' },
    }),
  ),
  'eks-audit': fc
    .tuple(
      t,
      ipv4,
      word,
      fc.constantFrom('get', 'list', 'create', 'delete', 'patch'),
      fc.constantFrom('pods', 'secrets', 'deployments'),
      fc.constantFrom(200, 201, 403),
    )
    .map(([at, ip, user, verb, resource, code]) =>
      JSON.stringify({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        level: 'Metadata',
        auditID: 'a',
        stage: 'ResponseComplete',
        requestURI: `/api/v1/${resource}`,
        verb,
        user: { username: user },
        sourceIPs: [ip],
        objectRef: { resource, apiVersion: 'v1' },
        responseStatus: { code },
        requestReceivedTimestamp: new Date(at).toISOString(),
      }),
    ),
  rds: fc.oneof(
    fc
      .tuple(t, ipv4, fc.integer({ min: 1, max: 65535 }), word, fc.constantFrom('LOG', 'ERROR', 'FATAL', 'WARNING'), word)
      .map(
        ([at, ip, port, user, level, msg]) =>
          `${new Date(at).toISOString().slice(0, 19).replace('T', ' ')} UTC:${ip}(${port}):${user}@appdb:[${port}]:${level}:  ${msg}`,
      ),
    fc
      .tuple(t, ipv4, word, fc.boolean())
      .map(
        ([at, ip, user, mysql8]) =>
          `${mysql8 ? new Date(at).toISOString().replace(/\.(\d{3})Z$/, '.$1123Z') : new Date(at).toISOString().slice(0, 19).replace('T', ' ')} 12 [${mysql8 ? 'Note' : 'Warning'}] ${mysql8 ? '[MY-010926] [Server] ' : ''}Access denied for user '${user}'@'${ip}' (using password: YES)`,
      ),
  ),
  none: fc.oneof(
    fc.tuple(ipv4, word).map(([ip, u]) => `Mar  3 03:12:40 h sshd[1]: Failed password for ${u} from ${ip} port 22 ssh2`),
    fc
      .tuple(ipv4, fc.integer({ min: 100, max: 599 }))
      .map(([ip, s]) => `${ip} - - [02/Mar/2025:03:12:40 +0000] "GET / HTTP/1.1" ${s} 1 "-" "x"`),
    // Common Log Format (another server's, no user agent): ends with its byte count, not a request id.
    fc
      .tuple(ipv4, fc.integer({ min: 100, max: 599 }), fc.integer({ min: 0, max: 1e12 }), word)
      .map(([ip, s, bytes, u]) => `${ip} - ${u.replace(/\s/g, '') || '-'} [02/Mar/2025:03:12:40 +0000] "GET /x HTTP/1.1" ${s} ${bytes}`),
    fc
      .dictionary(fc.constantFrom('level', 'msg', 'time', 'user', 'ip', 'status', 'requestId', 'message', 'path'), word, { minKeys: 1 })
      .map((d) => JSON.stringify(d)),
    fc.string({ maxLength: 120 }),
  ),
};

describe('property: a line of one format is never recognized as another', () => {
  it.each(Object.keys(BY_KIND))('%s lines', (kind) => {
    fc.assert(
      fc.property(BY_KIND[kind] ?? fc.constant(''), (line) => {
        const recognizedAs = BUILTIN_SOURCES.filter((s) => s.recognize(line)).map((s) => s.definition.name);
        expect(recognizedAs).toEqual(kind === 'none' ? [] : [kind]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: a JSON line that holds no AWS marker is recognized by no built-in (recognition skips them all on one scan)', () => {
  // Lines of every kind, then JSON objects made of their keys and the keys recognizers look for, in any combination.
  const keys = fc.constantFrom(
    'eventSource',
    'eventName',
    'userIdentity',
    'webaclId',
    'httpRequest',
    'requestId',
    'httpMethod',
    'status',
    'ip',
    'sourceIp',
    'query_name',
    'query_timestamp',
    'level',
    'message',
    'timestamp',
    'function_name',
    'function_request_id',
    'type',
    'msg',
    'auditID',
    'verb',
    'firewall_name',
    'event_type',
    'detail-type',
    'source',
  );
  const value = fc.oneof(word, fc.constant('platform.start'), fc.constant('0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b'), fc.integer());
  const mixed = fc.dictionary(keys, value, { minKeys: 1, maxKeys: 12 }).map((d) => JSON.stringify(d));
  const anyKind = fc.oneof(...Object.values(BY_KIND), mixed, mixed);
  it('on lines of every kind and on objects of their keys', () => {
    fc.assert(
      fc.property(anyKind, (line) => {
        const json = line.trimStart().startsWith('{');
        if (!json || AWS_JSON_MARKERS_RE.test(line)) return;
        expect(BUILTIN_SOURCES.filter((s) => s.recognize(line)).map((s) => s.definition.name)).toEqual([]);
      }),
      { numRuns: 3000 },
    );
  });
});

/**
 * Sixty clients served once each, then (two minutes on, another stream: the same event ids in the
 * same stream would be a redelivery) sixty 403s to one: what each batch published.
 */
async function clientErrorBurst(line: (ip: string, status: number, i: number) => string, normalizer: Normalizer) {
  const detector = new Detector(pack, new MemoryStateStore());
  const benign = Array.from({ length: 60 }, (_, i) => line(`198.51.100.${i + 1}`, 200, i));
  const quiet = await processPayload(linesPayload('shop-api/access', benign, T0, 1000), normalizer, detector);
  const attack = Array.from({ length: 60 }, (_, i) => line('203.0.113.77', 403, 120 + i));
  const r = await processPayload(
    { ...linesPayload('shop-api/access', attack, T0 + 120_000, 1000), logStream: 'stream-2' },
    normalizer,
    detector,
  );
  const told = (alerts: readonly Alert[]) => alerts.map((a) => `${a.ruleId} ${a.entity.value}`);
  return { quiet: told(quiet.alerts), attack: told(r.alerts) };
}

describe('API Gateway text access logs', () => {
  const formats: Record<string, (ip: string, status: number, i: number) => string> = {
    'REST CLF (CDK AccessLogFormat.clf())': (ip, st, i) =>
      `${ip} - - [03/Mar/2025:10:00:${String(i % 60).padStart(2, '0')} +0000] "POST /login HTTP/1.1" ${st} 42 c6af9ac6-7b61-11e6-9a41-${String(i).padStart(12, '0')}`,
    'HTTP API CLF': (ip, st, i) =>
      `${ip} - - [03/Mar/2025:10:00:${String(i % 60).padStart(2, '0')} +0000] "POST POST /login HTTP/1.1" ${st} 42 JRzEqh3zvH${String(i).padStart(5, '0')}=`,
    'REST CSV': (ip, st, i) =>
      `${ip},-,-,03/Mar/2025:10:00:${String(i % 60).padStart(2, '0')} +0000,POST,/login,HTTP/1.1,${st},42,c6af9ac6-7b61-11e6-9a41-${String(i).padStart(12, '0')},JRzEqh3zvHcEMfA=`,
    'REST XML': (ip, st, i) =>
      `<request id="c6af9ac6-7b61-11e6-9a41-${String(i).padStart(12, '0')}"> <ip>${ip}</ip> <caller>-</caller> <user>-</user> <requestTime>03/Mar/2025:10:00:${String(i % 60).padStart(2, '0')} +0000</requestTime> <httpMethod>POST</httpMethod> <resourcePath>/login</resourcePath> <status>${st}</status> <protocol>HTTP/1.1</protocol> <responseLength>42</responseLength> </request>`,
  };

  it.each(Object.keys(formats))(
    '%s: sixty 403s from one client fire apigw.client_error_burst on it; sixty clients served alone stay quiet',
    async (name) => {
      const burst = await clientErrorBurst(formats[name] ?? (() => ''), new Normalizer(pack.sources));
      expect(burst).toEqual({ quiet: [], attack: ['apigw.client_error_burst 203.0.113.77'] });
    },
  );

  it('the XML element reader is anchored where the last element ended, and safe so', () => {
    expect(XML_ELEMENT_RE.sticky).toBe(true);
    expect(checkRegexSafety(`^${XML_ELEMENT_RE.source}`)).toMatchObject({ safe: true });
  });

  it('an XML value holding elements of its own ends the record: a client cannot write the address', () => {
    const normalizer = new Normalizer(pack.sources);
    const forged =
      '<request id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef"> <userAgent>x <ip>10.0.0.1</ip></userAgent> <ip>203.0.113.77</ip> <status>403</status> </request>';
    const ctx = { logGroup: 'shop-api/access', logStream: 's', id: '1', timestamp: T0 };
    const r = normalizer.normalize(forged, ctx, normalizer.sourceFor(ctx.logGroup, forged));
    if (!r.ok) throw new Error(r.skip.detail);
    expect(r.event['event.dataset']).toBe('aws.apigateway');
    expect(r.event['source.ip']).toBeUndefined();
    expect(r.event.ip).toBeUndefined();
    // Read in order, first name wins: a later repeat does not replace what came first.
    const repeated =
      '<request id="abcdef12"> <ip>203.0.113.77</ip> <httpMethod>GET</httpMethod> <status>200</status> <ip>10.0.0.1</ip> </request>';
    const again = normalizer.normalize(repeated, ctx, normalizer.sourceFor(ctx.logGroup, repeated));
    expect(again.ok && again.event['source.ip']).toBe('203.0.113.77');
  });
});

describe('API Gateway access logs in a format of your own', () => {
  // A stage's own format: caller before the address, the path not the resource, the user agent (free text) last.
  const CLF_LIKE =
    '$context.identity.caller $context.identity.sourceIp [$context.requestTime] "$context.httpMethod $context.path $context.protocol" $context.status $context.responseLength $context.requestId "$context.identity.userAgent"';
  const CSV_LIKE =
    '$context.requestId,$context.status,$context.identity.sourceIp,$context.requestTimeEpoch,$context.httpMethod,$context.routeKey,$context.error.message';
  const source = (format: string) =>
    SourceDefinition.parse({
      source: { name: 'shop-api', logGroups: ['shop-api/access'], builtin: 'apigateway', accessLogFormat: format },
    });
  const normalizerFor = (format: string) => new Normalizer([...pack.sources, source(format)]);
  const read = (format: string, line: string) => {
    const normalizer = normalizerFor(format);
    const ctx = { logGroup: 'shop-api/access', logStream: 's', id: '1', timestamp: T0 };
    const r = normalizer.normalize(line, ctx, normalizer.sourceFor(ctx.logGroup, line));
    if (!r.ok) throw new Error(r.skip.detail);
    return r;
  };

  it('reads each $context variable where the format puts it', () => {
    const clf = read(
      CLF_LIKE,
      'arn:aws:iam::111122223333:user/bob 203.0.113.77 [03/Mar/2025:10:00:05 +0000] "POST /prod/login HTTP/1.1" 403 42 c6af9ac6-7b61-11e6-9a41-93e8deadbeef "Mozilla/5.0 (X11; Linux) "quoted" agent"',
    );
    expect(clf.parsed).toBe(true);
    expect(clf.event).toMatchObject({
      'event.dataset': 'aws.apigateway',
      'source.ip': '203.0.113.77',
      'user.name': 'arn:aws:iam::111122223333:user/bob',
      'http.request.method': 'POST',
      'url.path': '/prod/login',
      'http.response.status_code': 403,
      'user_agent.original': 'Mozilla/5.0 (X11; Linux) "quoted" agent',
      '@timestamp': Date.parse('2025-03-03T10:00:05Z'),
    });
    const csv = read(CSV_LIKE, 'JRzEqh3zvHcEMfA=,502,198.51.100.7,1740996005123,GET,GET /pets/{id},Internal server error, retry later');
    expect(csv.event).toMatchObject({
      'source.ip': '198.51.100.7',
      'http.response.status_code': 502,
      'http.route': 'GET /pets/{id}',
      'error.message': 'Internal server error, retry later',
      '@timestamp': 1740996005123,
    });
  });

  it('a client writes no field through its user agent, and the format reads any line in linear time', () => {
    const forged = read(
      CLF_LIKE,
      '- 203.0.113.77 [03/Mar/2025:10:00:05 +0000] "POST /login HTTP/1.1" 403 42 id1 "x" - 10.0.0.1 [03/Mar/2025:10:00:05 +0000] "GET / HTTP/1.1" 200 1 id2 "y"',
    );
    expect(forged.event).toMatchObject({ 'source.ip': '203.0.113.77', 'http.response.status_code': 403, 'url.path': '/login' });
    for (const format of [CLF_LIKE, CSV_LIKE]) {
      const compiled = compileAccessLogFormat(format);
      if (!compiled.ok) throw new Error(compiled.error);
      expect(checkRegexSafety(compiled.pattern), format).toMatchObject({ safe: true });
      const normalizer = normalizerFor(format);
      const ctx = { logGroup: 'shop-api/access', logStream: 's', id: '1', timestamp: T0 };
      // Linear (the check above); such lines are events like any other, never a failed batch.
      for (const hostile of ['- '.repeat(50_000), `${'1,'.repeat(50_000)}x`, `- 1.2.3.4 [${'['.repeat(100_000)}`]) {
        expect(normalizer.normalize(hostile, ctx, normalizer.sourceFor(ctx.logGroup, hostile)).ok).toBe(true);
      }
    }
  });

  it.each([
    ['{"requestId":"$context.requestId"}', 'JSON and XML formats need no accessLogFormat'],
    ['<request id="$context.requestId"> </request>', 'JSON and XML formats need no accessLogFormat'],
    ['just text', 'names no $context variable'],
    ['$context.identity.sourceIp$context.status', 'have nothing between them'],
    ['$context.status $context.status', 'appears twice'],
    ['$context.json $context.status', 'is not an API Gateway variable'],
    ['"$context.identity.userAgent" $context.identity.sourceIp', "make it the format's last variable"],
  ])('refuses %s: %s', (format, error) => {
    const r = SourceDefinition.safeParse({ source: { name: 'x', logGroups: ['x'], builtin: 'apigateway', accessLogFormat: format } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(error);
  });

  it('any format it accepts reads in linear time', () => {
    const variable = fc.constantFrom(
      '$context.identity.sourceIp',
      '$context.requestTime',
      '$context.httpMethod',
      '$context.path',
      '$context.status',
      '$context.requestId',
      '$context.error.message',
      '$context.identity.caller',
      '$context.routeKey',
    );
    const separator = fc.constantFrom(' ', ',', ' - ', ' [', '] "', '" ', '|', '\t', ' "');
    fc.assert(
      fc.property(
        fc.uniqueArray(variable, { minLength: 1, maxLength: 6 }),
        fc.array(separator, { minLength: 6, maxLength: 6 }),
        (vars, seps) => {
          const format = vars.map((v, i) => `${v}${seps[i] ?? ' '}`).join('');
          const compiled = compileAccessLogFormat(format);
          if (!compiled.ok) throw new Error(compiled.error);
          expect(checkRegexSafety(compiled.pattern), format).toMatchObject({ safe: true });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('needs the apigateway parser', () => {
    const r = SourceDefinition.safeParse({ source: { name: 'x', logGroups: ['x'], accessLogFormat: CLF_LIKE } });
    expect(JSON.stringify(r.error?.issues)).toContain('accessLogFormat is read by the apigateway parser');
  });

  it('sixty 403s from one client fire apigw.client_error_burst on it; sixty clients served alone stay quiet', async () => {
    const line = (ip: string, status: number, i: number) =>
      `JRzEqh3zvH${String(i).padStart(5, '0')}=,${status},${ip},${T0 + i * 1000},POST,POST /login,-`;
    expect(await clientErrorBurst(line, normalizerFor(CSV_LIKE))).toEqual({ quiet: [], attack: ['apigw.client_error_burst 203.0.113.77'] });
  });
});

describe('AWS traffic through the detector', () => {
  const awsOnly = (awsAttack: boolean) =>
    generateDemo(20250303, { awsAttack }).payloads.filter((p) => (Object.values(AWS_LOG_GROUPS) as string[]).includes(p.logGroup));

  it('benign automation alone stays quiet: a CI role describing instances all day, ACCEPT-heavy flow logs, a load balancer health-checking its targets, an SSO sign-in, a bucket policy refusing requests without TLS, a function with a steady trickle of handled errors', async () => {
    const detector = new Detector(pack, new MemoryStateStore());
    const normalizer = new Normalizer(pack.sources);
    const told = [];
    for (const p of awsOnly(false)) told.push(...(await processPayload(p, normalizer, detector)).alerts);
    // Nothing for the team or the pager (the pipeline's TLS-only bucket policy names every
    // principal, to deny them: not public); the pipeline's public load balancer opening HTTPS and
    // HTTP to the world is kept for the review digest (a low rule), as any such opening is.
    expect(told.filter((a) => a.tier !== 'review').map((a) => `${a.ruleId} ${a.entity.value}`)).toEqual([]);
    expect(told.map((a) => `${a.ruleId} ${a.entity.value} ${a.tier}`)).toEqual([
      'aws.security_group_web_open_to_world ci-deployer/gh-actions review',
    ]);
  });

  it('with the attack: the compromise, the scan and the timeouts fire', async () => {
    const detector = new Detector(pack, new MemoryStateStore());
    const normalizer = new Normalizer(pack.sources);
    const fired = new Set<string>();
    for (const p of awsOnly(true))
      for (const a of (await processPayload(p, normalizer, detector)).alerts) fired.add(`${a.ruleId} ${a.entity.value}`);
    for (const expected of [
      'aws.console_login_without_mfa m.silva',
      'aws.cloudtrail_tampering m.silva',
      'aws.admin_policy_attached m.silva',
      'aws.iam_credentials_first_time m.silva',
      'aws.new_region 111122223333',
      'vpc.internet_port_scan 203.0.113.9',
      'lambda.timeout_spike checkout-api',
    ]) {
      expect(fired).toContain(expected);
    }
  });
});

describe('role sessions a machine named are their role', () => {
  /** A task of the `checkout-task` role decrypting `names` (the demo's CloudTrail record builder). */
  const record = (session: string, at: string, names: string[]) =>
    cloudTrailRecord(Date.parse(at), { type: 'AssumedRole', name: `checkout-task/${session}` }, 'ssm.amazonaws.com', 'GetParameters', {
      request: { names, withDecryption: true },
    });
  const userOf = (session: string) => {
    const batch = normalizePayload(
      linesPayload('org-audit/management-events', [record(session, '2025-03-03T03:12:40Z', ['/a'])], T0, 1000, TRAIL_STREAM),
      new Normalizer(pack.sources),
      new SkipLedger(),
    );
    return batch[0]?.['user.name'];
  };

  it.each([
    ['an ECS task id', '0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'checkout-task'],
    ['an EC2 instance id', 'i-0123456789abcdef0', 'checkout-task'],
    ['boto3’s default', 'botocore-session-1741000000', 'checkout-task'],
    ['the JavaScript SDK’s default', 'aws-sdk-js-1741000000123', 'checkout-task'],
    ['a UUID', '3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b', 'checkout-task'],
    ['a person', 'alice', 'checkout-task/alice'],
    ['a pipeline', 'GitHubActions', 'checkout-task/GitHubActions'],
    ['a function', 'checkout-api', 'checkout-task/checkout-api'],
  ])('%s (%s) → %s', (_what, session, user) => {
    expect(userOf(session)).toBe(user);
  });

  it('ten tasks of a service decrypting the same twelve parameters at start-up are one alert, not ten; a sweep spread over tasks is counted whole', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `/prod/checkout/p${i}`);
    const taskId = (i: number) => `${String(i).padStart(2, '0')}${'a'.repeat(30)}`;
    const rule = pack.rules.filter((r) => r.id === 'aws.ssm_parameters_harvesting');
    const told = async (lines: string[]) => {
      const detector = new Detector({ rules: rule }, new MemoryStateStore(), { outbreakAfter: 0 });
      const payload = linesPayload('org-audit/management-events', lines, T0, 1000, TRAIL_STREAM);
      return (await processPayload(payload, new Normalizer(pack.sources), detector)).alerts.map((a) => `${a.entity.value} ${a.status}`);
    };
    const startUp = Array.from({ length: 10 }, (_, i) => record(taskId(i), `2025-03-03T03:12:${String(10 + i).padStart(2, '0')}Z`, names));
    expect(await told(startUp)).toEqual(['checkout-task open']);
    // Four tasks each decrypting three parameters of another service: ten or more in all.
    const sweep = Array.from({ length: 4 }, (_, i) =>
      record(
        taskId(i),
        `2025-03-03T03:12:${String(10 + i).padStart(2, '0')}Z`,
        [0, 1, 2].map((k) => `/prod/payments/s${i * 3 + k}`),
      ),
    );
    expect(await told(sweep)).toEqual(['checkout-task open']);
  });
});
