import { gunzipSync } from 'node:zlib';
import { parseJsonBytes } from '../src/decode/json-pieces';

/**
 * The physical floor: base64 + gunzip + JSON.parse of every payload, and nothing else. Every
 * parsed payload is kept until the pass ends (as when the goal was set against it), so the
 * parsing cannot be optimized away. `inPieces`: a payload over 60 KB parsed in pieces between its
 * events, as the detector decodes (src/decode/json-pieces.ts), never one string in V8's
 * large-object space — reported beside the floor, so the path's ratio can also be read against a
 * floor that decodes as well as the path does.
 */
export function decodeFloor(lambdaEvents: readonly { awslogs: { data: string } }[], inPieces = false): unknown[] {
  const parsed: unknown[] = [];
  for (const e of lambdaEvents) {
    const bytes = gunzipSync(Buffer.from(e.awslogs.data, 'base64'));
    parsed.push(inPieces ? parseJsonBytes(bytes) : JSON.parse(bytes.toString('utf8')));
  }
  return parsed;
}
