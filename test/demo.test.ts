import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/cli/demo';
import { jsonSchema } from '../src/cli/json-schemas';
import { generateDemo } from '../src/demo/generate';
import type { Alert } from '../src/schema/alert';

const mentions = (a: Alert, entity: string) => a.entity.value === entity || Object.values(a.related).some((v) => v.includes(entity));

describe('demo replay through detectors and the local state machine', () => {
  const demo = generateDemo();
  let alerts: Alert[] = [];
  const out = mkdtempSync(join(tmpdir(), 'demo-'));
  it('runs the whole pipeline', async () => {
    alerts = await runDemo(['rules'], out, 'memory');
    expect(alerts.length).toBeGreaterThan(0);
  });
  it('writes alerts a subscriber can check against the published schema (docs/schemas/alert.schema.json): detections, incidents, digests, resolved notices', () => {
    const validate = new Ajv2020({ strict: false, allErrors: true }).compile(jsonSchema('alert'));
    const kinds = new Set(alerts.map((a) => `${a.kind} ${a.status}`));
    expect([...kinds]).toEqual(expect.arrayContaining(['detection open', 'detection resolved', 'incident open', 'digest open']));
    const invalid = alerts.flatMap((a) => (validate(JSON.parse(JSON.stringify(a))) ? [] : [{ id: a.id, errors: validate.errors }]));
    expect(invalid).toEqual([]);
    // And it is a check: an alert without its tier, or with a tier of its own, is not valid.
    const { tier: _tier, ...untiered } = JSON.parse(JSON.stringify(alerts[0]));
    expect(validate(untiered)).toBe(false);
    expect(validate({ ...JSON.parse(JSON.stringify(alerts[0])), tier: 'page' })).toBe(false);
  });
  it('tells responders about every attack behaviour: published, or listed in a review digest', () => {
    const fired = new Set(alerts.filter((a) => a.kind === 'detection').map((a) => `${a.ruleId} ${a.entity.value}`));
    for (const d of alerts.filter((a) => a.kind === 'digest'))
      for (const r of d.digest ?? []) for (const e of r.entities) fired.add(`${r.ruleId} ${e.value}`);
    const missing = demo.expected.filter((e) => !fired.has(`${e.ruleId} ${e.entity}`));
    expect(missing).toEqual([]);
  });
  it('publishes review-tier detections as digests and tells when an ongoing condition resolved', () => {
    const digests = alerts.filter((a) => a.kind === 'digest');
    expect(digests.length).toBeGreaterThanOrEqual(1);
    expect(digests.every((d) => d.tier === 'review' && (d.digest?.length ?? 0) > 0)).toBe(true);
    expect(alerts.filter((a) => a.kind === 'detection' && a.tier === 'review')).toEqual([]);
    const resolved = alerts.filter((a) => a.status === 'resolved');
    expect(resolved.length).toBeGreaterThanOrEqual(1);
    // A resolved notice carries the id of the alert that opened, so chat and tickets thread on it.
    for (const r of resolved) expect(alerts.some((a) => a.id === r.id && a.status === 'open')).toBe(true);
  });
  it('raises the insider-threat incident in the respond tier with members and risk ≥ 9, and the other incidents', () => {
    const insider = alerts.find((a) => a.kind === 'incident' && a.ruleId === 'corr.insider_threat');
    expect(insider).toMatchObject({ tier: 'respond', category: 'insider_threat', entity: { field: 'user.name', value: 'r.ortega' } });
    expect(insider?.riskScore).toBeGreaterThanOrEqual(9);
    expect(insider?.members?.length).toBeGreaterThanOrEqual(3);
    const incidents = alerts
      .filter((a) => a.kind === 'incident')
      .map((a) => `${a.ruleId} ${a.entity.value}`)
      .sort();
    expect(incidents).toEqual(demo.expectedIncidents.map((e) => `${e.ruleId} ${e.entity}`).sort());
  });
  it('pages once per entity: m.silva pages once, her other respond-tier detections told as part of it; the spray address pages once', () => {
    const folded = alerts
      .filter((a) => a.foldedInto && a.status === 'open')
      .map((a) => `${a.ruleId} ${a.entity.value} → ${a.foldedInto?.ruleId} (${a.tier})`)
      .sort();
    // m.silva's policy attachment and another administrator's password reset came after the
    // incident, which took her page (the correlate task shares the detector's store, as the
    // deployed functions share one table).
    expect(folded).toEqual([
      'aws.admin_policy_attached m.silva → corr.aws_account_compromise (notify)',
      'aws.console_password_reset_for_other_user m.silva → corr.aws_account_compromise (notify)',
    ]);
    const paged = alerts.filter((a) => a.tier === 'respond' && a.status === 'open' && a.kind === 'detection');
    expect(paged.filter((a) => a.entity.value === '192.0.2.66').map((a) => a.ruleId)).toEqual(['auth.password_spray']);
    // Its brute force (20 failures, far below the rule's 200-failure step) is the team's.
    const bruteForce = alerts.filter((a) => a.ruleId === 'auth.brute_force_source' && a.entity.value === '192.0.2.66');
    expect(bruteForce.map((a) => [a.status, a.tier, a.severity])).toEqual([['open', 'notify', 'medium']]);
  });
  it('stays quiet on the benign timelines', () => {
    const noisy = alerts.filter((a) => demo.benignEntities.some((b) => mentions(a, b)));
    expect(noisy.map((a) => `${a.ruleId} ${a.entity.value}`)).toEqual([]);
  });
  it('never leaks the secrets planted in the demo logs', () => {
    const json = JSON.stringify(alerts) + readFileSync(join(out, 'securityhub-findings.jsonl'), 'utf8');
    for (const secret of ['Winter2025!', '9f8e7d6c5b4a', 'abcdef0123456789abcdef', 'eyJzdWIiOiJyLm9ydGVnYSJ9'])
      expect(json).not.toContain(secret);
  });
  it('shows the Security Hub findings securityHubExport would import: one per told detection and incident, as of its last message', () => {
    const findings = readFileSync(join(out, 'securityhub-findings.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { Id: string; RecordState: string; GeneratorId: string; Types: string[] });
    const told = alerts.filter((a) => a.kind !== 'digest' && a.tier !== 'review' && !a.ruleId.startsWith('sentinel.'));
    expect(findings.map((f) => f.Id).sort()).toEqual([...new Set(told.map((a) => a.id))].sort());
    // A resolved alert's finding is archived; the insider-threat incident is one of them, typed by its tactics.
    const resolved = new Set(told.filter((a) => a.status === 'resolved').map((a) => a.id));
    expect(
      findings
        .filter((f) => f.RecordState === 'ARCHIVED')
        .map((f) => f.Id)
        .sort(),
    ).toEqual([...resolved].sort());
    const insider = findings.find((f) => f.GeneratorId === 'sentinel/corr.insider_threat');
    expect(insider?.Types.length).toBeGreaterThan(0);
  });
});
