import { decodeLambdaEvent } from '../src/decode/cloudwatch';
import { SkipLedger } from '../src/decode/skips';
import { normalizePayload } from '../src/engine/pipeline';
import { FlowLogParser } from '../src/parse/flow-log-format';
import { benchSetup } from './setup';
const setup = benchSetup(100_000);
const { normalizer, lambdaEvents } = setup;
const decoded = lambdaEvents.map((e) => { const d = decodeLambdaEvent(e); if (!d.ok) throw new Error(); return d.payload; }).filter(p => p.logGroup === 'vpc/prod-flows');
const lines = decoded.flatMap(p => p.logEvents.map(e => e.message));
const parser = new FlowLogParser();
function time(name: string, fn: () => void) {
  let best = Infinity;
  for (let r = 0; r < 20; r++) { const t = performance.now(); fn(); best = Math.min(best, performance.now() - t); }
  console.log(name.padEnd(20), ((best * 1000) / lines.length).toFixed(3), 'µs/line');
}
time('split', () => { for (const l of lines) l.split(' '); });
time('parse', () => { for (const l of lines) parser.parse(l); });
time('normalize', () => { for (const p of decoded) normalizePayload(p, normalizer, new SkipLedger()); });
const ctx = { logGroup: 'vpc/prod-flows', logStream: 's', id: '1', timestamp: 0 };
const src = normalizer.sourceFor('vpc/prod-flows', lines[0]);
console.log(src.name, src.parsers.map(p => p.name));
time('normalizer.normalize', () => { for (const l of lines) normalizer.normalize(l, ctx, src); });
console.log(lines[0]);
console.log(normalizer.normalize(lines[0]!, ctx, src));
time('sourceFor', () => { for (const l of lines) normalizer.sourceFor('vpc/prod-flows', l); });
time('sourceFor+normalize', () => { for (const l of lines) normalizer.normalize(l, ctx, normalizer.sourceFor('vpc/prod-flows', l)); });
const ctx2 = { ...ctx, owner: '111122223333' };
time('normalize+owner', () => { for (const l of lines) normalizer.normalize(l, ctx2, src); });
time('normalize+push', () => { let a: unknown[] = []; for (const l of lines) { const r = normalizer.normalize(l, ctx, src); a.push(r); if (a.length > 84) a = []; } });
import { ParseStats } from '../src/parse/parse-stats';
time('normalize+stats', () => { const s = new ParseStats(); for (const l of lines) { const r = normalizer.normalize(l, ctx, src); s.record('vpc/prod-flows', l, r.ok && r.parsed, false); } });
time('ctx.id', () => { let i = 0; for (const p of decoded) for (const e of p.logEvents) { ctx.id = e.id; ctx.timestamp = e.timestamp; normalizer.normalize(e.message, ctx, src); } });
time('normalize again', () => { for (const p of decoded) normalizePayload(p, normalizer, new SkipLedger()); });
time('no some', () => { for (const p of decoded) { const s = new SkipLedger(); const ps = new ParseStats(); const ctx3 = { logGroup: p.logGroup, logStream: p.logStream, id: '', timestamp: 0, owner: p.owner }; const ev = []; for (const e of p.logEvents) { ctx3.id = e.id; ctx3.timestamp = e.timestamp; const r = normalizer.normalize(e.message, ctx3, normalizer.sourceFor(p.logGroup, e.message)); if (!r.ok) continue; ev.push(r.event); ps.record(p.logGroup, e.message, r.parsed, r.timeFallback); } } });
const evs = decoded.map(p => normalizePayload(p, normalizer, new SkipLedger()));
time('some auditd', () => { for (const e of evs) e.some((x) => x['auditd.serial'] !== undefined); });
time('some in', () => { for (const e of evs) e.some((x) => 'auditd.serial' in x); });
time('dataset', () => { for (const e of evs) e.some((x) => x['event.dataset'] === 'auditd'); });
import { joinAuditRecords } from '../src/parse/auditd';
function np2(payload: any, normalizer: any, skips: SkipLedger, parse = new ParseStats()) {
  const events: any[] = [];
  const explicit = normalizer.groupSource(payload.logGroup);
  const ctx = { logGroup: payload.logGroup, logStream: payload.logStream, id: '', timestamp: 0, owner: payload.owner };
  for (const logEvent of payload.logEvents) {
    ctx.id = logEvent.id;
    ctx.timestamp = logEvent.timestamp;
    const result = normalizer.normalize(logEvent.message, ctx, explicit ?? normalizer.sourceFor(payload.logGroup, logEvent.message));
    if (!result.ok) { skips.add(result.skip); continue; }
    events.push(result.event);
    const line = result.parsed ? logEvent.message : String(result.event['event.original'] ?? logEvent.message);
    parse.record(payload.logGroup, line, result.parsed, result.timeFallback);
  }
  if (events.some((e) => e['auditd.serial'] !== undefined)) joinAuditRecords(events);
  return events;
}
time('np2', () => { for (const p of decoded) np2(p, normalizer, new SkipLedger()); });
time('normalize again2', () => { for (const p of decoded) normalizePayload(p, normalizer, new SkipLedger()); });
time('np2 again', () => { for (const p of decoded) np2(p, normalizer, new SkipLedger()); });
