import { redact } from '../../alerts/redact';
import { type FieldReader, fieldReader } from '../../runtime/field-access';
import type { AlertEntity } from '../../schema/alert';
import { CoreFields, eventTime, type FieldValue, type NormalizedEvent } from '../../schema/event';
import { boundedValue, MAX_VALUE_CHARS } from '../bounded-value';
import { eventEntityAccount, scopedKey } from '../entity-scope';
import type { BucketRange } from '../state-store';
import { bucketOf, windowFirstBucket, windowSpan } from '../windows';

/** How a batch's events are split per entity (and account) before a rule counts them. */

/** A group key and a new term (each at most 3 bytes a character) stay well inside DynamoDB's 2,048-byte key. */
const MAX_GROUP_KEY_CHARS = 3 * MAX_VALUE_CHARS;

/** A group's entity: its field's value in the trigger (the group key when it has none), bounded and redacted, with its account. */
export function groupEntity(entityField: string | undefined, key: string, trigger: NormalizedEvent): AlertEntity {
  const field = entityField ?? CoreFields.logGroup;
  const account = eventEntityAccount(trigger, field);
  return { field, value: boundedValue(redact(String(trigger[field] ?? key))), ...(account === undefined ? {} : { account }) };
}

/** Events of rules without groupBy: one group per log group (a payload holds one), per owner account. */
export function logGroupKeyed(events: NormalizedEvent[]): Map<string, NormalizedEvent[]> {
  const first = events[0] ?? {};
  return new Map([[scopedKey(String(first[CoreFields.logGroup] ?? ''), eventEntityAccount(first, CoreFields.logGroup)), events]]);
}

/**
 * Each group's stored buckets to read: its events' windows, and as far again after its last event —
 * a delivery that comes late finds there what other streams' later events already counted (in time
 * order there is nothing, and DynamoDB charges nothing for items a query does not find).
 */
export function groupWindows(
  groups: Map<string, NormalizedEvent[]>,
  prefix: string,
  width: number,
  windowMs: number,
): { key: string; list: NormalizedEvent[]; range: BucketRange }[] {
  const ahead = windowSpan(windowMs, width);
  return [...groups].map(([key, list]) => {
    const [first, last] = bucketSpan(list, width);
    return { key, list, range: { key: prefix + key, from: windowFirstBucket(first, windowMs, width), to: last + ahead, width } };
  });
}

/** First and last bucket of a time-sorted, non-empty group. */
export function bucketSpan(list: readonly NormalizedEvent[], width: number): [number, number] {
  return [bucketOf(eventTime(list[0] ?? {}), width), bucketOf(eventTime(list[list.length - 1] ?? {}), width)];
}

/** Per groupBy list (one per rule clause), its fields' reader (see runtime/field-access.ts). */
const groupReaders = new WeakMap<readonly string[], FieldReader>();
const groupValues: (FieldValue | undefined)[] = [];

/** The events per entity (the clause's groupBy values, bounded), each group keyed with its account where it names one. */
export function groupBy(events: readonly NormalizedEvent[], fields: readonly string[]): Map<string, NormalizedEvent[]> {
  const groups = new Map<string, NormalizedEvent[]>();
  let read = groupReaders.get(fields);
  if (!read) {
    read = fieldReader(fields);
    groupReaders.set(fields, read);
  }
  const values = groupValues;
  outer: for (const e of events) {
    read(e, values);
    let key = '';
    for (let i = 0; i < fields.length; i++) {
      const v = values[i];
      if (v === undefined || v === '') continue outer; // events without the entity cannot be attributed
      const part = boundedValue(String(v));
      key = i === 0 ? part : `${key}|${part}`;
    }
    // Several bounded parts can still add up past a DynamoDB key: the whole key is bounded too.
    if (key.length > MAX_GROUP_KEY_CHARS) key = boundedValue(key);
    push(groups, key, e);
  }
  return perAccount(groups, fields[0] as string);
}

/**
 * Names inside one account (users, hosts, private addresses; ../entity-scope.ts) are counted per
 * account: each group's key names the account of its entity. A payload comes from one account and
 * an organization trail's records of one user name one account, so a group's events nearly always
 * agree: their account is worked out once per group, and only a group whose events name several
 * accounts is split event by event.
 */
function perAccount(groups: Map<string, NormalizedEvent[]>, entityField: string): Map<string, NormalizedEvent[]> {
  const scoped = new Map<string, NormalizedEvent[]>();
  for (const [key, list] of groups) {
    const first = list[0] as NormalizedEvent;
    if (sameAccounts(list)) scoped.set(scopedKey(key, eventEntityAccount(first, entityField)), list);
    else for (const e of list) push(scoped, scopedKey(key, eventEntityAccount(e, entityField)), e);
  }
  return scoped;
}

function sameAccounts(list: readonly NormalizedEvent[]): boolean {
  const first = list[0] as NormalizedEvent;
  const account = first['cloud.account.id'];
  const owner = first[CoreFields.owner];
  for (let i = 1; i < list.length; i++) {
    const e = list[i] as NormalizedEvent;
    if (e['cloud.account.id'] !== account || e[CoreFields.owner] !== owner) return false;
  }
  return true;
}

export function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
