import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { SkipLedger } from '../src/decode/skips';
import { Detector } from '../src/engine/detector';
import { GATE_SAMPLE_EVERY, LineGate, PatternTest } from '../src/engine/line-gate';
import { MemoryStateStore } from '../src/engine/memory-store';
import { normalizePayload, processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { ParseStats } from '../src/parse/parse-stats';
import { compileFilterPattern, filterPasses } from '../src/rules/filter-pattern';
import { linesPayload, rule } from './helpers';

/**
 * The line gate leaves, before normalizing, the lines the group's compiled subscription filter
 * drops (whether the rules decide the same behind it: test/evaluator-equivalence.test.ts), and
 * its sample keeps the parse statistics of what it left.
 */
const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const AUTH_LOG = '/var/log/auth.log';
const failure = (i: number) =>
  `Dec 10 06:55:${String(i % 60).padStart(2, '0')} bastion sshd[24200]: Failed password for root from 203.0.113.9 port 5214${i % 10} ssh2`;
/** Lines of a program no rule of the pack reads, in no shape a parser knows. */
const noise = (i: number) => `pinger tick=${i} queue=ok depth=${i % 7}`;

describe('the line gate', () => {
  it("leaves exactly the lines the group's compiled filter drops", () => {
    const gate = new LineGate(pack.rules, pack.sources, { compileAfter: 0 });
    const { pattern } = compileFilterPattern(AUTH_LOG, pack.rules, pack.sources);
    expect(pattern).not.toBe('');
    const test = gate.forPayload(AUTH_LOG, 1);
    for (const line of [failure(1), noise(1), 'Accepted publickey for deploy from 10.0.0.5 port 22 ssh2']) {
      expect(test?.passes(line) ?? true, line).toBe(filterPasses(pattern, line));
    }
    expect(test?.passes(noise(1))).toBe(false);
    expect(test?.passes(failure(1))).toBe(true);
  });

  it('reads a line in linear time: a key-then-value term is its parts found in order, not a backtracking regex', () => {
    const pattern = '%Failed|[Ss][Tt][Aa][Tt][Uu][Ss].*5[0-9][0-9]|level.*50%';
    const test = new PatternTest(pattern);
    const lines = [
      'Failed password',
      '{"status":503,"path":"/"}',
      '{"STATUS":"ok","code":512}',
      '{"path":"/status","code":200}',
      '{"code":500,"status":200}',
      '{"level":30,"msg":"x50"}',
      '{"level":30}',
      // A line of keys and no value: CloudWatch's regex backtracks over it from every key (4 s at 250 KB).
      `${'status'.repeat(2_000)}`,
      `${'status'.repeat(2_000)} 599`,
    ];
    // On single lines it passes exactly what CloudWatch's regex passes.
    for (const line of lines) expect(test.passes(line), line).toBe(filterPasses(pattern, line));
    expect(lines.map((l) => test.passes(l))).toEqual([true, true, true, false, false, true, false, false, true]);
    // Across a line break (a multi-line event) it passes more than CloudWatch's `.`, never less.
    expect(filterPasses(pattern, 'status\n503')).toBe(false);
    expect(test.passes('status\n503')).toBe(true);
    // Real compiled patterns have such terms: a 5xx rule over a JSON app's lines.
    const fiveHundreds = rule({
      id: 'test.five_hundreds',
      match: { 'http.response.status_code|gte': 500, 'http.response.status_code|lt': 600 },
    });
    const group = '/sentinel-demo/api/status-api';
    const compiled = compileFilterPattern(group, [fiveHundreds], pack.sources).pattern;
    expect(compiled).toBe('%status.*5[0-9][0-9]%');
    const gate = new LineGate([fiveHundreds], pack.sources, { compileAfter: 0 }).forPayload(group, 1);
    for (const line of ['{"status":503}', '{"status":200}', 'GET / 503', `${'"status":'.repeat(2_000)}200`]) {
      expect(gate?.passes(line), line).toBe(filterPasses(compiled, line));
    }
  });

  it('property: terms written in either case, found ignoring case, pass exactly the lines the written pattern passes', () => {
    // Letters in either case, in their own case, digit classes, escaped dots; lines with the
    // characters whose case folding reaches ASCII elsewhere (Kelvin sign, long s, dotless i, İ).
    const letter = fc.constantFrom(...'abcdefgiklmnopqrstuxyz');
    const piece = fc.oneof(
      letter.map((l) => `[${l.toUpperCase()}${l}]`),
      letter,
      letter.map((l) => l.toUpperCase()),
      fc.constantFrom('[0-9]', '\\.', '_', '-', ':', '#', '1', '5'),
    );
    const term = fc.array(piece, { minLength: 2, maxLength: 5 }).map((parts) => parts.join(''));
    const pattern = fc.array(term, { minLength: 1, maxLength: 6 }).map((terms) => `%${terms.join('|')}%`);
    const char = fc.oneof(
      letter,
      letter.map((l) => l.toUpperCase()),
      fc.constantFrom('\u212a', '\u017f', '\u0131', '\u0130', '.', '_', '-', ':', '#', '1', '5', ' ', 'é'),
    );
    const line = fc.array(char, { maxLength: 40 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(pattern, fc.array(line, { minLength: 1, maxLength: 20 }), (p, lines) => {
        const test = new PatternTest(p);
        for (const l of lines) expect(test.passes(l), `${p} on ${l}`).toBe(filterPasses(p, l));
      }),
      { numRuns: 2000 },
    );
    // A term holding the line: every letter in either case, or one in its own case.
    expect(new PatternTest('%[Kk][Mm][Ss]%').passes('KmS key')).toBe(true);
    expect(new PatternTest('%[Kk][Mm][Ss]%').passes('\u212ams key')).toBe(false);
    expect(new PatternTest('%[Kk]m[Ss]%').passes('KMS key')).toBe(false);
  });

  it('has no test, rather than a failed batch, where compiling the pattern throws', () => {
    const broken = rule({ id: 'test.broken', match: { 'event.action': 'x' } });
    Object.defineProperty(broken, 'logGroups', {
      get() {
        throw new Error('unreadable');
      },
    });
    const gate = new LineGate([broken], pack.sources, { compileAfter: 0 });
    expect(gate.forPayload(AUTH_LOG, 1)).toBeUndefined();
    const count = { lines: 0 };
    const events = normalizePayload(linesPayload(AUTH_LOG, [noise(1), failure(2)]), normalizer, new SkipLedger(), undefined, gate, count);
    expect([events.length, count.lines]).toEqual([2, 0]);
  });

  it('has no test for a group some rule reads whole (its filter delivers every line)', () => {
    const everyLine = rule({ id: 'test.every_line', match: { 'message|exists': true } });
    const gate = new LineGate([...pack.rules, everyLine], pack.sources, { compileAfter: 0 });
    expect(gate.forPayload(AUTH_LOG, 1)).toBeUndefined();
  });

  it('tests a group only once it is busy, and only while testing leaves lines', () => {
    const gate = new LineGate(pack.rules, pack.sources);
    // A quiet group is never tested: compiling its pattern would cost more than its lines.
    expect(gate.forPayload(AUTH_LOG, 1_999)).toBeUndefined();
    expect(gate.forPayload(AUTH_LOG, 1)).toBeInstanceOf(PatternTest);
    // Lines the rules read (or a subscription filter already passed): after a thousand tested and
    // none left, the group goes untested for the next 50,000 lines, then is tested again.
    gate.tested(AUTH_LOG, 1_000, 0);
    expect(gate.forPayload(AUTH_LOG, 49_999)).toBeUndefined();
    expect(gate.forPayload(AUTH_LOG, 1)).toBeUndefined();
    expect(gate.forPayload(AUTH_LOG, 10)).toBeInstanceOf(PatternTest);
    // Lines no rule reads: it keeps testing.
    const other = '/var/log/secure';
    gate.forPayload(other, 2_000);
    gate.tested(other, 1_000, 900);
    expect(gate.forPayload(other, 500)).toBeInstanceOf(PatternTest);
    gate.tested(other, 1_000, 50);
    expect(gate.forPayload(other, 500)).toBeUndefined();
  });

  it('decides on the lines it passes what the detector decides on every line, and counts the rest', async () => {
    const lines = Array.from({ length: 100 }, (_, i) => (i % 10 === 0 ? failure(i) : noise(i)));
    const payload = linesPayload(AUTH_LOG, lines);
    const run = async (gate?: LineGate) => processPayload(payload, normalizer, new Detector(pack, new MemoryStateStore()), { gate });
    const gated = await run(new LineGate(pack.rules, pack.sources, { compileAfter: 0 }));
    const whole = await run();
    expect(gated.eventsGated).toBe(90);
    expect(gated.eventsProcessed).toBe(10);
    expect(whole.eventsGated).toBe(0);
    expect(whole.eventsProcessed).toBe(100);
    expect(whole.messages.length).toBeGreaterThan(0);
    expect(gated.matchedEvents).toBe(whole.matchedEvents);
    expect(gated.messages).toEqual(whole.messages);
    expect(gated.eventsIn).toBe(100);
  });

  it('samples the lines it leaves for the parse statistics, each sample standing for the lines after it', () => {
    const lines = Array.from({ length: 100 }, (_, i) => (i < 3 ? failure(i) : noise(i)));
    const gated = new ParseStats();
    const whole = new ParseStats();
    const count = { lines: 0 };
    normalizePayload(
      linesPayload(AUTH_LOG, lines),
      normalizer,
      new SkipLedger(),
      gated,
      new LineGate(pack.rules, pack.sources, { compileAfter: 0 }),
      count,
    );
    normalizePayload(linesPayload(AUTH_LOG, lines), normalizer, new SkipLedger(), whole);
    expect(count.lines).toBe(97);
    // 97 left lines: samples at the 1st, 33rd, 65th and 97th, standing for 32, 32, 32 and 1 lines.
    expect(Math.ceil(97 / GATE_SAMPLE_EVERY)).toBe(4);
    expect(gated.totals).toEqual(whole.totals);
    expect(gated.totals).toMatchObject({ events: 100, unparsed: 97 });
    expect(gated.topShapes(1)[0]?.count).toBe(97);
  });

  it('does not count a left line that does not normalize (as CloudWatch would not have delivered it)', () => {
    const binary = `\u0000\u0001\u0002 ${'\u0003'.repeat(20)}`;
    const stats = new ParseStats();
    const skips = new SkipLedger();
    normalizePayload(
      linesPayload(AUTH_LOG, [binary, noise(1), failure(2)]),
      normalizer,
      skips,
      stats,
      new LineGate(pack.rules, pack.sources, { compileAfter: 0 }),
    );
    expect(skips.events).toBe(0);
    // The binary line was the sample; the noise line it stood for goes uncounted with it.
    expect(stats.totals.events).toBe(1);
  });
});
