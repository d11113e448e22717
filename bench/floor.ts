import { gunzipSync } from 'node:zlib';
import { parseJsonBytes } from '../src/decode/json-pieces';

/**
 * The physical floor: base64 + gunzip + JSON.parse of every payload, and nothing else. Every
 * parsed payload is kept until the pass ends (as when the goal was set against it), so the
 * parsing cannot be optimized away.
 */
export function decodeFloor(lambdaEvents: readonly { awslogs: { data: string } }[]): unknown[] {
  const parsed: unknown[] = [];
  for (const e of lambdaEvents) parsed.push(JSON.parse(gunzipSync(Buffer.from(e.awslogs.data, 'base64')).toString('utf8')));
  return parsed;
}

/**
 * The floor as the detector decodes: a payload over 60 KB parsed in pieces between its events
 * (src/decode/json-pieces.ts), never one string in V8's large-object space. Reported beside the
 * floor so the path's ratio to it can be read against a floor that decodes as well as the path.
 */
export function decodeFloorInPieces(lambdaEvents: readonly { awslogs: { data: string } }[]): unknown[] {
  const parsed: unknown[] = [];
  for (const e of lambdaEvents) parsed.push(parseJsonBytes(gunzipSync(Buffer.from(e.awslogs.data, 'base64'))));
  return parsed;
}
