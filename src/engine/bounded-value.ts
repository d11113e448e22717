import { createHash } from 'node:crypto';

/**
 * Event values become store keys, set members, new-term claims and alert entities, and an
 * attacker chooses them: one login with a 3 KB user name made a DynamoDB key over its 2,048-byte
 * limit and failed its whole batch on every retry. Values longer than this are kept as a
 * readable prefix and a digest of the whole value, so equal values still meet and different
 * ones stay apart. At most 3 bytes per character in UTF-8, so a key of four bounded values and
 * a rule id stays well under 2,048 bytes.
 */
export const MAX_VALUE_CHARS = 128;
/**
 * Distinct-value set members are only compared, never shown, and a set item holds up to 1,000 of
 * them: at 64 characters (3 bytes each at most) an item stays under half of DynamoDB's 400 KB.
 */
export const MAX_MEMBER_CHARS = 64;

/** Separates the prefix from the digest in a bounded value. */
const MARK = '…#';

export function boundedValue(value: string, maxChars = MAX_VALUE_CHARS): string {
  if (value.length <= maxChars) return value;
  const prefix = maxChars / 2;
  // Never cut a surrogate pair in half: a lone surrogate is not valid UTF-8 for DynamoDB.
  const cut = isHighSurrogate(value.charCodeAt(prefix - 1)) ? prefix - 1 : prefix;
  return `${value.slice(0, cut)}${MARK}${createHash('sha256').update(value).digest('base64url').slice(0, 22)}`;
}

/** The part of a (possibly bounded) value that appears in the log line: what a log search can look for. */
export function searchablePart(value: string): string {
  if (value.length > MAX_VALUE_CHARS || value.length < MARK.length + 22) return value;
  const at = value.length - 22 - MARK.length;
  return value.startsWith(MARK, at) ? value.slice(0, at) : value;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
