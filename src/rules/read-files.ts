import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { RawRuleFile, RuleFileError } from './rule-pack';
import { numberSpellings } from './yaml-numbers';

/** Lists every .yml/.yaml file under the given files or folders, sorted for stable output. */
export function listRuleFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const entry of readdirSync(p).sort()) walk(join(p, entry));
    } else if (/\.ya?ml$/.test(p)) {
      out.push(p);
    }
  };
  for (const p of paths) walk(p);
  return out;
}

/**
 * Reads and YAML-parses rule files; syntax errors are reported with line and column, and values
 * YAML read as numbers from another spelling (`0xa9fea9fe`) with their path (./yaml-numbers.ts).
 */
export function readRuleFiles(paths: readonly string[]): { files: RawRuleFile[]; errors: RuleFileError[]; warnings: RuleFileError[] } {
  const files: RawRuleFile[] = [];
  const errors: RuleFileError[] = [];
  const warnings: RuleFileError[] = [];
  for (const path of listRuleFiles(paths)) {
    const file = path; // as the user typed it (plus the folder walk)
    const doc = parseDocument(readFileSync(path, 'utf8'), { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) errors.push({ file, path: '', message: `YAML: ${e.message.split('\n')[0]}` });
      continue;
    }
    const spellings = numberSpellings(doc, file);
    errors.push(...spellings.errors);
    warnings.push(...spellings.warnings);
    files.push({ file, doc: doc.toJS() });
  }
  return { files, errors, warnings };
}
