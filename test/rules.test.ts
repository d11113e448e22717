import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { BUILTIN_PARSER_NAMES, builtinPatterns } from '../src/parse/builtin-parsers';
import { unknownFieldWarnings } from '../src/rules/field-check';
import { formatRuleError } from '../src/rules/rule-pack';
import { runAllRuleTests } from '../src/rules/rule-tests';
import { compileSelection } from '../src/rules/selection';
import { ev, rule } from './helpers';

const { pack, errors } = loadPack(['rules']);

describe('the shipped rule pack', () => {
  it('validates with no errors', () => {
    expect(errors.map(formatRuleError)).toEqual([]);
  });
  it('every rule: id = file name, runbook exists, at least one positive and one negative test', () => {
    for (const r of [...pack.rules, ...pack.correlations]) {
      const file = pack.files.get(r.id) ?? '';
      expect(basename(file).replace(/\.ya?ml$/, ''), file).toBe(r.id);
      expect(existsSync(r.runbook), `${r.id} runbook ${r.runbook}`).toBe(true);
      const expects = r.tests.map((t) => t.expect);
      expect(expects, `${r.id} needs a positive test`).toContain('fire');
      expect(expects, `${r.id} needs a negative test`).toContain('none');
    }
  });
  it('the README names every shipped rule in its table and counts them right', () => {
    const readme = readFileSync('README.md', 'utf8');
    const shipped = readme.slice(readme.indexOf('## Shipped rules'), readme.indexOf('## Importing Sigma rules'));
    expect(/(\d+) detection rules and (\d+) correlation rules/.exec(shipped)?.slice(1, 3)).toEqual([
      String(pack.rules.length),
      String(pack.correlations.length),
    ]);
    expect([...pack.rules, ...pack.correlations].map((r) => r.id).filter((id) => !shipped.includes(`\`${id}\``))).toEqual([]);
  });
  it("the README's example rule is valid YAML and its tests pass (title and count included): users copy it", async () => {
    const example = /```yaml\n(id: auth\.brute_force_user\n[\s\S]*?)```/.exec(readFileSync('README.md', 'utf8'))?.[1];
    expect(example, 'the README shows an example rule').toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'readme-rule-'));
    writeFileSync(join(dir, 'auth.brute_force_user.yml'), example ?? '');
    const loaded = loadPack([dir]);
    expect(loaded.errors.map(formatRuleError)).toEqual([]);
    const results = await runAllRuleTests(loaded.pack);
    expect(results.map((r) => [r.test, r.passed, r.detail])).toEqual([
      ['ten failures fire', true, expect.any(String)],
      ['nine do not', true, expect.any(String)],
    ]);
  });
  it("the README's absence example validates and its test passes, and fails when the job's day is longer than the gap", async () => {
    const example = /```yaml\n(id: jobs\.backup_missing\n[\s\S]*?)```/.exec(readFileSync('README.md', 'utf8'))?.[1] ?? '';
    expect(example, 'the README shows an absence rule').not.toBe('');
    const run = async (text: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'readme-absence-'));
      writeFileSync(join(dir, 'jobs.backup_missing.yml'), text);
      const loaded = loadPack([dir]);
      expect(loaded.errors.map(formatRuleError)).toEqual([]);
      return (await runAllRuleTests(loaded.pack)).map((r) => [r.test, r.passed]);
    };
    expect(await run(example)).toEqual([['a day and a half without one is told', true]]);
    // Backups every 24 h with a 40 h allowance: 36 quiet hours are not an absence.
    expect(await run(example.replace('after: 26h', 'after: 40h'))).toEqual([['a day and a half without one is told', false]]);
  });
  it('every inline test passes', async () => {
    const failed = (await runAllRuleTests(pack)).filter((r) => !r.passed);
    expect(failed.map((f) => `${f.ruleId} — ${f.test}: ${f.detail}`)).toEqual([]);
  });
});

describe("who counts a built-in parser's authentication events", () => {
  // Host and service logins (SSH, PAM, mail, databases, the console `login`) have their own rules,
  // tiered for servers the internet guesses at all day; the web-style identity rules would page on
  // the same attempts. A built-in parser family that writes a new authentication action must be
  // placed here, and so decide which rules count it.
  const HOST = /^(?:ssh_|pam_|mail_|db_|host_)/;
  const WEB = new Set(['http_basic_auth']);
  // No source address (su is local): only the per-user rules see it.
  const LOCAL = new Set(['su']);
  const WEB_STYLE = ['auth.brute_force_source', 'auth.password_spray', 'auth.failure_spike'];
  const actions = new Set<string>();
  for (const name of BUILTIN_PARSER_NAMES)
    for (const p of builtinPatterns(name))
      if (p.fields['event.category'] === 'authentication') actions.add(String(p.fields['event.action']));

  it('every authentication action a built-in parser writes is placed (host, web or local)', () => {
    expect(actions.size).toBeGreaterThan(10);
    expect([...actions].filter((a) => !HOST.test(a) && !WEB.has(a) && !LOCAL.has(a))).toEqual([]);
  });
  it("the web-style identity rules count web logins' failures and leave host and service ones to their own rules", () => {
    for (const id of WEB_STYLE) {
      const found = pack.rules.find((r) => r.id === id);
      expect(found, id).toBeDefined();
      const matches = compileSelection(found?.match).predicate;
      for (const action of actions) {
        if (LOCAL.has(action)) continue;
        const failure = ev({
          'event.category': 'authentication',
          'event.outcome': 'failure',
          'event.action': action,
          'source.ip': '203.0.113.5',
          'user.name': 'alice',
        });
        expect(matches(failure), `${id} on ${action}`).toBe(!HOST.test(action));
      }
    }
  });
});

describe('bad rule files fail validation with file, rule id and path', () => {
  const base = { title: 't', description: 'd', severity: 'high', riskScore: 5, runbook: 'x.md', match: { a: 1 } };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['wrong field type', { ...base, riskScore: 'high' }, /rule x\.wrong_type: riskScore: .*number/],
    ['unknown key', { ...base, sevrity: 'high' }, /rule x\.unknown_key: .*sevrity/],
    ['unknown modifier', { ...base, match: { 'a|fuzzy': 1 } }, /rule x\.unknown_modifier: match\.a\|fuzzy: unknown modifier 'fuzzy'/],
    [
      'invalid window',
      { ...base, threshold: { count: 3, window: '5 minutes', groupBy: ['user.name'] } },
      /rule x\.invalid_window: threshold\.window: expected a duration/,
    ],
    ['unsafe regex', { ...base, match: { 'message|re': '^(a+)+$' } }, /rule x\.unsafe_regex: match\.message\|re: unsafe regex/],
    [
      'escalate without a count',
      {
        ...base,
        severity: 'medium',
        newTerm: { field: 'b', groupBy: ['c'] },
        escalate: { count: 50, severity: 'high' },
      },
      /rule x\.escalate_without_a_count: escalate: escalate needs a count that runs on past the alert: a threshold or distinct clause/,
    ],
    [
      'escalate past the distinct values kept',
      {
        ...base,
        severity: 'medium',
        distinct: { field: 'b', count: 5, window: '5m', groupBy: ['c'] },
        escalate: { count: 20_000, severity: 'high' },
      },
      /rule x\.escalate_past_the_distinct_values_kept: escalate\.count: a distinct rule counts at most 10000 values/,
    ],
    [
      'escalate below the count',
      { ...base, severity: 'medium', threshold: { count: 300, window: '1m', groupBy: ['c'] }, escalate: { count: 300, severity: 'high' } },
      /rule x\.escalate_below_the_count: escalate\.count: escalate\.count must be above the threshold count \(300\)/,
    ],
    [
      'escalate within the tier',
      { ...base, threshold: { count: 3, window: '1m', groupBy: ['c'] }, escalate: { count: 30, severity: 'critical' } },
      /rule x\.escalate_within_the_tier: escalate\.severity: escalate\.severity critical must reach a higher tier than the rule's high \(respond\)/,
    ],
  ];
  it.each(cases)('%s', (_name, doc, pattern) => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-rules-'));
    const id = `x.${_name.replace(/ /g, '_').replace('wrong_field_type', 'wrong_type')}`;
    writeFileSync(join(dir, `${id}.yml`), JSON.stringify({ id, ...doc }));
    const result = loadPack([dir]);
    expect(result.errors.map(formatRuleError).join('\n')).toMatch(pattern);
    expect(result.errors[0]?.file).toContain(`${id}.yml`);
  });
  it('duplicate ids and id/file-name mismatches', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-rules-'));
    writeFileSync(join(dir, 'x.dup.yml'), JSON.stringify({ id: 'x.dup', ...base }));
    writeFileSync(join(dir, 'x.other.yml'), JSON.stringify({ id: 'x.dup', ...base }));
    const messages = loadPack([dir]).errors.map(formatRuleError).join('\n');
    expect(messages).toMatch(/x\.other\.yml: rule x\.dup: id: id must equal the file name 'x\.other'/);
    expect(messages).toMatch(/duplicate rule id, also defined in .*x\.dup\.yml/);
  });
  it('a value YAML reads as a number from another spelling: an error under a text modifier, a warning elsewhere', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-rules-'));
    const rule = (match: string, threshold = '') =>
      `id: x.hex\ntitle: t\ndescription: d\nseverity: low\nriskScore: 1\nrunbook: https://wiki.example.com/x\nmatch:\n${match}\n${threshold}`;
    // Unquoted, `0xa9fea9fe` is 2852039166: the rule would match those digits, not the address.
    // And a twenty-digit id is past a double's precision: its digits are not the ones written.
    writeFileSync(
      join(dir, 'x.hex.yml'),
      rule('  any:\n  - url.original|contains:\n    - 169.254.169.254\n    - 0xa9fea9fe\n    - 42\n    - 12345678901234567890'),
    );
    const loaded = loadPack([dir]);
    expect(loaded.errors.map(formatRuleError)).toEqual([
      expect.stringMatching(
        /x\.hex\.yml: rule x\.hex: match\.any\[0\]\.url\.original\|contains\[1\]: YAML reads the unquoted 0xa9fea9fe as the number 2852039166; quote it \('0xa9fea9fe'\) to match the text as written$/,
      ),
      expect.stringMatching(/contains\[3\]: YAML reads the unquoted 12345678901234567890 as the number 12345678901234567000;/),
    ]);
    // Quoted, it is text; a count written 1e3 is a thousand, perhaps on purpose: a warning only.
    writeFileSync(
      join(dir, 'x.hex.yml'),
      rule("  url.original|contains: '0xa9fea9fe'", 'threshold:\n  count: 1e3\n  window: 5m\n  groupBy: [source.ip]'),
    );
    const quoted = loadPack([dir]);
    expect(quoted.errors).toEqual([]);
    expect(quoted.warnings.map(formatRuleError)).toContainEqual(
      expect.stringMatching(
        /rule x\.hex: threshold\.count: YAML reads the unquoted 1e3 as the number 1000; quote it \('1e3'\) if the text was meant/,
      ),
    );
    expect(quoted.pack.rules[0]?.threshold?.count).toBe(1000);
  });
});

describe('the field check', () => {
  it('knows the fields parsers compute (stack traces, container names, Keycloak admin events, AWS derivations); a typo still warns', () => {
    const fields = [
      'error.stack_trace',
      'container.name',
      'user.target.id',
      'event.reason',
      'faas.name',
      'network.transport',
      'user.targt.id',
    ];
    const probe = rule({ id: 'app.probe', match: Object.fromEntries(fields.map((f) => [`${f}|exists`, true])) });
    const warned = unknownFieldWarnings({ ...pack, rules: [probe] }).map((w) => w.message.match(/field '([^']+)'/)?.[1]);
    expect(warned).toEqual(['user.targt.id']);
  });
  it('a list a rule test logs is known by its name (its elements are `name.0`, …); each of a distinct clause’s fields is checked', () => {
    const probe = rule({
      id: 'app.probe',
      match: { 'event.action': 'GetParameters' },
      distinct: { field: ['requestParameters.names', 'requestParameters.nmes'], count: 2, window: '10m', groupBy: ['user.name'] },
    });
    // The shipped SSM rule's tests log `requestParameters.names` as a list.
    const warnings = unknownFieldWarnings({ ...pack, rules: [...pack.rules, probe] }).filter((w) => w.ruleId === 'app.probe');
    expect(warnings.map((w) => [w.path, w.message.match(/field '([^']+)'/)?.[1]])).toEqual([
      ['distinct.field[1]', 'requestParameters.nmes'],
    ]);
  });
  it("a title's placeholder nothing fills warns (a typo, or `{window}` on a rule without one); the rule's own values do not", () => {
    const counted = rule({
      id: 'app.counted',
      title: "{user.nmae|user.name} failed {count} times in {window} from {source.ip|'somewhere'}",
      match: { 'event.outcome': 'failure' },
      threshold: { count: 5, window: '10m', groupBy: ['user.name'] },
    });
    const plain = rule({ id: 'app.plain', title: '{user.name} did it within {window}', match: { 'event.outcome': 'failure' } });
    const warned = unknownFieldWarnings({ ...pack, rules: [counted, plain] }).map((w) => [
      w.ruleId,
      w.path,
      w.message.match(/'\{([^}]+)\}'/)?.[1],
    ]);
    expect(warned).toEqual([
      ['app.counted', 'title', 'user.nmae'],
      ['app.plain', 'title', 'window'],
    ]);
  });
});
