import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { z } from 'zod';
import { formatIssues } from '../schema/issues';
import { parseJsonBytes } from './json-pieces';
import type { Skip } from './skips';

/** The Lambda event CloudWatch Logs sends to a subscribed function. */
export const SubscriptionEvent = z.strictObject({
  awslogs: z.strictObject({ data: z.string() }),
});

/**
 * The latest delivery time a payload may carry: the end of year 9999. CloudWatch Logs takes no
 * event more than 2 hours ahead; a replayed file's larger number is not a time, and dates past
 * JavaScript's range (year 275760) throw where an alert writes its times.
 */
export const LATEST_DELIVERY_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export const LogEvent = z.object({
  id: z.string().min(1),
  timestamp: z.number().int().nonnegative().max(LATEST_DELIVERY_MS),
  message: z.string(),
});
export type LogEvent = z.infer<typeof LogEvent>;

/** The decoded subscription payload (contract of CloudWatch Logs). */
export const SubscriptionPayload = z.object({
  owner: z.string().optional(),
  logGroup: z.string().min(1),
  logStream: z.string().min(1),
  subscriptionFilters: z.array(z.string()).optional(),
  messageType: z.enum(['DATA_MESSAGE', 'CONTROL_MESSAGE']),
  logEvents: z.array(LogEvent),
});
export type SubscriptionPayload = z.infer<typeof SubscriptionPayload>;

export type DecodeResult = { ok: true; payload: SubscriptionPayload } | { ok: false; skip: Skip };

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
/** Guards against gzip bombs; real payloads are at most a few MB decompressed. */
const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;
/** Deflate's largest expansion: 1,032 bytes out per byte in (258-byte matches at 2 bits each, about). */
const MAX_DEFLATE_RATIO = 1032;

/**
 * The output buffer gunzip fills: the size the gzip trailer records (ISIZE, the uncompressed
 * length mod 2^32), and one byte more, so the whole JSON is one buffer — no pieces to allocate and then
 * copy into one (a 650 KB web server payload inflated in 64 KB pieces before; the workload's
 * payloads inflate in 0.84× the time this way). The trailer is only a hint: a wrong one costs
 * more pieces, never a different output, and the size is bounded by what the compressed bytes
 * can expand to and by the output cap.
 */
function inflateChunkSize(gzip: Buffer): number {
  const recorded = gzip.length >= 18 ? gzip.readUInt32LE(gzip.length - 4) + 1 : zlibConstants.Z_DEFAULT_CHUNK;
  return Math.max(zlibConstants.Z_MIN_CHUNK, Math.min(recorded, gzip.length * MAX_DEFLATE_RATIO, MAX_DECOMPRESSED_BYTES));
}

/** The `=` that pad base64's last group (at most two). */
function padding(data: string): number {
  if (data.charCodeAt(data.length - 1) !== EQUALS) return 0;
  return data.charCodeAt(data.length - 2) === EQUALS ? 2 : 1;
}
const EQUALS = 61;

function fail(reason: Skip['reason'], where: string, detail: string): DecodeResult {
  return { ok: false, skip: { reason, where, detail, events: 0 } };
}

/** Decodes `awslogs.data` (base64 of gzip of JSON) and validates the payload shape. */
export function decodeAwslogsData(data: string, where = 'payload'): DecodeResult {
  let bytes = Buffer.from(data, 'base64');
  // Node's decoder skips what is not base64, so only text it read whole decodes to exactly this
  // size: that answers for what Lambda delivers without two more scans of a megabyte of text.
  // Anything else (whitespace, stray characters) takes the full check. (The decoder also reads
  // base64url's `-` and `_`; such text passes here, and gunzip judges the bytes.)
  if (data.length === 0 || data.length % 4 !== 0 || bytes.length !== (data.length / 4) * 3 - padding(data)) {
    const compact = data.replace(/\s+/g, '');
    if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64_RE.test(compact)) {
      return fail('not_base64', where, 'awslogs.data is not valid base64');
    }
    bytes = Buffer.from(compact, 'base64');
  }
  let json: Buffer;
  try {
    json = gunzipSync(bytes, { maxOutputLength: MAX_DECOMPRESSED_BYTES, chunkSize: inflateChunkSize(bytes) });
  } catch (err) {
    // A gzip bomb stops at the output cap: that is a payload too large to decode, not bad gzip.
    if (err instanceof RangeError || (err instanceof Error && 'code' in err && err.code === 'ERR_BUFFER_TOO_LARGE')) {
      return fail('too_large', where, `awslogs.data decompresses to more than ${MAX_DECOMPRESSED_BYTES / 2 ** 20} MiB`);
    }
    return fail('not_gzip', where, `awslogs.data is not gzip: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parsePayloadJson(json, where);
}

/** The payload in its UTF-8 bytes (a large payload's parsed in pieces: see ./json-pieces.ts). */
function parsePayloadJson(json: Buffer, where: string): DecodeResult {
  let value: unknown;
  try {
    value = parseJsonBytes(json);
  } catch (err) {
    return fail('not_json', where, `payload is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return validatePayload(value, where);
}

/**
 * The payload's shape checked by hand: zod per log event is a measurable share of the hot path,
 * so it only runs to explain a payload that fails this check.
 */
function isPayload(value: unknown): value is SubscriptionPayload {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  if (typeof p.logGroup !== 'string' || p.logGroup === '' || typeof p.logStream !== 'string' || p.logStream === '') return false;
  if (p.messageType !== 'DATA_MESSAGE' && p.messageType !== 'CONTROL_MESSAGE') return false;
  if (p.owner !== undefined && typeof p.owner !== 'string') return false;
  if (
    p.subscriptionFilters !== undefined &&
    !(Array.isArray(p.subscriptionFilters) && p.subscriptionFilters.every((f) => typeof f === 'string'))
  )
    return false;
  if (!Array.isArray(p.logEvents)) return false;
  for (const e of p.logEvents as unknown[]) {
    if (typeof e !== 'object' || e === null) return false;
    const { id, timestamp, message } = e as Record<string, unknown>;
    if (typeof id !== 'string' || id === '' || typeof message !== 'string') return false;
    if (typeof timestamp !== 'number' || !Number.isInteger(timestamp) || timestamp < 0 || timestamp > LATEST_DELIVERY_MS) return false;
  }
  return true;
}

export function validatePayload(value: unknown, where: string): DecodeResult {
  if (isPayload(value)) return { ok: true, payload: value };
  const parsed = SubscriptionPayload.safeParse(value);
  if (!parsed.success) {
    return fail('bad_shape', where, `payload does not have the CloudWatch Logs shape: ${formatIssues(parsed.error, '; ')}`);
  }
  return { ok: true, payload: parsed.data };
}

/** Decodes a Lambda invocation event; anything not of the subscription shape is a bad_shape skip. */
export function decodeLambdaEvent(event: unknown, where = 'lambda event'): DecodeResult {
  const data = awslogsData(event);
  if (data !== undefined) return decodeAwslogsData(data, where);
  // zod only explains the event that fails the check by hand (one per invocation, but its parse
  // cost more than the rest of a few-line delivery's decoding).
  const parsed = SubscriptionEvent.safeParse(event);
  if (!parsed.success) {
    return fail('bad_shape', where, `event is not {"awslogs":{"data":...}}: ${formatIssues(parsed.error, '; ')}`);
  }
  return decodeAwslogsData(parsed.data.awslogs.data, where);
}

/** `awslogs.data` of an event of exactly SubscriptionEvent's shape (no other keys, as its strict objects require), else undefined. */
function awslogsData(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return undefined;
  const keys = Object.keys(event);
  if (keys.length !== 1 || keys[0] !== 'awslogs' || !('awslogs' in event)) return undefined;
  const awslogs = event.awslogs;
  if (typeof awslogs !== 'object' || awslogs === null || Array.isArray(awslogs)) return undefined;
  const inner = Object.keys(awslogs);
  if (inner.length !== 1 || inner[0] !== 'data' || !('data' in awslogs)) return undefined;
  return typeof awslogs.data === 'string' ? awslogs.data : undefined;
}

/** Encodes a payload the way CloudWatch Logs does (used by the demo generator and tests). */
export function encodePayload(payload: SubscriptionPayload): { awslogs: { data: string } } {
  return { awslogs: { data: gzipSync(Buffer.from(JSON.stringify(payload))).toString('base64') } };
}
