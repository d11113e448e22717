import type { FieldValue } from '../schema/event';

/**
 * Keycloak's login events, as its `org.keycloak.events` logger writes them (enable with
 * `--spi-events-listener-jboss-logging-success-level=info`; errors are logged at WARN by default):
 *
 *   type="LOGIN_ERROR", realmId="6a2b…", realmName="master", clientId="account-console",
 *   userId="null", ipAddress="203.0.113.9", error="invalid_user_credentials", username="admin"
 *
 * (Keycloak before 24 writes the same list unquoted.) Every pair is kept as `keycloak.<key>`;
 * the ones rules need land on ECS names: the action, the outcome, the client address, the user.
 *
 * Admin events (realm setting "Save admin events") go to the same logger, led by the operation:
 *
 *   operationType="CREATE", realmId="6a2b…", realmName="master", clientId="…", userId="…",
 *   ipAddress="198.51.100.4", resourceType="REALM_ROLE_MAPPING", resourcePath="users/9f1c…/role-mappings/realm"
 *
 * They name the acting admin by id only (`user.id`); the user acted on, when the resource is one,
 * becomes `user.target.id`.
 */
const KEY_RE = /^[A-Za-z_][\w.-]{0,63}$/;
/** Longest value kept; a line past that is read no further. */
const MAX_VALUE = 4096;

/**
 * The `key=value, key="value"` pairs in order, read in one pass (a regex over this list
 * backtracks quadratically on a line of `a=a=a=…`, which anyone can type as a user name).
 */
export function keycloakPairs(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq === -1) break;
    const key = text.slice(i, eq);
    if (!KEY_RE.test(key)) break;
    let value: string;
    let next: number;
    if (text.charCodeAt(eq + 1) === QUOTE) {
      let j = eq + 2;
      let unescaped = '';
      let from = j;
      while (j < text.length && text.charCodeAt(j) !== QUOTE) {
        if (text.charCodeAt(j) === BACKSLASH) {
          unescaped += text.slice(from, j);
          from = j + 1;
          j += 2;
        } else j++;
      }
      if (j >= text.length) break; // unterminated
      value = unescaped + text.slice(from, j);
      next = j + 1;
    } else {
      const comma = text.indexOf(', ', eq + 1);
      next = comma === -1 ? text.length : comma;
      value = text.slice(eq + 1, next);
    }
    if (value.length > MAX_VALUE) break;
    pairs.push([key, value]);
    if (next >= text.length) break;
    if (!text.startsWith(', ', next)) break;
    i = next + 2;
  }
  return pairs;
}

const QUOTE = 34;
const BACKSLASH = 92;
/** A login event starts with its type, an admin event with its operation (the parser's pattern and JSON logging alike). */
export const KEYCLOAK_EVENT_START = '(?:type|operationType)=';
const EVENT_START_RE = new RegExp(`^${KEYCLOAK_EVENT_START}`);

/**
 * What parseKeycloakEvent computes rather than copies: the category, and an admin event's action
 * and outcome. Only on lines naming the events logger, which the filter compiler relies on.
 */
export const KEYCLOAK_DERIVES = ['event.category', 'event.action', 'event.outcome'];
/** The logger Keycloak writes its events with: every event line, text or JSON, names it. */
export const KEYCLOAK_LOGGER = 'org.keycloak.events';
/** The normalized fields parseKeycloakEvent writes (besides `keycloak.<key>` for each pair), for the field check. */
export const KEYCLOAK_FIELDS = [
  ...KEYCLOAK_DERIVES,
  'event.reason',
  'source.address',
  'user.name',
  'user.id',
  'user.target.id',
  'keycloak.realm',
];

const USER_RESOURCE_RE = /^users\/([\w-]{1,64})(?:\/|$)/;

/** Realm-management and master-realm roles that make a user an administrator. */
const ADMIN_ROLES = new Set([
  'admin',
  'realm-admin',
  'create-realm',
  'manage-realm',
  'manage-users',
  'manage-clients',
  'manage-authorization',
  'manage-identity-providers',
  'impersonation',
]);

/**
 * An admin event's action, in the names the privileged-change rules use: a role mapping created is
 * `role_grant` (`admin_role_assigned` when the representation, if the realm includes it, names an
 * administrator role), removed `role_revoke`; a group joined `group_membership_grant`; a password
 * set by an admin `password_reset_by_admin`; anything else `admin_<operation>_<resource>`.
 */
function adminAction(operation: string, resource: string, path: string, representation: string | undefined): string {
  const op = operation.toLowerCase();
  if (resource === 'REALM_ROLE_MAPPING' || resource === 'CLIENT_ROLE_MAPPING') {
    if (op === 'delete') return 'role_revoke';
    if (op === 'create') return namesAdminRole(representation) ? 'admin_role_assigned' : 'role_grant';
  }
  if (resource === 'GROUP_MEMBERSHIP' && op === 'create') return 'group_membership_grant';
  if (resource === 'USER' && op === 'action' && path.endsWith('/reset-password')) return 'password_reset_by_admin';
  return `admin_${op}_${resource.toLowerCase() || 'unknown'}`;
}

/** Whether a role mapping's representation (a JSON array of roles) grants an administrator role. */
function namesAdminRole(representation: string | undefined): boolean {
  if (!representation) return false;
  let roles: unknown;
  try {
    roles = JSON.parse(representation);
  } catch {
    return false;
  }
  if (!Array.isArray(roles)) return false;
  return roles.some((r: unknown) => {
    const name: unknown = r !== null && typeof r === 'object' ? Reflect.get(r, 'name') : undefined;
    return typeof name === 'string' && ADMIN_ROLES.has(name);
  });
}

export function parseKeycloakEvent(text: string, out: Record<string, FieldValue>): void {
  const seen = new Set<string>();
  for (const [key, value] of keycloakPairs(text)) {
    // The first pair of a name wins: Keycloak writes its own fields (ipAddress, error) before the
    // details, so a user name typed as `x", ipAddress="10.0.0.1` cannot move the event elsewhere.
    if (seen.has(key)) continue;
    seen.add(key);
    if (value === '' || value === 'null') continue;
    out[`keycloak.${key}`] = value;
  }
  const get = (k: string) => {
    const v = out[`keycloak.${k}`];
    return typeof v === 'string' ? v : undefined;
  };
  const type = get('type');
  const operation = get('operationType');
  const error = get('error');
  if (type) {
    out['event.action'] = type.toLowerCase();
    out['event.outcome'] = type.endsWith('_ERROR') ? 'failure' : 'success';
    out['event.category'] = 'authentication';
  } else if (operation) {
    const path = get('resourcePath') ?? '';
    out['event.action'] = adminAction(operation, get('resourceType') ?? '', path, get('representation'));
    out['event.outcome'] = error ? 'failure' : 'success';
    out['event.category'] = 'iam';
    const target = USER_RESOURCE_RE.exec(path);
    if (target?.[1]) out['user.target.id'] = target[1];
  }
  if (error) out['event.reason'] = error;
  const ip = get('ipAddress');
  if (ip) out['source.address'] = ip;
  // `username` is what was typed (also for users that do not exist); `userId` only once known.
  const username = get('username');
  if (username) out['user.name'] = username;
  const userId = get('userId');
  if (userId) out['user.id'] = userId;
  const realm = get('realmName') ?? get('realmId');
  if (realm) out['keycloak.realm'] = realm;
}

/**
 * Keycloak with JSON logging (`--log-console-output=json`, common on Kubernetes): the same list
 * arrives as the `message` of a `loggerName: org.keycloak.events` line. Reads it into the
 * flattened line; any other line is left as it is.
 */
export function readKeycloakJson(fields: Record<string, FieldValue>): void {
  const message = fields.message;
  if (fields.loggerName !== KEYCLOAK_LOGGER || typeof message !== 'string' || !EVENT_START_RE.test(message)) return;
  parseKeycloakEvent(message, fields);
  fields['event.dataset'] ??= 'keycloak.event';
}
