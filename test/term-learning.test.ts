import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { learningScopeEnv } from '../functions/commons/env';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import type { StateStore } from '../src/engine/state-store';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import type { Message } from '../src/schema/alert';
import type { NormalizedEvent } from '../src/schema/event';
import type { DetectionRule } from '../src/schema/rule';
import { ev, T0 } from './helpers';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const { pack } = loadPack(['rules'], { checkRegexes: false });
const shipped = (id: string): DetectionRule => {
  const found = pack.rules.find((r) => r.id === id);
  if (!found) throw new Error(`no shipped rule ${id}`);
  return found;
};
const newRegion = shipped('aws.new_region');
const firstAccess = shipped('authz.sensitive_first_access');
const fileServed = shipped('web.sensitive_file_served');

/** A CloudTrail call in `region`, from logs that `owner` delivered. */
const call = (region: string, at: number, owner = '111122223333', account = owner) =>
  ev(
    {
      'event.provider': 'ec2.amazonaws.com',
      'event.action': 'DescribeInstances',
      'event.outcome': 'success',
      'cloud.region': region,
      'cloud.account.id': account,
      'cloudwatch.owner': owner,
      'user.name': 'ops',
    },
    at,
  );
const access = (user: string, project: string, at: number) =>
  ev(
    {
      'event.action': 'project_access',
      'event.outcome': 'success',
      'resource.sensitivity': 'high',
      'resource.name': project,
      'user.name': user,
      'cloudwatch.owner': '111122223333',
    },
    at,
  );

const opened = (messages: readonly Message[]) => messages.filter((m) => m.alert.status === 'open').map((m) => m.alert);

/** Each group of events is one batch, in order, through one detector (one container). */
async function run(rules: DetectionRule[], batches: NormalizedEvent[][], store: StateStore = new MemoryStateStore(), learning = WEEK) {
  const d = new Detector({ rules }, store, { newTermLearning: learning, outbreakAfter: 0 });
  const messages: Message[] = [];
  for (const [i, batch] of batches.entries())
    messages.push(...(await d.evaluate(`b${i}-${batch[0]?.['cloudwatch.event_id']}`, batch)).messages);
  return messages;
}

let local: LocalDynamo;
beforeAll(async () => {
  local = await startLocalDynamo('term-learning');
});
afterAll(async () => {
  await local.close();
});

describe('new-term rules learn before they alert', () => {
  it('on deploy day an account’s second region is learned, not alerted; a new region after the week is', async () => {
    const batches = [
      [call('us-east-1', T0)],
      [call('eu-west-1', T0 + HOUR)],
      [call('eu-west-1', T0 + 2 * DAY)],
      [call('ap-southeast-3', T0 + WEEK + HOUR)],
    ];
    const alerts = opened(await run([newRegion], batches));
    expect(alerts.map((a) => a.title)).toEqual(['AWS API calls in a new region ap-southeast-3 in account 111122223333']);
    // Without a learning period the second region is news on the first day (what happened before).
    const unlearned = opened(await run([newRegion], batches, new MemoryStateStore(), 0));
    expect(unlearned.map((a) => a.title)).toEqual([
      'AWS API calls in a new region eu-west-1 in account 111122223333',
      'AWS API calls in a new region ap-southeast-3 in account 111122223333',
    ]);
  });

  it('the week starts per account of the logs: a member account that joins later learns its own', async () => {
    const batches = [
      [call('us-east-1', T0)],
      [call('us-east-1', T0 + 8 * DAY, '444455556666')],
      [call('eu-west-1', T0 + 8 * DAY + HOUR, '444455556666'), call('eu-west-1', T0 + 8 * DAY + HOUR)],
    ];
    const alerts = opened(await run([newRegion], batches));
    // The first account has watched for eight days; the second for an hour.
    expect(alerts.map((a) => a.cloud?.account.id)).toEqual(['111122223333']);
  });

  it('a rule that alerts on first sightings learns who already does what, then tells the first access after the week', async () => {
    const batches = [
      [access('payroll.clerk', 'PAYROLL', T0)],
      [access('payroll.clerk', 'PAYROLL', T0 + 3 * DAY), access('hr.lead', 'HR-CASES', T0 + 3 * DAY)],
      [access('payroll.clerk', 'PAYROLL', T0 + 10 * DAY), access('hr.lead', 'HR-CASES', T0 + 10 * DAY)],
      [access('r.ortega', 'PAYROLL', T0 + 10 * DAY + HOUR)],
    ];
    const alerts = opened(await run([firstAccess], batches));
    expect(alerts.map((a) => a.entity.value)).toEqual(['r.ortega']);
  });

  it('a rule with `learn: false` alerts from the first event (a .env file served is news on any day)', async () => {
    expect(fileServed.newTerm?.learn).toBe(false);
    const served = ev(
      {
        'event.category': 'web',
        'http.request.method': 'GET',
        'url.path': '/.env',
        'http.response.status_code': 200,
        'http.response.body.bytes': 1200,
        'source.ip': '203.0.113.5',
        'cloudwatch.owner': '111122223333',
      },
      T0,
    );
    expect(opened(await run([fileServed], [[served]]))).toHaveLength(1);
  });

  it('a rule can set its own learning period', async () => {
    const oneDay: DetectionRule = {
      ...newRegion,
      newTerm: { ...(newRegion.newTerm as NonNullable<DetectionRule['newTerm']>), learn: DAY },
    };
    const batches = [[call('us-east-1', T0)], [call('eu-west-1', T0 + HOUR)], [call('sa-east-1', T0 + DAY + HOUR)]];
    expect(opened(await run([oneDay], batches)).map((a) => a.title)).toEqual([
      'AWS API calls in a new region sa-east-1 in account 111122223333',
    ]);
  });

  it('a table from before learning periods (term items without a claim time): the rule is taken as learned', async () => {
    const account = '555566667777';
    // What the version before wrote for this account: us-east-1 known, no claim time on the item.
    await local.client.send(
      new PutItemCommand({
        TableName: local.tableName,
        Item: {
          pk: { S: `n#aws.new_region#${account}` },
          sk: { S: 't#us-east-1' },
          own: { S: 'old-event' },
          expms: { N: String(T0 + 30 * DAY) },
          ttl: { N: String(Math.ceil((T0 + 30 * DAY) / 1000)) },
        },
      }),
    );
    const dynamo = new DynamoStateStore(local.client, local.tableName);
    // Upgraded: the first batch after it finds that item, so a new region is news at once…
    const after = opened(await run([newRegion], [[call('sa-east-1', T0 + DAY, account)]], dynamo));
    expect(after.map((a) => a.title)).toEqual([`AWS API calls in a new region sa-east-1 in account ${account}`]);
    // …while this version's own items, however old, never count as an older table (a fresh deployment learns).
    const fresh = '888899990000';
    await run([newRegion], [[call('us-east-1', T0, fresh)]], dynamo, 0);
    expect(opened(await run([newRegion], [[call('ca-central-1', T0 + DAY, fresh)]], dynamo))).toEqual([]);
  });

  it('a retried batch decides the same, and a new container reads the start the first one wrote', async () => {
    const store = new MemoryStateStore();
    const day0 = [call('us-east-1', T0), call('eu-west-1', T0 + 1)];
    const first = await run([newRegion], [day0], store);
    const again = await run([newRegion], [day0], store);
    expect(opened(first)).toEqual([]);
    expect(opened(again)).toEqual([]);
    // Another container, a day later: still learning (the start is stored, not its own first batch).
    expect(opened(await run([newRegion], [[call('sa-east-1', T0 + DAY)]], store))).toEqual([]);
    expect(opened(await run([newRegion], [[call('me-south-1', T0 + 8 * DAY)]], store))).toHaveLength(1);
  });

  it('a fresh deployment’s first batch retried after a crash between its term claims and its start is still learning', async () => {
    const store = new MemoryStateStore();
    // The first delivery claims its terms, then dies before the learning start is written.
    const crashing: StateStore = Object.assign(Object.create(store) as MemoryStateStore, {
      writeDoc: async () => {
        throw new Error('Lambda timed out');
      },
    });
    const day0 = [call('us-east-1', T0), call('eu-west-1', T0 + 1), call('eu-central-1', T0 + 2)];
    await expect(run([newRegion], [day0], crashing)).rejects.toThrow('Lambda timed out');
    // The retry finds the terms its own first delivery claimed: not history from before it.
    expect(opened(await run([newRegion], [day0], store))).toEqual([]);
    expect(opened(await run([newRegion], [[call('sa-east-1', T0 + DAY)]], store))).toEqual([]);
  });

  it('two detectors taking a fresh deployment’s first batches at once do not mistake each other’s terms for an older table', async () => {
    const store = new MemoryStateStore();
    // Detector A claims its term first, but its learning start is written last.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: StateStore = Object.assign(Object.create(store) as MemoryStateStore, {
      writeDoc: async (w: Parameters<StateStore['writeDoc']>[0]) => {
        await held;
        return store.writeDoc(w);
      },
    });
    const a = new Detector({ rules: [newRegion] }, slow, { newTermLearning: WEEK });
    const b = new Detector({ rules: [newRegion] }, store, { newTermLearning: WEEK });
    const first = a.evaluate('x', [call('us-east-1', T0)]);
    await new Promise((r) => setTimeout(r, 10));
    // B's batch finds A's term: a fresh deployment's, not an older table's.
    await b.evaluate('y', [call('eu-west-1', T0 + 1)]);
    release();
    await first;
    const later = new Detector({ rules: [newRegion] }, store, { newTermLearning: WEEK });
    expect(opened((await later.evaluate('z', [call('sa-east-1', T0 + DAY)])).messages)).toEqual([]);
  });

  it('DynamoDB decides as the in-memory store does, and racing detectors agree on the start', async () => {
    const dynamo = () => new DynamoStateStore(local.client, local.tableName);
    // Three detectors take the first batches of one account at once.
    const racers = await Promise.all(
      ['us-east-1', 'eu-west-1', 'eu-central-1'].map((region, i) => run([newRegion], [[call(region, T0 + i)]], dynamo())),
    );
    expect(racers.flatMap(opened)).toEqual([]);
    const later = [[call('eu-west-2', T0 + 2 * DAY)], [call('sa-east-1', T0 + 8 * DAY)]];
    const onDynamo = opened(await run([newRegion], later, dynamo())).map((a) => a.title);
    const memory = new MemoryStateStore();
    await run([newRegion], [[call('us-east-1', T0), call('eu-west-1', T0 + 1), call('eu-central-1', T0 + 2)]], memory);
    const inMemory = opened(await run([newRegion], later, memory)).map((a) => a.title);
    expect(onDynamo).toEqual(['AWS API calls in a new region sa-east-1 in account 111122223333']);
    expect(inMemory).toEqual(onDynamo);
  });

  it('counts what it learned without an alert, so an operator can see the week (metric NewTermsLearned)', async () => {
    const d = new Detector({ rules: [newRegion] }, new MemoryStateStore(), { newTermLearning: WEEK });
    // The first region is history, not news (requireHistory); the next two would have been told.
    const first = await d.evaluate('a', [call('us-east-1', T0), call('eu-west-1', T0 + 1), call('eu-central-1', T0 + 2)]);
    expect([first.learnedTerms, opened(first.messages).length]).toEqual([2, 0]);
    const after = await d.evaluate('b', [call('sa-east-1', T0 + WEEK + HOUR)]);
    expect([after.learnedTerms, opened(after.messages).length]).toEqual([0, 1]);
  });

  it('costs a read per container and account, not per batch', async () => {
    const store = new MemoryStateStore();
    const d = new Detector({ rules: [newRegion] }, store, { newTermLearning: WEEK });
    const { reads: r0, writes: w0 } = store.calls;
    await d.evaluate('a', [call('us-east-1', T0)]);
    const { reads: r1, writes: w1 } = store.calls;
    await d.evaluate('b', [call('us-east-1', T0 + HOUR)]);
    const { reads: r2, writes: w2 } = store.calls;
    const plain = new MemoryStateStore();
    const p = new Detector({ rules: [newRegion] }, plain);
    await p.evaluate('a', [call('us-east-1', T0)]);
    const p1 = { ...plain.calls };
    await p.evaluate('b', [call('us-east-1', T0 + HOUR)]);
    // First batch: one read and one write more than without learning; later batches: nothing more.
    expect([r1 - r0 - p1.reads, w1 - w0 - p1.writes]).toEqual([1, 1]);
    expect([r2 - r1, w2 - w1]).toEqual([plain.calls.reads - p1.reads, plain.calls.writes - p1.writes]);
  });
});

describe('an organization trail: whose first week (newTermLearningScope)', () => {
  const LOGS = '999988887777'; // the log-archive account the trail delivers from
  const OLD = '111122223333';
  const JOINED = '444455556666'; // joins the organization after the deployment's first week
  /** A CloudTrail record (as the CloudTrail source normalizes it) about `account`, delivered from the log-archive account. */
  const trail = (region: string, at: number, account: string) => ({
    ...call(region, at, LOGS, account),
    'event.dataset': 'aws.cloudtrail',
  });
  const batches = () => [
    [trail('us-east-1', T0, OLD)],
    [trail('eu-west-1', T0 + DAY, OLD)],
    // Two weeks in: the new account's first calls, then a region it had not used, after its own week.
    [trail('us-east-1', T0 + 2 * WEEK, JOINED)],
    [trail('ap-south-1', T0 + 2 * WEEK + HOUR, JOINED)],
    [trail('sa-east-1', T0 + 2 * WEEK + 2 * HOUR, OLD)],
    [trail('ca-central-1', T0 + 3 * WEEK + HOUR, JOINED)],
  ];
  const regions = (messages: readonly Message[]) => opened(messages).map((a) => a.title.match(/region (\S+)/)?.[1]);
  async function runScoped(scope: 'owner' | 'account', events: NormalizedEvent[][] = batches()) {
    const d = new Detector({ rules: [newRegion] }, new MemoryStateStore(), {
      newTermLearning: WEEK,
      newTermLearningScope: scope,
      outbreakAfter: 0,
    });
    const messages: Message[] = [];
    for (const [i, batch] of events.entries()) messages.push(...(await d.evaluate(`org-${scope}-${i}`, batch)).messages);
    return messages;
  }

  it('owner (the default): one learning week for every account the trail delivers; an account that joins later is told of its second region at once', async () => {
    // (An account's first region is its baseline: aws.new_region needs history of the account.)
    expect(regions(await runScoped('owner'))).toEqual(['ap-south-1', 'sa-east-1', 'ca-central-1']);
  });

  it('account: each member account learns its own first week, however late it joins', async () => {
    expect(regions(await runScoped('account'))).toEqual(['sa-east-1', 'ca-central-1']);
  });

  it('account: a line that is not a CloudTrail record learns under its logs’ owner, whatever account it names', async () => {
    // Lines naming an account never seen: as CloudTrail records they are that account's first week;
    // as any other line (an app writing the field itself), the owner's week, long over, applies.
    const named = (region: string, at: number) => call(region, at, LOGS, '555566667777');
    const later = [[named('us-east-1', T0 + 2 * WEEK)], [named('me-south-1', T0 + 2 * WEEK + HOUR)]];
    // The log-archive account's own logs since T0: its week is long over two weeks in.
    const ownLogs = [[call('us-east-1', T0, LOGS, LOGS)]];
    expect(regions(await runScoped('account', [...ownLogs, ...later]))).toEqual(['me-south-1']);
    const asTrail = later.map((b) => b.map((e) => ({ ...e, 'event.dataset': 'aws.cloudtrail' })));
    expect(regions(await runScoped('account', [...ownLogs, ...asTrail]))).toEqual([]);
  });
});

describe('the detector function reads its scope', () => {
  it('from NEW_TERM_LEARNING_SCOPE; unset (a stack from before it) is owner; anything else fails the cold start', () => {
    const before = process.env.NEW_TERM_LEARNING_SCOPE;
    try {
      delete process.env.NEW_TERM_LEARNING_SCOPE;
      expect(learningScopeEnv()).toBe('owner');
      process.env.NEW_TERM_LEARNING_SCOPE = 'account';
      expect(learningScopeEnv()).toBe('account');
      process.env.NEW_TERM_LEARNING_SCOPE = 'org';
      expect(() => learningScopeEnv()).toThrow("must be 'owner' or 'account', got 'org'");
    } finally {
      if (before === undefined) delete process.env.NEW_TERM_LEARNING_SCOPE;
      else process.env.NEW_TERM_LEARNING_SCOPE = before;
    }
  });
});
