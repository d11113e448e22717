import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, DescribeLogGroupsCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Pacing } from '../src/backtest/cloudwatch-history';
import { exportFileName, filterLogEventsJson } from '../src/backtest/export';
import { buildReport, reportMarkdown, reportTable } from '../src/backtest/report';
import { BacktestError, type BacktestOptions, runBacktest } from '../src/cli/backtest';
import { loadPack } from '../src/cli/load-pack';
import { openCorrelationSink, openStateStore } from '../src/cli/local-adapters';
import { emptyReplayStats, replay } from '../src/cli/replay';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { generateDemo } from '../src/demo/generate';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { stateKeyOwner } from '../src/engine/state-owners';
import type { Alert } from '../src/schema/alert';
import { ev, rule, T0 } from './helpers';

/**
 * `detect backtest`: history from CloudWatch Logs (the SDK client stubbed with aws-sdk-client-mock)
 * or from exported filter-log-events files, through the same engine as `detect replay`.
 */
const { pack } = loadPack(['rules'], { checkRegexes: false });
const logs = mockClient(CloudWatchLogsClient);
const client = new CloudWatchLogsClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const slept: number[] = [];
const pacing: Pacing = { ratePerSecond: 1000, maxAttempts: 5, sleep: async (ms) => void slept.push(ms) };
const ACCOUNT = '123456789012';
const SSH_GROUP = '/var/log/secure';

function sshEvents(ip: string, n: number, base = Date.parse('2026-11-20T03:12:00Z')) {
  return Array.from({ length: n }, (_, i) => {
    const t = base + i * 1000;
    return {
      logStreamName: 'bastion-1',
      timestamp: t,
      eventId: `${t}-${i}`,
      message: `Nov 20 ${new Date(t).toISOString().slice(11, 19)} bastion-1 sshd[2231]: Failed password for root from ${ip} port ${40000 + i} ssh2`,
    };
  });
}

const options = (extra: Partial<BacktestOptions> = {}): BacktestOptions => ({
  pack,
  rulesDirs: ['rules'],
  logGroups: [SSH_GROUP],
  since: '2026-11-19T00:00:00Z',
  until: '2026-11-21T00:00:00Z',
  workDir: mkdtempSync(join(tmpdir(), 'backtest-')),
  correlate: false,
  ...extra,
});

function describeGroups(...names: string[]) {
  logs.on(DescribeLogGroupsCommand).resolves({
    logGroups: names.map((n) => ({ logGroupName: n, arn: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:${n}:*` })),
  });
}

beforeEach(() => {
  logs.reset();
  slept.length = 0;
});

describe('detect backtest against CloudWatch Logs', () => {
  it('follows nextToken through every page, with the compiled filter pattern, and reports the rule', async () => {
    describeGroups(SSH_GROUP);
    const events = sshEvents('10.0.113.50', 30);
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: events.slice(0, 10), nextToken: 't1' })
      .resolvesOnce({ events: [], nextToken: 't2' }) // an empty page with a token: keep going
      .resolvesOnce({ events: events.slice(10), nextToken: undefined });
    const result = await runBacktest(options(), { client, pacing });
    const calls = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.nextToken)).toEqual([undefined, 't1', 't2']);
    expect(calls[0]).toMatchObject({ logGroupName: SSH_GROUP, startTime: Date.parse('2026-11-19T00:00:00Z'), limit: 10_000 });
    expect(result.report?.events.read).toBe(30);
    const ssh = result.report?.rules.find((r) => r.ruleId === 'ssh.internal_auth_failures');
    expect(ssh).toMatchObject({ alerts: 1, topEntities: [{ value: '10.0.113.50', alerts: 1 }] });
    expect(ssh?.peakCount).toBeGreaterThanOrEqual(10);
    // The account comes from the group's ARN, as the live payload's owner.
    expect(result.alerts.find((a) => a.ruleId === 'ssh.internal_auth_failures')?.cloud?.account.id).toBe(ACCOUNT);
  });

  it('backs off and retries when throttled, without losing the page', async () => {
    describeGroups(SSH_GROUP);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    logs
      .on(FilterLogEventsCommand)
      .rejectsOnce(throttled)
      .rejectsOnce(throttled)
      .resolvesOnce({ events: sshEvents('203.0.113.51', 12) });
    const result = await runBacktest(options(), { client, pacing });
    expect(result.retries).toBe(2);
    expect(slept.filter((ms) => ms >= 100).length).toBeGreaterThanOrEqual(2);
    expect(result.report?.events.read).toBe(12);
  });

  it('gives up after the retry budget with the service error', async () => {
    describeGroups(SSH_GROUP);
    logs.on(FilterLogEventsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(runBacktest(options(), { client, pacing })).rejects.toThrow(/Rate exceeded/);
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(pacing.maxAttempts);
  });

  it('an empty group is a report with nothing in it, not an error', async () => {
    describeGroups(SSH_GROUP);
    logs.on(FilterLogEventsCommand).resolves({ events: [] });
    const result = await runBacktest(options(), { client, pacing });
    expect(result.report).toMatchObject({ events: { read: 0 }, rules: [], overBudget: [] });
  });

  it('a group that does not exist (or a glob that matches none) is a clear message', async () => {
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ logGroupName: '/var/log/secure-old' }] });
    await expect(runBacktest(options({ logGroups: ['/var/log/secure'] }), { client, pacing })).rejects.toThrow(
      new BacktestError(
        "log group '/var/log/secure' does not exist in eu-west-1 (for the credentials in use; check --region and --profile)",
      ),
    );
    await expect(runBacktest(options({ logGroups: ['/app/*'] }), { client, pacing })).rejects.toThrow(
      "no log group matches '/app/*' in eu-west-1",
    );
  });

  it('globs expand to every matching group', async () => {
    describeGroups('/app/a', '/app/b', '/other');
    logs.on(FilterLogEventsCommand).resolves({ events: [] });
    await runBacktest(options({ logGroups: ['/app/*'] }), { client, pacing });
    expect(logs.commandCalls(DescribeLogGroupsCommand)[0]?.args[0].input).toMatchObject({ logGroupNamePrefix: '/app/' });
    expect(logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input.logGroupName)).toEqual(['/app/a', '/app/b']);
  });

  it('interrupted after a page, resumed from the checkpoint: the same result as one uninterrupted run', async () => {
    const events = sshEvents('203.0.113.52', 40);
    const pages = [events.slice(0, 15), events.slice(15, 25), events.slice(25)];
    describeGroups(SSH_GROUP);
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: pages[0], nextToken: 'a' })
      .resolvesOnce({ events: pages[1], nextToken: 'b' })
      .resolvesOnce({ events: pages[2] });
    const whole = await runBacktest(options(), { client, pacing });

    logs.reset();
    describeGroups(SSH_GROUP);
    const opts = options();
    const abort = new AbortController();
    logs.on(FilterLogEventsCommand).resolvesOnce({ events: pages[0], nextToken: 'a' }).resolvesOnce({ events: pages[1], nextToken: 'b' });
    let seen = 0;
    const first = await runBacktest(opts, {
      client,
      pacing,
      signal: abort.signal,
      onProgress: () => {
        if (++seen === 2) abort.abort();
      },
    });
    expect(first.interrupted).toBe(true);

    // The resumed run starts at the last timestamp read (its ids skipped), not from the beginning.
    logs.reset();
    describeGroups(SSH_GROUP);
    const lastRead = pages[1]?.[pages[1].length - 1];
    logs.on(FilterLogEventsCommand).resolvesOnce({ events: [...(pages[1] ?? []).slice(-1), ...(pages[2] ?? [])] });
    const resumed = await runBacktest({ ...opts, resume: true }, { client, pacing });
    expect(logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input).toMatchObject({ startTime: lastRead?.timestamp });
    expect(resumed.report?.events.read).toBe(40);
    expect(resumed.alerts).toEqual(whole.alerts);

    // A checkpoint is only good for the same query.
    await expect(runBacktest({ ...opts, resume: true, since: '2026-11-18T00:00:00Z' }, { client, pacing })).rejects.toThrow(
      /checkpoint .* is for another query/,
    );
  });

  it('--max-pages-per-day names the rules over budget', async () => {
    describeGroups(SSH_GROUP);
    // A root login after many failures pages (respond tier) once: ssh.root_login holds the
    // address's page, and ssh.success_after_failures on the same event is part of it (notify).
    const fails = sshEvents('203.0.113.53', 12);
    const t = (fails[fails.length - 1]?.timestamp ?? 0) + 1000;
    const ok = {
      logStreamName: 'bastion-1',
      timestamp: t,
      eventId: 'ok',
      message: `Nov 20 ${new Date(t).toISOString().slice(11, 19)} bastion-1 sshd[2231]: Accepted password for root from 203.0.113.53 port 40999 ssh2`,
    };
    logs.on(FilterLogEventsCommand).resolves({ events: [...fails, ok] });
    const result = await runBacktest(options({ maxPagesPerDay: 0.1 }), { client, pacing });
    expect(result.report?.overBudget).toEqual(['ssh.root_login']);
    const folded = result.report?.rules.find((r) => r.ruleId === 'ssh.success_after_failures');
    expect(folded).toMatchObject({ pages: 0, published: { notify: 1 } });
    const within = await runBacktest(options({ maxPagesPerDay: 5 }), { client, pacing });
    expect(within.report?.overBudget).toEqual([]);
  });
});

describe('what the backtested history costs in DynamoDB', () => {
  it('sums every state write by the rule it is for, and prices the month at this volume', async () => {
    describeGroups(SSH_GROUP);
    // A day of an internet-facing SSH server: 150 addresses trying once each, one trying 40 times.
    const day = Date.parse('2026-11-20T00:00:00Z');
    const drizzle = Array.from({ length: 150 }, (_, i) => sshEvents(`198.51.100.${i + 1}`, 1, day + i * 500_000)).flat();
    const burst = sshEvents('203.0.113.60', 40, day + 3_600_000);
    logs.on(FilterLogEventsCommand).resolves({ events: [...drizzle, ...burst].sort((a, b) => a.timestamp - b.timestamp) });
    const result = await runBacktest(options({ since: '2026-11-20T00:00:00Z', until: '2026-11-21T00:00:00Z' }), { client, pacing });
    const state = result.report?.state;
    expect(state).toBeDefined();
    if (!state) return;
    // Every write is someone's: the rows add up to the total, and each names a rule of the pack or a part of the engine.
    expect(state.byOwner.reduce((n, o) => n + o.writes, 0)).toBe(state.writes);
    const ruleIds = new Set(pack.rules.map((r) => r.id));
    for (const o of state.byOwner) expect(ruleIds.has(o.owner) || /^\(.+\)$/.test(o.owner), o.owner).toBe(true);
    // Most writes first; a per-address SSH rule writes at least once for each of the 151 addresses.
    const top = state.byOwner[0];
    expect(state.byOwner.map((o) => o.writes)).toEqual([...state.byOwner.map((o) => o.writes)].sort((a, b) => b - a));
    expect(state.byOwner.some((o) => o.owner.startsWith('ssh.') && o.writes >= 151)).toBe(true);
    // A day of history: the month is 365/12 of it, at $0.625 per million writes and $0.125 per million reads.
    const days = result.report?.days ?? 0;
    expect(days).toBeCloseTo(1, 5);
    expect(state.usdPerMonth).toBeCloseTo(((state.writes * 0.625 + state.reads * 0.125) / 1e6) * (365 / 12), 10);
    expect(top?.share).toBeCloseTo((top?.writes ?? 0) / state.writes, 10);
    const report = result.report;
    if (!report) return;
    expect(reportMarkdown(report)).toContain('## State (DynamoDB)');
    expect(reportMarkdown(report)).toContain(`| ${top?.owner} | ${top?.writes.toLocaleString('en-US')} |`);
    const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(reportTable(report)).toMatch(
      new RegExp(
        `state: [\\d,]+ DynamoDB writes a day \\((about \\$[\\d.,]+|under \\$0\\.01) a month on demand\\), [\\d.]+% of the writes for ${literal(top?.owner ?? '')}`,
      ),
    );
  });

  it('names the owner of every kind of state item from its key', () => {
    expect(stateKeyOwner('t#ssh.brute_force_source#203.0.113.9')).toBe('ssh.brute_force_source');
    expect(stateKeyOwner('p#errors.level_spike#@111122223333|web')).toBe('errors.level_spike');
    expect(stateKeyOwner('d#vpc.port_scan_horizontal#198.51.100.7|22')).toBe('vpc.port_scan_horizontal');
    expect(stateKeyOwner('s#auth.success_after_failures#j.chen#1')).toBe('auth.success_after_failures');
    expect(stateKeyOwner('n#auth.new_country_login#r.ortega')).toBe('auth.new_country_login');
    expect(stateKeyOwner('a#integrity.host_logs_stopped#web-1')).toBe('integrity.host_logs_stopped');
    expect(stateKeyOwner('c#corr.insider_threat#user.name=r.ortega')).toBe('corr.insider_threat');
    expect(stateKeyOwner('outbreak#web.request_flood#all')).toBe('web.request_flood');
    expect(stateKeyOwner('learn#aws.new_region#111122223333')).toBe('aws.new_region');
    expect(stateKeyOwner('page#@111122223333|user.name=root')).toBe('(pages per entity)');
    expect(stateKeyOwner('dg#3600000#1740960000000')).toBe('(review digests)');
    expect(stateKeyOwner('@111122223333|risk#user.name#root')).toBe('(correlation risk records)');
    expect(stateKeyOwner('exceptions')).toBe('(exceptions)');
    expect(stateKeyOwner('something-new')).toBe('(other)');
  });
});

describe('detect backtest on exported files', () => {
  it('gives the alerts detect replay gives over the same events (the demo, correlation included)', async () => {
    const demo = generateDemo();
    const dir = mkdtempSync(join(tmpdir(), 'backtest-demo-'));
    const groups = [...new Set(demo.payloads.map((p) => p.logGroup))].sort();
    const specs = groups.map((g) => {
      const file = join(dir, exportFileName(g));
      writeFileSync(file, JSON.stringify(filterLogEventsJson(demo.payloads, g)));
      return `${g}=${file}`;
    });
    // Exported files carry no account: compare with the same payloads without an owner.
    const payloadFile = join(dir, 'payloads.jsonl');
    const anonymous: SubscriptionPayload[] = demo.payloads.map(({ owner: _owner, ...p }) => p);
    writeFileSync(payloadFile, anonymous.map((p) => JSON.stringify(p)).join('\n'));

    const state = await openStateStore('memory', { attributeWrites: true });
    const viaReplay: Alert[] = [];
    try {
      await replay([payloadFile], {
        pack,
        store: state.store,
        sink: await openCorrelationSink(pack, state),
        onAlert: (a) => void viaReplay.push(a),
      });
    } finally {
      await state.close();
    }
    const ownersSeen = state.store instanceof MemoryStateStore ? (state.store.writesByOwner?.totals() ?? []) : [];
    const result = await runBacktest(
      options({ fromFile: specs, logGroups: [], since: '2025-02-01T00:00:00Z', until: '2025-04-01T00:00:00Z', correlate: true }),
    );
    expect(viaReplay.filter((a) => a.kind === 'incident').length).toBeGreaterThanOrEqual(4);
    expect(result.alerts).toEqual(viaReplay);
    const insider = result.report?.rules.find((r) => r.ruleId === 'corr.insider_threat');
    expect(insider?.pages).toBe(1);
    // Every kind of item the demo's state holds (counters, sets, terms, watches, conditions, pages,
    // digests, receipts, the correlation's risk records …) is owned by a rule or a named part.
    const owners = ownersSeen.map((o) => o.owner);
    expect(owners.length).toBeGreaterThan(20);
    expect(owners).toEqual(
      expect.arrayContaining(['(review digests)', '(batch receipts)', '(correlation risk records)', 'corr.insider_threat']),
    );
    expect(owners).not.toContain('(other)');
  }, 60_000);

  it('says what is wrong with a file that is not a filter-log-events export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backtest-bad-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ results: [] }));
    await expect(runBacktest(options({ fromFile: [`${SSH_GROUP}=${join(dir, 'bad.json')}`] }))).rejects.toThrow(
      /bad\.json is not the output of 'aws logs filter-log-events': events: /,
    );
    writeFileSync(join(dir, 'nogroup.json'), JSON.stringify({ events: sshEvents('1.2.3.4', 1) }));
    await expect(runBacktest(options({ logGroups: [], fromFile: [join(dir, 'nogroup.json')] }))).rejects.toThrow(
      /event 0 has no log group/,
    );
  });
});

describe('the backtest report', () => {
  it('names two accounts’ root as two entities, with their accounts, when the history spans accounts', async () => {
    const { pack } = loadPack(['rules'], { checkRegexes: false });
    const rootKey = rule({ id: 'test.root_key', title: 'root key', entity: 'user.name', match: { 'event.action': 'root_key' } });
    const detector = new Detector({ rules: [rootKey] }, new MemoryStateStore());
    const inAccount = (account: string, at: number) =>
      ev({ 'event.action': 'root_key', 'user.name': 'root', 'cloud.account.id': account, 'cloudwatch.owner': account }, at);
    const r = await detector.evaluate('b1', [
      inAccount('111111111111', T0),
      inAccount('222222222222', T0 + 1000),
      inAccount('222222222222', T0 + 2000),
    ]);
    const stats = { ...emptyReplayStats(), payloads: 1, eventsIn: 3, eventsProcessed: 3, matchedEvents: 3 };
    const report = buildReport({ pack: { ...pack, rules: [rootKey] }, messages: r.messages, stats, from: T0, to: T0 + 86_400_000 });
    expect(report.rules[0]?.topEntities).toEqual([
      { value: 'root', account: '111111111111', alerts: 1 },
      { value: 'root', account: '222222222222', alerts: 1 },
    ]);
    expect(reportTable(report)).toContain('root in 111111111111 (1)');
  });
});
