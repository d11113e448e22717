import { describe, expect, it } from 'vitest';
import { buildDigestAlert } from '../src/alerts/digest';
import { entitiesOf } from '../src/correlation/envelope';
import { Detector } from '../src/engine/detector';
import { accountAttribute, entityAccount, isPublicAddress, memberAccount } from '../src/engine/entity-scope';
import { MemoryStateStore } from '../src/engine/memory-store';
import type { Alert, Message } from '../src/schema/alert';
import { ev, rule, T0 } from './helpers';

const A = '111111111111';
const B = '222222222222';

/** An event as a hub sees it: about account `account` (an organization trail's record, a member account's log group). */
const inAccount = (account: string, fields: Record<string, string>, at = T0) =>
  ev({ ...fields, 'cloud.account.id': account, 'cloudwatch.owner': account }, at);

/** A rule about failures from one address (an organization-wide entity when the address is public). */
const fromSource = (id: string, counting: Record<string, unknown>) =>
  rule({ id, title: `${id} from {source.ip}`, entity: 'source.ip', match: { 'event.outcome': 'failure' }, ...counting });

function firstAlert(messages: readonly Message[]): Alert {
  const alert = messages[0]?.alert;
  if (!alert) throw new Error('expected a detection');
  return alert;
}

const opened = (messages: readonly Message[]) =>
  messages
    .filter((m) => m.publish && m.alert.status === 'open')
    .map((m) => `${m.alert.ruleId} ${m.alert.entity.value}@${m.alert.entity.account ?? 'org'} ${m.alert.tier}`)
    .sort();

describe('which entities are per account (src/engine/entity-scope.ts)', () => {
  it.each([
    ['203.0.113.9', true],
    ['8.8.8.8', true],
    ['10.0.1.15', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['172.32.0.1', true],
    ['192.168.1.1', false],
    ['100.64.0.1', false],
    ['100.128.0.1', true],
    ['127.0.0.1', false],
    ['169.254.169.254', false],
    ['0.0.0.0', false],
    ['2001:4860:4860::8888', true],
    ['fd00::1', false],
    ['fe80::1', false],
    ['::1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['web-1.internal', false],
    ['', false],
  ])('%s is a public address: %s', (text, expected) => {
    expect(isPublicAddress(text)).toBe(expected);
  });

  it('names inside an account take its id; public addresses, account ids and domains stay organization-wide', () => {
    expect(entityAccount('user.name', 'root', A)).toBe(A);
    expect(entityAccount('host.name', 'web-1', A)).toBe(A);
    expect(entityAccount('faas.name', 'checkout', A)).toBe(A);
    expect(entityAccount('source.ip', '10.0.1.15', A)).toBe(A);
    expect(entityAccount('source.address', 'bastion.internal', A)).toBe(A);
    expect(entityAccount('source.ip', '203.0.113.9', A)).toBeUndefined();
    expect(entityAccount('destination.ip', '203.0.113.9', A)).toBeUndefined();
    expect(entityAccount('cloud.account.id', A, A)).toBeUndefined();
    expect(entityAccount('dns.question.registered_domain', 'evil.example', A)).toBeUndefined();
    expect(entityAccount('user.name', 'root', undefined)).toBeUndefined(); // plain lines replayed locally
    // A person named by an email address is the same person in every account.
    expect(entityAccount('user.name', 'alice@corp.example', A)).toBeUndefined();
    expect(entityAccount('user.name', 'alice@localhost', A)).toBe(A);
    expect(entityAccount('host.name', 'alice@corp.example', A)).toBe(A);
  });

  it('distinct-value members: names and private addresses are per account; ports, paths and public addresses are values', () => {
    const e = inAccount(A, { 'user.name': 'admin', 'destination.ip': '10.0.0.5', 'source.ip': '203.0.113.9', 'url.path': '/login' });
    e['destination.port'] = 22;
    expect(memberAccount(e, 'user.name')).toBe(A);
    expect(memberAccount(e, 'destination.ip')).toBe(A);
    expect(memberAccount(e, 'source.ip')).toBeUndefined();
    expect(memberAccount(e, 'destination.port')).toBeUndefined();
    expect(memberAccount(e, 'url.path')).toBeUndefined();
  });
});

describe('a hub: the same name in two accounts is two entities', () => {
  const bruteForce = rule({
    id: 'test.brute_force_user',
    title: 'brute force against {user.name}',
    entity: 'user.name',
    match: { 'event.outcome': 'failure' },
    threshold: { count: 10, window: '10m', groupBy: ['user.name'] },
  });
  const failures = (account: string, user: string, n: number, ip = '203.0.113.9') =>
    Array.from({ length: n }, (_, i) =>
      inAccount(account, { 'event.outcome': 'failure', 'user.name': user, 'source.ip': ip }, T0 + i * 1000),
    );

  it('counts per account: six failures for admin in each of two accounts are not ten for one admin', async () => {
    const detector = new Detector({ rules: [bruteForce] }, new MemoryStateStore());
    const r = await detector.evaluate('b1', [...failures(A, 'admin', 6), ...failures(B, 'admin', 6)]);
    expect(opened(r.messages)).toEqual([]);
    const more = await detector.evaluate(
      'b2',
      failures(A, 'admin', 6).map((e) => ({ ...e, '@timestamp': T0 + 30_000 })),
    );
    expect(opened(more.messages)).toEqual([`test.brute_force_user admin@${A} respond`]);
    expect(more.messages[0]?.alert.cloud?.account.id).toBe(A);
  });

  it('one public address attacking two accounts is one attacker; a private address is one per network', async () => {
    const spray = fromSource('test.source_failures', { threshold: { count: 10, window: '10m', groupBy: ['source.ip'] } });
    const detector = new Detector({ rules: [spray] }, new MemoryStateStore());
    const publicIp = await detector.evaluate('b1', [...failures(A, 'u1', 6, '203.0.113.9'), ...failures(B, 'u2', 6, '203.0.113.9')]);
    expect(opened(publicIp.messages)).toEqual(['test.source_failures 203.0.113.9@org respond']);
    const privateIp = await detector.evaluate('b2', [...failures(A, 'u1', 6, '10.0.1.15'), ...failures(B, 'u2', 6, '10.0.1.15')]);
    expect(opened(privateIp.messages)).toEqual([]);
  });

  it('each account’s root pages: a page open for one account’s root does not take in the other’s', async () => {
    const rootLogin = rule({
      id: 'test.root_login',
      title: 'root login',
      severity: 'high',
      riskScore: 6,
      entity: 'user.name',
      match: { 'event.action': 'root_login' },
    });
    const keyCreated = rule({
      id: 'test.root_key',
      title: 'root key',
      severity: 'high',
      riskScore: 5,
      entity: 'user.name',
      match: { 'event.action': 'root_key' },
    });
    const detector = new Detector({ rules: [rootLogin, keyCreated] }, new MemoryStateStore());
    await detector.evaluate('b1', [inAccount(A, { 'event.action': 'root_login', 'user.name': 'root' })]);
    const r = await detector.evaluate('b2', [
      inAccount(A, { 'event.action': 'root_key', 'user.name': 'root' }, T0 + 60_000),
      inAccount(B, { 'event.action': 'root_key', 'user.name': 'root' }, T0 + 60_000),
    ]);
    // A's root key is part of A's open page; B's root has no page open: it pages.
    expect(opened(r.messages)).toEqual([`test.root_key root@${A} notify`, `test.root_key root@${B} respond`]);
  });

  it('a public address spraying two accounts: each user it tried is correlated under its own account', async () => {
    const spray = fromSource('test.spray', { distinct: { field: 'user.name', count: 3, window: '10m', groupBy: ['source.ip'] } });
    const r = await new Detector({ rules: [spray] }, new MemoryStateStore()).evaluate('b1', [
      inAccount(A, { 'event.outcome': 'failure', 'user.name': 'alice', 'source.ip': '203.0.113.9' }, T0),
      inAccount(A, { 'event.outcome': 'failure', 'user.name': 'bob', 'source.ip': '203.0.113.9' }, T0 + 1000),
      inAccount(B, { 'event.outcome': 'failure', 'user.name': 'carol', 'source.ip': '203.0.113.9' }, T0 + 2000),
      inAccount(B, { 'event.outcome': 'failure', 'user.name': 'alice', 'source.ip': '203.0.113.9' }, T0 + 3000),
    ]);
    const alert = firstAlert(r.messages);
    expect(alert.entity).toEqual({ field: 'source.ip', value: '203.0.113.9' });
    expect(entitiesOf(alert)).toEqual([
      { field: 'source.ip', value: '203.0.113.9' },
      { field: 'user.name', value: 'alice', account: A }, // the first seen, for a name in both
      { field: 'user.name', value: 'bob', account: A },
      { field: 'user.name', value: 'carol', account: B },
    ]);
  });

  it('related names from another account than the trigger’s keep their account, even when all come from one', async () => {
    const flood = fromSource('test.flood', { threshold: { count: 3, window: '10m', groupBy: ['source.ip'] } });
    const r = await new Detector({ rules: [flood] }, new MemoryStateStore()).evaluate('b1', [
      inAccount(A, { 'event.outcome': 'failure', 'user.name': 'alice', 'source.ip': '203.0.113.9' }, T0),
      inAccount(A, { 'event.outcome': 'failure', 'user.name': 'bob', 'source.ip': '203.0.113.9' }, T0 + 1000),
      inAccount(B, { 'event.outcome': 'failure', 'source.ip': '203.0.113.9' }, T0 + 2000),
    ]);
    const alert = firstAlert(r.messages);
    expect(alert.cloud?.account.id).toBe(B);
    expect(entitiesOf(alert).filter((e) => e.field === 'user.name')).toEqual([
      { field: 'user.name', value: 'alice', account: A },
      { field: 'user.name', value: 'bob', account: A },
    ]);
  });

  it('one address trying admin in four member accounts has tried four accounts; the stack’s own account keeps plain members', async () => {
    const spray = fromSource('test.spray', { distinct: { field: 'user.name', count: 4, window: '10m', groupBy: ['source.ip'] } });
    const accounts = ['111111111111', '222222222222', '333333333333', '444444444444'];
    const store = new MemoryStateStore();
    const hub = new Detector({ rules: [spray] }, store, { account: '999999999999' });
    const tries = accounts.map((account, i) =>
      inAccount(account, { 'event.outcome': 'failure', 'user.name': 'admin', 'source.ip': '203.0.113.9' }, T0 + i * 1000),
    );
    expect(opened((await hub.evaluate('b1', tries)).messages)).toEqual(['test.spray 203.0.113.9@org respond']);
    // In one account (its own), members are the plain values they were before accounts were told apart.
    const single = new Detector({ rules: [spray] }, store, { account: A });
    await single.evaluate('b2', [inAccount(A, { 'event.outcome': 'failure', 'user.name': 'root', 'source.ip': '198.51.100.7' }, T0)]);
    const sets = await store.readSets([{ key: 'd#test.spray#198.51.100.7', from: 0, to: Number.MAX_SAFE_INTEGER }], T0);
    expect([...(sets.get('d#test.spray#198.51.100.7')?.values() ?? [])].flatMap((members) => [...members])).toEqual(['root']);
  });

  it('a list of names is counted per account element by element, as a single name is', async () => {
    // One call naming several users (a list, flattened to user.name.0, user.name.1, …) in each of two member accounts.
    const spray = fromSource('test.list_spray', { distinct: { field: 'user.name', count: 4, window: '10m', groupBy: ['source.ip'] } });
    const hub = new Detector({ rules: [spray] }, new MemoryStateStore(), { account: '999999999999' });
    const listed = (account: string, at: number) => {
      const e = inAccount(account, { 'event.outcome': 'failure', 'source.ip': '203.0.113.9' }, at);
      e['user.name.0'] = 'admin';
      e['user.name.1'] = 'root';
      return e;
    };
    expect(memberAccount(listed(A, T0), 'user.name.1', 'user.name')).toBe(A);
    // admin and root of A, admin and root of B: four users, not two.
    expect(opened((await hub.evaluate('b1', [listed(A, T0), listed(B, T0 + 1000)])).messages)).toEqual([
      'test.list_spray 203.0.113.9@org respond',
    ]);
  });

  it('a detection’s related names are correlated as its account’s; public addresses as the organization’s', async () => {
    const login = rule({ id: 'test.login', entity: 'user.name', match: { 'event.action': 'login' } });
    const r = await new Detector({ rules: [login] }, new MemoryStateStore()).evaluate('b1', [
      inAccount(A, { 'event.action': 'login', 'user.name': 'deploy', 'source.ip': '203.0.113.9', 'host.name': 'bastion' }),
    ]);
    const alert = firstAlert(r.messages);
    expect(entitiesOf(alert)).toEqual([
      { field: 'user.name', value: 'deploy', account: A },
      { field: 'source.ip', value: '203.0.113.9' },
      { field: 'host.name', value: 'bastion', account: A },
    ]);
  });
});

describe('the account an entity is scoped by', () => {
  const login = rule({ id: 'test.login', entity: 'user.name', match: { 'event.action': 'login' } });
  const entityFor = async (fields: Record<string, string>) => {
    const r = await new Detector({ rules: [login] }, new MemoryStateStore()).evaluate('b1', [
      ev({ 'event.action': 'login', 'user.name': 'deploy', ...fields }),
    ]);
    return r.messages[0]?.alert.entity;
  };

  it('is the account a record names (an organization trail), else the log group’s owner; a line cannot name a non-account', async () => {
    expect(await entityFor({ 'cloud.account.id': B, 'cloudwatch.owner': A })).toMatchObject({ account: B });
    expect(await entityFor({ 'cloudwatch.owner': A })).toMatchObject({ account: A });
    // An app's JSON line writing its own cloud.account.id: only 12 digits are an account.
    expect(await entityFor({ 'cloud.account.id': `${'9'.repeat(3000)}`, 'cloudwatch.owner': A })).toMatchObject({ account: A });
    expect(await entityFor({ 'cloud.account.id': 'prod|admin', 'cloudwatch.owner': A })).toMatchObject({ account: A });
    expect(await entityFor({})).toEqual({ field: 'user.name', value: 'deploy' });
  });
});

describe('the review digest', () => {
  it('lists two accounts’ root as two entities', () => {
    const entry = (account: string | undefined, at: number) => ({
      at,
      ruleId: 'test.probe',
      alertId: `det-${at}`,
      title: 'probe',
      severity: 'low' as const,
      entity: { field: 'user.name', value: 'root', ...(account ? { account } : {}) },
      logGroups: ['/test'],
    });
    const digest = buildDigestAlert(
      { start: T0, end: T0 + 3_600_000, entries: [entry(A, T0), entry(A, T0 + 1), entry(B, T0 + 2)] },
      { region: 'us-east-1' },
    );
    expect(digest.digest?.[0]?.entities).toEqual([
      { value: 'root', detections: 2, account: A },
      { value: 'root', detections: 1, account: B },
    ]);
  });
});

describe('the account message attribute (subscription filter policies)', () => {
  const login = rule({ id: 'test.login', entity: 'source.ip', match: { 'event.action': 'login' } });
  const alertFor = async (fields: Record<string, string>) => {
    const r = await new Detector({ rules: [login] }, new MemoryStateStore()).evaluate('b1', [ev({ 'event.action': 'login', ...fields })]);
    return firstAlert(r.messages);
  };

  it('is the account the alert is about, an account id only, else none', async () => {
    // A public address is organization-wide: the attribute still names where the events came from.
    expect(accountAttribute(await alertFor({ 'source.ip': '203.0.113.9', 'cloud.account.id': B, 'cloudwatch.owner': A }))).toBe(B);
    expect(accountAttribute(await alertFor({ 'source.ip': '10.0.0.9', 'cloudwatch.owner': A }))).toBe(A);
    // A line's own JSON can name any "account": not an id, not an attribute — the logs' account is.
    expect(
      accountAttribute(await alertFor({ 'source.ip': '203.0.113.9', 'cloud.account.id': 'x'.repeat(300), 'cloudwatch.owner': A })),
    ).toBe(A);
    expect(accountAttribute(await alertFor({ 'source.ip': '10.0.0.9', 'cloud.account.id': 'x'.repeat(300), 'cloudwatch.owner': A }))).toBe(
      A,
    );
    expect(accountAttribute(await alertFor({ 'source.ip': '203.0.113.9' }))).toBe('none');
  });
});
