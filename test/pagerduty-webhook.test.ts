import { createHmac } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { applyPagerDutyWebhook, MAX_WEBHOOK_BYTES, REPLAY_WINDOW_MS, validPagerDutySignature } from '../src/alerts/pagerduty-webhook';
import { acknowledge } from '../src/cli/acknowledgements';
import { readAcknowledgements } from '../src/engine/acknowledgements';
import { MemoryStateStore } from '../src/engine/memory-store';
import type { StateStore } from '../src/engine/state-store';
import { startLocalDynamo } from '../src/local/dynalite';
import { bruteForceRule, detector, ev, T0 } from './helpers';

const SECRET = 'whsec_0123456789abcdef';
const sign = (body: string, secret = SECRET) => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** When the alerts below were opened, and PagerDuty's events happen by default. */
const OPENED = T0 + 60_000;

/**
 * A v3 webhook event as PagerDuty sends it (the fields this reads, among others it does not):
 * `at` when it occurred in PagerDuty, `id` its event id (each event its own by default).
 */
function webhookBody(
  type: string,
  incidentKey: string | null,
  { agent = 'Jane Doe', at = OPENED, id = `01DRF6BV78-${type}-${at}` }: { agent?: string; at?: number | null; id?: string } = {},
): string {
  return JSON.stringify({
    event: {
      id,
      event_type: type,
      resource_type: 'incident',
      occurred_at: at === null ? undefined : new Date(at).toISOString(),
      agent: { id: 'P123ABC', type: 'user_reference', summary: agent },
      client: null,
      data: {
        id: 'Q2KURS8RXYZ123',
        type: 'incident',
        status: type.split('.')[1],
        incident_key: incidentKey,
        title: 'high: Brute force against j.chen',
        service: { id: 'PSVC123', type: 'service_reference', summary: 'Sentinel' },
      },
    },
  });
}

/** A store holding one open alert (a brute force the engine opened), and its id. */
async function openAlert<S extends StateStore>(store: S, base = T0): Promise<{ store: S; alertId: string; now: number }> {
  const brute = bruteForceRule();
  const events = [0, 1, 2].map((i) => ev({ 'event.action': 'login', 'event.outcome': 'failure', 'user.name': 'j.chen' }, base + i * 1000));
  const { alerts } = await detector([brute], store).evaluate('b1', events);
  const alertId = alerts[0]?.id;
  if (!alertId) throw new Error('the rule did not open an alert');
  return { store, alertId, now: base + 60_000 };
}

describe('PagerDuty webhook signatures', () => {
  it('takes a body signed with the secret, with any of its signatures (a rotation sends two), and nothing else', () => {
    const body = webhookBody('incident.acknowledged', 'det-0123456789abcdef01234567');
    expect(validPagerDutySignature(body, sign(body), [SECRET])).toBe(true);
    expect(validPagerDutySignature(body, `${sign(body, 'old-secret')}, ${sign(body)}`, [SECRET])).toBe(true);
    expect(validPagerDutySignature(body, sign(body), ['other', SECRET])).toBe(true);
    expect(validPagerDutySignature(body, sign(body, 'wrong'), [SECRET])).toBe(false);
    expect(validPagerDutySignature(`${body} `, sign(body), [SECRET])).toBe(false);
    expect(validPagerDutySignature(body, undefined, [SECRET])).toBe(false);
    expect(validPagerDutySignature(body, 'v1=zz', [SECRET])).toBe(false);
    expect(validPagerDutySignature(body, sign(body).replace('v1=', 'v0='), [SECRET])).toBe(false);
  });
});

describe('PagerDuty incidents back into Sentinel', () => {
  it('an acknowledged incident acknowledges its alert for its whole life, named for the responder, and the team will be told', async () => {
    const { store, alertId, now } = await openAlert(new MemoryStateStore());
    const body = webhookBody('incident.acknowledged', alertId);
    expect(await applyPagerDutyWebhook(store, body, sign(body), [SECRET], now)).toMatchObject({ status: 200, outcome: 'acknowledged' });
    const ack = (await readAcknowledgements(store, [alertId], now)).get(alertId);
    expect(ack).toMatchObject({ alertId, by: 'Jane Doe (PagerDuty)', reason: 'acknowledged in PagerDuty', until: null, at: now });
    // What the alert is, for the team's notice; not yet told.
    expect(ack?.about).toMatchObject({ ruleId: 'test.brute_force', tier: 'respond' });
    expect(ack?.announcedAt).toBeUndefined();
  });

  it('a resolved incident acknowledges it too (Sentinel resolves it when it goes quiet); un-acknowledged or re-opened ends only what PagerDuty made', async () => {
    const { store, alertId, now } = await openAlert(new MemoryStateStore());
    const resolved = webhookBody('incident.resolved', alertId);
    expect(await applyPagerDutyWebhook(store, resolved, sign(resolved), [SECRET], now)).toMatchObject({ outcome: 'acknowledged' });
    expect((await readAcknowledgements(store, [alertId], now)).get(alertId)?.reason).toBe('resolved in PagerDuty');
    const back = webhookBody('incident.unacknowledged', alertId, { at: now + 1000 });
    expect(await applyPagerDutyWebhook(store, back, sign(back), [SECRET], now + 1000)).toMatchObject({ outcome: 'acknowledgement_ended' });
    expect((await readAcknowledgements(store, [alertId], now + 1000)).get(alertId)?.until).toBe(now + 1000);
    // A responder's own acknowledgement (detect ack add) stands whatever PagerDuty does.
    await acknowledge(store, { alertId, by: 'alice', until: null }, now + 2000);
    const reopened = webhookBody('incident.reopened', alertId, { at: now + 3000 });
    expect(await applyPagerDutyWebhook(store, reopened, sign(reopened), [SECRET], now + 3000)).toMatchObject({ outcome: 'ignored' });
    expect((await readAcknowledgements(store, [alertId], now + 3000)).get(alertId)).toMatchObject({ by: 'alice', until: null });
  });

  it('refuses what is not signed, and leaves alone what is not a Sentinel alert, not open, or not a change', async () => {
    const { store, alertId, now } = await openAlert(new MemoryStateStore());
    const body = webhookBody('incident.acknowledged', alertId);
    expect(await applyPagerDutyWebhook(store, body, sign(body, 'attacker'), [SECRET], now)).toEqual({
      status: 401,
      outcome: 'bad_signature',
    });
    const huge = 'x'.repeat(MAX_WEBHOOK_BYTES + 1);
    expect(await applyPagerDutyWebhook(store, huge, sign(huge), [SECRET], now)).toMatchObject({ status: 401 });
    expect((await readAcknowledgements(store, [alertId], now)).size).toBe(0);
    for (const [text, outcome] of [
      [webhookBody('incident.acknowledged', 'srv01/high_cpu'), 'ignored'], // another tool's incident
      [webhookBody('incident.acknowledged', null), 'ignored'],
      [webhookBody('incident.acknowledged', 'det-ffffffffffffffffffffffff'), 'ignored'], // no open alert has it
      [webhookBody('incident.annotated', alertId), 'ignored'],
      ['{"event":{}}', 'not_an_event'],
      ['not json', 'not_an_event'],
    ] as const) {
      expect(await applyPagerDutyWebhook(store, text, sign(text), [SECRET], now), text).toMatchObject({ outcome });
    }
    expect((await readAcknowledgements(store, [alertId], now)).size).toBe(0);
  });
});

describe('PagerDuty events applied once, in order, and only while recent', () => {
  const apply = (store: StateStore, body: string, now: number) => applyPagerDutyWebhook(store, body, sign(body), [SECRET], now);
  const acknowledged = async (store: StateStore, alertId: string, now: number) => {
    const ack = (await readAcknowledgements(store, [alertId], now)).get(alertId);
    return ack !== undefined && (ack.until === null || ack.until > now);
  };

  it('a signed acknowledgement replayed after PagerDuty took it back changes nothing', async () => {
    const { store, alertId, now } = await openAlert(new MemoryStateStore());
    const ack = webhookBody('incident.acknowledged', alertId, { at: now });
    const back = webhookBody('incident.unacknowledged', alertId, { at: now + 60_000 });
    expect(await apply(store, ack, now)).toMatchObject({ outcome: 'acknowledged' });
    expect(await apply(store, back, now + 60_000)).toMatchObject({ outcome: 'acknowledgement_ended' });
    // The same signed body again, ten minutes on: the reminders must not go silent.
    expect(await apply(store, ack, now + 600_000)).toMatchObject({
      status: 200,
      outcome: 'ignored',
      detail: expect.stringContaining('older than the last'),
    });
    expect(await acknowledged(store, alertId, now + 600_000)).toBe(false);
  });

  it('a delivery PagerDuty retries is applied once', async () => {
    const { store, alertId, now } = await openAlert(new MemoryStateStore());
    const ack = webhookBody('incident.acknowledged', alertId, { at: now });
    expect(await apply(store, ack, now)).toMatchObject({ outcome: 'acknowledged' });
    expect(await apply(store, ack, now + 30_000)).toMatchObject({ outcome: 'ignored', detail: expect.stringContaining('applied already') });
    // Another event of the same millisecond (resolved as it was acknowledged) is its own.
    const resolved = webhookBody('incident.resolved', alertId, { at: now });
    expect(await apply(store, resolved, now + 30_000)).not.toMatchObject({ detail: expect.stringContaining('applied already') });
  });

  it('an acknowledgement retried after the un-acknowledge PagerDuty sent later leaves the alert as PagerDuty has it', async () => {
    const { store, alertId, now } = await openAlert(new MemoryStateStore());
    const back = webhookBody('incident.unacknowledged', alertId, { at: now + 5_000 });
    // Nothing to end yet (the acknowledgement's delivery failed), but PagerDuty's state as of then is known.
    expect(await apply(store, back, now + 5_000)).toMatchObject({ outcome: 'ignored' });
    const late = webhookBody('incident.acknowledged', alertId, { at: now });
    expect(await apply(store, late, now + 20_000)).toMatchObject({
      outcome: 'ignored',
      detail: expect.stringContaining('older than the last'),
    });
    expect(await acknowledged(store, alertId, now + 20_000)).toBe(false);
  });

  it('an event over an hour old, ahead of the clock, or without a time is left alone', async () => {
    const { store, alertId, now } = await openAlert(new MemoryStateStore());
    for (const [at, says] of [
      [now - REPLAY_WINDOW_MS - 1000, 'over an hour ago'],
      [now + 10 * 60_000, 'ahead of this clock'],
      [null, 'says no time'],
    ] as const) {
      const body = webhookBody('incident.acknowledged', alertId, { at });
      expect(await apply(store, body, now), String(at)).toMatchObject({
        status: 200,
        outcome: 'ignored',
        detail: expect.stringContaining(says),
      });
    }
    expect(await acknowledged(store, alertId, now)).toBe(false);
    // Within the hour (PagerDuty retries a failed delivery for about twenty minutes), it is acted on.
    const retried = webhookBody('incident.acknowledged', alertId, { at: now - 25 * 60_000 });
    expect(await apply(store, retried, now)).toMatchObject({ outcome: 'acknowledged' });
  });
});

describe('the webhook handler as Lambda runs it behind its URL (DynamoDB on dynalite, Secrets Manager stubbed)', () => {
  it('acts on a signed delivery (base64 or not) and answers 401 to an unsigned one, 405 to a GET', async () => {
    const local = await startLocalDynamo('sentinel-webhook');
    try {
      const address = await local.client.config.endpoint?.();
      Object.assign(process.env, {
        AWS_ENDPOINT_URL_DYNAMODB: `${address?.protocol}//${address?.hostname}:${address?.port}`,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        TABLE_NAME: local.tableName,
        PAGERDUTY_WEBHOOK_SECRET: 'sentinel/pagerduty-webhook',
        POWERTOOLS_SERVICE_NAME: 'sentinel-pager-webhook',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      });
      const secrets = mockClient(SecretsManagerClient);
      // Two lines while PagerDuty rotates the secret: the old one and this one.
      secrets.on(GetSecretValueCommand).resolves({ SecretString: `old-secret\n${SECRET}\n` });
      const store = new DynamoStateStore(local.client, local.tableName);
      // Lambda's clock is the wall clock: an alert opened a minute ago is open now.
      const { alertId } = await openAlert(store, Date.now() - 60_000);
      const { receive } = await import('../functions/pager-webhook/handler');
      const request = (body: string, headers: Record<string, string>, method = 'POST', base64 = false) =>
        receive({
          version: '2.0',
          routeKey: '$default',
          rawPath: '/',
          rawQueryString: '',
          headers,
          isBase64Encoded: base64,
          body: base64 ? Buffer.from(body).toString('base64') : body,
          requestContext: {
            accountId: 'anonymous',
            apiId: 'x',
            domainName: 'x.lambda-url.us-east-1.on.aws',
            domainPrefix: 'x',
            http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '198.51.100.1', userAgent: 'PagerDuty-Webhook/V3.0' },
            requestId: 'r',
            routeKey: '$default',
            stage: '$default',
            time: '03/Mar/2025:10:31:30 +0000',
            timeEpoch: 0,
          },
        });
      const body = webhookBody('incident.acknowledged', alertId, { at: Date.now() });
      expect(await request(body, { 'x-pagerduty-signature': sign(body, 'attacker') })).toMatchObject({ statusCode: 401 });
      expect(await request(body, {}, 'GET')).toMatchObject({ statusCode: 405 });
      expect((await readAcknowledgements(store, [alertId], Date.now())).size).toBe(0);
      expect(await request(body, { 'x-pagerduty-signature': sign(body) }, 'POST', true)).toMatchObject({
        statusCode: 200,
        body: 'acknowledged',
      });
      expect((await readAcknowledgements(store, [alertId], Date.now())).get(alertId)?.by).toBe('Jane Doe (PagerDuty)');
      secrets.restore();
    } finally {
      await local.close();
    }
  });
});
