/**
 * Lines whose field names an attacker chooses (an app that logs request headers as an object):
 * normalization time per line for JSON lines and Laravel-style JSON contexts of 30 never-seen
 * keys each, against the same shapes with the app's own few keys.
 */
import { Normalizer } from '../src/parse/normalize';
import { medianMs } from './measure';

const LINES = 20_000;

export async function hostileKeys(runs: number): Promise<{ shape: string; benignUs: number; hostileUs: number }[]> {
  const normalizer = new Normalizer();
  // Deterministic "random" names: a new key for every field of every line.
  let seed = 7;
  const name = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return `k${seed.toString(36)}`;
  };
  const hostile = Array.from({ length: LINES }, () => JSON.stringify(Object.fromEntries(Array.from({ length: 30 }, () => [name(), 'x']))));
  const benign = Array.from({ length: LINES }, (_, i) =>
    JSON.stringify({ level: 'info', msg: `request ${i}`, user: { id: `u${i % 50}`, ip: '10.0.0.1' }, took: i % 300 }),
  );
  const laravel = (json: string) => `[2025-03-03 10:00:00] production.WARNING: Failed login ${json}`;
  const time = (lines: readonly string[]) =>
    medianMs(runs, () => {
      for (const line of lines) normalizer.normalize(line, { logGroup: '/app/api', logStream: 's', id: '1', timestamp: 0 });
    }).then((ms) => (ms * 1000) / lines.length);
  return [
    { shape: 'JSON line', benignUs: await time(benign), hostileUs: await time(hostile) },
    { shape: 'Laravel line, JSON context', benignUs: await time(benign.map(laravel)), hostileUs: await time(hostile.map(laravel)) },
  ];
}
