import { z } from 'zod';
import { type Alert, type AlertEntity, FoldTarget } from '../schema/alert';
import { Severity, severityRank, type Tier } from '../schema/severity';
import { boundedValue } from './bounded-value';
import { scopedKey } from './entity-scope';
import { afterLostRace, LostRaceError } from './lost-race';
import { type DocKey, docId, readDocBody, type StateStore } from './state-store';

/**
 * One page per entity. An attacker who trips several respond-tier rules at once — a spray from
 * one address is also a brute force from it; a stolen admin account stops CloudTrail and
 * attaches a policy — used to page once per rule. The first respond-tier detection about an
 * entity pages and holds the entity's page for `window` (default 4 hours: the respond tier's
 * reminder interval); another rule's detection about the same entity in that time, neither more
 * severe nor of a higher risk score, goes to the notify tier as part of that page (the alert names
 * it in `foldedInto`) instead of paging again. One that is — a login that succeeded after the
 * brute force that paged — is news: it pages, and holds the page from then on.
 *
 * The page is a versioned document per entity, claimed with a conditional write, so concurrent
 * detectors agree on who holds it. The decision is stored with the condition (ConditionState
 * `pages`), so its reminders and its resolved notice go where its opening went, and a retried
 * batch decides the same: the holder finds its own claim, a folded alert the same holder.
 * Incidents (correlation) are never folded — they carry the automated response — but they take
 * the entity's page: the detections about it that follow are told as part of the incident.
 */
export const DEFAULT_PAGE_FOLD_MS = 4 * 60 * 60_000;

/** A condition's page decision for one of its alerts: it paged (no `into`), or it folded into `into`. */
export const PageDecision = z.object({ alertId: z.string(), into: FoldTarget.optional() });
export type PageDecision = z.infer<typeof PageDecision>;

/** Decisions a condition keeps: its current alert's and the one before (whose resolved notice may still come). */
export const KEPT_PAGE_DECISIONS = 2;

const EntityPage = FoldTarget.extend({
  severity: Severity,
  riskScore: z.number(),
  pagedAt: z.number(),
  /** The holder's condition document, where its alert must be for the page to be real. */
  condition: z.object({ pk: z.string(), sk: z.string() }),
});
type EntityPage = z.infer<typeof EntityPage>;

/** More severe or riskier than the alert holding the entity's page: worth a page of its own. */
function isNews(claim: PageTerms, page: EntityPage): boolean {
  return severityRank(claim.severity) > severityRank(page.severity) || claim.riskScore > page.riskScore;
}

const MAX_ATTEMPTS = 8;

function entityPageKey(entity: AlertEntity): DocKey {
  return { pk: `page#${scopedKey(`${entity.field}=${boundedValue(entity.value)}`, entity.account)}`, sk: 'page' };
}

/** What a respond-tier rule's alerts claim the page with, and for how long. */
export interface PageTerms {
  severity: Severity;
  riskScore: number;
  window: number;
  /**
   * An incident's: it always pages (it carries the automated response) and holds the entity's page
   * from then on, so the detections that follow it are told as part of it.
   */
  neverFolds?: boolean;
}

/**
 * The page terms of a rule's alerts, as a ConditionUpdate's `page`: respond-tier alerts claim their
 * entity's page; other tiers, and a window of 0 (folding off), claim none.
 */
export function pageTermsOf(
  tier: Tier,
  rule: { severity: Severity; riskScore: number },
  window: number,
  neverFolds = false,
): { page?: PageTerms } {
  if (tier !== 'respond' || window <= 0) return {};
  return { page: { severity: rule.severity, riskScore: rule.riskScore, window, ...(neverFolds ? { neverFolds } : {}) } };
}

export interface PageClaim extends PageTerms {
  entity: AlertEntity;
  /** The claiming alert's condition document. */
  condition: DocKey;
  alertId: string;
  ruleId: string;
  title: string;
  /** When the alert opened (event time). */
  at: number;
}

/**
 * Whether an alert that just opened at the respond tier pages (undefined) or folds into the page
 * its entity already has (the alert holding it). `batchHolders`: alerts that claimed a page
 * earlier in the same batch, whose conditions are written after every claim.
 */
export async function claimPage(store: StateStore, claim: PageClaim, batchHolders: ReadonlySet<string>): Promise<FoldTarget | undefined> {
  const key = entityPageKey(claim.entity);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) await afterLostRace(attempt);
    const doc = (await store.readDocs([key], claim.at)).get(docId(key));
    const page = doc ? readPage(doc.body) : undefined;
    if (page?.id === claim.alertId) return undefined; // this alert holds it (a retried batch)
    if (page && !claim.neverFolds && !isNews(claim, page) && (batchHolders.has(page.id) || (await holderOpened(store, page, claim.at)))) {
      return { id: page.id, ruleId: page.ruleId, title: page.title };
    }
    const body: EntityPage = {
      id: claim.alertId,
      ruleId: claim.ruleId,
      title: claim.title,
      severity: claim.severity,
      riskScore: claim.riskScore,
      pagedAt: claim.at,
      condition: { pk: claim.condition.pk, sk: claim.condition.sk },
    };
    const written = await store.writeDoc({
      ...key,
      body: JSON.stringify(body),
      ifVersion: doc ? doc.version : null,
      now: claim.at,
      expiresAt: claim.at + claim.window,
    });
    if (written) return undefined;
  }
  throw new LostRaceError(`the page of ${key.pk} kept changing under ${MAX_ATTEMPTS} attempts to claim it`);
}

/** What a holder's condition shows of its alerts (the condition's own schema is lifecycle.ts's). */
const HolderCondition = z.object({ alertId: z.string(), pages: z.array(z.object({ alertId: z.string() })).optional() });

/**
 * Whether the holder's alert was written to its condition. A claim is made before the claiming
 * condition is written; when that write then loses a race to another detector (which opened the
 * same condition with an alert of its own), the page names an alert that was never published.
 * Folding into it would leave the entity with no page at all, so such a page counts as none. A
 * holder in flight in another batch also counts as none: the cost is a second page, not a missed one.
 */
async function holderOpened(store: StateStore, page: EntityPage, at: number): Promise<boolean> {
  const doc = (await store.readDocs([page.condition], at)).get(docId(page.condition));
  if (!doc) return false;
  try {
    const held = HolderCondition.safeParse(JSON.parse(doc.body));
    return held.success && (held.data.alertId === page.id || (held.data.pages ?? []).some((p) => p.alertId === page.id));
  } catch {
    return false;
  }
}

/**
 * The stored page; one that does not read (written by another version) counts as none: the page
 * only spares responders a second page, so the worst a lost one does is page once more.
 */
function readPage(body: string): EntityPage | undefined {
  return readDocBody(EntityPage, body);
}

/** The fold decided for an alert of a condition, if it folded. */
export function foldOf(pages: readonly PageDecision[] | undefined, alertId: string): FoldTarget | undefined {
  return pages?.find((p) => p.alertId === alertId)?.into;
}

/** The alert as its fold has it: part of the entity's page, told in the notify tier. */
export function foldedAlert(alert: Alert, fold: FoldTarget | undefined): Alert {
  return fold ? { ...alert, tier: 'notify', foldedInto: fold } : alert;
}
