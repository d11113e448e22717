import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { type KinesisBatchResponse, type KinesisEvent, kinesisEventOf } from '../src/decode/kinesis';
import { generateDemo } from '../src/demo/generate';
import { readBacklog } from '../src/engine/delivery-lag';
import { lambdaEvent, loadDetectorHandler, SSH_ATTACK, sentEnvelopes } from './handler-harness';
import { consoleLinkText } from './helpers';

/**
 * The hub's entry point: the same detector handler fed by a Kinesis event source mapping (each
 * record one gzipped CloudWatch Logs payload from some member account).
 */
type Harness = Awaited<ReturnType<typeof loadDetectorHandler>>;
let open: Harness[] = [];

/** A fresh handler module on a fresh table (module state is per cold start, as in Lambda). */
async function freshHandler(): Promise<Harness> {
  for (const h of open) h.sfn.restore();
  vi.resetModules();
  const h = await loadDetectorHandler();
  open.push(h);
  return h;
}
afterEach(async () => {
  for (const h of open) {
    h.sfn.restore();
    await h.db.close();
  }
  open = [];
});

const ownerPayload = (owner: string, ip: string, n: number, stream = 'bastion-1'): SubscriptionPayload => ({
  owner,
  logGroup: '/var/log/auth.log',
  logStream: stream,
  subscriptionFilters: ['sentinel'],
  messageType: 'DATA_MESSAGE',
  logEvents: SSH_ATTACK(ip, n),
});

async function tableItems(h: Harness): Promise<string[]> {
  const out = await h.db.client.send(new ScanCommand({ TableName: h.db.tableName }));
  return (out.Items ?? []).map((i) => JSON.stringify(i)).sort();
}

/**
 * What a Kinesis event source mapping does with a shard (documented semantics): invoke with a
 * batch; on a reported failure, retry from that record; after `maxRetryAttempts` retries send it
 * to the on-failure destination and continue with the next record.
 */
async function runShard(
  records: KinesisEvent['Records'],
  detect: (e: KinesisEvent) => Promise<KinesisBatchResponse>,
  maxRetryAttempts: number,
) {
  const failed: string[] = [];
  const responses: KinesisBatchResponse[] = [];
  let start = 0;
  let retries = 0;
  while (start < records.length) {
    const batch = records.slice(start);
    const response = await detect({ Records: batch });
    responses.push(response);
    const { batchItemFailures } = response;
    const first = batchItemFailures[0]?.itemIdentifier;
    if (first === undefined) break;
    const at = records.findIndex((r) => r.kinesis.sequenceNumber === first);
    if (at === start && retries >= maxRetryAttempts) {
      failed.push(first);
      start = at + 1;
      retries = 0;
    } else {
      retries = at === start ? retries + 1 : 1;
      start = at;
    }
  }
  return { failed, responses };
}

describe('the detector handler behind the hub stream', () => {
  it("the demo's payloads as Kinesis batches give exactly the direct path's messages", async () => {
    // The identity, status page, SSH, deploy, API and CloudTrail timelines (insider threat, account
    // takeover, AWS compromise …); the high-volume web, chat, flow and Lambda groups only add time.
    const heavy = new Set(['vpc/prod-flows', '/aws/lambda/checkout-api', '/sentinel-demo/web/nginx', '/sentinel-demo/chat/ircd']);
    const payloads = generateDemo(7, { awsAttack: true }).payloads.filter((p) => !heavy.has(p.logGroup));
    const direct = await freshHandler();
    for (const p of payloads) await direct.detect(lambdaEvent(p));
    const viaDirect = sentEnvelopes(direct.sfn);

    const hub = await freshHandler();
    for (let i = 0; i < payloads.length; i += 25) {
      const out = await hub.detectStream(kinesisEventOf(payloads.slice(i, i + 25), { firstSequence: BigInt(i) + 1000n }));
      expect(out.batchItemFailures).toEqual([]);
    }
    const viaStream = sentEnvelopes(hub.sfn);
    expect(viaDirect.filter((e) => e.publish).length).toBeGreaterThan(10);
    expect(viaStream).toEqual(viaDirect);
  }, 120_000);

  it('a redelivered record changes nothing: same messages re-sent, state untouched', async () => {
    const h = await freshHandler();
    const event = kinesisEventOf([ownerPayload('111111111111', '10.0.113.80', 12), ownerPayload('222222222222', '10.0.113.81', 3)]);
    await h.detectStream(event);
    const first = sentEnvelopes(h.sfn);
    const state = await tableItems(h);
    h.sfn.resetHistory();
    expect(await h.detectStream(event)).toEqual({ batchItemFailures: [] });
    expect(sentEnvelopes(h.sfn)).toEqual(first);
    expect(await tableItems(h)).toEqual(state);
  });

  it('a poison record is reported as the batch item failure and does not block the rest of the shard', async () => {
    const h = await freshHandler();
    // Delivery of the poison record's alert always fails (e.g. a message the state machine rejects).
    h.sfn
      .on(StartSyncExecutionCommand)
      .callsFake(async (input: { input?: string }) =>
        (input.input ?? '').includes('198.51.100.66')
          ? { status: 'FAILED', error: 'States.DataLimitExceeded', cause: 'too big' }
          : { status: 'SUCCEEDED' },
      );
    const records = kinesisEventOf([
      ownerPayload('111111111111', '10.0.113.90', 12, 's1'),
      ownerPayload('111111111111', '198.51.100.66', 12, 's2'),
      ownerPayload('111111111111', '10.0.113.91', 12, 's3'),
      { ...ownerPayload('111111111111', '10.0.113.92', 1, 's4'), messageType: 'CONTROL_MESSAGE' },
    ]).Records;
    const poison = records[1]?.kinesis.sequenceNumber;

    const shard = await runShard(records, (e) => h.detectStream(e), 2);
    // The first invocation names the poison record; the mapping retries it twice, then gives up on it.
    expect(shard.responses[0]).toEqual({ batchItemFailures: [{ itemIdentifier: poison }] });
    expect(shard.responses).toHaveLength(4);
    expect(shard.failed).toEqual([poison]);
    const sentFor = (ip: string) =>
      h.sfn
        .commandCalls(StartSyncExecutionCommand)
        .filter((c) => (c.args[0].input.input ?? '').includes(ip) && JSON.parse(c.args[0].input.input ?? '{}').publish).length;
    // The record before it was sent once (the retries resume at the poison record) …
    expect(sentFor('10.0.113.90')).toBe(1);
    // … and the record after it is processed once the poison record is given up on.
    expect(sentFor('10.0.113.91')).toBe(1);
  });

  it("notes how late a record arrives from its arrival in the stream, per account and group, not its events' times", async () => {
    const h = await freshHandler();
    const now = Date.now();
    const [record] = kinesisEventOf([ownerPayload('444455556666', '10.0.113.98', 2)]).Records;
    if (!record) throw new Error('no record');
    // Events of 2026-03-03 (their CloudWatch times), in the stream since ten minutes ago.
    await h.detectStream({
      Records: [{ ...record, kinesis: { ...record.kinesis, approximateArrivalTimestamp: (now - 10 * 60_000) / 1000 } }],
    });
    const lag = (await readBacklog(new DynamoStateStore(h.db.client, h.db.tableName), Date.now())).lagOf('444455556666//var/log/auth.log');
    expect(lag).toBeGreaterThanOrEqual(10 * 60_000);
    expect(lag).toBeLessThan(11 * 60_000);
  });

  it('alerts name the account the logs came from, and link to its log groups by ARN', async () => {
    const h = await freshHandler();
    await h.detectStream(kinesisEventOf([ownerPayload('444455556666', '10.0.113.99', 12)]));
    const alerts = h.sfn.commandCalls(StartSyncExecutionCommand).map((c) => {
      const envelope = JSON.parse(c.args[0].input.input ?? '{}');
      return JSON.parse(JSON.parse(envelope.publishFields.message).default);
    });
    const alert = alerts.find((a) => a.ruleId === 'ssh.internal_auth_failures');
    expect(alert?.cloud).toEqual({ account: { id: '444455556666' }, region: 'us-east-1' });
    expect(consoleLinkText(String(alert?.consoleUrl))).toContain('arn:aws:logs:us-east-1:444455556666:log-group:/var/log/auth.log');
  });

  it("a member's record naming another account is about the member (its alerts go to the member's route), unless the hub's own account delivered it", async () => {
    const other = '777788889999';
    const record = JSON.stringify({
      eventVersion: '1.08',
      userIdentity: {
        type: 'IAMUser',
        principalId: 'AIDAEXAMPLEDEPLOY',
        accountId: other,
        arn: `arn:aws:iam::${other}:user/deployer`,
        userName: 'deployer',
      },
      eventTime: '2026-03-03T03:12:40Z',
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'StopLogging',
      awsRegion: 'us-east-1',
      sourceIPAddress: '203.0.113.5',
      userAgent: 'aws-cli/2.15.0',
      requestParameters: { name: 'org-trail' },
      responseElements: null,
      eventType: 'AwsApiCall',
      recipientAccountId: other,
      eventID: 'e-stop',
    });
    // In a stream named as the organization trail's stream for that account.
    const trail = (owner: string): SubscriptionPayload => ({
      owner,
      logGroup: 'org-audit/management-events',
      logStream: `o-a1b2c3d4e5_${other}_CloudTrail_us-east-1`,
      subscriptionFilters: ['sentinel'],
      messageType: 'DATA_MESSAGE',
      logEvents: [{ id: `stop-${owner}`, timestamp: Date.parse('2026-03-03T03:12:41Z'), message: record }],
    });
    const told = async (owner: string) => {
      const h = await freshHandler();
      await h.detectStream(kinesisEventOf([trail(owner)]));
      return h.sfn
        .commandCalls(StartSyncExecutionCommand)
        .map((c) => JSON.parse(c.args[0].input.input ?? '{}'))
        .filter((e) => e.publish)
        .map((e) => `${e.publishFields.ruleId} ${e.publishFields.account}`)
        .sort();
    };
    // A member (not listed in organizationTrailAccounts): its own account's, and the team told why.
    expect(await told('444455556666')).toEqual(['aws.cloudtrail_tampering 444455556666', 'integrity.foreign_account_record 444455556666']);
    // The hub's own account (the harness's SENTINEL_ACCOUNT_ID) holds the trail: the account it names.
    expect(await told('123456789012')).toEqual([`aws.cloudtrail_tampering ${other}`]);
  });
});
