import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ImportResult, importSigma } from '../src/cli/import-sigma';
import { loadPack } from '../src/cli/load-pack';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { generateDemo } from '../src/demo/generate';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { Normalizer } from '../src/parse/normalize';
import { runDetectionRuleTests } from '../src/rules/rule-tests';
import { findNearMiss, findWitness } from '../src/rules/witness';
import { CoreFields, type NormalizedEvent } from '../src/schema/event';
import { DEFAULT_SIGMA_MAPPING } from '../src/sigma/default-mapping';
import { decideAll } from './helpers';

/**
 * The public SigmaHQ rule folders (../shared/realworld/sigma, DRL 1.1; read here, never copied
 * into the repository): how much converts, and that everything written validates and passes
 * its generated tests.
 */
const SIGMA = resolve(__dirname, '../../shared/realworld/sigma/rules');
const LOGS = resolve(__dirname, '../../shared/realworld/logs');
const present = existsSync(SIGMA);
if (!present) console.warn(`SigmaHQ rules not found at ${SIGMA}: these tests are skipped (see ../shared/realworld/README.md)`);

const FOLDERS: [folder: string, atLeast: number][] = [
  ['linux', 60],
  ['web', 38],
  ['cloud/aws', 54],
];

describe.skipIf(!present)('Sigma import over the SigmaHQ folders', () => {
  it.each(FOLDERS)(
    '%s: at least %i rules convert, validate and pass their generated tests',
    async (folder, atLeast) => {
      const out = mkdtempSync(join(tmpdir(), 'sigmahq-'));
      const result: ImportResult = await importSigma([join(SIGMA, folder)], out, DEFAULT_SIGMA_MAPPING, { withTests: true });
      expect(result.written.length).toBeGreaterThanOrEqual(atLeast);
      // Everything skipped says why; nothing written fails the validator (ReDoS check included).
      for (const s of result.skipped) expect(s.reason.length, s.file).toBeGreaterThan(10);
      const { pack, errors } = loadPack(['rules', out], { checkRegexes: true });
      expect(errors).toEqual([]);
      const imported = pack.rules.filter((r) => r.id.startsWith('sigma.'));
      expect(imported).toHaveLength(result.written.length);
      // Generated tests exist for nearly every rule (regex conditions need hand-written ones) and pass.
      expect(result.untested.length).toBeLessThanOrEqual(Math.ceil(result.written.length * 0.05));
      for (const rule of imported) {
        const failed = (await runDetectionRuleTests(rule, pack)).filter((r) => !r.passed);
        expect(failed, rule.id).toEqual([]);
      }
    },
    120_000,
  );
});

/** A real log file as CloudWatch payloads of 500 lines (one stream, times from the lines). */
function logPayloads(file: string, logGroup: string): SubscriptionPayload[] {
  const lines = readFileSync(join(LOGS, file), 'utf8').split('\n').filter(Boolean);
  const payloads: SubscriptionPayload[] = [];
  for (let i = 0; i < lines.length; i += 500)
    payloads.push({
      messageType: 'DATA_MESSAGE',
      owner: '111122223333',
      logGroup,
      logStream: file,
      subscriptionFilters: [],
      logEvents: lines
        .slice(i, i + 500)
        .map((message, j) => ({ id: `${file}-${i + j}`, timestamp: Date.parse('2025-03-03T00:00:00Z'), message })),
    });
  return payloads;
}

describe.skipIf(!present || !existsSync(join(LOGS, 'apache_access_10k.log')))('the rule index with real Sigma rules', () => {
  it('gives nearly every imported rule a key, and decides exactly what the plain evaluator decides on the demo and real logs', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sigmahq-'));
    await importSigma(
      FOLDERS.map(([folder]) => join(SIGMA, folder)),
      out,
      DEFAULT_SIGMA_MAPPING,
      { withTests: false },
    );
    const { pack } = loadPack(['rules', out], { checkRegexes: false });
    const imported = pack.rules.filter((r) => r.id.startsWith('sigma.'));
    expect(imported.length).toBeGreaterThan(150);
    // Real Sigma rules lean on `any`, wildcards and a weak `GET` next to their attack strings: a rule without a key runs on every event.
    const unkeyed = new Detector({ rules: imported }, new MemoryStateStore()).ruleSet.rules.filter((r) => !r.indexKeys);
    expect(unkeyed.map((r) => r.rule.id).length).toBeLessThanOrEqual(2);

    const normalizer = new Normalizer(pack.sources);
    const payloads = [
      ...generateDemo().payloads,
      ...logPayloads('apache_access_10k.log', '/sentinel-demo/web/nginx'),
      ...logPayloads('OpenSSH_2k.log', '/sentinel-demo/bastion/sshd'),
      ...logPayloads('Linux_2k.log', '/var/log/messages'),
    ];
    // Per rule, an event its selection matches and a near miss (found from the selection alone, not
    // through the detector): the index must hand each to exactly the rules the plain evaluator finds.
    const byIndex = new Detector({ rules: pack.rules }, new MemoryStateStore());
    const byPlain = new Detector({ rules: pack.rules }, new MemoryStateStore(), { plainMatching: true });
    const matchedIds = (d: Detector, events: NormalizedEvent[]) =>
      [...d.matchAll(events)].map(([r, list]) => `${r.rule.id}:${list.length}`).sort();
    let witnessed = 0;
    for (const rule of imported) {
      const witness = findWitness(rule.match);
      if (!witness.ok) continue;
      witnessed++;
      const nearMiss = findNearMiss(rule.match, witness.event);
      // In a log group the rule reads (imported rules name their logsource's groups).
      const logGroup = (rule.logGroups?.[0] ?? '/any').replaceAll('*', 'x');
      const events = [witness.event, ...(nearMiss.ok ? [nearMiss.event] : [])].map((e) => ({ ...e, [CoreFields.logGroup]: logGroup }));
      expect(matchedIds(byPlain, [events[0] ?? {}]), `${rule.id} matches its witness`).toContain(`${rule.id}:1`);
      for (const e of events) expect(matchedIds(byIndex, [e]), rule.id).toEqual(matchedIds(byPlain, [e]));
    }
    expect(witnessed).toBeGreaterThan(imported.length * 0.9);

    const indexed = await decideAll(pack.rules, payloads, normalizer, false);
    const plain = await decideAll(pack.rules, payloads, normalizer, true);
    expect(indexed.matched).toBeGreaterThan(1000);
    expect(indexed.matched).toBe(plain.matched);
    expect(indexed.messages).toEqual(plain.messages);
    expect([indexed.reads, indexed.writes]).toEqual([plain.reads, plain.writes]);
  }, 180_000);
});
