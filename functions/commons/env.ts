import type { AlertContext } from '../../src/alerts/build';
import type { StateTableRef } from '../../src/alerts/cloud';
import { runbookBase } from '../../src/alerts/runbook-link';
import type { ChatTiers, MessageStyle } from '../../src/correlation/envelope';
import type { AlertTerms } from '../../src/engine/telling';
import type { LearningScope } from '../../src/engine/term-learning';
import { isKnownTimezone } from '../../src/parse/timestamp';
import { ACCOUNT_ID } from '../../src/schema/account';

/**
 * Where alerts' links point: the function's Region and the stack's account (set by the stack), and
 * the state table the commands in messages name.
 */
export function alertContext(): AlertContext {
  const account = process.env.SENTINEL_ACCOUNT_ID;
  const stateTable = stateTableEnv();
  return { region: requireEnv('AWS_REGION'), ...(account ? { account } : {}), ...(stateTable ? { stateTable } : {}) };
}

/** The state table (`TABLE_NAME`, set on every function that writes messages) in the function's Region. */
function stateTableEnv(): StateTableRef | undefined {
  const name = process.env.TABLE_NAME;
  const region = process.env.AWS_REGION;
  return name && region ? { name, region } : undefined;
}

/** Reads a required environment variable; a missing one fails the cold start loudly. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** A required environment variable holding a positive number (durations in ms, sizes). */
export function requireNumberEnv(name: string, { zeroAllowed = false } = {}): number {
  const text = requireEnv(name);
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed))
    throw new Error(`environment variable ${name} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number, got '${text}'`);
  return value;
}

/**
 * How the deployment tells detections (review digests, one page per entity, outbreaks): the
 * detector, and the sweeper that opens absence rules' alerts, read the same three settings.
 */
export function alertTermsEnv(): Omit<AlertTerms, 'outbreakWindow'> {
  return {
    digestInterval: requireNumberEnv('DIGEST_INTERVAL_MS'),
    pageFoldWindow: requireNumberEnv('PAGE_FOLD_MS', { zeroAllowed: true }),
    outbreakAfter: requireNumberEnv('OUTBREAK_AFTER', { zeroAllowed: true }),
  };
}

/**
 * The tiers the chat topic takes (`CHAT_TIERS`, comma-separated, empty when chat is off): only
 * their messages carry a chat rendering. Unset (a stack from before it was set): every tier.
 */
export function chatTiersEnv(): ChatTiers {
  const text = process.env.CHAT_TIERS;
  return text === undefined ? 'all' : new Set(text.split(',').filter((t) => t !== ''));
}

/**
 * How messages are written: the chat topic's tiers, the team's time zone, where runbooks link to,
 * and the state table an email's acknowledgement command names (every function that writes
 * messages has the table; the Region is the function's own).
 */
export function messageStyleEnv(): MessageStyle {
  const stateTable = stateTableEnv();
  return { chatTiers: chatTiersEnv(), timeZone: timeZoneEnv(), runbookBase: runbookBaseEnv(), ...(stateTable ? { stateTable } : {}) };
}

/**
 * Where runbook paths link to (`RUNBOOK_BASE_URL`, config `runbookBaseUrl`). Unset (none
 * configured, or a stack from before it was set): runbooks are told as their rules name them. Not
 * an https URL: the cold start fails loudly.
 */
export function runbookBaseEnv(): string | undefined {
  const text = process.env.RUNBOOK_BASE_URL;
  if (text === undefined || text === '') return undefined;
  const parsed = runbookBase(text);
  if ('error' in parsed) throw new Error(`environment variable RUNBOOK_BASE_URL: ${parsed.error}`);
  return parsed.base;
}

/**
 * Whose first week new-term rules learn in (`NEW_TERM_LEARNING_SCOPE`, config
 * `newTermLearningScope`). Unset (a stack from before it was set): `owner`, as those learned.
 */
export function learningScopeEnv(): LearningScope {
  const text = process.env.NEW_TERM_LEARNING_SCOPE;
  if (text === undefined || text === '' || text === 'owner') return 'owner';
  if (text === 'account') return 'account';
  throw new Error(`environment variable NEW_TERM_LEARNING_SCOPE must be 'owner' or 'account', got '${text}'`);
}

/**
 * The team's time zone (`TIME_ZONE`, config `timeZone`) for `event.hour_local`. Unset (a stack
 * from before it was set): UTC, as those read hours. A name Intl does not know fails the cold start.
 */
export function timeZoneEnv(): string {
  const text = process.env.TIME_ZONE;
  if (text === undefined || text === '') return 'UTC';
  if (!isKnownTimezone(text)) throw new Error(`environment variable TIME_ZONE must be an IANA time zone name, got '${text}'`);
  return text;
}

/**
 * The accounts whose log groups may hold lines about other accounts: the stack's own
 * (`SENTINEL_ACCOUNT_ID`) and those holding an organization trail (`ORG_TRAIL_ACCOUNTS`,
 * comma-separated, config `organizationTrailAccounts`). A line any other account delivered is
 * about that account (src/parse/delivery-fields.ts, refuseForeignAccount).
 */
export function accountsForEnv(): ReadonlySet<string> {
  const listed = (process.env.ORG_TRAIL_ACCOUNTS ?? '').split(',').filter((a) => a !== '');
  for (const account of listed)
    if (!ACCOUNT_ID.test(account))
      throw new Error(`environment variable ORG_TRAIL_ACCOUNTS must list 12-digit account ids, got '${account}'`);
  return new Set([requireEnv('SENTINEL_ACCOUNT_ID'), ...listed]);
}
