import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { workloadPayloads } from '../bench/workload';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { VPC_FLOW_PATTERNS } from '../src/parse/aws-sources';
import { DEFAULT_FLOW_LOG_FORMAT, FLOW_LOG_FIELDS, FlowLogParser, flowLogFormat, parseFlowLogFormat } from '../src/parse/flow-log-format';
import { compileParsers } from '../src/parse/line-parser';
import { Normalizer } from '../src/parse/normalize';
import { formatRuleError } from '../src/rules/rule-pack';
import { SourceDefinition } from '../src/schema/rule';
import { linesPayload } from './helpers';

const ctx = { logGroup: 'vpc/flows', logStream: 'eni-1235b8ca123456789-all', id: '1', timestamp: 1418530100000, owner: '123456789010' };

/** The version 2 regex the split reader replaced, compiled as a custom parser: the reference. */
const reference = (() => {
  const [spec] = VPC_FLOW_PATTERNS;
  if (!spec) throw new Error('no vpcflow pattern');
  const [parser] = compileParsers(['ref'], [{ name: 'ref', pattern: spec.pattern, fields: spec.fields }], 'test');
  if (!parser) throw new Error('no parser');
  return parser;
})();
const split = new FlowLogParser();

const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^\\d{${min},${max}}$`));
const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('-'));
const notAddress = fc.constantFrom('1', 'g.1.2.3', '10.0.0.1/8', '1'.repeat(46), 'fe80::1%eth0');
/** Per default-format field: valid values, and values just outside them. */
const V2_FIELDS: [fc.Arbitrary<string>, fc.Arbitrary<string>][] = [
  [digits(1, 2), fc.oneof(digits(3, 3), fc.constant('-'))],
  [digits(12, 12), fc.oneof(digits(11, 11), digits(13, 13), fc.constant('123456789O12'))],
  [fc.stringMatching(/^eni-[0-9a-f]{8,17}$/), fc.stringMatching(/^(?:eni-(?:[0-9a-f]{7}|[0-9a-f]{18}|[0-9A-F]{8})|-)$/)],
  [address, notAddress],
  [address, notAddress],
  [fc.oneof(digits(1, 5), fc.constant('-')), digits(6, 6)],
  [fc.oneof(digits(1, 5), fc.constant('-')), digits(6, 6)],
  [fc.oneof(digits(1, 3), fc.constant('-')), digits(4, 4)],
  [fc.oneof(digits(1, 20), fc.constant('-')), digits(21, 21)],
  [fc.oneof(digits(1, 20), fc.constant('-')), digits(21, 21)],
  [digits(9, 11), fc.oneof(digits(8, 8), digits(12, 12), fc.constant('-'))],
  [digits(9, 11), fc.oneof(digits(8, 8), digits(12, 12), fc.constant('-'))],
  [fc.constantFrom('ACCEPT', 'REJECT', '-'), fc.constantFrom('accept', 'DROP', 'ACCEPTED')],
  [fc.constantFrom('OK', 'NODATA', 'SKIPDATA'), fc.constantFrom('-', 'ok', 'NODATA2')],
];
/**
 * Default-format records: valid ones, and valid ones with one damage: a value just outside its
 * field, a value that is nothing like it, a value missing or added, or odd spacing.
 */
const v2Line = fc
  .tuple(
    fc.tuple(...V2_FIELDS.map(([valid]) => valid)),
    fc.tuple(...V2_FIELDS.map(([, near]) => near)),
    fc.constantFrom('none', 'near', 'near', 'near', 'junk', 'drop', 'extra', 'double', 'lead', 'trail'),
    fc.nat(13),
    fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('', 'x', '0', 'unknown', 'ACCEPT', 'eni-', '::')),
  )
  .map(([valid, near, damage, at, junk]) => {
    const t = [...valid];
    if (damage === 'near') t[at] = near[at] ?? '';
    if (damage === 'junk') t[at] = junk;
    if (damage === 'drop') t.splice(at, 1);
    if (damage === 'extra') t.splice(at, 0, '6');
    const line = t.join(damage === 'double' ? '  ' : ' ');
    return damage === 'lead' ? ` ${line}` : damage === 'trail' ? `${line} ` : line;
  });

describe('VPC flow records read by splitting', () => {
  it('property: on default-format lines it accepts and writes exactly what the version 2 regex did (account `unknown` aside)', () => {
    fc.assert(
      fc.property(v2Line, (line) => {
        const account = line.split(' ')[1];
        fc.pre(account !== 'unknown');
        const expected = reference.parse(line)?.fields;
        const got = split.parse(line)?.fields;
        expect(got === undefined ? undefined : { ...got }).toEqual(expected === undefined ? undefined : { ...expected });
        // Same fields in the same order: alert evidence lists them as the event holds them.
        if (got && expected) expect(Object.keys(got)).toEqual(Object.keys(expected));
      }),
      { numRuns: 3000 },
    );
  });

  it('counts read exactly as Number() reads them, up to the 20 digits a count may have', () => {
    const counts = [
      '0',
      '7',
      '65535',
      '123456789012345',
      '9007199254740993',
      '12345678901234567',
      '18446744073709551615',
      '99999999999999999999',
    ];
    for (const bytes of counts) {
      const line = `2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 ${bytes} 1418530010 1418530070 ACCEPT OK`;
      expect(split.parse(line)?.fields['network.bytes'], bytes).toBe(Number(bytes));
    }
  });

  it('a record whose account is `-` is not one (the version 2 regex never took it; a property run found the difference)', () => {
    const line = '0 - eni-aa0aaa0a ::0:0:0:0.0.0.0 ::0 0 - 0 0 - 000000000 000000000 ACCEPT OK';
    expect(reference.parse(line)).toBeUndefined();
    expect(split.parse(line)).toBeUndefined();
  });

  it("reads AWS's documented examples: accepted, rejected, no data, skipped, an AWS service's interface", () => {
    const normalizer = new Normalizer([]);
    const read = (line: string) => {
      const r = normalizer.normalize(line, ctx, normalizer.sourceFor(ctx.logGroup, line, ctx.logStream));
      if (!r.ok) throw new Error(r.skip.detail);
      return { event: r.event, parsed: r.parsed };
    };
    const ssh = read('2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK');
    expect(ssh.parsed).toBe(true);
    expect(ssh.event).toMatchObject({
      'event.dataset': 'aws.vpcflow',
      'source.ip': '172.31.16.139',
      'destination.ip': '172.31.16.21',
      'source.port': 20641,
      'destination.port': 22,
      'network.transport': 'tcp',
      'network.bytes': 4249,
      'event.action': 'accept',
      'event.outcome': 'success',
      '@timestamp': 1418530010000,
      'vpcflow.end': 1418530070,
    });
    const rdp = read('2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK');
    expect(rdp.event).toMatchObject({ 'destination.port': 3389, 'vpcflow.action': 'REJECT', 'event.outcome': 'failure' });
    const nodata = read('2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA');
    expect(nodata.parsed).toBe(true);
    expect(nodata.event['vpcflow.log_status']).toBe('NODATA');
    expect(nodata.event['source.address']).toBeUndefined();
    expect(read('2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA').event['vpcflow.log_status']).toBe(
      'SKIPDATA',
    );
    // Interfaces AWS services create are owned by `unknown`: the version 2 regex left these unparsed.
    const endpoint = read('2 unknown eni-1235b8ca123456789 10.0.1.5 10.0.2.9 443 49152 6 10 840 1418530010 1418530070 ACCEPT OK');
    expect(endpoint.parsed).toBe(true);
    expect(endpoint.event['cloud.account.id']).toBe('123456789010'); // the log group's owner, not "unknown"
    expect(endpoint.event['source.ip']).toBe('10.0.1.5');
  });

  it('property: parseOnly takes exactly the lines parse takes, with the wanted fields as parse writes them', () => {
    const fieldNames = Object.values(FLOW_LOG_FIELDS).map((f) => f.field);
    // A custom format with free text (vpc-id, type) among the default's values.
    const custom = new FlowLogParser(
      flowLogFormat(
        'version vpc-id account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action type log-status'.split(
          ' ',
        ),
      ),
    );
    const customLine = fc
      .tuple(v2Line, fc.oneof(fc.constant('-'), fc.string({ minLength: 0, maxLength: 12 })), fc.constantFrom('IPv4', 'IPv6', '-', ''))
      .map(([line, vpc, type]) => {
        const v = line.split(' ');
        v.splice(1, 0, vpc);
        v.splice(v.length - 1, 0, type);
        return v.join(' ');
      });
    const wantedSets = fc.subarray([...fieldNames, 'event.category', 'user.name', 'message']).map((fields) => new Set(fields));
    fc.assert(
      fc.property(
        fc.oneof(
          v2Line.map((l) => [split, l] as const),
          customLine.map((l) => [custom, l] as const),
        ),
        wantedSets,
        ([parser, line], wanted) => {
          const whole = parser.parse(line)?.fields;
          const part = parser.parseOnly(line, wanted);
          expect(part === undefined).toBe(whole === undefined);
          if (!whole || !part) return;
          const expected: Record<string, unknown> = { 'event.category': 'network', 'event.dataset': 'aws.vpcflow' };
          for (const [field, value] of Object.entries(whole)) if (wanted.has(field)) expected[field] = value;
          expect({ ...part }).toEqual(expected);
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('never throws on any line, and takes only lines with one valid value per field', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (line) => {
        const r = split.parse(line);
        if (r) expect(line.split(' ')).toHaveLength(14);
      }),
      { numRuns: 2000 },
    );
  });
});

/** The custom format AWS documents for version 3 fields, and a record of it. */
const V3_FORMAT = flowLogFormat(
  'version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status'.split(
    ' ',
  ),
);
const v3Record = (src: string, dstPort: number, action: 'ACCEPT' | 'REJECT', start = 1566848875) =>
  `3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789012 IPv4 ${src} 10.0.0.62 43416 ${dstPort} ${src} 10.0.0.62 6 568 8 ${start} ${start + 58} ${action} 2 OK`;

const flowSource = (format: string, extra: Record<string, unknown> = {}) =>
  SourceDefinition.parse({
    source: { name: 'vpc-custom', logGroups: ['vpc/custom-*'], builtin: 'vpcflow', flowLogFormat: format, ...extra },
  });

describe('custom flow log formats (flowLogFormat)', () => {
  it('reads a version 3 record into ECS and vpcflow fields', () => {
    const normalizer = new Normalizer([flowSource(V3_FORMAT)]);
    const line = v3Record('52.213.180.42', 5001, 'ACCEPT');
    const r = normalizer.normalize(line, { ...ctx, logGroup: 'vpc/custom-prod' }, normalizer.sourceFor('vpc/custom-prod', line));
    if (!r.ok) throw new Error(r.skip.detail);
    expect(r.parsed).toBe(true);
    expect(r.event).toMatchObject({
      'event.dataset': 'aws.vpcflow',
      'vpcflow.version': '3',
      'vpcflow.vpc_id': 'vpc-abcdefab012345678',
      'vpcflow.subnet_id': 'subnet-aaaaaaaa012345678',
      'cloud.instance.id': 'i-01234567890123456',
      'cloud.account.id': '123456789012',
      'vpcflow.type': 'IPv4',
      'source.ip': '52.213.180.42',
      'destination.port': 5001,
      'vpcflow.pkt_srcaddr': '52.213.180.42',
      'network.bytes': 568,
      'network.packets': 8,
      'vpcflow.tcp_flags': 2,
      'event.action': 'accept',
      '@timestamp': 1566848875000,
    });
    // The default format does not take it (21 values, not 14), nor this format a default record.
    expect(new FlowLogParser().parse(line)).toBeUndefined();
    expect(
      new FlowLogParser(V3_FORMAT).parse('2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA'),
    ).toBeUndefined();
  });

  it('reads version 5 direction and AWS service fields, `-` as absent', () => {
    const format = flowLogFormat(
      'version interface-id srcaddr dstaddr dstport protocol start end action log-status flow-direction pkt-dst-aws-service traffic-path region'.split(
        ' ',
      ),
    );
    const got = new FlowLogParser(format).parse(
      '5 eni-0a1b2c3d4e5f67890 10.0.1.7 52.94.0.10 443 6 1700000000 1700000060 ACCEPT OK egress S3 8 eu-west-1',
    );
    expect(got?.fields).toMatchObject({
      'network.direction': 'egress',
      'vpcflow.pkt_dst_aws_service': 'S3',
      'vpcflow.traffic_path': 8,
      'cloud.region': 'eu-west-1',
    });
    const dashes = new FlowLogParser(format).parse(
      '5 eni-0a1b2c3d4e5f67890 10.0.1.7 10.0.2.8 443 6 1700000000 1700000060 ACCEPT OK ingress - - eu-west-1',
    );
    expect(dashes?.fields['vpcflow.pkt_dst_aws_service']).toBeUndefined();
    expect(dashes?.fields['vpcflow.traffic_path']).toBeUndefined();
    // One value more or less than the format has fields is not a record of it, even where the last field is free text.
    const record = '5 eni-0a1b2c3d4e5f67890 10.0.1.7 10.0.2.8 443 6 1700000000 1700000060 ACCEPT OK ingress - - eu-west-1';
    expect(new FlowLogParser(format).parse(`${record} extra`)).toBeUndefined();
    expect(new FlowLogParser(format).parse(record.slice(0, record.lastIndexOf(' ')))).toBeUndefined();
  });

  it('reads Transit Gateway flow logs', () => {
    const format = flowLogFormat(
      'version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type packets-lost-no-route packets-lost-blackhole flow-direction'.split(
        ' ',
      ),
    );
    const got = new FlowLogParser(format).parse(
      '6 TransitGateway 123456789012 tgw-0123456789abcdef0 tgw-attach-0123456789abcdef0 123456789012 210987654321 vpc-0aaa vpc-0bbb 10.0.1.5 10.1.2.9 49152 443 6 10 840 1700000000 1700000060 OK IPv4 0 0 ingress',
    );
    expect(got?.fields).toMatchObject({
      'vpcflow.resource_type': 'TransitGateway',
      'vpcflow.tgw_id': 'tgw-0123456789abcdef0',
      'vpcflow.tgw_dst_vpc_account_id': '210987654321',
      'source.address': '10.0.1.5',
      'destination.port': 443,
      'vpcflow.packets_lost_no_route': 0,
      'network.direction': 'ingress',
    });
  });

  it('the shipped port scan rule fires on a scan in a custom format', async () => {
    const { pack } = loadPack(['rules']);
    const normalizer = new Normalizer([...pack.sources, flowSource(V3_FORMAT)]);
    const detector = new Detector(pack, new MemoryStateStore());
    const lines = Array.from({ length: 30 }, (_, i) => v3Record('10.0.7.9', 1000 + i, 'REJECT', 1566848875 + i));
    const r = await processPayload(linesPayload('vpc/custom-prod', lines, 1566848875000), normalizer, detector);
    expect(r.parse.totals.unparsed).toBe(0);
    expect(r.alerts.map((a) => `${a.ruleId} ${a.entity.value}`)).toContain('vpc.port_scan_vertical 10.0.7.9');
  });

  it('a bad format fails validation with the file, the field path and the offending field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-flow-'));
    const write = (name: string, source: Record<string, unknown>) => writeFileSync(join(dir, name), JSON.stringify({ source }));
    write('typo.yml', { name: 'typo', logGroups: ['a'], builtin: 'vpcflow', flowLogFormat: flowLogFormat(['version', 'srcadr']) });
    write('bare.yml', { name: 'bare', logGroups: ['b'], builtin: 'vpcflow', flowLogFormat: 'version srcaddr' });
    write('twice.yml', { name: 'twice', logGroups: ['c'], builtin: 'vpcflow', flowLogFormat: flowLogFormat(['srcaddr', 'srcaddr']) });
    write('orphan.yml', { name: 'orphan', logGroups: ['d'], parsers: ['nginx_combined'], flowLogFormat: flowLogFormat(['srcaddr']) });
    const messages = loadPack([dir]).errors.map(formatRuleError);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/typo\.yml: source\.flowLogFormat: unknown flow log field 'srcadr' \(known: version, account-id/),
        expect.stringMatching(/bare\.yml: source\.flowLogFormat: 'version' is not a \$\{field\} reference/),
        expect.stringMatching(/twice\.yml: source\.flowLogFormat: field 'srcaddr' is listed twice/),
        expect.stringMatching(/orphan\.yml: source\.flowLogFormat: flowLogFormat is read by the vpcflow parser/),
      ]),
    );
    expect(messages).toHaveLength(4);
  });

  it('every documented field has a home, and the default format is version 2 in order', () => {
    const parsed = parseFlowLogFormat(DEFAULT_FLOW_LOG_FORMAT);
    expect(parsed.ok && parsed.names).toEqual(Object.keys(FLOW_LOG_FIELDS).slice(0, 14));
    expect(Object.keys(FLOW_LOG_FIELDS)).toHaveLength(42 + 18); // VPC, then Transit Gateway
    const homes = Object.values(FLOW_LOG_FIELDS).map((f) => f.field);
    expect(new Set(homes).size).toBe(homes.length);
  });
});

describe("flow records' own way through normalization (src/parse/flow-lane.ts)", () => {
  /** Both ways' answer for a line, as comparable text: the result, and the event's fields in order. */
  const both = (sources: SourceDefinition[], options: { realDelivery?: boolean } = {}) => {
    const lane = new Normalizer(sources, options);
    const general = new Normalizer(sources, { ...options, flowLane: false });
    return (line: string, logGroup = ctx.logGroup) => {
      const read = (n: Normalizer) => {
        const r = n.normalize(line, { ...ctx, logGroup }, n.sourceFor(logGroup, line, ctx.logStream));
        return JSON.stringify(r.ok ? { ...r, order: Object.keys(r.event) } : r);
      };
      return { lane: read(lane), general: read(general), source: lane.sourceFor(logGroup, line, ctx.logStream) };
    };
  };
  /** How a line around a record may come: as written, or with what the general way handles first. */
  const decorated = fc
    .tuple(v2Line, fc.constantFrom('none', 'none', 'cr', 'ansi', 'bell', 'cri', 'lead', 'newline', 'json'))
    .map(([line, how]) => {
      if (how === 'cr') return `${line}\r`;
      if (how === 'ansi') return `\u001b[32m${line}\u001b[0m`;
      if (how === 'bell') return `${line}\u0007`;
      if (how === 'cri') return `2025-03-03T13:00:00.000000000Z stdout F ${line}`;
      if (how === 'lead') return `\t${line}`;
      if (how === 'newline') return `${line}\n    at trace`;
      if (how === 'json') return JSON.stringify({ log: line });
      return line;
    });

  it('property: any line in a flow log group, damaged or wrapped, normalizes to the same event either way', () => {
    const read = both([]);
    expect(
      read('2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK').source
        .flowLane,
    ).toHaveLength(2);
    fc.assert(
      fc.property(decorated, (line) => {
        const { lane, general } = read(line);
        expect(lane).toBe(general);
      }),
      { numRuns: 3000 },
    );
  });

  it("the benchmark workload's flow records: the lane taken, and every record the same either way", () => {
    const read = both([]);
    const lines = [...workloadPayloads({ events: 20_000, maxEventsPerPayload: 10_000, payloadSpanMs: 3_600_000 })]
      .filter((p) => p.logGroup === 'vpc/prod-flows')
      .flatMap((p) => p.logEvents.map((e) => e.message));
    expect(lines.length).toBeGreaterThan(5_000);
    expect(read(lines[0] ?? '', 'vpc/prod-flows').source.flowLane).toBeDefined();
    for (const line of lines) {
      const { lane, general } = read(line, 'vpc/prod-flows');
      expect(lane).toBe(general);
    }
  });

  it('a strict custom format takes the lane and gives the same events; free text, field maps or constants keep the general way', () => {
    const strict = flowLogFormat(
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action tcp-flags log-status pkt-srcaddr pkt-dstaddr'.split(
        ' ',
      ),
    );
    const record = (start: string) =>
      `5 123456789012 eni-1235b8ca123456789 10.0.0.5 203.0.113.7 443 51000 6 12 4000 ${start} 1566848933 ACCEPT 19 OK 10.0.0.5 -`;
    const group = 'vpc/custom-prod';
    const read = both([flowSource(strict)]);
    expect(read(record('1566848875'), group).source.flowLane).toHaveLength(1);
    // Ten digits are epoch seconds; nine and eleven are not a time the general way reads either.
    for (const start of ['1566848875', '156684887', '15668488750']) {
      const { lane, general } = read(record(start), group);
      expect(lane).toBe(general);
    }
    // With `time: delivery` (in the detector), the line's start is not the event's time either way.
    const delivered = both([flowSource(strict, { time: 'delivery' })], { realDelivery: true });
    const { lane, general } = delivered(record('1566848875'), group);
    expect(lane).toBe(general);
    expect(JSON.parse(lane).event['@timestamp']).toBe(ctx.timestamp);

    expect(both([flowSource(V3_FORMAT)])(v3Record('10.0.0.9', 22, 'ACCEPT'), group).source.flowLane).toBeUndefined();
    expect(
      both([flowSource(strict, { fieldMap: { 'flow.action': 'vpcflow.action' } })])(record('1566848875'), group).source.flowLane,
    ).toHaveLength(1);
    expect(
      both([flowSource(strict, { fieldMap: { 'vpcflow.action': 'event.type' } })])(record('1566848875'), group).source.flowLane,
    ).toBeUndefined();
    expect(both([flowSource(strict, { fields: { 'event.module': 'vpc' } })])(record('1566848875'), group).source.flowLane).toBeUndefined();
    expect(
      both([flowSource(strict, { valueMap: { 'vpcflow.action': { ACCEPT: 'allow' } } })])(record('1566848875'), group).source.flowLane,
    ).toBeUndefined();
  });
});
