import { Normalizer, UnknownParserError } from '../parse/normalize';
import { emptyListWarnings, missingRunbooks, unknownFieldWarnings, unreadListWarnings, untestedTuningWarnings } from '../rules/field-check';
import { readRuleFiles } from '../rules/read-files';
import { checkPackRegexes } from '../rules/regex-safety';
import { buildRulePack, type RuleFileError, type RulePack } from '../rules/rule-pack';

/**
 * Reads, validates and safety-checks a rule folder: every error, with file, rule id and path, and
 * warnings (fields nothing produces) that do not stop anything.
 */
export function loadPack(
  paths: readonly string[],
  options: { checkRegexes?: boolean } = {},
): { pack: RulePack; errors: RuleFileError[]; warnings: RuleFileError[] } {
  const read = readRuleFiles(paths);
  const { pack, errors } = buildRulePack(read.files);
  const all = [...read.errors, ...errors];
  try {
    new Normalizer(pack.sources);
  } catch (err) {
    if (!(err instanceof UnknownParserError)) throw err;
    all.push({ file: 'sources', path: 'source.parsers', message: err.message });
  }
  all.push(...missingRunbooks(pack));
  if (options.checkRegexes !== false) all.push(...checkPackRegexes(pack));
  return {
    pack,
    errors: all,
    warnings: [
      ...read.warnings,
      ...unknownFieldWarnings(pack),
      ...untestedTuningWarnings(pack),
      ...unreadListWarnings(pack),
      ...emptyListWarnings(pack),
    ],
  };
}
