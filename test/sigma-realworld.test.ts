import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ImportResult, importSigma } from '../src/cli/import-sigma';
import { loadPack } from '../src/cli/load-pack';
import { runDetectionRuleTests } from '../src/rules/rule-tests';
import { DEFAULT_SIGMA_MAPPING } from '../src/sigma/default-mapping';

/**
 * The public SigmaHQ rule folders (../shared/realworld/sigma, DRL 1.1; read here, never copied
 * into the repository): how much converts, and that everything written validates and passes
 * its generated tests.
 */
const SIGMA = resolve(__dirname, '../../shared/realworld/sigma/rules');
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
