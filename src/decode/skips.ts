/** Why an input was skipped. Every skipped payload or event is counted under one of these. */
export const SKIP_REASONS = [
  'not_base64',
  'not_gzip',
  'not_json',
  'bad_shape',
  'binary_message',
  'oversized_message',
  'malformed_json',
  'unreadable_line',
  'too_large',
  'internal_error',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface Skip {
  reason: SkipReason;
  /** Where: log group/stream and event id, or input file and line. */
  where: string;
  detail: string;
  /** How many log events the skip dropped (a bad payload drops all of its events). */
  events: number;
}

/** Tallies skips by reason and keeps the first few for the report. */
export class SkipLedger {
  readonly counts = new Map<SkipReason, number>();
  readonly samples: Skip[] = [];
  events = 0;

  constructor(private readonly maxSamples = 20) {}

  add(skip: Skip): void {
    this.counts.set(skip.reason, (this.counts.get(skip.reason) ?? 0) + 1);
    this.events += skip.events;
    if (this.samples.length < this.maxSamples) this.samples.push(skip);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  merge(other: SkipLedger): void {
    for (const [reason, count] of other.counts) this.counts.set(reason, (this.counts.get(reason) ?? 0) + count);
    this.events += other.events;
    for (const s of other.samples) if (this.samples.length < this.maxSamples) this.samples.push(s);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
