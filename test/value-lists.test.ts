import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bundleRules } from '../infra/rule-bundle';
import { loadPack } from '../src/cli/load-pack';
import { listRuleFiles, readRuleFiles } from '../src/rules/read-files';
import { buildRulePack, formatRuleError, loadRulePackOrThrow, type RawRuleFile } from '../src/rules/rule-pack';
import { runAllRuleTests } from '../src/rules/rule-tests';
import type { DetectionRule } from '../src/schema/rule';
import { detector, ev } from './helpers';

const shipped = readRuleFiles(['rules']).files;
const file = (name: string, yaml: string): RawRuleFile => ({ file: name, doc: parse(yaml) });
const packWith = (...extra: RawRuleFile[]) => buildRulePack([...shipped, ...extra]);
const errorsOf = (result: ReturnType<typeof packWith>) => result.errors.map(formatRuleError);
const ruleOf = (result: ReturnType<typeof packWith>, id: string): DetectionRule => {
  const found = result.pack.rules.find((r) => r.id === id);
  if (!found) throw new Error(`no rule ${id}`);
  return found;
};

/** Twelve failed SSH logins from one address, a second apart. */
const failures = (address: string) =>
  Array.from({ length: 12 }, (_, i) =>
    ev({ 'event.action': 'ssh_login', 'event.outcome': 'failure', 'source.ip': address }, Date.parse('2025-03-03T03:12:00Z') + i * 1000),
  );
/** A rule file of the given id whose match is the given lines. */
const ruleFile = (id: string, ...match: string[]): RawRuleFile =>
  file(
    `mine/${id}.yml`,
    [
      `id: ${id}`,
      'title: t',
      'description: d',
      'severity: low',
      'riskScore: 1',
      'runbook: https://runbooks.example/x',
      'match:',
      ...match.map((m) => `  ${m}`),
    ].join('\n'),
  );
const alertsOf = async (rule: DetectionRule, address: string) =>
  (await detector([rule]).evaluate(`b-${rule.id}-${address}`, failures(address))).alerts.map((a) => a.ruleId);

describe('named lists (`list:` files) and the rules that read them (`|expand`)', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'lists-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('the shipped rules state the internal ranges once: each reads rules/lists/internal_networks.yml and holds its values', () => {
    const { pack, errors } = packWith();
    expect(errors.map(formatRuleError)).toEqual([]);
    const internal = pack.lists.find((l) => l.name === 'internal_networks');
    expect(internal?.values).toContain('10.0.0.0/8');
    const readers = pack.rules.filter((r) => JSON.stringify(r.match).includes(JSON.stringify(internal?.values)));
    expect(readers.map((r) => r.id)).toEqual(
      expect.arrayContaining([
        'ssh.auth_failures',
        'ssh.internal_auth_failures',
        'vpc.port_scan_vertical',
        'vpc.internet_port_scan',
        'mail.auth_failures',
      ]),
    );
    // No rule file writes a private range out itself: a deployment's change to the list would miss it.
    const writtenOut = listRuleFiles(['rules']).filter(
      (f) => !f.startsWith('rules/lists/') && readFileSync(f, 'utf8').includes('- 10.0.0.0/8'),
    );
    expect(writtenOut).toEqual([]);
    expect(readers.length).toBeGreaterThanOrEqual(12);
  });

  it('the pack knows which rules read each list, and `detect validate` warns of a list no rule reads', () => {
    const { pack } = packWith();
    const readBy = (name: string) => pack.lists.find((l) => l.name === name)?.readBy ?? [];
    expect(readBy('service_accounts').sort()).toEqual(['auth.login_without_mfa', 'auth.off_hours_login', 'data.bulk_export']);
    expect(readBy('internal_networks')).toContain('vpc.rejected_flood');
    expect(readBy('internal_networks')).toHaveLength(14);
    const dir = tempDir();
    writeFileSync(join(dir, 'partners.yml'), "list: partner_networks\ndescription: the partner link\nvalues: ['172.16.0.0/12']\n");
    const loaded = loadPack(['rules', dir], { checkRegexes: false });
    expect(loaded.errors).toEqual([]);
    expect(loaded.warnings.map(formatRuleError)).toEqual([
      `${join(dir, 'partners.yml')}: list: no rule reads list 'partner_networks' (a rule reads it with field|…|expand: '%partner_networks%')`,
    ]);
  });

  it("a deployment's change adds its own ranges to every rule that reads the list, and its alerts say so", async () => {
    const office = '81.2.69.142';
    const shippedPack = packWith();
    expect(await alertsOf(ruleOf(shippedPack, 'ssh.auth_failures'), office)).toEqual(['ssh.auth_failures']);
    expect(await alertsOf(ruleOf(shippedPack, 'ssh.internal_auth_failures'), office)).toEqual([]);

    const changed = packWith(
      file('mine/internal_networks.yml', 'list: internal_networks\nadd: [81.2.69.128/26]\nreason: NET-412 the office VPN egress'),
    );
    expect(errorsOf(changed)).toEqual([]);
    // The office's failures are now an internal host's (the team's), not the internet's (the digest's).
    expect(await alertsOf(ruleOf(changed, 'ssh.auth_failures'), office)).toEqual([]);
    expect(await alertsOf(ruleOf(changed, 'ssh.internal_auth_failures'), office)).toEqual(['ssh.internal_auth_failures']);
    expect(await alertsOf(ruleOf(changed, 'ssh.internal_auth_failures'), '203.0.113.9')).toEqual([]);
    const [alert] = (await detector([ruleOf(changed, 'ssh.internal_auth_failures')]).evaluate('b-said', failures(office))).alerts;
    expect(alert?.description).toContain(
      'Tuned for this deployment: list internal_networks adds 81.2.69.128/26 (mine/internal_networks.yml). Reason: NET-412 the office VPN egress',
    );
    expect(ruleOf(shippedPack, 'ssh.internal_auth_failures').description).not.toContain('Tuned for this deployment');
    // A rule that reads no list is untouched; the shipped tests still pass on the changed list.
    expect(ruleOf(changed, 'web.request_flood').description).toBe(ruleOf(shippedPack, 'web.request_flood').description);
    const failed = (await runAllRuleTests(changed.pack)).filter((r) => !r.passed);
    expect(failed).toEqual([]);
  });

  it('a change removes a range (a partner network on 172.16.0.0/12 is not yours), and a tuning reads a list too', async () => {
    const partner = '172.20.1.5';
    const changed = packWith(
      file('mine/internal_networks.yml', 'list: internal_networks\nremove: [172.16.0.0/12]\nreason: NET-9 172.16/12 is the partner link'),
      file('mine/partners.yml', "list: partner_networks\ndescription: The partner link's ranges.\nvalues: [172.16.0.0/12]"),
      file(
        'mine/ssh.yml',
        "tune: ssh.auth_failures\nreason: NET-10 the partner's scanner is contracted\nexclude: { source.ip|cidr|expand: '%partner_networks%' }",
      ),
    );
    expect(errorsOf(changed)).toEqual([]);
    expect(await alertsOf(ruleOf(changed, 'ssh.internal_auth_failures'), partner)).toEqual([]);
    expect(await alertsOf(ruleOf(changed, 'ssh.auth_failures'), partner)).toEqual([]);
    expect(await alertsOf(ruleOf(changed, 'ssh.auth_failures'), '203.0.113.9')).toEqual(['ssh.auth_failures']);
    expect(ruleOf(changed, 'ssh.auth_failures').description).toContain('list internal_networks removes 172.16.0.0/12');
    // How each rule reads a list: the tuning's exclude leaves the partner's ranges out; the internal rule asks for internal ones.
    const reads = (name: string) => changed.pack.lists.find((l) => l.name === name)?.reads ?? [];
    expect(reads('partner_networks')).toEqual([{ ruleId: 'ssh.auth_failures', path: 'exclude.source.ip|cidr|expand', leavesOut: true }]);
    expect(reads('internal_networks')).toEqual(
      expect.arrayContaining([
        { ruleId: 'ssh.internal_auth_failures', path: 'match.source.ip|cidr|expand', leavesOut: false },
        { ruleId: 'ssh.auth_failures', path: 'match.not.source.ip|cidr|expand', leavesOut: true },
      ]),
    );
  });

  it('a list may be empty (authorized_scanners, as shipped): rules leave nothing out until the deployment names its scanners', async () => {
    const scanner = '10.20.0.15';
    /** Refused SSH flows from one address to 30 hosts, and 404s for 45 paths: a sweep, and a web scanner's content discovery. */
    const sweep = (address: string) => [
      ...Array.from({ length: 30 }, (_, i) =>
        ev(
          {
            'event.dataset': 'aws.vpcflow',
            'vpcflow.action': 'REJECT',
            'event.action': 'reject',
            'source.ip': address,
            'destination.ip': `10.0.1.${i + 1}`,
            'destination.port': 22,
          },
          Date.parse('2025-03-03T03:12:00Z') + i * 1000,
        ),
      ),
      ...Array.from({ length: 45 }, (_, i) =>
        ev(
          { 'http.response.status_code': 404, 'source.ip': address, 'url.path': `/admin${i}.php` },
          Date.parse('2025-03-03T03:12:00Z') + i * 1000,
        ),
      ),
    ];
    const told = async (pack: ReturnType<typeof packWith>, address: string) => {
      const rules = ['vpc.port_scan_horizontal', 'web.content_discovery'].map((id) => ruleOf(pack, id));
      const { alerts } = await detector(rules).evaluate(`b-${address}-${pack.pack.lists.length}`, sweep(address));
      return alerts.map((a) => a.ruleId).sort();
    };
    const shippedPack = packWith();
    expect(errorsOf(shippedPack)).toEqual([]);
    const list = shippedPack.pack.lists.find((l) => l.name === 'authorized_scanners');
    expect(list?.values).toEqual([]);
    expect(list?.readBy.sort()).toEqual([
      'nfw.internal_host_blocked_repeatedly',
      'vpc.internal_admin_port_sweep',
      'vpc.internet_port_scan',
      'vpc.port_scan_horizontal',
      'vpc.port_scan_vertical',
      'vpc.rejected_flood',
      'waf.blocked_burst',
      'web.cloud_metadata_request',
      'web.content_discovery',
      'web.forbidden_burst',
      'web.request_flood',
    ]);
    expect(await told(shippedPack, scanner)).toEqual(['vpc.port_scan_horizontal', 'web.content_discovery']);

    const named = packWith(
      file('mine/authorized_scanners.yml', 'list: authorized_scanners\nadd: [10.20.0.15]\nreason: SEC-88 the Nessus scanner'),
    );
    expect(errorsOf(named)).toEqual([]);
    expect(await told(named, scanner)).toEqual([]);
    expect(await told(named, '10.20.0.16')).toEqual(['vpc.port_scan_horizontal', 'web.content_discovery']);
    expect(ruleOf(named, 'web.content_discovery').description).toContain(
      'Tuned for this deployment: list authorized_scanners adds 10.20.0.15 (mine/authorized_scanners.yml). Reason: SEC-88 the Nessus scanner',
    );
    // The internet scan reads both lists in one condition: the internal ranges still count as inside.
    const internet = ruleOf(named, 'vpc.internet_port_scan');
    expect(JSON.stringify(internet.match)).toContain('"10.20.0.15"');
    expect(JSON.stringify(internet.match)).toContain('"10.0.0.0/8"');
  });

  it('sensitive_projects (empty as shipped) names the projects an issue tracker does not mark: their first access is told', async () => {
    /** An issue tracker's project access: no sensitivity in its events. */
    const access = (project: string, user = 'r.ortega') =>
      ev({ 'event.action': 'project_access', 'event.outcome': 'success', 'user.name': user, 'resource.name': project });
    const told = async (pack: ReturnType<typeof packWith>, ...projects: string[]) =>
      (
        await detector([ruleOf(pack, 'authz.sensitive_first_access')]).evaluate(
          `b-${projects.join()}-${pack.pack.lists.length}`,
          projects.map((p) => access(p)),
        )
      ).alerts.map((a) => a.title);
    const shippedPack = packWith();
    expect(shippedPack.pack.lists.find((l) => l.name === 'sensitive_projects')).toMatchObject({
      values: [],
      readBy: ['authz.sensitive_first_access'],
    });
    expect(await told(shippedPack, 'PAYROLL')).toEqual([]);
    const named = packWith(
      file('mine/sensitive_projects.yml', "list: sensitive_projects\nadd: [PAYROLL, 'hr-*']\nreason: GRC-31 the data owners' register"),
    );
    expect(errorsOf(named)).toEqual([]);
    expect(await told(named, 'payroll')).toEqual(['r.ortega accessed sensitive payroll for the first time']);
    expect(await told(named, 'HR-REVIEWS')).toEqual(['r.ortega accessed sensitive HR-REVIEWS for the first time']);
    expect(await told(named, 'WEB', 'HRM')).toEqual([]);
    // The app's own mark still counts without the list.
    const marked = ev({ ...access('LEGAL-HOLD'), 'resource.sensitivity': 'restricted' });
    expect((await detector([ruleOf(shippedPack, 'authz.sensitive_first_access')]).evaluate('b-marked', [marked])).alerts).toHaveLength(1);
  });

  it("a shipped test a deployment's list change breaks says which change: its scanner is the test's address", async () => {
    const changed = packWith(file('mine/authorized_scanners.yml', 'list: authorized_scanners\nadd: [10.0.9.9/32]\nreason: SEC-88'));
    const failed = (await runAllRuleTests(changed.pack)).filter((r) => !r.passed);
    expect(failed.map((r) => r.ruleId).sort()).toEqual(['vpc.port_scan_horizontal', 'vpc.port_scan_vertical']);
    expect(failed[0]?.detail).toMatch(
      /^expected 1 alert\(s\), got 0 from 30 event\(s\); the rule reads list 'authorized_scanners', which mine\/authorized_scanners\.yml changed \(adds 10\.0\.9\.9\/32\): a value this test pins may be one the change adds or removes$/,
    );
  });

  it('a change may empty a list: a rule that left its values out then leaves out nothing', async () => {
    const emptied = packWith(
      file(
        'mine/service_accounts.yml',
        "list: service_accounts\nremove: ['svc-*']\nreason: IAM-7 our programs log in with certificates only",
      ),
    );
    expect(errorsOf(emptied)).toEqual([]);
    expect(emptied.pack.lists.find((l) => l.name === 'service_accounts')?.values).toEqual([]);
    const night = Date.parse('2025-03-03T03:12:00Z');
    const login = ev(
      {
        'event.category': 'authentication',
        'event.action': 'user_login',
        'event.outcome': 'success',
        'user.name': 'svc-backup',
        'user.mfa_used': false,
        'authentication.method': 'password',
      },
      night,
    );
    const rule = (pack: ReturnType<typeof packWith>) => ruleOf(pack, 'auth.login_without_mfa');
    expect((await detector([rule(packWith())]).evaluate('b-shipped', [login])).alerts).toEqual([]);
    expect((await detector([rule(emptied)]).evaluate('b-emptied', [{ ...login }])).alerts.map((a) => a.ruleId)).toEqual([
      'auth.login_without_mfa',
    ]);
  });

  it('`detect validate` warns of a rule that asks for a value of an empty list: it matches no event until the list has one', () => {
    const dir = tempDir();
    expect(loadPack(['rules'], { checkRegexes: false }).warnings).toEqual([]);
    writeFileSync(
      join(dir, 'my.scanner_logins.yml'),
      [
        'id: my.scanner_logins',
        'title: t',
        'description: a login from one of our scanners',
        'severity: low',
        'riskScore: 1',
        'runbook: https://runbooks.example/x',
        'match:',
        '  event.action: ssh_login',
        '  any:',
        "  - source.ip|cidr|expand: '%authorized_scanners%'",
        "  - source.ip|cidr|expand: '%authorized_scanners%'",
        '    user.name: scanner',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'internal_networks.yml'),
      'list: internal_networks\nremove: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, ::1/128, fc00::/7, fe80::/10]\nreason: a mistake\n',
    );
    const { errors, warnings } = loadPack(['rules', dir], { checkRegexes: false });
    expect(errors).toEqual([]);
    const told = warnings.map(formatRuleError);
    expect(told).toContain(
      `${join(dir, 'my.scanner_logins.yml')}: rule my.scanner_logins: match.any: matches no event while list 'authorized_scanners' has no values: the condition asks for one of them (add values to the list, or read it under not:)`,
    );
    // Emptying the internal ranges silences every rule that asks for an internal address, each told; those that leave them out are not.
    expect(told).toContain(
      "rules/ssh/ssh.internal_auth_failures.yml: rule ssh.internal_auth_failures: match.source.ip|cidr|expand: matches no event while list 'internal_networks' has no values: the condition asks for one of them (add values to the list, or read it under not:)",
    );
    expect(told.some((w) => w.includes('rule ssh.auth_failures:'))).toBe(false);
    expect(told.some((w) => w.includes('rule vpc.internet_port_scan:'))).toBe(false);
  });

  it('an empty value is not a placeholder: `field|expand: []` is refused at its path', () => {
    const result = packWith(ruleFile('my.empty', 'source.ip|cidr|expand: []'));
    expect(errorsOf(result)).toEqual([
      "mine/my.empty.yml: rule my.empty: match.source.ip|cidr|expand: expected a placeholder naming a list, '%list_name%'",
    ]);
  });

  it('says what is wrong with file, rule id and field path, and blames the file that made the mistake', () => {
    const result = packWith(
      file('mine/again.yml', 'list: internal_networks\ndescription: twice\nvalues: [10.0.0.0/8]'),
      file('mine/unknown.yml', 'list: internal_netwroks\nadd: [10.9.0.0/16]\nreason: typo'),
      file('mine/no-reason.yml', 'list: partner_networks\nadd: [10.9.0.0/16]'),
      file('mine/partner.yml', 'list: partner_networks\ndescription: partners\nvalues: [172.16.0.0/12, not-a-range]'),
      file('mine/absent.yml', 'list: partner_networks\nremove: [192.0.2.0/24]\nreason: x'),
      file('mine/BadName.yml', 'list: Bad-Name\ndescription: x\nvalues: [1]'),
      ruleFile('my.r1', "source.ip|cidr|expand: '%nowhere%'", "user.name|expand: ['alice', 'x%partner_networks%']"),
      ruleFile('my.r2', "source.ip|cidr|expand: '%partner_networks%'"),
      ruleFile('my.r3', 'source.ip|cidr|expand: 10.0.0.0/8', 'source.ip|cidr: 10.1.0.0/16'),
      file('mine/tune.yml', "tune: ssh.auth_failures\nreason: x\nexclude: { source.ip|cidr|expand: '%nowhere%' }"),
      // A correlation naming a rule whose list could not be read is not blamed for it.
      file(
        'mine/my.corr.yml',
        [
          'id: my.corr',
          'title: t',
          'description: d',
          'severity: high',
          'riskScore: 8',
          'runbook: https://runbooks.example/x',
          'correlation: { entity: source.ip, window: 30m, riskThreshold: 7, category: scan, members: [my.r2, ssh.auth_failures] }',
        ].join('\n'),
      ),
    );
    const errors = errorsOf(result);
    expect(errors).toEqual(
      expect.arrayContaining([
        "mine/again.yml: list: list 'internal_networks' is defined already in rules/lists/internal_networks.yml (a file with add: or remove: and a reason changes it)",
        "mine/unknown.yml: list: 'internal_netwroks' names no list in the pack (a list: file with values: defines one)",
        expect.stringMatching(/^mine\/no-reason\.yml: reason: /),
        "mine/absent.yml: remove[0]: '192.0.2.0/24' is not in list 'partner_networks' (mine/partner.yml)",
        expect.stringMatching(/^mine\/BadName\.yml: list: expected a list name like internal_networks/),
        "mine/my.r1.yml: rule my.r1: match.source.ip|cidr|expand: '%nowhere%' names no list in the pack (a list: file in a rule folder defines one; the shipped ones are in rules/lists)",
        "mine/my.r1.yml: rule my.r1: match.user.name|expand[1]: 'x%partner_networks%': a placeholder is a whole value, '%list_name%'",
        "mine/partner.yml: values[1]: 'not-a-range' is neither a CIDR range nor an address, and rule my.r2 reads list 'partner_networks' with |cidr (match.source.ip|cidr|expand)",
        "mine/my.r3.yml: rule my.r3: match.source.ip|cidr|expand: 'source.ip|cidr|expand' and 'source.ip|cidr' in one map: write the values in one of them",
        "mine/tune.yml: rule ssh.auth_failures: exclude.source.ip|cidr|expand: '%nowhere%' names no list in the pack (a list: file in a rule folder defines one; the shipped ones are in rules/lists)",
      ]),
    );
    expect(errors).toHaveLength(10);
    expect(errors.filter((e) => e.startsWith('rules/'))).toEqual([]);
  });

  it('a rule compiled without its pack says `|expand` needs one; a second change to a list is refused', () => {
    const alone = buildRulePack([ruleFile('my.alone', "source.ip|cidr|expand: '%internal_networks%'")]);
    expect(errorsOf(alone)).toEqual([
      "mine/my.alone.yml: rule my.alone: match.source.ip|cidr|expand: '%internal_networks%' names no list in the pack (a list: file in a rule folder defines one; the shipped ones are in rules/lists)",
    ]);
    const twice = packWith(
      file('mine/a.yml', 'list: internal_networks\nadd: [10.9.0.0/16]\nreason: a'),
      file('mine/b.yml', 'list: internal_networks\nadd: [10.8.0.0/16]\nreason: b'),
    );
    expect(errorsOf(twice)).toEqual(["mine/b.yml: list: list 'internal_networks' is changed already in mine/a.yml (one change per list)"]);
  });

  it('deployed: the Lambdas’ embedded rule files carry the lists and a later folder’s change, and a bad change fails synth', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'internal_networks.yml'), 'list: internal_networks\nadd: [198.51.100.0/24]\nreason: NET-412 office VPN\n');
    const { pack, errors } = loadPack(['rules', dir], { checkRegexes: false });
    expect(errors.map(formatRuleError)).toEqual([]);
    const bundle = bundleRules(['rules', dir]);
    const embedded = loadRulePackOrThrow(JSON.parse(readFileSync(bundle.file, 'utf8')));
    const readsOffice = (p: typeof pack) =>
      JSON.stringify(p.rules.find((r) => r.id === 'ssh.internal_auth_failures')?.match).includes('198.51.100.0/24');
    expect(readsOffice(pack)).toBe(true);
    expect(readsOffice(embedded)).toBe(true);
    writeFileSync(join(dir, 'internal_networks.yml'), 'list: internal_networks\nadd: [198.51.100.0/33]\nreason: typo\n');
    expect(() => bundleRules(['rules', dir])).toThrow(
      /internal_networks\.yml: add\[0\]: '198\.51\.100\.0\/33' is neither a CIDR range nor an address, and rule /,
    );
    // Told once, at the change, though a dozen shipped rules read the list; no shipped file is blamed.
    const bad = loadPack(['rules', dir], { checkRegexes: false }).errors.map(formatRuleError);
    expect(bad).toEqual([
      expect.stringMatching(
        /^.*internal_networks\.yml: add\[0\]: '198\.51\.100\.0\/33' is neither a CIDR range nor an address, and rule \S+ reads list 'internal_networks' with \|cidr/,
      ),
    ]);
  });
});
