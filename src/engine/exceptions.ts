import { z } from 'zod';
import type { AlertContext } from '../alerts/build';
import { buildExceptionNotice } from '../alerts/exception-notice';
import { Cidr, inRanges } from '../rules/cidr';
import type { CompiledRule } from '../rules/compile';
import { lowerCase } from '../rules/lower-case';
import { RuleRef, refMatches } from '../rules/rule-ref';
import type { Message } from '../schema/alert';
import { eventTime, type NormalizedEvent } from '../schema/event';
import { FieldName } from '../schema/rule';
import { announceOnce } from './announcements';
import { boundedValue } from './bounded-value';
import { KEPT_FOREVER, readDocBody, type StateStore } from './state-store';

/**
 * Exceptions: what a responder tells the detector to leave alone, without a deploy. A pen test
 * from 192.0.2.10 this afternoon, the vulnerability scanner's range every night, a migration
 * account for the weekend: `detect exception add --rule 'web.*' --field source.ip --value
 * 192.0.2.10 --for 4h --reason 'pen test, ticket SEC-123'` writes one to the state table, and
 * within a minute the named rules stop counting the events that carry that value — no alert
 * opens, nothing correlates, nobody is paged — until it ends (by event time, so a replay or a
 * late delivery is decided as it was live).
 *
 * Leaving events out at the rule, not muting alerts afterwards, is deliberate: a muted alert still
 * feeds its incident, and an incident always pages; the responder asked for the rule to leave the
 * entity alone. What it costs: windows miss the excepted events, so an attack that goes on after
 * the exception ends is counted from then. Each one names its rules, field, values, time span,
 * reason and author, and every batch counts the events it left out (metric EventsExcepted).
 */

export const ExceptionSpec = z.strictObject({
  id: z.string().regex(/^ex-[0-9a-f]{8}$/),
  /** Rule ids, or prefixes ending in `*` (`web.*`). */
  rules: z.array(RuleRef).min(1).max(50),
  field: FieldName,
  /**
   * Compared as the rules compare equality (case-insensitively, bounded as state keys are); a value
   * that is a CIDR range (`192.0.2.0/24`) holds every address in it.
   */
  values: z.array(z.string().min(1).max(1024)).min(1).max(100),
  /** Event time the exception starts at (ms). */
  from: z.number(),
  /** Event time it ends at (ms); null: until ended with `detect exception end`. */
  until: z.number().nullable(),
  reason: z.string().min(1).max(500),
  createdBy: z.string().min(1).max(200),
  createdAt: z.number(),
  /** When the team was told of it (src/alerts/exception-notice.ts); absent until the sweeper has. */
  announcedAt: z.number().optional(),
});
export type ExceptionSpec = z.infer<typeof ExceptionSpec>;

export const EXCEPTIONS_PK = 'exceptions';
/** An ended exception stays listed this long (who excepted what, and why), then expires. */
export const EXCEPTION_KEPT_MS = 30 * 86_400_000;

export function exceptionExpiry(spec: ExceptionSpec): number {
  return spec.until === null ? KEPT_FOREVER : spec.until + EXCEPTION_KEPT_MS;
}

/**
 * The exceptions in the state table (ended ones too, for their 30 days), with the version each was
 * read at. One that does not parse (written by a newer version) is left out rather than failing.
 */
export async function readExceptions(store: StateStore, now: number): Promise<{ spec: ExceptionSpec; sk: string; version: number }[]> {
  const out: { spec: ExceptionSpec; sk: string; version: number }[] = [];
  for (const doc of await store.queryDocs(EXCEPTIONS_PK, now)) {
    const spec = readDocBody(ExceptionSpec, doc.body);
    if (spec) out.push({ spec, sk: doc.sk, version: doc.version });
  }
  return out;
}

/** One exception as the detector applies it: values lower-cased and bounded once. */
export interface ActiveException {
  rules: readonly string[];
  field: string;
  values: ReadonlySet<string>;
  ranges: readonly Cidr[];
  from: number;
  until: number;
}

/** Where the detector takes its exceptions from. */
export interface ExceptionSource {
  current(): Promise<readonly ActiveException[]>;
}

/** One exception as the detector applies it. */
export function activeException(spec: ExceptionSpec): ActiveException {
  return {
    rules: spec.rules,
    field: spec.field,
    values: new Set(spec.values.map((v) => boundedValue(lowerCase(v)))),
    ranges: spec.values.flatMap((v) => cidrOf(v) ?? []),
    from: spec.from,
    until: spec.until ?? Number.POSITIVE_INFINITY,
  };
}

/** Exceptions given up front (`replay` / `backtest --exceptions`: what `detect exception list --json` printed). */
export class FixedExceptions implements ExceptionSource {
  private readonly active: readonly ActiveException[];

  constructor(specs: readonly ExceptionSpec[]) {
    this.active = specs.map(activeException);
  }

  async current(): Promise<readonly ActiveException[]> {
    return this.active;
  }
}

/** The exceptions stored in the state table, read at most once a `refreshMs` per container. */
export class StoredExceptions implements ExceptionSource {
  private cached: ActiveException[] = [];
  private fetchedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: StateStore,
    private readonly refreshMs = 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async current(): Promise<readonly ActiveException[]> {
    const now = this.clock();
    if (now - this.fetchedAt < this.refreshMs) return this.cached;
    const active = (await readExceptions(this.store, now)).map(({ spec }) => activeException(spec));
    this.cached = active;
    this.fetchedAt = now;
    return active;
  }
}

/**
 * The matches without the events an exception covers for their rule; returns how many
 * (rule, event) pairs were left out. A rule no exception names costs one pass over the patterns.
 */
export function applyExceptions(matches: Map<CompiledRule, NormalizedEvent[]>, exceptions: readonly ActiveException[]): number {
  if (exceptions.length === 0) return 0;
  let excepted = 0;
  for (const [rule, events] of matches) {
    const applying = exceptions.filter((x) => x.rules.some((ref) => refMatches(ref, rule.rule.id)));
    if (applying.length === 0) continue;
    const kept = events.filter((e) => !applying.some((x) => covers(x, e, eventTime(e))));
    excepted += events.length - kept.length;
    if (kept.length === 0) matches.delete(rule);
    else if (kept.length < events.length) matches.set(rule, kept);
  }
  return excepted;
}

/** Whether an exception in force at `at` leaves the event out of the rule (an absence rule's: its entity's last event). */
export function excepts(x: ActiveException, ruleId: string, e: NormalizedEvent, at: number): boolean {
  return x.rules.some((ref) => refMatches(ref, ruleId)) && covers(x, e, at);
}

function covers(x: ActiveException, e: NormalizedEvent, at: number): boolean {
  const v = e[x.field];
  if (v === undefined) return false;
  if (at < x.from || at >= x.until) return false;
  const text = String(v);
  return x.values.has(boundedValue(lowerCase(text))) || (x.ranges.length > 0 && inRanges(text, x.ranges));
}

/** The range a value names, if it is one (`10.0.0.0/8`, `2001:db8::/32`). */
export function cidrOf(value: string): Cidr | undefined {
  if (!value.includes('/')) return undefined;
  try {
    return new Cidr(value);
  } catch {
    return undefined;
  }
}

/**
 * Tells the team of every exception not yet announced (the sweeper, every 5 minutes; see
 * announceOnce): one notify message each, whoever wrote it.
 */
export function announceExceptions(
  store: StateStore,
  send: (messages: Message[]) => Promise<void>,
  ctx: AlertContext,
  now: number,
): Promise<number> {
  return announceOnce(store, EXCEPTIONS_PK, ExceptionSpec, {
    tell: (specs) => specs.map((spec) => buildExceptionNotice(spec, ctx)),
    expiresAt: exceptionExpiry,
    send,
    now,
  });
}
