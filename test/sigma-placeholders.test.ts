import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { importSigma } from '../src/cli/import-sigma';
import { loadPack } from '../src/cli/load-pack';
import { formatRuleError } from '../src/rules/rule-pack';
import { DEFAULT_SIGMA_MAPPING } from '../src/sigma/default-mapping';
import { detector, ev } from './helpers';

/**
 * Sigma's placeholders (`c-ip|cidr|expand: '%Admin_Networks%'`) are values a deployment keeps
 * outside the rule: they become named lists (src/rules/value-lists.ts), written empty by
 * `detect import-sigma` for the deployment to fill.
 */
const ADMIN_PANEL = `title: Admin panel reached from outside the admin networks
id: 4c0e8a2e-0b7a-4d59-9a43-2f3c1b7d9e01
status: test
description: A request for the admin panel from an address outside the networks allowed to administer the site.
logsource: { category: webserver }
detection:
  selection: { cs-uri-stem|startswith: /admin }
  filter: { c-ip|cidr|expand: '%Admin_Networks%' }
  condition: selection and not filter
level: medium
`;
const SCANNER_LOGIN = `title: Login page probed by a known scanner host
id: 9b1f3e55-6a0d-4c2b-8f7e-1d2c3b4a5f60
status: test
description: The login page asked for by one of the scanner hosts named in a placeholder.
logsource: { category: webserver }
detection:
  selection:
    cs-uri-stem|contains: /login
    c-ip|cidr|expand: '%Scanner_Hosts%'
  condition: selection
level: low
`;
const BAD = `title: A placeholder with a regex
id: 0d9e8f7a-1b2c-4d3e-8f5a-6b7c8d9e0f1a
status: test
logsource: { category: webserver }
detection:
  selection: { cs-uri-stem|re|expand: '%Paths%' }
  condition: selection
level: low
`;

function sigmaFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigma-in-'));
  writeFileSync(join(dir, 'admin_panel.yml'), ADMIN_PANEL);
  writeFileSync(join(dir, 'scanner_login.yml'), SCANNER_LOGIN);
  writeFileSync(join(dir, 'bad.yml'), BAD);
  return dir;
}

describe('Sigma placeholders become named lists', () => {
  it('import-sigma converts them, writes each list empty once, and never overwrites one the deployment filled', async () => {
    const input = sigmaFolder();
    const out = join(mkdtempSync(join(tmpdir(), 'sigma-out-')), 'imported');
    const result = await importSigma([input], out, DEFAULT_SIGMA_MAPPING);
    expect(result.written.map((w) => w.id).sort()).toEqual([
      'sigma.admin_panel_reached_from_outside_the_admin_networks',
      'sigma.login_page_probed_by_a_known_scanner_host',
    ]);
    expect(result.skipped.map((s) => s.reason)).toEqual(["modifier 're' with 'expand' is not supported (field 'cs-uri-stem')"]);
    expect(result.lists.map((l) => [l.name, l.path])).toEqual([
      ['admin_networks', join(out, 'lists', 'admin_networks.yml')],
      ['scanner_hosts', join(out, 'lists', 'scanner_hosts.yml')],
    ]);
    const rule = parse(readFileSync(join(out, 'sigma.admin_panel_reached_from_outside_the_admin_networks.yml'), 'utf8')) as {
      match: unknown;
    };
    expect(JSON.stringify(rule.match)).toContain('"source.ip|cidr|expand":"%admin_networks%"');
    expect(parse(readFileSync(join(out, 'lists', 'admin_networks.yml'), 'utf8'))).toMatchObject({ list: 'admin_networks', values: [] });

    // Loaded beside the shipped rules: valid, and the validator says which rule waits for values.
    const loaded = loadPack(['rules', out], { checkRegexes: false });
    expect(loaded.errors).toEqual([]);
    expect(loaded.warnings.map(formatRuleError)).toEqual([
      `${join(out, 'sigma.login_page_probed_by_a_known_scanner_host.yml')}: rule sigma.login_page_probed_by_a_known_scanner_host: match.source.ip|cidr|expand: matches no event while list 'scanner_hosts' has no values: the condition asks for one of them (add values to the list, or read it under not:)`,
    ]);

    // The deployment fills a list; a second import keeps it.
    writeFileSync(join(out, 'lists', 'admin_networks.yml'), 'list: admin_networks\ndescription: the VPN\nvalues: [10.8.0.0/16]\n');
    const again = await importSigma([input], out, DEFAULT_SIGMA_MAPPING);
    expect(again.lists).toEqual([]); // both lists are the folder's now: neither written again
    expect(readFileSync(join(out, 'lists', 'admin_networks.yml'), 'utf8')).toContain('10.8.0.0/16');

    const pack = loadPack(['rules', out], { checkRegexes: false }).pack;
    const admin = pack.rules.find((r) => r.id === 'sigma.admin_panel_reached_from_outside_the_admin_networks');
    if (!admin) throw new Error('rule not loaded');
    const request = (address: string) =>
      ev({ 'event.category': 'web', 'url.path': '/admin/users', 'source.ip': address, 'cloudwatch.log_group': '/app/web/site' });
    const told = async (address: string) => (await detector([admin]).evaluate(`b-${address}`, [request(address)])).alerts.length;
    expect(await told('10.8.3.4')).toBe(0);
    expect(await told('203.0.113.9')).toBe(1);
  });

  it('a list the deployment keeps in its own rule folder is read, not written again beside the imported rules', async () => {
    const input = sigmaFolder();
    const mine = mkdtempSync(join(tmpdir(), 'my-rules-'));
    mkdirSync(join(mine, 'lists'));
    writeFileSync(join(mine, 'lists', 'admin_networks.yml'), 'list: admin_networks\ndescription: the VPN\nvalues: [10.8.0.0/16]\n');
    const out = join(mine, 'imported');
    const result = await importSigma([input], out, DEFAULT_SIGMA_MAPPING, { ruleFolders: ['rules', mine] });
    // Only the list no folder defines is written.
    expect(result.lists.map((l) => l.name)).toEqual(['scanner_hosts']);
    expect(existsSync(join(out, 'lists', 'admin_networks.yml'))).toBe(false);
    const loaded = loadPack(['rules', mine], { checkRegexes: false });
    expect(loaded.errors).toEqual([]);
    expect(loaded.pack.lists.find((l) => l.name === 'admin_networks')?.readBy).toEqual([
      'sigma.admin_panel_reached_from_outside_the_admin_networks',
    ]);
  });

  it('a Sigma file read straight from a rule folder reads the same list, by the same name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigma-folder-'));
    mkdirSync(join(dir, 'lists'));
    writeFileSync(join(dir, 'admin_panel.yml'), ADMIN_PANEL);
    writeFileSync(join(dir, 'lists', 'admin_networks.yml'), 'list: admin_networks\ndescription: the VPN\nvalues: [10.8.0.0/16]\n');
    const { pack, errors } = loadPack(['rules', dir], { checkRegexes: false });
    expect(errors).toEqual([]);
    expect(pack.lists.find((l) => l.name === 'admin_networks')?.readBy).toEqual([
      'sigma.admin_panel_reached_from_outside_the_admin_networks',
    ]);
    expect(existsSync(join(dir, 'lists', 'admin_networks.yml'))).toBe(true);
    // Without the list, the error names the list the placeholder reads.
    const without = mkdtempSync(join(tmpdir(), 'sigma-folder-'));
    writeFileSync(join(without, 'admin_panel.yml'), ADMIN_PANEL);
    expect(loadPack(['rules', without], { checkRegexes: false }).errors.map(formatRuleError)).toEqual([
      `${join(without, 'admin_panel.yml')}: rule 4c0e8a2e-0b7a-4d59-9a43-2f3c1b7d9e01: detection.filter.c-ip|cidr|expand: '%Admin_Networks%' names no list in the pack (as a list name: admin_networks) (a list: file in a rule folder defines one; the shipped ones are in rules/lists)`,
    ]);
  });
});
