import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { listRuleFiles } from '../rules/read-files';
import { checkPackRegexes } from '../rules/regex-safety';
import { buildRulePack } from '../rules/rule-pack';
import { type ConvertedRule, convertSigma, type SigmaInput, type SkippedRule } from '../sigma/convert';
import { DEFAULT_SIGMA_MAPPING } from '../sigma/default-mapping';
import { generateRuleTests } from '../sigma/generated-tests';
import { type SigmaLogsource, SigmaMapping } from '../sigma/mapping';

export interface ImportResult {
  written: { id: string; path: string; kind: ConvertedRule['kind'] }[];
  skipped: SkippedRule[];
  /** Written without generated tests (only with `withTests`), and why. */
  untested: SkippedRule[];
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

export interface ImportOptions {
  /** Add generated positive/negative tests to each converted rule (see src/sigma/generated-tests.ts). */
  withTests?: boolean;
}

/**
 * Converts Sigma files and writes one rule file per converted rule into `outDir`. Every rule is
 * first put through the checks `detect validate` runs (schema, ids, correlation members, regex
 * safety): one that fails is skipped with the validator's reason, never written.
 */
export async function importSigma(
  paths: readonly string[],
  outDir: string,
  mapping: readonly SigmaLogsource[],
  options: ImportOptions = {},
): Promise<ImportResult> {
  const read = readSigmaInputs(paths);
  const { converted, skipped } = convertSigma(read.inputs, mapping);
  const result: ImportResult = { written: [], skipped: [...read.skipped, ...skipped], untested: [] };
  const accepted = validateConverted(converted, outDir, result.skipped);
  mkdirSync(outDir, { recursive: true });
  for (const rule of accepted) {
    let doc = rule.doc;
    if (options.withTests && rule.kind === 'rule') {
      const generated = await generateRuleTests(doc);
      if (generated.ok) doc = { ...doc, tests: generated.tests };
      else result.untested.push({ file: rule.file, title: titleOf(rule), reason: generated.reason });
    }
    const path = join(outDir, `${rule.id}.yml`);
    const header = `# Imported from Sigma: ${rule.file}${rule.sigmaId ? ` (id ${rule.sigmaId})` : ''}. Re-run detect import-sigma rather than editing by hand.\n`;
    writeFileSync(path, header + stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }));
    result.written.push({ id: rule.id, path, kind: rule.kind });
  }
  return result;
}

function titleOf(rule: ConvertedRule): string {
  return typeof rule.doc.title === 'string' ? rule.doc.title : rule.id;
}

/**
 * The validator's checks on the converted rules as they will be written. A correlation whose
 * member was refused is checked again without it, until nothing more is refused.
 */
function validateConverted(converted: readonly ConvertedRule[], outDir: string, skipped: SkippedRule[]): ConvertedRule[] {
  let remaining = [...converted];
  for (;;) {
    const files = remaining.map((r) => ({ file: join(outDir, `${r.id}.yml`), doc: r.doc }));
    const { pack, errors } = buildRulePack(files);
    errors.push(...checkPackRegexes(pack));
    const refused = new Map<string, string>();
    for (const e of errors) {
      const rule = remaining.find((r) => r.id === e.ruleId) ?? remaining.find((r) => join(outDir, `${r.id}.yml`) === e.file);
      if (rule && !refused.has(rule.id)) refused.set(rule.id, `${e.path ? `${e.path}: ` : ''}${e.message}`);
    }
    if (refused.size === 0) return remaining;
    for (const rule of remaining) {
      const reason = refused.get(rule.id);
      if (reason) skipped.push({ file: rule.file, title: titleOf(rule), reason: `converted rule fails validation: ${reason}` });
    }
    remaining = remaining.filter((r) => !refused.has(r.id));
  }
}

/** Skip reasons grouped: names in quotes and JSON values are elided so like reasons count together. */
export function skipSummary(skipped: readonly SkippedRule[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const s of skipped) {
    const reason = s.reason
      .replace(/: match\.\S+: unsafe regex .*/, ': unsafe regex')
      .replace(/'[^']*'/g, '…')
      .replace(/\{[^}]*\}/g, '{…}')
      .replace(/\(.*\)$/, '')
      .trim();
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}
