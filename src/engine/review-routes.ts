import { createHash } from 'node:crypto';
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
  /** The `route` message attribute of its digests: made from what the route selects (routeId). */
  id: z.string().regex(/^r-[0-9a-f]{12}$/),
  /** What the digest's title says it covers: the route's name, else its accounts and rules (`111122223333`, `web.*`). */
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

/** What a route selects, as the config gives it. */
interface RouteSelection {
  name?: string | undefined;
  accounts?: readonly string[] | undefined;
  rules?: readonly string[] | undefined;
  tiers: readonly string[];
}

/**
 * A route's id in the `route` attribute: a digest of what it selects, so reordering the config's
 * routes renames nothing, and two routes that select the same share one digest.
 */
export function routeId(route: Pick<RouteSelection, 'accounts' | 'rules'>): string {
  const selection = JSON.stringify([[...(route.accounts ?? [])].sort(), [...(route.rules ?? [])].sort()]);
  return `r-${createHash('sha256').update(selection).digest('hex').slice(0, 12)}`;
}

/** The review routes of a config's routes (one per selection: routes that select the same share its digest). */
export function reviewRoutesOf(routes: readonly RouteSelection[]): ReviewRoute[] {
  const byId = new Map<string, ReviewRoute>();
  for (const route of routes) {
    if (!route.tiers.includes('review')) continue;
    const id = routeId(route);
    const known = byId.get(id);
    if (known) {
      if (route.name && !known.label.split(', ').includes(route.name)) known.label = `${known.label}, ${route.name}`;
      continue;
    }
    const selected = [...(route.accounts ?? []), ...(route.rules ?? [])];
    const label =
      route.name ?? (selected.length > 3 ? `${selected.slice(0, 3).join(', ')} and ${selected.length - 3} more` : selected.join(', '));
    byId.set(id, {
      id,
      label,
      ...(route.accounts ? { accounts: [...route.accounts] } : {}),
      ...(route.rules ? { rules: [...route.rules] } : {}),
    });
  }
  return [...byId.values()];
}
