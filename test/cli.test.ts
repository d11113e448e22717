import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

/** The CLI as users run it: `node bin/detect.mjs …`, stderr and exit code. */
function detect(...args: string[]) {
  // Without the test runner's own opt-out: the CLI must keep the SDK quiet by itself.
  const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _, ...env } = process.env;
  const r = spawnSync(process.execPath, ['bin/detect.mjs', ...args], { encoding: 'utf8', env });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}
const tmp = () => mkdtempSync(join(tmpdir(), 'cli-'));

describe('bin/detect.mjs: the bundle it runs', () => {
  it('runs the sources as they are now: a changed source is bundled again, before it runs', () => {
    // A project of its own (the repository's dependencies linked in), so its bundles are apart.
    const project = tmp();
    mkdirSync(join(project, 'bin'));
    copyFileSync('bin/detect.mjs', join(project, 'bin', 'detect.mjs'));
    for (const dir of ['src/cli', 'functions', 'infra']) mkdirSync(join(project, dir), { recursive: true });
    symlinkSync(join(process.cwd(), 'node_modules'), join(project, 'node_modules'));
    writeFileSync(
      join(project, 'src/cli/main.ts'),
      `import { said } from './said';\nexport async function main(argv: string[]): Promise<void> { process.stdout.write(said + ' ' + argv.slice(2).join(',')); }\n`,
    );
    const say = (said: string) => writeFileSync(join(project, 'src/cli/said.ts'), `export const said: string = '${said}';\n`);
    const cache = join(project, 'cache');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(project, 'bin', 'detect.mjs'), ...args], {
        encoding: 'utf8',
        env: { ...process.env, SENTINEL_DETECT_CACHE: cache },
      });
    say('first');
    expect(run('a', 'b').stdout).toBe('first a,b');
    expect(run('c').stdout).toBe('first c');
    expect(readdirSync(cache)).toHaveLength(1); // the same sources, the same bundle
    say('second'); // a module the entry imports changed, not the entry
    expect(run('d').stdout).toBe('second d');
    expect(readdirSync(cache)).toHaveLength(2); // the older bundle is kept a day: a CLI may still be running from it
  });
});

describe('detect replay: input it cannot use is a clear message and a non-zero exit', () => {
  it('empty input says so, quickly, without synthesizing anything', () => {
    const file = join(tmp(), 'empty.jsonl');
    writeFileSync(file, '');
    const r = detect('replay', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`nothing to replay: ${file} is empty`);
  });
  it('lines that are neither payloads nor events, without --log-group, say why nothing was read', () => {
    const file = join(tmp(), 'plain.log');
    writeFileSync(file, 'hello\nworld\n');
    const r = detect('replay', file, '--no-correlate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'nothing in the input could be read (2 unreadable_line); to replay plain log lines, pass --log-group <name>',
    );
  });
  it('a missing file names it', () => {
    const r = detect('replay', '/nonexistent/x.jsonl');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read \/nonexistent\/x\.jsonl/);
  });
  it('prints no AWS SDK banner on this Node', () => {
    const file = join(tmp(), 'lines.log');
    writeFileSync(file, 'Mar  3 03:12:40 h sshd[1]: Accepted publickey for deploy from 10.0.1.5 port 40022 ssh2\n');
    const r = detect('replay', file, '--log-group', '/var/log/auth.log');
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript/);
  });
});

describe('detect replay --state dynalite: what the DynamoDB table would bill', () => {
  it('reports the units its calls consumed beside the detector’s calls, on stderr and in --stats', () => {
    const dir = tmp();
    const file = join(dir, 'auth.log');
    const failures = Array.from(
      { length: 12 },
      (_, i) => `Mar  3 03:12:${String(10 + i).padStart(2, '0')} h sshd[1]: Failed password for root from 203.0.113.9 port 4${i}022 ssh2`,
    );
    writeFileSync(file, `${failures.join('\n')}\n`);
    const stats = join(dir, 'stats.json');
    const r = detect(
      'replay',
      file,
      '--log-group',
      '/var/log/auth.log',
      '--state',
      'dynalite',
      '-q',
      '--stats',
      stats,
      '-o',
      join(dir, 'a'),
    );
    expect(r.code).toBe(0);
    const units = JSON.parse(readFileSync(stats, 'utf8')).dynamodb;
    // Every write costs at least a unit, and correlation's calls go to the same table.
    expect(units.detectorWrites).toBeGreaterThan(0);
    expect(units.writeUnits).toBeGreaterThanOrEqual(units.detectorWrites);
    expect(units.readUnits).toBeGreaterThan(0);
    expect(r.stderr).toContain(`DynamoDB: ${units.writeUnits.toLocaleString('en-US')} write units`);
    // In memory there is no table to bill: no such figures.
    const memory = detect('replay', file, '--log-group', '/var/log/auth.log', '-q', '--stats', stats, '-o', join(dir, 'b'));
    expect(memory.code).toBe(0);
    expect(JSON.parse(readFileSync(stats, 'utf8')).dynamodb).toBeUndefined();
    expect(memory.stderr).not.toContain('DynamoDB:');
  });
});

describe('detect replay: a scan that finds a secret file is one incident, through the local state machine', () => {
  // 45 paths not found, then `.env` served with a body: to the scanner, or to someone else.
  const scan = (envTo: string) => [
    ...Array.from(
      { length: 45 },
      (_, i) =>
        `203.0.113.45 - - [02/Mar/2025:14:00:${String(i).padStart(2, '0')} +0000] "GET /probe${i}.php HTTP/1.1" 404 153 "-" "gobuster/3.6"`,
    ),
    `${envTo} - - [02/Mar/2025:14:00:50 +0000] "GET /.env HTTP/1.1" 200 812 "-" "gobuster/3.6"`,
  ];
  const replayed = (lines: string[]) => {
    const dir = tmp();
    writeFileSync(join(dir, 'access.log'), `${lines.join('\n')}\n`);
    const out = join(dir, 'alerts.jsonl');
    const r = detect(
      'replay',
      join(dir, 'access.log'),
      '--log-group',
      '/app/web/access',
      '--received-at',
      '2025-03-02T15:00:00Z',
      '-q',
      '-o',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    return readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  };
  it('the file served to the scanner pages once, as corr.web_intrusion about its address', () => {
    const alerts = replayed(scan('203.0.113.45'));
    const incidents = alerts.filter((a) => a.kind === 'incident');
    expect(incidents.map((a) => [a.ruleId, a.tier, a.entity.field, a.entity.value])).toEqual([
      ['corr.web_intrusion', 'respond', 'source.ip', '203.0.113.45'],
    ]);
    expect(alerts.filter((a) => a.tier === 'respond')).toHaveLength(1);
  });
  it('served to another address, the scan and the file stay apart: no incident', () => {
    const alerts = replayed(scan('198.51.100.7'));
    expect(alerts.filter((a) => a.kind === 'incident')).toEqual([]);
    expect(alerts.map((a) => a.ruleId)).toContain('web.sensitive_file_served');
  });
});

describe('detect schema', () => {
  it('prints the committed JSON Schema, writes it with --out, and refuses a kind it does not have', () => {
    const printed = detect('schema', 'alert');
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(readFileSync('docs/schemas/alert.schema.json', 'utf8'));
    const out = join(tmp(), 'nested', 'rule.schema.json');
    expect(detect('schema', 'rule', '--out', out).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync('docs/schemas/rule.schema.json', 'utf8'));
    const wrong = detect('schema', 'rules');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('Allowed choices are rule, alert');
  });
});

describe('detect validate', () => {
  const pack = () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sources'));
    for (const f of readdirSync('rules/sources')) copyFileSync(join('rules/sources', f), join(dir, 'sources', f));
    return dir;
  };
  it('warns about a field nothing produces (a typo), and still passes', () => {
    const dir = pack();
    const rule = readFileSync('rules/auth/auth.admin_login_failures.yml', 'utf8').replace(
      'match:\n  event.action: admin_login',
      'match:\n  evnt.action: admin_login',
    );
    writeFileSync(join(dir, 'auth.admin_login_failures.yml'), rule);
    const r = detect('validate', dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `warning: ${dir}/auth.admin_login_failures.yml: rule auth.admin_login_failures: match: field 'evnt.action' is produced by no source`,
    );
  });
  it('fails on a runbook that does not exist, naming file, rule and field', () => {
    const dir = pack();
    const rule = readFileSync('rules/auth/auth.admin_login_failures.yml', 'utf8').replace(
      'runbook: docs/runbooks/auth.admin_login_failures.md',
      'runbook: docs/runbooks/nope.md',
    );
    writeFileSync(join(dir, 'auth.admin_login_failures.yml'), rule);
    const r = detect('validate', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${dir}/auth.admin_login_failures.yml: rule auth.admin_login_failures: runbook: runbook file 'docs/runbooks/nope.md' does not exist (a path is read from the working directory, ${process.cwd()})`,
    );
  });
});

describe('detect lists', () => {
  it("shows what each list holds with the deployment's change and its reason, and which rules read it", () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'authorized_scanners.yml'),
      'list: authorized_scanners\nadd: [10.20.0.15/32]\nreason: SEC-88 the Nessus scanner\n',
    );
    const r = detect('lists', 'rules', dir);
    expect(r.code).toBe(0);
    const scanners = r.stdout.split('\n\n').find((block) => block.startsWith('authorized_scanners '));
    expect(scanners).toBe(
      [
        'authorized_scanners (rules/lists/authorized_scanners.yml): 1 value',
        '  values: 10.20.0.15/32',
        `  changed by ${dir}/authorized_scanners.yml: adds 10.20.0.15/32. Reason: SEC-88 the Nessus scanner`,
        '  left out by 11 rules: nfw.internal_host_blocked_repeatedly, vpc.internal_admin_port_sweep, vpc.internet_port_scan, vpc.port_scan_horizontal, vpc.port_scan_vertical, vpc.rejected_flood, waf.blocked_burst, web.cloud_metadata_request, web.content_discovery, web.forbidden_burst, web.request_flood',
      ].join('\n'),
    );
    expect(r.stdout).toContain(
      'sensitive_projects (rules/lists/sensitive_projects.yml): empty (a rule that leaves its values out leaves out nothing',
    );
    // A rule that asks for internal addresses and one that leaves them out: adding a range moves both ways.
    const internal = r.stdout.split('\n\n').find((block) => block.startsWith('internal_networks '));
    expect(internal).toMatch(/\n {2}asked for by 8 rules: [^\n]*ssh\.internal_auth_failures/);
    expect(internal).toMatch(/\n {2}left out by 6 rules: [^\n]*ssh\.auth_failures/);
    const json = JSON.parse(detect('lists', '--json').stdout) as { list: string; values: unknown[] }[];
    expect(json.map((l) => l.list)).toEqual([
      'authorized_scanners',
      'crypto_mining_pools',
      'internal_networks',
      'sensitive_projects',
      'service_accounts',
      'tunnel_services',
    ]);
    // A list of domains: what it holds and the rule that asks for them.
    const pools = r.stdout.split('\n\n').find((block) => block.startsWith('crypto_mining_pools '));
    expect(pools).toMatch(
      /: 18 values\n {2}values: minexmr\.com, supportxmr\.com,[^\n]*\n {2}asked for by 1 rule: dns\.crypto_mining_pool/,
    );
    expect(json.find((l) => l.list === 'authorized_scanners')?.values).toEqual([]);
  });
});

describe('detect sources check', () => {
  it('reports the source, the share parsed and the shapes; exits 1 below --min', () => {
    const file = join(tmp(), 'mixed.log');
    writeFileSync(
      file,
      [
        'Mar  3 03:12:40 h sshd[1]: Failed password for root from 203.0.113.5 port 1 ssh2',
        'Mar  3 03:12:41 h sshd[1]: Failed password for root from 203.0.113.5 port 2 ssh2',
        'Mar  3 03:12:42 h kernel: [12345.678] eth0 link up',
      ].join('\n'),
    );
    const ok = detect('sources', 'check', file, '--log-group', '/var/log/auth.log', '--min', '0.6');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("/var/log/auth.log → source 'bastion-sshd'");
    expect(ok.stdout).toContain('parsed 2 (66.7%');
    expect(ok.stdout).toContain('sshd_failed 2');
    expect(ok.stdout).toContain('Mar N N:N:N h kernel: [N.N] ethN link up');
    const strict = detect('sources', 'check', file, '--log-group', '/var/log/auth.log');
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('BELOW MINIMUM');
  });
  it('an export of flow records is read as flows in the stream it came from, and told how when no stream is given', () => {
    const file = join(tmp(), 'flows.log');
    writeFileSync(file, '2 111122223333 eni-0a1b2c3d4e5f67890 198.51.100.9 10.0.1.5 40000 22 6 3 180 1740971560 1740971620 REJECT OK\n');
    const plain = detect('sources', 'check', file, '--log-group', 'vpc/flows', '--min', '0');
    expect(plain.stdout).toContain("vpc/flows → source 'default'");
    expect(plain.stdout).toContain('name the group in a source file with builtin: vpcflow');
    expect(plain.stdout).toContain('pass --log-stream with the stream they came from');
    const streamed = detect(
      'sources',
      'check',
      file,
      '--log-group',
      'vpc/flows',
      '--log-stream',
      'eni-0a1b2c3d4e5f67890-all',
      '--min',
      '0',
    );
    expect(streamed.stdout).toContain("vpc/flows → source 'vpcflow'");
    expect(streamed.stdout).toContain('parsed 1 (100.0%');
  });
  it("says what the group's subscription filter would deliver of the sample, and why a group gets every line", () => {
    const file = join(tmp(), 'fn.log');
    const id = '6b33ab2e-4618-45bf-aed7-ac4f95025666';
    writeFileSync(
      file,
      [
        `START RequestId: ${id} Version: $LATEST`,
        `2026-03-03T03:12:40.000Z\t${id}\tINFO\tcharged order 1505`,
        `2026-03-03T03:12:41.000Z\t${id}\tERROR\tpayment provider unreachable`,
        `2026-03-03T03:12:44.000Z ${id} Task timed out after 3.00 seconds`,
        `END RequestId: ${id}`,
        `REPORT RequestId: ${id}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 256 MB\tMax Memory Used: 88 MB`,
      ].join('\n'),
    );
    const fn = detect('sources', 'check', file, '--log-group', '/aws/lambda/checkout', '--min', '0', '--json');
    expect(fn.code, fn.stderr).toBe(0);
    const group = JSON.parse(fn.stdout).groups[0];
    expect(group.filter).toMatchObject({ lines: 6, delivered: 2 });
    expect(detect('sources', 'check', file, '--log-group', '/aws/lambda/checkout', '--min', '0').stdout).toContain(
      "subscription filter: delivers 2 of the sample's 6 lines (33.3%)",
    );
    const web = join(tmp(), 'access.log');
    writeFileSync(web, '203.0.113.9 - - [03/Mar/2026:03:12:40 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8.5"\n');
    expect(detect('sources', 'check', web, '--log-group', '/app/web/access', '--min', '0').stdout).toMatch(
      /subscription filter: every line delivered \(rule \S+ has no literal term\)/,
    );
  });
  it("says when a source's events will take their delivery times, not the times its sample's lines show", () => {
    const file = join(tmp(), 'portal.log');
    writeFileSync(file, '{"time":"2026-03-03T02:02:00Z","msg":"login failed","user":"bob"}\n');
    const note = "deployed, these events take the time CloudWatch holds for them, not their lines' (source `time: delivery`)";
    const own = detect(
      'sources',
      'check',
      file,
      '-g',
      '/app/portal-client-fields',
      '--rules',
      'rules',
      '--rules',
      'test/fixtures/delivery-time',
    );
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toContain('read from the line for 1 of 1');
    expect(own.stdout).toContain(note);
    expect(detect('sources', 'check', file, '-g', '/app/portal').stdout).not.toContain(note);
  });
  it('container logs: the line inside the wrapper is parsed, and an unparsed one is shown as itself', () => {
    const file = join(tmp(), 'eks.log');
    const wrap = (log: string) =>
      JSON.stringify({ log: `${log}\n`, stream: 'stdout', time: '2026-03-03T03:12:40Z', kubernetes: { pod_name: 'web-1' } });
    writeFileSync(
      file,
      [
        wrap('203.0.113.9 - - [03/Mar/2026:03:12:40 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8.5"'),
        wrap('worker 7 stalled for 3000 ms'),
      ].join('\n'),
    );
    const r = detect('sources', 'check', file, '--log-group', '/aws/containerinsights/prod/application', '--min', '0', '--json');
    expect(r.code, r.stderr).toBe(0);
    const group = JSON.parse(r.stdout).groups[0];
    expect(group).toMatchObject({ parsed: 1, patterns: { combined: 1 } });
    expect(group.topUnparsed[0]).toMatchObject({ shape: 'worker N stalled for N ms', example: 'worker 7 stalled for 3000 ms' });
  });
  it('flow records in a custom format are unparsed until declared, and the report says how', () => {
    const dir = tmp();
    const file = join(dir, 'flows.log');
    const record = (port: number) =>
      `5 vpc-0a1b2c3d eni-0a1b2c3d4e5f67890 111122223333 203.0.113.9 10.0.1.7 51000 ${port} 6 1 40 1700000000 1700000060 REJECT OK ingress`;
    writeFileSync(file, `${record(22)}\n${record(23)}\n`);
    const before = detect('sources', 'check', file, '--log-group', '/vpc/custom');
    expect(before.code).toBe(1);
    expect(before.stdout).toContain('these look like VPC Flow Logs in a custom format');
    mkdirSync(join(dir, 'rules'));
    const format =
      'version vpc-id interface-id account-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction';
    writeFileSync(
      join(dir, 'rules', 'flows.yml'),
      JSON.stringify({
        source: {
          name: 'flows',
          logGroups: ['/vpc/*'],
          builtin: 'vpcflow',
          flowLogFormat: format
            .split(' ')
            .map((n) => `\${${n}}`)
            .join(' '),
        },
      }),
    );
    const after = detect('sources', 'check', file, '--log-group', '/vpc/custom', '--rules', join(dir, 'rules'), '--json');
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(JSON.parse(after.stdout).groups[0]).toMatchObject({ source: 'flows', parsed: 2, patterns: { 'aws.vpcflow': 2 } });
  });
});

describe('detect replay on a terminal: what attackers wrote into the logs is printed as text', () => {
  it('escape sequences in a user name (alert title) and in an unparsed line reach stderr escaped, never raw', () => {
    const user = 'eve\u001b]0;owned\u0007\u001b[2J\u001b[1A\u202e';
    const failures = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({
        time: `2026-03-03T03:12:${String(i).padStart(2, '0')}Z`,
        event: { category: 'authentication', action: 'login', outcome: 'failure' },
        user: { name: user },
        source: { ip: `198.51.100.${i}` },
      }),
    );
    const file = join(tmp(), 'app.log');
    writeFileSync(file, `${[...failures, 'garbage \u001b[2J\u001b]0;title\u0007 line'].join('\n')}\n`);
    const r = detect('replay', file, '--log-group', '/app/auth', '--no-correlate');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('auth.brute_force_user');
    expect(r.stderr).toContain('eve\\u001b]0;owned\\u0007\\u001b[2J');
    expect(r.stderr).not.toMatch(/[\u001b\u0007\u202e]/);
    // The alert JSON keeps the name as it was, every unprintable character escaped (the bidi
    // override too, which JSON.stringify leaves raw): on a terminal it reorders nothing.
    expect(r.stdout).toContain('"value":"eve\\u001b]0;owned\\u0007\\u001b[2J\\u001b[1A\\u202e"');
    expect(r.stdout).not.toMatch(/[\u001b\u0007\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    const alerts = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(alerts.some((a) => a.entity.value === user)).toBe(true);
  });
});

describe('replay --runbook-base-url', () => {
  it('tells runbooks as the deployment would with runbookBaseUrl: links under the base; not an https URL, refused', () => {
    const failures = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({
        time: `2026-03-03T03:12:${String(i).padStart(2, '0')}Z`,
        event: { category: 'authentication', action: 'login', outcome: 'failure' },
        user: { name: 'eve' },
        source: { ip: `198.51.100.${i}` },
      }),
    );
    const file = join(tmp(), 'app.log');
    writeFileSync(file, `${failures.join('\n')}\n`);
    const base = 'https://github.com/acme/sentinel/blob/main';
    const r = detect('replay', file, '--log-group', '/app/auth', '--no-correlate', '-q', '--runbook-base-url', base);
    expect(r.code, r.stderr).toBe(0);
    const alerts = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ruleId: string; runbook: string });
    expect(alerts.find((a) => a.ruleId === 'auth.brute_force_user')?.runbook).toBe(`${base}/docs/runbooks/auth.brute_force_user.md`);
    const bad = detect('replay', file, '--log-group', '/app/auth', '--runbook-base-url', 'http://wiki.example.com/');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--runbook-base-url: expected an https URL');
  });
});

describe('--received-at: the year of syslog lines', () => {
  it('a December line written before New Year keeps its year, whatever the date today', () => {
    const file = join(tmp(), 'auth.log');
    writeFileSync(file, 'Dec 31 23:59:00 h sshd[1]: Failed password for root from 203.0.113.5 port 1 ssh2\n');
    const read = (receivedAt: string) => {
      const r = detect('sources', 'check', file, '--log-group', '/var/log/auth.log', '--received-at', receivedAt, '--json');
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).groups[0].firstEvent;
    };
    expect(read('2025-01-02T08:00:00Z')).toBe('2024-12-31T23:59:00.000Z');
    expect(read('2025-12-31T23:59:30Z')).toBe('2025-12-31T23:59:00.000Z');
    const bad = detect('replay', file, '--log-group', '/var/log/auth.log', '--received-at', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--received-at 'yesterday'");
  });
});

describe('detect replay: Kinesis events from the hub stream', () => {
  it('takes a Kinesis event saved as a pretty-printed .json file, and as JSONL lines', () => {
    const dir = tmp();
    const base = Date.parse('2026-03-03T03:12:00Z');
    const payload = {
      owner: '444455556666',
      logGroup: '/var/log/auth.log',
      logStream: 'bastion-1',
      messageType: 'DATA_MESSAGE',
      logEvents: Array.from({ length: 12 }, (_, i) => ({
        id: `e${i}`,
        timestamp: base + i * 1000,
        message: `Mar  3 03:12:${String(i).padStart(2, '0')} bastion-1 sshd[2231]: Failed password for root from 10.0.113.50 port ${40000 + i} ssh2`,
      })),
    };
    const record = (p: unknown, seq: string) => ({
      eventSource: 'aws:kinesis',
      eventID: `shardId-000000000000:${seq}`,
      kinesis: { data: gzipSync(JSON.stringify(p)).toString('base64'), sequenceNumber: seq, partitionKey: 'bastion-1' },
    });
    const event = {
      Records: [
        record(payload, '1'),
        record({ ...payload, messageType: 'CONTROL_MESSAGE', logEvents: [] }, '2'),
        { eventSource: 'aws:kinesis', eventID: 'x', kinesis: { data: 'garbage', sequenceNumber: '3' } },
      ],
    };
    writeFileSync(join(dir, 'event.json'), JSON.stringify(event, null, 2));
    const out = join(dir, 'alerts.jsonl');
    const r = detect('replay', join(dir, 'event.json'), '--no-correlate', '-q', '-o', out);
    expect(r.stderr).toContain('processed 12');
    expect(r.stderr).toContain('(not_base64=1)');
    const alerts = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(alerts.find((a) => a.ruleId === 'ssh.internal_auth_failures')?.cloud).toEqual({
      account: { id: '444455556666' },
      region: 'us-east-1',
    });

    writeFileSync(join(dir, 'events.jsonl'), `${JSON.stringify(event)}\n`);
    const lines = detect('replay', join(dir, 'events.jsonl'), '--no-correlate', '-q');
    expect(lines.stderr).toContain('processed 12');
  });
});

/** `detect backtest` over the exported /var/log/secure in `dir`, for the days the tests' lines are in, as JSON. */
const secureBacktest = (dir: string) => [
  'backtest',
  '--from-file',
  `/var/log/secure=${join(dir, 'secure.json')}`,
  '--since',
  '2026-11-19T00:00:00Z',
  '--until',
  '2026-11-21T00:00:00Z',
  '--no-correlate',
  '--json',
];

describe('detect backtest (offline, exported files)', () => {
  it('--json prints the report for CI and --max-pages-per-day gates with exit 3', () => {
    const dir = tmp();
    const base = Date.parse('2026-11-20T03:12:00Z');
    const line = (i: number, what: string) => ({
      logStreamName: 'bastion-1',
      timestamp: base + i * 1000,
      eventId: `e${i}`,
      message: `Nov 20 03:12:${String(i).padStart(2, '0')} bastion-1 sshd[1]: ${what} for root from 203.0.113.9 port ${40000 + i} ssh2`,
    });
    const events = [...Array.from({ length: 12 }, (_, i) => line(i, 'Failed password')), line(13, 'Accepted password')];
    writeFileSync(join(dir, 'secure.json'), JSON.stringify({ events, searchedLogStreams: [] }));
    const args = secureBacktest(dir);
    const gated = detect(...args, '--max-pages-per-day', '0.2');
    expect(gated.code).toBe(3);
    // The root login pages once: ssh.root_login holds the address's page, ssh.success_after_failures is part of it.
    expect(gated.stderr).toMatch(/over 0.2 page\(s\)\/day: ssh.root_login\n/);
    const report = JSON.parse(gated.stdout);
    expect(report.rules.find((r: { ruleId: string }) => r.ruleId === 'ssh.root_login')).toMatchObject({ pages: 1, pagesPerDay: 0.5 });
    expect(report.rules.find((r: { ruleId: string }) => r.ruleId === 'ssh.success_after_failures')).toMatchObject({
      pages: 0,
      published: { notify: 1 },
    });
    expect(detect(...args, '--max-pages-per-day', '1').code).toBe(0);
    // A deployment with pageFold: false pages both rules: the backtest can say so.
    const unfolded = detect(...args, '--max-pages-per-day', '0.2', '--page-fold', 'off');
    expect(unfolded.stderr).toMatch(/over 0.2 page\(s\)\/day: ssh.root_login, ssh.success_after_failures\n/);
    expect(detect(...args, '--page-fold', 'soon').stderr).toContain("--page-fold 'soon': expected a duration");
    const missing = detect('backtest', '--from-file', join(dir, 'nope.json'), '--log-group', '/x');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
  });

  it('--exceptions shows what exceptions would have left out (the file detect exception list --json prints)', () => {
    const dir = tmp();
    const base = Date.parse('2026-11-20T03:12:00Z');
    const events = Array.from({ length: 12 }, (_, i) => ({
      logStreamName: 'bastion-1',
      timestamp: base + i * 1000,
      eventId: `x${i}`,
      message: `Nov 20 03:12:${String(i).padStart(2, '0')} bastion-1 sshd[1]: Failed password for root from 10.0.113.9 port ${40000 + i} ssh2`,
    }));
    writeFileSync(join(dir, 'secure.json'), JSON.stringify({ events, searchedLogStreams: [] }));
    const pentest = {
      id: 'ex-0000abcd',
      rules: ['ssh.*'],
      field: 'source.ip',
      values: ['10.0.113.0/24'],
      from: 0,
      until: null,
      reason: 'pen test',
      createdBy: 'ana',
      createdAt: 0,
    };
    writeFileSync(join(dir, 'exceptions.json'), JSON.stringify([pentest]));
    const args = secureBacktest(dir);
    const report = (r: { stdout: string }) => JSON.parse(r.stdout) as { rules: { ruleId: string }[]; events: { excepted: number } };
    const plain = report(detect(...args));
    expect(plain.rules.map((r) => r.ruleId)).toContain('ssh.internal_auth_failures');
    const excepted = report(detect(...args, '--exceptions', join(dir, 'exceptions.json')));
    expect(excepted.rules.filter((r) => r.ruleId.startsWith('ssh.'))).toEqual([]);
    expect(excepted.events.excepted).toBeGreaterThanOrEqual(12);
    writeFileSync(join(dir, 'typo.json'), JSON.stringify([{ ...pentest, rules: ['shh.*'] }]));
    expect(detect(...args, '--exceptions', join(dir, 'typo.json')).stderr).toContain("0.rules: 'shh.*' matches no rule of the pack");
    writeFileSync(join(dir, 'bad.json'), JSON.stringify([{ ...pentest, from: 'today' }]));
    expect(detect(...args, '--exceptions', join(dir, 'bad.json')).stderr).toMatch(/--exceptions .*bad\.json: 0\.from: /);
  });

  it('--learn shows a fresh deployment: new-term rules learn first, then alert', () => {
    const dir = tmp();
    const day = 86_400_000;
    const base = Date.parse('2026-11-01T09:00:00Z');
    // An account's API calls: us-east-1, eu-west-1 the same day, a new region nine days later.
    const record = (i: number, at: number, region: string, account = '111122223333') => ({
      logStreamName: `${account}_CloudTrail_us-east-1`,
      timestamp: at,
      eventId: `ct${i}`,
      message: JSON.stringify({
        eventVersion: '1.09',
        userIdentity: { type: 'IAMUser', userName: 'ops', arn: `arn:aws:iam::${account}:user/ops`, accountId: account },
        eventTime: new Date(at).toISOString().replace('.000', ''),
        eventSource: 'ec2.amazonaws.com',
        eventName: 'DescribeInstances',
        awsRegion: region,
        sourceIPAddress: '198.51.100.7',
        eventID: `id-${i}`,
        eventType: 'AwsApiCall',
        recipientAccountId: account,
      }),
    });
    const events = [record(0, base, 'us-east-1'), record(1, base + 3_600_000, 'eu-west-1'), record(2, base + 9 * day, 'ap-south-1')];
    writeFileSync(join(dir, 'trail.json'), JSON.stringify({ events, searchedLogStreams: [] }));
    const args = [
      'backtest',
      '--from-file',
      `org-audit/trail=${join(dir, 'trail.json')}`,
      '--since',
      '2026-10-31T00:00:00Z',
      '--until',
      '2026-11-12T00:00:00Z',
      '--no-correlate',
      '--json',
      '--only',
      'aws.new_region',
    ];
    const alertsOf = (r: { stdout: string }) =>
      JSON.parse(r.stdout).rules.find((x: { ruleId: string }) => x.ruleId === 'aws.new_region')?.alerts ?? 0;
    // A deployment that has learned already (the default here): both new regions are news.
    expect(alertsOf(detect(...args))).toBe(2);
    // Deployed that morning: the same-day region is learned, the one after the week is told.
    expect(alertsOf(detect(...args, '--learn', '7d'))).toBe(1);
    expect(alertsOf(detect(...args, '--learn', 'off'))).toBe(2);
    expect(detect(...args, '--learn', 'a week').stderr).toContain("--learn 'a week': expected a duration like 7d, or 'off'");
    // An organization trail: a second account's first calls nine days in. One learning week for the
    // trail (owner): its second region is told; a week per member account (account): learned.
    const joined = [
      ...events,
      record(3, base + 9 * day + 3_600_000, 'us-east-1', '444455556666'),
      record(4, base + 9 * day + 7_200_000, 'sa-east-1', '444455556666'),
    ];
    writeFileSync(join(dir, 'trail.json'), JSON.stringify({ events: joined, searchedLogStreams: [] }));
    expect(alertsOf(detect(...args, '--learn', '7d'))).toBe(2);
    expect(alertsOf(detect(...args, '--learn', '7d', '--learning-scope', 'account'))).toBe(1);
    expect(detect(...args, '--learning-scope', 'org').stderr).toContain("option '--learning-scope <scope>' argument 'org' is invalid");
  });
});

describe('detect redrive: options it cannot use are a clear message and a non-zero exit', () => {
  it('names the option and what it takes, before any AWS call', () => {
    const base = ['redrive', '--queue', 'https://sqs.us-east-1.amazonaws.com/123456789012/failed', '--function', 'sentinel-detector'];
    const parallel = detect(...base, '--parallel', '11');
    expect(parallel.code).toBe(2);
    expect(parallel.stderr).toContain("--parallel '11': expected a whole number from 1 to 10");
    const max = detect(...base, '--max', '0');
    expect(max.code).toBe(2);
    expect(max.stderr).toContain("--max '0': expected a whole number of messages, at least 1");
    const missing = detect('redrive', '--queue', 'q');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("required option '--function <name>' not specified");
  });
});
