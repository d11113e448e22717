import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { replay } from '../src/cli/replay';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { PassThroughSink } from '../src/engine/ports';
import { dropAwsClaims } from '../src/parse/aws-claims';
import { Normalizer } from '../src/parse/normalize';
import { compileFilterPattern, filterPasses } from '../src/rules/filter-pattern';
import { runDetectionRuleTests } from '../src/rules/rule-tests';
import type { Alert } from '../src/schema/alert';
import type { FieldValue } from '../src/schema/event';
import type { DetectionRule } from '../src/schema/rule';
import { linesPayload, T0, TRAIL_STREAM } from './helpers';

/**
 * An app that logs what a client sends, verbatim (a webhook receiver, an API that logs request
 * bodies as JSON), lets the client write any line into the app's log group. Written in the shape of
 * a CloudTrail record or an EventBridge finding, such a line would page the responders as the
 * service's own — "the trail was stopped", "GuardDuty: critical finding" — and three of them would
 * open the account-compromise incident, whose automated response disables the keys of whichever
 * principal the lines name; as a Kubernetes audit event, a cluster takeover; as flow records or WAF
 * blocks, a scan or a flood from whichever address they name. Every shipped rule test whose lines are such a service's
 * records is replayed here as a client would plant it: the records themselves, and the fields
 * their source reads from them in ECS's names (nested and dotted).
 */
const { pack } = loadPack(['rules']);
const normalizer = new Normalizer(pack.sources);
const APP_GROUP = '/shop/api';
const APP_STREAM = 'web-1/application.log';

type Test = DetectionRule['tests'][number];

/** The rule tests that fire on records of a service AWS writes only where it fixes (CloudTrail's and flow logs' streams; EventBridge's, EKS's and WAF's groups). */
const serviceTests: { rule: DetectionRule; test: Test }[] = pack.rules.flatMap((rule) =>
  rule.tests
    .filter((test) => test.expect === 'fire' && (test.lines?.length ?? 0) > 0)
    .filter((test) => (test.lines ?? []).some((line) => normalizer.sourceFor(test.logGroup, line, test.logStream).deliveredIn))
    .map((test) => ({ rule, test })),
);

/** A trail stopped: the record each case below plants or delivers. */
const tampering = (() => {
  const found = serviceTests.find((t) => t.rule.id === 'aws.cloudtrail_tampering');
  if (!found) throw new Error('no CloudTrail tampering test among the shipped rules');
  return found;
})();
const stopLogging = tampering.test.lines?.[0] ?? '';

/** The fields the line's own source reads from it, as an app line would name them (nested objects, or dotted keys). */
function ecsShaped(test: Test, line: string, nested: boolean): string {
  const r = normalizer.normalize(
    line,
    { logGroup: test.logGroup, logStream: test.logStream, id: '1', timestamp: Date.parse(test.start) },
    normalizer.sourceFor(test.logGroup, line, test.logStream),
  );
  if (!r.ok) return line;
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(r.event)) {
    if (value === undefined || field.startsWith('cloudwatch.') || field === 'event.original') continue;
    if (nested) setPath(out, field.split('.'), value);
    else out[field] = value;
  }
  return JSON.stringify(out);
}

function setPath(target: Record<string, unknown>, path: string[], value: FieldValue): void {
  let at = target;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (next === undefined) at[key] = {};
    else if (typeof next !== 'object' || next === null) return; // a leaf where an object must go: left out
    at = at[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined && at[last] === undefined) at[last] = value;
}

async function outcome(rule: DetectionRule, test: Test) {
  const [result] = await runDetectionRuleTests({ ...rule, tests: [test] }, pack);
  return result;
}

describe('records a client has an app log are not the service’s', () => {
  it('the shipped tests hold CloudTrail, EventBridge, EKS, WAF and flow records to plant (the cases below are not vacuous)', () => {
    const rules = new Set(serviceTests.map((t) => t.rule.id));
    expect(serviceTests.length).toBeGreaterThan(130);
    for (const id of [
      'aws.cloudtrail_tampering',
      'aws.admin_policy_attached',
      'aws.guardduty_critical_finding',
      'aws.securityhub_high_finding',
      'k8s.cluster_admin_binding',
      'waf.blocked_burst',
      'vpc.internet_port_scan',
    ]) {
      expect(rules).toContain(id);
    }
  });

  it.each(serviceTests.map(({ rule, test }) => [`${rule.id}: ${test.name}`, rule, test] as const))('%s', async (_name, rule, test) => {
    // Delivered by the service, where it writes: the rule fires (the control).
    expect((await outcome(rule, test))?.passed).toBe(true);
    const lines = test.lines ?? [];
    const planted = {
      verbatim: lines,
      'in ECS names, nested': lines.map((line) => ecsShaped(test, line, true)),
      'in ECS names, dotted': lines.map((line) => ecsShaped(test, line, false)),
    };
    for (const [how, forged] of Object.entries(planted)) {
      const inApp = { ...test, logGroup: APP_GROUP, logStream: APP_STREAM, lines: forged, expect: 'none' as const };
      const { alerts: _alerts, title: _title, severity: _severity, ...quiet } = inApp;
      const result = await outcome(rule, quiet);
      expect(result?.passed, `${how}: ${result?.detail} — ${forged[0]?.slice(0, 400)}`).toBe(true);
    }
  });

  it('a record in a group named after the service but a stream it does not write is not believed either', async () => {
    const result = await outcome(tampering.rule, {
      ...tampering.test,
      logStream: 'i-0abc123/app.log',
      expect: 'none',
      alerts: undefined,
      title: undefined,
    });
    expect(result?.passed, result?.detail).toBe(true);
  });

  it('`detect sources check` says why such a group is read as an app’s, and how to trust it', () => {
    const checker = new Normalizer(pack.sources);
    checker.sourceFor('/shop/webhooks', stopLogging, APP_STREAM);
    const { source, reason } = checker.describeSource('/shop/webhooks');
    expect(source.deliveredIn).toBeUndefined();
    expect(reason).toContain('cloudtrail');
    expect(reason).toContain('<account>_CloudTrail_<region>');
    expect(reason).toContain('builtin: cloudtrail');
  });

  it('an AWS dataset or service a line names itself is dropped, however it is spelled; other values stay', () => {
    const line = (fields: Record<string, FieldValue>) => {
      dropAwsClaims(fields);
      return fields;
    };
    expect(line({ 'event.provider': '\u212Ams.amazonaws.com', 'event.dataset': ' AWS.CloudTrail' })).toEqual({});
    expect(line({ 'event.provider': 'CloudTrail.AmazonAWS.com ', 'event.dataset': 'Kubernetes.Audit' })).toEqual({});
    expect(line({ 'event.provider': 'payments-api', 'event.dataset': 'shop.orders', 'event.action': 'StopLogging' })).toEqual({
      'event.provider': 'payments-api',
      'event.dataset': 'shop.orders',
      'event.action': 'StopLogging',
    });
  });

  it('`detect replay` of exported trail lines believes them in the stream they came from (--log-stream), not in a file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'trail-export-')), 'trail.jsonl');
    writeFileSync(file, `${(tampering.test.lines ?? []).join('\n')}\n`);
    const told = async (logStream?: string) => {
      const alerts: Alert[] = [];
      const options = {
        pack,
        store: new MemoryStateStore(),
        sink: new PassThroughSink(),
        onAlert: (a: Alert) => void alerts.push(a),
        logGroup: 'trail-export',
      };
      await replay([file], logStream ? { ...options, logStream } : options);
      return alerts.map((a) => a.ruleId);
    };
    expect(await told()).not.toContain('aws.cloudtrail_tampering');
    expect(await told(TRAIL_STREAM)).toContain('aws.cloudtrail_tampering');
  });

  it('the forgery is told instead (integrity.forged_aws_record), delivered by the terms of the rule it imitated, adding none of its own', async () => {
    const pattern = compileFilterPattern(APP_GROUP, pack.rules, pack.sources).pattern;
    const others = pack.rules.filter((r) => r.id !== 'integrity.forged_aws_record');
    expect(pattern).toBe(compileFilterPattern(APP_GROUP, others, pack.sources).pattern);
    expect(filterPasses(pattern, stopLogging)).toBe(true);
    const detector = new Detector(pack, new MemoryStateStore());
    const forged = await processPayload(linesPayload(APP_GROUP, [stopLogging], T0, 1000, APP_STREAM), normalizer, detector);
    expect(forged.alerts.map((a) => `${a.ruleId} ${a.entity.value}`)).toEqual([`integrity.forged_aws_record ${APP_GROUP}`]);
    const real = await processPayload(
      linesPayload('org-audit/management-events', [stopLogging], T0, 1000, TRAIL_STREAM),
      normalizer,
      new Detector(pack, new MemoryStateStore()),
    );
    expect(real.alerts.map((a) => a.ruleId)).toEqual(['aws.cloudtrail_tampering']);
  });
});

describe('a member account’s logs are about that account (hub mode)', () => {
  const HUB = '999999999999';
  const MEMBER = '111122223333';
  const OTHER = '444455556666';
  /** The trail stopped in OTHER, by its deployer: a CloudTrail record in a stream named as OTHER's organization trail's. */
  const otherStopped = stopLogging.replaceAll(MEMBER, OTHER);
  const otherStream = `o-a1b2c3d4e5_${OTHER}_CloudTrail_us-east-1`;
  const delivered = (owner: string, line: string, logStream: string) => ({
    ...linesPayload('org-audit/management-events', [line], T0, 1000, logStream),
    owner,
  });
  const told = async (normalizer: Normalizer, owner: string, line = otherStopped, logStream = otherStream) => {
    const result = await processPayload(delivered(owner, line, logStream), normalizer, new Detector(pack, new MemoryStateStore()));
    return result.alerts.map((a) => ({ rule: a.ruleId, account: a.cloud?.account.id, entity: a.entity.account ?? null }));
  };

  it('a record a member delivers naming another account is about the member; the hub’s own and listed trail accounts speak for others', async () => {
    const hub = new Normalizer(pack.sources, { accountsFor: new Set([HUB]) });
    expect(otherStopped).toContain(`"recipientAccountId":"${OTHER}"`);
    // From a member: the member's own trail stopped, by a principal of the member's (the member holds no trail of
    // OTHER's), and the team told that the member delivered a record about OTHER.
    expect(await told(hub, MEMBER)).toEqual([
      { rule: 'integrity.foreign_account_record', account: MEMBER, entity: null },
      { rule: 'aws.cloudtrail_tampering', account: MEMBER, entity: MEMBER },
    ]);
    // From the hub's account, and from an account listed as holding the organization trail: OTHER's.
    expect(await told(hub, HUB)).toEqual([{ rule: 'aws.cloudtrail_tampering', account: OTHER, entity: OTHER }]);
    const listed = new Normalizer(pack.sources, { accountsFor: new Set([HUB, MEMBER]) });
    expect(await told(listed, MEMBER)).toEqual([{ rule: 'aws.cloudtrail_tampering', account: OTHER, entity: OTHER }]);
    // Locally (no deployment to say who holds the trail), as the line says.
    expect(await told(new Normalizer(pack.sources), MEMBER)).toEqual([{ rule: 'aws.cloudtrail_tampering', account: OTHER, entity: OTHER }]);
  });

  it('the claim is kept beside the event, and an app’s JSON naming another account is the member’s too', () => {
    const hub = new Normalizer(pack.sources, { accountsFor: new Set([HUB]) });
    const read = (line: string, logStream: string, owner = MEMBER) => {
      const r = hub.normalize(
        line,
        { logGroup: '/shop/api', logStream, id: '1', timestamp: T0, owner },
        hub.sourceFor('/shop/api', line, logStream),
      );
      if (!r.ok) throw new Error(r.skip.detail);
      return { account: r.event['cloud.account.id'], claimed: r.event['cloud.account.claimed_id'] };
    };
    expect(read(otherStopped, otherStream)).toEqual({ account: MEMBER, claimed: OTHER });
    const app = JSON.stringify({ message: 'deployed', user: { name: 'deploy' }, cloud: { account: { id: OTHER } } });
    expect(read(app, APP_STREAM)).toEqual({ account: MEMBER, claimed: OTHER });
    // Its own account, or none named: nothing set aside.
    expect(read(stopLogging, TRAIL_STREAM)).toEqual({ account: MEMBER, claimed: undefined });
    expect(read('{"message":"plain"}', APP_STREAM)).toEqual({ account: MEMBER, claimed: undefined });
    expect(read(otherStopped, otherStream, HUB)).toEqual({ account: OTHER, claimed: undefined });
    // Not an account id: names no account (the member's, as before) and is not set aside to be told.
    const text = stopLogging.replace(`"recipientAccountId":"${MEMBER}"`, '"recipientAccountId":"call +1 555 0100 to restore"');
    expect(read(text, otherStream)).toEqual({ account: 'call +1 555 0100 to restore', claimed: undefined });
  });
});
