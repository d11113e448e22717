import { type SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { DEFAULT_STYLE, envelopeOf, type MessageStyle } from '../../../src/correlation/envelope';
import { CorrelationFailedError, type CorrelationSink } from '../../../src/engine/ports';
import type { Alert, Message } from '../../../src/schema/alert';

/** Executions started at once per invocation. */
const CONCURRENCY = 8;

/**
 * Hands each decided message to the correlation state machine with a synchronous Express
 * execution, so the caller knows it was published (or correlated) before it returns. A failed
 * execution throws: the detector's invocation fails and Lambda retries it; the retry finds the
 * batch receipt and re-sends the same messages, and the state machine's pending → published
 * dedup publishes only what is still missing.
 */
export class StepFunctionsSink implements CorrelationSink {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
    private readonly style: MessageStyle = DEFAULT_STYLE,
  ) {}

  async send(messages: readonly Message[]): Promise<Alert[]> {
    const work = messages.filter((m) => m.publish || m.correlate);
    const failures: string[] = [];
    for (let i = 0; i < work.length; i += CONCURRENCY) {
      await Promise.all(
        work.slice(i, i + CONCURRENCY).map(async (m) => {
          const out = await this.client.send(
            new StartSyncExecutionCommand({
              stateMachineArn: this.stateMachineArn,
              input: JSON.stringify(envelopeOf(m, undefined, this.style)),
            }),
          );
          if (out.status !== 'SUCCEEDED') failures.push(`${m.key}: ${out.status} ${out.error ?? ''} ${out.cause ?? ''}`.trim());
        }),
      );
    }
    if (failures.length > 0)
      throw new CorrelationFailedError(`${failures.length} correlation execution(s) failed: ${failures.slice(0, 3).join('; ')}`);
    return work.filter((m) => m.publish).map((m) => m.alert);
  }
}
