/**
 * Untimed passes before the timed ones. Three, not one: in a fresh process the hot path's first
 * passes of the workload (about 300,000 events) run 15–25% slower than every pass after them —
 * V8's young generation is still growing and its allocation sites are still learning which
 * objects live long (the in-memory store's), so each scavenge copies several times what it does
 * later (`--trace-gc`: 80–150 ms of scavenges per pass in passes two and three, 40–50 ms from
 * the fourth on, on the same code). A detector's Lambda container serves millions of events, so
 * the bench reports what it runs at after that; `BENCH_WARMUP=1` shows the early passes.
 */
export const WARMUP_PASSES = Number(process.env.BENCH_WARMUP ?? 3);

/**
 * Runs `fn` WARMUP_PASSES times to warm up, then `runs` times; returns the median wall time in ms.
 * A full garbage collection before each timed run (with --expose-gc, as `npm run bench` runs)
 * keeps one run from paying for the garbage of the one before.
 */
export async function medianMs(runs: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP_PASSES; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    collectGarbage();
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** The middle value (the upper of the two middle ones for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  ratio: (n: number) => `${n.toFixed(2)}×`,
  usd: (n: number) => `$${n < 0.01 ? n.toFixed(4) : n.toFixed(2)}`,
  pct: (n: number) => `${(100 * n).toFixed(1)}%`,
};

/** A markdown table, columns padded as the formatter (Biome) lays them out, so the written report is already formatted. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(3, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${widths.map((w, i) => (r[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(head), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map((r) => line(r.map(String)))].join('\n');
}

/** A full garbage collection when the process runs with --expose-gc (as `npm run bench` does); nothing otherwise. */
export function collectGarbage(): void {
  const gc: unknown = Reflect.get(globalThis, 'gc');
  if (typeof gc === 'function') gc();
}

/**
 * Medians of several paths measured in turn: WARMUP_PASSES rounds of warm-up, then `runs` rounds
 * that time every path once (with a full GC before each). On a shared machine, drift slows every
 * path of a round alike instead of whichever happened to run then, so the ratios between paths hold.
 */
export async function interleavedMedians(
  runs: number,
  paths: Record<string, () => unknown | Promise<unknown>>,
): Promise<Map<string, number>> {
  const names = Object.keys(paths);
  for (let i = 0; i < WARMUP_PASSES; i++) for (const name of names) await paths[name]?.();
  const times = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < runs; r++) {
    for (const name of names) {
      collectGarbage();
      const start = performance.now();
      await paths[name]?.();
      times.get(name)?.push(performance.now() - start);
    }
  }
  return new Map([...times].map(([name, list]) => [name, median(list)]));
}
