import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { replay } from '../src/cli/replay';
import { MemoryStateStore } from '../src/engine/memory-store';
import { PassThroughSink } from '../src/engine/ports';
import { Normalizer } from '../src/parse/normalize';
import type { Alert, Message } from '../src/schema/alert';
import { eventWeight } from '../src/schema/event';
import { REALWORLD_LOGS } from './helpers';

/**
 * Public logs nobody on this project wrote (../shared/realworld, see its README for provenance
 * and licences): read here, never copied into the repository.
 */
const LOGS = REALWORLD_LOGS;
const present = existsSync(join(LOGS, 'OpenSSH_2k.log'));
if (!present) console.warn(`real-world logs not found at ${LOGS}: these tests are skipped (see ../shared/realworld/README.md)`);

const { pack } = loadPack(['rules'], { checkRegexes: false });
// When the lines count as delivered: syslog lines have no year, and one inferred from the test's
// own clock split these logs across two years on some days (OpenSSH_2k on every 9 December).
const RECEIVED_AT = Date.parse('2026-01-01T00:00:00Z');

async function replayLines(file: string, logGroup: string) {
  const alerts: Alert[] = [];
  // Every detection decided, the digested ones too (only published alerts reach onAlert).
  const detections: Alert[] = [];
  const passThrough = new PassThroughSink();
  const stats = await replay([join(LOGS, file)], {
    pack,
    store: new MemoryStateStore(),
    sink: {
      send: (messages: readonly Message[]) => {
        for (const m of messages) if (m.alert.kind === 'detection' && (m.publish || m.digest)) detections.push(m.alert);
        return passThrough.send(messages);
      },
    },
    logGroup,
    receivedAt: RECEIVED_AT,
    onAlert: (a) => void alerts.push(a),
  });
  return { alerts, detections, stats };
}

/** The log's own time span, read through the same normalizer. */
function span(file: string, logGroup: string) {
  const normalizer = new Normalizer(pack.sources);
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  const events = readFileSync(join(LOGS, file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((line, i) => {
      const r = normalizer.normalize(line, { logGroup, logStream: file, id: String(i), timestamp: RECEIVED_AT });
      if (!r.ok) return [];
      const t = Number(r.event['@timestamp']);
      first = Math.min(first, t);
      last = Math.max(last, t);
      return [r.event];
    });
  return { first, last, events };
}

describe.skipIf(!present)('real logs (../shared/realworld)', () => {
  it('OpenSSH_2k as /var/log/auth.log: ≥ 90% parsed, times from the lines, the 286-failure address detected and kept for review', async () => {
    const { alerts, detections, stats } = await replayLines('OpenSSH_2k.log', '/var/log/auth.log');
    const parse = stats.parse.totals;
    expect(parse.events).toBe(2000);
    expect((parse.events - parse.unparsed) / parse.events).toBeGreaterThanOrEqual(0.9);
    expect(parse.timeFallback).toBe(0);

    const { first, last, events } = span('OpenSSH_2k.log', '/var/log/auth.log');
    expect(last - first).toBeGreaterThan(4 * 3_600_000); // a four-hour log, not two seconds
    for (const a of detections) {
      for (const t of [a.firstSeen, a.lastSeen, a.window.start]) expect(Date.parse(t), `${a.ruleId} ${t}`).toBeGreaterThanOrEqual(first);
      for (const t of [a.firstSeen, a.lastSeen]) expect(Date.parse(t), `${a.ruleId} ${t}`).toBeLessThanOrEqual(last);
      expect(Date.parse(a.window.end)).toBeLessThanOrEqual(last + 1000);
      for (const e of a.events) expect(Date.parse(e.timestamp)).toBeGreaterThanOrEqual(first);
    }

    // 286 failed attempts from one address, counting `message repeated N times` lines as N.
    const failures = events.filter(
      (e) => e['source.ip'] === '183.62.140.253' && e['event.action'] === 'ssh_login' && e['event.outcome'] === 'failure',
    );
    expect(failures.reduce((n, e) => n + eventWeight(e), 0)).toBe(286);
    const brute = detections.filter((a) => a.ruleId === 'ssh.auth_failures' && a.entity.value === '183.62.140.253');
    expect(brute.length).toBeGreaterThanOrEqual(1);
    // The alert's window is the log's own minutes, where those failures happened.
    const firstFailure = Math.min(...failures.map((e) => Number(e['@timestamp'])));
    expect(Date.parse(brute[0]?.firstSeen ?? '')).toBeGreaterThanOrEqual(firstFailure);
    expect(Date.parse(brute[0]?.lastSeen ?? '') - Date.parse(brute[0]?.window.start ?? '')).toBeLessThanOrEqual(5 * 60_000);

    // A public server's day: internet addresses guessing passwords, none succeeding. Each is
    // detected and listed in the review digest; nobody is notified or paged about any of them.
    expect(new Set(detections.filter((a) => a.ruleId === 'ssh.auth_failures').map((a) => a.entity.value)).size).toBeGreaterThanOrEqual(6);
    expect(alerts.filter((a) => a.tier !== 'review').map((a) => `${a.ruleId} ${a.entity.value}`)).toEqual([]);
    const digested = alerts.flatMap((a) => a.digest ?? []).filter((d) => d.ruleId === 'ssh.auth_failures');
    expect(digested.flatMap((d) => d.entities.map((e) => e.value))).toContain('183.62.140.253');
    // One digest per hour of the log at most (4.5 hours), not a message per address.
    expect(alerts.length).toBeLessThanOrEqual(5);
  });

  it('Linux_2k as /var/log/secure: the legacy sshd(pam_unix) prefix is read; six weeks of internet hosts guessing (PAM and klogind) are each in a digest, none notifies or pages', async () => {
    const { alerts, detections, stats } = await replayLines('Linux_2k.log', '/var/log/secure');
    expect(stats.parse.totals.timeFallback).toBe(0);
    const { events } = span('Linux_2k.log', '/var/log/secure');
    const from = events.filter((e) => e['source.ip'] === '150.183.249.110' && e['event.action'] === 'pam_auth_failure');
    expect(from).toHaveLength(80);
    const pam = detections.filter((a) => a.ruleId === 'auth.pam_brute_force');
    expect(pam.map((a) => a.entity.value)).toContain('150.183.249.110');
    // Every PAM detection of the six weeks is listed in a review digest: none was lost to the
    // replay's payloads spanning weeks (the late-arrival grace), and none notified anyone.
    const digested = new Set(
      alerts.flatMap((a) => a.digest ?? []).flatMap((d) => (d.ruleId === 'auth.pam_brute_force' ? d.entities.map((e) => e.value) : [])),
    );
    expect([...new Set(pam.map((a) => a.entity.value))].filter((h) => !digested.has(h))).toEqual([]);
    expect(digested.size).toBeGreaterThanOrEqual(25);
    // And how much each did: 150.183.249.110's 80 failures in 22 minutes are one detection, like a
    // host's few, but the digest says how many occurred after the alert opened, and lists it first.
    const rows = alerts.flatMap((a) => a.digest ?? []).filter((d) => d.ruleId === 'auth.pam_brute_force');
    const heavy = rows.find((d) => d.entities.some((e) => e.value === '150.183.249.110'));
    expect(heavy?.entities[0]).toMatchObject({ value: '150.183.249.110', detections: 1 });
    expect(heavy?.entities[0]?.occurrences).toBeGreaterThan(50);
    expect(heavy?.entities[1]?.occurrences).toBeLessThan(10);
    expect(alerts.filter((a) => a.tier !== 'review').map((a) => `${a.ruleId} ${a.entity.value}`)).toEqual([]);
    // klogind's burst (23 Kerberos failures from one address in two seconds) is a host login daemon's, like PAM's: reviewed, not paged.
    expect(digested.has('163.27.187.39')).toBe(true);
    // Each digest is dated by the detections it lists, though the log is quiet for days between
    // them: a replay delivers a run when it starts (delivered at the catch-up sweep before it,
    // hours earlier, a run read as a log running ahead and was digested in an hour before its events).
    const detectedAt = new Set(detections.map((a) => a.lastSeen));
    const digests = alerts.filter((a) => a.kind === 'digest');
    expect(digests.length).toBeGreaterThanOrEqual(20);
    expect(digests.map((d) => d.firstSeen).filter((t) => !detectedAt.has(t))).toEqual([]);
  });

  it('apache_access_10k (a real site: browsers, crawlers, feed readers): ≥ 99% parsed and the shipped pack stays quiet', async () => {
    const { alerts, detections, stats } = await replayLines('apache_access_10k.log', '/app/web/access');
    const parse = stats.parse.totals;
    // Its scanners each ask for a few paths (`/wp-login.php`, 213 not-found answers in four days,
    // at most 14 to one address in a minute): no content-discovery scan, not even for review.
    expect(detections.filter((a) => a.ruleId === 'web.content_discovery')).toEqual([]);
    expect(parse.events).toBe(10_000);
    expect((parse.events - parse.unparsed) / parse.events).toBeGreaterThanOrEqual(0.99);
    expect(parse.timeFallback).toBe(0);
    expect(alerts.filter((a) => a.tier === 'respond')).toEqual([]);
    expect(alerts.filter((a) => a.tier === 'notify').length).toBeLessThanOrEqual(3);
  });
});
