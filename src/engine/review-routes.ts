import { z } from 'zod';
import { refMatches } from '../rules/rule-ref';
import type { DigestEntry } from './digests';

/**
 * A team's share of the review tier (config `routes` with `review` among its tiers). The review
 * tier is one digest per interval across accounts and rules, which no SNS filter policy can cut
 * into teams' shares; so the sweep builds, beside it, one digest per route of the detections the
 * route selects, published with the route's id in the `route` attribute (the route's
 * subscription filters on it, and the review subscribers take `route: all` only).
 */
export const ReviewRoute = z.strictObject({
  /** `r<index>` of the route in the config: the `route` message attribute of its digests. */
  id: z.string().regex(/^r\d+$/),
  /** What the digest's title says it covers (`111122223333`, `web.*`). */
  label: z.string().min(1),
  accounts: z.array(z.string()).min(1).optional(),
  /** Rule ids and prefixes (`aws.*`), with the correlations their rules feed (expanded at synth). */
  rules: z.array(z.string()).min(1).optional(),
});
export type ReviewRoute = z.infer<typeof ReviewRoute>;

export const ReviewRoutes = z.array(ReviewRoute);

/** The file the stack writes the review routes to, next to the sweeper's handler (a file: 200 routes would not fit in Lambda's 4 KB of environment). */
export const REVIEW_ROUTES_FILE = 'review-routes.json';

/** Whether a route's digest lists a detection: about one of its accounts (when it names any) and from one of its rules (when it names any). */
export function routeTakes(route: ReviewRoute, entry: Pick<DigestEntry, 'ruleId' | 'account' | 'entity'>): boolean {
  const account = entry.account ?? entry.entity.account;
  if (route.accounts && (account === undefined || !route.accounts.includes(account))) return false;
  return !route.rules || route.rules.some((ref) => refMatches(ref, entry.ruleId));
}

/** A route's id in the `route` attribute: its index in the config's routes. */
export function routeId(index: number): string {
  return `r${index}`;
}

/** The review routes of a config's routes (`r<index>` ids, so they match the subscriptions made for them). */
export function reviewRoutesOf(
  routes: readonly { accounts?: readonly string[] | undefined; rules?: readonly string[] | undefined; tiers: readonly string[] }[],
): ReviewRoute[] {
  const out: ReviewRoute[] = [];
  routes.forEach((route, r) => {
    if (!route.tiers.includes('review')) return;
    const label = [...(route.accounts ?? []), ...(route.rules ?? [])];
    out.push({
      id: routeId(r),
      label: label.length > 3 ? `${label.slice(0, 3).join(', ')} and ${label.length - 3} more` : label.join(', '),
      ...(route.accounts ? { accounts: [...route.accounts] } : {}),
      ...(route.rules ? { rules: [...route.rules] } : {}),
    });
  });
  return out;
}
