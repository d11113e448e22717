import { setFlagsFromString } from 'node:v8';

/** Set to `on` to keep V8's default (allocation-site pretenuring), should a Node release regress without it. */
export const PRETENURING_ENV = 'SENTINEL_V8_PRETENURING';

export const NO_PRETENURING_FLAG = '--no-allocation-site-pretenuring';

/**
 * Turns off V8's allocation-site pretenuring for this process; returns whether it did. Called
 * once, first thing, by the detector function and the CLI (the processes that run the hot path).
 *
 * Why: V8 tags objects made at object and array literals with a memento and, at every
 * scavenge, looks up the site of each surviving object to decide whether the site should
 * allocate in the old generation. A payload's events (up to 10,000 of them) all live until the
 * payload is decided, so scavenges find many survivors. Without it the benchmark workload went
 * through decoding and normalization about a third faster and through the whole 100-rule path
 * about a tenth faster (bench/history.md has the alternated runs); payloads of ten events or
 * fewer were unchanged. Pretenuring is a heuristic: without it objects are allocated young and
 * promoted when they survive, as for any other object. Node keeps `v8.setFlagsFromString`
 * working after start-up (it does not freeze V8's flags; measured on Node 20.20 and on 22.23, the
 * functions' runtime); if a runtime ever refuses the flag, the process runs with V8's default.
 */
export function disablePretenuring(
  env: Readonly<Record<string, string | undefined>> = process.env,
  setFlags: (flags: string) => void = setFlagsFromString,
): boolean {
  if (env[PRETENURING_ENV]?.trim().toLowerCase() === 'on') return false;
  try {
    setFlags(NO_PRETENURING_FLAG);
    return true;
  } catch {
    return false;
  }
}
