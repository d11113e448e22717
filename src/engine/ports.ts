import type { Alert } from '../schema/alert';

/**
 * Where detections go after the detector: in AWS, the Step Functions correlation state machine;
 * locally, the same state machine definition run in-process. Returns what was published
 * (the detection itself, unless deduplicated, and any incidents it completed).
 */
export interface CorrelationSink {
  send(detections: readonly Alert[]): Promise<Alert[]>;
}

/** Publishes an alert to its tier (SNS in AWS, JSONL locally). */
export interface AlertPublisher {
  publish(alert: Alert): Promise<void>;
}

/** A sink that publishes detections as they are, with no correlation (tests, `--no-correlate`). */
export class PassThroughSink implements CorrelationSink {
  async send(detections: readonly Alert[]): Promise<Alert[]> {
    return [...detections];
  }
}
