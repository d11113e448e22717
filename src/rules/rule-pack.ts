import type { z } from 'zod';
import { getOrCreate } from '../engine/map-entry';
import { formatPath } from '../schema/issues';
import { CorrelationRule, DetectionRule, SourceDefinition } from '../schema/rule';
import { convertSigma, isSigmaDocument } from '../sigma/convert';
import { DEFAULT_SIGMA_MAPPING } from '../sigma/default-mapping';
import { type SigmaLogsource, SigmaMapping } from '../sigma/mapping';
import { applyTuning, isMap, isTuningDocument, readTunings } from './tuning';
import {
  expandLists,
  isValueListDocument,
  type ListRead,
  type PackList,
  readValueLists,
  type ValueLists,
  valueOrigin,
  withListChanges,
} from './value-lists';

/** A rule file as read from disk (or embedded in the Lambda bundle), before validation. */
export interface RawRuleFile {
  file: string;
  doc: unknown;
}

export interface RuleFileError {
  file: string;
  ruleId?: string;
  path: string;
  message: string;
}

export function formatRuleError(e: RuleFileError): string {
  const rule = e.ruleId ? ` rule ${e.ruleId}:` : '';
  const path = e.path ? ` ${e.path}:` : '';
  return `${e.file}:${rule}${path} ${e.message}`;
}

export interface RulePack {
  rules: DetectionRule[];
  correlations: CorrelationRule[];
  sources: SourceDefinition[];
  /** The named lists (`list:` files), as changed by later folders, with the rules that read them. */
  lists: PackList[];
  /** Which file each rule id came from, for error messages and tests. */
  files: Map<string, string>;
}

export class RulePackError extends Error {
  constructor(readonly errors: RuleFileError[]) {
    super(`${errors.length} rule error(s):\n${errors.map(formatRuleError).join('\n')}`);
    this.name = 'RulePackError';
  }
}

function baseName(file: string): string {
  const name = file.split(/[\\/]/).pop() ?? file;
  return name.replace(/\.ya?ml$/, '');
}

function zodErrors(file: string, ruleId: string | undefined, error: z.ZodError): RuleFileError[] {
  return error.issues.map((issue) => ({ file, ruleId, path: formatPath(issue.path), message: issue.message }));
}

/** Validates every file and returns the pack plus every error found (never stops at the first). */
export function buildRulePack(files: readonly RawRuleFile[]): { pack: RulePack; errors: RuleFileError[] } {
  const errors: RuleFileError[] = [];
  const lists = readValueLists(
    files.filter((f) => isValueListDocument(f.doc)),
    errors,
  );
  const pack: RulePack = { rules: [], correlations: [], sources: [], lists: [], files: new Map() };
  const readers = new Map<string, PackList['reads']>();
  const seenIds = new Map<string, string>();
  /** The lists each file's `|expand` keys read, and the files where one could not be read. */
  const listsRead = new Map<string, ListRead[]>();
  const unexpanded = new Set<string>();
  const seen = { listsRead, unexpanded, badValues: new Set<string>() };
  const ruleFiles = files.filter((f) => !isValueListDocument(f.doc)).map((f) => withListsExpanded(f, lists, errors, seen));
  /** Rules reported for a list they could not read, not validated further: correlations may still name them. */
  const unvalidated: Record<string, unknown>[] = [];
  const tunings = readTunings(
    // A tuning whose list could not be read is reported; the rule it names is validated as shipped.
    ruleFiles.filter((f) => isTuningDocument(f.doc) && !unexpanded.has(f.file)),
    errors,
  );
  const { native, sigma, sigmaErrors } = convertSigmaFiles(ruleFiles.filter((f) => !isTuningDocument(f.doc)));
  errors.push(...sigmaErrors);

  for (const { file, doc: asWritten, fromSigma } of [...native, ...sigma]) {
    if (!isMap(asWritten)) {
      errors.push({ file, path: '', message: 'expected a YAML map (a rule, a correlation rule or a source)' });
      continue;
    }
    let doc = asWritten;
    // Whose mistake an invalid rule is: its file's, or (once its file is valid alone) its tuning's.
    let blame = file;
    const rawId = 'id' in doc && typeof doc.id === 'string' ? doc.id : undefined;
    if ('source' in doc) {
      const parsed = SourceDefinition.safeParse(doc);
      if (parsed.success) {
        pack.sources.push(parsed.data);
        pack.files.set(`source:${parsed.data.source.name}`, file);
      } else errors.push(...zodErrors(file, undefined, parsed.error));
      continue;
    }
    if (rawId !== undefined) {
      if (!fromSigma && rawId !== baseName(file)) {
        errors.push({ file, ruleId: rawId, path: 'id', message: `id must equal the file name '${baseName(file)}'` });
      }
      const previous = seenIds.get(rawId);
      if (previous) {
        errors.push({ file, ruleId: rawId, path: 'id', message: `duplicate rule id, also defined in ${previous}` });
        continue;
      }
      seenIds.set(rawId, file);
      const tuning = tunings.get(rawId);
      if (tuning) {
        tunings.delete(rawId);
        // The rule as written must be valid on its own: its errors are its file's, the tuning's are the tuning's.
        const alone = ('correlation' in doc ? CorrelationRule : DetectionRule).safeParse(doc);
        if (!alone.success) {
          errors.push(...zodErrors(file, rawId, alone.error));
          continue;
        }
        const tuned = applyTuning(doc, tuning);
        if ('error' in tuned) {
          errors.push(tuned.error);
          continue;
        }
        doc = tuned.doc;
        blame = tuning.file;
        pack.files.set(`tune:${rawId}`, tuning.file);
      }
      if (unexpanded.has(file)) {
        unvalidated.push(doc);
        continue;
      }
    }
    const reads = [...(listsRead.get(file) ?? []), ...(blame === file ? [] : (listsRead.get(blame) ?? []))];
    const read = new Set(reads.map((r) => r.list));
    doc = withListChanges(doc, read, lists);
    const parsed = ('correlation' in doc ? CorrelationRule : DetectionRule).safeParse(doc);
    if (!parsed.success) {
      errors.push(...zodErrors(blame, rawId, parsed.error));
      continue;
    }
    if ('correlation' in parsed.data) pack.correlations.push(parsed.data);
    else pack.rules.push(parsed.data);
    pack.files.set(parsed.data.id, file);
    for (const { list, path, leavesOut } of reads) getOrCreate(readers, list, () => []).push({ ruleId: parsed.data.id, path, leavesOut });
  }
  pack.lists = [...lists.values()].map((list) => {
    const reads = readers.get(list.name) ?? [];
    return { ...list, readBy: [...new Set(reads.map((r) => r.ruleId))], reads };
  });
  for (const [id, tuning] of tunings)
    errors.push({ file: tuning.file, ruleId: id, path: 'tune', message: `'${id}' names no rule in the pack` });
  errors.push(...checkCorrelationMembers(pack, unvalidated));
  return { pack, errors };
}

/** The file with its `|expand` keys' lists in place; what cannot be expanded is reported at the file. */
function withListsExpanded(
  f: RawRuleFile,
  lists: ValueLists,
  errors: RuleFileError[],
  seen: { listsRead: Map<string, ListRead[]>; unexpanded: Set<string>; badValues: Set<string> },
): RawRuleFile {
  const ruleId = isMap(f.doc) ? [f.doc.id, f.doc.tune].find((v): v is string => typeof v === 'string') : undefined;
  const { doc, reads } = expandLists(f.doc, lists, {
    inDocument: (path, message) => {
      errors.push({ file: f.file, ruleId, path, message });
      seen.unexpanded.add(f.file);
    },
    inList: (list, value, path) => {
      // The list's file is told, once however many rules read the value.
      seen.unexpanded.add(f.file);
      const origin = valueOrigin(list, value);
      const key = `${origin.file}\0${origin.path}`;
      if (seen.badValues.has(key)) return;
      seen.badValues.add(key);
      const reader = `${ruleId ? `rule ${ruleId}` : f.file} reads list '${list.name}' with |cidr (${path})`;
      errors.push({ file: origin.file, path: origin.path, message: `'${value}' is neither a CIDR range nor an address, and ${reader}` });
    },
  });
  if (reads.length > 0) seen.listsRead.set(f.file, reads);
  return { file: f.file, doc };
}

/**
 * Sigma files read straight from the rule folder are converted on load (with the shipped field
 * mapping plus any `sigmaMapping:` files in the folder). A Sigma rule that cannot be converted
 * exactly is an error here, as any invalid rule is: `detect import-sigma` skips and reports instead.
 */
function convertSigmaFiles(files: readonly RawRuleFile[]): {
  native: (RawRuleFile & { fromSigma?: boolean })[];
  sigma: (RawRuleFile & { fromSigma: boolean })[];
  sigmaErrors: RuleFileError[];
} {
  const native: RawRuleFile[] = [];
  const sigmaInputs: RawRuleFile[] = [];
  const mappings: SigmaLogsource[] = [];
  const sigmaErrors: RuleFileError[] = [];
  for (const f of files) {
    if (typeof f.doc === 'object' && f.doc !== null && 'sigmaMapping' in f.doc) {
      const parsed = SigmaMapping.safeParse(f.doc);
      if (parsed.success) mappings.push(...parsed.data.sigmaMapping);
      else sigmaErrors.push(...zodErrors(f.file, undefined, parsed.error));
    } else if (isSigmaDocument(f.doc)) sigmaInputs.push(f);
    else native.push(f);
  }
  if (sigmaInputs.length === 0) return { native, sigma: [], sigmaErrors };
  const { converted, skipped } = convertSigma(sigmaInputs, [...mappings, ...DEFAULT_SIGMA_MAPPING]);
  for (const s of skipped)
    sigmaErrors.push({ file: s.file, path: 'detection', message: `Sigma rule '${s.title}' cannot be converted: ${s.reason}` });
  return { native, sigma: converted.map((c) => ({ file: c.file, doc: c.doc, fromSigma: true })), sigmaErrors };
}

/** Correlation members must name existing rules or tags that some rule carries (or would, once its errors are mended). */
function checkCorrelationMembers(pack: RulePack, unvalidated: readonly Record<string, unknown>[]): RuleFileError[] {
  const ids = new Set([...pack.rules.map((r) => r.id), ...unvalidated.map((d) => String(d.id))]);
  const tags = new Set([
    ...pack.rules.flatMap((r) => r.tags),
    ...unvalidated.flatMap((d) => (Array.isArray(d.tags) ? d.tags.map(String) : [])),
  ]);
  const errors: RuleFileError[] = [];
  for (const c of pack.correlations) {
    const file = pack.files.get(c.id) ?? c.id;
    const check = (ref: string, path: string) => {
      const ok = ref.startsWith('tag:') ? tags.has(ref.slice(4)) : ids.has(ref);
      if (!ok) errors.push({ file, ruleId: c.id, path, message: `'${ref}' names no rule id or tag in the pack` });
    };
    for (const [i, m] of c.correlation.members.entries()) check(m, `correlation.members[${i}]`);
    for (const [i, group] of (c.correlation.require ?? []).entries()) {
      for (const [j, m] of group.entries()) {
        check(m, `correlation.require[${i}][${j}]`);
        if (!c.correlation.members.includes(m)) {
          errors.push({ file, ruleId: c.id, path: `correlation.require[${i}][${j}]`, message: `'${m}' is not listed in members` });
        }
      }
    }
  }
  return errors;
}

/** Builds the pack or throws one error listing every problem. */
export function loadRulePackOrThrow(files: readonly RawRuleFile[]): RulePack {
  const { pack, errors } = buildRulePack(files);
  if (errors.length > 0) throw new RulePackError(errors);
  return pack;
}
