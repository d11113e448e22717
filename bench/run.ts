/**
 * `npm run bench`: speed, store calls, bundle, memory and cost of the detector, measured in one
 * run and reported with ratios (a noisy machine shifts the absolute numbers, not the ratios).
 * Prints a markdown report and writes it to bench/results.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { DynamoStateStore } from '../functions/commons/adapters/dynamodb-state-store';
import { importSigma } from '../src/cli/import-sigma';
import { loadPack } from '../src/cli/load-pack';
import { decodeLambdaEvent, type SubscriptionPayload } from '../src/decode/cloudwatch';
import { SkipLedger } from '../src/decode/skips';
import { generateDemo } from '../src/demo/generate';
import { Detector } from '../src/engine/detector';
import { LineGate } from '../src/engine/line-gate';
import { MemoryStateStore } from '../src/engine/memory-store';
import { CHUNK_BYTES, MAX_PACKED_MEMBER_BYTES, PACK_SHARDS } from '../src/engine/packed-state';
import { batchIdOf, normalizePayload, processPayload } from '../src/engine/pipeline';
import type { StateStore } from '../src/engine/state-store';
import { countConsumedCapacity } from '../src/local/consumed-capacity';
import { startLocalDynamo } from '../src/local/dynalite';
import { Normalizer } from '../src/parse/normalize';
import { CompiledRuleSet } from '../src/rules/compile';
import { scratchDir } from '../src/runtime/scratch-dir';
import { disablePretenuring } from '../src/runtime/v8-heap';
import { type DetectionRule, SourceDefinition } from '../src/schema/rule';
import { DEFAULT_SIGMA_MAPPING } from '../src/sigma/default-mapping';
import { cidrLists } from './cidr-lists';
import { measureDetectorBundle } from './cold-start';
import { CPU_SHARE, costPerMillion, PHASES_PER_BATCH, PRICE, ROUND_TRIP_S } from './cost';
import { deliveredPayloads, filterShare } from './filter-share';
import { floodPayload } from './flood';
import { decodeFloor } from './floor';
import { hostileKeys } from './hostile-keys';
import { hostileLines } from './hostile-lines';
import { HUB_ASSUMPTIONS, hubSizing } from './hub-sizing';
import { isolatedRounds } from './isolated';
import { fmt, interleavedMedians, median, medianMs, table, WARMUP_PASSES } from './measure';
import { NaiveDetector } from './naive';
import { cpuLoopScaling, parallelHotPath } from './parallel';
import { scaledRules } from './rule-scaling';
import { HISTORY_FILE, LATEST_PREFIX, notesRepeat, readLastRun, readRunNotes, withLatestArchived, writeLastRun } from './run-history';
import { benchSetup, STACK_ACCOUNTS, warmHotPath } from './setup';
import { toLambdaEvent } from './workload';
import { WriteMixStore } from './write-mix';

const WORKLOAD_EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Rounds of the named rows, each path in a process of its own (bench/isolated.ts). */
const ISOLATED_ROUNDS = Number(process.env.BENCH_ISOLATED_ROUNDS ?? 11);

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

/** The last run's figures (bench/last-run.json), for the report's "the run before"; what changed since, in bench/run-notes.md. */
const lastRun = readLastRun();
const runNotes = readRunNotes();
const runDate = new Date().toISOString().slice(0, 10);
const before = (value: number | undefined, format: (n: number) => string) => (value === undefined ? '—' : format(value));
/** The last run's report, read once: checked against the notes now, its account moved to the history at the end. */
const lastReport = existsSync('bench/results.md') ? readFileSync('bench/results.md', 'utf8') : '';
if (notesRepeat(lastReport, runNotes)) {
  log('bench/run-notes.md is what the last report opened with: say what changed since that run before this one is kept');
}

// Every path runs with the detector function's heap setting (src/runtime/v8-heap.ts); the floor
// is also measured in a process of its own with V8's defaults (below).
const heapTuned = disablePretenuring();

// Busy streams: payloads of up to 10,000 events or one hour per stream; the shipped rules in the
// order of the traffic they carry (the 10-rule row already does the workload's work).
const { pack, normalizer, payloads, lambdaEvents, eventCount, base } = benchSetup(WORKLOAD_EVENTS);
log(`workload: ${fmt.int(eventCount)} events in ${payloads.length} payloads`);

// 1. Physical floor: base64 + gunzip + JSON.parse alone (here, and in a process of its own below).
const floor = () => decodeFloor(lambdaEvents);
// The same, decoding a large payload in pieces as the detector does (reported beside the floor).
const floorInPieces = () => decodeFloor(lambdaEvents, true);

// 2. Hot path at 10 / 100 / 1,000 rules: decode + parse + normalize + evaluate, fresh state per run.
// The rules in representative order: the 10-rule row already carries the workload's traffic.
log(
  `first 10 rules: ${base
    .slice(0, 10)
    .map((r) => r.id)
    .join(', ')}`,
);
interface HotPathFigures {
  calls: number;
  reads: number;
  writes: number;
  /** Write units of the due index's upkeep (MemoryStateStore.dueIndexWrites): billed, no call of their own. */
  indexWrites: number;
  alerts: number;
  matched: number;
  detections: number;
  published: number;
  /** Lines the line gate left in the timed pass (src/engine/line-gate.ts). */
  gated: number;
}
const noFigures = (): HotPathFigures => ({
  calls: 0,
  reads: 0,
  writes: 0,
  indexWrites: 0,
  alerts: 0,
  matched: 0,
  detections: 0,
  published: 0,
  gated: 0,
});
/**
 * One timed pass of the hot path: the path's one detector (built once, as on a cold start; see
 * warmHotPath) from an empty store.
 */
function hotPathRunner(
  rules: ReturnType<typeof scaledRules>,
  withNormalizer: Normalizer = normalizer,
  input = lambdaEvents,
  sources: readonly SourceDefinition[] = pack.sources,
) {
  const figures = noFigures();
  const hotPath = warmHotPath(withNormalizer, rules, sources);
  const { store } = hotPath;
  const run = async () => {
    const f = noFigures();
    await hotPath.pass(input, (r) => {
      f.alerts += r.messages.length;
      f.matched += r.matchedEvents;
      f.detections += r.detections;
      f.published += r.messages.filter((m) => m.publish || m.digest).length;
      f.gated += r.eventsGated;
    });
    f.reads = store.calls.reads;
    f.writes = store.calls.writes;
    f.indexWrites = store.dueIndexWrites;
    f.calls = f.reads + f.writes;
    Object.assign(figures, f);
    // Each run leaves the store empty: the next starts from nothing, and no path's state stays
    // live for the other paths' collections to mark.
    store.clear();
  };
  return { run, figures };
}

// Content recognition: the AWS groups of the workload are named by no source file. The same run
// with sources naming them (`builtin:`) shows what recognizing them by content costs.
const explicitSources = [
  ['vpc/prod-flows', 'vpcflow'],
  ['/aws/lambda/checkout-api', 'lambda'],
  ['org-audit/management-events', 'cloudtrail'],
].map(([group, builtin]) => SourceDefinition.parse({ source: { name: `bench-${builtin}`, logGroups: [group], builtin } }));
const withExplicitSources = [...pack.sources, ...explicitSources];
const explicitNormalizer = new Normalizer(withExplicitSources, { accountsFor: STACK_ACCOUNTS });

// 3. Naive baseline at 100 rules: same decode + normalize, every rule on every event, a write per hit.
const rules100 = scaledRules(base, 100);
/** Rules timed one by one (those that match the most events of the workload). */
const BUSIEST_RULES = 8;
let naiveWrites = 0;
const naive = () => {
  const detector = new NaiveDetector(new CompiledRuleSet(rules100).rules);
  for (const e of lambdaEvents) {
    const decoded = decodeLambdaEvent(e);
    if (decoded.ok) detector.evaluate(normalizePayload(decoded.payload, normalizer, new SkipLedger()));
  }
  naiveWrites = detector.writes;
};

// 4. Where the 100-rule hot path's time goes: the same loop cut after each stage (normalizing
// behind the line gate, as the hot path does).
const stageMatcher = new Detector({ rules: rules100 }, new MemoryStateStore());
const stageGate = new LineGate(rules100, pack.sources);
const stages = {
  decode: () => {
    for (const e of lambdaEvents) decodeLambdaEvent(e);
  },
  normalize: () => {
    for (const e of lambdaEvents) {
      const d = decodeLambdaEvent(e);
      if (d.ok) normalizePayload(d.payload, normalizer, new SkipLedger(), undefined, stageGate);
    }
  },
  match: () => {
    for (const e of lambdaEvents) {
      const d = decodeLambdaEvent(e);
      if (d.ok) stageMatcher.matchAll(normalizePayload(d.payload, normalizer, new SkipLedger(), undefined, stageGate));
    }
  },
};

// 5. Real rules nobody here wrote: the SigmaHQ folders (../shared/realworld, when present)
// imported and added to the 100-rule pack. Variants scale the pack; these test the index on the
// shapes real rules have (any-of lists, wildcards, a GET beside attack strings).
const SIGMA_DIR = resolve('../shared/realworld/sigma/rules');
const sigmaRules: DetectionRule[] = [];
if (existsSync(SIGMA_DIR)) {
  const out = scratchDir('bench-sigma-');
  await importSigma(
    ['linux', 'web', 'cloud/aws'].map((f) => join(SIGMA_DIR, f)),
    out,
    DEFAULT_SIGMA_MAPPING,
    { withTests: false },
  );
  sigmaRules.push(...loadPack([out], { checkRegexes: false }).pack.rules);
  log(`SigmaHQ: ${sigmaRules.length} rules imported`);
}

// Every timed path runs once per round, in turn: drift on a shared machine hits them all alike.
const runners = new Map([10, 100, 1000].map((size) => [size, hotPathRunner(scaledRules(base, size))]));
const sigmaRunner = sigmaRules.length > 0 ? hotPathRunner([...scaledRules(base, 100), ...sigmaRules]) : undefined;
const explicitRunner = hotPathRunner(scaledRules(base, 100), explicitNormalizer, lambdaEvents, withExplicitSources);
// What the 100-rule pack's compiled subscription filters deliver of the workload, as CloudWatch
// would: the detector must decide on it exactly what it decides on every event (checked below).
const delivered = deliveredPayloads(payloads, rules100, pack.sources);
const deliveredEvents = delivered.reduce((n, p) => n + p.logEvents.length, 0);
const deliveredRunner = hotPathRunner(scaledRules(base, 100), normalizer, delivered.map(toLambdaEvent));
const timed = await interleavedMedians(RUNS, {
  floor,
  floorInPieces,
  ...Object.fromEntries([...runners].map(([size, r]) => [`rules${size}`, r.run])),
  explicit: explicitRunner.run,
  delivered: deliveredRunner.run,
  ...(sigmaRunner ? { sigma: sigmaRunner.run } : {}),
  naive,
  stageDecode: stages.decode,
  stageNormalize: stages.normalize,
  stageMatch: stages.match,
});
const ms = (name: string) => timed.get(name) ?? Number.NaN;
const usPerEvent = (name: string) => (ms(name) * 1000) / eventCount;
const stageUs = {
  decode: usPerEvent('stageDecode'),
  normalize: usPerEvent('stageNormalize') - usPerEvent('stageDecode'),
  match: usPerEvent('stageMatch') - usPerEvent('stageNormalize'),
  state: usPerEvent('rules100') - usPerEvent('stageMatch'),
};
const stageRows: [string, number][] = [
  ['decode (base64, gunzip, JSON, shape check)', stageUs.decode],
  ['parse and normalize', stageUs.normalize],
  ['rule matching (index and predicates)', stageUs.match],
  ['windowed state, lifecycle and alerts', stageUs.state],
];
const stageTotal = stageRows.reduce((n, [, us]) => n + us, 0);
/** A bench script in a process of its own (with `flags`), which prints `{ "eventsPerSecond": n }`. */
const soloRate = (script: string, flags: string[] = [], env: Record<string, string> = {}) =>
  z.object({ eventsPerSecond: z.number() }).parse(
    JSON.parse(
      execFileSync(process.execPath, [...flags, '--expose-gc', '--import', 'tsx', script], {
        encoding: 'utf8',
        env: { ...process.env, BENCH_EVENTS: String(WORKLOAD_EVENTS), BENCH_RUNS: String(RUNS), ...env },
      }),
    ),
  ).eventsPerSecond;
// The floor timed beside the paths runs under the detector's heap setting, which slowed this
// loop (it keeps every parsed payload) in this process's larger heap: the faster of it and the
// floor in a process with V8's defaults is the floor, so no ratio gains from a slowed floor.
const floorHere = eventCount / (ms('floor') / 1000);
const floorAlone = Math.max(soloRate('bench/floor-alone.ts'), soloRate('bench/floor-alone.ts'));
const floorRate = Math.max(floorHere, floorAlone);
const floorInPiecesRate = Math.max(
  eventCount / (ms('floorInPieces') / 1000),
  soloRate('bench/floor-alone.ts', [], { BENCH_FLOOR: 'pieces' }),
);
const naiveMs = ms('naive');
type HotPathRow = HotPathFigures & { size: number; ms: number; rate: number };
const scaling: HotPathRow[] = [...runners].map(([size, r]) => ({
  size,
  ...r.figures,
  ms: ms(`rules${size}`),
  rate: eventCount / (ms(`rules${size}`) / 1000),
}));
for (const row of scaling) log(`hot path, ${row.size} rules: ${fmt.int(row.rate)} events/s`);
const explicit = { ms: ms('explicit') };
const at = (size: number): HotPathRow => scaling.find((s) => s.size === size) ?? { size, ms: 0, rate: 0, ...noFigures() };

// The 1,000-rule pack does the 10-rule pack's work and more, and each stage of the stage loop
// adds work to the one before: a run where either comes out the other way measured how this VM's
// speed moved during the run, not the paths, and says so rather than report a comparison.
const implausible = [
  ...(at(1000).ms < 0.95 * at(10).ms ? [`the 1,000-rule path took ${fmt.ratio(at(1000).ms / at(10).ms)} the time of the 10-rule one`] : []),
  ...stageRows.filter(([, us]) => us < 0).map(([name]) => `the stage '${name}' came out negative`),
];
// The sshd parser on real lines (../shared/realworld, when present), beside the floor.
const REAL_SSH = resolve('../shared/realworld/logs/OpenSSH_2k.log');
let sshd: { rate: number; parsed: number } | undefined;
if (existsSync(REAL_SSH)) {
  const lines = readFileSync(REAL_SSH, 'utf8').split('\n').filter(Boolean);
  const source = normalizer.sourceFor('/var/log/auth.log');
  const rounds = Math.ceil(100_000 / lines.length);
  let parsed = 0;
  const ms = await medianMs(RUNS, () => {
    parsed = 0;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < lines.length; i++) {
        const out = normalizer.normalize(
          lines[i] ?? '',
          { logGroup: '/var/log/auth.log', logStream: 's', id: `${r}-${i}`, timestamp: 0 },
          source,
        );
        if (out.ok && out.parsed) parsed++;
      }
    }
  });
  sshd = { rate: (rounds * lines.length) / (ms / 1000), parsed: parsed / (rounds * lines.length) };
}
log('the 100-rule path per log group…');
// Each log group's payloads alone through the 100-rule path, the groups timed in turn: where a
// pass's time goes by source, and what a payload costs by its size (quiet groups deliver few lines).
const groupPayloads = new Map<string, number[]>();
payloads.forEach((p, i) => {
  const list = groupPayloads.get(p.logGroup);
  if (list) list.push(i);
  else groupPayloads.set(p.logGroup, [i]);
});
const lambdaEventsAt = (idx: readonly number[]) => idx.flatMap((i) => lambdaEvents[i] ?? []);
const groupRunners = new Map(
  [...groupPayloads].map(([group, idx]) => [
    group,
    {
      payloads: idx.length,
      events: idx.reduce((n, i) => n + (payloads[i]?.logEvents.length ?? 0), 0),
      runner: hotPathRunner(rules100, normalizer, lambdaEventsAt(idx)),
    },
  ]),
);
// The flows again without the two port-scan rules (and their variants): what those rules' sets cost a flow.
const FLOW_GROUP = 'vpc/prod-flows';
const flowRunner = hotPathRunner(
  rules100.filter((r) => !r.id.startsWith('vpc.port_scan')),
  normalizer,
  lambdaEventsAt(groupPayloads.get(FLOW_GROUP) ?? []),
);
const groupTimes = await interleavedMedians(RUNS, {
  ...Object.fromEntries([...groupRunners].map(([group, g]) => [group, g.runner.run])),
  flowsWithoutPortScans: flowRunner.run,
});
const groupRows = [...groupRunners]
  .map(([group, g]) => ({ group, ...g, ms: groupTimes.get(group) ?? Number.NaN }))
  .sort((a, b) => b.ms - a.ms);
const groupsMs = groupRows.reduce((n, g) => n + g.ms, 0);
const flowEvents = groupRunners.get(FLOW_GROUP)?.events ?? 0;
const flowUs = ((groupTimes.get(FLOW_GROUP) ?? Number.NaN) * 1000) / flowEvents;
const flowWithoutScansUs = ((groupTimes.get('flowsWithoutPortScans') ?? Number.NaN) * 1000) / flowEvents;
log('the 100-rule path without each of its busiest rules…');
// What a rule costs the workload: the payloads of the log groups a rule matched events in, through
// the 100-rule path with and without it, for each of the rules that match the most events (its
// matching, grouping, state and alerts; timed on its own groups, where the difference stands out
// of the noise more than on the whole pass).
const ruleReach = new Map<string, { matched: number; groups: Set<string> }>();
{
  const matcher = new Detector({ rules: rules100 }, new MemoryStateStore());
  for (const p of payloads) {
    for (const [rule, matched] of matcher.matchAll(normalizePayload(p, normalizer, new SkipLedger()))) {
      const reach = ruleReach.get(rule.rule.id) ?? { matched: 0, groups: new Set<string>() };
      reach.matched += matched.length;
      reach.groups.add(p.logGroup);
      ruleReach.set(rule.rule.id, reach);
    }
  }
}
const busiestRules = [...ruleReach].sort((a, b) => b[1].matched - a[1].matched).slice(0, BUSIEST_RULES);
const ruleInput = (groups: Set<string>) => lambdaEventsAt([...groupPayloads].filter(([g]) => groups.has(g)).flatMap(([, idx]) => idx));
const ruleTimes = await interleavedMedians(
  RUNS,
  Object.fromEntries(
    busiestRules.flatMap(([id, { groups }]) => [
      [`with ${id}`, hotPathRunner(rules100, normalizer, ruleInput(groups)).run],
      [
        `without ${id}`,
        hotPathRunner(
          rules100.filter((r) => r.id !== id),
          normalizer,
          ruleInput(groups),
        ).run,
      ],
    ]),
  ),
);
const ruleRows = busiestRules.map(([id, { matched, groups }]) => {
  const costMs = (ruleTimes.get(`with ${id}`) ?? Number.NaN) - (ruleTimes.get(`without ${id}`) ?? Number.NaN);
  return { id, matched, groups: [...groups].sort(), costMs };
});
// The share of the flows the port-scan rules count: refused ones (a default-format record's action is its 13th word).
const flowRejectShare =
  (groupPayloads.get(FLOW_GROUP) ?? []).reduce(
    (n, i) => n + (payloads[i]?.logEvents.filter((e) => e.message.split(' ')[12] === 'REJECT').length ?? 0),
    0,
  ) / flowEvents;
log('lines whose field names an attacker chooses…');
const chosenKeys = await hostileKeys(RUNS);
const gateLines = await hostileLines(RUNS);
log('a |cidr condition over a growing named list…');
const cidrListRows = await cidrLists(RUNS);
log('the same hot path on 2 and 3 worker threads…');
const parallel2 = await parallelHotPath(2, WORKLOAD_EVENTS, 100);
const parallel = await parallelHotPath(3, WORKLOAD_EVENTS, 100);
const cpuScaling = await cpuLoopScaling(2);
log('the same hot path with the garbage collector on its own thread only…');
// Each in a process of its own, with and without the flag, alternated: the rows above share a
// process with every other path, which the flag alone must not be compared against.
const soloHotPath = (flags: string[]) => soloRate('bench/one-core-gc.ts', flags);
const soloRates = { parallelGc: [] as number[], oneThreadGc: [] as number[] };
for (let round = 0; round < 2; round++) {
  soloRates.parallelGc.push(soloHotPath([]));
  soloRates.oneThreadGc.push(soloHotPath(['--single-threaded-gc']));
}
const best = (rates: number[]) => Math.max(...rates);
log(`the floor and the 10-, 100- and 1,000-rule packs, each in a process of its own, ${ISOLATED_ROUNDS} rounds in turn…`);
// The named rows. This process holds every path it times (the workload decoded, three packs,
// SigmaHQ's, the naive evaluator, the stage cuts), and each collection marks all of it; a
// detector's container holds one pack and a payload at a time. Timed in turn, the two paths of
// each ratio meet the same minute of this VM.
const isolatedRun = await isolatedRounds(
  [{ name: 'floor' }, ...[10, 100, 1000].map((size) => ({ name: String(size), rules: size }))],
  ISOLATED_ROUNDS,
  { BENCH_EVENTS: String(WORKLOAD_EVENTS) },
);
const isolatedPasses = (name: string) => isolatedRun.passes.get(name) ?? [];
const isolatedRate = (name: string) => eventCount / (median(isolatedPasses(name).map((p) => p.ms)) / 1000);
/** Each round's ratio of `a`'s time to `b`'s (the two met the same minute): every round's, and their median. */
const pairedRatios = (a: string, b: string) => isolatedPasses(a).map((p, i) => p.ms / (isolatedPasses(b)[i]?.ms ?? Number.NaN));
const isolatedFloorRate = isolatedRate('floor');
const isolated = (size: number) => {
  const name = String(size);
  const last = isolatedPasses(name).at(-1);
  const shared = at(size);
  return {
    rate: isolatedRate(name),
    /** Speed against the floor: the median of the rounds' floor time over this path's. */
    vsFloor: median(pairedRatios('floor', name)),
    vsFloorRounds: pairedRatios('floor', name),
    /** Time against the 10-rule pack's. */
    vsTen: median(pairedRatios(name, '10')),
    vsTenRounds: pairedRatios(name, '10'),
    /** The process decided what the shared process did: the same alerts and store calls. */
    agrees: last !== undefined && last.alerts === shared.alerts && last.reads === shared.reads && last.writes === shared.writes,
  };
};
const isolatedRange = (name: string) => {
  const rates = isolatedPasses(name).map((p) => eventCount / (p.ms / 1000));
  return `${fmt.int(Math.min(...rates))}–${fmt.int(Math.max(...rates))}`;
};
const disagreeing = [10, 100, 1000].filter((size) => !isolated(size).agrees);
/**
 * The floor every row is read against: the fastest this run measured it — in turn with the packs
 * (the median of its passes), alone in a process with passes back to back, or in this process.
 * Taken in turn, its passes ran slower than back to back (it idles while the others run, and its
 * 0.2 s pass pays what a 0.7 s pass barely notices), so the rounds' paired ratios flatter the
 * packs: they are reported, and no verdict rests on them.
 */
const fastestFloor = Math.max(floorRate, isolatedFloorRate);
// Each pack in its own process does the same: the 1,000-rule pack faster than the 10-rule one
// there is the VM's drift during the rounds too.
if (isolated(1000).vsTen < 0.95) {
  implausible.push(`in processes of their own, the 1,000-rule path took ${fmt.ratio(isolated(1000).vsTen)} the time of the 10-rule one`);
}
const noiseNote =
  implausible.length === 0
    ? ''
    : ` **This run is noise-bound**: ${implausible.join(' and ')}, which more work cannot do — the VM's speed moved during the run by more than the paths differ, so its ratios compare nothing; run it again.`;
/** The flag's effect in words: slower, or — as on this 2-vCPU VM it has measured — faster. */
const gcFlagEffect = (longer: number) =>
  longer >= 0 ? `runs ${fmt.pct(longer)} longer than without the flag` : `ran ${fmt.pct(-longer)} faster than without the flag in this run`;
const gcFlagNote = (longer: number) =>
  longer >= 0 ? '' : "; on this 2-vCPU VM the parallel collector's helper threads have cost more than they saved in every run so far";
const oneCoreGc = best(soloRates.oneThreadGc);
const soloParallelGc = best(soloRates.parallelGc);

// Where the writes go on benign busy traffic (100 rules), and what merging per entity would save.
const mix = new WriteMixStore();
{
  const detector = new Detector({ rules: scaledRules(base, 100) }, mix);
  for (const e of lambdaEvents) {
    const decoded = decodeLambdaEvent(e);
    if (decoded.ok) await processPayload(decoded.payload, normalizer, detector);
  }
}

// The same workload counted as the adapter's layout before packing made its calls (an item per key).
const perKeyMix = new MemoryStateStore({ perKeyLayout: true });
{
  const detector = new Detector({ rules: scaledRules(base, 100) }, perKeyMix);
  for (const e of lambdaEvents) {
    const decoded = decodeLambdaEvent(e);
    if (decoded.ok) await processPayload(decoded.payload, normalizer, detector);
  }
}

/**
 * The merged-per-entity estimate in words, against both layouts: it was measured against the
 * per-key layout, and the packed layout built since may make fewer writes than it would.
 */
function mergedVerdict(merged: number, perKey: number, packed: number): string {
  const change = merged / Math.max(1, perKey) - 1;
  const againstPerKey =
    Math.abs(change) < 0.005
      ? `Measured, it would make about as many counter and set writes as the per-key layout (${fmt.int(merged)} against ${fmt.int(perKey)})`
      : `Measured, it would make ${fmt.pct(Math.abs(change))} ${change < 0 ? 'fewer' : 'more'} counter and set writes than the per-key layout (${fmt.int(perKey)})`;
  const againstPacked =
    merged >= packed
      ? `and ${(merged / Math.max(1, packed)).toFixed(1)}× the ${fmt.int(packed)} the packed layout makes: the counting rules rarely share an entity within a batch, where packing shares an item among a rule's entities. It is not built.`
      : `and ${fmt.pct(1 - merged / Math.max(1, packed))} fewer than the ${fmt.int(packed)} the packed layout makes. It is not built: it would also change the item layout of every stateful rule (a migration for deployed tables).`;
  return `${againstPerKey}, ${againstPacked}`;
}

// 4. Store calls per event: the flood batch (few keys), and the demo as delivered, on dynalite.
async function callsPerEvent(
  store: StateStore,
  input: readonly SubscriptionPayload[],
): Promise<{ calls: number; writes: number; events: number; alerts: number }> {
  const detector = new Detector(pack, store);
  let events = 0;
  let alerts = 0;
  for (const p of input) {
    events += p.logEvents.length;
    alerts += (await processPayload(p, normalizer, detector)).alerts.length;
  }
  return { calls: store.calls.reads + store.calls.writes, writes: store.calls.writes, events, alerts };
}
/** A row of the packed-under-one-unit estimate: today's counter and set writes against the layout's. */
function spillRow(name: string, store: WriteMixStore, events: number): string[] {
  const { perEntity, packed } = store.spill;
  // The store counts as the packed layout does: the other kinds' writes, and the per-key layout's of these.
  const other = store.calls.writes - store.writesByKind.counters - store.writesByKind.sets;
  const before = other + perEntity.counters + perEntity.sets;
  const after = other + packed.counters + packed.sets;
  return [
    name,
    `${fmt.int(perEntity.counters)} → ${fmt.int(packed.counters)}`,
    `${fmt.int(perEntity.sets)} → ${fmt.int(packed.sets)}`,
    `${perEvent(before, events)} → ${perEvent(after, events)}`,
    `$${((before / events) * 1e6 * PRICE.ddbWrite).toFixed(2)} → $${((after / events) * 1e6 * PRICE.ddbWrite).toFixed(2)}`,
  ];
}

/** A row of the layout table: a workload's store calls per event in one layout, and what DynamoDB bills for them (a unit a call). */
function layoutRow(name: string, layout: string, figures: { calls: number; writes: number; events: number }): string[] {
  const reads = figures.calls - figures.writes;
  const usd = ((figures.writes * PRICE.ddbWrite + reads * PRICE.ddbRead) * 1e6) / figures.events;
  return [name, layout, perEvent(figures.writes, figures.events), perEvent(reads, figures.events), `$${usd.toFixed(2)}`];
}

/**
 * Plain log lines as CloudWatch would deliver them: each event stamped with the line's own time,
 * in time order (the access log's lines are not: about half step back, as in a file merged from
 * several servers), cut into payloads of at most 200 events or 5 seconds (the demo's delivery).
 */
function realPayloads(text: string, logGroup: string): SubscriptionPayload[] {
  const timed = text
    .split('\n')
    .filter(Boolean)
    .map((line, i) => {
      const read = normalizer.normalize(line, { logGroup, logStream: 'access', id: String(i), timestamp: 0 });
      return { line, id: String(i), t: read.ok ? Number(read.event['@timestamp']) : 0 };
    })
    .sort((a, b) => a.t - b.t);
  const payloads: SubscriptionPayload[] = [];
  let current: SubscriptionPayload | undefined;
  for (const { line, id, t } of timed) {
    const first = current?.logEvents[0]?.timestamp;
    if (!current || first === undefined || current.logEvents.length >= 200 || t - first > 5_000) {
      current = {
        messageType: 'DATA_MESSAGE',
        owner: '123456789012',
        logGroup,
        logStream: 'access',
        subscriptionFilters: ['sentinel'],
        logEvents: [],
      };
      payloads.push(current);
    }
    current.logEvents.push({ id, timestamp: t, message: line });
  }
  return payloads;
}
const floods = [floodPayload(10_000, 5, 0), floodPayload(10_000, 20, 200)];
const flood = await Promise.all(floods.map((p) => callsPerEvent(new MemoryStateStore(), [p])));
const floodNaiveWrites = floods.map((p) => {
  const naive = new NaiveDetector(new CompiledRuleSet(pack.rules).rules);
  naive.evaluate(normalizePayload(p, normalizer, new SkipLedger()));
  return naive.writes;
});
log('demo workload on dynalite (real DynamoDB adapter)…');
const dynamo = await startLocalDynamo('bench');
const demo = generateDemo();
// What the table would bill: units by item size (src/local/consumed-capacity.ts), not one a call.
const demoUnits = countConsumedCapacity(dynamo.client);
const demoDdb = await callsPerEvent(new DynamoStateStore(dynamo.client, dynamo.tableName), demo.payloads);
// The same payloads through the in-memory store, which counts what the due index's upkeep bills (dynalite reports no index units).
const demoIndexStore = new MemoryStateStore();
const demoInMemory = await callsPerEvent(demoIndexStore, demo.payloads);
if (demoInMemory.alerts !== demoDdb.alerts)
  throw new Error(`the demo raised ${demoInMemory.alerts} alerts in memory and ${demoDdb.alerts} on dynalite: the stores disagree`);
const demoIndexWrites = demoIndexStore.dueIndexWrites;
const demoBig = await callsPerEvent(
  new MemoryStateStore(),
  generateDemo(20250303, { maxEventsPerPayload: 10_000, payloadSpanMs: 3_600_000 }).payloads,
);
await dynamo.close();
// A real site's access log (../shared/realworld, when present; read there, never copied): what the
// store calls cost on traffic nobody here generated, delivered as CloudWatch would (per stream, a
// payload every few seconds), against the busy streams' synthetic visitors.
const REAL_ACCESS = resolve('../shared/realworld/logs/apache_access_10k.log');
const REAL_ACCESS_GROUP = '/app/web/access';
const realAccessPayloads = existsSync(REAL_ACCESS) ? realPayloads(readFileSync(REAL_ACCESS, 'utf8'), REAL_ACCESS_GROUP) : [];
const realAccessMix = new WriteMixStore();
const realAccess = realAccessPayloads.length > 0 ? await callsPerEvent(realAccessMix, realAccessPayloads) : undefined;
const realAccessPerKey =
  realAccessPayloads.length > 0 ? await callsPerEvent(new MemoryStateStore({ perKeyLayout: true }), realAccessPayloads) : undefined;
const demoPerKey = await callsPerEvent(new MemoryStateStore({ perKeyLayout: true }), demo.payloads);
// Quiet groups: the demo's payloads as CloudWatch delivers them (a few events each), the shipped pack.
log('demo as delivered: hot path…');
const demoLambdaEvents = demo.payloads.map(toLambdaEvent);
const demoEvents = demo.payloads.reduce((n, p) => n + p.logEvents.length, 0);
const demoHotPath = warmHotPath(normalizer, pack.rules);
const demoRate = demoEvents / ((await medianMs(RUNS, () => demoHotPath.pass(demoLambdaEvents))) / 1000);

// 5. Bundle, cold start, peak memory.
log('bundling the detector handler…');
const bundle = measureDetectorBundle();
const memory = z.object({ baselineMiB: z.number(), peakMiB: z.number(), growthMiB: z.number(), events: z.number() }).parse(
  JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', 'bench/peak-memory.ts'], {
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    }),
  ),
);

// 6. Filter share and cost. The per-group table shows the shipped pack's filters (what a deployment
// gets); the cost model the 100-rule pack's, over what they deliver.
const share = filterShare(payloads, pack);
const deliveredShare = deliveredEvents / eventCount;
/** The 100-rule path's rate as a detector runs it (its own process), for the sizing below. */
const rate100 = isolated(100).rate;
const deliveredFigures = deliveredRunner.figures;
for (const key of ['alerts', 'matched', 'detections', 'reads', 'writes', 'indexWrites'] as const) {
  if (deliveredFigures[key] !== at(100)[key])
    throw new Error(
      `the filtered workload gave ${key} ${deliveredFigures[key]}, every event ${at(100)[key]}: a filter dropped what a rule matches`,
    );
}
const deliveredRate = deliveredEvents / (ms('delivered') / 1000);
const detectionsPerEvent = at(100).alerts / eventCount;
const cost = costPerMillion({
  eventsPerSecondPerCore: deliveredRate,
  eventsPerInvocation: deliveredEvents / delivered.length,
  readsPerEvent: at(100).reads / eventCount,
  writesPerEvent: at(100).writes / eventCount,
  indexWritesPerEvent: at(100).indexWrites / eventCount,
  detectionsPerEvent,
  deliveredShare,
});
// The same pack on quiet groups: every payload an invocation of a few events, each paying its batch's store rounds.
const demoDelivered = deliveredPayloads(demo.payloads, pack.rules, pack.sources);
const demoDeliveredEvents = demoDelivered.reduce((n, p) => n + p.logEvents.length, 0);
const quietCost = costPerMillion({
  eventsPerSecondPerCore: demoRate,
  eventsPerInvocation: demoDeliveredEvents / demoDelivered.length,
  // Measured in units here: what these calls consumed on dynalite.
  readsPerEvent: demoUnits.read / demoDdb.events,
  writesPerEvent: demoUnits.write / demoDdb.events,
  // dynalite reports no index units: the same payloads through the in-memory store count them.
  indexWritesPerEvent: demoIndexWrites / demoDdb.events,
  detectionsPerEvent: demoDdb.alerts / demoDdb.events,
  deliveredShare: demoDeliveredEvents / demoEvents,
  // Most such batches match nothing and make no store call; the busy-stream model's rounds would overstate them.
  roundsPerBatch: Math.min(PHASES_PER_BATCH, demoDdb.calls / demoDelivered.length),
});
// What one packed item per rule and bucket would have saved (an estimate: bench/write-mix.ts PackedSets), in dollars per million events.
const onePacked = mix.packed.results()[0];
const packedSavingUsd = onePacked
  ? (((mix.packed.perEntity.writes - onePacked.writeUnits) * PRICE.ddbWrite +
      (mix.packed.perEntity.reads - onePacked.readUnits) * PRICE.ddbRead) *
      1e6) /
    eventCount
  : 0;
const naiveCost = costPerMillion({
  eventsPerSecondPerCore: eventCount / (naiveMs / 1000),
  eventsPerInvocation: eventCount / payloads.length,
  readsPerEvent: 0,
  writesPerEvent: naiveWrites / eventCount,
  indexWritesPerEvent: 0,
  detectionsPerEvent,
  deliveredShare: 1,
  naive: true,
});

// 7. Many accounts: the hub's stream and detector at 1k, 10k and 100k events/s.
const EVENTS_PER_RECORD = 50;
const HUB_BATCH = 100;
const records = payloads.flatMap((p) =>
  Array.from({ length: Math.ceil(p.logEvents.length / EVENTS_PER_RECORD) }, (_, i) => ({
    ...p,
    logEvents: p.logEvents.slice(i * EVENTS_PER_RECORD, (i + 1) * EVENTS_PER_RECORD),
  })),
);
const recordBytesPerEvent = records.reduce((n, r) => n + gzipSync(JSON.stringify(r)).length, 0) / eventCount;
// One record at a time: its CPU time plus the store rounds of its batch.
const recordSeconds = EVENTS_PER_RECORD / (rate100 * CPU_SHARE) + PHASES_PER_BATCH * ROUND_TRIP_S;
const lambdaUsd = cost.lines.filter((l) => l.item.startsWith('Lambda')).reduce((s, l) => s + l.usd, 0);
const hub = [1_000, 10_000, 100_000].map((eventsPerSecond) =>
  hubSizing({
    eventsPerSecond,
    eventsPerSecondPerInvocation: EVENTS_PER_RECORD / recordSeconds,
    recordBytesPerEvent,
    eventsPerRecord: EVENTS_PER_RECORD,
    batchSize: HUB_BATCH,
    pipelineUsdPerMillion: cost.total,
    lambdaUsdPerMillion: lambdaUsd,
  }),
);

function perEvent(n: number | undefined, events: number | undefined): string {
  return events ? ((n ?? 0) / events).toFixed(4) : '—';
}

const c = cpus()[0];
const report = [
  '# Benchmark results',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${c?.model ?? 'unknown CPU'} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB), Node ${process.version}, one core (single-threaded), V8's allocation-site pretenuring ${heapTuned ? 'off, as the detector function runs it' : 'on (SENTINEL_V8_PRETENURING=on)'}. ` +
    `Workload: ${fmt.int(eventCount)} events in ${payloads.length} payloads (demo traffic repeated fortnightly: identity JSON, nginx, sshd, paramiko, laravel, chat, pino, CloudTrail, VPC Flow Logs, Lambda), median of ${RUNS} runs after ${WARMUP_PASSES} warm-up passes of each path (the first passes of a fresh process run 15–25% slower while V8's young generation grows and its allocation sites learn which objects live long; a detector's container serves millions of events). Re-run with \`npm run bench\`; \`BENCH_EVENTS\`, \`BENCH_RUNS\` and \`BENCH_WARMUP\` change the size.`,
  '',
  '## Throughput (events/s on one core)',
  '',
  table(
    ['path', 'events/s', 'vs floor', 'vs 10 rules (time)', 'matches/event', 'alerts'],
    [
      ['floor', fmt.int(fastestFloor), fmt.ratio(1), '—', '—', '—'],
      ...scaling.map((s) => [
        `${fmt.int(s.size)} rules`,
        fmt.int(isolated(s.size).rate),
        fmt.ratio(isolated(s.size).rate / fastestFloor),
        fmt.ratio(isolated(s.size).vsTen),
        (s.matched / eventCount).toFixed(3),
        fmt.int(s.alerts),
      ]),
      ...scaling.map((s) => [
        `${fmt.int(s.size)} rules, in the benchmark's shared process`,
        fmt.int(s.rate),
        fmt.ratio(s.rate / fastestFloor),
        fmt.ratio(s.ms / at(10).ms),
        (s.matched / eventCount).toFixed(3),
        fmt.int(s.alerts),
      ]),
      ...(sigmaRunner
        ? [
            [
              `100 rules + ${sigmaRules.length} SigmaHQ rules`,
              fmt.int(eventCount / (ms('sigma') / 1000)),
              fmt.ratio(eventCount / (ms('sigma') / 1000) / fastestFloor),
              fmt.ratio(ms('sigma') / at(10).ms),
              (sigmaRunner.figures.matched / eventCount).toFixed(3),
              fmt.int(sigmaRunner.figures.alerts),
            ],
          ]
        : []),
      [
        '100 rules, alone in its process, best of two (beside the next row)',
        fmt.int(soloParallelGc),
        fmt.ratio(soloParallelGc / fastestFloor),
        '—',
        '—',
        '—',
      ],
      ['100 rules, alone, GC on one thread (a 1-vCPU Lambda)', fmt.int(oneCoreGc), fmt.ratio(oneCoreGc / fastestFloor), '—', '—', '—'],
      [
        '100 rules, 2 worker threads',
        fmt.int(parallel2.eventsPerSecond),
        fmt.ratio(parallel2.eventsPerSecond / fastestFloor),
        '—',
        '—',
        '—',
      ],
      ['100 rules, 3 worker threads', fmt.int(parallel.eventsPerSecond), fmt.ratio(parallel.eventsPerSecond / fastestFloor), '—', '—', '—'],
      [
        'naive: every rule on every event, 100 rules',
        fmt.int(eventCount / (naiveMs / 1000)),
        fmt.ratio(eventCount / (naiveMs / 1000) / fastestFloor),
        '—',
        '—',
        '—',
      ],
    ],
  ),
  '',
  `\`floor\`, \`10 rules\`, \`100 rules\` and \`1,000 rules\` each ran in a process of its own (bench/isolated.ts), as a detector's container holds one pack and a payload at a time, the four timed in turn for ${ISOLATED_ROUNDS} rounds after a round not counted, each turn a pass not timed and then the timed one (the floor's first pass of a turn, after the others', ran up to a fifth slower than passes back to back; the packs' barely): a row's events/s is the median of its passes, and its time against the 10-rule pack's the median of the rounds' ratios, each between two passes of the same minute. Its speed against the floor is against the fastest floor of the run (${fmt.int(fastestFloor)} events/s: in turn with the packs, the median of its passes was ${fmt.int(isolatedFloorRate)}; alone in a process, passes back to back, ${fmt.int(floorAlone)}, best of two; in this process ${fmt.int(floorHere)}): taken in turn, the floor's short passes ran slower than back to back, so the rounds' paired ratios against it (their median ${fmt.ratio(isolated(100).vsFloor)} at 100 rules) flatter the packs, and are not what the rows or the goal use. This VM's speed moved the floor's passes over ${isolatedRange('floor')} events/s and the 100-rule path's over ${isolatedRange('100')} in this run, where the rounds' ratios held within ${fmt.ratio(Math.min(...isolated(100).vsFloorRounds))}–${fmt.ratio(Math.max(...isolated(100).vsFloorRounds))}. The floor there has V8's default heap settings, the packs the detector function's. ${disagreeing.length === 0 ? 'Each decided the same alerts with the same store calls as in the shared process.' : `**The ${disagreeing.join(', ')}-rule path${disagreeing.length > 1 ? 's' : ''} decided other alerts or store calls in its own process than in the shared one.**`} The rows marked "in the benchmark's shared process" are the same paths timed here, in turn with each other and every other path of this report (until this run, the rows named \`10 rules\` to \`1,000 rules\`): this process also holds the decoded workload, the other packs' detectors and their state, and its collections mark all of it. ` +
    `The floor is base64 + gunzip + JSON.parse alone, keeping every parsed payload; the shared rows' floor is the faster of the floor timed beside the paths in this process (${fmt.int(floorHere)} events/s) and in a process of its own with V8's default heap settings (${fmt.int(floorAlone)}, best of two). The detector's heap setting slowed this loop in the bench's process (780,875 and 774,197 events/s in two runs with it, 1,137,035 in one without, the same hour), though not alone in a process (1,185,751 / 1,248,784 with V8's default, 1,192,276 / 1,182,770 with the setting): a floor the setting slowed would flatter every ratio below. The detector parses a payload over 60 KB in pieces cut between its events (src/decode/json-pieces.ts: one string of a busy group's 650 KB payload lands in V8's large-object space, on pages mapped for it alone, and cost about 2 ms of page faults each time); the floor keeps the issue's one JSON.parse, which pays that. Decoding as the detector does, the floor is ${fmt.int(floorInPiecesRate)} events/s (the faster of here and alone), and the 100-rule path ${fmt.ratio(at(100).rate / floorInPiecesRate)} of it. ` +
    'The rule rows are the detector hot path (decode, parse, normalize, match, windowed state in the in-memory store, lifecycle, alerts). ' +
    `The rule packs: the shipped rules in the order of the traffic they carry (10 rules: ${base
      .slice(0, 10)
      .map((r) => r.id)
      .join(
        ', ',
      )}), then variants whose every literal changes, so they select no traffic — matches/event and alerts stay flat while the pack grows, and the rows compare the cost of the pack, not of more matches. ` +
    `The worker rows run two and three detectors at once on this ${cpus().length}-core machine (every second or third payload each). ` +
    `They scale poorly (${fmt.ratio(parallel2.eventsPerSecond / at(100).rate)} the one-thread row with two workers) although a loop of arithmetic alone scales ${fmt.ratio(cpuScaling)} on two workers here: the one-thread rows are not one core. ` +
    `V8 collects garbage partly on helper threads, and this path allocates about 2.8 KB per event (a heap-sampling profile of the 100-rule path, 2026-12-05) and collection is 8–10% of its time in a CPU profile; alone, it has the second core for them. ` +
    `With the collector on the JavaScript thread only (\`--single-threaded-gc\`, what a Lambda function below 1,769 MB — one vCPU — gets) the same path ${gcFlagEffect(soloParallelGc / oneCoreGc - 1)} (both in a process of their own, best of two alternated runs each: ${fmt.int(soloParallelGc)} events/s without it${gcFlagNote(soloParallelGc / oneCoreGc - 1)}): that row is the per-vCPU figure to size with. ` +
    (sigmaRunner
      ? `The SigmaHQ row adds the rules \`detect import-sigma\` converts from ../shared/realworld/sigma (linux, web, cloud/aws; read there, never copied here) to the 100-rule pack: real rules, whose any-of lists, wildcards and \`GET\` beside their attack strings are what the index must key well (measured on matching alone over this workload, these rules added 3.2 µs/event before this round keyed them and 0.8 after; test/sigma-realworld.test.ts checks the index agrees with the plain evaluator on each of them).`
      : 'The SigmaHQ row needs ../shared/realworld/sigma (absent here).'),
  '',
  `Published messages per 1,000 detections (100 rules): **${fmt.int((1000 * at(100).published) / Math.max(1, at(100).detections))}** (${fmt.int(at(100).published)} published or digested for ${fmt.int(at(100).detections)} events that met a rule's full condition; the lifecycle publishes state changes, not occurrences). ` +
    `Content recognition (the AWS groups named by no source): ${fmt.int(at(100).rate)} events/s, against ${fmt.int(eventCount / (explicit.ms / 1000))} with sources naming them — a difference of ${fmt.pct(at(100).ms / explicit.ms - 1)} in time (the 5% budget). ` +
    (sshd
      ? `The sshd parser on the real OpenSSH_2k.log lines: ${fmt.int(sshd.rate)} lines/s (${fmt.ratio(sshd.rate / fastestFloor)} the floor), ${fmt.pct(sshd.parsed)} parsed.`
      : 'The sshd parser row needs ../shared/realworld/logs/OpenSSH_2k.log (absent here).'),
  '',
  'Field names an attacker chooses (an app that logs request headers as an object), normalization alone, µs per line: ' +
    chosenKeys
      .map((k) => `${k.shape} ${k.benignUs.toFixed(2)} with the app's five keys, ${k.hostileUs.toFixed(2)} with 30 never-seen keys`)
      .join('; ') +
    '. Most of the difference is JSON.parse building an object of new names; events of such lines are hash tables (src/parse/event-record.ts), so the detector adds no cost per new name — with the fixed-shape events text lines get, they took a third (JSON) to four fifths (Laravel) longer.',
  '',
  "Lines an attacker writes against the line gate (a 5xx rule's `status.*5[0-9][0-9]` term over a JSON app's lines; the key repeated, no value): " +
    gateLines
      .map(
        (g) =>
          `${fmt.int(g.chars / 1000)} KB, the gate ${g.gateMs.toFixed(2)} ms${g.regexMs === undefined ? '' : ` (the same pattern as one JavaScript regex: ${fmt.int(g.regexMs)} ms)`}`,
      )
      .join('; ') +
    ". The gate finds a key-then-value term's parts in order, each searched once; as one regex it backtracks over the rest of the line from every key (quadratic: seconds at 250 KB, not timed here).",
  '',
  'A `|cidr` condition over a named list as a deployment grows it (the shipped internal ranges, then /24s of its offices), ns per event (an address of every kind: private, public, IPv6): ' +
    cidrListRows
      .map((r) => `${fmt.int(r.ranges)} ranges ${fmt.int(r.setNs)} (${fmt.int(r.eachNs)} testing each range in turn)`)
      .join(', ') +
    '. IPv4 ranges are merged into sorted intervals searched by halves (src/rules/cidr.ts `CidrSet`), so a list a thousand ranges long costs a rule about what the shipped nine do; what is left is reading the address.',
  '',
  `Goals: ≥ 0.25× the floor at 100 rules (**${isolated(100).rate >= 0.25 * fastestFloor ? 'met' : 'not met'}**: ${fmt.ratio(isolated(100).rate / fastestFloor)}, the path in a process of its own, ${fmt.int(isolated(100).rate)} events/s, against the fastest floor of the run; the rounds' paired ratios, which the floor's slower passes in turn flatter, ${fmt.ratio(isolated(100).vsFloor)} — ${isolated(100).vsFloorRounds.map(fmt.ratio).join(', ')}; in the benchmark's shared process ${fmt.ratio(at(100).rate / fastestFloor)}); 1,000 rules ≤ 1.5× the time of 10 rules (**${isolated(1000).vsTen <= 1.5 ? 'met' : 'not met'}**: ${fmt.ratio(isolated(1000).vsTen)}, each pack in a process of its own, the rounds ${isolated(1000).vsTenRounds.map(fmt.ratio).join(', ')}; in the shared process ${fmt.ratio(at(1000).ms / at(10).ms)}).${noiseNote} ` +
    `The hot path includes state updates in the in-memory store and building ${fmt.int(at(100).alerts)} alerts; the naive path does neither, so its speed is an upper bound for it. Hot path vs naive at 100 rules: ${fmt.ratio(naiveMs / at(100).ms)} faster.`,
  '',
  '### Where the time goes (100 rules, µs per event)',
  '',
  table(
    ['stage', 'µs/event', 'share'],
    stageRows.map(([name, us]) => [name, us.toFixed(2), fmt.pct(us / stageTotal)]),
  ),
  '',
  `Each row is the same loop cut after that stage, timed with the others (differences of medians, so a row can be off by the noise of the two it subtracts). The 0.25× goal leaves ${(1e6 / fastestFloor / 0.25).toFixed(2)} µs per event for everything; decoding alone takes ${stageUs.decode.toFixed(2)}. ` +
    'Normalizing builds one object of 20–30 fields per event: since the third round an instance of a class with room for 40 fields inside the object, which V8’s in-object slack tracking trims to what the class’s first events used — since the sixth stop a class per parser pattern and flow format, so a flow record keeps 32 of its 33 fields inside it (the service name, written last, in a side array of three slots), where it had shared one class trimmed to the 20 of the first events and 13 went to a side array grown three slots at a time (src/parse/event-record.ts), about 0.45 µs for 28 fields where a null-prototype object — dictionary mode in V8, a hash table reallocated as it doubles — took 1.0–2.2 µs and left about 3 KB of garbage per event; what remains is the line itself (regex captures, numbers, timestamps) and garbage collection. Until the twelfth stop most of the state row was the VPC flows (two fifths of the events): the horizontal port-scan rule counted accepted flows, and every flow of this traffic was a new (source, port) pair with its own set; it counts refused flows now (a load balancer’s health checks read as a sweep), and the state row is the per-visitor counters of the request rules and the identity service’s sequences and alerts. ' +
    `After decoding, the goal leaves ${(1e6 / fastestFloor / 0.25 - stageUs.decode).toFixed(2)} µs per event for parsing, matching and state together; they took ${(stageTotal - stageUs.decode).toFixed(2)} here.`,
  '',
  '### Where the time goes, by log group (100 rules)',
  '',
  table(
    ['log group', 'events', 'events/payload', 'µs/event', 'µs/payload', 'share of the time'],
    groupRows.map((g) => [
      g.group,
      fmt.pct(g.events / eventCount),
      (g.events / g.payloads).toFixed(0),
      ((g.ms * 1000) / g.events).toFixed(2),
      fmt.int((g.ms * 1000) / g.payloads),
      fmt.pct(g.ms / groupsMs),
    ]),
  ),
  '',
  `Each group's payloads alone through the 100-rule path (its own detector, warm; the groups timed in turn, median of ${RUNS}). A payload has a cost of its own whatever its size (its decoding, batch id and receipt, and each matched rule's grouping, store calls and lifecycle): the groups CloudWatch delivers a few lines at a time pay it for every few lines, and the identity service's — where 13 rules read each line and most alerts come from — costs far more per event than its share of the events. The flows without the two port-scan rules (and their variants) took ${flowWithoutScansUs.toFixed(2)} µs per flow against ${flowUs.toFixed(2)}: both now count refused flows only, ${fmt.pct(flowRejectShare)} of this traffic's, so what a flow costs is mostly its decoding and the line gate's reading of its values (a record no rule can match is left before it is normalized: src/engine/flow-gate.ts; until the twelfth stop the horizontal scan counted accepted flows too, and the two rules' sets took 2.8 of a flow's 9.8 µs).`,
  '',
  '### What a rule costs (100 rules)',
  '',
  table(
    ['rule', 'log groups it matched in', 'events matched', 'ms of a pass', 'share of the pass', 'µs per matched event'],
    ruleRows.map((r) => [
      r.id,
      r.groups.join(', '),
      fmt.int(r.matched),
      r.costMs.toFixed(1),
      fmt.pct(r.costMs / ms('rules100')),
      ((r.costMs * 1000) / r.matched).toFixed(2),
    ]),
  ),
  '',
  `The ${BUSIEST_RULES} rules that match the most of the workload's events: each the difference between the 100-rule path with it and without it over the payloads of the log groups it matched in (the paths timed in turn, median of ${RUNS}; a difference under about ten milliseconds is within the noise: a rule that costs almost nothing came out at −11.5 ms in one run), and that against the whole pass (${ms('rules100').toFixed(1)} ms). A rule that counts per entity (a threshold, a spike, a sequence) writes a counter or set entry for each entity and bucket of a batch, whether or not the entity is near its count, so the store is exact whichever batch brings the events that reach it: what it costs follows the entities and buckets of its traffic, not its alerts.`,
  '',
  '### Before and after (issue 15)',
  '',
  table(
    ['figure', 'before (2026-11-29)', lastRun ? `the run before (${lastRun.date})` : 'the run before', `this run (${runDate})`],
    [
      [
        '10 rules, events/s (shared process)',
        '57,577 (rules that never touch nginx)',
        before(lastRun?.rules10, fmt.int),
        fmt.int(at(10).rate),
      ],
      ['100 rules, events/s (shared process)', '53,738', before(lastRun?.rules100, fmt.int), fmt.int(at(100).rate)],
      [
        '1,000 rules, events/s (shared process)',
        '24,131 (copies that matched the same events)',
        before(lastRun?.rules1000, fmt.int),
        fmt.int(at(1000).rate),
      ],
      ['1,000 rules vs 10 rules (time, shared process)', '2.39×', before(lastRun?.scaling, fmt.ratio), fmt.ratio(at(1000).ms / at(10).ms)],
      ['100 rules vs the floor (shared process)', '0.06×', before(lastRun?.vsFloor, fmt.ratio), fmt.ratio(at(100).rate / floorRate)],
      [
        '100 rules (a process of its own) vs the fastest floor',
        '—',
        before(lastRun?.isolated?.vsFastestFloor, fmt.ratio),
        fmt.ratio(isolated(100).rate / fastestFloor),
      ],
      [
        '1,000 rules vs 10 rules (time, each in a process of its own)',
        '—',
        before(lastRun?.isolated?.scaling, fmt.ratio),
        fmt.ratio(isolated(1000).vsTen),
      ],
      ['indexed vs naive at 100 rules', '1.05×', before(lastRun?.vsNaive, fmt.ratio), fmt.ratio(naiveMs / at(100).ms)],
    ],
  ),
  '',
  `The first column is the issue's own (2026-11-29): a smaller workload, and a 1,000-rule pack of copies that matched the same events, so it compares with the others as ratios only; it and the rows marked "shared process" were measured in one process with every other path, the way this report measured its named rows until 2026-12-05. \`test/evaluator-equivalence.test.ts\` checks that the indexed detector decides exactly what the plain one (every rule on every event) decides, store calls included, on this workload with 300 rules and on the demo. Every stop's figures and every earlier run's account, newest first: [history.md](history.md).`,
  '',
  '### This run',
  '',
  `${LATEST_PREFIX}${runNotes === '' ? '' : `${runNotes} `}This run measured the floor at ${fmt.int(fastestFloor)} events/s at its fastest and, in a process of its own, the 100-rule path at ${fmt.int(isolated(100).rate)} (${fmt.ratio(isolated(100).rate / fastestFloor)}; the rounds' paired ratios ${fmt.ratio(isolated(100).vsFloor)}), the 1,000-rule pack at ${fmt.ratio(isolated(1000).vsTen)} the time of the 10-rule one; in the benchmark's shared process, the floor at ${fmt.int(floorRate)} and the 100-rule path at ${fmt.int(at(100).rate)} (${fmt.ratio(at(100).rate / floorRate)}), the 1,000-rule pack at ${fmt.ratio(at(1000).ms / at(10).ms)}; the line gate left ${fmt.int(at(100).gated)} of a pass's ${fmt.int(eventCount)} lines unread at 100 rules (${fmt.int(at(10).gated)} at 10, ${fmt.int(at(1000).gated)} at 1,000); the filters deliver ${fmt.pct(deliveredShare)} of the events, on which the detector decides the same ${at(100).alerts} alerts from ${fmt.int(at(100).matched)} matched events with ${fmt.int(at(100).reads)} reads and ${fmt.int(at(100).writes)} writes as on every event${lastRun ? ` (the run before: ${lastRun.alerts} alerts, ${fmt.int(lastRun.matched)} matched events, ${fmt.int(lastRun.reads)} reads and ${fmt.int(lastRun.writes)} writes)` : ''}. The demo on the DynamoDB adapter made ${fmt.int(demoDdb.calls)} store calls, ${fmt.int(demoDdb.writes)} of them writes${lastRun ? ` (${fmt.int(lastRun.demoCalls)} and ${fmt.int(lastRun.demoWrites)} in the run before)` : ''}. Content recognition's difference in time came out ${fmt.pct(at(100).ms / explicit.ms - 1)}.`,
  '',
  '## State store calls per event',
  '',
  table(
    ['workload', 'events', 'store calls', 'writes/event', 'calls/event', 'naive writes/event'],
    [
      [
        'one 10,000-event payload: flood from 5 IPs in one minute',
        fmt.int(flood[0]?.events ?? 0),
        fmt.int(flood[0]?.calls ?? 0),
        perEvent(flood[0]?.writes, flood[0]?.events),
        perEvent(flood[0]?.calls, flood[0]?.events),
        perEvent(floodNaiveWrites[0], flood[0]?.events),
      ],
      [
        'one 10,000-event payload: 20 attacking IPs + 200 visitors',
        fmt.int(flood[1]?.events ?? 0),
        fmt.int(flood[1]?.calls ?? 0),
        perEvent(flood[1]?.writes, flood[1]?.events),
        perEvent(flood[1]?.calls, flood[1]?.events),
        perEvent(floodNaiveWrites[1], flood[1]?.events),
      ],
      [
        `busy streams (${(eventCount / payloads.length).toFixed(0)} events/payload), 100 rules`,
        fmt.int(eventCount),
        fmt.int(at(100).calls),
        perEvent(at(100).writes, eventCount),
        perEvent(at(100).calls, eventCount),
        perEvent(naiveWrites, eventCount),
      ],
      [
        'demo, payloads cut at 1 h per stream',
        fmt.int(demoBig.events),
        fmt.int(demoBig.calls),
        perEvent(demoBig.writes, demoBig.events),
        perEvent(demoBig.calls, demoBig.events),
        '—',
      ],
      [
        `demo as delivered (${(demoEvents / demo.payloads.length).toFixed(1)} events/payload), **DynamoDB adapter on dynalite**`,
        fmt.int(demoDdb.events),
        fmt.int(demoDdb.calls),
        perEvent(demoDdb.writes, demoDdb.events),
        perEvent(demoDdb.calls, demoDdb.events),
        '—',
      ],
      realAccess
        ? [
            `a real site's access log (apache_access_10k.log, ../shared/realworld: 4 days of 2015, ${(realAccess.events / realAccessPayloads.length).toFixed(1)} events/payload as delivered)`,
            fmt.int(realAccess.events),
            fmt.int(realAccess.calls),
            perEvent(realAccess.writes, realAccess.events),
            perEvent(realAccess.calls, realAccess.events),
            '—',
          ]
        : ["a real site's access log (needs ../shared/realworld/logs/apache_access_10k.log: absent here)", '—', '—', '—', '—', '—'],
    ],
  ),
  '',
  'Calls count every round trip (reads and writes; a `BatchGetItem` of up to 100 markers is one). Counter writes are pre-aggregated per batch, threshold counters and distinct-value sets packed per rule (the section below; spike counters one conditional update per rule, entity and slot of ten buckets), and every batch that matched something costs a receipt read, and one that decided something a receipt write too (a batch that decided nothing keeps none: delivered again it is decided again, its repeated writes no-ops; on the demo as delivered that took receipts from 6,482 writes — 35% of all — to 33). ' +
    'So what drives calls is the number of distinct (rule, entity) keys a batch touches, not events: a flood from a few sources is far below the ≤ 0.01 writes/event goal, while benign traffic from thousands of addresses that each appear a few times needs about one write per address and rule (any exact per-entity counter does), and tiny payloads are dominated by the per-batch calls.',
  '',
  '### The packed state layout: before and after',
  '',
  table(
    ['workload', 'layout', 'writes/event', 'reads/event', 'DynamoDB $/M events (writes + reads)'],
    [
      layoutRow('busy streams, 100 rules', 'an item per key (before)', {
        calls: perKeyMix.calls.reads + perKeyMix.calls.writes,
        writes: perKeyMix.calls.writes,
        events: eventCount,
      }),
      layoutRow('busy streams, 100 rules', '**packed (now)**', {
        calls: mix.calls.reads + mix.calls.writes,
        writes: mix.calls.writes,
        events: eventCount,
      }),
      ...(realAccess && realAccessPerKey
        ? [
            layoutRow("a real site's access log, the shipped pack", 'an item per key (before)', realAccessPerKey),
            layoutRow("a real site's access log, the shipped pack", '**packed (now)**', realAccess),
          ]
        : []),
      layoutRow('demo as delivered, the shipped pack', 'an item per key (before)', demoPerKey),
      layoutRow('demo as delivered, the shipped pack', '**packed (now)**', demoInMemory),
    ],
  ),
  '',
  `Threshold counters and distinct-value sets are now packed (src/engine/packed-state.ts): per rule, shard (a hash of the entity, one of ${PACK_SHARDS}) and slot of ten buckets, one item holds every entity's counts or set members while it holds at most its open bytes, so that any chunk a batch adds (at most ${CHUNK_BYTES} bytes) leaves it under 1 KB — one write unit; a full item is never written again and the slot continues in its next item, as the per-key counter items did. A batch writes each chain its entities fall in once per chunk of entries, and a window's read is one query per rule and shard, where the per-key layout wrote and read an item per entity. Counter chunks carry an id recorded in the item they land in (a retried batch adds nothing; a container passes the full items it knows without a call). Spike counters, sequence steps, keys scoped to an account and entities longer than ${MAX_PACKED_MEMBER_BYTES} bytes keep their own items. Both counts come from the in-memory store over the same payloads, one counting as the adapter makes its calls now, one as it made them before (\`perKeyLayout\`; tested against the adapter on dynalite, call for call, in test/packed-state.test.ts): counting only, the state and the alerts are the same. On dynalite the demo's packed calls consumed ${(demoUnits.write / Math.max(1, demoDdb.writes)).toFixed(2)} write units a write and ${(demoUnits.read / Math.max(1, demoDdb.calls - demoDdb.writes)).toFixed(2)} read units a read. An upgraded table reads its per-key items beside the packed ones for buckets that began up to a day and a quarter of an hour after its first packing container ran (an older version's last batches, events up to a day ahead), a new table never; a batch retried across the upgrade may count twice.`,
  '',
  '### Where the writes go (busy streams, 100 rules)',
  '',
  table(
    ['item kind', 'writes', 'writes/event', 'if merged per entity and slot'],
    [
      [
        'window counters (threshold, spike)',
        fmt.int(mix.writesByKind.counters),
        perEvent(mix.writesByKind.counters, eventCount),
        `${fmt.int(mix.merged.counters)} (${perEvent(mix.merged.counters, eventCount)}/event)`,
      ],
      [
        'distinct-value and sequence sets',
        fmt.int(mix.writesByKind.sets),
        perEvent(mix.writesByKind.sets, eventCount),
        `${fmt.int(mix.merged.sets)} (${perEvent(mix.merged.sets, eventCount)}/event)`,
      ],
      ['first-seen terms (new-term rules)', fmt.int(mix.writesByKind.terms), perEvent(mix.writesByKind.terms, eventCount), '—'],
      ['alert lifecycle and digests', fmt.int(mix.writesByKind.docs), perEvent(mix.writesByKind.docs, eventCount), '—'],
      ['batch receipts', fmt.int(mix.writesByKind.receipts), perEvent(mix.writesByKind.receipts, eventCount), '—'],
      ['due index upkeep (write units, no call of their own)', fmt.int(mix.dueIndexWrites), perEvent(mix.dueIndexWrites, eventCount), '—'],
    ],
  ),
  '',
  'Counted as the packed layout makes its calls. The last column was measured against the per-key layout (a write per rule, entity and slot a batch touched) and ' +
    'measures another cheaper exact layout, not built: one item per (entity, slot) holding every rule’s count or set as its own attribute, updated once per batch with the batch id guarding all of them. ' +
    `${mergedVerdict(mix.merged.counters + mix.merged.sets, perKeyMix.writesByKind.counters + perKeyMix.writesByKind.sets, mix.writesByKind.counters + mix.writesByKind.sets)} ` +
    `The set writes by rule, the most first: ${[...mix.setWritesByRule]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([r, n]) => `${r} ${fmt.int(n)}`)
      .join(
        ', ',
      )}. Until the twelfth stop the horizontal port scan made most of them (it counted accepted flows, and each flow of this traffic was a new source and port with a new member; it counts refused ones now). The vertical rule has counted only refused flows since the first round (flow logs record both directions, and a busy client's replies went to a new client port each time: a scan of the client, to that rule), which on this workload (the rule alone changed) took the store from 99,880 writes to 66,809 and the published messages from 318 to 234 — the 84 were all one busy client's replies read as a scan of it; the real scan still fires. A set that a batch leaves unchanged is no longer rewritten (exact; it pays on real flow logs, where the same pairs repeat, and barely on this synthetic traffic, whose pairs are random).`,
  '',
  '### Distinct-value sets packed per rule and bucket (an estimate, not built)',
  '',
  table(
    ['layout', 'writes', 'write units', 'reads', 'read units', 'largest item'],
    [
      [
        'one item per rule, entity and bucket (the per-key layout, before packing)',
        fmt.int(mix.packed.perEntity.writes),
        fmt.int(mix.packed.perEntity.writes),
        fmt.int(mix.packed.perEntity.reads),
        fmt.int(mix.packed.perEntity.reads),
        'under 1 KB',
      ],
      ...mix.packed
        .results()
        .map((r) => [
          `one item per rule, bucket and shard of ${r.shards} (a hash of the entity)`,
          fmt.int(r.writes),
          fmt.int(r.writeUnits),
          fmt.int(r.reads),
          fmt.int(r.readUnits),
          `${fmt.int(r.largestItem)} B`,
        ]),
    ],
  ),
  '',
  `DynamoDB bills a write by the size of the whole item (a unit per KB, the larger of before and after) and a read by what it returns (a unit per 4 KB), not by the entities in it. So the cheapest exact layout for sets depends on how much traffic shares an item: the table replays this workload's distinct-value set adds (the port scans', \`d#\` keys) into items that hold every entity of a rule, a 30-second bucket and a shard (a batch writes each item it changes once; it reads, per rule and shard, the buckets its entities' windows cover, in one query). With one shard, this workload would make ${fmt.pct(1 - (mix.packed.results()[0]?.writes ?? 0) / Math.max(1, mix.packed.perEntity.writes))} fewer set writes and ${fmt.pct(1 - (mix.packed.results()[0]?.reads ?? 0) / Math.max(1, mix.packed.perEntity.reads))} fewer set reads than the per-key layout — $${packedSavingUsd.toFixed(2)} per million events of the busy streams' bill then. It is not built, because the saving comes from a light load: a 30-second bucket of this workload holds at most ${fmt.int(mix.packed.results()[0]?.largestItem ?? 0)} bytes of pairs. Under a VPC's real volume (thousands of new source and port pairs in a bucket, delivered in many payloads) every write would be billed the whole item's size and every read would return every entity's members of the window, costs that grow with traffic times deliveries, where the per-entity layout's grow with entities alone; an item is capped at 400 KB, so volume needs shards, and at 16 shards the write saving is already gone here. The per-entity layout's cost is bounded per entity whatever the volume; a packed one would need its shard count to follow the traffic (and a migration of deployed tables).`,
  '',
  '### Counters and sets packed under one write unit, spilling beyond it (the estimate the packed layout was built against)',
  '',
  table(
    [
      'workload',
      'counter writes (per key → packed)',
      'set writes (per key → packed)',
      'writes/event (per key → packed)',
      'DynamoDB writes $/M events (per key → packed)',
    ],
    [
      spillRow('busy streams, 100 rules', mix, eventCount),
      realAccess
        ? spillRow("a real site's access log, the shipped pack", realAccessMix, realAccess.events)
        : ["a real site's access log (needs ../shared/realworld/logs/apache_access_10k.log)", '—', '—', '—', '—'],
    ],
  ),
  '',
  'A layout that packs without the costs above: per rule and slot of ten buckets, one item holds every entity’s counts (or set members) while it stays under one write unit (1 KB), beside the ids of the batches that changed it (so a retried batch adds nothing, as today’s counter items keep theirs); an entity that does not fit keeps an item of its own for that slot, as every entity did before packing. A batch writes the packed item once, if it placed something in it, and each spilled entity’s item as today — so it never writes more than today (every packed write stands for at least one entity that today writes alone), a write never costs more than one unit, and a read of the window is the packed items (a unit each) and the spilled entities’ items. Light traffic, where today’s layout costs the most per event, gains the most; under sustained load an item fills (with entities and batch ids) and what it held spills, which costs what today’s layout does. The estimate replays each workload’s counter and set writes into that layout (bench/write-mix.ts `SpillPacked`; sequence steps, which keep their latest event beside the set, stay per entity). This stop built a simpler form of it (the section above): an item that is full continues in a next packed item instead of spilling its entities to items of their own, and entities are spread over shards, so a rule’s busiest slot is not one partition’s writes; the estimate counted a batch’s packed writes once per item, the build once per chunk of at most half a unit.',
  '',
  '## Bundle, cold start, memory',
  '',
  table(
    ['figure', 'value'],
    [
      [
        'detector bundle (minified, SDK included)',
        `${(bundle.bytes / 1024).toFixed(0)} KiB (${(bundle.gzipBytes / 1024).toFixed(0)} KiB gzipped)`,
      ],
      ['module init of the bundled handler (rules compiled, clients built)', `${bundle.initMs.toFixed(0)} ms`],
      [
        'peak RSS while processing one 10,000-event payload',
        `${memory.peakMiB.toFixed(0)} MiB (+${memory.growthMiB.toFixed(0)} MiB over the loaded process)`,
      ],
    ],
  ),
  '',
  '## Cost per million log events (us-east-1 list prices, see ../../shared/design/aws-facts.md)',
  '',
  table(
    ['item', 'this design', 'naive', `quiet groups (${(demoEvents / demo.payloads.length).toFixed(1)} events/payload)`],
    cost.lines
      .map((l, i) => [l.item, fmt.usd(l.usd), fmt.usd(naiveCost.lines[i]?.usd ?? 0), fmt.usd(quietCost.lines[i]?.usd ?? 0)])
      .concat([['**total**', `**${fmt.usd(cost.total)}**`, `**${fmt.usd(naiveCost.total)}**`, `**${fmt.usd(quietCost.total)}**`]]),
  ),
  '',
  cost.assumptions,
  '',
  `The first two columns are the busy-streams workload (${(eventCount / payloads.length).toFixed(0)} events per payload). A log group that writes a few lines a minute is delivered a few events at a time, one invocation each: the last column is the demo as CloudWatch delivers it, on the DynamoDB adapter (${fmt.int(demoRate)} events/s of CPU on one core, ${(demoDdb.writes / demoDdb.events).toFixed(2)} writes and ${((demoDdb.calls - demoDdb.writes) / demoDdb.events).toFixed(2)} reads per event — priced by the units they consumed, ${(demoUnits.write / demoDdb.events).toFixed(2)} write and ${(demoUnits.read / demoDdb.events).toFixed(2)} read units per event: ${(demoUnits.write / Math.max(1, demoDdb.writes)).toFixed(2)} units a write, items billed by their size, ${(demoUnits.read / Math.max(1, demoDdb.calls - demoDdb.writes)).toFixed(2)} a read call, a batch read of markers a unit per marker — ${(demoDdb.calls / demo.payloads.length).toFixed(1)} store calls per batch counted as as many sequential rounds, an alert every ${Math.round(demoDdb.events / Math.max(1, demoDdb.alerts))} events). Per event it costs more — requests, round trips and receipts are per batch — but such groups write few events, so their share of a bill is small; the busy groups set it.`,
  '',
  '## Many accounts: hub sizing (destination → Kinesis → detector)',
  '',
  table(
    [
      'events/s',
      'shards (write / read)',
      'detector concurrency',
      'Kinesis provisioned $/M events',
      'Kinesis on-demand $/M events',
      'hub total $/M events',
      'single account $/M events',
    ],
    hub.map((h) => [
      fmt.int(h.eventsPerSecond),
      `${h.shards} (${h.writeShards} / ${h.readShards})`,
      fmt.int(h.concurrency),
      fmt.usd(h.provisionedUsdPerMillion),
      fmt.usd(h.onDemandUsdPerMillion),
      fmt.usd(h.totalUsdPerMillion),
      fmt.usd(cost.total),
    ]),
  ),
  '',
  `Measured: ${recordBytesPerEvent.toFixed(0)} bytes of gzipped payload per event at ${EVENTS_PER_RECORD} events per record; one invocation sustains ${fmt.int(EVENTS_PER_RECORD / recordSeconds)} events/s. ` +
    HUB_ASSUMPTIONS({ eventsPerRecord: EVENTS_PER_RECORD, batchSize: HUB_BATCH }) +
    ' Reserved concurrency (detectorConcurrency) must be at least the concurrency shown, or the stream falls behind (the iterator-age alarm says so).',
  '',
  `Subscription filter: the compiled patterns deliver ${fmt.pct(deliveredShare)} of this workload's events to Lambda (drop ${fmt.pct(1 - deliveredShare)}):`,
  '',
  table(
    ['log group', 'delivered', 'pattern'],
    [...share.perGroup].map(([g, s]) => [
      g,
      `${fmt.pct(s.delivered / s.total)} of ${fmt.int(s.total)}`,
      // A table cell's pipes are escaped, the pattern's alternation included.
      s.pattern === ''
        ? `(all events: ${s.reason})`
        : `${s.pattern.length} characters: \`${(s.pattern.length > 60 ? `${s.pattern.slice(0, 57)}...` : s.pattern).replaceAll('|', '\\|')}\``,
    ]),
  ),
  '',
].join('\n');

process.stdout.write(`${report}\n`);
// The last report's account of its run moves to the history before this run's replaces it.
if (existsSync(HISTORY_FILE) && lastRun) {
  writeFileSync(HISTORY_FILE, withLatestArchived(readFileSync(HISTORY_FILE, 'utf8'), lastReport, lastRun.date));
}
writeFileSync('bench/results.md', report);
writeLastRun({
  date: runDate,
  floor: floorRate,
  rules10: at(10).rate,
  rules100: at(100).rate,
  rules1000: at(1000).rate,
  scaling: at(1000).ms / at(10).ms,
  vsFloor: at(100).rate / floorRate,
  alone100: soloParallelGc,
  vsNaive: naiveMs / at(100).ms,
  alerts: at(100).alerts,
  matched: at(100).matched,
  reads: at(100).reads,
  writes: at(100).writes,
  demoCalls: demoDdb.calls,
  demoWrites: demoDdb.writes,
  isolated: {
    floor: isolatedFloorRate,
    rules10: isolated(10).rate,
    rules100: isolated(100).rate,
    rules1000: isolated(1000).rate,
    scaling: isolated(1000).vsTen,
    vsFastestFloor: isolated(100).rate / fastestFloor,
  },
});
log('wrote bench/results.md, bench/last-run.json and bench/history.md');
if (noiseNote !== '') log(`noise-bound run: ${implausible.join('; ')} — run it again`);

// Every payload must have its own batch id, or receipts would answer for the wrong batch.
if (new Set(payloads.map(batchIdOf)).size !== payloads.length) throw new Error('workload payloads share batch ids');
