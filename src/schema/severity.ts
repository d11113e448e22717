import { z } from 'zod';

export const Severity = z.enum(['info', 'low', 'medium', 'high', 'critical']);
export type Severity = z.infer<typeof Severity>;

export const Tier = z.enum(['review', 'notify', 'respond']);
export type Tier = z.infer<typeof Tier>;

/**
 * Severity → tier, from incident-response practice: low findings are kept for review,
 * medium ones notify the owning team, high and critical page a responder.
 */
export function tierFor(severity: Severity): Tier {
  switch (severity) {
    case 'info':
    case 'low':
      return 'review';
    case 'medium':
      return 'notify';
    case 'high':
    case 'critical':
      return 'respond';
  }
}

const ORDER: readonly Severity[] = Severity.options;
export function severityRank(severity: Severity): number {
  return ORDER.indexOf(severity);
}

/** review < notify < respond: how urgently a tier asks for a person. */
export function tierRank(tier: Tier): number {
  return Tier.options.indexOf(tier);
}
