import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, DescribeLogGroupsCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { formatLearnResult, type LearnOptions, runLearn } from '../src/cli/learn';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import type { Message } from '../src/schema/alert';
import type { NormalizedEvent } from '../src/schema/event';
import { ev } from './helpers';
import { tableCli } from './table-cli';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ACCOUNT = '111122223333';
/** "Now": the deployment went live at this time; its history is the 20 days before. */
const LIVE = Date.parse('2026-11-20T09:00:00Z');

const { pack } = loadPack(['rules'], { checkRegexes: false });
const tmp = () => mkdtempSync(join(tmpdir(), 'learn-'));

/** One CloudTrail record as `aws logs filter-log-events` prints it. */
const trail = (i: number, at: number, eventName: string, region: string, user = 'ops') => ({
  logStreamName: `${ACCOUNT}_CloudTrail_${region}`,
  timestamp: at,
  eventId: `ct${i}-${at}`,
  message: JSON.stringify({
    eventVersion: '1.09',
    userIdentity: { type: 'IAMUser', userName: user, arn: `arn:aws:iam::${ACCOUNT}:user/${user}`, accountId: ACCOUNT },
    eventTime: new Date(at).toISOString().replace('.000', ''),
    eventSource: eventName === 'CreateAccessKey' ? 'iam.amazonaws.com' : 'ec2.amazonaws.com',
    eventName,
    awsRegion: region,
    sourceIPAddress: '198.51.100.7',
    eventID: `id-${i}-${at}`,
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT,
  }),
});
const nginx = (at: number, path: string) => ({
  logStreamName: 'web-1',
  timestamp: at,
  eventId: `ng-${at}`,
  message: `203.0.113.44 - - [${clf(at)}] "GET ${path} HTTP/1.1" 200 912 "-" "python-requests/2.31.0"`,
});
function clf(at: number): string {
  const d = new Date(at);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${mon}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Twenty days of an account's ordinary API calls (two regions, ops's access keys), and a `.env` served a week ago. */
function writeHistory(dir: string): { trailFile: string; webFile: string; first: number } {
  const first = LIVE - 20 * DAY;
  const records = [];
  for (let day = 0; day < 20; day++) {
    const t = first + day * DAY;
    records.push(trail(day * 3, t, 'DescribeInstances', 'us-east-1'), trail(day * 3 + 1, t + HOUR, 'DescribeInstances', 'eu-west-1'));
    if (day % 5 === 0) records.push(trail(day * 3 + 2, t + 2 * HOUR, 'CreateAccessKey', 'us-east-1'));
  }
  const trailFile = join(dir, 'trail.json');
  writeFileSync(trailFile, JSON.stringify({ events: records, searchedLogStreams: [] }));
  const webFile = join(dir, 'web.json');
  writeFileSync(webFile, JSON.stringify({ events: [nginx(LIVE - 7 * DAY, '/.env')], searchedLogStreams: [] }));
  return { trailFile, webFile, first };
}

/** `detect learn` over the trail's export, as the account that owns it, up to the moment the deployment went live. */
const trailHistory = (trailFile: string, workDir: string) => ({
  pack,
  logGroups: [],
  fromFile: [`org-audit/trail=${trailFile}`],
  account: ACCOUNT,
  since: new Date(LIVE - 30 * DAY).toISOString(),
  until: new Date(LIVE).toISOString(),
  workDir,
});

/** Live events as the detector sees them: normalized, from logs the account owns. */
const call = (region: string, at: number, action = 'DescribeInstances', user = 'ops') =>
  ev(
    {
      'event.provider': action === 'CreateAccessKey' ? 'iam.amazonaws.com' : 'ec2.amazonaws.com',
      'event.action': action,
      'event.outcome': 'success',
      'cloud.region': region,
      'cloud.account.id': ACCOUNT,
      'cloudwatch.owner': ACCOUNT,
      'user.name': user,
    },
    at,
  );
const served = (at: number) =>
  ev(
    {
      'event.category': 'web',
      'http.request.method': 'GET',
      'url.path': '/.env',
      'http.response.status_code': 200,
      'http.response.body.bytes': 912,
      'source.ip': '203.0.113.44',
      'cloudwatch.log_group': '/aws/nginx/access',
      'cloudwatch.owner': ACCOUNT,
    },
    at,
  );
const liveDay = () => [
  [call('eu-west-1', LIVE + HOUR)],
  [call('us-east-1', LIVE + 2 * HOUR, 'CreateAccessKey')],
  [call('sa-east-1', LIVE + 3 * HOUR)],
  [call('us-east-1', LIVE + 4 * HOUR, 'CreateAccessKey', 'mallory')],
  [served(LIVE + 5 * HOUR)],
];

async function live(store: DynamoStateStore, batches: NormalizedEvent[][]) {
  const d = new Detector(pack, store, { newTermLearning: 7 * DAY, outbreakAfter: 0 });
  const messages: Message[] = [];
  for (const [i, b] of batches.entries()) messages.push(...(await d.evaluate(`live-${i}-${b[0]?.['@timestamp']}`, b)).messages);
  return messages
    .filter((m) => m.alert.status === 'open')
    .map((m) => `${m.alert.ruleId} ${m.alert.entity.value}`)
    .sort();
}

let local: LocalDynamo;
beforeAll(async () => {
  local = await startLocalDynamo('learn');
});
afterAll(async () => {
  await local.close();
});

/** A table of its own per case: the learning start is per rule and account. */
let tables = 0;
async function freshTable(): Promise<{ store: DynamoStateStore; table: LocalDynamo }> {
  const table = await startLocalDynamo(`learn-${++tables}`);
  cleanups.push(table);
  return { store: new DynamoStateStore(table.client, table.tableName), table };
}
const scanKeys = async (table: LocalDynamo) =>
  ((await table.client.send(new ScanCommand({ TableName: table.tableName }))).Items ?? [])
    .map((i) => `${i.pk?.S} ${i.sk?.S} ${i.expms?.N ?? ''} ${i.doc?.S ?? ''}`)
    .sort();
const cleanups: LocalDynamo[] = [];
afterAll(async () => {
  for (const c of cleanups) await c.close();
});

describe('detect learn: new-term rules learn from the history CloudWatch keeps', () => {
  it('after reading 20 days of history, a deployment tells new terms at once and knows the old ones', async () => {
    const dir = tmp();
    const { trailFile, webFile, first } = writeHistory(dir);
    const { store, table } = await freshTable();
    const result = await runLearn(
      {
        pack,
        logGroups: [],
        fromFile: [`org-audit/trail=${trailFile}`, `/aws/nginx/access=${webFile}`],
        account: ACCOUNT,
        since: new Date(LIVE - 30 * DAY).toISOString(),
        until: new Date(LIVE).toISOString(),
        workDir: dir,
      },
      store,
    );
    expect(result.events).toBe(45);
    expect(result.rules.find((r) => r.ruleId === 'aws.new_region')?.accounts).toEqual([{ account: ACCOUNT, since: first }]);
    // `.env` served is a rule that never learns: history is not read into it.
    expect(result.rules.map((r) => r.ruleId)).not.toContain('web.sensitive_file_served');
    expect(formatLearnResult(result, 'sentinel-state')).toMatch(/aws\.new_region\s+111122223333\s+2026-10-31T09:00:00Z\s+now/);
    // Live: the usual region and ops's keys are known; a new region and mallory's first key are told,
    // and so is the .env served again (last week's serving did not make it known).
    expect(await live(store, liveDay())).toEqual([
      'aws.iam_credentials_first_time mallory',
      'aws.new_region 111122223333',
      'web.sensitive_file_served /aws/nginx/access',
    ]);
    expect((await scanKeys(table)).length).toBeGreaterThan(0);
  });

  it('without it, the same first day is learned, not told — mallory’s first key too: the blind week it saves', async () => {
    const { store } = await freshTable();
    expect(await live(store, liveDay())).toEqual(['web.sensitive_file_served /aws/nginx/access']);
  });

  it('an organization trail read with the deployment’s scope: per member account (account), or once for the log-archive account (owner)', async () => {
    const dir = tmp();
    const LOGS = '999988887777';
    const OTHER = '444455556666';
    // The same history, but the trail delivers every member account's records from the log-archive account.
    const first = LIVE - 20 * DAY;
    const about = (account: string, i: number, at: number, region: string) => {
      const record = trail(i, at, 'DescribeInstances', region);
      return { ...record, message: record.message.replaceAll(ACCOUNT, account) };
    };
    const records = [
      about(ACCOUNT, 0, first, 'us-east-1'),
      about(OTHER, 1, first + 3 * DAY, 'eu-west-1'),
      about(ACCOUNT, 2, first + 4 * DAY, 'eu-west-1'),
    ];
    const trailFile = join(dir, 'org-trail.json');
    writeFileSync(trailFile, JSON.stringify({ events: records, searchedLogStreams: [] }));
    const read = async (scope: 'owner' | 'account') => {
      const { store } = await freshTable();
      const result = await runLearn({ ...trailHistory(trailFile, dir), account: LOGS, scope }, store);
      return result.rules.find((r) => r.ruleId === 'aws.new_region')?.accounts;
    };
    expect(await read('account')).toEqual([
      { account: ACCOUNT, since: first },
      { account: OTHER, since: first + 3 * DAY },
    ]);
    expect(await read('owner')).toEqual([{ account: LOGS, since: first }]);
  });

  it('writes terms and learning starts only, and a second run changes nothing', async () => {
    const dir = tmp();
    const { trailFile } = writeHistory(dir);
    const { store, table } = await freshTable();
    const options = trailHistory(trailFile, dir);
    const once = await runLearn(options, store);
    const scan = () => scanKeys(table);
    const after = await scan();
    expect(after.every((k) => k.startsWith('n#') || k.startsWith('learn#'))).toBe(true);
    const twice = await runLearn(options, store);
    expect(twice.rules).toEqual(once.rules);
    expect(await scan()).toEqual(after);
  });

  it('a deployment that started learning live before its history was read needs not wait out its week', async () => {
    const dir = tmp();
    const { trailFile } = writeHistory(dir);
    const { store } = await freshTable();
    // Live for an hour first: the rule starts learning at LIVE.
    expect(await live(store, [[call('us-east-1', LIVE)]])).toEqual([]);
    await runLearn(trailHistory(trailFile, dir), store);
    // A new container reads the start the history moved back to.
    expect(await live(store, [[call('sa-east-1', LIVE + HOUR)]])).toEqual(['aws.new_region 111122223333']);
  });

  it('a running container that is still learning reads its start again within minutes, so detect learn takes effect without a restart', async () => {
    const dir = tmp();
    const { trailFile, first } = writeHistory(dir);
    const { store } = await freshTable();
    let wall = LIVE;
    const d = new Detector(pack, store, { newTermLearning: 7 * DAY, outbreakAfter: 0, wallClock: () => wall });
    const opens = async (batch: NormalizedEvent[], id: string) =>
      (await d.evaluate(id, batch)).messages.filter((m) => m.alert.status === 'open').map((m) => m.alert.entity.value);
    expect(await opens([call('us-east-1', LIVE)], 'a')).toEqual([]);
    await runLearn(trailHistory(trailFile, dir), store);
    // Within the minute: the start it read is still the one it keeps.
    wall += 60_000;
    expect(await opens([call('sa-east-1', LIVE + HOUR)], 'b')).toEqual([]);
    wall += 5 * 60_000;
    expect(await opens([call('me-south-1', LIVE + 2 * HOUR)], 'c')).toEqual([ACCOUNT]);
    const learned = await runLearn(
      {
        pack,
        logGroups: [],
        fromFile: [`org-audit/trail=${trailFile}`],
        account: ACCOUNT,
        since: '2026-10-01T00:00:00Z',
        until: '2026-11-20T09:00:00Z',
        workDir: dir,
      },
      store,
    );
    expect(learned.rules.find((r) => r.ruleId === 'aws.new_region')?.accounts[0]?.since).toBe(first);
  });

  /**
   * `runLearn` over a mocked CloudWatch Logs whose `groups` each return the written trail history;
   * `logs` records the calls (restore it after reading them).
   */
  async function learnFromCloudWatch(
    groups: { logGroupName: string; arn: string; logGroupArn?: string }[],
    options: Pick<LearnOptions, 'logGroups' | 'linkedAccounts'>,
  ) {
    const dir = tmp();
    const { trailFile, first } = writeHistory(dir);
    const records = (JSON.parse(readFileSync(trailFile, 'utf8')) as { events: unknown[] }).events;
    const logs = mockClient(CloudWatchLogsClient);
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: groups });
    logs.on(FilterLogEventsCommand).resolves({ events: records as never[] });
    const { store } = await freshTable();
    const client = new CloudWatchLogsClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const result = await runLearn(
      { pack, ...options, since: new Date(LIVE - 30 * DAY).toISOString(), until: new Date(LIVE).toISOString(), workDir: dir },
      store,
      { client, pacing: { ratePerSecond: 1000, maxAttempts: 2, sleep: async () => {} } },
    );
    return { result, logs, store, first, records };
  }

  it('from CloudWatch Logs: the account that owns the group (its ARN) scopes the learning, as live payloads name it', async () => {
    const { result, logs, store, first } = await learnFromCloudWatch(
      [{ logGroupName: 'org-audit/trail', arn: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:org-audit/trail:*` }],
      { logGroups: ['org-audit/trail'] },
    );
    expect(logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input).toMatchObject({
      logGroupName: 'org-audit/trail',
      startTime: LIVE - 30 * DAY,
    });
    logs.restore();
    expect(result.rules.find((r) => r.ruleId === 'aws.new_region')?.accounts).toEqual([{ account: ACCOUNT, since: first }]);
    // Live payloads from that account find the learning served.
    expect(await live(store, [[call('sa-east-1', LIVE + HOUR)]])).toEqual(['aws.new_region 111122223333']);
  });

  it("in a monitoring account: --linked-accounts reads each linked account's group by its ARN, and learns per account even where two share a name", async () => {
    const OTHER = '444455556666';
    const arn = (account: string) => `arn:aws:logs:eu-west-1:${account}:log-group:org-audit/trail`;
    const { result, logs, records } = await learnFromCloudWatch(
      [ACCOUNT, OTHER].map((a) => ({ logGroupName: 'org-audit/trail', arn: `${arn(a)}:*`, logGroupArn: arn(a) })),
      { logGroups: ['org-audit/*'], linkedAccounts: [ACCOUNT, OTHER] },
    );
    expect(logs.commandCalls(DescribeLogGroupsCommand)[0]?.args[0].input).toMatchObject({
      logGroupNamePrefix: 'org-audit/',
      includeLinkedAccounts: true,
      accountIdentifiers: [ACCOUNT, OTHER],
    });
    const reads = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(reads.map((r) => [r.logGroupIdentifier, r.logGroupName])).toEqual([
      [arn(ACCOUNT), undefined],
      [arn(OTHER), undefined],
    ]);
    logs.restore();
    // The same records under each account's group: each account learned on its own, as its live payloads will name it.
    expect(result.rules.find((r) => r.ruleId === 'aws.new_region')?.accounts.map((a) => a.account)).toEqual([ACCOUNT, OTHER]);
    expect(result.events).toBe(2 * records.length);
  });

  it('the CLI writes to the named table (here dynalite through the SDK endpoint setting) and prints what each rule knows', async () => {
    const dir = tmp();
    const { trailFile } = writeHistory(dir);
    const cli = await tableCli(local);
    const { stdout } = await cli.detect([
      'learn',
      '--from-file',
      `org-audit/trail=${trailFile}`,
      '--account',
      ACCOUNT,
      '--since',
      '2026-10-01T00:00:00Z',
      '--until',
      '2026-11-20T09:00:00Z',
      '--work-dir',
      dir,
    ]);
    expect(stdout).toContain('44 event(s)');
    expect(stdout).toMatch(/aws\.iam_credentials_first_time\s+111122223333\s+2026-10-31T11:00:00Z\s+now/);
    const store = new DynamoStateStore(local.client, local.tableName);
    expect(await live(store, [[call('sa-east-1', LIVE + HOUR)]])).toEqual(['aws.new_region 111122223333']);
    const bad = await cli.detect(['learn', '--account', '12345', '--from-file', trailFile], { table: 't' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--account '12345': expected a 12-digit AWS account id");
    const badLinked = await cli.detect(['learn', '--log-group', 'org-audit/*', '--linked-accounts', ACCOUNT, '1234'], { table: 't' });
    expect(badLinked.code).toBe(2);
    expect(badLinked.stderr).toContain("--linked-accounts '1234': expected 12-digit AWS account ids");
  });
});
