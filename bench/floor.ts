import { gunzipSync } from 'node:zlib';

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
