import { type NormalizedEvent, textValue } from '../../schema/event';
import { isDottedQuad } from '../address-fields';
import { type BuiltinSource, base, EVENTBRIDGE_DELIVERY, has, serviceAlerts } from './builtin-source';
import { isInstanceId } from './cloudtrail';

/**
 * AWS Health's security notices as EventBridge delivers them to a CloudWatch Logs log group (the
 * stack's `healthRiskEvents` setting makes the rule and the group): AWS telling an account that
 * one of its access keys was found in public (`AWS_RISK_CREDENTIALS_EXPOSED`, with the user and
 * the place it was found), that its credentials look compromised, or that one of its resources
 * was reported for abuse — attacking others, sending spam, hosting malware (`AWS_ABUSE_…`).
 * `{"detail-type":"AWS Health Event","source":"aws.health","detail":{"service":"RISK",
 * "eventTypeCode":"AWS_RISK_CREDENTIALS_EXPOSED","eventMetadata":{"userName":…,"publicKey":…},
 * "affectedEntities":[{"entityValue":"AKIA…"}]}}`.
 *
 * AWS also sends them by e-mail to the account's contacts, where they are read late or never; a
 * key found on GitHub is used within minutes.
 */

const isHealthEvent = (l: string) =>
  has(l, '"detail-type"', '"aws.health"') && (l.includes('AWS Health Event') || l.includes('AWS Health Abuse Event'));

/** An IAM user in an affected entity's text: `arn:aws:iam::…:user/name`, `IAM_USER/name/AKIA…`. */
function userOfEntity(entity: string): string | undefined {
  for (const marker of [':user/', 'IAM_USER/']) {
    const at = entity.indexOf(marker);
    if (at === -1) continue;
    const name = entity.slice(at + marker.length).split('/')[0];
    if (name) return name;
  }
  return undefined;
}

/** Access key ids: AKIA (long-term) or ASIA (a session's). */
const ACCESS_KEY_ID = /^(?:AKIA|ASIA)[A-Z0-9]{12,124}$/;

const NOTICES = serviceAlerts('health_event', 'aws.health', ['threat']);

export const HEALTH: BuiltinSource = {
  definition: base('health', "AWS Health's security notices (exposed credentials, abuse reports), as EventBridge delivers them", 'json', {
    'detail.eventTypeCode': 'rule.name',
    'detail.eventDescription.0.latestDescription': 'rule.description',
    'detail.eventArn': 'event.id',
    'detail.service': 'aws.health.service',
    'detail.eventTypeCategory': 'aws.health.category',
    'detail.statusCode': 'aws.health.status',
    'detail.affectedEntities.0.entityValue': 'aws.health.entity',
    'detail.eventMetadata.userName': 'user.name',
    'detail.eventMetadata.publicKey': 'aws.access_key_id',
    'detail.eventMetadata.exposedUrl': 'url.full',
    account: 'cloud.account.id',
    'detail.eventRegion': 'cloud.region',
  }),
  patterns: [],
  recognize: isHealthEvent,
  recognizedBy: ['"aws.health"'],
  deliveredIn: EVENTBRIDGE_DELIVERY,
  derives: [...NOTICES.fields, 'user.name', 'aws.access_key_id', 'host.name', 'source.ip'],
  derivesOn: NOTICES.derivesOn,
  derive: (e: NormalizedEvent) => {
    NOTICES.stamp(e);
    const code = textValue(e['rule.name']) ?? '';
    if (code.startsWith('AWS_RISK_') || code.startsWith('AWS_ABUSE_')) e['event.category'] = 'threat';
    // What the notice is about: a key (and its user), an address or an instance reported for abuse.
    const entity = textValue(e['aws.health.entity']);
    if (!entity) return;
    if (ACCESS_KEY_ID.test(entity)) e['aws.access_key_id'] ??= entity;
    if (e['user.name'] === undefined) {
      const user = userOfEntity(entity);
      if (user) e['user.name'] = user;
    }
    if (isDottedQuad(entity)) e['source.ip'] = entity;
    else if (isInstanceId(entity)) e['host.name'] = entity;
  },
};
