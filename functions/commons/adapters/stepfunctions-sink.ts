import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { correlationInput } from '../../../src/correlation/envelope';
import type { CorrelationSink } from '../../../src/engine/ports';
import type { Alert } from '../../../src/schema/alert';

/**
 * Sends each detection to the correlation state machine (async Express: at-least-once, so the
 * machine dedups on the detection id). A failed start throws, failing the batch so Lambda retries it.
 */
export class StepFunctionsSink implements CorrelationSink {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
    private readonly lookbackMs: number,
  ) {}

  async send(detections: readonly Alert[]): Promise<Alert[]> {
    await Promise.all(
      detections.map((d) =>
        this.client.send(
          new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, input: JSON.stringify(correlationInput(d, this.lookbackMs)) }),
        ),
      ),
    );
    return [...detections];
  }
}
