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

/** What parseKeycloakEvent computes rather than copies (the action is the type lower-cased, which a case-insensitive filter still finds). */
export const KEYCLOAK_DERIVES = ['event.category'];

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
  if (type) {
    out['event.action'] = type.toLowerCase();
    out['event.outcome'] = type.endsWith('_ERROR') ? 'failure' : 'success';
    out['event.category'] = 'authentication';
  }
  const error = get('error');
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
  if (fields.loggerName !== 'org.keycloak.events' || typeof message !== 'string' || !message.startsWith('type=')) return;
  parseKeycloakEvent(message, fields);
  fields['event.dataset'] ??= 'keycloak.event';
}
