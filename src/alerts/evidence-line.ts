/**
 * An evidence line as a message shows it when the line is longer than the message keeps. A
 * CloudTrail record opens with its version and the caller's identity (about 300 characters)
 * before it says what was called and with what: cut at the message's length, every CloudTrail
 * alert showed who (which its entity already says) and never what. A JSON object line is shown
 * with the members that say what happened first — its other members after them, each as written
 * (the alert's JSON keeps the line itself).
 */

/**
 * Members a responder reads first, in this order, where a line has them: CloudTrail's (the call,
 * its refusal, its request, its caller's address and client), EKS audit's (verb, resource, answer), WAF's
 * (what the rule did, and to which request), Route 53 Resolver query logs' (the name asked, its
 * answer, the asker). Identity blocks (`userIdentity`, `user`) stay where the line has them.
 */
const FIRST_MEMBERS = [
  'eventName',
  'eventSource',
  'errorCode',
  'requestParameters',
  'sourceIPAddress',
  'errorMessage',
  'userAgent',
  'responseElements',
  'additionalEventData',
  'verb',
  'requestURI',
  'objectRef',
  'responseStatus',
  'sourceIPs',
  'action',
  'terminatingRuleId',
  'httpRequest',
  'query_name',
  'query_type',
  'rcode',
  'srcaddr',
];
const FIRST_RANK = new Map(FIRST_MEMBERS.map((name, i) => [name, i]));

/** `message`, at most `max` characters, a long JSON object line's telling members first (`reordered`). */
export function evidenceShown(message: string, max: number): { text: string; reordered: boolean } {
  if (message.length <= max) return { text: message, reordered: false };
  const members = topLevelMembers(message);
  if (!members?.some((m) => FIRST_RANK.has(m.key))) return { text: message.slice(0, max), reordered: false };
  const rank = (m: Member) => FIRST_RANK.get(m.key) ?? FIRST_MEMBERS.length;
  // A stable sort: the members named above in their order, then the rest as the line has them.
  const ordered = members.map((m, i) => ({ m, i })).sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i);
  return { text: `{${ordered.map(({ m }) => m.text).join(',')}}`.slice(0, max), reordered: true };
}

interface Member {
  /** The member's name as written between its quotes (escapes kept: it is only compared). */
  key: string;
  /** `"name":value`, as the line writes it. */
  text: string;
}

/**
 * The complete top-level members of a JSON object text, in order — of a line cut short too (an
 * alert keeps 2,048 characters of a line): the members before the cut. Undefined: not an object.
 * One pass, no recursion: a line an attacker nests deeply costs its length, nothing more.
 */
function topLevelMembers(text: string): Member[] | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return undefined;
  const members: Member[] = [];
  i = skipSpace(text, i + 1);
  while (text[i] === '"') {
    const start = i;
    const keyEnd = stringEnd(text, i);
    if (keyEnd === -1) break;
    i = skipSpace(text, keyEnd);
    if (text[i] !== ':') break;
    const valueEnd = valueEndAt(text, skipSpace(text, i + 1));
    if (valueEnd === -1) break;
    members.push({ key: text.slice(start + 1, keyEnd - 1), text: text.slice(start, valueEnd) });
    i = skipSpace(text, valueEnd);
    if (text[i] !== ',') break;
    i = skipSpace(text, i + 1);
  }
  return members;
}

/** JSON's whitespace: space, tab, line feed, carriage return. */
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text[i])) i++;
  return i;
}

/** The index after the string opening at `i` (its closing quote's next), or -1 when the text ends first. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return -1;
}

/** The index after the value starting at `i`, or -1 when the text ends inside it. */
function valueEndAt(text: string, i: number): number {
  const first = text[i];
  if (first === undefined) return -1;
  if (first === '"') return stringEnd(text, i);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const c = text[j];
      if (c === '"') {
        j = stringEnd(text, j) - 1;
        if (j < 0) return -1;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter, which must be there (a cut scalar is not whole).
  let j = i;
  while (j < text.length && text[j] !== ',' && text[j] !== '}' && text[j] !== ']' && !isSpace(text[j])) j++;
  return j < text.length && j > i ? j : -1;
}
