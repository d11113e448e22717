import { describe, expect, it } from 'vitest';
import { buildAcknowledgementNotice } from '../src/alerts/acknowledgement-notice';
import { forwardToPagerDuty, PAGERDUTY_EVENTS_URL, PagerDutyDeliveryError, pagerDutyEvent } from '../src/alerts/pagerduty';
import { type TeamPager, teamPagerOf } from '../src/alerts/team-pagers';
import type { Alert } from '../src/schema/alert';
import { failedLoginsAlert, T0 } from './helpers';

const KEY = 'R0UT1NGKEY0000000000000000000000';

/** A brute force the engine opens, its evidence lines holding a password (redacted in the alert). */
const openedAlert = (): Promise<Alert> => failedLoginsAlert();

describe('alerts as PagerDuty events: one PagerDuty alert per Sentinel alert, from open to resolved', () => {
  it('an opened alert triggers, keyed by its id, with its severity, entity, links and redacted evidence', async () => {
    const alert = await openedAlert();
    expect(alert.status).toBe('open');
    const event = pagerDutyEvent(alert, KEY);
    expect(event).toMatchObject({
      routing_key: KEY,
      event_action: 'trigger',
      dedup_key: alert.id,
      client: 'Sentinel',
      payload: {
        summary: 'high: Brute force against j.chen',
        source: 'user.name=j.chen',
        severity: 'error',
        component: 'test.brute_force',
        class: 'detection',
        timestamp: alert.lastSeen,
      },
    });
    expect(event?.links?.[0]?.href).toBe(alert.consoleUrl);
    const evidence = event?.payload?.custom_details.evidence;
    expect(evidence).toHaveLength(3);
    expect(JSON.stringify(event)).not.toContain('Hunter2-secret');
    expect(JSON.stringify(evidence)).toContain('password=[REDACTED]');
  });

  it('its escalation joins the same PagerDuty alert; its resolved notice resolves it; a reminder is not sent', async () => {
    const alert = await openedAlert();
    expect(pagerDutyEvent({ ...alert, status: 'escalated', severity: 'critical' }, KEY)).toMatchObject({
      event_action: 'trigger',
      dedup_key: alert.id,
      payload: { severity: 'critical' },
    });
    expect(pagerDutyEvent({ ...alert, status: 'resolved' }, KEY)).toEqual({
      routing_key: KEY,
      event_action: 'resolve',
      dedup_key: alert.id,
    });
    // PagerDuty re-notifies by its own policy; after a responder resolved its alert there, a
    // reminder (same dedup key) would open a new one and page them again for what they judged.
    expect(pagerDutyEvent({ ...alert, status: 'reminder' }, KEY)).toBeUndefined();
  });

  it('a summary cut to 1,024 characters never splits an emoji (a surrogate pair)', async () => {
    const alert = await openedAlert();
    for (const pad of [1018, 1019, 1020, 1021]) {
      const title = `${'x'.repeat(pad)}${'\u{1F6A8}'.repeat(10)}`;
      const summary = pagerDutyEvent({ ...alert, title }, KEY)?.payload?.summary ?? '';
      expect(summary.length, String(pad)).toBeLessThanOrEqual(1024);
      expect(summary.endsWith('…'), String(pad)).toBe(true);
      // No lone surrogate: the text survives a UTF-8 round trip unchanged.
      expect(Buffer.from(summary, 'utf8').toString('utf8'), String(pad)).toBe(summary);
    }
  });

  it('an incident says so and lists its detections; a runbook link is sent when it is a URL; a digest is no page', async () => {
    const alert = await openedAlert();
    const incident: Alert = {
      ...alert,
      id: 'inc-1',
      kind: 'incident',
      severity: 'critical',
      title: 'Account takeover: j.chen',
      runbook: 'https://github.com/acme/sentinel/blob/main/docs/runbooks/corr.account_takeover.md',
      memberDetections: [{ id: alert.id, ruleId: alert.ruleId, title: alert.title, firstSeen: alert.firstSeen, lastSeen: alert.lastSeen }],
      cloud: { account: { id: '111122223333' }, region: 'eu-west-1' },
    };
    const event = pagerDutyEvent(incident, KEY);
    expect(event?.payload).toMatchObject({
      summary: 'INCIDENT critical: Account takeover: j.chen',
      severity: 'critical',
      source: 'user.name=j.chen (account 111122223333)',
      group: '111122223333',
      custom_details: { member_detections: ['test.brute_force: Brute force against j.chen'] },
    });
    expect(event?.links?.map((l) => l.href)).toEqual([incident.consoleUrl, incident.runbook]);
    expect(pagerDutyEvent({ ...alert, runbook: 'docs/runbooks/x.md' }, KEY)?.links).toHaveLength(1);
    expect(pagerDutyEvent({ ...alert, kind: 'digest' }, KEY)).toBeUndefined();
    // The stack's notices to the team (an exception added, who acknowledged what) are told once and never resolve.
    expect(pagerDutyEvent({ ...alert, ruleId: 'sentinel.acknowledgement' }, KEY)).toBeUndefined();
    expect(pagerDutyEvent({ ...alert, ruleId: 'sentinel.exception' }, KEY)).toBeUndefined();
    const long = pagerDutyEvent({ ...alert, title: 'x'.repeat(5000) }, KEY);
    expect(long?.payload?.summary.length).toBe(1024);
  });
});

describe('forwarding a published message to PagerDuty', () => {
  const answering = (status: number, sent: string[] = []) => ({
    routingKey: async () => KEY,
    post: async (url: string, body: string) => {
      expect(url).toBe(PAGERDUTY_EVENTS_URL);
      sent.push(body);
      return { status, text: status === 202 ? '{"status":"success"}' : '{"status":"invalid event"}' };
    },
  });

  it('PagerDuty took it: sent, once, as the event for the alert', async () => {
    const alert = await openedAlert();
    const sent: string[] = [];
    expect(await forwardToPagerDuty(JSON.stringify(alert), answering(202, sent))).toEqual({ sent: 'trigger', dedupKeys: [alert.id] });
    expect(sent.map((b) => JSON.parse(b))).toEqual([pagerDutyEvent(alert, KEY)]);
  });

  it('throttled, failing or unreachable: thrown as retryable (Lambda retries; the dedup key makes a repeat harmless)', async () => {
    const message = JSON.stringify(await openedAlert());
    for (const status of [429, 500, 503]) {
      const thrown = await forwardToPagerDuty(message, answering(status)).catch((e: unknown) => e);
      expect(thrown, String(status)).toBeInstanceOf(PagerDutyDeliveryError);
      expect((thrown as PagerDutyDeliveryError).retryable, String(status)).toBe(true);
    }
    const down = { routingKey: async () => KEY, post: async () => Promise.reject(new Error('ECONNRESET')) };
    await expect(forwardToPagerDuty(message, down)).rejects.toMatchObject({ retryable: true, message: /unreachable: ECONNRESET/ });
  });

  it('refused (a wrong routing key, an invalid event): thrown too, not retryable — it lands in the failure queue and its alarm, never only a log line', async () => {
    const message = JSON.stringify(await openedAlert());
    await expect(forwardToPagerDuty(message, answering(400))).rejects.toMatchObject({
      retryable: false,
      message: /PagerDuty answered 400 for det-/,
    });
  });

  it('what is no page (a stack-health alarm on the topic, a digest, a reminder) is skipped, said why, and nothing is sent', async () => {
    const sent: string[] = [];
    const alarm = JSON.stringify({ AlarmName: 'FailedBatches', NewStateValue: 'ALARM' });
    expect(await forwardToPagerDuty(alarm, answering(202, sent))).toMatchObject({ skipped: 'not_an_alert' });
    expect(await forwardToPagerDuty('not json', answering(202, sent))).toMatchObject({ skipped: 'not_an_alert' });
    const digest = { ...(await openedAlert()), kind: 'digest' };
    expect(await forwardToPagerDuty(JSON.stringify(digest), answering(202, sent))).toMatchObject({ skipped: 'not_a_page' });
    const reminder = { ...(await openedAlert()), status: 'reminder' };
    expect(await forwardToPagerDuty(JSON.stringify(reminder), answering(202, sent))).toMatchObject({ skipped: 'reminder' });
    expect(sent).toEqual([]);
  });
});

describe("a responder's acknowledgement in Sentinel acknowledges the PagerDuty alerts", () => {
  /** The team's notice that a responder acknowledged these alerts (src/alerts/acknowledgement-notice.ts). */
  function notice(by: string, ids: string[]): string {
    const acks = ids.map((alertId, i) => ({ alertId, by, at: T0 + i, until: null }));
    return JSON.stringify(buildAcknowledgementNotice(acks, { region: 'us-east-1' }));
  }
  const ids = ['det-0123456789abcdef01234567', 'inc-89abcdef0123456789abcdef'];
  const collecting = (sent: string[], status = (_key: string) => 202) => ({
    routingKey: async () => KEY,
    post: async (_url: string, body: string) => {
      sent.push(body);
      const key = String(JSON.parse(body).dedup_key);
      return { status: status(key), text: '{}' };
    },
  });

  it('each alert the notice lists is acknowledged in PagerDuty, keyed by its id', async () => {
    const sent: string[] = [];
    expect(await forwardToPagerDuty(notice('alice', ids), collecting(sent))).toEqual({ sent: 'acknowledge', dedupKeys: ids });
    expect(sent.map((b) => JSON.parse(b))).toEqual(ids.map((id) => ({ routing_key: KEY, event_action: 'acknowledge', dedup_key: id })));
  });

  it('not the ones PagerDuty itself made (they came from its webhook), and one PagerDuty refuses is said, not thrown', async () => {
    const sent: string[] = [];
    expect(await forwardToPagerDuty(notice('Jane Doe (PagerDuty)', ids), collecting(sent))).toMatchObject({ skipped: 'not_a_page' });
    expect(sent).toEqual([]);
    // An alert PagerDuty never had (below the paging tiers): refused, the other still acknowledged.
    const refusing = collecting(sent, (key) => (key === ids[0] ? 400 : 202));
    expect(await forwardToPagerDuty(notice('alice', ids), refusing)).toEqual({ sent: 'acknowledge', dedupKeys: [ids[1]] });
    // Throttled: thrown, so Lambda retries (an acknowledgement sent twice changes nothing).
    await expect(
      forwardToPagerDuty(
        notice('alice', ids),
        collecting([], () => 429),
      ),
    ).rejects.toMatchObject({ retryable: true });
  });
});

describe('pagerDuty.leaveTeamPages: an alert a team pages through its own PagerDuty service does not page this one too', () => {
  const payments: TeamPager = { name: 'payments', tiers: ['respond'], accounts: ['555555555555'] };
  const identity: TeamPager = { tiers: ['notify', 'respond'], rules: ['auth.*'] };
  const sending = (sent: string[]) => ({
    routingKey: async () => KEY,
    post: async (_url: string, body: string) => {
      sent.push(body);
      return { status: 202, text: '{}' };
    },
  });
  const about = (alert: Alert, account: string | undefined, ruleId = alert.ruleId): Alert => ({
    ...alert,
    ruleId,
    entity: { ...alert.entity, ...(account === undefined ? {} : { account }) },
  });

  it("the team's page is its only one; another account's, another tier's and without the option, this service pages", async () => {
    const alert = { ...(await openedAlert()), ruleId: 'web.request_flood' };
    expect(alert.tier).toBe('respond');
    const sent: string[] = [];
    const deps = { ...sending(sent), teamPagers: [payments, identity] };
    expect(await forwardToPagerDuty(JSON.stringify(about(alert, '555555555555')), deps)).toEqual({
      skipped: 'team_paged',
      detail: expect.stringContaining("pages payments's own PagerDuty service"),
    });
    // A rule the identity team's route names (a prefix), any account: theirs too.
    expect(await forwardToPagerDuty(JSON.stringify(about(alert, '111122223333', 'auth.password_spray')), deps)).toMatchObject({
      skipped: 'team_paged',
    });
    expect(sent).toEqual([]);
    // Another account, another rule: this service's page.
    expect(await forwardToPagerDuty(JSON.stringify(about(alert, '111122223333')), deps)).toEqual({
      sent: 'trigger',
      dedupKeys: [alert.id],
    });
    // The payments team pages only its respond tier: its notify-tier alerts page here (when this service takes notify).
    const notify = { ...about(alert, '555555555555'), tier: 'notify' as const, severity: 'medium' as const };
    expect(await forwardToPagerDuty(JSON.stringify(notify), deps)).toMatchObject({ sent: 'trigger' });
    // Option off: no team pagers bundled, every page sent.
    expect(await forwardToPagerDuty(JSON.stringify(about(alert, '555555555555')), sending(sent))).toMatchObject({ sent: 'trigger' });
    expect(sent).toHaveLength(3);
  });

  it('a resolved notice is still sent: an alert opened at a tier only this service pages, then escalated to the team, is resolved here too', async () => {
    const alert = about({ ...(await openedAlert()), ruleId: 'web.request_flood' }, '555555555555');
    const sent: string[] = [];
    const deps = { ...sending(sent), teamPagers: [payments] };
    // Opened at notify: this service's page (the team takes respond only).
    expect(await forwardToPagerDuty(JSON.stringify({ ...alert, tier: 'notify', severity: 'medium' }), deps)).toMatchObject({
      sent: 'trigger',
    });
    // Escalated to respond: the team's page now, not a second one here.
    expect(await forwardToPagerDuty(JSON.stringify({ ...alert, status: 'escalated' }), deps)).toMatchObject({ skipped: 'team_paged' });
    // Resolved (at the respond tier): sent, so this service's alert does not stay open forever.
    expect(await forwardToPagerDuty(JSON.stringify({ ...alert, status: 'resolved' }), deps)).toEqual({
      sent: 'resolve',
      dedupKeys: [alert.id],
    });
    expect(sent.map((b) => JSON.parse(b).event_action)).toEqual(['trigger', 'resolve']);
  });

  it('the account read is the one SNS filters on: the alert’s cloud account first, and an alert naming none is no team’s by account', async () => {
    const alert = { ...(await openedAlert()), ruleId: 'web.request_flood' };
    const { entity } = alert;
    expect(teamPagerOf({ ...alert, entity: { field: entity.field, value: entity.value } }, [payments])).toBeUndefined();
    const cloud = { provider: 'aws' as const, account: { id: '555555555555' }, region: 'eu-west-1' };
    expect(teamPagerOf({ ...alert, cloud, entity: { ...entity, account: '111122223333' } }, [payments])).toBe(payments);
    expect(teamPagerOf({ ...alert, tier: 'review', cloud }, [payments])).toBeUndefined();
  });
});
