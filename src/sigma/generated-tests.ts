import { runDetectionRuleTests } from '../rules/rule-tests';
import { findNearMiss, findWitness } from '../rules/witness';
import type { FieldValue } from '../schema/event';
import { DetectionRule } from '../schema/rule';

/**
 * `import-sigma --with-tests`: a positive and a negative test for a converted rule, built from its
 * selection (see src/rules/witness.ts). Threshold rules repeat the witness `count` times (and one
 * time fewer for the negative); distinct rules vary the counted field. The tests are run before
 * they are written: a rule whose generated tests do not pass gets none, with the reason.
 */
export type GeneratedTests = { ok: true; tests: Record<string, unknown>[] } | { ok: false; reason: string };

export async function generateRuleTests(doc: Record<string, unknown>): Promise<GeneratedTests> {
  const parsed = DetectionRule.safeParse(doc);
  if (!parsed.success) return { ok: false, reason: 'the rule does not validate' };
  const rule = parsed.data;
  if (rule.sequence || rule.newTerm || rule.spike)
    return { ok: false, reason: 'sequence, new-term and spike rules need hand-written tests' };
  const witness = findWitness(rule.match);
  if (!witness.ok) return { ok: false, reason: witness.reason };
  const nearMiss = findNearMiss(rule.match, witness.event);
  const logGroup = exampleLogGroup(rule.logGroups);
  const tests = buildTests(rule, witness.event, nearMiss.ok ? nearMiss : undefined, logGroup);
  if (!tests.ok) return tests;

  const withTests = DetectionRule.safeParse({ ...doc, tests: tests.tests });
  if (!withTests.success) return { ok: false, reason: `generated tests do not validate: ${withTests.error.issues[0]?.message ?? ''}` };
  const results = await runDetectionRuleTests(withTests.data, { sources: [] });
  const failed = results.find((r) => !r.passed);
  if (failed) return { ok: false, reason: `generated test '${failed.test}' does not pass (${failed.detail})` };
  return tests;
}

function buildTests(
  rule: DetectionRule,
  event: Record<string, FieldValue>,
  nearMiss: { event: Record<string, FieldValue>; broken: string } | undefined,
  logGroup: string | undefined,
): GeneratedTests {
  const where = logGroup ? { logGroup } : {};
  if (rule.threshold) {
    const { count } = rule.threshold;
    const grouped = withGroupFields(event, rule.threshold.groupBy);
    const tests: Record<string, unknown>[] = [
      { name: `generated: ${count} matching events fire`, expect: 'fire', ...where, events: [{ repeat: count, event: grouped }] },
    ];
    if (count > 1)
      tests.push({
        name: `generated: ${count - 1} matching events stay quiet`,
        expect: 'none',
        ...where,
        events: [{ repeat: count - 1, event: grouped }],
      });
    else if (nearMiss)
      tests.push({ name: `generated: near miss (${nearMiss.broken}) stays quiet`, expect: 'none', ...where, events: [nearMiss.event] });
    return { ok: true, tests };
  }
  if (rule.distinct) {
    const { count } = rule.distinct;
    // Sigma's value_count names one field; a list of fields varies the first.
    const field = typeof rule.distinct.field === 'string' ? rule.distinct.field : (rule.distinct.field[0] ?? '');
    const grouped = withGroupFields(event, rule.distinct.groupBy);
    const values = Array.from({ length: count }, (_, i) => `${String(grouped[field] ?? 'value')}-${i + 1}`);
    return {
      ok: true,
      tests: [
        {
          name: `generated: ${count} distinct ${field} values fire`,
          expect: 'fire',
          ...where,
          events: [{ repeat: count, vary: { [field]: values }, event: grouped }],
        },
        {
          name: `generated: ${count - 1} distinct ${field} values stay quiet`,
          expect: 'none',
          ...where,
          events: [{ repeat: count, vary: { [field]: values.slice(0, count - 1) }, event: grouped }],
        },
      ],
    };
  }
  if (!nearMiss) return { ok: false, reason: 'no near-miss event found for a negative test' };
  return {
    ok: true,
    tests: [
      { name: 'generated: matching event fires', expect: 'fire', ...where, events: [event] },
      { name: `generated: near miss (${nearMiss.broken}) stays quiet`, expect: 'none', ...where, events: [nearMiss.event] },
    ],
  };
}

/** Stateful rules count per group: the test events need the group fields. */
function withGroupFields(event: Record<string, FieldValue>, groupBy: readonly string[]): Record<string, FieldValue> {
  const out = { ...event };
  for (const field of groupBy) out[field] ??= 'generated-entity';
  return out;
}

/** A concrete log group the rule applies to (its first pattern with wildcards filled in). */
function exampleLogGroup(patterns: readonly string[] | undefined): string | undefined {
  const first = patterns?.[0];
  return first?.replace(/\*/g, 'x').replace(/\?/g, 'x');
}
