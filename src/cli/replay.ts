import { SkipLedger } from '../decode/skips';
import { Detector } from '../engine/detector';
import { processPayload } from '../engine/pipeline';
import type { CorrelationSink } from '../engine/ports';
import type { StateStore } from '../engine/state-store';
import { Normalizer } from '../parse/normalize';
import { ParseStats } from '../parse/parse-stats';
import type { RulePack } from '../rules/rule-pack';
import type { Alert } from '../schema/alert';
import { type ReplayInputOptions, readReplayInput } from './replay-input';

export interface ReplayStats {
  payloads: number;
  eventsIn: number;
  eventsProcessed: number;
  matchedEvents: number;
  detections: number;
  published: number;
  /** Payloads seen before (same batch id), answered from their receipt. */
  redelivered: number;
  skips: SkipLedger;
  /** Parsed / unparsed events per log group and the shapes nothing understood. */
  parse: ParseStats;
}

export interface ReplayOptions extends ReplayInputOptions {
  pack: RulePack;
  store: StateStore;
  sink: CorrelationSink;
  onAlert: (alert: Alert) => void | Promise<void>;
  region?: string;
}

/** Runs the whole detection path over replay input: the same code the detector Lambda runs. */
export async function replay(paths: readonly string[], options: ReplayOptions): Promise<ReplayStats> {
  const normalizer = new Normalizer(options.pack.sources);
  const detector = new Detector(options.pack, options.store, { region: options.region });
  const stats: ReplayStats = {
    payloads: 0,
    eventsIn: 0,
    eventsProcessed: 0,
    matchedEvents: 0,
    detections: 0,
    published: 0,
    redelivered: 0,
    skips: new SkipLedger(),
    parse: new ParseStats(),
  };
  for await (const item of readReplayInput(paths, options)) {
    if (item.kind === 'skip') {
      stats.skips.add(item.skip);
      stats.eventsIn += item.skip.events;
      continue;
    }
    stats.payloads++;
    const result = await processPayload(item.payload, normalizer, detector);
    stats.eventsIn += result.eventsIn;
    stats.eventsProcessed += result.eventsProcessed;
    stats.matchedEvents += result.matchedEvents;
    if (result.redelivered) stats.redelivered++;
    stats.skips.merge(result.skips);
    stats.parse.merge(result.parse);
    stats.detections += result.alerts.length;
    if (result.alerts.length > 0) {
      for (const alert of await options.sink.send(result.alerts)) {
        stats.published++;
        await options.onAlert(alert);
      }
    }
  }
  return stats;
}
