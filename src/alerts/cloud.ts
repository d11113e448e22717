import { awsAccountId } from '../engine/entity-scope';
import type { AlertCloud } from '../schema/alert';
import { CoreFields, type NormalizedEvent } from '../schema/event';

/** Where the alert's evidence lives: the deployment's Region, and its account when known. */
export interface CloudContext {
  region: string;
  /** The account the stack runs in; log groups of any other account are linked by ARN. */
  account?: string;
  /** The deployment's state table, which the `detect ack` and `detect exception` commands in messages name (the functions know it). */
  stateTable?: StateTableRef;
}

/** The deployment's state table: its name and Region. */
export interface StateTableRef {
  name: string;
  region: string;
}

/**
 * A message's `detect` command's table arguments, as the command runs where the table is known
 * (a table name, Region and alert ids need no shell quoting); the stack output's name where not.
 */
export function tableArgs(table: StateTableRef | undefined): string {
  return table ? `--table ${table.name} --region ${table.region}` : '--table <StateTableName>';
}

/**
 * The account and Region an event is about; undefined for events without an owner (local replays
 * of plain lines). CloudTrail and flow logs name them, but so can an app's JSON line, whose writer
 * may be an attacker: only an account id and a Region name are taken from the line (else the
 * logs' owner and the stack's Region), so neither can carry text into an alert's email or links.
 */
export function cloudOf(event: NormalizedEvent, ctx: CloudContext): AlertCloud | undefined {
  const owner = event[CoreFields.owner];
  const account = awsAccountId(event['cloud.account.id']) ?? owner;
  if (account === undefined) return undefined;
  const region = event['cloud.region'];
  return {
    account: { id: String(account) },
    region: typeof region === 'string' && REGION.test(region) ? region : ctx.region,
    ...(owner !== undefined && String(owner) !== String(account) ? { logsAccount: String(owner) } : {}),
  };
}

/** us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-5 … */
const REGION = /^[a-z]{2}(?:-[a-z]+){1,2}-\d{1,2}$/;

/** The account whose log groups hold the evidence. */
export function logsAccountOf(cloud: AlertCloud | undefined): string | undefined {
  return cloud?.logsAccount ?? cloud?.account.id;
}

/**
 * Log group identifiers for a Logs Insights link: names in the stack's own account; ARNs for
 * another account's groups (what the console takes for a source account shared through
 * CloudWatch cross-account observability, and what a responder signed in to that account opens).
 */
export function logGroupSources(logGroups: readonly string[], logsAccount: string | undefined, ctx: CloudContext): string[] {
  if (!logsAccount || !ctx.account || logsAccount === ctx.account) return [...logGroups];
  const partition = ctx.region.startsWith('cn-') ? 'aws-cn' : ctx.region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return logGroups.map((g) => `arn:${partition}:logs:${ctx.region}:${logsAccount}:log-group:${g}`);
}
