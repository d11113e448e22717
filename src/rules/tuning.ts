import { formatPath } from '../schema/issues';
import { RuleTuning, STATEFUL_CLAUSES } from '../schema/rule';
import type { RawRuleFile, RuleFileError } from './rule-pack';

/**
 * Tunings (`tune: <rule id>` files, see RuleTuning) applied to the rule documents they name,
 * before those are validated: the tuned rule is validated whole, and what is wrong with it is
 * reported at the tuning's file. A rule takes one tuning.
 */

/** What a tuning replaces. */
const REPLACED = ['disabled', 'severity', 'tier', 'riskScore', 'logGroups', 'escalate'] as const;
/** What changes what a rule counts (its shipped tests then describe another rule). */
const DETECTION = ['logGroups', 'exclude', 'only', ...STATEFUL_CLAUSES] as const;

export interface Tuning {
  file: string;
  /** The tuning as written (raw: its durations are still text, as the rule's are). */
  raw: Record<string, unknown>;
  /** It changes what the rule counts: the rule's own tests no longer describe it. */
  changesDetection: boolean;
}

export const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const isTuningDocument = (doc: unknown): boolean => isMap(doc) && 'tune' in doc;

/** The tuning files of a pack, checked, by the rule id each names. */
export function readTunings(files: readonly RawRuleFile[], errors: RuleFileError[]): Map<string, Tuning> {
  const tunings = new Map<string, Tuning>();
  for (const { file, doc } of files) {
    if (!isMap(doc)) continue;
    const target = typeof doc.tune === 'string' ? doc.tune : undefined;
    const parsed = RuleTuning.safeParse(doc);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) errors.push({ file, ruleId: target, path: formatPath(issue.path), message: issue.message });
      continue;
    }
    const previous = tunings.get(parsed.data.tune);
    if (previous) {
      errors.push({
        file,
        ruleId: parsed.data.tune,
        path: 'tune',
        message: `the rule is tuned already in ${previous.file} (one tuning per rule)`,
      });
      continue;
    }
    const changesDetection = DETECTION.some((key) => doc[key] !== undefined);
    tunings.set(parsed.data.tune, { file, raw: doc, changesDetection });
  }
  return tunings;
}

/**
 * The rule document with the tuning applied, or the error that stops it: a clause the rule does
 * not have, or detection settings on a correlation rule.
 */
export function applyTuning(doc: Record<string, unknown>, tuning: Tuning): { doc: Record<string, unknown> } | { error: RuleFileError } {
  const { raw, file } = tuning;
  const ruleId = String(raw.tune);
  const out: Record<string, unknown> = { ...doc };
  const refuse = (path: string, message: string) => ({ error: { file, ruleId, path, message } });
  if ('correlation' in doc && tuning.changesDetection) {
    const key = DETECTION.find((k) => raw[k] !== undefined) ?? 'tune';
    return refuse(key, 'a correlation rule is tuned by disabled, severity, tier, riskScore and alert only');
  }
  for (const key of REPLACED) if (raw[key] !== undefined) out[key] = raw[key];
  // A tier the tuning pins holds whatever the count: the rule's escalation step goes with it.
  if (raw.tier !== undefined && raw.escalate === undefined) delete out.escalate;
  if (isMap(raw.alert)) out.alert = { ...(isMap(doc.alert) ? doc.alert : {}), ...raw.alert };
  for (const clause of STATEFUL_CLAUSES) {
    const change = raw[clause];
    if (!isMap(change)) continue;
    const own = doc[clause];
    if (!isMap(own)) return refuse(clause, `the rule has no ${clause} clause to tune`);
    out[clause] = { ...own, ...change };
  }
  if (isMap(raw.exclude) && isMap(out.match)) out.match = withExclusion(out.match, raw.exclude);
  if (isMap(raw.only) && isMap(out.match)) out.match = withRestriction(out.match, raw.only);
  if (raw.tests !== undefined) out.tests = raw.tests;
  else if (tuning.changesDetection) out.tests = [];
  const changes = detectionChanges(doc, raw);
  if (changes.length > 0 && typeof doc.description === 'string') {
    // The description is shipped prose ("50 deletes within 5 minutes"): alerts carry it, so a
    // tuned rule's alerts say what this deployment counts instead, and why.
    out.description = `${doc.description.trim()}\n\nTuned for this deployment (${file}): ${changes.join('; ')}. Reason: ${String(raw.reason)}`;
  }
  return { doc: out };
}

/** What a tuning changes in what the rule counts, worded for the alert's reader. */
function detectionChanges(doc: Record<string, unknown>, raw: Record<string, unknown>): string[] {
  const changes: string[] = [];
  for (const clause of STATEFUL_CLAUSES) {
    const change = raw[clause];
    const own = doc[clause];
    if (!isMap(change) || !isMap(own)) continue;
    for (const [key, value] of Object.entries(change)) {
      if (JSON.stringify(value) !== JSON.stringify(own[key]))
        changes.push(`${clause}.${key} ${worded(value)} (shipped ${worded(own[key])})`);
    }
  }
  if (raw.logGroups !== undefined) changes.push(`log groups ${worded(raw.logGroups)}`);
  if (raw.exclude !== undefined) changes.push(`events matching ${worded(raw.exclude)} left out`);
  if (raw.only !== undefined) changes.push(`only events matching ${worded(raw.only)}`);
  return changes;
}

/** A setting as its file writes it, kept short (an alert's description is not the place for a long selection). */
function worded(value: unknown): string {
  const text =
    value === undefined
      ? 'none'
      : typeof value === 'string'
        ? value
        : Array.isArray(value) && value.every((v) => typeof v === 'string')
          ? value.join(', ')
          : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * The match, leaving out what `exclude` selects: its own conditions stay at the top (where the
 * rule index keys them), with `not` the exclusion, or `not` any of its own `not` and the exclusion.
 */
function withExclusion(match: Record<string, unknown>, exclude: Record<string, unknown>): Record<string, unknown> {
  return { ...match, not: match.not === undefined ? exclude : { any: [match.not, exclude] } };
}

/** The match, kept to what `only` selects: its own conditions stay at the top, `only` joins its `all`. */
function withRestriction(match: Record<string, unknown>, only: Record<string, unknown>): Record<string, unknown> {
  const all = match.all === undefined ? [] : Array.isArray(match.all) ? match.all : [match.all];
  return { ...match, all: [...all, only] };
}
