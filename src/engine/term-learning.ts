import { z } from 'zod';
import { afterLostRace, LostRaceError } from './lost-race';
import { type DocKey, docId, KEPT_FOREVER, readDocBody, type StateStore } from './state-store';

/**
 * Deploy day without a flood. A new-term rule (a new country for a user, a new region for an
 * account, a first access to a sensitive project) knows what is normal only from what it has seen,
 * and on the day it is deployed it has seen nothing: every account's second region, every
 * traveller's second country and every payroll clerk's payroll access is "new", and the team is
 * told about each. So a new-term rule first learns: for its first `learn` (the deployment's
 * `newTermLearning`, 7 days by default) of watching an account's logs, the terms it sees are
 * claimed as usual — known from then on — but not alerted on. A member account that joins a hub
 * later learns for its own first week.
 *
 * What "watching an account" means is a document per (rule, account of the logs — the
 * subscription's owner, which a log line cannot forge; with the `account` scope, for a CloudTrail
 * record, the account it is about, so an organization trail learns each member account's week): the time of the first event the rule
 * claimed a term for, written once with a conditional write (racing detectors agree on the first)
 * and kept by the detector's container once read: while the rule is still learning it is read again
 * every few minutes (`detect learn` may move it back), after that never. So it costs a read per
 * container and rule (a few more in the learning week), and a write per rule and account ever.
 *
 * A table from before this existed has term items but no such document: a rule whose claims meet
 * term items written before then (they carry no claim time) has been watching for longer than the
 * table can say, and is taken as learned. Merely finding terms claimed before the batch would not
 * do: on deploy day those are a racing detector's, or this batch's own from a delivery that failed
 * before its start was written.
 */

/**
 * Whose first week a rule learns in: the logs' owner (the subscription's, which a line cannot
 * forge), or for CloudTrail records the account they are about (an organization trail: one owner,
 * every member account). See DetectorOptions.newTermLearningScope.
 */
export type LearningScope = 'owner' | 'account';

const MAX_ATTEMPTS = 4;
/** While a rule is still learning, its start is read again this often (wall clock): `detect learn` may have moved it back. */
const RELEARN_CHECK_MS = 5 * 60_000;

const WatchStart = z.object({ since: z.number() });

/** What one batch's claims say about an account's logs. */
export interface WatchSighting {
  /** The account of the logs (the subscription's owner); undefined for lines with none (local files). */
  account: string | undefined;
  /** The earliest event time the rule claimed a term at in this batch. */
  earliest: number;
  /** Whether the claims met term items from a table older than learning starts (the rule has watched already). */
  watchedBefore: boolean;
}

function watchKey(ruleId: string, account: string | undefined): DocKey {
  return { pk: `learn#${ruleId}#${account ?? 'all'}`, sk: 'learn' };
}

export class TermLearning {
  /** docId → the start and when it was read (wall clock). */
  private readonly known = new Map<string, { since: number; readAt: number }>();
  private readonly historyAccounts = new Set<string | undefined>();

  constructor(
    private readonly store: StateStore,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Since when the rule has watched each sighting's account (event time); a term claimed before
   * `since + learn` is learned, not alerted on. Records the start of accounts seen for the first time.
   */
  async watchedSince(ruleId: string, sightings: readonly WatchSighting[], learn: number): Promise<Map<string | undefined, number>> {
    const out = new Map<string | undefined, number>();
    for (const s of sightings) {
      const key = watchKey(ruleId, s.account);
      const cached = this.known.get(docId(key));
      // Learned for good, or read a moment ago: no read.
      if (cached && (cached.since + learn <= s.earliest || this.clock() - cached.readAt < RELEARN_CHECK_MS))
        out.set(s.account, cached.since);
      // A table older than this document: the rule has watched for longer than anyone can say.
      else out.set(s.account, await this.settle(key, s.earliest, (stored) => stored ?? (s.watchedBefore ? 0 : s.earliest)));
    }
    return out;
  }

  /**
   * History read into the table (`detect learn`): the rule has known the account's logs since the
   * earliest of them, so its start moves back to that time if it was later (a deployment that
   * started learning before its history was read needs not wait out its week).
   */
  async recordHistory(ruleId: string, sightings: readonly WatchSighting[]): Promise<void> {
    for (const s of sightings) {
      this.historyAccounts.add(s.account);
      await this.settle(watchKey(ruleId, s.account), s.earliest, (stored) => Math.min(stored ?? s.earliest, s.earliest));
    }
  }

  /** The accounts history was recorded for (`detect learn` lists each rule's start per account). */
  get recordedAccounts(): ReadonlySet<string | undefined> {
    return this.historyAccounts;
  }

  /** Since when the rule has watched the account's logs, as stored (undefined: not yet); no write. */
  async storedSince(ruleId: string, account: string | undefined): Promise<number | undefined> {
    const key = watchKey(ruleId, account);
    const doc = (await this.store.readDocs([key], 0)).get(docId(key));
    return doc ? readDocBody(WatchStart, doc.body)?.since : undefined;
  }

  private remember(id: string, since: number): void {
    this.known.set(id, { since, readAt: this.clock() });
  }

  /**
   * The start `next` makes of the stored one (undefined: none yet), written when it differs, with
   * a conditional write: racing writers re-read and decide again.
   */
  private async settle(key: DocKey, now: number, next: (stored: number | undefined) => number): Promise<number> {
    const id = docId(key);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await afterLostRace(attempt);
      const doc = (await this.store.readDocs([key], now)).get(id);
      const stored = doc ? readDocBody(WatchStart, doc.body)?.since : undefined;
      const since = next(stored);
      const body = JSON.stringify({ since });
      if (
        since === stored ||
        (await this.store.writeDoc({ ...key, body, ifVersion: doc ? doc.version : null, now, expiresAt: KEPT_FOREVER }))
      ) {
        this.remember(id, since);
        return since;
      }
    }
    throw new LostRaceError(`the learning start ${key.pk} kept changing under ${MAX_ATTEMPTS} attempts`);
  }
}
