import { Normalizer, UnknownParserError } from '../parse/normalize';
import { readRuleFiles } from '../rules/read-files';
import { checkPackRegexes } from '../rules/regex-safety';
import { buildRulePack, type RuleFileError, type RulePack } from '../rules/rule-pack';

/** Reads, validates and safety-checks a rule folder: every error, with file, rule id and path. */
export function loadPack(paths: readonly string[], options: { checkRegexes?: boolean } = {}): { pack: RulePack; errors: RuleFileError[] } {
  const read = readRuleFiles(paths);
  const { pack, errors } = buildRulePack(read.files);
  const all = [...read.errors, ...errors];
  try {
    new Normalizer(pack.sources);
  } catch (err) {
    if (!(err instanceof UnknownParserError)) throw err;
    all.push({ file: 'sources', path: 'source.parsers', message: err.message });
  }
  if (options.checkRegexes !== false) all.push(...checkPackRegexes(pack));
  return { pack, errors: all };
}
