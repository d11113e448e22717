import { describe, expect, it } from 'vitest';
import { hubSizing } from '../bench/hub-sizing';

const base = {
  eventsPerSecondPerInvocation: 1000,
  recordBytesPerEvent: 40,
  eventsPerRecord: 50,
  batchSize: 100,
  pipelineUsdPerMillion: 0.5,
  lambdaUsdPerMillion: 0.01,
};

describe('hub sizing model', () => {
  it('is read-bound when the detector is the slower side: one shard per ten concurrent invocations', () => {
    const s = hubSizing({ ...base, eventsPerSecond: 100_000 });
    expect(s.concurrency).toBe(100);
    expect(s.readShards).toBe(10);
    // 100,000 × 40 B = 3.8 MiB/s → 4 shards; 2,000 records/s → 2 shards.
    expect(s.writeShards).toBe(4);
    expect(s.shards).toBe(10);
  });
  it('is write-bound for large events, and the per-event stream cost falls as the fixed hourly part is shared', () => {
    const big = hubSizing({ ...base, eventsPerSecond: 10_000, recordBytesPerEvent: 2_000, eventsPerSecondPerInvocation: 100_000 });
    expect(big.writeShards).toBe(20);
    expect(big.shards).toBe(20);
    const low = hubSizing({ ...base, eventsPerSecond: 1_000 });
    const high = hubSizing({ ...base, eventsPerSecond: 100_000 });
    expect(high.onDemandUsdPerMillion).toBeLessThan(low.onDemandUsdPerMillion);
    expect(high.totalUsdPerMillion).toBeGreaterThan(base.pipelineUsdPerMillion);
  });
});
