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
import { HUB_ASSUMPTIONS, hubSizing } from './hub-sizing';
import { fmt, interleavedMedians, median, medianMs, table, WARMUP_PASSES } from './measure';
import { NaiveDetector } from './naive';
import { cpuLoopScaling, parallelHotPath } from './parallel';
import { scaledRules } from './rule-scaling';
import { benchSetup, STACK_ACCOUNTS, warmHotPath } from './setup';
import { toLambdaEvent } from './workload';
import { WriteMixStore } from './write-mix';

const WORKLOAD_EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

// Every path runs with the detector function's heap setting (src/runtime/v8-heap.ts); the floor
// is also measured in a process of its own with V8's defaults (below).
const heapTuned = disablePretenuring();

// Busy streams: payloads of up to 10,000 events or one hour per stream; the shipped rules in the
// order of the traffic they carry (the 10-rule row already does the workload's work).
const { pack, normalizer, payloads, lambdaEvents, eventCount, base } = benchSetup(WORKLOAD_EVENTS);
log(`workload: ${fmt.int(eventCount)} events in ${payloads.length} payloads`);

// 1. Physical floor: base64 + gunzip + JSON.parse alone (here, and in a process of its own below).
const floor = () => decodeFloor(lambdaEvents);

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
}
/**
 * One timed pass of the hot path: the path's one detector (built once, as on a cold start; see
 * warmHotPath) from an empty store.
 */
function hotPathRunner(rules: ReturnType<typeof scaledRules>, withNormalizer: Normalizer = normalizer, input = lambdaEvents) {
  const figures: HotPathFigures = { calls: 0, reads: 0, writes: 0, indexWrites: 0, alerts: 0, matched: 0, detections: 0, published: 0 };
  const hotPath = warmHotPath(withNormalizer, rules);
  const { store } = hotPath;
  const run = async () => {
    const f: HotPathFigures = { calls: 0, reads: 0, writes: 0, indexWrites: 0, alerts: 0, matched: 0, detections: 0, published: 0 };
    await hotPath.pass(input, (r) => {
      f.alerts += r.messages.length;
      f.matched += r.matchedEvents;
      f.detections += r.detections;
      f.published += r.messages.filter((m) => m.publish || m.digest).length;
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
const explicitNormalizer = new Normalizer([...pack.sources, ...explicitSources], { accountsFor: STACK_ACCOUNTS });

// 3. Naive baseline at 100 rules: same decode + normalize, every rule on every event, a write per hit.
const rules100 = scaledRules(base, 100);
let naiveWrites = 0;
const naive = () => {
  const detector = new NaiveDetector(new CompiledRuleSet(rules100).rules);
  for (const e of lambdaEvents) {
    const decoded = decodeLambdaEvent(e);
    if (decoded.ok) detector.evaluate(normalizePayload(decoded.payload, normalizer, new SkipLedger()));
  }
  naiveWrites = detector.writes;
};

// 4. Where the 100-rule hot path's time goes: the same loop cut after each stage.
const stageMatcher = new Detector({ rules: rules100 }, new MemoryStateStore());
const stages = {
  decode: () => {
    for (const e of lambdaEvents) decodeLambdaEvent(e);
  },
  normalize: () => {
    for (const e of lambdaEvents) {
      const d = decodeLambdaEvent(e);
      if (d.ok) normalizePayload(d.payload, normalizer, new SkipLedger());
    }
  },
  match: () => {
    for (const e of lambdaEvents) {
      const d = decodeLambdaEvent(e);
      if (d.ok) stageMatcher.matchAll(normalizePayload(d.payload, normalizer, new SkipLedger()));
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
const explicitRunner = hotPathRunner(scaledRules(base, 100), explicitNormalizer);
// What the 100-rule pack's compiled subscription filters deliver of the workload, as CloudWatch
// would: the detector must decide on it exactly what it decides on every event (checked below).
const delivered = deliveredPayloads(payloads, rules100, pack.sources);
const deliveredEvents = delivered.reduce((n, p) => n + p.logEvents.length, 0);
const deliveredRunner = hotPathRunner(scaledRules(base, 100), normalizer, delivered.map(toLambdaEvent));
const timed = await interleavedMedians(RUNS, {
  floor,
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
const floorMs = (eventCount / floorRate) * 1000;
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
const at = (size: number): HotPathRow =>
  scaling.find((s) => s.size === size) ?? {
    size,
    ms: 0,
    calls: 0,
    reads: 0,
    writes: 0,
    indexWrites: 0,
    alerts: 0,
    matched: 0,
    detections: 0,
    published: 0,
    rate: 0,
  };

// The 1,000-rule pack does the 10-rule pack's work and more, and each stage of the stage loop
// adds work to the one before: a run where either comes out the other way measured how this VM's
// speed moved during the run, not the paths, and says so rather than report a comparison.
const implausible = [
  ...(at(1000).ms < 0.95 * at(10).ms ? [`the 1,000-rule path took ${fmt.ratio(at(1000).ms / at(10).ms)} the time of the 10-rule one`] : []),
  ...stageRows.filter(([, us]) => us < 0).map(([name]) => `the stage '${name}' came out negative`),
];
const noiseNote =
  implausible.length === 0
    ? ''
    : ` **This run is noise-bound**: ${implausible.join(' and ')}, which more work cannot do — the VM's speed moved during the run by more than the paths differ, so its ratios compare nothing; run it again.`;

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
// The share of the flows the port-scan rules count: refused ones (a default-format record's action is its 13th word).
const flowRejectShare =
  (groupPayloads.get(FLOW_GROUP) ?? []).reduce(
    (n, i) => n + (payloads[i]?.logEvents.filter((e) => e.message.split(' ')[12] === 'REJECT').length ?? 0),
    0,
  ) / flowEvents;
log('lines whose field names an attacker chooses…');
const chosenKeys = await hostileKeys(RUNS);
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
log('the 10- and 1,000-rule packs, each alone in its process…');
// The rows above time every pack in one process, whose shared code sees every pack; a Lambda holds
// one. Alternated, three rounds: this VM moves a process's speed by a fifth from one to the next.
const soloScaling = { ten: [] as number[], thousand: [] as number[] };
for (let round = 0; round < 3; round++) {
  soloScaling.ten.push(soloRate('bench/one-core-gc.ts', [], { BENCH_RULES: '10' }));
  soloScaling.thousand.push(soloRate('bench/one-core-gc.ts', [], { BENCH_RULES: '1000' }));
}
/** 1,000 rules against 10, each alone: the ratio of median times, and each round's. */
const soloScalingRatio = median(soloScaling.ten) / Math.max(1, median(soloScaling.thousand));
const soloScalingRounds = soloScaling.ten.map((ten, i) => ten / Math.max(1, soloScaling.thousand[i] ?? 0));
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
const rate100 = at(100).rate;
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

const awsShare =
  payloads
    .filter((p) => p.logGroup === 'vpc/prod-flows' || p.logGroup.startsWith('/aws/lambda/'))
    .reduce((n, p) => n + p.logEvents.length, 0) / eventCount;

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
      ['floor', fmt.int(floorRate), fmt.ratio(1), '—', '—', '—'],
      ...scaling.map((s) => [
        `${fmt.int(s.size)} rules`,
        fmt.int(s.rate),
        fmt.ratio(s.rate / floorRate),
        fmt.ratio(s.ms / at(10).ms),
        (s.matched / eventCount).toFixed(3),
        fmt.int(s.alerts),
      ]),
      ...(sigmaRunner
        ? [
            [
              `100 rules + ${sigmaRules.length} SigmaHQ rules`,
              fmt.int(eventCount / (ms('sigma') / 1000)),
              fmt.ratio(eventCount / (ms('sigma') / 1000) / floorRate),
              fmt.ratio(ms('sigma') / at(10).ms),
              (sigmaRunner.figures.matched / eventCount).toFixed(3),
              fmt.int(sigmaRunner.figures.alerts),
            ],
          ]
        : []),
      [
        '100 rules, alone in its process (one pack, as in a Lambda)',
        fmt.int(soloParallelGc),
        fmt.ratio(soloParallelGc / floorRate),
        '—',
        '—',
        '—',
      ],
      ['100 rules, alone, GC on one thread (a 1-vCPU Lambda)', fmt.int(oneCoreGc), fmt.ratio(oneCoreGc / floorRate), '—', '—', '—'],
      [
        '10 rules, alone in its process (median of 3, alternated with the next)',
        fmt.int(median(soloScaling.ten)),
        fmt.ratio(median(soloScaling.ten) / floorRate),
        '1.00×',
        '—',
        '—',
      ],
      [
        '1,000 rules, alone in its process (median of 3)',
        fmt.int(median(soloScaling.thousand)),
        fmt.ratio(median(soloScaling.thousand) / floorRate),
        fmt.ratio(soloScalingRatio),
        '—',
        '—',
      ],
      ['100 rules, 2 worker threads', fmt.int(parallel2.eventsPerSecond), fmt.ratio(parallel2.eventsPerSecond / floorRate), '—', '—', '—'],
      ['100 rules, 3 worker threads', fmt.int(parallel.eventsPerSecond), fmt.ratio(parallel.eventsPerSecond / floorRate), '—', '—', '—'],
      [
        'naive: every rule on every event, 100 rules',
        fmt.int(eventCount / (naiveMs / 1000)),
        fmt.ratio(eventCount / (naiveMs / 1000) / floorRate),
        '—',
        '—',
        '—',
      ],
    ],
  ),
  '',
  `\`floor\` is base64 + gunzip + JSON.parse alone, keeping every parsed payload: the faster of the floor timed beside the paths in this process (${fmt.int(floorHere)} events/s) and in a process of its own with V8's default heap settings (${fmt.int(floorAlone)}, best of two). The detector's heap setting slowed this loop in the bench's process (780,875 and 774,197 events/s in two runs with it, 1,137,035 in one without, the same hour), though not alone in a process (1,185,751 / 1,248,784 with V8's default, 1,192,276 / 1,182,770 with the setting): a floor the setting slowed would flatter every ratio below. ` +
    'The rule rows are the detector hot path (decode, parse, normalize, match, windowed state in the in-memory store, lifecycle, alerts). ' +
    `The rule packs: the shipped rules in the order of the traffic they carry (10 rules: ${base
      .slice(0, 10)
      .map((r) => r.id)
      .join(
        ', ',
      )}), then variants whose every literal changes, so they select no traffic — matches/event and alerts stay flat while the pack grows, and the rows compare the cost of the pack, not of more matches. ` +
    `The worker rows run two and three detectors at once on this ${cpus().length}-core machine (every second or third payload each). ` +
    `They scale poorly (${fmt.ratio(parallel2.eventsPerSecond / at(100).rate)} the one-thread row with two workers) although a loop of arithmetic alone scales ${fmt.ratio(cpuScaling)} on two workers here: the one-thread rows are not one core. ` +
    `V8 collects garbage partly on helper threads, and this path allocates about 3.6 KB per event (a heap-sampling profile) and collection is a fifth of its time in a CPU profile; alone, it has the second core for them. ` +
    `With the collector on the JavaScript thread only (\`--single-threaded-gc\`, what a Lambda function below 1,769 MB — one vCPU — gets) the same path ${gcFlagEffect(soloParallelGc / oneCoreGc - 1)} (both in a process of their own, best of two alternated runs each: ${fmt.int(soloParallelGc)} events/s without it${gcFlagNote(soloParallelGc / oneCoreGc - 1)}): that row is the per-vCPU figure to size with. ` +
    (sigmaRunner
      ? `The SigmaHQ row adds the rules \`detect import-sigma\` converts from ../shared/realworld/sigma (linux, web, cloud/aws; read there, never copied here) to the 100-rule pack: real rules, whose any-of lists, wildcards and \`GET\` beside their attack strings are what the index must key well (measured on matching alone over this workload, these rules added 3.2 µs/event before this round keyed them and 0.8 after; test/sigma-realworld.test.ts checks the index agrees with the plain evaluator on each of them).`
      : 'The SigmaHQ row needs ../shared/realworld/sigma (absent here).'),
  '',
  `Published messages per 1,000 detections (100 rules): **${fmt.int((1000 * at(100).published) / Math.max(1, at(100).detections))}** (${fmt.int(at(100).published)} published or digested for ${fmt.int(at(100).detections)} events that met a rule's full condition; the lifecycle publishes state changes, not occurrences). ` +
    `Content recognition (the AWS groups named by no source): ${fmt.int(at(100).rate)} events/s, against ${fmt.int(eventCount / (explicit.ms / 1000))} with sources naming them — a difference of ${fmt.pct(at(100).ms / explicit.ms - 1)} in time (the 5% budget). ` +
    (sshd
      ? `The sshd parser on the real OpenSSH_2k.log lines: ${fmt.int(sshd.rate)} lines/s (${fmt.ratio(sshd.rate / floorRate)} the floor), ${fmt.pct(sshd.parsed)} parsed.`
      : 'The sshd parser row needs ../shared/realworld/logs/OpenSSH_2k.log (absent here).'),
  '',
  'Field names an attacker chooses (an app that logs request headers as an object), normalization alone, µs per line: ' +
    chosenKeys
      .map((k) => `${k.shape} ${k.benignUs.toFixed(2)} with the app's five keys, ${k.hostileUs.toFixed(2)} with 30 never-seen keys`)
      .join('; ') +
    '. Most of the difference is JSON.parse building an object of new names; events of such lines are hash tables (src/parse/event-record.ts), so the detector adds no cost per new name — with the fixed-shape events text lines get, they took a third (JSON) to four fifths (Laravel) longer.',
  '',
  'A `|cidr` condition over a named list as a deployment grows it (the shipped internal ranges, then /24s of its offices), ns per event (an address of every kind: private, public, IPv6): ' +
    cidrListRows
      .map((r) => `${fmt.int(r.ranges)} ranges ${fmt.int(r.setNs)} (${fmt.int(r.eachNs)} testing each range in turn)`)
      .join(', ') +
    '. IPv4 ranges are merged into sorted intervals searched by halves (src/rules/cidr.ts `CidrSet`), so a list a thousand ranges long costs a rule about what the shipped nine do; what is left is reading the address.',
  '',
  `Goals: ≥ 0.25× the floor at 100 rules (**${rate100 >= 0.25 * floorRate ? 'met' : 'not met'}**: ${fmt.ratio(rate100 / floorRate)}; the path alone in its process, as in a Lambda, ${fmt.ratio(soloParallelGc / floorRate)}); 1,000 rules ≤ 1.5× the time of 10 rules (**${at(1000).ms <= 1.5 * at(10).ms ? 'met' : 'not met'}**: ${fmt.ratio(at(1000).ms / at(10).ms)}; each pack alone in its process, as a Lambda holds one, ${soloScalingRatio <= 1.5 ? 'met' : 'not met'} at ${fmt.ratio(soloScalingRatio)} — the three rounds ${soloScalingRounds.map(fmt.ratio).join(', ')}).${noiseNote} ` +
    `The hot path includes state updates in the in-memory store and building ${fmt.int(at(100).alerts)} alerts; the naive path does neither, so its speed is an upper bound for it. Hot path vs naive at 100 rules: ${fmt.ratio(naiveMs / at(100).ms)} faster.`,
  '',
  '### Where the time goes (100 rules, µs per event)',
  '',
  table(
    ['stage', 'µs/event', 'share'],
    stageRows.map(([name, us]) => [name, us.toFixed(2), fmt.pct(us / stageTotal)]),
  ),
  '',
  `Each row is the same loop cut after that stage, timed with the others (differences of medians, so a row can be off by the noise of the two it subtracts). The 0.25× goal leaves ${((floorMs * 1000) / eventCount / 0.25).toFixed(2)} µs per event for everything; decoding alone takes ${stageUs.decode.toFixed(2)}. ` +
    'Normalizing builds one object of 20–30 fields per event: since the third round an instance of a class with room for 40 fields inside the object, which V8’s in-object slack tracking trims to what the class’s first events used — since the sixth stop a class per parser pattern and flow format, so a flow record keeps 32 of its 33 fields inside it (the service name, written last, in a side array of three slots), where it had shared one class trimmed to the 20 of the first events and 13 went to a side array grown three slots at a time (src/parse/event-record.ts), about 0.45 µs for 28 fields where a null-prototype object — dictionary mode in V8, a hash table reallocated as it doubles — took 1.0–2.2 µs and left about 3 KB of garbage per event; what remains is the line itself (regex captures, numbers, timestamps) and garbage collection. Until the twelfth stop most of the state row was the VPC flows (two fifths of the events): the horizontal port-scan rule counted accepted flows, and every flow of this traffic was a new (source, port) pair with its own set; it counts refused flows now (a load balancer’s health checks read as a sweep), and the state row is the per-visitor counters of the request rules and the identity service’s sequences and alerts. ' +
    'The goal leaves about 3 µs per event after decoding for parsing, matching and state together; parsing alone (regex captures and the event object) takes more than that here, so meeting it needs fields parsed lazily per rule pack or a compiled per-source parser, not more tuning of this path.',
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
  `Each group's payloads alone through the 100-rule path (its own detector, warm; the groups timed in turn, median of ${RUNS}). A payload has a cost of its own whatever its size (its decoding, batch id and receipt, and each matched rule's grouping, store calls and lifecycle): the groups CloudWatch delivers a few lines at a time pay it for every few lines, and the identity service's — where 13 rules read each line and most alerts come from — costs far more per event than its share of the events. The flows without the two port-scan rules (and their variants) took ${flowWithoutScansUs.toFixed(2)} µs per flow against ${flowUs.toFixed(2)}: both now count refused flows only, ${fmt.pct(flowRejectShare)} of this traffic's, so what a flow costs is mostly its decoding and normalizing (until the twelfth stop the horizontal scan counted accepted flows too, and the two rules' sets took 2.8 of a flow's 9.8 µs).`,
  '',
  '### Before and after (issue 15)',
  '',
  table(
    [
      'figure',
      'before (2026-11-29)',
      'first round (2026-11-30)',
      'second round (2026-12-01)',
      'third round (2026-12-01)',
      'last stop (2026-12-02)',
      'compiled field access (2026-12-02)',
      'previous stop (2026-12-03)',
      'later stop (2026-12-03)',
      'fourth stop (2026-12-03)',
      'fifth stop (2026-12-03)',
      'sixth stop (2026-12-03)',
      'seventh stop (2026-12-03)',
      'eighth stop (2026-12-03)',
      'ninth stop (2026-12-03)',
      'tenth stop (2026-12-03)',
      'eleventh stop (2026-12-03)',
      'twelfth stop (2026-12-03)',
      'thirteenth stop (2026-12-04)',
      'fourteenth stop (2026-12-04)',
      'fifteenth stop (2026-12-04)',
      'sixteenth stop (2026-12-04)',
      'seventeenth stop (2026-12-04)',
      'eighteenth stop (2026-12-04)',
      'nineteenth stop (2026-12-04)',
      'twentieth stop (2026-12-04)',
      'twenty-first stop (2026-12-04)',
      'twenty-second stop (2026-12-04)',
      'twenty-third stop (2026-12-04)',
      'now (2026-12-04, twenty-fourth stop; threshold windows summed only where the count is in reach)',
    ],
    [
      [
        '10 rules, events/s',
        '57,577 (rules that never touch nginx)',
        '75,410 (rules carrying the workload)',
        '90,836',
        '113,980',
        '65,029 (a slow hour)',
        '113,907',
        '113,619',
        '114,593',
        '93,048',
        '93,183',
        '74,943',
        '58,021',
        '55,685',
        '51,645',
        '61,087',
        '95,482',
        '82,681',
        '102,249',
        '108,043',
        '112,233',
        '116,277',
        '149,990',
        '144,820',
        '128,847',
        '128,964',
        '121,638',
        '133,881',
        '129,241',
        fmt.int(at(10).rate),
      ],
      [
        '100 rules, events/s',
        '53,738',
        '57,708',
        '78,831',
        '100,227',
        '60,452',
        '93,529',
        '94,436',
        '96,299',
        '79,536',
        '79,775',
        '73,388',
        '52,874',
        '49,683',
        '42,379',
        '59,939',
        '75,861',
        '74,524',
        '81,500',
        '76,794',
        '88,916',
        '93,332',
        '130,409',
        '124,662',
        '113,256',
        '110,050',
        '97,271',
        '109,771',
        '104,054',
        fmt.int(at(100).rate),
      ],
      [
        '1,000 rules, events/s',
        '24,131 (copies that matched the same events: matches doubled)',
        '55,102 (disjoint variants)',
        '80,560',
        '98,942',
        '58,038',
        '93,529',
        '94,393',
        '96,897',
        '79,194',
        '81,569',
        '72,438',
        '54,261',
        '51,514',
        '49,888',
        '48,849',
        '77,867',
        '77,265',
        '76,270',
        '81,708',
        '89,166',
        '89,532',
        '130,777',
        '126,618',
        '113,720',
        '111,442',
        '93,527',
        '114,404',
        '105,762',
        fmt.int(at(1000).rate),
      ],
      [
        '1,000 rules vs 10 rules (time)',
        '2.39×',
        '1.37×',
        '1.13×',
        '1.15×',
        '1.12×',
        '1.22×',
        '1.20×',
        '1.18×',
        '1.17×',
        '1.14×',
        '1.03×',
        '1.07×',
        '1.08×',
        '1.04×',
        '1.25×',
        '1.23×',
        '1.07×',
        '1.34×',
        '1.32×',
        '1.26×',
        '1.30×',
        '1.15×',
        '1.14×',
        '1.13×',
        '1.16×',
        '1.30×',
        '1.17×',
        '1.22×',
        fmt.ratio(at(1000).ms / at(10).ms),
      ],
      [
        '100 rules vs the floor',
        '0.06×',
        '0.08×',
        '0.11×',
        '0.11×',
        '0.09×',
        '0.12×',
        '0.12×',
        '0.12×',
        '0.11×',
        '0.14×',
        '0.15×',
        '0.13×',
        '0.09×',
        '0.10×',
        '0.09×',
        '0.10×',
        '0.11×',
        '0.12×',
        '0.12×',
        '0.12×',
        '0.13×',
        '0.20×',
        '0.19×',
        '0.16×',
        '0.20×',
        '0.21×',
        '0.18×',
        '0.19×',
        fmt.ratio(rate100 / floorRate),
      ],
      [
        'indexed vs naive at 100 rules',
        '1.05×',
        '1.02×',
        '1.21×',
        '1.34×',
        '1.90×',
        '1.90×',
        '2.00×',
        '1.91×',
        '1.82×',
        '2.00×',
        '2.03×',
        '2.05×',
        '1.59×',
        '1.64×',
        '1.61×',
        '1.72×',
        '1.84×',
        '1.81×',
        '1.76×',
        '1.79×',
        '1.72×',
        '1.68×',
        '1.70×',
        '1.45×',
        '1.36×',
        '1.42×',
        '1.50×',
        '1.48×',
        fmt.ratio(naiveMs / at(100).ms),
      ],
    ],
  ),
  '',
  '### Run by run (newest first)',
  '',
  `Latest (this run): the benchmarked path changed in three places, each for speed and each exact (the same alerts, matched events, reads and writes as the last run; the evaluator-equivalence tests, and a new one where another delivery's count lands between a batch's read and its increment). A threshold rule looks at an entity's counts bucket by bucket only when everything the entity can reach holds the rule's count — the stored buckets read, the totals the store returned for the buckets this batch added to, and the batch's own again: an upper bound whatever the store answered. On this workload's busy traffic (an nginx visitor's request every minute or so against \`web.request_flood\`'s 300 a minute) no entity's windows are summed and no per-bucket maps are built, where every visitor's were, at each event. Its increments are written in entity order, so the packed layout's chunks (src/engine/packed-state.ts, which both stores plan with) are cut without sorting the batch's entries (one pass checks their order). A payload's lines find their source through what its log group and stream decide once (the group's own source; whether a recognized service such as CloudTrail or a flow log writes to that stream), where each line looked both up again; and a request's file extension is found without copying its path's last segment. This VM's passes of the same code varied from 866 to 1,380 ms within the hour, so two runs of this bench cannot tell a 5% change apart; bench/compare.ts (new) times another revision's 100-rule path against the working tree's in one process, passes alternated: against the last stop's code (a47f7cb), over 21 rounds, this path took 0.953× the time (quartiles of the rounds' ratios 0.920–0.971) with the same 252 alerts, 6,589 reads and 11,252 writes, and the access log's payloads alone 0.879×. Measured and not kept: redaction's literal checks asked once per call where several patterns share one (the key=value family's, 0.6 µs a time on an identity-service line): 6.3 / 7.4 / 4.7 µs a line against 5.1 / 4.9 / 5.0 before, alternated. Where a pass's time goes, once more (a steady-state profile of the 100-rule path, the profiler's own share taken out): decoding 15%, normalizing 33% (an access-log line 2.6 µs, its regex 0.36 of it; a CloudTrail record 12–14 µs, a third of it JSON.parse), matching 10%, the evaluators 15% (threshold 6.7, sequence 3.1 — over half of it the redacted step contexts a sequence stores —, distinct 2.1, spike 1.8), lifecycle and alerts 5% (building 252 alerts 3.3%, about 100 µs each: their evidence redacted, their console link encoded), garbage collection 11%; per log group, the identity service's 325 payloads of seven lines cost 243 µs of detector work each (\`auth.success_after_failures\` 86 of it), CloudTrail's 301 of nine 144. No part is above a sixth, and the goal needs a quarter off the whole: it stays out of reach for the reasons the runs below give. Three earlier runs of this bench this stop, on this path, measured the floor at 519,019, 591,248 and 576,457 events/s, the 100-rule path at 97,398, 121,218 and 115,892 in the benchmark's process (0.19×, 0.21×, 0.20×; 0.19× in each of the last stop's four runs) and 89,391, 134,299 and 120,275 alone in its process (0.17×, 0.23×, 0.21×), the state row at 3.03 and 3.25 µs per event in the second and third (4.23 in the last stop's final run), and the 1,000-rule pack at 1.10×, 1.17× and 1.16× the time of the 10-rule one (1.46×, 1.30× and 1.30× with each pack alone). This run measured the floor at ${fmt.int(floorRate)} events/s and the 100-rule path at ${fmt.int(at(100).rate)} in the benchmark's process (${fmt.ratio(rate100 / floorRate)}) and ${fmt.int(soloParallelGc)} alone in its process (${fmt.ratio(soloParallelGc / floorRate)}); the filters deliver ${fmt.pct(deliveredShare)} of the events, on which the detector decides the same ${at(100).alerts} alerts from ${fmt.int(at(100).matched)} matched events with ${fmt.int(at(100).reads)} reads and ${fmt.int(at(100).writes)} writes as on every event (the last run: 252 alerts, 41,222 matched events, 6,589 reads and 11,252 writes). The demo on the DynamoDB adapter made ${fmt.int(demoDdb.calls)} store calls, ${fmt.int(demoDdb.writes)} of them writes (16,870 and 6,940 in the last run). Content recognition's difference in time came out ${fmt.pct(at(100).ms / explicit.ms - 1)}.\n\n` +
    `The run before: the benchmarked path changed in two places, neither for speed. Each event's stated account is checked against the account that delivered it (README, Trust model: the detector function is told whose logs may be about other accounts — here, as in a single-account stack, the stack's own, which delivers the whole workload, so no event's account changes). And (README, Forged AWS records) a line recognized as a VPC flow record is believed only in a flow log's own stream (one per network interface, \`eni-…-all\`), a Kubernetes audit event only in its EKS cluster's log group and a WAF log only in an \`aws-waf-logs-\` group — a test of the stream's or group's name per recognized line (the workload's flows arrive in their interface's stream, as a flow log writes them, so they are read as before). \`waf.blocked_burst\` now names its dataset (an equality the index may key on), and the shipped pack gained \`integrity.foreign_account_record\` (keyed on a field only a refused claim of another account gets; no event of this workload has one): 124 rules, the 100-rule pack the first 100 in the order of the traffic they carry. A Route 53 Resolver query's registered domain is now the name under its public suffix (\`evil.co.uk\`, not \`co.uk\`: the tldts-icann package, in the detector's bundle), on Resolver lines only, which this workload has none of. Three earlier runs of this bench this stop (the third on this path but for that), measured the floor at 533,893, 604,553 and 602,759 events/s, the 100-rule path at 103,797, 115,594 and 116,334 in the benchmark's process (0.19× each) and 112,331, 118,805 and 124,561 alone in its process (0.21×, 0.20×, 0.21×), and the 1,000-rule pack at 1.11×, 1.18× and 1.17× the time of the 10-rule one (1.37×, 1.23× and 1.27× with each pack alone). The path was not tuned this stop: a profile of the small payloads (the identity service's seven lines at a time, CloudTrail's nine), which cost over a third of the time for a twentieth of the events, put a payload's detector work at 238 µs for 3.7 matched rules — about 20 µs a rule a payload for a threshold rule and 68 for the sequence that stores its steps' redacted lines — spread across grouping, store calls, lifecycle and alerts with no part above a fifth; remembering redactions (each stored step and alert redacts its line and entities again) measured no faster on those groups with sshd's (46.3 / 46.9 / 42.0 µs an event before, 53.4 / 44.3 / 43.8 after) and was not kept. The goal stays out of reach for the reasons the runs below give. This run measured the floor at 558,386 events/s and the 100-rule path at 104,054 in the benchmark's process (0.19×) and 117,811 alone in its process (0.21×); the filters deliver 85.8% of the events, on which the detector decides the same 252 alerts from 41,222 matched events with 6,589 reads and 11,252 writes as on every event (the last run: 252 alerts, 41,222 matched events, 6,589 reads and 11,252 writes). The demo on the DynamoDB adapter made 16,870 store calls, 6,940 of them writes (16,870 and 6,940 in the last run). Content recognition's difference in time came out 10.3%.\n\n` +
    `The run before: the benchmarked path changed in two places, both for the same reason (README, Forged AWS records): a JSON line's own AWS dataset or AWS service as \`event.provider\` is dropped after it is flattened (two reads per JSON line), and a line recognized as CloudTrail's is believed only in CloudTrail's log streams (a test of the stream's name per CloudTrail line). Eleven CloudTrail rules now also name their service or dataset (an equality the index may key on), and the shipped pack gained three rules, \`aws.s3_ransom_encryption\` and \`aws.s3_customer_key_first_use\` (keyed on S3 data events no event of this workload holds) and \`integrity.forged_aws_record\` (keyed on a field only a forged record gets; none of this workload is): 123 rules, the 100-rule pack the first 100 in the order of the traffic they carry. The path was not tuned this stop; the goal stays out of reach for the reasons the runs below give. Two earlier runs of this bench this stop, on the same code, measured the 1,000-rule pack at 1.73× and 1.72× the time of the 10-rule one in the benchmark's process (70,773 against 122,655 and 68,420 against 117,784 events/s; the SigmaHQ row fell with it, 70,446 and 81,028, where the last run had 94,221), but 1.33× and 1.28× with each pack alone in its process; the 100-rule path at 89,474 and 89,369 events/s (0.20×, 0.21× of floors of 453,881 and 423,800) and 122,339 and 108,617 alone (0.27×, 0.26×). Between them and this run, the whole bench on the last stop's code (c009ab3) in a worktree, the same hour: the 1,000-rule pack 1.13× the time of the 10-rule one (113,235 against 127,624 events/s), 100 rules 110,027 (0.20× of a floor of 559,928), SigmaHQ 104,655. Measured by hand against it, alternated, each a process of its own: the 1,000-rule path alone 99,802 / 102,251 events/s before, 99,929 / 104,859 after; the 100-rule path alone 79,611 / 80,225 / 81,831 before and 72,805 / 75,081 / 74,295 after in one order, 110,883 / 107,584 / 105,272 before and 88,627 / 111,123 / 104,386 after in the other; and the 10-, 100-, 1,000-rule and SigmaHQ packs interleaved in one process (five timed rounds each, medians in ms a pass): 618 / 805 / 833 / 882 before, 666 / 825 / 834 / 827 after. None of these shows the larger packs slower by this stop's code, and this stop's changes to the path (two reads per JSON line, a test of a CloudTrail line's stream, eleven rules keyed on their service) cost too little to show; this run, after them, measured 1.17× (the last stop's code 1.13× and 1.20× in the two runs just before it), so the two earlier runs' 1.7× was that half hour of this VM (its floors 453,881 and 423,800 events/s then, 559,928–657,551 since), not the code. By the median of this stop's three runs (1.73×, 1.72×, 1.17×) the goal's second part is not met this stop; this run alone meets it. This run measured the floor at 626,538 events/s and the 100-rule path at 109,771 in the benchmark's process (0.18×) and 117,336 alone in its process (0.19×); the filters deliver 85.8% of the events, on which the detector decides the same 252 alerts from 41,222 matched events with 6,589 reads and 11,252 writes as on every event (the last run: 252 alerts, 41,222 matched events, 6,589 reads and 11,252 writes). The demo on the DynamoDB adapter made 16,870 store calls, 6,940 of them writes (16,870 and 6,940 in the last run). Content recognition's difference in time came out 8.5%.\n\n` +
    `The run before: the benchmarked path did not change but for one comparison in building an alert's title (an empty value names nothing, so the next alternative is told), and the shipped pack gained four rules and a branch of a fifth. \`dns.crypto_mining_pool\` and \`dns.tunnel_service\` read Route 53 Resolver's query logs (keyed on an \`event.dataset\` equality no event of this workload holds, and on a registered domain from a named list), and the resolver source reads names in lower case; \`aws.bedrock_model_access_enabled\` and \`aws.bedrock_model_access_denied\` read CloudTrail's Bedrock calls, and \`aws.log_collection_disabled\` one more of them (keyed on \`event.provider\` and \`event.action\` equalities no event of this workload holds): the shipped pack is 120 rules, the 100-rule pack the first 100 in the order of the traffic they carry. The rest of this stop is outside the path (alerts imported into Security Hub by a function of their own on a queue the topics feed, a team's PagerDuty pages left to it). The path was not tuned this stop; the goal stays out of reach for the reasons the runs below give. Two earlier runs of this bench this stop, with 118 rules, came out in a slow hour of this VM: the 100-rule row at 91,110 events/s (my own tests running beside it for a minute) and 72,980 (nothing beside it; the floor 602,775); three alternated runs of the 100-rule path alone in its process right after the second (bench/hot-path.ts, median of five passes), the last stop's code (5d79c60) against this stop's: 73,583 / 80,299 / 74,081 events/s before, 67,481 / 81,746 / 80,981 after — the hour, not a change of code (the last stop's run measured the same path at 117,305 alone, its 100-rule row at 110,050). This run measured the floor at 460,309 events/s and the 100-rule path at 97,271 in the benchmark's process (0.21×) and 112,794 alone in its process (0.25×); the filters deliver 85.8% of the events, on which the detector decides the same 252 alerts from 41,222 matched events with 6,589 reads and 11,252 writes as on every event (the last run: 252 alerts, 41,222 matched events, 6,589 reads and 11,252 writes). The demo on the DynamoDB adapter made 16,870 store calls, 6,940 of them writes (16,870 and 6,940 in the last run). Content recognition's difference in time came out 8.2%.\n\n` +
    `The run before: the benchmarked path changed in one place, not for speed, and the shipped pack in nine rules. Content recognition knows AWS Security Hub's findings as EventBridge writes them, in both of its formats (Security Hub CSPM's ASFF and the OCSF of the Security Hub of December 2025), and AWS Health's security notices: \`detail-type\` was already one of the names in the one scan that rules out every recognizer on app JSON, and a line holding it is offered to two more built-in recognizers, after GuardDuty's. Six rules read Security Hub's findings (\`aws.securityhub_*\`), two AWS Health's notices (\`aws.health_credentials_exposed\`, \`aws.health_abuse_report\`) and one GuardDuty's critical findings (\`aws.guardduty_critical_finding\`, 9.0 and above, which the high rule no longer takes), all keyed on an \`event.dataset\` equality no event of this workload holds: the shipped pack is 116 rules, the 100-rule pack the first 100 in the order of the traffic they carry. The path was not tuned this stop; the goal stays out of reach for the reasons the runs below give. Three alternated runs of the 100-rule path alone in its process right after this run (bench/hot-path.ts, median of five passes), the last stop's code (5c7b866) against this one: 84,921 / 78,237 / 78,935 events/s before, 111,795 / 75,186 / 82,371 after — a slow and noisy hour for both (the last stop's run measured the same path at 121,753 alone, its floor at 721,634), not a change of code. A first run of this bench this stop, in that hour and with seven of the nine rules, measured the floor at 614,971 events/s and the 100-rule path at 82,646 (0.13×), 84,560 alone (0.14×), the 1,000-rule pack 1.23× the time of the 10-rule one and 1.94× alone (its three rounds 1.27×, 1.61×, 2.13×), the indexed path 1.09× the naive one (1.45× in the last run). This run measured the floor at 536,857 events/s and the 100-rule path at 110,050 in the benchmark's process (0.20×) and 117,305 alone in its process (0.22×); the filters deliver 85.8% of the events, on which the detector decides the same 252 alerts from 41,222 matched events with 6,589 reads and 11,252 writes as on every event (the last run: 252 alerts, 41,222 matched events, 6,589 reads and 11,252 writes). The demo on the DynamoDB adapter made 16,870 store calls, 6,940 of them writes (16,870 and 6,940 in the last run). Content recognition's difference in time came out 5.1%.\n\n` +
    `The run before: the benchmarked path changed in three places, none for speed, and the shipped pack in four rules. Every event read checks, when it is a failed authentication, whether its line says the user does not exist and its user name reads as a password (a password typed at the user-name prompt, replaced by a tag of its hash before anything stores or sends it): one field comparison for the other events. Content recognition knows Amazon GuardDuty's findings as EventBridge writes them (\`detail-type\`: one more name in the one scan that rules out every recognizer on app JSON), and three rules read them (\`aws.guardduty_high_finding\`, \`aws.guardduty_medium_finding\`, \`aws.guardduty_low_finding\`), keyed on an \`event.dataset\` equality no event of this workload holds: the shipped pack is 107 rules, the 100-rule pack the first 100 in the order of the traffic they carry. A distinct rule with an \`escalate\` step keeps values up to the step's count (\`aws.s3_bulk_download\`, whose S3 reads this workload does not hold). The path was not tuned this stop. Measured by hand instead, where a pass's time goes by log group (each group's payloads alone, warm, best of seven, against the whole pass, best of five, in one process): nginx lines 219 ms of a 761 ms pass (29%, 7.0 µs a line), flows 143 (19%, 3.3 µs), the identity service 80 (10.5%, 36 µs a line: 325 payloads of 7), CloudTrail 72 (9.4%, 27 µs a record: 301 payloads of 9), Lambda 45; the groups alone add up to 624 ms, the other 137 ms is what running them interleaved costs (one process's feedback and heap shared by ten sources and their state). \`--trace-gc\` over the 100-rule path alone: 21–22 scavenges a pass, 92–97 ms of a pass of about 800 (each about 4.4 ms: a payload's events survive until it is decided), and no mark-compact in the timed passes. Three alternated runs of the 100-rule path alone in its process right after this run, the last stop's code (768b593) against this one: 107,871 / 107,966 / 98,134 events/s before, 107,785 / 109,304 / 90,493 after — the same path in a slower hour (the same code measured 126,809 at the start of this stop), not a change of code. The goal stays out of reach for the reasons the runs below give. This run measured the floor at 721,634 events/s and the 100-rule path at 113,256 in the benchmark's process (0.16×) and 121,753 alone in its process (0.17×); the filters deliver 86.0% of the events, on which the detector decides the same 252 alerts from 41,222 matched events with 6,589 reads and 11,252 writes as on every event (the last run: 252 alerts, 41,222 matched events, 6,589 reads and 11,252 writes). The demo on the DynamoDB adapter made 16,870 store calls, 6,940 of them writes (16,870 and 6,940 in the last run). Content recognition's difference in time came out 3.2%.\n\n` +
    `The run before: the benchmarked path changed in two places, neither for speed, and the shipped pack in two rules. Redaction reads more kinds of secret when an alert is built (not per event): passwords on command lines (MySQL's \`-p\`, \`sshpass -p\`, \`useradd -p\`, \`curl -u\`, read in code, one pass over a command's arguments), vendor tokens by prefix, Azure connection-string keys, signed URLs' signatures and \`Proxy-Authorization\` — one more prefilter alternation for lines that hold none. A \`|cidr\` value may be a single address, read when the pack is compiled. Content recognition knows AWS Network Firewall's records (\`firewall_name\`: one more name in the one scan that rules out every recognizer on app JSON), and two rules read them (\`nfw.threat_allowed\`, \`nfw.internal_host_blocked_repeatedly\`), keyed on \`event.dataset\` and \`event.action\` equalities no event of this workload holds: the shipped pack is 104 rules, the 100-rule pack the first 100 in the order of the traffic they carry. The path was not tuned this stop. Measured by hand instead, what the largest lever left could give at best: 60% of this workload's events match no rule (97% of the flows, 96% of Lambda's lines, 98% of the status API's), and each still pays its normalizing and its matching. With those events of the three groups taken out before normalizing, by an oracle (their ids from a first pass; the payloads still decoded whole), the path ran 1.12×, 1.19× and 1.17× faster in three warm rounds alternated in one process (133,499 → 150,040, 137,009 → 163,298, 141,119 → 165,446 events/s): an exact early reject, free, would still fall short of the 1.27× the goal asks of this path at this hour's floor. What a small batch costs whatever its size (an identity-service payload of 7 events about 240 µs in the detector, a CloudTrail payload of 9 about 180) is spread over its matched rules' grouping, store calls and lifecycle, no step a quarter of it. This run measured the floor at 673,345 events/s and the 100-rule path at 124,662 in the benchmark's process (0.19×) and 146,042 alone in its process (0.22×); the filters deliver 86.0% of the events, on which the detector decides the same 252 alerts from 41,222 matched events with 6,589 reads and 11,252 writes as on every event (the last run: 252 alerts, 41,222 matched events, 6,589 reads and 11,252 writes). The demo on the DynamoDB adapter made 16,870 store calls, 6,940 of them writes (16,870 and 6,940 in the last run). Content recognition's difference in time came out 4.1%.\n\n` +
    `The run before: the benchmarked path did not change; the shipped pack changed in eleven rules' conditions, not for speed. Named lists may be empty now, and two ship empty for a deployment to fill: ten rules (the five VPC flow scans and floods, and the web probing rules — content discovery, forbidden bursts, request floods, metadata-service requests, WAF blocks) leave out \`authorized_scanners\` with \`not: {source.ip|cidr|expand: '%authorized_scanners%'}\` — with no values the condition holds for no event, so the \`not:\` holds for every one: one predicate call more per candidate event of those rules, and the same decisions — and \`authz.sensitive_first_access\` reads \`sensitive_projects\` under an \`any\` beside the app's own sensitivity mark (its index keys and its group's subscription filter now come from its actions). The path was not tuned this stop. Measured by hand instead, where the time of this workload sits by log group and stage (bench/setup.ts's loop over each group's payloads, 100 rules, best of seven passes, one process, a fast hour: 624 ms for the 100,000 events, 160,000 events/s; the stage loop's decoding alone ran at 1,056,754 events/s): decoding took 0.93 µs per event and everything after it 5.31; windowed state, lifecycle and alerts were 42% of the whole — the identity service's 221 µs a payload (its evaluation alone 176 µs a batch: 3.7 rules matched and about 19 store calls), the access log's 2.86 µs a line (41 to 93 visitors a payload, each counted per bucket by the request-flood rule), the flows' 0.43 — and normalizing a flow 1.57 µs, an access-log line 2.03. The goal at that hour's decoding speed leaves about 2.8 µs per event for everything after decoding: halving every stage after it would still miss. A mutation fuzz of the workload's lines and the real OpenSSH, Linux and Apache logs (470,000 payloads, 1.35 million mutated lines: inserted quotes, escapes, control and bidirectional characters, repeated runs up to 256 KiB, truncations) failed no batch, and no payload took more than 10 ms per kilobyte of its lines. Two first runs of this bench this stop, on this path and pack: the floor at 621,492 events/s and the 100-rule path at 125,482 (0.20×), 130,666 alone in its process (0.21×), the 1,000-rule pack 0.85× the time of the 10-rule one (the bench called that run noise-bound); then the floor at 516,943 (489,542 in a process of its own) and the path at 121,824 (0.24×), 136,759 alone (0.26×), 1.19× and 1.22× alone for the rule-count goal. Nothing in the path changed between them, nor since the last stop's run (93,332 events/s against a floor of 707,738); the stage loop, run before any change this stop, measured the whole path at 136,050 events/s (best of five passes): this VM runs the same code about 40% faster this session than the last, while the floor moved between 489,542 and 662,956 events/s within the hour. A run whose floor comes out slow flatters every ratio, so a ratio at the goal in one run is not the goal met. This run measured the floor at 662,956 events/s and the 100-rule path at 130,409 in the benchmark's process (0.20×) and 132,395 alone in its process (0.20×); the filters deliver 86.0% of the events, on which the detector decides the same 252 alerts from 41,222 matched events with 6,589 reads and 11,252 writes as on every event (the last run: 252 alerts, 41,222 matched events, 6,589 reads and 11,252 writes). The demo on the DynamoDB adapter made 16,870 store calls, 6,940 of them writes (16,870 and 6,940 in the last run). Content recognition's difference in time came out 2.1%.\n\n` +
    `The run before: the benchmarked path changed in one place, for lists longer than this pack's: a \`|cidr\` condition (and the trusted proxies of X-Forwarded-For) tests an address against its IPv4 ranges merged into sorted intervals, searched by halves, instead of each range in turn (the table above the goals: a thousand ranges cost what nine do; on the shipped nine the same or a little less). The shipped pack changed in what six rules' address conditions hold. The internal address ranges thirteen rules wrote out, each its own copy, are one named list now (\`rules/lists/internal_networks.yml\`, read with Sigma's placeholder modifier, \`source.ip|cidr|expand: '%internal_networks%'\`, and resolved when the pack is loaded: the compiled rules hold the values, as before), and the three flow rules and the internal sweep that held five ranges now hold its nine, the two that held eight IPv6 loopback too (loopback and link-local addresses joined: no flow of this workload comes from them, so matches, alerts and store calls are the last run's by construction). The service accounts three identity rules leave out are a list too (\`svc-*\`, a wildcard where the rules had a prefix: the same names). The path was not otherwise tuned this stop, for the reasons the last run's paragraph measured. A first run of this bench this stop, before the \`|cidr\` change, measured the floor at 762,321 events/s and the 100-rule path at 95,316 in the benchmark's process (0.13×) and 86,048 alone in its process (0.11×), 1.21× and 1.24× for the rule-count goal. This run measured the floor at 707,738 events/s and the 100-rule path at 93,332 in the benchmark's process (0.13×) and 88,506 alone in its process (0.13×); the filters deliver 86.0% of the events, on which the detector decides the same 252 alerts from 41,222 matched events with 6,589 reads and 11,252 writes as on every event (the last run: 252 alerts, 41,222 matched events, 6,589 reads and 11,252 writes). The demo on the DynamoDB adapter made 16,870 store calls, 6,940 of them writes (16,870 and 6,940 in the last run). Content recognition's difference in time came out -0.5%.\n\n` +
    `The run before: the benchmarked path changed in one small place, not for speed: the alert lifecycle reads each occurrence's count against its rule's escalation step (one comparison per occurrence of a rule that has one; every emission records its tier), and the rules' severities changed where they page — \`web.request_flood\`, \`net.connection_flood\` and \`auth.brute_force_source\` tell the team and page at a step ten times their count, so fewer of this workload's messages page and the floods' ends, keyed on the address that flooded, are not told to the team. The two port-scan rules and the refused-flow flood count refused flows from inside the network only (a CIDR condition on the flow's source), and a new low-severity rule, \`vpc.internet_port_scan\`, keeps an internet address's refused probes for the review digest: the shipped pack is 102 rules, and the 100-rule pack the first 100 in the order of the traffic they carry. The workload is the same as the last run's. The path was not tuned this stop; measured by hand instead (bench/hot-path.ts's loop, each log group's payloads alone in a process of its own, median of five passes), where its time goes and what a redesign could still take: the groups alone summed to 1,164 ms a pass against 923 for the whole workload in one process that hour, so the shared code seeing every shape of event costs nothing measurable; per event, with no rules and with 100, the flows took 4.04 and 5.06 µs, Lambda's lines 4.04 and 5.81, the access log 4.39 and 8.32, the identity service 11.5 and 40.0 and CloudTrail records 24.7 and 34.5 — the last two with their payloads merged into one, since cut as delivered (7 and 9 events a payload) they cost 61.5 and 47.5: about 150 and 115 µs a payload whatever its size. A CloudTrail record's normalizing took 13.9 µs, of which JSON.parse 2.65 and flattening 2.3; the rest is field maps and the CloudTrail derivations. 96.7% of the flows and 96.4% of Lambda's lines match no rule, and each still pays its decoding and normalizing (about 4 µs): an exact early reject of what no rule could match would take about 15% of the path at most, short of the goal, and the goal's 4.2 µs per event (0.25× this hour's floor) is what decoding and normalizing alone take on most lines. This run measured the floor at 729,055 events/s and the 100-rule path at 88,916 in the benchmark's process (0.12×) and 103,581 alone in its process (0.14×); the filters deliver 86.0% of the events, on which the detector decides the same 252 alerts from 41,222 matched events with 6,589 reads and 11,252 writes as on every event (the last run: 252 alerts, 41,222 matched events, 7,559 reads and 13,088 writes). The demo on the DynamoDB adapter made 16,870 store calls, 6,940 of them writes (17,601 and 7,298 in the last run). Content recognition's difference in time came out 4.4%.\n\n` +
    `The run before: the benchmarked path changed in one small place (the CloudTrail source reads the trust policy of a \`CreateRole\` or \`UpdateAssumeRolePolicy\` record: one JSON parse, on those records only; rule files are now also checked for values YAML reads as numbers from another spelling, when a pack is read, not on the path); the shipped pack and the workload changed a little. Eight rules joined the pack, for what cloud teams page on and the pack did not see: an EC2 instance's key used from a second internet address (the theft through the instance metadata service, from CloudTrail alone: a new-term rule keyed on the role and the key, whose terms are the caller's public addresses), the server-side request forgery that takes the key (the metadata service's address in a request's URL, in any of its spellings: fourteen \`contains\` needles on the access log's URL), an identity provider added or changed, a role opened to an account outside this one (read from its trust policy, learned per account for 90 days), a database made public or its master password reset, a domain unlocked, transferred or redirected, EBS encryption by default turned off — the CloudTrail ones keyed on \`event.provider\` and \`event.action\` equalities, as the last run's six. The 100-rule pack is now 100 of the 101 shipped rules, no variants (93 shipped rules and 7 variants in the last run). The demo, whose copies are this workload, gained the theft and its quiet side, and its account compromise a backdoor role (one record a copy): the status page's web server reading its settings every half hour through its NAT gateway and its database password through an interface endpoint (96 CloudTrail records a copy; its key rotated every 6 hours), the forged request for its credentials (2 access-log lines) and the key then used from the requester's address (3 records). The path was not tuned this stop: the last run's measurements of what tuning could still give stand (below), and nothing this stop measured changes them; this run came in a slow hour: a first run of this bench this stop, with seven of the eight rules and without the backdoor role's record (the path the same but for that record's one JSON parse, once a copy), measured the floor at 751,573 events/s and the 100-rule path at 98,108 in the benchmark's process (0.13×) and 103,178 alone in its process (0.14×), 1.24× and 1.28× for the rule-count goal. This run measured the floor at 643,163 events/s and the 100-rule path at 76,794 in the benchmark's process (0.12×) and 64,192 alone in its process (0.10×); the filters deliver 86.0% of the events, on which the detector decides the same 252 alerts from 41,222 matched events with 7,559 reads and 13,088 writes as on every event (the last run: 239 alerts, 40,594 matched events, 7,259 reads and 12,562 writes). The demo on the DynamoDB adapter made 17,601 store calls, 7,298 of them writes (16,990 and 6,994 in the last run). Content recognition's difference in time came out 9.7%.\n\n` +
    `The run before: the benchmarked path changed in one small place (the CloudTrail source reads a \`PutBucketPolicy\` record's policy: one JSON parse, on those records only); the shipped pack and the workload changed a little. Six CloudTrail rules joined the pack, for what cloud teams page or notify on and the pack did not see: a principal's key used by TruffleHog or by the AWS CLI on a penetration-testing distribution, another user's console password reset, an MFA device removed, an instance's startup script changed in place, a Lambda function URL opened without authentication, a principal's first GPU instances (what stolen keys are spent on) — each keyed on \`event.provider\` and \`event.action\` equalities or a CloudTrail user agent, so the index files them under values most events of this workload do not hold. The 100-rule pack is now 93 shipped rules and 7 variants (87 and 13 in the last run). \`aws.s3_bucket_made_public\` reads a bucket policy as S3 defines public: a policy naming every principal only to deny them (refusing requests without TLS, as CDK's \`enforceSSL\` and the CIS control have every well-kept bucket do) paged as a bucket made public. The demo gained two CloudTrail records a copy: the compromise resets another administrator's console password, and the pipeline sets such a policy on a bucket (its test of benign activity fails with the rule as it was). This stop's other changes are outside these rows: a long JSON evidence line shows what was done first and chat carries the Logs Insights link, both when the correlate task builds a message. The path was not tuned this stop. Measured by hand, what it would take: each rule that matches the access log removed in turn from the 100-rule pack (the access log's payloads alone, best of seven passes): \`web.request_flood\` — a counter per visitor address per batch, the exact state its rule needs — is 2.5 of an access-log line's 9.2 µs, the rest 0.3 or less each, and a line with no rule to feed costs 5.6 (decoding, normalizing, matching); a line-level profile of an access-log line's normalizing (3.6 µs) puts its regex at 18% of it, and a regex whose quoted fields are read by an unrolled loop instead of a bounded alternation took 0.35–0.39 µs against 0.50–0.53 (measured, not built: about 0.04 µs per event of this workload). This run came in a slow hour, for the last stop's code too: the path alone in its process (bench/hot-path.ts, median of five passes), the last stop's code and this stop's alternated, measured 73,967 / 65,951 / 89,920 / 73,307 / 91,052 / 75,271 / 61,565 and 52,377 / 62,449 / 81,759 / 61,881 / 66,594 / 66,633 / 63,430 events/s (109,906 in the last run), and then this stop's code with and without the six rules and the demo's new record, four rounds alternated, 77,697 / 67,561 / 82,498 / 70,204 and 63,301 / 65,845 / 85,695 / 93,868: the rounds disagree by more than the codes do. This run measured the floor at 667,625 events/s and the 100-rule path at 81,500 in the benchmark's process (0.12×) and 87,064 alone in its process (0.13×); the filters deliver 86.0% of the events, on which the detector decides the same 239 alerts from 40,594 matched events with 7,259 reads and 12,562 writes as on every event (the last run: 232 alerts, 40,581 matched events, 7,238 reads and 12,540 writes). The demo on the DynamoDB adapter made 16,990 store calls, 6,994 of them writes (16,971 and 6,985 in the last run). Content recognition's difference in time came out -11.5%.\n\n` +
    `The run before: the benchmarked path changed in one small place (the CloudTrail source, below: a set lookup per record, a JSON parse on two calls' records); the shipped pack changed more, for what it tells a responder. \`vpc.port_scan_horizontal\` now counts refused flows only, as \`vpc.port_scan_vertical\` has since the first round: counting accepted ones, it read a load balancer's health checks, a metrics scraper and any client that balances its own calls across a fleet (gRPC, a service mesh) as a sweep of 25 hosts, and it kept a distinct-value set for every client and service port of this traffic — the most writes of any rule (a third of the demo's, by \`detect backtest\`). A new low-severity rule, \`vpc.internal_admin_port_sweep\`, sees the sweep every host admits where it matters, from inside the network on the ports lateral movement uses (SSH, RDP, SMB, WinRM and the like), for the review digest. The demo, whose copies are this workload, gained both sides of it: a load balancer's health checks (one address reaching the 30 targets of its group on port 8080 every minute for half an hour, 900 admitted flows: the rule as it was read them as a sweep, and the demo's test of its benign entities now fails on it) and an app server sweeping SSH on 40 hosts of a database subnet, refused by 34 (both scan rules tell it: the horizontal one to the team, the internal one in the digest) — 940 flows a copy, so this run's workload is not the last one's to the event. Two CloudTrail rules changed for the same reason and one joined: \`aws.console_login_without_mfa\` counts IAM users and root only (an IAM Identity Center or SAML sign-in is recorded with \`MFAUsed: No\` because its identity provider did the MFA, and was told to the team for every engineer's sign-in), and \`aws.security_group_open_to_world\` (high) leaves a group opened to the world on TCP 80 and 443 alone to the new \`aws.security_group_web_open_to_world\` (low) — what every deployment of a public load balancer does. The CloudTrail source reads what such a change opened from its kept request (one JSON parse, on the records of the two security group calls only); the demo gained an engineer's SSO sign-in and a pipeline's public load balancer, two CloudTrail records a copy. The 10-rule pack is each log group's busiest rule in turn, so it could have changed with it: the horizontal scan is still the flows’ first (tied on the refused flows with the vertical scan and the rejected-flow flood, and first by name). Measured by hand with the stage loop (bench/stages.ts, best of five passes, 100 rules), on the workload before the demo's new flows: the whole path 10.86 µs per event before the rule change and 9.87 after, the state row 4.93 and 4.05; the demo's eight days by \`detect backtest\`: 1,667 state writes a day before, 1,158 after (1,170 with the new flows). A first run of this bench this stop, with the rule change alone, measured 73,559 events/s at 100 rules (0.13× a floor of 573,379, in a slow hour: content recognition came out 17.3% slower than sources, its noise), 41,483 matched events, 8,037 reads and 13,330 writes, and the demo on dynalite 16,787 store calls, 6,901 of them writes. The goal is no nearer for it in kind: no step of the path got faster, and what a flow costs is now mostly its normalizing. This run measured the floor at 686,306 events/s and the 100-rule path at 74,524 in the benchmark's process (0.11×) and 109,906 alone in its process (0.16×); the filters deliver 85.8% of the events, on which the detector decides the same 232 alerts from 40,581 matched events with 7,238 reads and 12,540 writes as on every event (the eleventh stop's run, with the rule counting accepted flows and without the demo's new flows: 234 alerts, 77,028 matched events, 8,217 reads and 21,054 writes). The demo on the DynamoDB adapter made 16,971 store calls, 6,985 of them writes (28,836 and 10,973 in the eleventh stop's run). Content recognition's difference in time came out 8.3%.\n\n` +
    `The run before: the benchmarked path changed in two small places, neither for speed. A review-tier message's digest entry names its condition's document (a string the detector already holds; the sweeper reads the condition when it builds the digest, at most 400 reads a digest, outside these rows), so a digest says how much each entity did and not only how often it was digested. And the identity source maps one JSON name more (\`user_activity.export_blocked\` to \`event.type\`, so \`data.bulk_export\` says whether the app denied the export): one more look-up per identity line. This run adds the table by log group above (each group's payloads alone, the groups in turn) and in it the flows without the two port-scan rules, which measured by hand this stop cost 4.1 of a flow's 8.4 µs; in a profile of the flows alone, those rules' steps are each a few per cent of the whole path (planning the packed writes 14% of a flow's time, reading the windows 6%, grouping 5%, the rule's own loop the rest), and a flow's normalizing takes 2.35 µs against 0.74 for splitting its line and reading its four numbers. This run measured the floor at 735,111 events/s and the 100-rule path at 75,861 in the benchmark's process (0.10×) and 85,386 alone in its process (0.12×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 8,217 reads and 21,054 writes as on every event (the last run: 234 alerts, 77,028 matched events, 8,217 reads and 21,054 writes). The demo on the DynamoDB adapter made 28,836 store calls, 10,973 of them writes (28,836 and 10,973 in the last run). Content recognition's difference in time came out -3.0%.\n\n` +
    `The run before: the benchmarked path did not change. This stop's changes are outside it: published messages name a rule's runbook as a link under the deployment's \`runbookBaseUrl\` (when the state machine's input is built, not on the detector's path), \`detect validate\` reads a runbook path as that link does, and this file's estimate of merging counters per entity is worded against both layouts (it was measured against the per-key layout, and read "would save -218.1%" once the packed layout made fewer writes than it). The rows below are this VM's spread on the same code as the last run's, and the table has two rows more: the 10- and 1,000-rule packs each alone in its process, in three alternated rounds, for the rule-count goal. The interleaved rows time every pack in one process, whose shared code sees every pack; a Lambda holds one pack, and its code sees only that one's rules. Measured by hand before this run, five alternated rounds of the two alone gave medians of 12.90 and 14.82 µs per event (1.15×; the rounds 1.01× to 1.46×): the goal holds either way, and one round alone can say 1.46×. A first run of the bench this stop, before these rows, measured the interleaved ratio at 1.39× where the last run had 1.04×, on the same code. This run measured the floor at 661,093 events/s and the 100-rule path at 59,939 in the benchmark's process (0.09×) and 60,666 alone in its process (0.09×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 8,217 reads and 21,054 writes as on every event (the last run: 234 alerts, 77,028 matched events, 8,217 reads and 21,054 writes). The demo on the DynamoDB adapter made 28,836 store calls, 10,973 of them writes (28,836 and 10,973 in the last run). Content recognition's difference in time came out -10.5%.\n\n` +
    `The run before: the benchmarked path changed in one place, a JSON line's field map. A JSON line's event is a hash table (a null-prototype object), and its source's field map was applied entry by entry: two look-ups per entry, 45 entries for the default map alone and 63 for the identity service's, where an app's line holds a dozen fields. A line with fewer fields than the map has entries now has its map applied from its own names (src/parse/field-maps.ts): the entries whose name the line holds, in map order — what entry by entry gives, unless an entry reads a name an earlier entry writes, where the map is still applied entry by entry (test/field-maps.test.ts compares the two on 2,000 random maps and events). Mapping alone, the two ways alternated in one process (best of ten rounds): a pino line 2.17 → 1.11 µs, a chat-gateway line 3.76 → 2.38, an identity-service line 3.84 → 2.96 — about 1 µs of a JSON line's normalization, on 11% of this workload's events (flows, access-log and Lambda text lines are most of it). This run measured the floor at 441,632 events/s and the 100-rule path at 42,379 in the benchmark's process (0.10×) and 58,427 alone in its process (0.13×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 8,217 reads and 21,054 writes as on every event (the last run: 234 alerts, 77,028 matched events, 8,217 reads and 21,054 writes). The demo on the DynamoDB adapter made 28,836 store calls, 10,973 of them writes (28,836 and 10,973 in the last run). Content recognition's difference in time came out 15.5%.\n\n` +
    `The run before: the benchmarked path changed where it keeps state. Threshold counters and distinct-value sets are now packed (the section on the packed state layout below): per rule, shard and slot, one item holds every entity's counts or set members under one write unit, so a batch of many visitors or flows writes a few items instead of one per entity, and a window's read is a query per rule and shard instead of one per entity. The hot path's rows keep state in the in-memory store, which now cuts each batch's entries into the adapter's chunks to count the calls the adapter makes — work the detector function's adapter does too, so the rows measure the path that ships. On the busy streams the per-key layout's 62,914 writes and 28,789 reads are 21,472 and 8,635 packed (0.6291 → 0.2147 writes per event); on a real site's access log 0.7300 → 0.3110 writes per event; on the demo as delivered 0.8930 → 0.7825. The cost table below is priced on the packed calls. This run measured the floor at 555,765 events/s and the 100-rule path at 49,683 in the benchmark's process (0.09×) and 48,856 alone in its process (0.09×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 8,217 reads and 21,054 writes as on every event (the last run, per key: 234 alerts, 77,028 matched events, 28,371 reads and 62,496 writes). The demo on the DynamoDB adapter made 28,836 store calls, 10,973 of them writes (31,488 and 12,520 in the last run, per key). Content recognition's difference in time came out -2.6%.` +
    '\n\n' +
    `The run before: the benchmarked path did not change; what the cost table counts did. The state table's due index (a sparse global secondary index, keys only, of the open conditions and pending digests the sweeper lists) bills write units of its own — one when a document enters it or leaves it, two when its due time moves (DynamoDB deletes the old entry and puts the new) — and no figure here counted them. The in-memory store now counts them as the adapter's writes would make them (\`MemoryStateStore.dueIndexWrites\`, tested rule by rule: in 1, out 1, moved 2, unchanged or refused 0, the sweeper's drop 1), the write breakdown has a row for them, the cost table a line, and \`detect backtest\` adds them to the rule whose document they are: 452 units on the busy streams (0.0045 per event, 0.7% beside the calls' own writes) and 485 on the demo as delivered (0.0346 per event, counted by the in-memory store over the same payloads: dynalite reports no index units). The write breakdown also has a new estimate (not built): the distinct-value sets packed into one item per rule, 30-second bucket and shard, which DynamoDB would bill by the item's size rather than by its entities — on this workload 25.2% of the bill less with one shard, nothing with 16, and a cost that grows with traffic times deliveries under a real VPC's volume (the table's paragraph says why). A second estimate is the layout to build next: one item per rule and slot holding every entity that fits under one write unit (1 KB) and the batch ids that changed it, an entity that does not fit spilling to an item of its own as today — never more writes than today, each a unit; replayed, it takes the busy streams' counter writes from 23,640 to 4,907 and their set writes from 36,798 to 5,451, and a real site's (the access log of ../shared/realworld, new in the store-calls table: 0.7300 writes per event today, almost all \`web.request_flood\`'s counter per visitor and batch) counter writes from 7,108 to 4,815. Measured this stop and not built, per log group alone and warm (100 rules, µs per event, decode / normalize / matching / state): flows 7.8 (0.8 / 2.4 / 0.6 / 4.0), nginx 7.9 (1.0 / 3.1 / 1.0 / 2.8), Lambda 5.6, chat 11.3, CloudTrail 38, identity 69 (2.8 / 11.6 / 5.6 / 48.8: 2.5% of the events and 17% of the time — its sequence rules' stored step contexts, the alerts and their conditions), sshd 73; and V8's collector on the JavaScript thread alone set at start-up like the pretenuring flag: turning its concurrent marking off in a running process crashed V8 (\`Check failed: concurrent_marking_handle_\`), so the flag can only be a command-line one, which NODE_OPTIONS refuses (\`--single-threaded-gc is not allowed in NODE_OPTIONS\`); a Lambda runtime wrapper script (\`AWS_LAMBDA_EXEC_WRAPPER\`) could pass it — not built: this VM's runs of it disagree by more than its gain (67,683 and 94,711 events/s in two processes of the same code, against 84,796 and 87,920 without). This run measured the floor at 399,859 events/s and the 100-rule path at 52,874 in the benchmark's process (0.13×) and 46,530 alone in its process (0.12×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,371 reads and 62,496 writes as on every event (the last run: 234 alerts, 77,028 matched events, 28,371 reads and 62,496 writes). The demo on the DynamoDB adapter made 31,488 store calls, 12,520 of them writes (31,488 and 12,520 in the last run). Content recognition's difference in time came out -13.1%.` +
    '\n\n' +
    `The run before: the benchmarked path changed in two places, both in normalizing. First, the events of each parser pattern and flow-log format are now instances of a class of their own (src/parse/event-record.ts). V8 sizes a class's objects by what its first instances used; with one class for every text line, a VPC flow record (33 fields) got the 20 slots of the lines that came first and put 13 fields in a side array grown three slots at a time, per event. A flow record now keeps 32 of its fields inside the object (\`%DebugPrint\`). Allocation, in a heap-sampling profile of one warm pass: normalizing a flow record 1,326 → 1,146 bytes, the whole 100-rule path 3,908 → 3,819 bytes per event. Time: two bundles of the path, before and after, alternated pass by pass in one process (median of 16 passes each): after/before 0.987 in one order and 1.086 in the other, in an hour when this VM's passes of the same code ranged from 1.1 to 2.0 s — within the noise, as an earlier round found for the 40 slots themselves. Second, VPC flow records take a way of their own through normalization (src/parse/flow-lane.ts). A source whose parsers are all flow formats that check every value (no free text) and that has nothing to map skips the general way's steps for lines of other kinds — control characters and colours, JSON and container wrappers, multi-line traces, field maps, a log level, a URL, an HTTP status, a forwarded-for header, times in six shapes — which such a record cannot hold, and writes the same event, field for field and in the same order; a line no format accepts goes the general way (test/flow-log-format.test.ts compares the two ways on the workload's records, strict custom formats and 3,000 generated lines, damaged, wrapped or coloured). Why this and not a faster step: without the step that finishes an event (its time and calendar fields, the URL's parts, the outcome, source.ip and destination.ip from the addresses, the log group, stream, id and account) a flow normalized in 1.6 µs instead of 2.8 and an nginx line in 1.76 instead of 3.1, yet the step's parts taken out one at a time (the addresses 0.4 µs a flow, the line's time 0.2, the URL and outcome checks 0.1–0.3, the delivery's fields 0.1, the calendar fields nothing measurable) added up to two thirds of that, and a copy of the step per source, so that each of its property sites saw one source's events, changed nothing (normalizing alone, alternated in one process: 0.994 and 1.001 in one order, 1.003 and 1.008 in the other) — what cost was running the general way at all. A prototype of the lane normalized a flow in 1.4–1.5 µs against 3.1; as built, with the built-in source's derivation and the time's checks kept so that the event is the same, 1.95 / 1.97 / 2.21 µs against 2.53 / 2.52 / 2.56 the general way (each in a process of its own, alternated): about 0.5 µs a flow, 0.2 per event of this workload, where flows are 41% of the events — less than this VM's noise on the whole path (alone in its process, six alternated runs: 74,959 / 62,385 / 73,444 / 87,191 / 78,964 / 74,636 events/s before the lane, 88,473 / 78,460 / 78,878 / 78,769 / 91,601 / 68,594 after; medians 74,798 and 78,824). This run measured the floor at 473,768 events/s and the 100-rule path at 73,388 in the benchmark's process (0.15×) and 71,905 alone in its process (0.15×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,371 reads and 62,496 writes as on every event (the last run: 234 alerts, 77,028 matched events, 28,371 reads and 62,496 writes). The demo on the DynamoDB adapter made 31,488 store calls, 12,520 of them writes (31,488 and 12,520 in the last run). Content recognition's difference in time came out -15.2%.` +
    '\n\n' +
    `The run before: the benchmarked path changed in one place, redaction, which runs on every alert's evidence lines and every stored sequence step's line. Its patterns that begin with a secret-named key (\`password=\`, \`"db_password": …\`) try a lookahead at every word, and they ran on every line holding a secret word anywhere: every CloudTrail record holds \`session\` (\`"sessionContext"\`), an identity service's login line \`"method": "password"\` — 4–12 µs a pattern to find nothing. Each pattern now runs only on text holding its literal with what must follow it: the key patterns where a secret word's key is assigned a value (checked in code, each key read once: as one regex the check backtracks quadratically on a line of repeated \`pwd\`, which the suite's regex-safety test found), the header patterns on the header and its assignment; the scan that passes over a line holding no literal at all keeps the bare literals (with the tighter checks joined it took an nginx line 2.3 µs instead of 0.9). Redacting a line alone: a CloudTrail record 57 → 9 µs, an identity-service line 8.8 → 3.6, an sshd line 6.8 → 3.7, an nginx line 0.9 as before; a hostile 256 KB line at most 30 ms (\`"token":"x",\` repeated; 23 shapes tried). In a profile of the 100-rule path redaction went from 2.5% to 1.0% of the time. Two bundles of the path, before and after, in one process, alternated pass by pass (median of 20 passes each, both orders): the CloudTrail group alone 18,171 → 18,982 and 18,200 → 19,126 events/s, the identity service's 10,981 → 11,146 and 11,265 → 12,519; over the whole workload the two orders disagree (+4.6% and −3.6%; the same code against itself 1.2%): the path's share of redaction is too small to see there. Measured this stop, per log group alone and warm (100 rules, µs per event): flows 7.6–8.2, nginx 7.6–10.7, Lambda 5.3, chat 11–13, status API 7.9–9.1, CloudTrail 37–39, identity 58–62, sshd 74–76 — the identity service's lines are 2.5% of the events and 14–15% of the time (13 rules read them and 75 of the 234 alerts come from them), where a sequence step's stored context (its JSON text) is now the largest part after the alerts themselves. Not on the path: what the state costs is now measured in DynamoDB's units, not calls. Every call through a counted client asks for its consumed capacity (src/local/consumed-capacity.ts; a refused conditional write, which reports none and is billed, counts one unit; a read that finds nothing its minimum), \`detect replay --state dynalite\` prints the units, and the cost table's quiet-groups column is priced by the units the demo's calls consumed on dynalite — 1.14 write units a write and 1.02 read units a read call in this run. The busy-streams workload through the same adapter (bench/store-units.ts, run by hand: about two minutes on dynalite) consumed 63,435 write units for 62,914 writes and 28,917 read units for 28,789 reads: the busy columns' one unit a call holds to within 1%. Measuring it found 1,312 refused conditional writes, billed and counted nowhere before: a new-term rule claimed every term it saw, and a term seen again (a user's usual country, an account's usual region) refused the claim and was then extended — two writes. The adapter now extends a known term first, on condition that it is live, someone else's and extended, and claims only when that is refused: one write for a term seen again, two for a new one; the same answers (tested against the memory store, which now counts the calls as the adapter makes them), 1,276 fewer writes on this workload (64,190 → 62,914; write units 64,711 → 63,435; refused writes 1,312 → 36) — on a login service's logs, where the new-country rule sees every login, about half its term writes. This run measured the floor at 585,005 events/s and the 100-rule path at 79,775 in the benchmark's process (0.14×) and 81,754 alone in its process (0.14×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,371 reads and 62,496 writes as on every event (the last run: 234 alerts, 77,028 matched events, 28,371 reads and 62,460 writes). The demo on the DynamoDB adapter made 31,488 store calls, 12,520 of them writes (31,928 and 12,960 in the last run). Content recognition's difference in time came out -5.8%.` +
    '\n\n' +
    `The run before: the benchmarked path did not change for speed. This stop moved code: each rule kind's evaluator is a module of its own (src/engine/evaluators/: the detector hands a rule's matches to its kind's evaluator through one table), each AWS service's log parsing too (src/parse/aws/), and normalization's field maps and container wrappers; the path alone in its process (bench/hot-path.ts, median of five passes), alternated with the last stop's code: 92,465 / 96,979 / 102,298 / 99,185 events/s before, 96,644 / 96,700 / 99,594 / 101,915 after. The in-memory store can now sum its writes per rule, for \`detect backtest\`'s cost per rule, and only backtest's store does: reading each write's key for its rule cost this path 3–4% when every store did it (96,729 / 99,286 / 98,870 events/s before, 94,363 / 95,072 / 95,575 after; with the sum asked for by backtest only, 97,608 / 102,094 / 99,038 before and 99,048 / 101,146 / 101,289 after). One change does run on the path: a distinct-value rule's alert now lists the values it counted (the accounts a spray tried, the ports a scan probed: alert.distinct), read from the window's sets once per group and batch when the group first qualifies — 14 of the messages this workload decides carry such a list (of 233 alerts published or digested), so the alerts' JSON grew and the path's time did not: alone in its process, alternated with the code before it, 85,104 / 90,531 / 92,760 events/s before and 89,180 / 93,743 / 89,772 after. This run's rows are lower than the last run's in an hour when the naive path, which this stop did not touch, measured 12% lower too (43,745 against 49,634 events/s). Tried and not kept, each in the path alone in its process: V8 flags — the default 97,937 events/s, a young generation of 16 MB from the start 95,485, fixed at 64 MB 97,237, up to 128 MB 98,057, larger inlining budgets 97,100, feedback vectors allocated eagerly 89,451 — nothing past the noise; and the access log's quoted fields as an unrolled loop (\`[^"\\\\]{0,8192}(?:\\\\.[^"\\\\]{0,8192})*\`) instead of an alternation: 0.403 against 0.382 µs per line for the whole combined-log regex, slower. Where an nginx line's 3.1 µs of normalization go, in a profile of normalizing alone: the combined-log regex a fifth of it (0.38 µs a line in a loop of its own), finishing the event a sixth (its time, the URL's path, query and extension, the log group, stream, id and account written on every event), the scan for control characters 5% — the same spread as before. Measured, not built: what a normalizer compiled for one source would save. A hand-written one for the nginx access log (the same regex, the same 27 fields in one class, the hour's calendar fields cached) normalized the workload's nginx lines in 1.15 µs each against the general normalizer's 3.14, the regex alone taking 0.50; one for the default flow-log format (split, the same 33 fields, without the per-field checks) 0.86 against 2.83. Weighted by the groups' shares, every group compiled like that would take about 1.6 µs off the path's 10.5 per event: 0.14× the floor, not 0.25× — the state row (4.5 µs per event) would have to halve too. This run measured the floor at 735,347 events/s and the 100-rule path at 79,536 in the benchmark's process (0.11×) and 93,898 alone in its process (0.13×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,371 reads and 62,460 writes as on every event (the last run: 234 alerts, 77,028 matched events, 28,371 reads and 62,460 writes). The demo on the DynamoDB adapter made 31,928 store calls, 12,960 of them writes (31,928 and 12,960 in the last run). Content recognition's difference in time came out 0.8%.` +
    '\n\n' +
    `The run before: the benchmarked path did not change for speed. Each payload now tells the detector its log group and the newest CloudWatch time among its events (one pass over its events' timestamps), from which a detector with a delivery clock and absence rules — the deployed one — notes how late its deliveries arrive and writes a summary at most once a minute per container, so the sweeper holds an absence while deliveries run late out of order (src/engine/delivery-lag.ts); this benchmark's detector has no delivery clock and writes none, so its store calls are the last run's. Tried and not kept this stop: an event's line redacted once however many alerts and stored sequence steps show it (three alternated runs of the identity service's lines alone and warm: 52.19 / 52.57 / 52.75 µs before, 51.94 / 52.07 / 52.31 after — 0.6% of 2.5% of the events, as an earlier round found). Per log group this stop (alone and warm, 100 rules, µs per event, decode / normalize / match / state): flows 0.78 / 2.74 / 0.52 / 2.68, nginx 0.93 / 2.98 / 0.86 / 2.10, Lambda 0.70 / 2.12 / 1.05 / 0.99, chat 0.91 / 5.25 / 1.04 / 3.28, identity 2.49 / 9.50 / 5.03 / 35.36, CloudTrail 3.19 / 13.57 / 4.20 / 12.44, status API 0.85 / 4.50 / 0.93 / 2.02, sshd 3.72 / 5.80 / 4.28 / 71.88: weighted by their share of the events, flows 2.75 µs per event of the workload, nginx 2.14, identity 1.33, Lambda 0.79, CloudTrail 0.75, chat 0.44 — no group, stage or function holds the 5 µs per event the goal asks to remove. This run measured the floor at 792,596 events/s and the 100-rule path at 93,492 in the benchmark's process (0.12×) and 102,929 alone in its process (0.13×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,371 reads and 62,460 writes as on every event (the last run: 234 alerts, 77,028 matched events, 28,371 reads and 62,460 writes). The demo on the DynamoDB adapter made 31,928 store calls, 12,960 of them writes (31,928 and 12,960 in the last run). Content recognition's difference in time came out -0.1%.` +
    '\n\n' +
    `The run before: the benchmarked path changed for what it decides, not for speed: windowed rules now decide the same whatever order and cuts CloudWatch delivers a stream in (test/delivery-cuts.test.ts). A sequence reads its stored steps only for a batch holding a last-step event (a run of failures reads none), reads every bucket of that event's window (a login alone in its delivery missed failures in its window's first bucket), and a batch with earlier steps reads whether a last step is already stored after them (another stream's login delivered first); every step's latest event is now kept beside its set, the last step's too, so a login completed late is told with its line — a redaction per step, bucket and batch more: the identity service's lines, where the sequences are, went from about 31 to 35 µs of state each alone and warm (2.5% of the events: about 0.1 µs per event of the workload). A threshold or distinct-value window is read as far after a batch as before it, and an event whose later buckets already hold counts (a late delivery) counts in the largest window holding it: in time order there is nothing after, and the check allocates nothing for a group with nothing stored (the horizontal port-scan rule alone: 6.15–6.23 µs per flow before, 6.45–6.75 with the check's first version, 6.21–6.27 after). An alert's firstSeen now says when what it counted began. The path alone in its process, alternated with the last stop's code (bench/hot-path.ts, median of five passes): 100,085 / 101,428 / 103,639 events/s before, 103,019 / 101,800 / 102,342 after. This run measured the floor at 815,983 events/s and the 100-rule path at 96,299 in the benchmark's process (0.12×) and 100,390 alone in its process (0.12×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,371 reads and 62,460 writes as on every event (the last run: 234 alerts, 77,028 matched events, 28,541 reads and 62,460 writes). The demo on the DynamoDB adapter made 31,928 store calls, 12,960 of them writes (32,036 and 12,960 in the last run). Content recognition's difference in time came out 0.3%.` +
    '\n\n' +
    `The run before: the benchmarked path changed in three small places, none for CPU speed. The shipped pack gained \`web.content_discovery\` (one client asking for 40 different paths that do not exist within 5 minutes: a word list walked by a scanner), which the index files under its 404, so its predicate and its sets of paths are for this workload's not-found lines only; the 100-rule pack is 85 shipped rules and 15 variants. And a source may take its events' delivery times (\`time: delivery\`, for an app whose clients can write its lines' \`time\`): one comparison per event for every other source. And a threshold or spike rule's increment and its window's read go out together, one store round trip where there were two (the same work in memory: the path alone in its process, alternated with the code before it, 98,658 / 96,513 events/s before and 99,909 / 95,986 after; through a store taking 2 ms a call, the demo's nginx payloads went from 2.25 to 1.27 sequential rounds each, all its payloads from 1.89 to 1.68). The rest of this stop is outside the rows (the sweeper handles its due documents ten at a time). Measured this stop, what a payload costs whatever its size: the 100-rule path over the same 20,000 events cut into payloads of at most 10,000 / 50 / 10 / 3 / 1 events took 9.89 / 11.30 / 16.01 / 28.49 / 54.76 µs per event, about 45 µs per payload. Of a one-event payload's 56.6 µs, decoding took 10.8 (gunzip, base64 and the payload's JSON: the floor's own work), the batch id 0.9, normalizing 5.3, the detector's steps for a batch no rule matches about 7, matching 3.2, and the matched rules' state, lifecycle and alerts about 30. This workload has 2.63 matched rules per payload (3,261 (rule, batch) pairs a pass) and 102,963 (rule, event) matches: at its 81 events per payload the pairs' fixed work (grouping, windows, the store's calls and maps, awaiting them) is about 0.65 µs per event, and the rest of the state row is per group and per event — most groups here are one event (each flow a new source and port, each visitor a new address). This run measured the floor at 776,674 events/s and the 100-rule path at 94,436 in the benchmark's process (0.12×) and 98,692 alone in its process (0.13×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,541 reads and 62,460 writes as on every event (the last run: 234 alerts, 77,028 matched events, 28,212 reads and 61,945 writes). The demo on the DynamoDB adapter made 32,036 store calls, 12,960 of them writes (31,896 and 12,887 in the last run). Content recognition's difference in time came out 0.9%.` +
    '\n\n' +
    `The run before: the hot path changed for speed, in matching mostly, each change exact: an index key is still a condition every match meets, and every condition decides what it decided (tests: the index against the plain evaluator on the demo, this workload and the real SigmaHQ rules). Field access is compiled where the same fields of every event are read (src/runtime/field-access.ts): the rule index's fields, each condition's field, a grouping's and a distinct clause's fields, a flow record's fields. Read in a loop (\`event[field]\`), every field of every event went through one property-access site, which sees every name and every shape of event V8 keeps: a megamorphic lookup of about 20 ns. Written out with the field's name as a literal, each site learns the few shapes that reach it: the index's 24 equality fields of a flow took 0.49 µs per event in a loop and 0.03 compiled. A field name enters the generated code only as a JSON string literal (a test gives it quotes, backslashes, line separators, \`__proto__\` and code), and a condition's read is compiled when the condition first runs: compiled up front, a 1,000-rule pack's conditions added 125 ms to a cold start (29 → 154 ms to compile the pack; 43 ms now). An equality's last value answers for the same value again, in the index and in each condition: consecutive events of a log group repeat their dataset, category, action and level, which were lower-cased and hashed again for every event. The needle pre-check on text fields scans for its needles and for the two characters outside ASCII that lower-case to ASCII (İ and the Kelvin sign; a test checks every code point), not for every character outside ASCII: 0.30 → 0.12 µs per line of this workload. A rule on a CloudTrail service and call is filed under the call: \`aws.log_collection_disabled\` ran its predicate on 98% of this workload's CloudTrail records, filed under its services (ec2, logs), and matching a record took 10.6 µs, 5.1 now. Matching alone over the pre-normalized workload (the index and the predicates it lets through): 2.17 → 0.77 µs per event. The stage loop (bench/stages.ts, best of five passes, 100 rules), the last stop's code and this one's alternated twice in one hour: decode and normalize 4.43 / 4.40 and 4.50 / 4.36 µs per event, through matching 6.84 / 6.77 and 5.51 / 5.49, the whole path 10.53 / 10.53 and 9.26 / 9.21 (94,944 and 108,599 events/s). Three alternated runs of the path alone in its process (bench/hot-path.ts, median of five passes) before this stop's last two changes: 77,355 / 81,896 / 80,464 events/s on the last stop's code, 100,326 / 97,761 / 97,124 on this one's. Tried and not kept, each measured: a field map applied from the line's own names, or compiled (an identity-service JSON line normalized in 8.3–8.5 µs either way: its cost is the hash table its fields are stored in and JSON.parse); an evidence line's redaction remembered per event (no difference on events normalized afresh: a batch seldom shows one event twice); a threshold's counts before the batch read in place instead of two maps per key (2.68–2.78 against 2.71–2.84 µs per nginx line for matching and state); a hand-written needle filter on letter pairs (0.78 against the regex's 0.39 µs per nginx line); an account id's check remembered between events (noise). This run measured the floor at 797,746 events/s and the 100-rule path at 93,529 in the benchmark's process (0.12×) and 102,872 alone in its process (0.13×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,212 reads and 61,945 writes as on every event. The demo on the DynamoDB adapter made 31,896 store calls, 12,887 of them writes (31,896 and 12,887 in the last run). Content recognition's difference in time came out 2.5%. What is left is spread: in the stage loop decode takes 1.0 µs per event, normalization 3.4, matching 1.0, and state, lifecycle and alerts 3.7; a profile of the path puts no function above a tenth of the time (the line reader 7%, the payload's JSON 5%, finishing an event 4.5%, the index's matching 3%).` +
    '\n\n' +
    `The run before: the benchmarked path changed in two small places, neither for speed. A line's own time is used only when it can be the event's (2000 to 2099; in the detector function also at most a day ahead of its CloudWatch delivery): two comparisons per event. And each batch's decisions read the delivery clock once, so a condition records when it was last delivered: the lifecycle now judges quiet on the sweeper's clock too (a log whose times run behind was told resolved at every sweep: 72 notices in six hours for a fault 30 minutes behind). The rest of this stop is outside the rows: review-digest entries in the hour they are heard in, a digest built without a copy per entry, acknowledgements ended on the wall clock, a replay's catch-up bounded, and the correlation state machine retrying a task whose writes lost every race. The stage loop (bench/stages.ts, best of five passes, 100 rules), before the changes and after, an hour apart: decode 1.10 and 1.06 µs per event, decode and normalize 5.36 and 4.91, through matching 7.71 and 7.82, the whole path 13.18 and 12.79 (75,889 and 78,183 events/s) — the VM's spread; the floor alone in its process measured 664,862 and 589,715 events/s beside them. This run measured the floor at 701,905 events/s and the 100-rule path at 60,452 in the benchmark's process (0.09×) and 63,022 alone in its process (0.09×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,212 reads and 61,945 writes as on every event. The demo on the DynamoDB adapter made 31,896 store calls, 12,887 of them writes (31,896 and 12,887 in the last run). Three alternated runs of the path alone in its process after this run (bench/hot-path.ts, median of five passes each), the last stop's code against this one's: 75,681 / 71,588 / 60,585 events/s before, 73,253 / 77,716 / 77,800 after. This run's rows are below the last run's in an hour when the naive path, which nothing this stop touched, measured 15% lower (31,766 against 37,578 events/s). Content recognition's difference in time came out -7.5%. A profile of the 100-rule path's timed passes (4 passes, 100 µs sampling) again put no function above a tenth of the time: the index's matching 9.7% itself, the line reader 5.9%, decoding the payload's JSON 4.6%.` +
    '\n\n' +
    `The run before: the benchmarked path did not change. This stop changed the DynamoDB adapter and the sweeper, which the hot path's rows do not run (they keep state in the in-memory store): a counter item now records at most 160 batch ids (under 4 KB) and a busier slot continues in a next item — one item holding every id of a slot cost a write unit per KB of ids at every delivery (one delivery a second over a spike rule's 50-minute slot: 32.8 write and 8.6 read units a delivery on dynalite, now 2.3 and 1.0) and failed every delivery past 18,600 ids; term claims run entity by entity side by side (500 claims with 5 ms round trips: 10.2 s before, 2.5 s after); versioned writes that lose a race wait a random, doubling time before deciding again. The demo on the DynamoDB adapter (the state-store table's last row) made 31,896 store calls, 12,887 of them writes, where the run before it made 31,425 and 12,882: the demo's busiest keys fill a few counter items (each costs the write that finds it full and a read of the slot's rest), and a window over a slot whose full items the container knows reads the rest of that slot in a query of its own, side by side — before that run, on the same code, 31,896 calls and 12,887 writes, the reads each of one small item where the single item they replace held every id. That run measured the floor at 689,245 events/s and the 100-rule path at 72,888 in the benchmark's process (0.11×) and 72,947 alone in its process (0.11×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,212 reads and 61,945 writes as on every event. Content recognition's difference in time came out 2.6% (7.1% in the last run, -4.1% in the one before, the same recognizers). Measured before that run, the same code: the stage loop (bench/stages.ts, best of five passes) put decode at 1.23 µs per event, parse and normalize 4.34, matching 3.75 and state, lifecycle and alerts 5.34 (14.66 in all, 68,214 events/s), and the path alone in its process (bench/hot-path.ts) at 73,528 events/s, against a floor alone in its process of 426,800 (0.17×; that run, 50 minutes later, measured the floor at 689,245 and the path at 72,947: on this VM the floor moves more between hours than the path does): the goal asks for 0.25×, and a profile of those passes again put no function above a tenth of the time (the index's matching 10.1% of it, itself; the line reader 6.1%; decoding the payload's JSON 4.5%).` +
    '\n\n' +
    `The run before: the benchmarked path changed in two places, neither for speed. The shipped pack gained \`aws.cloudtrail_delivery_stopped\`, an absence rule every CloudTrail record meets (keyed on \`event.dataset\`; it records its watch at most once per refresh per log group and container, and only the sweeper decides), so the 100-rule pack is 84 shipped rules and 16 variants; and an alert's title may name its rule's window, worded when the alert is built (\`{window}\`: 234 alerts a pass). The 10-rule pack now takes absence rules after the rules that carry per-event work: ranked by events matched alone, the new rule tied with \`aws.new_region\` on the CloudTrail group and took its place by name, and a first whole run this stop measured that pack without new_region's new-term state — 10 rules 53,582 events/s, 100 rules 37,562, 1,000 rules 38,724 (1.38× the time of 10), the floor 408,891 — a 10-rule row no longer like the ones before it. Three alternated runs of the stage loop (bench/stages.ts, best of five passes each, each in a process of its own), the last stop's code against this one's: the whole path 20.79 / 22.46 / 23.40 µs per event before and 24.55 / 19.53 / 23.24 after — this VM's spread. This VM ran everything about three times slower than on the days of the runs below (the floor alone in its process measured 424,731 events/s before this run, against 1,232,229 in the last one), so this run's absolute rows are low (the before-and-after table's last column too) and its ratios are what compare. Content recognition's difference in time came out 7.1% in this run against -4.1% in the last, with the same recognizers: in this run the 100-rule path measured 35,423 events/s interleaved and 42,612 alone in its process, a spread larger than the budget it is held to. This run measured the floor at 408,591 events/s and the 100-rule path at 35,423 in the benchmark's process (0.09×) and 42,612 alone in its process (0.10×); the filters deliver 84.3% of the events, on which the detector decides the same 234 alerts from 77,028 matched events with 28,212 reads and 61,945 writes as on every event. Measured per log group this stop (each group's payloads alone and warm, the 100-rule pack, this slow VM): VPC flows 19.5 µs per event and 39% of the time, nginx 15.9 µs and 24%, the identity service 95.6 µs and 12% (7 events per payload: its per-batch state, 13 rules and 75 of the alerts), CloudTrail 55.3 µs and 6%, Lambda 8.6 µs and 7%; on pre-normalized flows, the index's matching alone took 2.5–4.0 µs per event, and 1.6–2.9 with only the 5 of its 24 equality fields a flow carries looked up (an oracle, as measured in the runs below: the saving is about 5% of the path, and a source whose possible fields were misdeclared would miss detections silently). The goal stays out of reach for the reasons the runs below give: no part of the path is more than a fifth of it.` +
    '\n\n' +
    `The run before: the benchmarked path changed in two places, each for what it gets right rather than for speed. A JSON line's field map has twelve more names to look up: structlog's message (\`event\`) and an error's class and trace as loggers write them (\`err.type\`, \`err.name\`, \`thrown.name\`, \`err.stack\`, \`exception\`, \`exc_info\`, \`stack_trace\`, \`stack\`, \`Exception\`, \`@x\`, \`context.exception\`), and an event holding a trace but no \`error.type\` gets the class the trace names (src/parse/exception-type.ts: anchored patterns over at most 512 characters of either end) — \`errors.new_error_type\` never told a Python, Java, Node or PHP app's new kind of failure before. In this workload the status page's seven Laravel \`PDOException\` lines now carry one: the store calls grew by 7 reads and 7 writes a pass (the new-term rule learning the class). What the names cost, measured with the attacker-chosen-keys loop below (a five-key JSON line normalized alone, four alternated processes each): 2.05–2.31 µs per line before, 2.28–2.61 after, about a quarter of a microsecond per JSON line; text lines and flows do not look them up. The shipped pack gained \`aws.s3_bulk_download\` (keyed on CloudTrail's \`event.provider\` and \`event.action\`, which no event of this workload holds with those values), so the 100-rule pack is 82 shipped rules and 18 variants. Three alternated runs of the stage loop (bench/stages.ts, best of five passes each, each in a process of its own), the last stop's code against this one's: the whole path 7.42 / 6.82 / 6.58 µs per event before and 6.82 / 6.49 / 7.09 after — inside this VM's spread. That run measured the floor at 1,232,229 events/s and the 100-rule path at 124,331 in the benchmark's process (0.10×) and 148,310 alone in its process (0.12×); the filters deliver 84.1% of the events, on which the detector decides the same 234 alerts from 76,885 matched events with 28,240 reads and 61,965 writes as on every event. A first whole run that stop, an hour earlier on the same code but for this paragraph, measured the floor at 1,155,226 events/s, the 100-rule path at 150,252 (0.13×) and 150,373 alone in its process, and the naive path, which nothing this stop touched, at 69,129 — that run's naive row was 13% below it: the VM, not the code. A steady-state profile of the timed passes only (through the inspector) puts the time in decode 10%, normalize 32%, matching 21%, state, lifecycle and alerts about 28% and garbage collection 8%, no function above 9%: the goal stays out of reach for the reasons the runs below give.` +
    `\n\nThe run before: the benchmarked path changed in four places, each for what it gets right rather than for speed. Every event gets its hour and weekday in the team's time zone (\`event.hour_local\`, \`event.weekday_local\`, config \`timeZone\`; UTC here, so copies of the UTC ones) and, when its line names no service, its container's or its log group's name as \`service.name\` (the rules that count per service never fired on groups no source file names): three more fields per event. A spike window that spikes writes the level it spiked at beside its count, and a spike rule looks up since when it has watched the account's logs (kept by the container once a baseline has passed): a fault that lasts all day stays one open alert instead of being told resolved a quarter of an hour in. Parser patterns run their regex only on lines holding the text every match of the pattern holds, read from the pattern itself (none of this workload's busy patterns lacked one before). After the paired runs below, two more: a JSON line's field map has seven more names to look up (.NET's console formatter, a request log's status and method), and a text line starting with a date and a \`T\` is tried as containerd's CRI prefix (two character codes for the others). Five alternated runs of the stage loop (bench/stages.ts: best of five passes each, each in a process of its own), the last stop's code against this one's: decode and normalize 2.53–2.91 against 2.79–2.96 µs/event (the three fields), decode through matching 4.01–4.29 against 4.28–5.14, and the whole path 6.49–7.12 against 6.81–8.61 (medians 6.85 and 6.96): about 2%, inside this VM's spread; three alternated runs of the path alone in its process (bench/hot-path.ts, median of five passes) measured 105,491 / 123,141 / 113,228 events/s before and 117,777 / 123,096 / 109,606 after, so that run's alone-in-its-process row (below the last run's 141,674) is that spread too. The store calls grew by 7 reads and 28 writes a pass: the watch starts and the levels of windows that spiked. The ten rules carrying the most of this workload (the 10-rule pack) now include \`lambda.error_spike\` in place of \`aws.iam_credentials_first_time\` (\`errors.level_spike\` leaves Lambda functions to it), so that row's alerts are 54 where they were 56. That run measured the floor at 1,366,397 events/s and the 100-rule path at 157,036 in the benchmark's process (0.11×) and 101,208 alone in its process (0.07×); the filters deliver 84.1% of the events, on which the detector decides the same 234 alerts from 76,885 matched events with 28,233 reads and 61,958 writes as on every event. The goal stays out of reach for the reasons the runs below give (the run before measured where the time goes, log group by log group and rule by rule).\n\nThe run before: the benchmarked path changed in one place. A distinct clause's member is scoped by the field it is a value of, so an element of a list (\`user.name.1\`) is a user of its account as the list's first is (README, Many accounts): one look-up in the clause's one to three fields per member — per flow, for the horizontal port scan. The rest of that stop did not touch the path (acknowledgements refused for ids no open alert has, and told to the team by the sweeper). That run measured the floor at 1,101,805 events/s and the 100-rule path at 130,867 in the benchmark's process (0.12×) and 141,674 alone in its process (0.13×); the filters deliver 84.1% of the events, on which the detector decides the same 234 alerts from 76,885 matched events with 28,226 reads and 61,930 writes as on every event. Measured that stop, to see whether any part of the path could give the half the goal asks for: per log group, each group's payloads alone and warm, a flow took 5.8 µs (decode 0.5, normalize 1.8, matching 1.3, state 2.3), an nginx line 5.7 (0.7, 1.9, 1.4, 1.7), a Lambda line 3.2, an identity-service line 30 and a CloudTrail record 19 (small payloads, 7 events each: their state and alerts are per batch). Matching, on pre-normalized events: the ten rules that carry the traffic cost 0.62 µs/event, the other 90 of the 100-rule pack 1.30, although they run 0.52 predicates per event — most of it is the index looking up each of the 24 fields some rule keys an equality on, present or not, in every event (in a profile of a flow's 1.2 µs of matching, the look-ups are about 0.55 µs at 11 ns each, this workload's events have 16 hidden classes, and JSON lines' events are hash tables, so every such load is megamorphic). Looking up only the fields a source can write (a flow about 8 of the 24) would save about 0.15 µs per event of this workload (2%), and getting a source's possible fields wrong would silently miss detections: not built, as in the rounds below. State, rule by rule (the 100-rule detector without one of the ten traffic rules, over pre-normalized events): \`vpc.port_scan_horizontal\` 1.1 µs/event (33,490 of the 61,930 writes), \`web.request_flood\` 0.6, every other rule 0.45 or less; a batch whose events no rule matches costs 1–4 µs in all. What this means for a bill: the detector's CPU is $0.0077 of the $0.44 per million events in the cost table below, and DynamoDB writes $0.39: halving the path would take 0.9% off, where the writes are the exact per-entity windows of the rules that match (the write breakdown below). The goal stays out of reach for the reasons the runs below give; what is left is a different design for the whole path, not tuning of it.\n\nThe run before: the benchmarked path did not change; what reaches it in a deployment did. The subscription filter compiled for each log group (src/rules/filter-pattern.ts) delivered every event of every group of this workload before (each group fell back: some rule had no text a line must hold), so a function's START, END and REPORT lines each cost the detector their parsing. It now knows how each group's source gives a field its value (src/rules/filter-origins.ts): a value a text pattern captures is in the line; one the line names itself follows its key, so a short one is looked for after the key (a 5xx status, pino's level 50); one the normalizer or a built-in AWS source computes passes the lines it can be computed on, by what they hold (a timeout's \`Task timed out\`, a platform record's \`platform.\`, a CloudTrail record's \`eventSource\`); texts a program writes the same way every time (JSON keys, parser literals, derive markers) are matched in their own case, a quarter of the length of any case; and the texts are fitted to CloudWatch's 1,024 characters by shortening, never by dropping. Over this workload the compiled filters now deliver 84.1% of the events (the function's group 3.6% of its lines; web, flow and CloudTrail groups still everything, their request-, flow- and region rules read every line; the table at the end says per group), and the cost table now takes the detector's CPU from a timed path over what the 100-rule pack's filters deliver (84,112 events in 1,185 payloads: 115,188 events/s, the cheap lines gone) and its store calls per event written, delivered or not: the filter drops no event a rule matches, and the bench checks it — on what the filters deliver the detector decides the same 234 alerts from the same 76,885 matched events with the same 28,226 reads and 61,930 writes as on every event (the run stops if not). What it saves in money is small here: the bill is the store calls of the events rules match, which no filter may drop, and the round trips of each invocation; it saves the invocations whose every line no rule can match (the demo as CloudWatch delivers it: 6,482 payloads become 5,842, a function's 724 become 84). The hot path's rows below measure every event of the workload as before: that run measured the floor at 1,067,299 events/s and the 100-rule path at 125,201 in the benchmark's process (0.12×) and 131,907 alone in its process (0.12×). The goal stays out of reach for the reason the runs below give. A copy of the filter in the detector, without the length limit, was weighed and not built: where a filter applies CloudWatch has dropped most of those lines already (the function's group here: 96.4% of its lines), and it would hide from the unparsed-lines count the lines no rule can match, which is how a new log format shows itself.\n\nThe run before: the benchmarked path changed in one place that this workload does not reach. When a batch decides a reminder or an escalation, the detector reads whether a responder acknowledged those alerts (src/engine/acknowledgements.ts: one read for the batch, none when it decides neither); no pass here decides one that way, and the store calls above are the last run's to the call. That run measured the floor at 731,618 events/s (880,163 in the run before it; 1,090,330 and 1,273,196 in earlier ones) and the 100-rule path at 114,769 in the benchmark's process and 115,447 alone in its process: 0.16× that run's floor, 0.13× the one before — the spread of this VM between runs, not a change of code. What meeting the goal takes is unchanged since the rounds below: about 4 µs per event for everything at the floors this VM measures, where the path takes 7–9 (decode about 1, parse and normalize 2–2.6, matching 1.5–2.3, state 2.4–2.9). Measured then and not built, both upper bounds: the index's equality lookups only for the fields an event carries (an oracle that knows them) — the bare lookups of the 24 indexed equality fields cost 0.4–0.5 µs per event over this workload, with 3.9 of them present, so at most about 0.3 µs (4% of the path) could go; and the Lambda lines, 16% of the events, of which 97% meet no rule: a check proving from the raw line that no rule of the pack can match would save their normalizing, about 0.3 µs per event of the workload. After that run, naming a CloudTrail principal gained one anchored regex test per assumed-role record (a session name a machine generated is its role; src/parse/aws-sources.ts): 2.2% of this workload's events are CloudTrail records, and that run did not include it (this one does).\n\nThe run before: the benchmarked path did not change. The detector gained two steps that this benchmark's detector skips and a deployed one runs: new-term rules look up a learning start per rule and account (src/engine/term-learning.ts; with no learning period configured, as here, the lookup returns at once), and exceptions a responder added leave the events they cover out of their rules (src/engine/exceptions.ts; one cached list per container, read once a minute, empty here). This run measured the 100-rule path at 87,667 events/s in the benchmark's process (0.10× the floor) and 126,127 alone in its process (0.14×), and the 1,000-rule pack faster than the 100-rule one (90,228): the spread this VM shows between passes of the same code, not a change. Three alternated runs of the 100-rule path alone in a process, the previous stop's code (f6699c1) against this one: 92,637 / 115,660 / 106,817 events/s before, 115,524 / 123,546 / 103,486 after. The worker rows scaled 1.77× on two threads in this run against 1.09× in the last, with the same code on that path: they follow what else the VM runs.\n\nThe round before: the hot path changed in two places, each measured. Distinct clauses read their values through a reader that also takes a list's elements (one GetParameters call naming ten parameters is ten values) and the first of several fields an event carries: one more lookup per event for rules with a distinct clause. Alerts that open now count toward their rule's outbreak (src/engine/outbreak.ts): one read and at most one conditional write per rule and account per batch that opens alerts — 234 openings per pass here. The shipped pack gained two rules (\`aws.ssm_parameters_harvesting\`, \`aws.ssm_parameters_dumped\`, keyed on CloudTrail's \`event.provider\`, which no event of this workload names), so the 100-rule pack is 81 shipped rules and 19 variants; four new-term rules now make one alert per entity (\`alertPer: entity\`: in one process, the same 234 messages and 28,226 reads and 61,930 writes either way). A first run this hour measured the 100-rule path at 0.08× the floor (76,372 events/s, the naive path 42,232 against 85,408 in the last run: the whole VM about half as fast) and was run again; this is the second. Four alternated rounds of the 100-rule path, best of five passes each, each in a process of its own: before this stop's changes 107,887 / 90,467 / 97,275 / 118,968 events/s, just before the outbreak change 116,949 / 120,557 / 108,578 / 87,078, after it 103,056 / 112,160 / 112,357 / 108,718 — no difference this VM's noise does not swamp. Found: rule matching alone (the index over pre-normalized events) measured 1.45–1.68 µs/event with the two new SSM rules in the pack against 1.04–1.17 without them, in alternated processes, although their predicates never run on this workload (1.418 predicate runs per event either way, the same rules the most often), the index holds the same fields in every log group and the events are the same; writing their booleans as text did not change it. The stage table's matching row shows it (2.63 µs/event against 1.44 in the last run); the whole path's paired runs above do not. Traced after this run to one literal: \`aws.ssm_parameters_dumped\`'s \`requestParameters.path: /\`, a one-character string. With \`/x\` in its place, or without that condition, matching alone measured 1.00–1.05 µs/event (best of three processes each); calling the lower-casing function once with \`'/'\` at start-up, with the condition gone, brought back 1.31. V8 keeps one-character strings in a table of their own, and compiling the rule lower-cases its values once: that seems to disturb the feedback of the loop the index runs for every equality field of every event. Not fixed: a separate path for one-character strings could not be told apart from the noise in the hour left (1.56–2.71 against 1.59–1.76, alternated), and traffic can carry one-character values too.\n\nThe round before: the hot path's code changed in one place, the rule index's choice of key: a 200 or 304 status is a weak equality (most requests carry one) and a range open above zero (a size, a count) a weak range, so a rule that offers another key is filed under that one. The shipped pack gained two rules and a log format: \`aws.log_collection_disabled\` (keyed on CloudTrail event names no event of this workload holds), \`web.sensitive_file_served\` (a \`.env\`, \`.git/config\`, credentials or a database dump answered 200 with a body: without the index change its key was the 200 and its predicate ran on 96% of the nginx lines; with it, the rule is filed under its file names, an automaton over \`url.path\` that costs each nginx line 0.04–0.05 µs in index matching alone — 1.02 against 0.98 µs per line, three alternated runs — and runs its predicate on 0.3% of them), and the MySQL audit log's patterns, tried only in RDS log groups (none in this workload); the 100-rule pack is now 78 shipped rules and 22 variants where it was 76 and 24 (a 79th shipped rule, \`aws.ssm_shell_access\`, came after that run: keyed on CloudTrail event names no event of this workload holds, it left the pack that run measured the same but for one variant). Sequence alerts now count their steps' occurrences in the window (a binary search per step when a sequence completes). That run's rows were 7% below the run's before (100 rules 127,507 against 137,564 events/s) in an hour when the naive path, which none of it touched, measured 17% lower (85,408 against 102,318); four alternated runs of the 100-rule path before and after this round's changes, each in a process of its own, cannot tell them apart (before 118,119 / 89,506 / 80,813 / 112,826 events/s, after 108,178 / 98,396 / 102,960 / 101,676). Measured this round, per log group (each group's payloads alone, warm, pre-decoded, the 100-rule pack): a flow 4.85 µs (1.77 to normalize), an nginx line 4.90 (1.98), a Lambda line 2.42 (1.32), a CloudTrail record 14.3 (8.25), an identity-service line 31.6 (5.64) — 2.5% of the events but 0.80 µs per event of the workload, 14% of it: 13 rules read those lines and 75 of the 234 alerts come from them. In a profile of that group alone redaction is 11% of its time: over the whole workload the patterns run on 709 texts per pass, 12.8 ms per 100,000 events (0.13 µs/event, about 1.7%), because an event is redacted once for each alert and stored sequence step that shows it (8,832 calls for 1,204 different texts). Remembering answers in the process cut a first pass's pattern runs to 486 (about 0.04 µs/event) and every later pass over the same workload to none: a benchmark that repeats its payloads would have credited it with all 1.7%, a deployment with a quarter of it. Not built. A heap profile puts the 3.6 KB allocated per event in the events themselves (about 750 B: their objects and the side arrays of the fields beyond the first 20), the payload's JSON and its strings (about 510 B, what the floor allocates too), the flow reader's split (230 B), regex match arrays (210 B), the detector's and the in-memory store's maps and sets (about 410 B) and the batch id's text (94 B): spread as the time is.\n\nThe round before: no change to the hot path's code. The shipped pack gained five rules (three for CloudTrail: secrets harvesting, snapshots shared out of the account, S3 mass deletion; two for EKS audit logs: Kubernetes secrets read one after another or listed cluster-wide; keyed on \`event.provider\`, \`event.action\` and \`event.dataset\` equalities, so the index files them under values no event of this workload holds), so the 100-rule pack was 76 shipped rules and 24 variants where it had been 71 and 29. That run's absolute rows were 10–20% below the run's before, in an hour when this VM ran everything slower (the floor 1,090,330 against 1,273,196 events/s; two whole runs earlier in the same hour measured the 100-rule row at 118,123 and 120,663, that one 137,564): five alternated runs of the 100-rule path before and after the CloudTrail rules, each in a process of its own, cannot tell them apart (before 148,908 / 132,155 / 124,178 / 144,099 / 137,597 events/s, after 131,400 / 128,424 / 135,342 / 143,316 / 150,285; medians 137,597 and 135,342). Measured that round, where the state row goes: each shipped rule alone in a detector over the pre-normalized workload, against a detector whose one rule matches nothing (about 0.16 µs/event, its matching loop) — \`vpc.port_scan_horizontal\` 0.62 µs/event above that (every flow of this traffic a new source and port: a set read and a set write per flow, about 1.6 µs per flow), \`web.request_flood\` 0.43 (a counter per visitor address per batch), \`auth.success_after_failures\` 0.32, \`integrity.log_tampering\` 0.25 (its message needles, which the full pack scans once for all rules), \`api.request_rate_spike\` 0.12, and every other rule 0.06 or less: three rules are two thirds of the state row, and each holds the exact per-entity state its rule needs.\n\nThe round before: no change to the hot path's code either. The shipped pack grew by ten detection rules and a correlation (mail servers, RDS and Aurora databases, EKS audit logs; their parsers are tried only on lines of their kind: a syslog program, an RDS log group, a JSON line holding \`auditID\`), so the 100-rule pack is now 71 shipped rules and 29 variants where it was 61 and 39, and the rows held (100 rules 0.13× the floor; 1,000 rules 1.22× the time of 10). A profile of this round found no part of the path above 8% again, and two upper bounds were measured and not built: code generated per parser pattern, so each field is stored under a constant name (decode and normalize 2.45–2.56 against 2.50–2.69 µs/event, alternated: nothing), and equality lookups only for the fields an event's shape can hold (at most 0.1–0.3 µs/event, 3–5%, where getting an event's possible fields wrong would silently miss detections).\n\nThe round before: two findings about how this VM's V8 runs the path, one in the benchmark and one in the product. The benchmark: each timed run used a detector built afresh (rules compiled outside the timing), after a full GC; collecting the previous run's detector deoptimized about 50 functions whose optimized code had embedded its objects (\`--trace-deopt\`: 36–58 functions marked at each forced GC, 1 when the same detector is kept), so each timed run paid to optimize them again — 10–17% slower than a run without the GC before it, against 3% with one detector. A Lambda container builds its detector once, so each path now keeps one detector and each timed run starts from an empty store (\`MemoryStateStore.clear\`; the same alerts and store calls, tested). The product: V8's allocation-site pretenuring. V8 puts a memento behind each object a literal makes and, at every scavenge, looks up the site of each surviving object; a payload's events (up to 10,000) all survive until the payload is decided. Turned off (\`--no-allocation-site-pretenuring\`, set by the detector function and the CLI when they start: src/runtime/v8-heap.ts), decode and normalize alone over this workload went from 242,000–278,000 to 330,000–382,000 events/s in four alternated processes, and garbage collection from 17.5% to 10.5% of a steady-state profile of the 100-rule path; payloads of ten events or fewer were unchanged (131,746 / 127,807 events/s on, 132,808 / 130,912 off). On Node 22.23.5 (the functions' runtime; its binary from the npm registry, run here by hand), decode and normalize went from a median of about 314,000 to about 390,000 events/s (two processes each way), and the 100-rule path alone in its process from 146,454 / 153,609 to 166,356 / 155,881 events/s; the detector handler's tests pass there. Five alternated rounds of the floor and the 100-rule path, each in a process of its own: the old method 101,576 / 97,672 / 107,762 / 100,209 / 103,001 events/s (0.111× the floor, median), one detector per path 103,344 / 131,987 / 111,492 / 123,445 / 112,541 (0.120×), and with the heap setting 126,444 / 102,873 / 112,054 / 132,054 / 124,453 (0.136×; ratios against the floor timed in the same process). Two whole bench runs with the setting and one without, in the same hour: the interleaved 100-rule row did not move (137,097 with it, 136,738 without — this process holds every path's detector and the workload, and the setting's gain shrinks in a larger heap), the 100-rule path alone in its process did (169,657 against 155,814), and so did two worker threads (189,976 against 138,026). The same runs found the setting slowing the floor timed beside the paths (780,875 and 774,197 events/s against 1,137,035), which would have flattered every ratio: the floor is now the faster of that one and a floor in a process of its own with V8's defaults. Tried again with the setting and not kept: a larger young generation (\`--max-semi-space-size\` 32 and 64 MB: 0.131 / 0.126 and 0.112 / 0.110 against 0.118 / 0.137 without, in alternated processes — noise).\n\nThe round before: a sequence step's set now keeps its latest event beside its members in the same write (README, How state works), and a sequence that completes reads those of its earlier steps: the same writes, one read per earlier step per completion; paired runs of the 100-rule path against the code before cannot tell them apart (97,049 / 114,066 events/s before, 99,235 / 115,721 after; best of 12 passes on pre-decoded payloads, 6.03 / 5.57 / 5.72 µs per event before, 5.40 / 5.21 / 5.41 after). This run's absolute rows are 10–20% below the last run's and the state row higher, in an hour when this VM ran the same code that much slower (normalizing a JSON line alone: 4.04 µs here, 2.31 in the last run): the ratio rows held. Measured per log group, alone and warm, on pre-decoded payloads: a flow 4.2–4.7 µs (normalize 2.2, matching 0.7, state 1.3), an nginx line 4.5 (2.2, 0.9, 1.3), an identity-service line 17.5; flows and nginx lines are 72% of the events and 3.3 of the 4.9 µs per event.\n\nThe round before: entities named inside one account (users, hosts, private addresses) are now counted per account (README, Many accounts): each group's account is worked out once per group, and a group is split only when its events name several accounts — in a profile of the 100-rule path that step is 0.9% of the time, and three paired runs against the code before it (175,887 / 155,693 / 137,470 events/s before, 136,435 / 132,453 / 148,984 after) cannot tell it apart from this VM's noise. Batch ids are hashed one-shot (\`crypto.hash\`: 0.30 against 0.62 µs for a delivery's ids; the same ids). A batch's receipt is read while its rules qualify rather than before them (what qualifying writes is a no-op for a batch already counted): on DynamoDB a round trip less per batch that matched something, ${PHASES_PER_BATCH} sequential rounds in the cost model instead of 7; in memory it changes nothing. Measured, not changed: what a payload costs whatever its size. The 100-rule path over the same 20,000 events cut into payloads of at most 10,000 / 50 / 10 / 3 / 1 events took 8.3 / 8.1 / 9.4 / 14.1 / 21.8 µs per event: about 14 µs per payload. Of that, gunzip is about 4 µs (Node's zlib sets up an inflate stream per call; fflate, a pure-JavaScript inflater, measured slower at every size here: 5.5 against 4.2 µs for a one-event payload, 370 against 202 µs for a 1,000-event one), the batch id, the receipt and each matched rule's store calls the rest. CloudWatch delivers quiet groups a few events at a time (the demo: ${(demoEvents / demo.payloads.length).toFixed(1)} per payload), so the cost table now has a column for them.\n\nThe round before: every path is warmed up with ${WARMUP_PASSES} passes instead of one. Alone in a process, the 100-rule path's first passes ran 15–25% slower than every pass from the fourth on (138,000–161,000 against 186,000–201,000 events/s in one run; \`--trace-gc\`: 80–150 ms of scavenges per pass in passes two and three, 40–50 ms from the fourth, the same code — V8's young generation still growing and its allocation sites still learning to allocate the in-memory store's long-lived objects in the old generation). In the interleaved rounds above the other paths' passes had mostly warmed the process already, so the rows moved little with it (100 rules: 147,979 events/s in the fourth round's run and 156,510 in a first run with the extra warm-up, the floor 1,100,718 and 1,164,200; ${fmt.int(at(100).rate)} and ${fmt.int(floorRate)} in this one, the ratio the same). The path alone in its process is now a row, with and without \`--single-threaded-gc\` (before, the flag's row was compared with the interleaved row and came out faster). Flow-record counts are read while their digits are checked instead of by \`Number()\` after the check (six numbers per record; exact to 15 digits, longer ones through \`Number()\`). One page per entity (README) adds a conditional write only when a respond-tier alert opens. Tried and not kept: keeping events' room for 40 fields inside the object (in-object slack tracking had cut it to the 20 the first events used, and a flow event's 33 fields put 13 in a side array grown three slots at a time): allocation stayed at 360 MB per 100,000 events — what finishing an event stopped allocating, the parsers' larger objects allocated — and time within the noise. Where a steady-state profile of the 100-rule path puts the time: garbage collection 16%, the index's equality lookups 6.6% (19 fields looked up per event, most absent), the line reader 6.2%, decoding the payload JSON 4.3%, distinct-value sets 4.2% (the horizontal port-scan rule: every flow a new source and port), the flow reader 2.9%, and no other function above 3.5%; per log group, alone and warm, a flow costs 3.6 µs (1.9 to normalize), an nginx line 4.1 (2.0), a Lambda line 2.2, an identity-service line 21 (13 rules read it; 75 of the 234 alerts). The 0.25× goal needs about 3.6 µs per event for everything; warm, the path takes about 5 (decode 0.7, normalize 2.1, matching and state 2.2), and no one part is more than a sixth of it.` +
    `\n\nSince the fourth round: \`|cidr\` keys and trusted proxies read a dotted quad as one number tested by mask instead of an ipaddr.js parse (0.15–0.95 → 0.05–0.1 µs per address, for packs with a \`|cidr\` key; the shipped rules key on equalities first, so this workload moves within the noise: three paired runs against the fourth round's code, 6.81 / 6.74 / 6.90 µs/event before, 6.65 / 6.77 / 7.41 after, in an hour when this VM ran the same code about 10% slower than when the fourth round's column was measured). JSON lines are flattened with one reusable work stack instead of a tuple per node and an entries array per object, and the dotted names under a prefix seen in an earlier line are reused rather than concatenated and interned again (prefixes new in a line, and ones with more than 64 names — request headers keyed by the client — are concatenated as before): normalizing a CloudTrail record went from 8.7–9.8 to 6.6–7.2 µs, an identity-service JSON line from 6.8–6.9 to 4.7–4.9, and decode plus normalize over this workload from 3.38–3.70 to 3.18–3.34 µs/event in alternated runs; nested attacker-chosen names cost what they did. Recognition of lines in log groups no source names: every recognizer that takes JSON needs one of six marker keys, so an app's JSON line holding none is ruled out on one scan instead of one per recognizer (1.7 → 0.16 µs per line; normalizing such a line 4.4–4.6 → 2.7–2.8 µs), and an unrecognized text line's check went from 0.26–0.28 to 0.19–0.21 µs; this workload's groups are named or recognized, so it does not show here. Fourth round (in this table's last column, with what came since), each change checked exact by a test: redaction runs a pattern only on text holding its literal (every pattern's match holds one of its own — a secret word, a header name, a token prefix — now declared beside it), so an evidence line holding none costs one scan instead of 25 (about 30 µs a line; 0.3 µs per event of this workload, whose 234 alerts carry up to 20 evidence lines each); the needle alternation and the non-ASCII check are one regex, so a message is scanned once; \`awslogs.data\` is checked by the size Node's decoder produced rather than by two regex scans of the base64 text; a time in the hour of the last one read is that hour plus its minutes and seconds (CLF 0.31 → 0.08 µs, ISO 0.24 → 0.08 µs per time), epoch text (flow logs) is tried before the four shapes it cannot be, and whether a day exists in its month is computed rather than a Date per line; IPv4 addresses are recognized without \`net.isIP\`'s regex. Three paired runs of the whole path at 100 rules against the third round's code, alternated: 6.91 / 7.02 / 6.59 µs/event before, 6.19 / 5.19 / 5.78 after (about 15%). The events/s rows are absolute and this VM drifts (the floor measured 879,702 events/s in the third round's run, ${fmt.int(floorRate)} in this one): the ratio rows and paired runs are what compare.` +
    "\n\nThird round (the column before): events are instances of a class that inherits nothing, with room for 40 fields in the object, instead of null-prototype objects (V8 keeps those in dictionary mode: normalization went from 5.3 to 3.7 µs/event and from 4.5 to 1.9 KB allocated per event on pre-decoded payloads) — for lines of a fixed shape only: lines that name their own fields (JSON lines, JSON contexts) stay hash tables, since every never-seen name would mint a hidden class (see the attacker-chosen names above); a text pattern declares the fields it can write, so only field-map entries that can apply are looked up (3.6 → 3.4 µs/event); field values are lower-cased only when they hold a capital (`toLowerCase` copies even when nothing changes); numbers are looked up in the index as numbers; one array of hits is reused per batch (emptying it released its storage on every event); single-event distinct groups are decided without a map and two sets of their own; matched events are counted while matching rather than collected into a set; the index files a rule under `|exists: true` on a field only some sources write, and judges an equality weak by its value (`GET`, `success`, `info`, `ACCEPT`; `REJECT` and `error` are good keys): predicates run per event on this workload went from 2.05 to 1.33. Allocation in the detector's evaluate step went from 1.7 to 1.5 KB per event." +
    "\n\nSecond round: field keys that are constants rather than built per event; one log context per payload; numbers recognized without a regex; parser regexes run with plain groups (a named-group match also builds a `groups` object per line, and matches are read by index); the last ISO / CLF time reused; distinct-value sets read as live read-only views instead of copies; threshold windows summed once per bucket rather than per event; counter increments aggregated by run (events are sorted); the in-memory store keeps each key's buckets in order (a window read is a binary search, not one lookup per bucket); text needles prefiltered case-insensitively on ASCII text, so messages are lower-cased only when a needle may be there; the rule index tests each rule at most once per event through a typed-array stamp and walks prebuilt per-field arrays, and keys what it used to run on every event: `|cidr` ranges, `|wildcard` patterns (by their longest literal), and the any-branches of a rule whose only own key is a weak equality such as `GET`. Also in this column, not code speed: `vpc.port_scan_vertical` now counts only refused flows (see the write breakdown below), which cut this workload's store writes by a third but did not measurably move its speed (71,044 against 70,046 events/s in one paired run), `vpc.port_scan_horizontal` counts only ports below the ephemeral range (a busy server's replies to clients that share an ephemeral port read as a sweep), and the demo gained a busy client's two-way flows and real browser user agents, so alerts and matches/event moved a little." +
    `\n\nTried and not kept: a larger V8 young generation for the function (\`--max-semi-space-size=32\`): −5% to +7.5% in paired single-thread runs here (within the noise) and 15–20% slower with three threads on two cores. Measured after the third round and not built: building only the fields the loaded pack reads (captures no rule, entity or grouping reads are skipped: 10 of 23 fields on an nginx line, 15 of 30 on a flow) gave 4.87–4.92 against 4.96–5.27 µs/event for decode and normalize in three paired runs, within the noise: the regex match, the timestamp and the fields every event carries cost the same either way. Since the third round the batch id is hashed in one update rather than two native calls per event (0.19 → 0.10 µs/event), and the hostile-input fixes landed: values bounded before they become store keys, and more redaction patterns. In a profile those cost about 1.5% of the hot path (redaction 2.9% of it, from about 1.6%); bounding a value that fits is a length check. This VM drifts by ±30% between runs (the floor measured ${fmt.int(floorRate)} events/s in this run, 768,878 and 915,702 in earlier ones), so versions are compared in paired runs alternated in one sitting: with those fixes, six pairs at 100 rules had the newer slower in four (by up to 15%) and faster in two. Since then VPC flow records (41% of this workload) are read by splitting against the flow log's declared format instead of a 14-group regex, for custom formats' sake (see the README): the flow parser went from 0.96 to 0.78 µs per line and flow normalization from 3.45 to 2.85 µs per event on pre-decoded payloads; three paired runs of the whole path at 100 rules (101,258 / 89,353 / 88,338 before, 97,663 / 90,580 / 84,712 after) cannot tell that 0.25 µs/event apart from the noise. Nginx and Apache error logs, Keycloak events, RFC 5424 syslog, container runtime wrappers and X-Forwarded-For joined the parsers too; none of them is in this workload, access-log lines pay only for an optional trailing group, and JSON lines for a substring check (a wrapper's \`"log"\` key).`,
  '',
  `The workload grew since (CloudTrail, VPC Flow Logs and Lambda joined the demo; ${fmt.pct(awsShare)} of its events are now flows and Lambda lines) and the rule packs changed (the 10-rule row now carries the traffic; variants no longer match), so the first two columns are not like for like: the 1,000-rule row is the one the index work moved. ` +
    'First round: every rule is filed under a condition it cannot match without (equality, numeric range, or its `contains`/`startswith`/`endswith` needles in one automaton per field, behind a single literal-alternation regex; top-level `any` under each branch), so rules that select no traffic cost a hash probe, not a predicate; payload shape checked by hand (zod only to explain a failure); events sorted only when out of order; calendar fields computed once per hour; the in-memory store reads window ranges bucket by bucket and keeps one batch id per counter unless a second arrives; distinct-value sets are not rewritten when a batch adds nothing new. ' +
    '`test/evaluator-equivalence.test.ts` checks that the indexed detector decides exactly what the plain one (every rule on every event) decides, store calls included, on this workload with 300 rules and on the demo.',
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
  '### The packed state layout: before and after (built this stop)',
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
        'one item per rule, entity and bucket (the per-key layout, before this stop)',
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
  'A layout that packs without the costs above: per rule and slot of ten buckets, one item holds every entity’s counts (or set members) while it stays under one write unit (1 KB), beside the ids of the batches that changed it (so a retried batch adds nothing, as today’s counter items keep theirs); an entity that does not fit keeps an item of its own for that slot, as every entity does today. A batch writes the packed item once, if it placed something in it, and each spilled entity’s item as today — so it never writes more than today (every packed write stands for at least one entity that today writes alone), a write never costs more than one unit, and a read of the window is the packed items (a unit each) and the spilled entities’ items. Light traffic, where today’s layout costs the most per event, gains the most; under sustained load an item fills (with entities and batch ids) and what it held spills, which costs what today’s layout does. The estimate replays each workload’s counter and set writes into that layout (bench/write-mix.ts `SpillPacked`; sequence steps, which keep their latest event beside the set, stay per entity). This stop built a simpler form of it (the section above): an item that is full continues in a next packed item instead of spilling its entities to items of their own, and entities are spread over shards, so a rule’s busiest slot is not one partition’s writes; the estimate counted a batch’s packed writes once per item, the build once per chunk of at most half a unit.',
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
writeFileSync('bench/results.md', report);
log('wrote bench/results.md');
if (noiseNote !== '') log(`noise-bound run: ${implausible.join('; ')} — run it again`);

// Every payload must have its own batch id, or receipts would answer for the wrong batch.
if (new Set(payloads.map(batchIdOf)).size !== payloads.length) throw new Error('workload payloads share batch ids');
