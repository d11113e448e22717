/**
 * A `|cidr` condition over a named list as it grows (a deployment adds its offices, a provider's
 * published ranges): ns per event through the compiled selection (IPv4 ranges merged into
 * intervals and searched by halves, src/rules/cidr.ts CidrSet), against testing each range in
 * turn, as `|cidr` did before lists.
 */
import { loadPack } from '../src/cli/load-pack';
import { Cidr, inRanges } from '../src/rules/cidr';
import { compileSelection } from '../src/rules/selection';
import type { NormalizedEvent } from '../src/schema/event';
import { medianMs } from './measure';

const EVENTS = 100_000;

export async function cidrLists(runs: number): Promise<{ ranges: number; setNs: number; eachNs: number }[]> {
  // Addresses of every kind a flow or a login carries: private, public, IPv6.
  const events: NormalizedEvent[] = Array.from({ length: EVENTS }, (_, i) => ({
    'source.ip':
      i % 10 === 9
        ? `2001:db8::${(i % 4096).toString(16)}`
        : `${[10, 172, 203, 81][i % 4]}.${(i >> 2) & 255}.${(i >> 10) & 255}.${i & 255}`,
  }));
  const shipped = loadPack(['rules'], { checkRegexes: false })
    .pack.lists.find((l) => l.name === 'internal_networks')
    ?.values.map(String);
  if (!shipped) throw new Error('rules/lists has no internal_networks list');
  const results: { ranges: number; setNs: number; eachNs: number }[] = [];
  for (const size of [shipped.length, 100, 1000]) {
    // The shipped internal ranges, then /24s of a public block, as a list of office ranges grows.
    const ranges = [...shipped];
    for (let i = 0; ranges.length < size; i++) ranges.push(`81.${(i >> 8) & 255}.${i & 255}.0/24`);
    const { predicate } = compileSelection({ 'source.ip|cidr': ranges });
    const cidrs = ranges.map((r) => new Cidr(r));
    let hits = 0;
    const setMs = await medianMs(runs, () => {
      for (const e of events) if (predicate(e)) hits++;
    });
    const eachMs = await medianMs(runs, () => {
      for (const e of events) if (inRanges(String(e['source.ip']), cidrs)) hits--;
    });
    if (hits !== 0) throw new Error('the set and the ranges one by one decided differently');
    results.push({ ranges: size, setNs: (setMs * 1e6) / EVENTS, eachNs: (eachMs * 1e6) / EVENTS });
  }
  return results;
}
