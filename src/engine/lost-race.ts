/**
 * A versioned write that lost a race is decided again on a fresh read. Writers racing for one
 * document (a flood's source seen by dozens of concurrent detectors, each writing its condition)
 * collide again if they retry at once: each waits first, a random time up to a bound that doubles
 * with every loss (10 ms, 20 ms, … at most 1.28 s; "full jitter"), so they spread out. Measured on
 * dynalite with 3–7 ms round trips: of 64 concurrent batches on one entity, 52 failed after 8
 * immediate retries; with these waits and 12 attempts none of 128 failed (7.4 s for all).
 */
export function afterLostRace(attempt: number): Promise<void> {
  const bound = Math.min(MAX_WAIT_MS, BASE_WAIT_MS * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * bound));
}

/**
 * A versioned write that lost every attempt. Named, so the correlation state machine retries the
 * task that threw it (Step Functions matches a Lambda error by its name) rather than failing the
 * execution into a stack-health message: by then the racers have spread out. In a detector it
 * fails the batch, which Lambda retries.
 */
export class LostRaceError extends Error {
  override readonly name = LOST_RACE_ERROR;
}

/** The error name the state machine's retrier matches (infra/constructs/correlation.ts). */
export const LOST_RACE_ERROR = 'LostRaceError';

const BASE_WAIT_MS = 10;
const MAX_WAIT_MS = 1_280;
