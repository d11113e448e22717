import type { Alert, Message } from '../schema/alert';

/**
 * Where decided messages go after the detector (and the sweeper): in AWS, the Step Functions
 * correlation state machine, run synchronously; locally, the same state machine definition run
 * in-process. Returns the alerts that were published (the messages themselves, when they are
 * published, and any incidents they completed). Throws when delivery failed: the caller fails
 * and is retried, and the pending → published dedup makes the retry publish exactly what is missing.
 */
export interface CorrelationSink {
  send(messages: readonly Message[]): Promise<Alert[]>;
}

export class CorrelationFailedError extends Error {
  override name = 'CorrelationFailedError';
}

/** A sink that publishes what the lifecycle says to publish, with no correlation (tests, `--no-correlate`). */
export class PassThroughSink implements CorrelationSink {
  async send(messages: readonly Message[]): Promise<Alert[]> {
    return messages.filter((m) => m.publish).map((m) => m.alert);
  }
}
