import { describe, expect, it } from 'vitest';
import { perturb, scaledRules } from '../bench/rule-scaling';
import { workloadPayloads } from '../bench/workload';
import { loadPack } from '../src/cli/load-pack';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { generateDemo } from '../src/demo/generate';
import { Normalizer } from '../src/parse/normalize';
import { type CompiledRule, compileRule } from '../src/rules/compile';
import { readRuleFiles } from '../src/rules/read-files';
import { indexKeys, RuleIndex } from '../src/rules/rule-index';
import { buildRulePack } from '../src/rules/rule-pack';
import { compileSelection } from '../src/rules/selection';
import type { NormalizedEvent } from '../src/schema/event';
import { DetectionRule } from '../src/schema/rule';
import { decideAll } from './helpers';

/**
 * The rule index, the line gate (and every other fast path of the hot path) may only save work:
 * the detector with them decides exactly what the plain evaluator — every line normalized, every
 * rule's predicate on every event — decides, on the benchmark workload and on the demo.
 */
const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);

const decide = (rules: DetectionRule[], payloads: readonly SubscriptionPayload[], plainMatching: boolean) =>
  decideAll(rules, payloads, normalizer, plainMatching, plainMatching ? undefined : pack.sources);

describe('indexed and plain evaluation decide the same', () => {
  it('on the benchmark workload with 300 rules (shipped rules and disjoint variants)', async () => {
    const payloads = [...workloadPayloads({ events: 30_000, maxEventsPerPayload: 10_000, payloadSpanMs: 3_600_000 })];
    const rules = scaledRules(pack.rules, 300);
    const indexed = await decide(rules, payloads, false);
    const plain = await decide(rules, payloads, true);
    expect(indexed.messages.length).toBeGreaterThan(20);
    expect(indexed.matched).toBe(plain.matched);
    expect(indexed.messages).toEqual(plain.messages);
    expect([indexed.reads, indexed.writes]).toEqual([plain.reads, plain.writes]);
  }, 120_000);

  it("on the benchmark workload with the shipped rules, whose filters leave most of a Lambda function's lines", async () => {
    const payloads = [...workloadPayloads({ events: 30_000, maxEventsPerPayload: 10_000, payloadSpanMs: 3_600_000 })];
    const gatedAndIndexed = await decide(pack.rules, payloads, false);
    const plain = await decide(pack.rules, payloads, true);
    // The gate left lines (the function's platform and request lines no rule reads), and none that mattered.
    expect(gatedAndIndexed.gated).toBeGreaterThan(2000);
    expect(plain.gated).toBe(0);
    expect(gatedAndIndexed.messages.length).toBeGreaterThan(20);
    expect(gatedAndIndexed.matched).toBe(plain.matched);
    expect(gatedAndIndexed.messages).toEqual(plain.messages);
    expect([gatedAndIndexed.reads, gatedAndIndexed.writes]).toEqual([plain.reads, plain.writes]);
  }, 120_000);

  it('on the demo as delivered', async () => {
    const { payloads } = generateDemo();
    const indexed = await decide(pack.rules, payloads, false);
    const plain = await decide(pack.rules, payloads, true);
    expect(indexed.messages.length).toBeGreaterThan(30);
    expect(indexed.gated).toBeGreaterThan(100);
    expect(indexed.messages).toEqual(plain.messages);
  }, 120_000);

  it('on the demo with the lists a deployment fills: its scanners left out, its projects named sensitive', async () => {
    const { payloads } = generateDemo();
    const filled = buildRulePack([
      ...readRuleFiles(['rules']).files,
      { file: 'mine/authorized_scanners.yml', doc: { list: 'authorized_scanners', add: ['203.0.113.80/32', '10.0.2.77/32'], reason: 'r' } },
      { file: 'mine/sensitive_projects.yml', doc: { list: 'sensitive_projects', add: ['payroll', 'hr-*', 'web'], reason: 'r' } },
    ]);
    expect(filled.errors).toEqual([]);
    const indexed = await decide(filled.pack.rules, payloads, false);
    const plain = await decide(filled.pack.rules, payloads, true);
    expect(indexed.messages).toEqual(plain.messages);
    // The lists changed what is told: the scanners' sweep and forbidden burst are gone.
    const shipped = await decide(pack.rules, payloads, false);
    const about = (messages: string[], text: string) => messages.filter((m) => m.includes(text)).length;
    expect(about(shipped.messages, '"value":"203.0.113.80"')).toBeGreaterThan(0);
    expect(about(indexed.messages, '"value":"203.0.113.80"')).toBe(0);
    expect(about(shipped.messages, '"ruleId":"vpc.port_scan_horizontal"')).toBeGreaterThan(0);
    expect(about(indexed.messages, '"ruleId":"vpc.port_scan_horizontal"')).toBe(0);
  }, 120_000);

  it('index keys are necessary conditions: an event a rule matches always reaches it through the index', () => {
    const cases: [Record<string, unknown>, NormalizedEvent, boolean][] = [
      [{ 'http.response.status_code|gte': 500, 'http.response.status_code|lt': 600 }, { 'http.response.status_code': '503' }, true],
      [{ 'http.response.status_code|gte': 500, 'http.response.status_code|lt': 600 }, { 'http.response.status_code': 600 }, false],
      [{ any: [{ 'event.action': 'x' }, { 'message|contains': ['History -C'] }] }, { message: 'bash: HISTORY -c' }, true],
      [{ any: [{ 'event.action': 'x' }, { 'message|contains': ['History -C'] }] }, { 'event.action': 'X' }, true],
      [{ 'message|contains|all': ['a1', 'b2'] }, { message: 'b2 a1' }, true],
      // Lower-casing maps the Kelvin sign to k: the index must not miss what the predicate sees.
      [{ 'message|contains': 'kill -9' }, { message: 'sudo \u212AILL -9 1' }, true],
      [{ 'message|contains': 'kill -9' }, { message: 'sudo KILL -8 1' }, false],
      [{ 'message|endswith': '.php', 'url.path|startswith': '/wp' }, { message: 'GET /x.PHP', 'url.path': '/wp-admin' }, true],
      [{ 'user.name|cased': 'Root' }, { 'user.name': 'Root' }, true],
      [{ 'source.ip|cidr': '10.0.0.0/8' }, { 'source.ip': '10.1.2.3' }, true],
      [{ 'source.ip|cidr': '10.0.0.0/8' }, { 'source.ip': '11.1.2.3' }, false],
      [{ 'source.ip|cidr': '10.0.0.0/8' }, { 'source.ip': '::ffff:10.1.2.3' }, true], // IPv4-mapped IPv6
      [{ 'source.ip|cidr': ['192.168.0.0/16', '2001:db8::/32'] }, { 'source.ip': '2001:db8::7' }, true],
      [{ 'source.ip|cidr': '10.0.0.0/8' }, { 'source.ip': 'not-an-address' }, false],
      [{ 'source.ip|cidr|all': ['10.0.0.0/8', '10.1.0.0/16'] }, { 'source.ip': '10.1.2.3' }, true],
      [{ 'source.ip|cidr|all': ['10.0.0.0/8', '10.1.0.0/16'] }, { 'source.ip': '10.2.2.3' }, false],
      // Sigma's web rules: a weak GET beside an `any` of attack strings is filed under the strings, but only
      // when every branch has a key (the |re branch has none, so the rule stays under GET).
      [
        { 'http.request.method': 'GET', any: [{ 'url.query|contains': 'union select' }, { 'url.query|wildcard': '*sleep(*)*' }] },
        { 'http.request.method': 'GET', 'url.query': 'id=SLEEP(5)' },
        true,
      ],
      [
        { 'http.request.method': 'GET', any: [{ 'url.query|contains': 'union select' }, { 'url.query|re': 'sleep\\(' }] },
        { 'http.request.method': 'GET', 'url.query': 'id=sleep(5)' },
        true,
      ],
      [{ 'message|wildcard': '*Trojan*FOUND*' }, { message: 'clamd: /tmp/x: Win.Trojan.Agent FOUND' }, true],
      [{ 'message|wildcard|cased': '*Trojan*FOUND*' }, { message: 'clamd: /tmp/x: win.trojan.agent found' }, false],
      // Numbers are looked up as numbers: a key equals a number when it is the number's own text.
      [{ 'destination.port': '443' }, { 'destination.port': 443 }, true],
      [{ 'destination.port': '0443' }, { 'destination.port': 443 }, false],
      [{ 'destination.port': 22 }, { 'destination.port': '22' }, true],
      [{ 'network.bytes': '1e3' }, { 'network.bytes': 1000 }, false],
      [{ 'network.bytes': 1e21 }, { 'network.bytes': 1e21 }, true],
      [{ 'network.bytes': '-0' }, { 'network.bytes': -0 }, false],
      [{ 'network.bytes': 0 }, { 'network.bytes': -0 }, true],
      // Presence: filed under the field, since a weak equality (every event has an outcome) selects more.
      [{ 'event.outcome': 'success', 'event.provider|exists': true }, { 'event.outcome': 'success', 'event.provider': 'ec2' }, true],
      [{ 'event.outcome': 'success', 'event.provider|exists': true }, { 'event.outcome': 'success' }, false],
      [{ 'event.provider|exists': false, 'event.outcome': 'success' }, { 'event.outcome': 'SUCCESS' }, true],
      // A named list with no values yet (its key keeps |expand): no event meets it, and `not:` of it every event.
      [{ 'source.ip|cidr|expand': [] }, { 'source.ip': '10.1.2.3' }, false],
      [{ 'source.ip|exists': true, not: { 'source.ip|cidr|expand': [] } }, { 'source.ip': '10.1.2.3' }, true],
      [
        { 'event.action': 'x', any: [{ 'resource.sensitivity': 'high' }, { 'resource.name|wildcard|expand': [] }] },
        { 'event.action': 'x', 'resource.sensitivity': 'high' },
        true,
      ],
      [
        { 'event.action': 'x', any: [{ 'resource.sensitivity': 'high' }, { 'resource.name|wildcard|expand': [] }] },
        { 'event.action': 'x', 'resource.name': 'PAYROLL' },
        false,
      ],
      [
        { 'event.action': 'x', any: [{ 'resource.sensitivity': 'high' }, { 'resource.name|wildcard': ['payroll', 'hr-*'] }] },
        { 'event.action': 'x', 'resource.name': 'HR-1' },
        true,
      ],
    ];
    for (const [selection, event, matches] of cases) {
      const rule = compileRule(
        DetectionRule.parse({
          id: 'test.rule',
          title: 't',
          description: 'd',
          severity: 'low',
          riskScore: 1,
          runbook: 'r',
          match: selection,
        }),
      );
      const viaIndex: CompiledRule[] = [];
      new RuleIndex([rule]).match(event, viaIndex);
      expect(compileSelection(selection).predicate(event), JSON.stringify(selection)).toBe(matches);
      expect(viaIndex.length, JSON.stringify(selection)).toBe(matches ? 1 : 0);
    }
    expect(indexKeys({ 'source.ip|cidr': '10.0.0.0/8' })).toEqual([{ kind: 'cidr', field: 'source.ip', cidrs: ['10.0.0.0/8'] }]);
    expect(indexKeys({ 'source.ip|cidr': 'not/a/cidr' })).toBeUndefined(); // no key: runs on every event
    // A common value is a weak key; a rare value of the same field is a good one.
    expect(indexKeys({ 'event.outcome': 'success', 'event.provider|exists': true })).toEqual([{ kind: 'exists', field: 'event.provider' }]);
    expect(indexKeys({ 'log.level': ['error', 'fatal'], 'faas.name|exists': true })).toEqual([
      { kind: 'eq', field: 'log.level', values: ['error', 'fatal'] },
    ]);
    expect(indexKeys({ 'event.dataset': 'aws.vpcflow', 'vpcflow.action': 'REJECT' })).toEqual([
      { kind: 'eq', field: 'vpcflow.action', values: ['reject'] },
    ]);
    expect(indexKeys({ 'event.dataset': 'aws.vpcflow', 'vpcflow.action': 'ACCEPT' })).toEqual([
      { kind: 'eq', field: 'event.dataset', values: ['aws.vpcflow'] },
    ]);
    // A CloudTrail call is filed under its name, not under its service (most records are of a few services).
    expect(indexKeys({ 'event.provider': 'ec2.amazonaws.com', 'event.action': 'DeleteFlowLogs' })).toEqual([
      { kind: 'eq', field: 'event.action', values: ['deleteflowlogs'] },
    ]);
    // A success status and a size above zero select nearly every request: the file names filter better.
    expect(indexKeys({ 'http.response.status_code': [200, 206], 'http.response.body.bytes|gt': 0, 'url.path|endswith': '/.env' })).toEqual([
      { kind: 'text', field: 'url.path', needles: ['/.env'] },
    ]);
    expect(indexKeys({ 'http.response.status_code': 403, 'url.path|endswith': '/.env' })).toEqual([
      { kind: 'eq', field: 'http.response.status_code', values: ['403'] },
    ]);
    // A size above zero is still a key when nothing better is offered; a bounded range is a good one.
    expect(indexKeys({ 'http.response.body.bytes|gt': 0 })).toEqual([
      {
        kind: 'range',
        field: 'http.response.body.bytes',
        low: 0,
        lowInclusive: false,
        high: Number.POSITIVE_INFINITY,
        highInclusive: true,
      },
    ]);
    expect(indexKeys({ 'http.response.status_code|gte': 500, 'url.path|contains': '/api/' })).toEqual([
      {
        kind: 'range',
        field: 'http.response.status_code',
        low: 500,
        lowInclusive: true,
        high: Number.POSITIVE_INFINITY,
        highInclusive: true,
      },
    ]);
    // Presence of a field every event carries selects nothing: no key.
    expect(indexKeys({ 'message|exists': true })).toBeUndefined();
    // A variant's literals all change: it selects none of what its original selects.
    const original = { 'event.action': 'ssh_login', 'event.outcome': 'failure', 'network.packets|gte': 10, 'mfa.used': false };
    const event: NormalizedEvent = { 'event.action': 'ssh_login', 'event.outcome': 'failure', 'network.packets': 50, 'mfa.used': false };
    expect(compileSelection(original).predicate(event)).toBe(true);
    expect(compileSelection(perturb(original, 3)).predicate(event)).toBe(false);
  });
});
