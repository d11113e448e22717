import { ACCOUNT_ID } from '../schema/account';
import { CoreFields, type NormalizedEvent } from '../schema/event';

/** Where an event came from: its CloudWatch log group, stream and event id, and the account that owns the group. */
export interface Delivery {
  logGroup: string;
  logStream: string;
  id: string;
  /** The account that owns the log group (payload `owner`); the event's account unless its content names one. */
  owner?: string;
}

/** The delivery's fields, written last on every event; the owner is the event's account unless its line named one. */
export function writeDeliveryFields(event: NormalizedEvent, delivery: Delivery): void {
  event[CoreFields.logGroup] = delivery.logGroup;
  event[CoreFields.logStream] = delivery.logStream;
  event[CoreFields.eventId] = delivery.id;
  if (delivery.owner) {
    event[CoreFields.owner] = delivery.owner;
    // CloudTrail names the account the call was made in (an organization trail's log group lives elsewhere).
    event['cloud.account.id'] ??= delivery.owner;
  }
}

/**
 * Where the account a line names is set aside: the line named another account than the one that
 * delivered it, and that account is not one whose logs may speak for others (an organization
 * trail's: Normalizer's `accountsFor`).
 */
const CLAIMED_ACCOUNT = 'cloud.account.claimed_id';

/**
 * A line is about the account that delivered it unless that account's logs may be about others.
 * An organization trail's records, delivered from the account that holds the trail, are each about
 * the member account it names; but a member account in a hub sends its own log groups, and a line
 * there naming another account — a CloudTrail record in a stream named like the organization
 * trail's, an app's JSON with `cloud.account.id` — would otherwise put its alerts, incidents and
 * automated responses on that other account's principals. Such a claim is kept as
 * CLAIMED_ACCOUNT and the event is the delivering account's.
 */
export function refuseForeignAccount(event: NormalizedEvent, mayNameOthers: ReadonlySet<string>): void {
  const owner = event[CoreFields.owner];
  const stated = event['cloud.account.id'];
  if (typeof owner !== 'string' || stated === undefined || stated === owner || mayNameOthers.has(owner)) return;
  // Only an account id names an account (anything else a line writes there is read as no account,
  // src/engine/entity-scope.ts): and only an account id is set aside, to be told in a title.
  if (typeof stated !== 'string' || !ACCOUNT_ID.test(stated)) return;
  event[CLAIMED_ACCOUNT] = stated;
  event['cloud.account.id'] = owner;
}
