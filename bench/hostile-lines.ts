/**
 * Lines an attacker writes against the line gate (src/engine/line-gate.ts): a key-then-value term
 * of a compiled subscription filter (a 5xx rule over a JSON app's lines: `status.*5[0-9][0-9]`),
 * the key repeated and no value, as any client an app logs can send. The gate's test against the
 * same pattern as one JavaScript regex (backtracking from every key).
 */
import { PatternTest } from '../src/engine/line-gate';
import { medianMs } from './measure';

const PATTERN = '%status.*5[0-9][0-9]%';

export async function hostileLines(runs: number): Promise<{ chars: number; gateMs: number; regexMs: number | undefined }[]> {
  const gate = new PatternTest(PATTERN);
  const regex = new RegExp(PATTERN.slice(1, -1));
  const rows: { chars: number; gateMs: number; regexMs: number | undefined }[] = [];
  for (const chars of [50_000, 250_000]) {
    const line = 'status'.repeat(Math.floor(chars / 6));
    const gateMs = await medianMs(runs, () => gate.passes(line));
    // One regex over 250 KB takes seconds: timed at 50 KB only, once.
    const regexMs = chars <= 50_000 ? await medianMs(1, () => regex.test(line)) : undefined;
    rows.push({ chars, gateMs, regexMs });
  }
  return rows;
}
