import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadRulePackOrThrow, type RulePack } from '../../src/rules/rule-pack';

const RawFiles = z.array(z.object({ file: z.string(), doc: z.unknown() }));

/**
 * Where the files copied next to the handler at synth sit (rules.json, review-routes.json):
 * the bundle's own folder, or SENTINEL_RULES_DIR (tests that run the handler modules unbundled).
 */
export function bundleDir(): string {
  return process.env.SENTINEL_RULES_DIR ?? __dirname;
}

/** The rule pack validated at synth and copied next to the handler as rules.json. */
export function loadEmbeddedRules(dir: string = bundleDir()): RulePack {
  const raw = RawFiles.parse(JSON.parse(readFileSync(join(dir, 'rules.json'), 'utf8')));
  return loadRulePackOrThrow(raw.map((f) => ({ file: f.file, doc: f.doc })));
}
