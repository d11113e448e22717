import { z } from 'zod';
import { accountAttribute } from '../engine/entity-scope';
import { RuleRef, refMatches } from '../rules/rule-ref';
import type { Alert } from '../schema/alert';

/**
 * A team's own PagerDuty service (a route with `pagerDutyRoutingKeySecret`): the alerts its
 * forwarder's subscription takes — the route's paging tiers, its accounts and its rules (with the
 * correlations they feed, expanded at synth), as the SNS filter policy on the `account` and
 * `ruleId` attributes selects them (infra/constructs/alert-topics.ts, routeFilter).
 *
 * With `pagerDuty.leaveTeamPages`, the deployment's own PagerDuty forwarder is bundled with these
 * and leaves to the team what the team's service pages for: one page, the owning team's.
 */
export const TeamPager = z.strictObject({
  /** The route's name, for the forwarder's log line. */
  name: z.string().min(1).optional(),
  tiers: z.array(z.enum(['notify', 'respond'])).min(1),
  accounts: z.array(z.string()).min(1).optional(),
  rules: z.array(RuleRef).min(1).optional(),
});
export type TeamPager = z.infer<typeof TeamPager>;

export const TeamPagers = z.array(TeamPager);

/** What a config route selects, as far as its pager is concerned. */
interface PagingRoute {
  name?: string | undefined;
  accounts?: readonly string[] | undefined;
  rules?: readonly string[] | undefined;
  tiers: readonly ('review' | 'notify' | 'respond')[];
  pagerDutyRoutingKeySecret?: string | undefined;
}

/** The team pagers of a config's routes (those with a PagerDuty service of their own), on their paging tiers. */
export function teamPagersOf(routes: readonly PagingRoute[]): TeamPager[] {
  return routes.flatMap((route) =>
    route.pagerDutyRoutingKeySecret === undefined
      ? []
      : [
          {
            ...(route.name ? { name: route.name } : {}),
            tiers: route.tiers.filter((t): t is 'notify' | 'respond' => t !== 'review'),
            ...(route.accounts ? { accounts: [...route.accounts] } : {}),
            ...(route.rules ? { rules: [...route.rules] } : {}),
          },
        ],
  );
}

/** The file the stack bundles the team pagers in, next to the forwarder's handler (routes' account lists outgrow Lambda's 4 KB of environment). */
export const TEAM_PAGERS_FILE = 'team-pagers.json';

/**
 * The team pager whose subscription takes this message, if any: its tier among the pager's
 * tiers, its `account` attribute among the pager's accounts (when it names any) and its rule
 * matching one of the pager's rules (when it names any) — SNS's own test of the filter policy.
 */
export function teamPagerOf(
  alert: Pick<Alert, 'tier' | 'ruleId' | 'cloud' | 'entity'>,
  pagers: readonly TeamPager[],
): TeamPager | undefined {
  if (pagers.length === 0 || alert.tier === 'review') return undefined;
  const account = accountAttribute(alert);
  return pagers.find(
    (p) =>
      p.tiers.some((tier) => tier === alert.tier) &&
      (!p.accounts || p.accounts.includes(account)) &&
      (!p.rules || p.rules.some((ref) => refMatches(ref, alert.ruleId))),
  );
}
