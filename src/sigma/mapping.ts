import { z } from 'zod';
import { Selection } from '../schema/rule';

const FieldName = z
  .string()
  .regex(/^[@A-Za-z_][\w.@-]*(\.\*)?$/, 'expected a normalized field name like user.name (or a prefix like requestParameters.*)');

/**
 * How Sigma rules of one log source land on this project's events: which Sigma `logsource`
 * they come from, which log groups they apply to, and the Sigma field → normalized field map.
 * A key ending in `.*` maps a whole prefix (e.g. CloudTrail `requestParameters.*`).
 */
export const SigmaLogsource = z.strictObject({
  name: z.string().min(1),
  /** Each key given must equal the rule's logsource value; `null` means the rule must not set that key. */
  match: z.strictObject({
    product: z.string().nullable().optional(),
    service: z.string().nullable().optional(),
    category: z.string().nullable().optional(),
  }),
  logGroups: z.array(z.string().min(1)).optional(),
  fields: z.record(z.string(), FieldName),
  /**
   * What every converted rule of this logsource also requires, where the log holds more than the
   * Sigma category (auditd logs several records per program started: process creation is its
   * EXECVE record).
   */
  conditions: Selection.optional(),
  /** Where keyword (field-less) selections search. */
  keywordField: FieldName.default('event.original'),
});
export type SigmaLogsource = z.infer<typeof SigmaLogsource>;

export const SigmaMapping = z.strictObject({ sigmaMapping: z.array(SigmaLogsource).min(1) });
export type SigmaMapping = z.infer<typeof SigmaMapping>;

export interface SigmaLogsourceRef {
  product?: string;
  service?: string;
  category?: string;
}

/** The first mapping entry whose every `match` key equals the rule's logsource value. */
export function findLogsource(mapping: readonly SigmaLogsource[], ref: SigmaLogsourceRef): SigmaLogsource | undefined {
  return mapping.find((m) =>
    (['product', 'service', 'category'] as const).every(
      (k) => m.match[k] === undefined || m.match[k]?.toLowerCase() === ref[k]?.toLowerCase(),
    ),
  );
}

/** The normalized field for a Sigma field, or undefined when the mapping has none. */
export function mapField(source: SigmaLogsource, sigmaField: string): string | undefined {
  const direct = source.fields[sigmaField] ?? source.fields[sigmaField.toLowerCase()];
  if (direct) return direct;
  for (const [from, to] of Object.entries(source.fields)) {
    if (from.endsWith('.*') && sigmaField.startsWith(from.slice(0, -1))) return `${to.slice(0, -1)}${sigmaField.slice(from.length - 1)}`;
  }
  // A catch-all: every other field of this log source keeps its name under a prefix (auditd: `exe` → `auditd.exe`).
  const all = source.fields['*'];
  if (all && /^[A-Za-z_][\w-]*$/.test(sigmaField)) return all.replace('*', sigmaField);
  return undefined;
}
