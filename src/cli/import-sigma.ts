import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { listRuleFiles } from '../rules/read-files';
import { CorrelationRule, DetectionRule } from '../schema/rule';
import { type ConvertedRule, convertSigma, describeIssues, type SigmaInput, type SkippedRule } from '../sigma/convert';
import { DEFAULT_SIGMA_MAPPING } from '../sigma/default-mapping';
import { type SigmaLogsource, SigmaMapping } from '../sigma/mapping';

export interface ImportResult {
  written: { id: string; path: string; kind: ConvertedRule['kind'] }[];
  skipped: SkippedRule[];
}

/** Reads Sigma files (several YAML documents per file allowed); a YAML error skips that file. */
export function readSigmaInputs(paths: readonly string[]): { inputs: SigmaInput[]; skipped: SkippedRule[] } {
  const inputs: SigmaInput[] = [];
  const skipped: SkippedRule[] = [];
  for (const path of listRuleFiles(paths)) {
    const file = path; // as the user typed it (plus the folder walk)
    for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
      if ('errors' in doc && doc.errors.length > 0) {
        skipped.push({ file, title: '(unreadable)', reason: `YAML: ${doc.errors[0]?.message.split('\n')[0] ?? 'syntax error'}` });
        continue;
      }
      inputs.push({ file, doc: doc.toJS() });
    }
  }
  return { inputs, skipped };
}

export function loadMapping(file: string | undefined): SigmaLogsource[] {
  if (!file) return DEFAULT_SIGMA_MAPPING;
  const custom = SigmaMapping.parse(parseAllDocuments(readFileSync(file, 'utf8'))[0]?.toJS());
  return [...custom.sigmaMapping, ...DEFAULT_SIGMA_MAPPING];
}

/** Converts Sigma files and writes one rule file per converted rule into `outDir`. */
export function importSigma(paths: readonly string[], outDir: string, mapping: readonly SigmaLogsource[]): ImportResult {
  const read = readSigmaInputs(paths);
  const { converted, skipped } = convertSigma(read.inputs, mapping);
  const result: ImportResult = { written: [], skipped: [...read.skipped, ...skipped] };
  mkdirSync(outDir, { recursive: true });
  for (const rule of converted) {
    // The converted document must pass the same validation as a hand-written rule.
    const check = rule.kind === 'correlation' ? CorrelationRule.safeParse(rule.doc) : DetectionRule.safeParse(rule.doc);
    if (!check.success) {
      const title = typeof rule.doc.title === 'string' ? rule.doc.title : rule.id;
      result.skipped.push({ file: rule.file, title, reason: `converted rule is invalid: ${describeIssues(check.error)}` });
      continue;
    }
    const path = join(outDir, `${rule.id}.yml`);
    const header = `# Imported from Sigma: ${rule.file}${rule.sigmaId ? ` (id ${rule.sigmaId})` : ''}. Re-run detect import-sigma rather than editing by hand.\n`;
    writeFileSync(path, header + stringify(rule.doc, { lineWidth: 0, aliasDuplicateObjects: false }));
    result.written.push({ id: rule.id, path, kind: rule.kind });
  }
  return result;
}

/** Skip reasons grouped: names in quotes and JSON values are elided so like reasons count together. */
export function skipSummary(skipped: readonly SkippedRule[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const s of skipped) {
    const reason = s.reason
      .replace(/'[^']*'/g, '…')
      .replace(/\{[^}]*\}/g, '{…}')
      .replace(/\(.*\)$/, '')
      .trim();
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}
