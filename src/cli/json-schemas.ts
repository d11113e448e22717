import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Argument, type Command, Option } from 'commander';
import { z } from 'zod';
import { Alert } from '../schema/alert';
import { CorrelationRule, DetectionRule, RuleTuning, SourceDefinition } from '../schema/rule';
import { ValueListChange, ValueListDefinition } from '../schema/value-list';

/**
 * The contracts as JSON Schema, generated from the zod schemas the engine validates with, so they
 * cannot say other than the code does: a rule file as written (what an editor checks while a rule
 * is typed — its checks across fields, such as a threshold's window against its clause, stay
 * `detect validate`'s) and the alert JSON subscribers receive (SNS, SQS, HTTPS and the JSONL of
 * `detect replay`). Committed in docs/schemas/ for editors and consumers; a test keeps them equal.
 */
export const SCHEMA_KINDS = ['rule', 'alert'] as const;
export type SchemaKind = (typeof SCHEMA_KINDS)[number];

/** Where the committed copy of each lives (from the repository root). */
export const SCHEMA_FILES: Readonly<Record<SchemaKind, string>> = {
  rule: 'docs/schemas/rule.schema.json',
  alert: 'docs/schemas/alert.schema.json',
};

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

export function jsonSchema(kind: SchemaKind): Record<string, unknown> {
  // A schema the JSON Schema cannot express (a zod transform's output) is left open rather than refused.
  const options = { unrepresentable: 'any', io: kind === 'rule' ? 'input' : 'output' } as const;
  if (kind === 'alert') {
    return {
      $schema: DRAFT,
      title: 'sentinel-stack alert (schemaVersion 1)',
      description:
        'The alert JSON: the SNS message body for SQS, HTTPS and Lambda subscribers, and each line of `detect replay` output. Generated from src/schema/alert.ts by `detect schema alert`.',
      ...withoutDraft(z.toJSONSchema(Alert, options)),
    };
  }
  return {
    $schema: DRAFT,
    title: 'sentinel-stack rule file',
    description:
      'One YAML file in a rule folder: a detection rule, a correlation rule (`correlation:`), a log source (`source:`), a tuning (`tune:`) or a named list (`list:` with `values:`, or a change to one with `add:`/`remove:`). Generated from src/schema/rule.ts and src/schema/value-list.ts by `detect schema rule`; `detect validate` checks the rest (ids against file names, members, regexes, the lists `|expand` names).',
    anyOf: [DetectionRule, CorrelationRule, SourceDefinition, RuleTuning, ValueListDefinition, ValueListChange].map((schema) =>
      withoutDraft(z.toJSONSchema(schema, options)),
    ),
  };
}

/** The text written to a schema file: two-space JSON and a final newline. */
export function jsonSchemaText(kind: SchemaKind): string {
  return `${JSON.stringify(jsonSchema(kind), null, 2)}\n`;
}

/** zod's output names its draft at the top of each part; the document names it once. */
function withoutDraft(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _draft, ...rest } = schema;
  return rest;
}

/** `detect schema <rule|alert> [--out file]`: the JSON Schema on stdout, or written where asked. */
export function addSchemaCommand(program: Command): void {
  program
    .command('schema')
    .description(
      `print the JSON Schema of a rule file (for an editor's YAML checks) or of the alert JSON (for subscribers); committed as ${Object.values(SCHEMA_FILES).join(' and ')}`,
    )
    .addOption(new Option('--out <file>', 'write it to this file instead of stdout'))
    .addArgument(new Argument('<kind>', 'which schema').choices(SCHEMA_KINDS))
    .action((value: string, opts: { out?: string }) => {
      // Commander has checked the choice; the find gives it its type.
      const kind = SCHEMA_KINDS.find((k) => k === value) ?? 'rule';
      const text = jsonSchemaText(kind);
      if (!opts.out) {
        process.stdout.write(text);
        return;
      }
      mkdirSync(dirname(opts.out), { recursive: true });
      writeFileSync(opts.out, text);
    });
}
