import { existsSync } from 'node:fs';
import { ruleTitleValues, titleNames } from '../alerts/build';
import { runbookFile } from '../alerts/runbook-link';
import { BUILTIN_SOURCES } from '../parse/aws-sources';
import { BUILTIN_PARSER_NAMES, builtinPatterns, SYSLOG_HEADER } from '../parse/builtin-parsers';
import { DEFAULT_FIELD_MAP } from '../parse/field-maps';
import { FLOW_LOG_OUTPUT_FIELDS } from '../parse/flow-log-format';
import { KEYCLOAK_FIELDS } from '../parse/keycloak';
import { captureNames } from '../parse/line-parser';
import { Normalizer } from '../parse/normalize';
import { CoreFields } from '../schema/event';
import { type DetectionRule, STATEFUL_CLAUSES } from '../schema/rule';
import type { RuleFileError, RulePack } from './rule-pack';
import { compileSelection } from './selection';

/** Fields the normalizer computes for every event, whatever its source. */
const COMPUTED = [
  ...Object.values(CoreFields),
  'event.original',
  'event.hour_utc',
  'event.weekday_utc',
  'event.hour_local',
  'event.weekday_local',
  'service.name',
  'event.dataset',
  'url.path',
  'event.outcome',
  'log.level',
  'log.context',
  'source.ip',
  'source.domain',
  // The load balancer a request came through, when X-Forwarded-For named the client.
  'source.proxy.address',
  'http.request.method',
  'http.request.malformed',
  'http.request.line',
  'url.original',
  'http.version',
  // From the payload owner (every source): rules may scope by account.
  'cloud.account.id',
  // The lines under a multi-line event's first line; the container a runtime's wrapper names.
  'error.stack_trace',
  'container.name',
];

function groupFields(pattern: string): string[] {
  return captureNames(pattern).flatMap((n) => (n ? [n.replaceAll('__', '.')] : []));
}

/** Every field some source, parser or rule test of the pack can produce. */
export function knownFields(pack: Pick<RulePack, 'rules' | 'sources'>): Set<string> {
  const known = new Set<string>([
    ...COMPUTED,
    ...DEFAULT_FIELD_MAP.map(([, to]) => to),
    ...groupFields(SYSLOG_HEADER),
    // What Keycloak's event lists compute (its parser, and JSON logging in any source).
    ...KEYCLOAK_FIELDS,
    // Any flow log format's fields: a custom format may name any of them.
    ...FLOW_LOG_OUTPUT_FIELDS,
  ]);
  for (const name of BUILTIN_PARSER_NAMES) {
    for (const p of builtinPatterns(name)) {
      for (const f of groupFields(p.pattern)) known.add(f);
      for (const f of Object.keys(p.fields)) known.add(f);
    }
  }
  for (const { source } of pack.sources) {
    for (const to of Object.values(source.fieldMap)) known.add(to);
    for (const from of Object.keys(source.fieldMap)) known.add(from);
    for (const f of Object.keys(source.valueMap)) known.add(f);
    for (const l of source.lookups) known.add(l.to);
    for (const f of Object.keys(source.fields)) known.add(f);
    for (const p of source.customParsers) {
      for (const f of groupFields(p.pattern)) known.add(f);
      for (const f of Object.keys(p.fields)) known.add(f);
    }
  }
  for (const b of BUILTIN_SOURCES) {
    for (const [from, to] of Object.entries(b.definition.fieldMap)) known.add(from).add(to);
    for (const f of b.derives) known.add(f);
  }
  // A rule test using a field shows some app really logs it: its events as written, and its raw
  // lines as the normalizer reads them (built-in derivations included).
  const normalizer = new Normalizer(pack.sources);
  for (const rule of pack.rules) {
    for (const test of rule.tests) {
      for (const item of test.events ?? []) {
        const fields = item.kind === 'repeat' ? { ...item.event, ...item.vary } : item.fields;
        for (const f of flatKeys(fields)) known.add(f);
      }
      for (const line of test.lines ?? []) {
        const r = normalizer.normalize(
          line,
          { logGroup: test.logGroup, logStream: test.logStream, id: 'x', timestamp: 0 },
          normalizer.sourceFor(test.logGroup, line, test.logStream),
        );
        if (r.ok) for (const f of Object.keys(r.event)) known.add(f);
      }
    }
  }
  return known;
}

function flatKeys(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? flatKeys(v as Record<string, unknown>, key) : [key];
  });
}

/** The fields a rule reads: its selections, grouping and entity fields. */
export function ruleFields(rule: DetectionRule): { field: string; path: string }[] {
  const out: { field: string; path: string }[] = compileSelection(rule.match).fields.map((field) => ({ field, path: 'match' }));
  rule.sequence?.steps.forEach((s, i) => {
    for (const field of compileSelection(s.match).fields) out.push({ field, path: `sequence.steps[${i}].match` });
  });
  for (const kind of STATEFUL_CLAUSES) {
    const clause = rule[kind];
    if (!clause) continue;
    for (const field of clause.groupBy) out.push({ field, path: `${kind}.groupBy` });
    if ('field' in clause) {
      if (typeof clause.field === 'string') out.push({ field: clause.field, path: `${kind}.field` });
      else
        clause.field.forEach((field, i) => {
          out.push({ field, path: `${kind}.field[${i}]` });
        });
    }
  }
  if (rule.entity) out.push({ field: rule.entity, path: 'entity' });
  return out;
}

/**
 * A tuned rule whose tuning changed what it counts (its shipped tests dropped, src/rules/tuning.ts)
 * and brought no tests of its own: nothing shows it still fires.
 */
export function untestedTuningWarnings(pack: RulePack): RuleFileError[] {
  return pack.rules.flatMap((rule) => {
    const file = pack.files.get(`tune:${rule.id}`);
    if (file === undefined || rule.disabled || rule.tests.length > 0) return [];
    return [
      {
        file,
        ruleId: rule.id,
        path: 'tests',
        message: 'the tuning changes what the rule counts and brings no tests: add one that fires and one that does not',
      },
    ];
  });
}

/** A named list no rule reads: a placeholder spelled otherwise, or a list left behind (warned, not refused). */
export function unreadListWarnings(pack: RulePack): RuleFileError[] {
  return pack.lists
    .filter((list) => list.readBy.length === 0)
    .map((list) => ({
      file: list.change?.file ?? list.file,
      path: 'list',
      message: `no rule reads list '${list.name}' (a rule reads it with field|…|expand: '%${list.name}%')`,
    }));
}

/**
 * A rule that asks for a value of a list with no values (not under `not:`) matches no event while
 * the list stays empty: a shipped list a deployment fills is read under `not:`, so this is a rule
 * of the deployment's that expects values, or a change that emptied a list a rule needs.
 */
export function emptyListWarnings(pack: RulePack): RuleFileError[] {
  const empty = pack.lists.filter((list) => list.values.length === 0);
  if (empty.length === 0) return [];
  const warnings: RuleFileError[] = [];
  for (const rule of pack.rules) {
    if (rule.disabled) continue;
    const selections: [unknown, string][] = [
      [rule.match, 'match'],
      ...(rule.sequence?.steps ?? []).map((s, i): [unknown, string] => [s.match, `sequence.steps[${i}].match`]),
    ];
    for (const [selection, path] of selections) {
      const where = emptyRequirement(selection, path);
      if (where === undefined) continue;
      // The empty lists it asks for (one it reads only under `not:` leaves nothing out, which is no warning).
      const names = empty.filter((list) => list.reads.some((r) => r.ruleId === rule.id && !r.leavesOut)).map((list) => `'${list.name}'`);
      warnings.push({
        file: pack.files.get(rule.id) ?? rule.id,
        ruleId: rule.id,
        path: where,
        message: `matches no event while list ${names.join(' or ')} has no values: the condition asks for one of them (add values to the list, or read it under not:)`,
      });
    }
  }
  return warnings;
}

/** Where a selection requires a value of an empty list (a `field|…|expand: []` key it cannot do without), if it does. */
function emptyRequirement(selection: unknown, path: string): string | undefined {
  if (typeof selection !== 'object' || selection === null || Array.isArray(selection)) return undefined;
  for (const [key, value] of Object.entries(selection)) {
    const at = `${path}.${key}`;
    if (key === 'not') continue;
    if (key === 'all' && Array.isArray(value)) {
      for (const [i, sub] of value.entries()) {
        const found = emptyRequirement(sub, `${at}[${i}]`);
        if (found) return found;
      }
    } else if (key === 'any' && Array.isArray(value)) {
      const found = value.map((sub, i) => emptyRequirement(sub, `${at}[${i}]`));
      if (found.length > 0 && found.every((f) => f !== undefined)) return at;
    } else if (key.split('|').includes('expand') && Array.isArray(value) && value.length === 0) return at;
  }
  return undefined;
}

/**
 * Warnings, not errors: a rule reading a field that no source or parser produces and no rule test
 * uses is usually a typo (`evnt.action`) and would never fire. JSON apps may log any field, so a
 * rule can still be right; a test case using the field settles it.
 */
export function unknownFieldWarnings(pack: RulePack): RuleFileError[] {
  const known = knownFields(pack);
  const warnings: RuleFileError[] = [];
  for (const rule of pack.rules) {
    if (rule.references.some((r) => r.startsWith('sigma:'))) continue; // imported: its fields come from a Sigma mapping
    const seen = new Set<string>();
    for (const { field, path } of ruleFields(rule)) {
      // A list is flattened to `field.0`, `field.1`, …: its first element shows the field is logged.
      if (known.has(field) || known.has(`${field}.0`) || seen.has(field)) continue;
      seen.add(field);
      warnings.push({
        file: pack.files.get(rule.id) ?? rule.id,
        ruleId: rule.id,
        path,
        message: `field '${field}' is produced by no source or parser and used by no rule test: a typo? (add a test case that logs it to silence this)`,
      });
    }
    // A title's placeholder nothing fills is published as written (`{user.nmae}`), in every alert.
    const given = new Set(['count', ...Object.keys(ruleTitleValues(rule))]);
    for (const name of titleNames(rule.title)) {
      if (given.has(name) || known.has(name) || known.has(`${name}.0`) || seen.has(name)) continue;
      seen.add(name);
      warnings.push({
        file: pack.files.get(rule.id) ?? rule.id,
        ruleId: rule.id,
        path: 'title',
        message: `'{${name}}' names a field no source or parser produces and no rule test uses${name === 'window' || name === 'absence.after' ? ', and the rule has no such setting' : ''}: the title would show it as written`,
      });
    }
  }
  return warnings;
}

/**
 * Runbooks named by rules must exist (relative to the working directory, a section's `#…` aside:
 * ../alerts/runbook-link.ts), unless they are links.
 */
export function missingRunbooks(pack: RulePack): RuleFileError[] {
  const errors: RuleFileError[] = [];
  for (const rule of [...pack.rules, ...pack.correlations]) {
    const file = runbookFile(rule.runbook);
    if (file === undefined || existsSync(file)) continue;
    errors.push({
      file: pack.files.get(rule.id) ?? rule.id,
      ruleId: rule.id,
      path: 'runbook',
      // The working directory named: run from elsewhere, every runbook of a pack is missing, and the message says why.
      message: `runbook file '${rule.runbook}' does not exist (a path is read from the working directory, ${process.cwd()})`,
    });
  }
  return errors;
}
