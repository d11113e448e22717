import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { chatbotMessage, emailBody } from '../src/alerts/notification';
import { Detector } from '../src/engine/detector';
import { scopedLabel } from '../src/engine/entity-scope';
import { MemoryStateStore } from '../src/engine/memory-store';
import { flushDigests } from '../src/engine/sweeper';
import { type LocalDynamo, startLocalDynamo } from '../src/local/dynalite';
import type { Alert, Message } from '../src/schema/alert';
import { detector, ev, rule, T0 } from './helpers';

/**
 * A distinct-value alert lists what it counted — the accounts a spray tried, the ports a scan
 * probed — so the responder's first step ("list the targeted accounts and check each for a later
 * successful login") needs no search: earlier deliveries' values included, in a stable order,
 * redacted, bounded.
 */
const S = 1000;
const spray = rule({
  id: 'test.spray',
  title: 'Spray from {source.ip}: {count} accounts',
  match: { 'event.outcome': 'failure' },
  distinct: { field: 'user.name', count: 10, window: '10m', groupBy: ['source.ip'] },
});
const scan = rule({
  id: 'test.scan',
  title: 'Scan from {source.ip}: {count} ports',
  match: { 'event.category': 'network' },
  distinct: { field: 'destination.port', count: 25, window: '5m', groupBy: ['source.ip'] },
});
const failure = (user: string, at: number) => ev({ 'event.outcome': 'failure', 'user.name': user, 'source.ip': '203.0.113.5' }, at);
const probe = (port: number, at: number) => ev({ 'event.category': 'network', 'destination.port': port, 'source.ip': '198.51.100.9' }, at);
const USERS = ['root', 'admin', 'oracle', 'postgres', 'deploy', 'ubuntu', 'test', 'guest', 'git', 'backup'];

function opened(alerts: readonly Alert[], ruleId: string): Alert {
  const found = alerts.find((a) => a.ruleId === ruleId && a.status === 'open');
  if (!found) throw new Error(`no ${ruleId} alert opened`);
  return found;
}

describe('a distinct-value alert lists what it counted', () => {
  it('a spray delivered in two batches: the alert of the second lists the first batch’s accounts too, in order', async () => {
    const d = detector([spray]);
    const first = await d.evaluate(
      'b1',
      USERS.slice(0, 6).map((u, i) => failure(u, T0 + i * S)),
    );
    expect(first.alerts).toHaveLength(0);
    const second = await d.evaluate(
      'b2',
      USERS.slice(6).map((u, i) => failure(u, T0 + (10 + i) * S)),
    );
    const alert = opened(second.alerts, 'test.spray');
    expect(alert.distinct).toEqual({ field: 'user.name', values: [...USERS].sort(), total: 10 });
    expect(emailBody(alert)).toContain(`Counted user.name (10): ${[...USERS].sort().join(', ')}\n`);
  });

  it('a scan of 30 ports: the 20 lowest by number, and how many more, on the alert, in the email and in chat', async () => {
    // Probed from the top down: the order shown is the ports', not the scan's.
    const ports = Array.from({ length: 30 }, (_, i) => 7 * (30 - i));
    const { alerts } = await detector([scan]).evaluate(
      'b1',
      ports.map((p, i) => probe(p, T0 + i * 100)),
    );
    const alert = opened(alerts, 'test.scan');
    // It opened at the 25th port: those 25 counted, the lowest 20 listed.
    const counted = ports.slice(0, 25).sort((a, b) => a - b);
    expect(alert.distinct).toEqual({ field: 'destination.port', values: counted.slice(0, 20).map(String), total: 25 });
    const email = emailBody(alert);
    expect(email).toContain(`Counted destination.port (25): ${counted.slice(0, 20).join(', ')}, and 5 more\n`);
    // It counted ports, not events: the window line says no event count, and the evidence says it is a sample.
    expect(email).toMatch(/^Window: \S+ → \S+$/m);
    expect(alert.events.length).toBeLessThan(25);
    expect(email).toContain(`Evidence (the latest ${alert.events.length}; secrets redacted):\n`);
    const chat = JSON.stringify(chatbotMessage(alert));
    expect(chat).toContain(
      `Counted destination.port (25): ${counted
        .slice(0, 20)
        .map((p) => `\`${p}\``)
        .join(' ')} and 5 more`,
    );
  });

  it('values are redacted, and a backtick cannot break out of chat’s code spans', async () => {
    const users = [...USERS.slice(0, 8), 'password=hunter2', 'sneaky`*bold*`'];
    const { alerts } = await detector([spray]).evaluate(
      'b1',
      users.map((u, i) => failure(u, T0 + i * S)),
    );
    const alert = opened(alerts, 'test.spray');
    expect(alert.distinct?.total).toBe(10);
    expect(JSON.stringify(alert)).not.toContain('hunter2');
    expect(alert.distinct?.values).toContain('sneaky`*bold*`');
    const chat = JSON.stringify(chatbotMessage(alert));
    expect(chat).toContain("`sneaky'*bold*'`");
  });

  it('a review-tier rule’s list reaches the digest: its latest detection’s first five values, with its entity', async () => {
    const discovery = rule({
      id: 'test.discovery',
      title: 'Content discovery from {source.ip}: {count} paths',
      severity: 'low',
      match: { 'http.response.status_code': 404 },
      distinct: { field: 'url.path', count: 8, window: '5m', groupBy: ['source.ip'] },
    });
    const pack = { rules: [discovery], correlations: [], sources: [], files: new Map() };
    const store = new MemoryStateStore();
    const paths = ['/.env', '/.git/config', '/admin', '/backup.zip', '/config.php', '/db.sql', '/phpinfo.php', '/wp-login.php'];
    await new Detector(pack, store).evaluate(
      'b1',
      paths.map((path, i) => ev({ 'http.response.status_code': 404, 'url.path': path, 'source.ip': '203.0.113.7' }, T0 + i * S)),
    );
    const published: Alert[] = [];
    const deps = { store, pack, ctx: { region: 'us-east-1' }, send: async (m: Message[]) => void published.push(...m.map((x) => x.alert)) };
    expect(await flushDigests(deps, T0 + 60 * S)).toBe(1);
    const digest = published[0];
    expect(digest?.digest?.[0]?.counted).toEqual({ field: 'url.path', values: paths.slice(0, 5), total: 8, entity: '203.0.113.7' });
    expect(emailBody(digest as Alert)).toContain(
      `  latest (203.0.113.7) counted url.path (8): ${paths.slice(0, 5).join(', ')}, and 3 more\n`,
    );
  });

  it('a name scoped to another account reads `name (account)`', () => {
    expect(scopedLabel('@111122223333|root')).toBe('root (111122223333)');
    expect(scopedLabel('root')).toBe('root');
    expect(scopedLabel('@|odd')).toBe('@|odd');
  });
});

describe('the same list whatever store keeps the sets', () => {
  let local: LocalDynamo;
  beforeAll(async () => {
    local = await startLocalDynamo('distinct-values');
  });
  afterAll(async () => {
    await local.close();
  });

  it('DynamoDB (dynalite) gives the spray’s alert the values the in-memory store does', async () => {
    const run = async (d: ReturnType<typeof detector>) => {
      await d.evaluate(
        'b1',
        USERS.slice(0, 6).map((u, i) => failure(u, T0 + i * S)),
      );
      return opened(
        (
          await d.evaluate(
            'b2',
            USERS.slice(6).map((u, i) => failure(u, T0 + (10 + i) * S)),
          )
        ).alerts,
        'test.spray',
      );
    };
    const memory = await run(detector([spray]));
    const dynamo = await run(detector([spray], new DynamoStateStore(local.client, local.tableName)));
    expect(dynamo.distinct).toEqual(memory.distinct);
    expect(dynamo.distinct?.values).toHaveLength(10);
  });
});
