import type { CompiledRule } from '../../rules/compile';
import { lowerCase } from '../../rules/lower-case';
import { CoreFields, eventId, eventTime, type NormalizedEvent } from '../../schema/event';
import { boundedValue } from '../bounded-value';
import { awsAccountId } from '../entity-scope';
import type { TermClaim, TermClaimResult } from '../state-store';
import type { LearningScope, WatchSighting } from '../term-learning';
import { type BatchContext, type QualifiedGroup, storeClock } from './evaluator';
import { groupBy } from './grouping';

/** New-term rules: a value an entity was never seen with in `baseline` (each claimed once in the store, whoever sees it first). */
export async function newTermRule(rule: CompiledRule, events: NormalizedEvent[], batch: BatchContext): Promise<QualifiedGroup[]> {
  const clause = rule.rule.newTerm;
  if (!clause) return [];
  const groups = groupBy(
    events.filter((e) => e[clause.field] !== undefined),
    clause.groupBy,
  );
  const claims: TermClaim[] = [];
  const claimed: [string, NormalizedEvent[], number][] = [];
  for (const [key, list] of groups) {
    // One claim per (entity, term) per batch, made at the term's first occurrence; its expiry
    // runs from the last one, as a claim per event would have left it.
    const byTerm = new Map<string, TermClaim>();
    list.forEach((e, index) => {
      const term = boundedValue(lowerCase(String(e[clause.field])));
      const at = eventTime(e);
      const known = byTerm.get(term);
      if (known) {
        known.expiresAt = at + clause.baseline;
        return;
      }
      const claim = { key: `n#${rule.rule.id}#${key}`, term, owner: eventId(e) || `${at}`, at, expiresAt: at + clause.baseline };
      byTerm.set(term, claim);
      claims.push(claim);
      claimed.push([key, list, index]);
    });
  }
  const results = await batch.store.claimTerms(claims, storeClock(events));
  if (batch.learnOnly) {
    await batch.learning.recordHistory(rule.rule.id, sightings(claims, claimed, results, batch.learningScope));
    return [];
  }
  const learningEnds = await learnedUntil(batch, rule, clause.learn, claims, claimed, results);
  const qualified = new Map<string, QualifiedGroup>();
  results.forEach((r, i) => {
    const entry = claimed[i];
    if (!entry || !r.isNew || (clause.requireHistory && !r.hadHistory)) return;
    if (learningEnds && (claims[i]?.at ?? 0) < (learningEnds.get(learningAccountOf(entry, batch.learningScope)) ?? 0)) {
      batch.tally.learnedTerms++;
      return;
    }
    const [key, list, index] = entry;
    // Each new term is its own condition (a second new country is a second finding, not an update
    // of the first), unless the rule makes one alert per entity of all its new terms.
    const termKey = clause.alertPer === 'entity' ? key : `${key}#${claims[i]?.term ?? ''}`;
    const group = qualified.get(termKey) ?? { key: termKey, list, entityField: clause.groupBy[0], qualifiers: [] };
    group.qualifiers.push({ index, from: index, count: 1, windowStart: eventTime(list[index] as NormalizedEvent) });
    qualified.set(termKey, group);
  });
  for (const g of qualified.values()) g.qualifiers.sort((a, b) => a.index - b.index);
  return [...qualified.values()];
}

/**
 * Per account of the logs, until when the rule only learns (src/engine/term-learning.ts);
 * undefined when it never does.
 */
async function learnedUntil(
  batch: BatchContext,
  rule: CompiledRule,
  ruleLearn: number | false | undefined,
  claims: readonly TermClaim[],
  claimed: readonly [string, NormalizedEvent[], number][],
  results: readonly TermClaimResult[],
): Promise<Map<string | undefined, number> | undefined> {
  const learn = ruleLearn === undefined ? batch.newTermLearning : ruleLearn === false ? 0 : ruleLearn;
  if (learn <= 0 || claims.length === 0) return undefined;
  const since = await batch.learning.watchedSince(rule.rule.id, sightings(claims, claimed, results, batch.learningScope), learn);
  return new Map([...since].map(([account, start]) => [account, start + learn]));
}

/** Per account of the logs, what a batch's term claims say about since when the rule has watched them. */
function sightings(
  claims: readonly TermClaim[],
  claimed: readonly [string, NormalizedEvent[], number][],
  results: readonly TermClaimResult[],
  scope: LearningScope,
): WatchSighting[] {
  const sightings = new Map<string | undefined, WatchSighting>();
  claims.forEach((c, i) => {
    const entry = claimed[i];
    const r = results[i];
    if (!entry || !r) return;
    const account = learningAccountOf(entry, scope);
    // Terms from a table older than learning starts: the rule has watched longer than it can say.
    // (Not merely terms claimed before this batch: a racing detector's, or this batch's own on an
    // earlier delivery, are a fresh deployment's too.)
    const before = r.legacy;
    const s = sightings.get(account);
    if (s) {
      s.earliest = Math.min(s.earliest, c.at);
      s.watchedBefore ||= before;
    } else sightings.set(account, { account, earliest: c.at, watchedBefore: before });
  });
  return [...sightings.values()];
}

/**
 * The account whose first week a claim's event counts toward (src/engine/term-learning.ts): the
 * owner of the logs, or with the `account` scope the account a CloudTrail record is about (the
 * CloudTrail source sets `event.dataset`; a 12-digit id only). An app's JSON line that writes
 * both fields itself could choose its account under that scope — as it chooses every other
 * field it carries; the `owner` default leaves lines no say.
 */
function learningAccountOf([, list, index]: readonly [string, NormalizedEvent[], number], scope: LearningScope): string | undefined {
  const event = list[index];
  const owner = event?.[CoreFields.owner];
  if (scope === 'account' && event?.['event.dataset'] === 'aws.cloudtrail') {
    const about = awsAccountId(event['cloud.account.id']);
    if (about !== undefined) return about;
  }
  return owner === undefined ? undefined : boundedValue(String(owner));
}
