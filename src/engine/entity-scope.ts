import ipaddr from 'ipaddr.js';
import { ipv4Number } from '../rules/cidr';
import { ACCOUNT_ID } from '../schema/account';
import type { Alert } from '../schema/alert';
import { CoreFields, type NormalizedEvent } from '../schema/event';
import { boundedValue } from './bounded-value';

/**
 * Which account an entity belongs to. A hub (or an organization trail) sees many accounts, and
 * most names are only unique inside one: `root`, `admin` and `deploy` are users of every account,
 * `web-1` a host of many, `10.0.1.15` an address of every VPC that uses 10.0.0.0/16. Such entities
 * are scoped by the account their events came from, so two accounts' `root` are two entities: two
 * counts, two alerts, two pages, two risk records — never one incident built from both.
 *
 * What names the same thing in every account stays organization-wide: a public address (one
 * attacker spraying several accounts is one attacker), an account id, a domain name, and a user
 * named by an email address (an IAM Identity Center user is the same person in every account).
 */

/** Fields whose values are the same thing in every account. */
const ORGANIZATION_WIDE_FIELDS: ReadonlySet<string> = new Set([
  'cloud.account.id',
  'dns.question.name',
  'dns.question.registered_domain',
  'url.domain',
  'destination.domain',
  'source.domain',
]);

/**
 * The account an entity (`field` = `value`, seen in an event about `account`) belongs to, or
 * undefined when it is organization-wide or no account is known (plain lines replayed locally).
 */
export function entityAccount(field: string, value: unknown, account: string | undefined): string | undefined {
  if (account === undefined || account === '' || ORGANIZATION_WIDE_FIELDS.has(field)) return undefined;
  if (isAddressField(field) && typeof value === 'string' && isPublicAddress(value)) return undefined;
  // An email address names one person everywhere: an Identity Center user in every account, the
  // identity provider's user, an app's login.
  if (PERSON_FIELDS.has(field) && typeof value === 'string' && EMAIL.test(value)) return undefined;
  return account;
}

const PERSON_FIELDS: ReadonlySet<string> = new Set(['user.name', 'user.email']);
const EMAIL = /^[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+$/;

/**
 * The account of an event's entity: log groups belong to the logs' owner (the subscription's
 * payload says which), everything else to the account the event is about — an organization
 * trail's record names it (`recipientAccountId`), other lines are about their log group's owner.
 * An app's JSON line can write `cloud.account.id` too, and its writer may be an attacker: only an
 * AWS account id (12 digits) is taken from it, so no value can make a key long or odd.
 */
export function eventEntityAccount(event: NormalizedEvent, field: string, kind = field): string | undefined {
  const owner = event[CoreFields.owner];
  const stated = field === CoreFields.logGroup ? undefined : awsAccountId(event['cloud.account.id']);
  const about = stated ?? (owner === undefined ? undefined : boundedValue(String(owner)));
  return entityAccount(kind, event[field], about);
}

/** The value when it is an AWS account id (12 digits), else undefined: what a line states is taken only if it is one. */
export function awsAccountId(value: unknown): string | undefined {
  return typeof value === 'string' && ACCOUNT_ID.test(value) ? value : undefined;
}

/**
 * The `account` message attribute, for subscription filter policies that route each account's
 * alerts to its own team: the account the alert is about (else the one its logs are in), `none`
 * when no account is known (digests, incidents whose members span accounts, local lines). An
 * account id only: the alert's cloud account can come from a line's own JSON.
 */
export function accountAttribute(alert: Pick<Alert, 'cloud' | 'entity'>): string {
  return awsAccountId(alert.cloud?.account.id) ?? awsAccountId(alert.cloud?.logsAccount) ?? awsAccountId(alert.entity.account) ?? 'none';
}

/**
 * The account an alert is about, as correlation files its related names: its entity's account,
 * else its events' (`cloud.account.id`, bounded as every account in a key is).
 */
export function alertAccount(entity: { account?: string | undefined }, cloud: { account: { id: string } } | undefined): string | undefined {
  return entity.account ?? (cloud === undefined ? undefined : boundedValue(cloud.account.id));
}

/** Fields that name users, hosts, services and functions (as opposed to ports, paths, codes). */
const NAME_FIELDS: ReadonlySet<string> = new Set(['user.name', 'user.id', 'host.name', 'host.hostname', 'service.name', 'faas.name']);

/**
 * The account of a distinct-value set member: only names (users, hosts, services, private
 * addresses) belong to an account — a port or a path is the same value wherever it was seen.
 * `kind`: the field the member is a value of, when `field` is an element of its list
 * (`user.name.1` of `user.name`: the second user a line names is a user as much as the first).
 */
export function memberAccount(event: NormalizedEvent, field: string, kind = field): string | undefined {
  return NAME_FIELDS.has(kind) || isAddressField(kind) ? eventEntityAccount(event, field, kind) : undefined;
}

/** A state key (group key, page, risk record) for an entity of `account`: the same key as before for organization-wide ones. */
export function scopedKey(key: string, account: string | undefined): string {
  return account === undefined ? key : `@${account}|${key}`;
}

/** A scoped key or member as a person reads it: `name (account)`; an unscoped one as it is. */
export function scopedLabel(key: string): string {
  const bar = key.indexOf('|');
  return key.charCodeAt(0) === AT && bar > 1 ? `${key.slice(bar + 1)} (${key.slice(1, bar)})` : key;
}

const AT = 64;

function isAddressField(field: string): boolean {
  return field.endsWith('.ip') || field.endsWith('.address');
}

/** Private, loopback, link-local, shared (CGNAT) and "this network" ranges name a different host in each network. */
function isLocalV4(address: number): boolean {
  const first = address >>> 24;
  return (
    first === 0 || // 0.0.0.0/8
    first === 10 || // 10.0.0.0/8
    first === 127 || // 127.0.0.0/8
    address >>> 22 === 0x64400000 >>> 22 || // 100.64.0.0/10 (shared address space)
    address >>> 16 === 0xa9fe || // 169.254.0.0/16
    address >>> 20 === 0xac100000 >>> 20 || // 172.16.0.0/12
    address >>> 16 === 0xc0a8 // 192.168.0.0/16
  );
}

/** Whether text is an IP address routed on the internet (the same host whichever account logged it). */
export function isPublicAddress(text: string): boolean {
  const v4 = ipv4Number(text);
  if (v4 >= 0) return !isLocalV4(v4);
  if (!ipaddr.isValid(text)) return false; // a host name: named inside its network
  const address = ipaddr.process(text); // IPv4-mapped IPv6 as IPv4
  if (address.kind() === 'ipv4') return isPublicAddress(address.toString());
  return address.range() === 'unicast';
}
