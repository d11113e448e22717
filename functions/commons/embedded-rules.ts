import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadRulePackOrThrow, type RulePack } from '../../src/rules/rule-pack';

const RawFiles = z.array(z.object({ file: z.string(), doc: z.unknown() }));

/**
 * The rule pack validated at synth and copied next to the handler as rules.json.
 * SENTINEL_RULES_DIR points elsewhere (tests that run the handler modules unbundled).
 */
export function loadEmbeddedRules(dir: string = process.env.SENTINEL_RULES_DIR ?? __dirname): RulePack {
  const raw = RawFiles.parse(JSON.parse(readFileSync(join(dir, 'rules.json'), 'utf8')));
  return loadRulePackOrThrow(raw.map((f) => ({ file: f.file, doc: f.doc })));
}
