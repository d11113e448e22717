import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { listRuleFiles, readRuleFiles } from '../rules/read-files';
import { checkPackRegexes } from '../rules/regex-safety';
import { buildRulePack, type RawRuleFile } from '../rules/rule-pack';
import { isMap } from '../rules/tuning';
import { isValueListDocument } from '../rules/value-lists';
import { placeholderOf } from '../schema/value-list';
import { type ConvertedRule, convertSigma, type SigmaInput, type SkippedRule } from '../sigma/convert';
import { DEFAULT_SIGMA_MAPPING } from '../sigma/default-mapping';
import { generateRuleTests } from '../sigma/generated-tests';
import { type SigmaLogsource, SigmaMapping } from '../sigma/mapping';

export interface ImportResult {
  written: { id: string; path: string; kind: ConvertedRule['kind'] }[];
  skipped: SkippedRule[];
  /** Written without generated tests (only with `withTests`), and why. */
  untested: SkippedRule[];
  /** Empty named lists written for Sigma placeholders the output folder did not define yet: the deployment fills them. */
  lists: { name: string; path: string; readBy: string[] }[];
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
  /**
   * The rule folders the imported rules deploy with (`-r rules -r my-rules`): the lists they define
   * are read, not written again into the output folder — a second definition of a list a
   * deployment keeps in its own folder would fail validation.
   */
  ruleFolders?: readonly string[];
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
  const result: ImportResult = { written: [], skipped: [...read.skipped, ...skipped], untested: [], lists: [] };
  const placeholders = placeholderLists(converted, outDir, options.ruleFolders ?? []);
  const accepted = validateConverted(converted, outDir, result.skipped, placeholders.files);
  mkdirSync(outDir, { recursive: true });
  const listsOf = accepted.map((r) => ({ id: r.id, lists: placeholdersOf(r.doc, new Set()) }));
  for (const list of placeholders.missing) {
    const readBy = listsOf.filter((r) => r.lists.has(list.name)).map((r) => r.id);
    if (readBy.length === 0) continue;
    mkdirSync(dirname(list.path), { recursive: true });
    const header = `# A Sigma placeholder's values (%${list.name}%), read by ${readBy.join(', ')}: empty until you add yours.\n`;
    writeFileSync(list.path, header + stringify(list.doc, { lineWidth: 0 }));
    result.lists.push({ name: list.name, path: list.path, readBy });
  }
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
function validateConverted(
  converted: readonly ConvertedRule[],
  outDir: string,
  skipped: SkippedRule[],
  lists: readonly RawRuleFile[],
): ConvertedRule[] {
  let remaining = [...converted];
  for (;;) {
    const files = [...lists, ...remaining.map((r) => ({ file: join(outDir, `${r.id}.yml`), doc: r.doc }))];
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

/** `'%name%'` values of `|expand` keys, as the converter writes a Sigma placeholder. */
function placeholdersOf(doc: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(doc)) for (const item of doc) placeholdersOf(item, into);
  else if (isMap(doc))
    for (const [key, value] of Object.entries(doc)) {
      if (!key.split('|').includes('expand')) placeholdersOf(value, into);
      else
        for (const v of Array.isArray(value) ? value : [value]) {
          const name = placeholderOf(v);
          if (name) into.add(name);
        }
    }
  return into;
}

/**
 * The lists the converted rules' placeholders name: those the output folder or the rule folders the
 * rules deploy with define already (a deployment may have filled them since the last import: never
 * overwritten, never defined twice), and an empty one to write for each other.
 */
function placeholderLists(
  converted: readonly ConvertedRule[],
  outDir: string,
  ruleFolders: readonly string[],
): { files: RawRuleFile[]; missing: { name: string; path: string; doc: Record<string, unknown> }[] } {
  const wanted = new Set<string>();
  for (const rule of converted) placeholdersOf(rule.doc, wanted);
  // Each list file once, wherever the folders overlap (the output folder inside a rule folder).
  const listFiles = new Map<string, RawRuleFile>();
  for (const folder of [...ruleFolders, outDir].filter((f) => existsSync(f)))
    for (const f of readRuleFiles([folder]).files) if (isValueListDocument(f.doc)) listFiles.set(resolve(f.file), f);
  const existing = [...listFiles.values()];
  // A list's definition (`values:`), not a change to it.
  const defined = new Set(existing.flatMap((f) => (isMap(f.doc) && 'values' in f.doc ? [String(f.doc.list)] : [])));
  const missing = [...wanted]
    .filter((name) => !defined.has(name))
    .sort()
    .map((name) => ({
      name,
      path: join(outDir, 'lists', `${name}.yml`),
      doc: {
        list: name,
        description: `Values of the Sigma placeholder %${name}% that imported rules read (as the Sigma rule compares them). Add yours with values: here, or with add: and a reason in a change file.`,
        values: [],
      },
    }));
  return { files: [...existing, ...missing.map((m) => ({ file: m.path, doc: m.doc }))], missing };
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
