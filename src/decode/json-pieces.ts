import { randomBytes } from 'node:crypto';

/**
 * JSON.parse of a subscription payload's bytes without making one string of them.
 *
 * V8 puts a string over 128 KiB in its large-object space, on pages mapped for it alone: each of
 * a busy web server's 650 KB payloads cost about 2 ms of page faults to decode into one string (a
 * scratch loop: 274 MB/s for a 460 KB string, 9 GB/s for a 23 KB one, whatever the encoding), and
 * a Lambda's microVM pays for its page faults as this VM does. So a large payload is parsed in
 * pieces of at most a few tens of KB, cut where one log event ends and the next begins.
 *
 * Why the value is JSON.parse's, whatever the bytes hold (the cuts are only a guess at where events
 * end; the checks make the answer exact, and anything else falls back to one JSON.parse):
 * - The cuts are at `},{"id":"` (how CloudWatch Logs writes its events one after another), between
 *   two ASCII bytes, so each piece decodes as the same characters as the whole.
 * - The middle pieces each parse as `[` piece `]`: each is a run of complete array elements, and
 *   JSON values do not depend on what surrounds them.
 * - The rest — the head up to the first cut, then a sentinel string, then the tail after the last —
 *   parses as one document: only outside a string and inside an array can `,"sentinel",` followed
 *   by `{` be valid text, so the whole document is this one with the sentinel's place holding the
 *   middle pieces' elements.
 * - The top-level `logEvents` holds the sentinel (a string with a NUL and 16 random bytes, which no
 *   line can forge): so it is that array, and no later key of the same name replaced it.
 */

/** Payloads up to this size are one string (under V8's 128 KiB large-object size even when every character takes two bytes). */
const WHOLE_MAX_BYTES = 60 * 1024;
/** Bytes per middle piece, at least (a piece ends where the next event starts). */
const PIECE_BYTES = 32 * 1024;
const CUT = Buffer.from('},{"id":"');

const SENTINEL = `\u0000${randomBytes(16).toString('hex')}`;
const SENTINEL_JSON = JSON.stringify(SENTINEL);

/** Where a payload's bytes are cut: the offsets of each `}` that ends a piece, or undefined to parse it whole. */
export function pieceCuts(bytes: Buffer): number[] | undefined {
  if (bytes.length <= WHOLE_MAX_BYTES) return undefined;
  const first = bytes.indexOf(CUT);
  const last = bytes.lastIndexOf(CUT);
  if (first === -1 || last === first) return undefined;
  const cuts = [first];
  for (let at = bytes.indexOf(CUT, first + PIECE_BYTES); at !== -1 && at < last; at = bytes.indexOf(CUT, at + PIECE_BYTES)) cuts.push(at);
  cuts.push(last);
  return cuts;
}

/** JSON.parse of UTF-8 bytes, equal to `JSON.parse(bytes.toString('utf8'))` (which it falls back to, and whose error it throws). */
export function parseJsonBytes(bytes: Buffer): unknown {
  const cuts = pieceCuts(bytes);
  const pieces = cuts && parseInPieces(bytes, cuts);
  return pieces ? pieces.value : JSON.parse(bytes.toString('utf8'));
}

/** The payload parsed in the pieces `cuts` make, or undefined where they are not between its events (or it is not JSON). */
export function parseInPieces(bytes: Buffer, cuts: readonly number[]): { value: unknown } | undefined {
  const middle: unknown[][] = [];
  let rest: unknown;
  try {
    for (let i = 0; i + 1 < cuts.length; i++) {
      const piece: unknown = JSON.parse(`[${bytes.toString('utf8', (cuts[i] ?? 0) + 2, (cuts[i + 1] ?? 0) + 1)}]`);
      if (!Array.isArray(piece)) return undefined;
      middle.push(piece);
    }
    const head = bytes.toString('utf8', 0, (cuts[0] ?? 0) + 1);
    const tail = bytes.toString('utf8', (cuts[cuts.length - 1] ?? 0) + 2);
    rest = JSON.parse(`${head},${SENTINEL_JSON},${tail}`);
  } catch {
    return undefined;
  }
  if (typeof rest !== 'object' || rest === null || !('logEvents' in rest)) return undefined;
  const events = rest.logEvents;
  const at = Array.isArray(events) ? events.indexOf(SENTINEL) : -1;
  if (!Array.isArray(events) || at === -1) return undefined;
  const joined: unknown[] = events.slice(0, at);
  for (const piece of middle) for (const e of piece) joined.push(e);
  for (let i = at + 1; i < events.length; i++) joined.push(events[i]);
  return { value: Object.assign(rest, { logEvents: joined }) };
}
