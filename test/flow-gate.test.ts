import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scaledRules } from '../bench/rule-scaling';
import { workloadPayloads } from '../bench/workload';
import { loadPack } from '../src/cli/load-pack';
import { FlowRecordTest } from '../src/engine/flow-gate';
import { LineGate } from '../src/engine/line-gate';
import { processPayload } from '../src/engine/pipeline';
import { FIELDS_AFTER_START } from '../src/parse/flow-lane';
import { type CompiledSource, type LogContext, Normalizer } from '../src/parse/normalize';
import { compileRule } from '../src/rules/compile';
import type { NormalizedEvent } from '../src/schema/event';
import { decideAll, detector, linesPayload, rule } from './helpers';

/**
 * The line gate's test of flow records (src/engine/flow-gate.ts) may only save work: a record it
 * leaves matches no rule once normalized, and what it reads of a record before the record is
 * finished is what the finished event holds.
 */
const { pack } = loadPack(['rules'], { checkRegexes: false });
const GROUP = 'vpc/flows';
const STREAM = 'eni-1235b8ca123456789-all';
const ctx: LogContext = { logGroup: GROUP, logStream: STREAM, id: '1', timestamp: 1418530100000, owner: '123456789010' };
const SAMPLE = '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK';

const record = (fields: { src?: string; dst?: string; dport?: string; action?: string; account?: string }) =>
  [
    '2',
    fields.account ?? '123456789010',
    'eni-1235b8ca123456789',
    fields.src ?? '172.31.16.139',
    fields.dst ?? '172.31.16.21',
    '20641',
    fields.dport ?? '443',
    '6',
    '20',
    '4249',
    '1418530010',
    '1418530070',
    fields.action ?? 'ACCEPT',
    'OK',
  ].join(' ');

/** The vpcflow source a normalizer reads the group's records with (recognized by content). */
function flowSource(normalizer: Normalizer): CompiledSource {
  const source = normalizer.sourceFor(GROUP, SAMPLE, STREAM);
  expect(source.flowLane).toBeDefined();
  return source;
}

const flowRule = (id: string, match: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  rule({ id: `test.${id}`, match, ...extra });

/** Records of every kind a flow log writes: inside and outside addresses, admin and other ports, refused or not, other accounts. */
const records = fc
  .record({
    src: fc.oneof(fc.constantFrom('10.0.2.27', '172.31.16.139', '192.168.1.5', '-'), fc.ipV4(), fc.ipV6()),
    dst: fc.oneof(fc.constantFrom('10.0.1.6', '172.31.16.21', '-'), fc.ipV4(), fc.ipV6()),
    dport: fc.oneof(
      fc.constantFrom('21', '22', '23', '80', '443', '445', '3389', '5985', '-'),
      fc.integer({ min: 0, max: 65535 }).map(String),
    ),
    action: fc.constantFrom('ACCEPT', 'ACCEPT', 'REJECT', '-'),
    account: fc.constantFrom('123456789010', '111122223333'),
  })
  .map(record);

describe('flow records the line gate leaves (src/engine/flow-gate.ts)', () => {
  it('property: a record the test leaves matches no rule, with the shipped rules or a thousand varied ones; most benign traffic is left', () => {
    const normalizer = new Normalizer(pack.sources, { accountsFor: new Set(['123456789010']) });
    const source = flowSource(normalizer);
    for (const rules of [pack.rules, scaledRules(pack.rules, 1000)]) {
      const test = FlowRecordTest.compile(rules, source);
      if (!test) throw new Error('the shipped rules leave no flow record');
      const compiled = rules.filter((r) => !r.disabled).map(compileRule);
      let left = 0;
      fc.assert(
        fc.property(records, (line) => {
          // The part of the start the test reads, as the line gate reads it (and the whole start decides alike).
          expect(test.part?.derive).toBe(true);
          const start = normalizer.flowRecordStart(line, GROUP, source, test.part);
          const whole = normalizer.flowRecordStart(line, GROUP, source);
          if (!start || !whole) throw new Error(`not a record: ${line}`);
          expect(test.mayMatch(start)).toBe(test.mayMatch(whole));
          if (test.mayMatch(start)) return;
          left++;
          const r = normalizer.normalize(line, ctx, source);
          if (!r.ok) throw new Error(r.skip.detail);
          expect(compiled.filter((c) => c.predicate(r.event)).map((c) => c.rule.id)).toEqual([]);
        }),
        { numRuns: 2000 },
      );
      expect(left).toBeGreaterThan(200);
      // Accepted traffic to a web port from inside the network: nothing any rule looks for.
      expect(test.mayMatch(normalizer.flowRecordStart(record({ dport: '443' }), GROUP, source) ?? {})).toBe(false);
    }
  });

  it("a record's start holds what its finished event holds, but for the fields written after it", () => {
    const normalizer = new Normalizer(pack.sources, { accountsFor: new Set(['123456789010']) });
    const source = flowSource(normalizer);
    const workload = [...workloadPayloads({ events: 20_000, maxEventsPerPayload: 10_000, payloadSpanMs: 3_600_000 })]
      .filter((p) => p.logGroup === 'vpc/prod-flows')
      .flatMap((p) => p.logEvents.map((e) => e.message));
    expect(workload.length).toBeGreaterThan(1000);
    const early = (event: NormalizedEvent) => Object.fromEntries(Object.entries(event).filter(([k]) => !FIELDS_AFTER_START.has(k)));
    const check = (line: string) => {
      const start = normalizer.flowRecordStart(line, GROUP, source);
      if (!start) throw new Error(`not a record: ${line}`);
      const r = normalizer.normalize(line, ctx, source);
      if (!r.ok) throw new Error(r.skip.detail);
      expect(early(start)).toEqual(early(r.event));
    };
    for (const line of workload) check(line);
    fc.assert(fc.property(records, check), { numRuns: 1000 });
    // A line the lane would not take has no start: the general way reads it.
    for (const line of [
      `${SAMPLE}\u0007`,
      `2025-03-03T13:00:00.000000000Z stdout F ${SAMPLE}`,
      JSON.stringify({ log: SAMPLE }),
      'not a record',
    ]) {
      expect(normalizer.flowRecordStart(line, GROUP, source)).toBeUndefined();
    }
    expect(new Normalizer([], { flowLane: false }).flowRecordStart(SAMPLE, GROUP, source)).toBeUndefined();
  });

  it("the flow source's derivation reads only the fields it declares (deriveReads): the gate derives a record's part from them", () => {
    const normalizer = new Normalizer(pack.sources);
    const source = flowSource(normalizer);
    const { derive, deriveReads } = source;
    if (!derive || !deriveReads) throw new Error('the flow source declares what its derivation reads');
    fc.assert(
      fc.property(records, (line) => {
        const whole = source.flowLane?.[0]?.parse(line)?.fields;
        if (!whole) throw new Error(`not a record: ${line}`);
        const part: NormalizedEvent = {};
        for (const field of deriveReads) if (whole[field] !== undefined) part[field] = whole[field];
        derive(whole, GROUP);
        derive(part, GROUP);
        for (const field of source.derives ?? []) expect(part[field], field).toEqual(whole[field]);
      }),
      { numRuns: 1000 },
    );
  });

  it('decides each rule on its conditions a record alone settles, and gives up on a rule with none', () => {
    const normalizer = new Normalizer();
    const source = flowSource(normalizer);
    const start = (fields: Parameters<typeof record>[0]) => normalizer.flowRecordStart(record(fields), GROUP, source) ?? {};
    const ssh = flowRule('ssh', { 'event.dataset': 'aws.vpcflow', 'destination.port': [22], 'source.ip|cidr': '10.0.0.0/8' });
    const refused = flowRule('refused', { not: { 'vpcflow.action': 'ACCEPT' } });
    // Conditions every record settles alike: a login (no record is one), a log level (no record has one).
    const login = flowRule('login', { 'event.category': 'authentication' });
    const level = flowRule('level', { 'log.level': 'error' });
    const off = flowRule('off', { 'destination.port': 443 }, { disabled: true });

    const test = FlowRecordTest.compile([ssh, refused, login, level, off], source);
    expect(test).toBeDefined();
    expect(test?.mayMatch(start({ dport: '22' }))).toBe(true); // its address is decided later, by the rule itself
    expect(test?.mayMatch(start({ dport: '22', src: '203.0.113.9' }))).toBe(true);
    expect(test?.mayMatch(start({ dport: '443' }))).toBe(false);
    expect(test?.mayMatch(start({ dport: '443', action: 'REJECT' }))).toBe(true);
    expect(test?.mayMatch(start({ dport: '443', action: '-' }))).toBe(true);
    // Only conditions no record can meet: every record is left.
    expect(FlowRecordTest.compile([login, level], source)?.mayMatch(start({ dport: '22' }))).toBe(false);
    // A rule whose every condition waits for the delivery (an address as an IP, a service, an account) reads every record.
    expect(FlowRecordTest.compile([ssh, flowRule('inside', { 'source.ip|cidr': '10.0.0.0/8' })], source)).toBeUndefined();
    expect(FlowRecordTest.compile([flowRule('svc', { 'service.name': 'vpc/flows' })], source)).toBeUndefined();
    // A source that reads no flow records has no such test.
    expect(FlowRecordTest.compile([ssh], normalizer.sourceFor('/app', 'hello'))).toBeUndefined();
    // The line is the record's message: a rule on its text is decided on it.
    const text = FlowRecordTest.compile([flowRule('text', { 'message|contains': 'eni-0000dead' })], source);
    expect(text?.mayMatch(start({}))).toBe(false);
    expect(
      text?.mayMatch(normalizer.flowRecordStart(SAMPLE.replace('eni-1235b8ca123456789', 'eni-0000deadbeef'), GROUP, source) ?? {}),
    ).toBe(true);
  });

  it('leaves the benign records of a flow log group before they are normalized, and decides the same', async () => {
    const lines = [
      ...Array.from({ length: 40 }, (_, i) => record({ dport: String(8000 + i) })),
      // An internal host refused on ports it sweeps: a scan.
      ...Array.from({ length: 40 }, (_, i) => record({ src: '10.0.9.9', dst: '10.0.1.6', dport: String(20 + i), action: 'REJECT' })),
      'a line no flow format takes',
    ];
    const payload = linesPayload(GROUP, lines, ctx.timestamp, 1000, STREAM);
    const normalizer = new Normalizer(pack.sources);
    const gate = new LineGate(pack.rules, pack.sources, { compileAfter: 0 });
    // The group's source is known once a line of it was read.
    normalizer.sourceFor(GROUP, SAMPLE, STREAM);
    const test = gate.forPayload(GROUP, lines.length, normalizer);
    const source = flowSource(normalizer);
    expect(test?.passes(record({ dport: '8080' }), source)).toBe(false);
    expect(test?.passes(record({ dport: '8080', action: 'REJECT' }), source)).toBe(true);

    const gated = await processPayload(payload, normalizer, detector(pack.rules), {
      gate: new LineGate(pack.rules, pack.sources, { compileAfter: 0 }),
    });
    const plain = await processPayload(payload, new Normalizer(pack.sources), detector(pack.rules));
    expect(gated.eventsGated).toBe(40);
    expect(gated.messages.map((m) => JSON.stringify(m))).toEqual(plain.messages.map((m) => JSON.stringify(m)));
    expect(gated.matchedEvents).toBe(plain.matchedEvents);
    expect(gated.alerts.map((a) => a.ruleId)).toContain('vpc.port_scan_vertical');
    // The left records still count in the group's parse statistics, a sample standing for the rest.
    expect(gated.parse.toJSON()).toEqual(plain.parse.toJSON());
  });

  it('the demo and the benchmark decide the same behind the gate, which now leaves flow records', async () => {
    const payloads = [...workloadPayloads({ events: 20_000, maxEventsPerPayload: 10_000, payloadSpanMs: 3_600_000 })];
    const normalizer = new Normalizer(pack.sources);
    const gated = await decideAll(pack.rules, payloads, normalizer, false, pack.sources);
    const plain = await decideAll(pack.rules, payloads, new Normalizer(pack.sources), true);
    const flows = payloads.filter((p) => p.logGroup === 'vpc/prod-flows').reduce((n, p) => n + p.logEvents.length, 0);
    expect(gated.gated).toBeGreaterThan(flows * 0.9);
    expect(gated.messages).toEqual(plain.messages);
    expect([gated.reads, gated.writes]).toEqual([plain.reads, plain.writes]);
  }, 120_000);
});
