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
