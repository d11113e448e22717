import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { cidrOf, EXCEPTIONS_PK, ExceptionSpec, exceptionExpiry, readExceptions } from '../engine/exceptions';
import { docId, readDocBody, type StateStore } from '../engine/state-store';
import type { RulePack } from '../rules/rule-pack';
import { RuleRef, refMatches } from '../rules/rule-ref';
import { formatTime } from '../schema/duration';
import { FieldName } from '../schema/rule';

export class ExceptionError extends Error {}

/** The first rule reference that names no rule of the pack (a typo would except nothing, silently). */
function matchingNoRule(refs: readonly string[], pack: Pick<RulePack, 'rules'>): string | undefined {
  return refs.find((ref) => !pack.rules.some((r) => refMatches(ref, r.id)));
}

export interface NewException {
  rules: string[];
  field: string;
  values: string[];
  from: number;
  until: number | null;
  reason: string;
  createdBy: string;
}

/**
 * Writes a new exception (src/engine/exceptions.ts). Every rule pattern must name a rule of the
 * deployed pack: a typo would leave nothing out, silently.
 */
export async function addException(
  store: StateStore,
  pack: Pick<RulePack, 'rules'>,
  input: NewException,
  now: number,
): Promise<ExceptionSpec> {
  for (const pattern of input.rules)
    if (!RuleRef.safeParse(pattern).success)
      throw new ExceptionError(`--rule '${pattern}': expected a rule id, or a prefix ending in * (web.*)`);
  const unknown = matchingNoRule(input.rules, pack);
  if (unknown) throw new ExceptionError(`--rule '${unknown}': no rule of the pack matches it (a typo would leave nothing out)`);
  if (!FieldName.safeParse(input.field).success) throw new ExceptionError(`--field '${input.field}': expected a field name like source.ip`);
  for (const value of input.values)
    if (/^[0-9a-f:.]+\/\d+$/i.test(value) && !cidrOf(value))
      throw new ExceptionError(`--value '${value}': not a CIDR range (an address, then / and a prefix length that fits it)`);
  if (input.until !== null && input.until <= input.from)
    throw new ExceptionError(`the exception would end (${formatTime(input.until)}) before it starts (${formatTime(input.from)})`);
  const spec = ExceptionSpec.safeParse({ id: `ex-${randomBytes(4).toString('hex')}`, ...input, createdAt: now });
  if (!spec.success) throw new ExceptionError(spec.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const written = await store.writeDoc({
    pk: EXCEPTIONS_PK,
    sk: spec.data.id,
    body: JSON.stringify(spec.data),
    ifVersion: null,
    now,
    expiresAt: exceptionExpiry(spec.data),
  });
  if (!written) throw new ExceptionError(`exception id ${spec.data.id} is taken: run the command again`);
  return spec.data;
}

/** Exceptions in force or to come at `now` (all: ended ones still kept too), oldest first. */
export async function listExceptions(store: StateStore, now: number, all = false): Promise<ExceptionSpec[]> {
  return (await readExceptions(store, now))
    .map(({ spec }) => spec)
    .filter((spec) => all || spec.until === null || spec.until > now)
    .sort((a, b) => a.createdAt - b.createdAt);
}

/** Ends an exception now (it stays listed with `--all` for 30 days: who excepted what, and why). */
export async function endException(store: StateStore, id: string, now: number): Promise<ExceptionSpec> {
  const key = { pk: EXCEPTIONS_PK, sk: id };
  for (let attempt = 0; attempt < 4; attempt++) {
    const doc = (await store.readDocs([key], now)).get(docId(key));
    const spec = doc ? readDocBody(ExceptionSpec, doc.body) : undefined;
    if (!doc || !spec) throw new ExceptionError(`no exception ${id} (detect exception list shows them)`);
    if (spec.until !== null && spec.until <= now) return spec;
    const ended = { ...spec, until: Math.max(now, spec.from) };
    if (await store.writeDoc({ ...key, body: JSON.stringify(ended), ifVersion: doc.version, now, expiresAt: exceptionExpiry(ended) }))
      return ended;
  }
  throw new ExceptionError(`exception ${id} kept changing: run the command again`);
}

/** One line per exception: what it leaves out, for which rules, when, by whom and why. */
export function formatExceptions(specs: readonly ExceptionSpec[], now: number): string {
  if (specs.length === 0) return 'no exceptions';
  return specs
    .map((s) => {
      const state = s.from > now ? 'scheduled' : s.until !== null && s.until <= now ? 'ended' : 'active';
      const span = `${formatTime(s.from)} → ${s.until === null ? 'until ended' : formatTime(s.until)}`;
      return `${s.id}  ${state.padEnd(9)}  ${s.rules.join(',')}  ${s.field} = ${s.values.join(', ')}  ${span}  by ${s.createdBy}: ${s.reason}`;
    })
    .join('\n');
}

/**
 * Exceptions from a file, for `replay` / `backtest --exceptions`: what `detect exception list
 * --json` prints (a JSON array of exceptions). Each rule pattern must name a rule of the pack.
 */
export function readExceptionsFile(file: string, pack: Pick<RulePack, 'rules'>): ExceptionSpec[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ExceptionError(`--exceptions ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = z.array(ExceptionSpec).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ExceptionError(
      `--exceptions ${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'} (expected what detect exception list --json prints)`,
    );
  }
  for (const [i, spec] of parsed.data.entries()) {
    const unknown = matchingNoRule(spec.rules, pack);
    if (unknown) throw new ExceptionError(`--exceptions ${file}: ${i}.rules: '${unknown}' matches no rule of the pack`);
  }
  return parsed.data;
}
