import type {
  BucketRange,
  CounterIncrement,
  CounterResult,
  MarkerClaim,
  SetAdd,
  StateStore,
  TermClaim,
  TermClaimResult,
} from './state-store';

interface CounterItem {
  total: number;
  batches: Set<string>;
  expiresAt: number;
}
interface SetItem {
  members: Set<string>;
  expiresAt: number;
}
interface TermItem {
  owner: string;
  expiresAt: number;
}
interface MarkerItem {
  owner: string;
  expiresAt: number;
}

/** The embedded default: same semantics as the DynamoDB adapter, in process memory. */
export class MemoryStateStore implements StateStore {
  private readonly counters = new Map<string, Map<number, CounterItem>>();
  private readonly sets = new Map<string, Map<number, SetItem>>();
  private readonly terms = new Map<string, Map<string, TermItem>>();
  private readonly markers = new Map<string, MarkerItem>();
  readonly calls = { reads: 0, writes: 0 };

  async incrementCounters(batchId: string, increments: readonly CounterIncrement[], now: number): Promise<CounterResult[]> {
    return increments.map((inc) => {
      this.calls.writes++;
      const buckets = getOrCreate(this.counters, inc.key, () => new Map<number, CounterItem>());
      let item = buckets.get(inc.bucket);
      if (item && item.expiresAt <= now) item = undefined; // expired: TTL would have removed it
      if (!item) {
        item = { total: 0, batches: new Set(), expiresAt: inc.expiresAt };
        buckets.set(inc.bucket, item);
      }
      if (item.batches.has(batchId)) return { key: inc.key, bucket: inc.bucket, total: item.total, applied: false };
      item.batches.add(batchId);
      item.total += inc.delta;
      item.expiresAt = Math.max(item.expiresAt, inc.expiresAt);
      return { key: inc.key, bucket: inc.bucket, total: item.total, applied: true };
    });
  }

  async readCounters(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, number>>> {
    const out = new Map<string, Map<number, number>>();
    for (const r of ranges) {
      this.calls.reads++;
      const found = new Map<number, number>();
      for (const [bucket, item] of this.counters.get(r.key) ?? []) {
        if (bucket >= r.from && bucket <= r.to && item.expiresAt > now) found.set(bucket, item.total);
      }
      out.set(r.key, found);
    }
    return out;
  }

  async addToSets(adds: readonly SetAdd[], now: number): Promise<void> {
    for (const add of adds) {
      this.calls.writes++;
      const buckets = getOrCreate(this.sets, add.key, () => new Map<number, SetItem>());
      let item = buckets.get(add.bucket);
      if (!item || item.expiresAt <= now) {
        item = { members: new Set(), expiresAt: add.expiresAt };
        buckets.set(add.bucket, item);
      }
      if (item.members.size >= add.cap) continue;
      for (const m of add.members) item.members.add(m);
      item.expiresAt = Math.max(item.expiresAt, add.expiresAt);
    }
  }

  async readSets(ranges: readonly BucketRange[], now: number): Promise<Map<string, Map<number, string[]>>> {
    const out = new Map<string, Map<number, string[]>>();
    for (const r of ranges) {
      this.calls.reads++;
      const found = new Map<number, string[]>();
      for (const [bucket, item] of this.sets.get(r.key) ?? []) {
        if (bucket >= r.from && bucket <= r.to && item.expiresAt > now) found.set(bucket, [...item.members]);
      }
      out.set(r.key, found);
    }
    return out;
  }

  async claimTerms(claims: readonly TermClaim[], now: number): Promise<TermClaimResult[]> {
    return claims.map((c) => {
      this.calls.reads++;
      this.calls.writes++;
      const terms = getOrCreate(this.terms, c.key, () => new Map<string, TermItem>());
      let hadHistory = false;
      for (const [term, item] of terms) if (term !== c.term && item.expiresAt > now) hadHistory = true;
      const existing = terms.get(c.term);
      if (!existing || existing.expiresAt <= now || existing.owner === c.owner) {
        terms.set(c.term, { owner: c.owner, expiresAt: c.expiresAt });
        return { isNew: true, hadHistory };
      }
      existing.expiresAt = Math.max(existing.expiresAt, c.expiresAt);
      return { isNew: false, hadHistory };
    });
  }

  async claimMarkers(claims: readonly MarkerClaim[], now: number): Promise<boolean[]> {
    return claims.map((c) => {
      this.calls.writes++;
      const existing = this.markers.get(c.key);
      if (existing && existing.expiresAt > now && existing.owner !== c.owner) return false;
      this.markers.set(c.key, { owner: c.owner, expiresAt: c.expiresAt });
      return true;
    });
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = create();
    map.set(key, v);
  }
  return v;
}
