import { StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import type { SubscriptionPayload } from '../src/decode/cloudwatch';
import { syslogTime } from '../src/demo/generate';
import { scopedKey } from '../src/engine/entity-scope';
import { lambdaEvent, loadDetectorHandler, SSH_ATTACK, sentEnvelopes } from './handler-harness';

let h: Awaited<ReturnType<typeof loadDetectorHandler>>;
beforeAll(async () => {
  h = await loadDetectorHandler();
});
afterAll(async () => h.db.close());

const payload = (logEvents: SubscriptionPayload['logEvents'], stream = 'bastion-1'): SubscriptionPayload => ({
  owner: '123456789012',
  logGroup: '/var/log/auth.log',
  logStream: stream,
  subscriptionFilters: ['sentinel'],
  messageType: 'DATA_MESSAGE',
  logEvents,
});
/** The failures counted for an address in the detector's DynamoDB state (a private address: counted per account). */
async function failures(ip: string): Promise<number> {
  const store = new DynamoStateStore(h.db.client, h.db.tableName);
  const key = `t#ssh.internal_auth_failures#${scopedKey(ip, '123456789012')}`;
  const counts = await store.readCounters([{ key, from: 0, to: Number.MAX_SAFE_INTEGER }], 0);
  return [...(counts.get(key)?.values() ?? [])].reduce((a, b) => a + b, 0);
}

const context = { functionName: 'detector', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

describe('the detector Lambda handler, as Lambda invokes it', () => {
  it('a normal batch: detects, and hands the decided messages to the state machine synchronously', async () => {
    h.sfn.resetHistory();
    const out = await h.handler(lambdaEvent(payload(SSH_ATTACK('10.0.113.50', 12))), context);
    expect(out).toMatchObject({ eventsIn: 12, skipped: 0, unparsed: 0, published: 1 });
    const sent = sentEnvelopes(h.sfn);
    expect(sent.filter((e) => e.publish)).toHaveLength(1);
    expect(h.sfn.commandCalls(StartSyncExecutionCommand)[0]?.args[0].input.stateMachineArn).toBe(process.env.STATE_MACHINE_ARN);
  });

  it('the same batch redelivered re-sends the same messages and counts nothing twice', async () => {
    const event = lambdaEvent(payload(SSH_ATTACK('10.0.113.60', 12)));
    h.sfn.resetHistory();
    await h.detect(event);
    const first = sentEnvelopes(h.sfn).map((e) => e.key);
    h.sfn.resetHistory();
    await h.detect(event);
    expect(sentEnvelopes(h.sfn).map((e) => e.key)).toEqual(first);
    expect(await failures('10.0.113.60')).toBe(12);
  });

  it('records when an absence rule’s events were delivered, beside their own time (a backlog is not an absence)', async () => {
    const HOUR = 3_600_000;
    // A host's hourly cron run, delivered five hours after it was logged (a detector working through a backlog).
    const loggedAt = Math.floor((Date.now() - 5 * HOUR) / 1000) * 1000;
    const line = `${syslogTime(loggedAt)} bastion-9 CRON[4242]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)`;
    const before = Date.now();
    await h.detect(lambdaEvent({ ...payload([{ id: 'cron-1', timestamp: loggedAt, message: line }]), logGroup: '/ec2/syslog' }));
    const after = Date.now();
    const store = new DynamoStateStore(h.db.client, h.db.tableName);
    const keys = (await store.listDue(Number.MAX_SAFE_INTEGER, 1000)).filter((k) => k.pk.startsWith('a#integrity.host_logs_stopped#'));
    expect(keys).toHaveLength(1);
    const watch = JSON.parse([...(await store.readDocs(keys, after)).values()][0]?.body ?? '{}');
    expect(watch.lastEventAt).toBe(loggedAt);
    expect(watch.deliveredAt).toBeGreaterThanOrEqual(before);
    expect(watch.deliveredAt).toBeLessThanOrEqual(after);
  });

  it('every line of a busy function group delivered (an account policy): the lines no rule reads are left unread', async () => {
    const base = Date.parse('2026-03-03T05:00:00Z');
    const lines = Array.from({ length: 2_500 }, (_, i) => {
      const request = `8f0c${String(i).padStart(4, '0')}-1c2d-4e5f-8a9b-0c1d2e3f4a5b`;
      return (
        [
          `START RequestId: ${request} Version: $LATEST`,
          `END RequestId: ${request}`,
          `REPORT RequestId: ${request}\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 88 MB`,
        ][i % 3] ?? ''
      );
    });
    const timeout = `${new Date(base + 2_500_000).toISOString()} 8f0c9999-1c2d-4e5f-8a9b-0c1d2e3f4a5b Task timed out after 30.03 seconds`;
    const out = await h.detect(
      lambdaEvent({
        ...payload([...lines, timeout].map((message, i) => ({ id: `fn-${i}`, timestamp: base + i * 1000, message }))),
        logGroup: '/aws/lambda/checkout-api',
        logStream: '2026/03/03/[$LATEST]0123456789abcdef0123456789abcdef',
      }),
    );
    // The group's first 2,000 lines in this container pay for its pattern's compile; every line of this one is tested.
    expect(out).toMatchObject({ eventsIn: 2_501, gated: 2_500, skipped: 0, unparsed: 0 });
  });

  it('a CONTROL_MESSAGE is acknowledged without work', async () => {
    h.sfn.resetHistory();
    const out = await h.detect(
      lambdaEvent({
        ...payload([]),
        messageType: 'CONTROL_MESSAGE',
        logEvents: [{ id: 'c', timestamp: 1, message: 'CWL CONTROL MESSAGE: Checking health of destination' }],
      }),
    );
    expect(out).toMatchObject({ eventsIn: 0, published: 0 });
    expect(h.sfn.commandCalls(StartSyncExecutionCommand)).toHaveLength(0);
  });

  it('an undecodable payload is counted and dropped (retrying cannot help), not thrown', async () => {
    expect(await h.detect({ awslogs: { data: 'not base64 at all!' } })).toMatchObject({ skipped: 1 });
    expect(await h.detect({ something: 'else' })).toMatchObject({ skipped: 1 });
  });

  it('a failing StartSyncExecution fails the invocation (Lambda retries); the retry sends the same messages and counts nothing twice', async () => {
    const event = lambdaEvent(payload(SSH_ATTACK('10.0.113.70', 15)));
    h.sfn.resetHistory();
    let down = true;
    h.sfn
      .on(StartSyncExecutionCommand)
      .callsFake(async () => (down ? { status: 'FAILED', error: 'States.TaskFailed', cause: 'SNS down' } : { status: 'SUCCEEDED' }));
    await expect(h.detect(event)).rejects.toThrow(/correlation execution\(s\) failed/);
    const attempted = sentEnvelopes(h.sfn).map((e) => e.key);
    h.sfn.resetHistory();
    down = false;
    const retried = await h.detect(event);
    expect(sentEnvelopes(h.sfn).map((e) => e.key)).toEqual(attempted);
    expect(retried).toMatchObject({ eventsIn: 15, published: 1 });
    expect(await failures('10.0.113.70')).toBe(15);
  });
});
