import { createRequire } from 'node:module';
import type * as Recheck from 'recheck';
import type { RuleFileError, RulePack } from './rule-pack';
import { compileSelection } from './selection';

/**
 * Rejects regexes that can backtrack catastrophically (ReDoS): a log line is attacker-controlled
 * input, so one bad pattern could stall a detector. Uses recheck (automaton analysis + fuzzing).
 * Only used at validate/test/synth time; the Lambda never loads it.
 */
export function checkRegexSafety(source: string): { safe: boolean; detail: string } {
  let verdict = verdicts.get(source);
  if (!verdict) {
    verdict = check(source);
    verdicts.set(source, verdict);
  }
  return verdict;
}

/** Verdicts of this process: `detect import-sigma` checks a pattern, then validating the pack it wrote checks it again. */
const verdicts = new Map<string, { safe: boolean; detail: string }>();

/**
 * Loaded on the first check, not with the module: recheck is a large compiled program (about a
 * quarter of a second to load) and most CLI commands read a pack without checking its regexes.
 */
let recheck: typeof Recheck | undefined;

function check(source: string): { safe: boolean; detail: string } {
  if (!recheck) {
    const loaded: typeof Recheck = createRequire(import.meta.url)('recheck');
    recheck = loaded;
  }
  const result = recheck.checkSync(source, '', {
    // Proving a long parser pattern safe took 6.4 s on a slow 2-vCPU machine (and 2–4 s on a faster
    // one): a time limit that slow machines reach makes the verdict depend on the machine.
    timeout: 30_000,
    // The fuzzer's seed is fixed, but three of its steps also stopped at a time: incubation at 250
    // ms of matching, dynamic seeding at 100 ms, and the attack's confirmation at 1 s. On a loaded
    // machine they kept other strings, or took a slow attack for a confirmed one, and the same
    // pattern came out vulnerable in one run and safe in the next (SigmaHQ's `(.){200,}`: safe in
    // every run here, "2nd degree polynomial" once in a CI run with the test files in parallel).
    // Bounded by characters read alone (recheck's incubationLimit, attackLimit), the verdict is the
    // same on every machine; `timeout` above still bounds the whole check.
    incubationTimeout: null,
    seedingTimeout: null,
    attackTimeout: null,
  });
  if (result.status === 'safe') return { safe: true, detail: 'safe' };
  if (result.status === 'vulnerable') {
    const attack = result.attack?.pattern ?? '';
    return { safe: false, detail: `${result.complexity.summary} backtracking (attack: ${attack.slice(0, 80)})` };
  }
  return { safe: false, detail: `could not prove the regex safe (${result.error.kind})` };
}

export function checkPackRegexes(pack: RulePack): RuleFileError[] {
  const errors: RuleFileError[] = [];
  for (const rule of pack.rules) {
    const file = pack.files.get(rule.id) ?? rule.id;
    const selections: [unknown, (string | number)[]][] = [[rule.match, ['match']]];
    rule.sequence?.steps.forEach((s, i) => {
      selections.push([s.match, ['sequence', 'steps', i, 'match']]);
    });
    for (const [selection, base] of selections) {
      for (const re of compileSelection(selection, base).regexes) {
        const verdict = checkRegexSafety(re.source);
        if (!verdict.safe)
          errors.push({ file, ruleId: rule.id, path: re.path.join('.'), message: `unsafe regex /${re.source}/: ${verdict.detail}` });
      }
    }
  }
  for (const source of pack.sources) {
    source.source.customParsers.forEach((p, i) => {
      const verdict = checkRegexSafety(p.pattern);
      if (!verdict.safe) {
        errors.push({
          file: pack.files.get(`source:${source.source.name}`) ?? source.source.name,
          path: `source.customParsers[${i}].pattern`,
          message: `unsafe regex: ${verdict.detail}`,
        });
      }
    });
  }
  return errors;
}
