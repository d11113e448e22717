import { describe, expect, it } from 'vitest';
import { isolatedRounds } from '../bench/isolated';

describe('bench isolated rows', () => {
  it('times each path in a process of its own, in turn, and reports what each pass decided', async () => {
    const rounds = 2;
    const run = await isolatedRounds([{ name: 'floor' }, { name: 'ten', rules: 10 }], rounds, {
      BENCH_EVENTS: '1500',
      BENCH_WARMUP: '1',
    });
    expect(run.events).toBe(1500);
    const floor = run.passes.get('floor') ?? [];
    const ten = run.passes.get('ten') ?? [];
    // The round not counted is left out: as many passes as rounds.
    expect(floor).toHaveLength(rounds);
    expect(ten).toHaveLength(rounds);
    for (const pass of [...floor, ...ten]) expect(pass.ms).toBeGreaterThan(0);
    // The floor decides nothing; the pack writes state, and every pass (from an empty store) the same.
    expect(floor.every((p) => p.alerts === 0 && p.writes === 0)).toBe(true);
    expect(ten[0]?.writes).toBeGreaterThan(0);
    expect(ten[1]).toMatchObject({ alerts: ten[0]?.alerts, reads: ten[0]?.reads, writes: ten[0]?.writes });
  }, 120_000);
});
