import { SkipLedger } from '../decode/skips';
import { Detector } from '../engine/detector';
import { DEFAULT_DIGEST_INTERVAL_MS } from '../engine/digests';
import type { ExceptionSource } from '../engine/exceptions';
import { SWEEP_PERIOD_MS } from '../engine/lifecycle';
import { batchIdOf, processPayloadInSpans } from '../engine/pipeline';
import type { CorrelationSink } from '../engine/ports';
import type { StateStore } from '../engine/state-store';
import { flushDigests, sweep } from '../engine/sweeper';
import type { LearningScope } from '../engine/term-learning';
import { Normalizer } from '../parse/normalize';
import { ParseStats } from '../parse/parse-stats';
import type { RulePack } from '../rules/rule-pack';
import type { Alert, Message } from '../schema/alert';
import { type ReplayInputOptions, type ReplayItem, readReplayInput } from './replay-input';

export interface ReplayStats {
  payloads: number;
  eventsIn: number;
  eventsProcessed: number;
  matchedEvents: number;
  /** Lifecycle messages the detector decided, silent updates included. */
  decided: number;
  /** Messages that only updated a condition (nobody told). */
  updates: number;
  /** New terms new-term rules learned without an alert, in their learning period (`--learn`). */
  learnedTerms: number;
  /** Rule matches exceptions left out (`--exceptions`). */
  exceptedEvents: number;
  /** Alerts that would be published, by kind and status (`--out` holds exactly these). */
  published: number;
  publishedByStatus: Record<string, number>;
  digests: number;
  /** Payloads seen before (same batch id), answered from their receipt. */
  redelivered: number;
  /** Payloads seen before that had decided nothing (so left no receipt) and decided nothing again. */
  repeatedUndecided: number;
  /**
   * Payloads seen before, without a receipt, that decided something the second time: possible only
   * when later batches changed the state they were decided over (the soak expects none).
   */
  redecided: number;
  skips: SkipLedger;
  /** Parsed / unparsed events per log group and the shapes nothing understood. */
  parse: ParseStats;
}

/** A run's figures before its first payload. */
export function emptyReplayStats(): ReplayStats {
  return {
    payloads: 0,
    eventsIn: 0,
    eventsProcessed: 0,
    matchedEvents: 0,
    decided: 0,
    updates: 0,
    learnedTerms: 0,
    exceptedEvents: 0,
    published: 0,
    publishedByStatus: {},
    digests: 0,
    redelivered: 0,
    repeatedUndecided: 0,
    redecided: 0,
    skips: new SkipLedger(),
    parse: new ParseStats(),
  };
}

export interface ReplayOptions extends ReplayInputOptions {
  pack: RulePack;
  store: StateStore;
  sink: CorrelationSink;
  onAlert: (alert: Alert) => void | Promise<void>;
  region?: string;
  digestInterval?: number;
  /** How long a page stands for its entity (src/engine/page-fold.ts); 0: every respond-tier alert pages. */
  pageFoldWindow?: number;
  /** Alerts of one rule told one by one per outbreak window (src/engine/outbreak.ts); 0: every one. */
  outbreakAfter?: number;
  /** How long new-term rules only learn after first seeing an account's logs (src/engine/term-learning.ts); default none. */
  newTermLearning?: number;
  /** Whose first week new-term rules learn in (the deployment's `newTermLearningScope`; default owner). */
  newTermLearningScope?: LearningScope;
  /** The team's time zone, as the deployment's `timeZone` (`event.hour_local`); default UTC. */
  timeZone?: string;
  /** Exceptions to apply, as a deployment with them would (src/engine/exceptions.ts). */
  exceptions?: ExceptionSource;
  /** Event time between sweeps (resolution, digests): the deployed schedule runs every 5 minutes. */
  sweepEvery?: number;
}

/** Across a gap in event time, the sweeper catches up in steps this long: well inside the late-arrival grace (24 h). */
const CATCH_UP_STEP_MS = 6 * 3_600_000;
/**
 * Steps of a catch-up at most (30 days): by then every digest, resolution and absence due in the
 * gap has been decided and the state it read has expired, so one sweep at the far side of the
 * gap does the rest. Stepping all the way across a payload's time of year 9999 took hours.
 */
const MAX_CATCH_UP_STEPS = 120;

/**
 * Runs the whole detection path over replay input: the same code the detector Lambda runs, and
 * the sweeper, whose clock here is event time: it runs whenever the newest event seen crosses a
 * sweep boundary. At the end of the input, conditions quiet for long enough (as of the last
 * event) are resolved; the others could still be active and stay open. Pending digests are
 * published, so nothing decided is left unsaid.
 */
export async function replay(paths: readonly string[], options: ReplayOptions): Promise<ReplayStats> {
  return replayItems(readReplayInput(paths, options), options);
}

/** The same run over payloads from anywhere (files, or history pulled from CloudWatch Logs by `detect backtest`). */
export async function replayItems(
  items: AsyncIterable<ReplayItem>,
  options: Omit<ReplayOptions, keyof ReplayInputOptions>,
): Promise<ReplayStats> {
  const normalizer = new Normalizer(options.pack.sources, options.timeZone ? { timeZone: options.timeZone } : {});
  const digestInterval = options.digestInterval ?? DEFAULT_DIGEST_INTERVAL_MS;
  // The sweeper's clock: the newest event time seen so far.
  let clock = Number.NEGATIVE_INFINITY;
  const detector = new Detector(options.pack, options.store, {
    // A stream delivered behind the others is delivered at the clock's time, as in AWS.
    deliveryClock: () => clock,
    region: options.region,
    digestInterval,
    ...(options.pageFoldWindow !== undefined ? { pageFoldWindow: options.pageFoldWindow } : {}),
    ...(options.outbreakAfter !== undefined ? { outbreakAfter: options.outbreakAfter } : {}),
    ...(options.newTermLearning !== undefined ? { newTermLearning: options.newTermLearning } : {}),
    ...(options.newTermLearningScope ? { newTermLearningScope: options.newTermLearningScope } : {}),
    ...(options.exceptions ? { exceptions: options.exceptions } : {}),
  });
  const every = options.sweepEvery ?? SWEEP_PERIOD_MS;
  const stats = emptyReplayStats();
  const emit = async (alerts: readonly Alert[]) => {
    for (const alert of alerts) {
      stats.published++;
      const label = alert.kind === 'digest' ? 'digest' : `${alert.kind} ${alert.status}`;
      stats.publishedByStatus[label] = (stats.publishedByStatus[label] ?? 0) + 1;
      if (alert.kind === 'digest') stats.digests++;
      await options.onAlert(alert);
    }
  };
  const sweepDeps = {
    store: options.store,
    pack: options.pack,
    ctx: { region: options.region ?? 'us-east-1' },
    send: async (messages: Message[]) => emit(await options.sink.send(messages)),
    // The detector above notes its deliveries on the replay's clock.
    deliveriesNoted: true,
    terms: {
      digestInterval,
      ...(options.pageFoldWindow !== undefined ? { pageFoldWindow: options.pageFoldWindow } : {}),
      ...(options.outbreakAfter !== undefined ? { outbreakAfter: options.outbreakAfter } : {}),
    },
  };
  let nextSweep = Number.NEGATIVE_INFINITY;
  // Payloads seen in this run (by batch id): a repeat without a receipt must decide nothing again.
  const seen = new Set<string>();
  for await (const item of items) {
    if (item.kind === 'skip') {
      stats.skips.add(item.skip);
      stats.eventsIn += item.skip.events;
      continue;
    }
    stats.payloads++;
    // Cut into runs of the sweep's period of event time, sweeping between them, as the deployed
    // detector sees a stream: a file's 500 lines can span weeks (see processPayloadInSpans).
    let redelivered = false;
    let decided = 0;
    await processPayloadInSpans(item.payload, normalizer, detector, every, {
      before: async (runStart) => {
        // Event time jumped (a quiet spell in the file): the sweeper would have run meanwhile, and
        // digests due then must go out before their entries pass the late-arrival grace.
        if (!Number.isFinite(clock)) return;
        let steps = 0;
        for (let at = clock + CATCH_UP_STEP_MS; at < runStart; at += CATCH_UP_STEP_MS) {
          if (++steps > MAX_CATCH_UP_STEPS) at = runStart - 1; // the last step, at the far side
          await sweep(sweepDeps, at);
          clock = at;
          nextSweep = (Math.floor(clock / every) + 1) * every;
        }
        // The run is delivered when it starts, as the first lines after a quiet spell are: the
        // last catch-up sweep may be hours before it, and a run delivered at that time would read
        // as a log running hours ahead of its delivery.
        if (runStart > clock) clock = runStart;
      },
      after: async (result) => {
        stats.eventsIn += result.eventsIn;
        stats.eventsProcessed += result.eventsProcessed;
        stats.matchedEvents += result.matchedEvents;
        redelivered ||= result.redelivered;
        decided += result.messages.length;
        stats.skips.merge(result.skips);
        stats.parse.merge(result.parse);
        stats.decided += result.messages.length;
        stats.updates += result.messages.filter((m) => !m.publish && !m.digest && m.correlate).length;
        stats.learnedTerms += result.learnedTerms;
        stats.exceptedEvents += result.exceptedEvents;
        if (result.messages.length > 0) await emit(await options.sink.send(result.messages));
        if (result.latestEventTime > clock) clock = result.latestEventTime;
        if (clock >= nextSweep) {
          await sweep(sweepDeps, clock);
          nextSweep = (Math.floor(clock / every) + 1) * every;
        }
      },
    });
    const id = batchIdOf(item.payload);
    if (redelivered) stats.redelivered++;
    else if (seen.has(id)) {
      if (decided === 0) stats.repeatedUndecided++;
      else stats.redecided++;
    }
    seen.add(id);
  }
  if (Number.isFinite(clock)) {
    await sweep(sweepDeps, clock);
    await flushDigests(sweepDeps, clock);
  }
  return stats;
}
