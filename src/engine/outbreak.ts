import { z } from 'zod';
import { type Alert, FoldTarget } from '../schema/alert';
import type { Tier } from '../schema/severity';
import { afterLostRace, LostRaceError } from './lost-race';
import { type DocKey, docId, readDocBody, type StateStore } from './state-store';

/**
 * One message for an outbreak, not one per entity. A flood from 300 addresses, a spray from a
 * botnet, a scanner sweeping a fleet: one rule opens an alert per address or host, and before this
 * the responder was paged 300 times (a rule test replays exactly that). Now, per rule and account,
 * the first `after` alerts opened within `window` are told as usual; the next one is told as the
 * outbreak's notice (its alert carries `outbreak.heldUntil`), and every later one until the window
 * ends is held: not published, kept in the review digest (the rule's detections and top entities,
 * each with its Logs Insights link), stored and correlated like any other. A burst that outlasts
 * the window starts a new one: a few more messages an hour, not hundreds.
 *
 * The record is a versioned document per (rule, account), claimed with conditional writes, so
 * concurrent detectors agree; each condition stores its alerts' decisions (ConditionState
 * `outbreaks`), so their reminders, escalations and resolved notices go where their opening went,
 * and a retried batch decides the same (the told conditions and the notice are named in the record).
 */
export const DEFAULT_OUTBREAK_AFTER = 3;
export const DEFAULT_OUTBREAK_WINDOW_MS = 60 * 60_000;

/** An alert's outbreak decision: the notice itself (`until` only), or held into `into` until `until`. */
export const OutbreakDecision = z.object({ alertId: z.string(), into: FoldTarget.optional(), until: z.number().optional() });
export type OutbreakDecision = z.infer<typeof OutbreakDecision>;

/** Decisions a condition keeps: its current alert's and the one before (whose resolved notice may still come). */
export const KEPT_OUTBREAK_DECISIONS = 2;

/** What a notify- or respond-tier rule's alerts are counted under. */
export interface OutbreakTerms {
  after: number;
  window: number;
}

export function outbreakTermsOf(tier: string, after: number, window: number): { outbreak?: OutbreakTerms } {
  if ((tier !== 'notify' && tier !== 'respond') || after <= 0 || window <= 0) return {};
  return { outbreak: { after, window } };
}

/**
 * Conditions, not alerts, are what the record names: two detectors racing to open one condition
 * each claim with an alert of their own, and only the winner's is ever written (the loser decides
 * again and finds it open). Counting alerts, the loser's would take a place of the told ones for an
 * alert nobody was told about (a test of racing detectors held every alert that way).
 */
const RuleOutbreak = z.object({
  windowStart: z.number(),
  /** Conditions told as usual in this window (at most `after`). */
  told: z.array(z.string()),
  /** The condition whose alert told the outbreak (its latest claim); later ones fold into it. */
  notice: FoldTarget.extend({ condition: z.string(), until: z.number() }).optional(),
});
type RuleOutbreak = z.infer<typeof RuleOutbreak>;

export interface OutbreakClaim {
  /** The claiming alert's condition document (its pk). */
  condition: string;
  ruleId: string;
  account: string | undefined;
  alertId: string;
  title: string;
  /** When the alert opened (event time). */
  at: number;
  terms: OutbreakTerms;
}

const MAX_ATTEMPTS = 8;

function outbreakKey(ruleId: string, account: string | undefined): DocKey {
  return { pk: `outbreak#${ruleId}#${account ?? 'all'}`, sk: 'outbreak' };
}

/**
 * Decides the claims of one batch, oldest first: one read and one conditional write per (rule,
 * account), whatever the number of alerts (a flood opens hundreds in a batch). Returns each
 * claim's decision: undefined (told as usual), `until` (the notice) or `into` (held).
 */
export async function claimOutbreaks(store: StateStore, claims: readonly OutbreakClaim[]): Promise<Map<string, OutbreakDecision>> {
  const decisions = new Map<string, OutbreakDecision>();
  const byKey = new Map<string, { key: DocKey; claims: OutbreakClaim[] }>();
  for (const c of claims) {
    const key = outbreakKey(c.ruleId, c.account);
    const entry = byKey.get(docId(key)) ?? { key, claims: [] };
    entry.claims.push(c);
    byKey.set(docId(key), entry);
  }
  for (const { key, claims: own } of byKey.values()) {
    const ordered = [...own].sort((a, b) => a.at - b.at || a.alertId.localeCompare(b.alertId));
    const first = ordered[0] as OutbreakClaim;
    for (let attempt = 0; ; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new LostRaceError(`the outbreak record ${key.pk} kept changing under ${MAX_ATTEMPTS} attempts`);
      if (attempt > 0) await afterLostRace(attempt);
      const doc = (await store.readDocs([key], first.at)).get(docId(key));
      // One another version wrote counts as none: the worst a lost record does is tell a few alerts more.
      let record = doc ? readDocBody(RuleOutbreak, doc.body) : undefined;
      const changed = new Map<string, OutbreakDecision>();
      let dirty = false;
      for (const c of ordered) {
        if (record?.told.includes(c.condition)) continue;
        if (record?.notice?.condition === c.condition) {
          // The notice's own condition again (a retried batch, or the winner of a race to open it).
          if (record.notice.id !== c.alertId) {
            record.notice = { ...record.notice, id: c.alertId, title: c.title };
            dirty = true;
          }
          changed.set(c.alertId, { alertId: c.alertId, until: record.notice.until });
          continue;
        }
        if (!record || c.at >= record.windowStart + c.terms.window) {
          record = { windowStart: c.at, told: [] };
          dirty = true;
        }
        if (record.notice) changed.set(c.alertId, { alertId: c.alertId, into: foldTarget(record.notice), until: record.notice.until });
        else if (record.told.length < c.terms.after) {
          record.told.push(c.condition);
          dirty = true;
        } else {
          record.notice = {
            id: c.alertId,
            ruleId: c.ruleId,
            title: c.title,
            condition: c.condition,
            until: record.windowStart + c.terms.window,
          };
          changed.set(c.alertId, { alertId: c.alertId, until: record.notice.until });
          dirty = true;
        }
      }
      const written =
        !dirty ||
        !record ||
        (await store.writeDoc({
          ...key,
          body: JSON.stringify(record),
          ifVersion: doc ? doc.version : null,
          now: first.at,
          expiresAt: record.windowStart + first.terms.window + 60 * 60_000,
        }));
      if (!written) continue;
      for (const [id, d] of changed) decisions.set(id, d);
      break;
    }
  }
  return decisions;
}

function foldTarget(notice: NonNullable<RuleOutbreak['notice']>): FoldTarget {
  return { id: notice.id, ruleId: notice.ruleId, title: notice.title };
}

/** The decision stored for an alert of a condition, if any. */
export function outbreakOf(decisions: readonly OutbreakDecision[] | undefined, alertId: string): OutbreakDecision | undefined {
  return decisions?.find((d) => d.alertId === alertId);
}

/** Whether the decision holds the alert back (it folded into an outbreak's notice). */
export function isHeld(decision: OutbreakDecision | undefined): boolean {
  return decision?.into !== undefined;
}

/**
 * The policy an alert is told by: a held alert's is the review tier's (digested when it opens or
 * escalates, never published, its end untold), so publishing and digesting have one rule each.
 */
export function heldPolicy<P extends { tier: Tier }>(policy: P, decision: OutbreakDecision | undefined): P {
  return isHeld(decision) ? { ...policy, tier: 'review' } : policy;
}

/**
 * The alert as its outbreak decision has it: the notice says until when its rule's further alerts
 * are held; a held alert is told in the review digest only, naming the notice.
 */
export function heldAlert(alert: Alert, decision: OutbreakDecision | undefined): Alert {
  if (decision?.until === undefined) return alert;
  const heldUntil = new Date(decision.until).toISOString();
  return decision.into
    ? { ...alert, tier: 'review', outbreak: { heldUntil, notice: decision.into } }
    : { ...alert, outbreak: { heldUntil } };
}
