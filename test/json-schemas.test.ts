import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { jsonSchema, jsonSchemaText, SCHEMA_FILES, SCHEMA_KINDS } from '../src/cli/json-schemas';

/** Every YAML file under a folder. */
function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.yml'))
    .map((d) => join(d.parentPath, d.name));
}

function schemaValidator(kind: 'rule' | 'alert') {
  return new Ajv2020({ strict: false, allErrors: true }).compile(jsonSchema(kind));
}

describe('the published JSON Schemas (docs/schemas)', () => {
  it.each(SCHEMA_KINDS)('%s: the committed file is what `detect schema` generates from the zod schemas', (kind) => {
    // When a schema changes: node bin/detect.mjs schema <kind> --out docs/schemas/<kind>.schema.json
    expect(readFileSync(SCHEMA_FILES[kind], 'utf8')).toBe(jsonSchemaText(kind));
  });

  it('every rule, correlation, source and tuning file shipped in rules/ is valid under the rule schema', () => {
    const validate = schemaValidator('rule');
    const files = yamlFiles('rules');
    expect(files.length).toBeGreaterThan(90);
    const invalid = files.filter((f) => !validate(parse(readFileSync(f, 'utf8'))));
    expect(invalid).toEqual([]);
  });

  it('a rule with a mistyped severity, an unknown key or no match fails, at the path an editor underlines', () => {
    const validate = schemaValidator('rule');
    const rule = parse(readFileSync('rules/auth/auth.brute_force_user.yml', 'utf8'));
    const pathsOf = (doc: unknown) => {
      expect(validate(doc)).toBe(false);
      return new Set((validate.errors ?? []).map((e) => e.instancePath));
    };
    expect(pathsOf({ ...rule, severity: 'urgent' })).toContain('/severity');
    expect(pathsOf({ ...rule, threshold: { ...rule.threshold, count: 'ten' } })).toContain('/threshold/count');
    const { match: _match, ...noMatch } = rule;
    expect(validate(noMatch)).toBe(false);
    expect(validate({ ...rule, sevrity: 'high' })).toBe(false);
  });
});
