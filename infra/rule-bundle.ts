import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPack } from '../src/cli/load-pack';
import { readRuleFiles } from '../src/rules/read-files';
import { formatRuleError, type RulePack } from '../src/rules/rule-pack';
import { scratchDir } from '../src/runtime/scratch-dir';
import { SynthInputError } from './config';

export interface RuleBundle {
  pack: RulePack;
  /** JSON file of the raw rule files, copied next to each handler at bundling time (a scratch directory's: src/runtime/scratch-dir.ts). */
  file: string;
}

/** Loads and validates the rule pack at synth: a bad rule fails `cdk synth` with the validator's message. */
export function bundleRules(rulesDirs: readonly string[]): RuleBundle {
  const { pack, errors } = loadPack(rulesDirs);
  if (errors.length > 0) {
    throw new SynthInputError(`rule validation failed, fix these before deploying:\n${errors.map(formatRuleError).join('\n')}`);
  }
  // Read when the functions are bundled, during synth: gone when the synth's process exits.
  const dir = scratchDir('sentinel-rules-');
  const file = join(dir, 'rules.json');
  writeFileSync(file, JSON.stringify(readRuleFiles(rulesDirs).files));
  return { pack, file };
}
