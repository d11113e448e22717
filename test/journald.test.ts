import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { JOURNAL_FIELDS, JOURNAL_MARKERS, journalRecord } from '../src/parse/journald';
import { Normalizer } from '../src/parse/normalize';
import { linesPayload, normalizedLine } from './helpers';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const RECEIVED = Date.parse('2026-03-03T12:00:00Z');
const norm = (line: string) => normalizedLine(normalizer, line, { logGroup: '/ec2/journal', logStream: 'i-0abc', timestamp: RECEIVED });

/** Twelve journal records of sshd failures from one address, a second apart (with extra journal fields). */
const sshdFailures = (ip: string, extra: Record<string, string> = {}) =>
  Array.from({ length: 12 }, (_, i) =>
    JSON.stringify({
      __REALTIME_TIMESTAMP: String((Date.parse('2026-03-03T03:12:00Z') + i * 1000) * 1000),
      _HOSTNAME: 'bastion-1',
      SYSLOG_IDENTIFIER: 'sshd',
      _PID: String(2231 + i),
      MESSAGE: `Failed password for invalid user u${i} from ${ip} port ${40000 + i} ssh2`,
      ...extra,
    }),
  );

const SSHD = 'Failed password for invalid user oracle from 10.0.2.15 port 52144 ssh2';

describe('journald records (Amazon Linux 2023: the journal is the system log)', () => {
  it('journalctl -o json: read as the syslog line it stands for, with its own time, unit, executable and priority', () => {
    const r = norm(
      JSON.stringify({
        __REALTIME_TIMESTAMP: '1772539930123456',
        _HOSTNAME: 'ip-10-0-1-5.ec2.internal',
        SYSLOG_IDENTIFIER: 'sshd',
        _PID: '2231',
        _COMM: 'sshd',
        _EXE: '/usr/sbin/sshd',
        _SYSTEMD_UNIT: 'sshd.service',
        PRIORITY: '6',
        MESSAGE: SSHD,
      }),
    );
    expect(r.parsed).toBe(true);
    expect(r.timeFallback).toBe(false);
    expect({ ...r.event }).toMatchObject({
      'event.action': 'ssh_login',
      'event.outcome': 'failure',
      'user.name': 'oracle',
      'source.ip': '10.0.2.15',
      'host.name': 'ip-10-0-1-5.ec2.internal',
      'process.name': 'sshd',
      'process.pid': 2231,
      '@timestamp': 1_772_539_930_123,
      'systemd.unit': 'sshd.service',
      'process.executable': '/usr/sbin/sshd',
      'log.level': 'info',
    });
  });

  it("Fluent Bit's systemd input (no time of its own: CloudWatch's) and Vector's renamed message and host", () => {
    const fluent = norm(JSON.stringify({ _HOSTNAME: 'web-1', SYSLOG_IDENTIFIER: 'sshd', _PID: 7, MESSAGE: SSHD }));
    expect(fluent.event['@timestamp']).toBe(RECEIVED);
    expect(fluent.timeFallback).toBe(true);
    expect(fluent.event['event.action']).toBe('ssh_login');
    const vector = norm(JSON.stringify({ host: 'web-2', SYSLOG_IDENTIFIER: 'sshd', _PID: '8', message: SSHD }));
    expect({ ...vector.event }).toMatchObject({ 'host.name': 'web-2', 'process.pid': 8, 'user.name': 'oracle' });
  });

  it("the fields a record keeps beside its syslog line are the ones the subscription filter's field model lists", () => {
    const full = {
      MESSAGE: SSHD,
      _COMM: 'sshd',
      SYSLOG_IDENTIFIER: 'sshd',
      _HOSTNAME: 'h',
      _SYSTEMD_UNIT: 'sshd.service',
      _EXE: '/usr/sbin/sshd',
      PRIORITY: '3',
    };
    for (const value of [full, { ...full, _COMM: undefined }, { ...full, SYSLOG_IDENTIFIER: undefined }]) {
      const record = journalRecord(value, RECEIVED);
      expect(record).toBeDefined();
      for (const key of Object.keys(record?.fields ?? {})) expect([...JOURNAL_FIELDS, 'log.level']).toContain(key);
      // Every record names its program under a key the filter looks for.
      expect(JOURNAL_MARKERS.some((m) => JSON.stringify(value).includes(m))).toBe(true);
    }
    expect(journalRecord({ MESSAGE: SSHD, _HOSTNAME: 'h' }, RECEIVED)).toBeUndefined();
  });

  it('a priority stands for the level of a line that names none: err is an error', () => {
    const r = norm(
      JSON.stringify({ _HOSTNAME: 'web-1', SYSLOG_IDENTIFIER: 'myapp', PRIORITY: '3', MESSAGE: 'database connection refused' }),
    );
    expect(r.event['log.level']).toBe('error');
    expect(r.event['process.name']).toBe('myapp');
  });

  it('a priority that names no level (empty, null, a boolean, out of range) leaves the level unset, not fatal', () => {
    for (const PRIORITY of ['', null, false, true, [], '3.5', ' ', '12', 9, -1]) {
      const r = norm(JSON.stringify({ _HOSTNAME: 'web-1', SYSLOG_IDENTIFIER: 'myapp', PRIORITY, MESSAGE: 'cache warmed' }));
      expect(r.event['process.name'], JSON.stringify(PRIORITY)).toBe('myapp');
      expect(r.event['log.level'], JSON.stringify(PRIORITY)).toBeUndefined();
    }
    const numeric = norm(JSON.stringify({ _HOSTNAME: 'web-1', SYSLOG_IDENTIFIER: 'myapp', PRIORITY: 4, MESSAGE: 'disk 91% full' }));
    expect(numeric.event['log.level']).toBe('warn');
  });

  it('not journald: an app JSON line with a message, and a record whose message is bytes', () => {
    const app = norm(JSON.stringify({ level: 'info', message: 'hello', user: { id: 'u1' } }));
    expect(app.event['user.id']).toBe('u1');
    expect(app.event['process.name']).toBeUndefined();
    const bytes = norm(JSON.stringify({ SYSLOG_IDENTIFIER: 'sshd', MESSAGE: [70, 97, 105, 108] }));
    expect(bytes.event.SYSLOG_IDENTIFIER).toBe('sshd'); // kept as the JSON it is
    expect(bytes.event['event.action']).toBeUndefined();
  });

  it('a line that says it is sshd but was written by logger is read as the writer’s: it frames nobody, and is reported', async () => {
    const lines = sshdFailures('10.0.2.99', { _COMM: 'logger' });
    const one = norm(lines[0] ?? '');
    expect({ ...one.event }).toMatchObject({ 'process.name': 'logger', 'log.syslog.appname': 'sshd' });
    expect(one.event['event.action']).toBeUndefined();
    const r = await processPayload(linesPayload('/ec2/journal', lines), normalizer, new Detector(pack, new MemoryStateStore()));
    expect(r.alerts.map((a) => `${a.ruleId} ${a.entity.value}`)).toEqual(['integrity.forged_auth_log bastion-1']);
  });

  it('a brute force logged by journald fires the same rule as one in /var/log/secure', async () => {
    const lines = sshdFailures('10.0.2.15');
    const r = await processPayload(linesPayload('/ec2/journal', lines), normalizer, new Detector(pack, new MemoryStateStore()));
    expect(r.alerts.map((a) => `${a.ruleId} ${a.entity.value}`)).toContain('ssh.internal_auth_failures 10.0.2.15');
  });
});
