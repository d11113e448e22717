import { type AlertContext, buildResolvedAlert, lifecycleOf } from '../alerts/build';
import { buildDigestAlert } from '../alerts/digest';
import type { RulePack } from '../rules/rule-pack';
import type { Message } from '../schema/alert';
import { type AbsenceSweep, checkAbsence, isWatchKey } from './absence';
import { detectionPolicy, incidentPolicy, openingWindow, ruleAtStep } from './alert-policy';
import { parseCondition, writeCondition } from './conditions';
import { type Backlog, readBacklog } from './delivery-lag';
import { DigestHead, isDigestHead, readDigestEntries, readDigestedSince } from './digests';
import { type ActiveException, activeException, readExceptions } from './exceptions';
import {
  type ConditionState,
  DEFAULT_FLAP_GRACE,
  DEFAULT_REPEAT_INTERVAL,
  type Emission,
  isPublished,
  steppedUp as isSteppedUp,
  type LifecyclePolicy,
  MIN_RESOLVE_AFTER,
  policyAtTier,
  resolveIfQuiet,
  resolveWith,
} from './lifecycle';
import { heldPolicy, type OutbreakDecision, outbreakOf } from './outbreak';
import { type ReviewRoute, routeTakes } from './review-routes';
import { type DocKey, docId, type StateStore, type StoredDoc } from './state-store';
import { type AlertTerms, alertTerms, detectionMessage } from './telling';

export interface SweepDeps {
  store: StateStore;
  pack: Pick<RulePack, 'rules' | 'correlations'>;
  ctx: AlertContext;
  /** Hands messages to the publisher; throws when they could not be delivered (the sweep retries them next time). */
  send: (messages: Message[]) => Promise<void>;
  /** Routes that take the review tier: each gets its own digest of the detections it selects. */
  reviewRoutes?: readonly ReviewRoute[];
  /**
   * The detectors note how late their deliveries arrive (they have a delivery clock, as deployed
   * and in a replay; src/engine/delivery-lag.ts): an absence is then told with how many
   * deliveries reached them meanwhile — none says the pipeline, not the source, may be down.
   */
  deliveriesNoted?: boolean;
  /** The longest a delivery can wait in this deployment's pipeline (default 6 hours: Lambda's asynchronous queue). */
  maxDeliveryLag?: number;
  /** How alerts are told (page folding, outbreaks, digests), as the detector's settings say; the detector's defaults otherwise. */
  terms?: Partial<AlertTerms>;
}

export interface SweepResult {
  resolved: number;
  digests: number;
  messages: Message[];
}

/** Due documents read and handled per page of a sweep. */
const SWEEP_LIMIT = 500;
/**
 * Pages one sweep takes at most while pages come back full: a fleet going quiet at once, or a
 * flood's thousands of sources resolving, is handled in one run rather than 500 every 5 minutes
 * (which held up every digest and resolution behind them). The bound caps one run's work where no
 * time budget is given (a replay's sweeps).
 */
const MAX_PAGES = 20;
/**
 * Documents of a page handled at once. One at a time, at a few hundred milliseconds per
 * synchronous state-machine execution, a page of 500 resolutions to tell would outlast the
 * function's two-minute timeout; ten at once stay well inside DynamoDB's and Step Functions' rates.
 */
const SWEEP_CONCURRENCY = 10;

export interface SweepOptions {
  /** Documents per page (tests make it small). */
  limit?: number;
  /** Asked before each further page and each further group of a page: false leaves the rest for the next run (the function's time budget). */
  more?: () => boolean;
}

/**
 * Resolution needs a clock. The sweep (a scheduled Lambda every 5 minutes in AWS; in replay,
 * advanced on event time) finds open conditions past `resolveAfter`, intervals whose digest
 * is due and absence rules' watches past their deadline (src/engine/absence.ts), and publishes them. A resolved notice is written to the condition first (an outbox),
 * delivered, then cleared: if delivery fails, the next sweep delivers it again, and the state
 * machine's message dedup makes a repeat harmless. Due documents are read a page at a time,
 * oldest first, page after page while they come back full (see MAX_PAGES and `more`); one that
 * expired while due is taken off the list, or it would fill the first page of every run. A page is
 * handled ten documents at a time (see SWEEP_CONCURRENCY), its messages kept in page order.
 */
export async function sweep(deps: SweepDeps, now: number, options: SweepOptions = {}): Promise<SweepResult> {
  const limit = options.limit ?? SWEEP_LIMIT;
  const result: SweepResult = { resolved: 0, digests: 0, messages: [] };
  const policies = new Policies(deps.pack);
  let exceptions: Promise<readonly ActiveException[]> | undefined;
  let backlog: Promise<Backlog> | undefined;
  const absence: AbsenceSweep = {
    store: deps.store,
    rules: deps.pack.rules,
    ctx: deps.ctx,
    terms: alertTerms(deps.terms),
    backlog: () => {
      backlog ??= readBacklog(deps.store, now, deps.maxDeliveryLag);
      return backlog;
    },
    deliveriesNoted: deps.deliveriesNoted === true,
    exceptions: () => {
      exceptions ??= readExceptions(deps.store, now).then((list) => list.map(({ spec }) => activeException(spec)));
      return exceptions;
    },
    send: deps.send,
    resolve: (condition, note, at) => resolveNow(deps, policies, condition, note, at),
    resolved: (state, e) => resolvedMessage(deps, state, e, policies),
  };
  // Handled in this sweep: one still listed (a lost race, an expired document) is not handled twice.
  const handled = new Set<string>();
  const more = options.more ?? (() => true);
  for (let page = 0; page < MAX_PAGES; page++) {
    if (page > 0 && !more()) break;
    const listed = await deps.store.listDue(now, limit);
    const due = listed.filter((key) => !handled.has(docId(key)));
    for (const key of due) handled.add(docId(key));
    const finished = await sweepPage(deps, { policies, absence }, due, now, result, more);
    if (!finished || listed.length < limit || due.length === 0) break;
  }
  return result;
}

/**
 * One page of due documents, handled into `result`, a group of SWEEP_CONCURRENCY at a time; `more`
 * is asked before each further group. Returns false when it stopped before the page's end (what
 * is left stays due: the next run lists it again).
 */
async function sweepPage(
  deps: SweepDeps,
  { policies, absence }: { policies: Policies; absence: AbsenceSweep },
  due: readonly DocKey[],
  now: number,
  result: SweepResult,
  more: () => boolean,
): Promise<boolean> {
  if (due.length === 0) return true;
  const docs = await deps.store.readDocs(due, now);
  // Listed but gone for readers: expired while nothing swept it (the sweeper down, or behind).
  const stale = due.filter((key) => !docs.has(docId(key)));
  if (stale.length > 0) await deps.store.dropDue(stale, now);
  // Each document's messages in its place on the page: the same order however the calls complete.
  const told: Message[][] = [];
  let finished = true;
  for (let start = 0; start < due.length; start += SWEEP_CONCURRENCY) {
    if (start > 0 && !more()) {
      finished = false;
      break;
    }
    const group = due.slice(start, start + SWEEP_CONCURRENCY);
    // Absence watches one after another, in page order: their alerts claim their rule's outbreak
    // (src/engine/outbreak.ts), and which of a fleet's hosts are told must not depend on timing.
    // Conditions and digests are each their own document, written under its own version: at once.
    const watches = async () => {
      for (const [i, key] of group.entries()) {
        const doc = docs.get(docId(key));
        if (doc && isWatchKey(key)) told[start + i] = await checkAbsence(absence, key, doc, now);
      }
    };
    const others = group.map(async (key, i) => {
      const doc = docs.get(docId(key));
      if (doc && !isWatchKey(key)) told[start + i] = await sweepDoc(deps, policies, key, doc, now, result);
    });
    // Every call of the group settles before a failure is thrown: none is left running behind the sweep.
    const settled = await Promise.allSettled([watches(), ...others]);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  }
  for (const messages of told) if (messages) result.messages.push(...messages);
  return finished;
}

/** A due condition or digest head: what it tells (a resolution, a digest), after writing what it decided. */
async function sweepDoc(
  deps: SweepDeps,
  policies: Policies,
  key: DocKey,
  doc: StoredDoc,
  now: number,
  result: SweepResult,
): Promise<Message[]> {
  if (isDigestHead(key)) {
    const sent = await publishDigest(deps, key, doc.body, doc.version, now);
    result.digests += sent.length;
    return sent;
  }
  const state = parseCondition(doc, key);
  if (!state) return [];
  const policy = policies.for(state);
  if (state.pending) return [await tellPending(deps, key, state, state.pending, policies, doc.version, now)];
  const resolved = resolveIfQuiet(state, policy, now);
  // A held alert (src/engine/outbreak.ts) was never told: neither is its end.
  const publish = resolved !== undefined && isPublished('resolved', heldPolicy(policy, policies.heldBy(state, resolved.alertId)));
  if (resolved && publish) state.pending = resolved;
  // Written first (or, when not yet quiet, to correct the due time): a lost race leaves it to the next sweep.
  if (!(await writeCondition(deps.store, key, state, policy, doc.version, now))) return [];
  if (!resolved) return [];
  result.resolved++;
  if (!publish) return [];
  return [await tellPending(deps, key, state, resolved, policies, doc.version + 1, now)];
}

/** Delivers a condition's resolved notice (its outbox), then clears the outbox; a failed delivery stays for the next sweep. */
async function tellPending(
  deps: SweepDeps,
  key: DocKey,
  state: ConditionState,
  pending: Emission,
  policies: Policies,
  version: number,
  now: number,
): Promise<Message> {
  const policy = policies.for(state);
  const msg = resolvedMessage(deps, state, pending, policies);
  await deps.send([msg]);
  delete state.pending;
  await writeCondition(deps.store, key, state, policy, version, now);
  return msg;
}

/** Resolves an open condition now for the reason `note` gives (an absence's events came back), through the outbox. */
async function resolveNow(deps: SweepDeps, policies: Policies, key: DocKey, note: string, at: number): Promise<Message[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const doc = (await deps.store.readDocs([key], at)).get(docId(key));
    const state = parseCondition(doc, key);
    if (!doc || !state) return [];
    const policy = policies.for(state);
    const resolved = resolveWith(state, at, note);
    if (!resolved) return [];
    const publish = isPublished('resolved', heldPolicy(policy, policies.heldBy(state, resolved.alertId)));
    if (publish) state.pending = resolved;
    // Lost to a racing writer: read again and decide again.
    if (!(await writeCondition(deps.store, key, state, policy, doc.version, at))) continue;
    return publish ? [await tellPending(deps, key, state, resolved, policies, doc.version + 1, at)] : [];
  }
  return [];
}

function resolvedMessage(deps: SweepDeps, state: ConditionState, e: Emission, policies: Policies): Message {
  const detection = deps.pack.rules.find((r) => r.id === state.ruleId);
  // An escalated alert's end is told as it stood: its step's severity.
  const shown = detection && policies.steppedUp(state) ? ruleAtStep(detection) : detection;
  const rule = shown ?? deps.pack.correlations.find((r) => r.id === state.ruleId);
  const alert = buildResolvedAlert(
    {
      rule: rule ?? {
        id: state.ruleId,
        description: 'The rule that raised this alert is no longer in the pack.',
        severity: 'medium',
        riskScore: 0,
        tags: [],
        runbook: '',
        tier: state.tier,
      },
      kind: state.kind,
      entity: state.entity,
      title: state.title,
      logGroups: state.logGroups,
      ...(state.cloud ? { cloud: state.cloud } : {}),
      lastSeen: e.lastSeen,
      resolvedAt: e.at,
      ...(rule ? { openingWindow: openingWindow(rule) } : {}),
      lifecycle: lifecycleOf(e),
      ...(e.note === undefined ? {} : { note: e.note }),
      ...(rule && 'absence' in rule && rule.absence ? { absence: { afterMs: rule.absence.after } } : {}),
    },
    deps.ctx,
  );
  // A folded alert's notice goes where its opening went: the notify tier, not a page.
  return detectionMessage(alert, { ...e, status: 'resolved' }, state, policies.for(state), policies.steppedUp(state));
}

async function publishDigest(deps: SweepDeps, key: DocKey, body: string, version: number, now: number): Promise<Message[]> {
  const head = DigestHead.parse(JSON.parse(body));
  const entries = await readDigestEntries(deps.store, key.pk, now);
  const messages: Message[] = [];
  if (entries.length > 0) {
    const since = await readDigestedSince(deps.store, entries, now);
    const alert = buildDigestAlert({ start: head.start, end: head.end, entries, since }, deps.ctx);
    // Entries that arrive after publication re-arm the head: the next digest of the interval is a new message.
    messages.push({ alert, key: `${key.pk}#${entries.length}`, publish: true, digest: false, correlate: false });
    for (const route of deps.reviewRoutes ?? []) {
      const taken = entries.filter((e) => routeTakes(route, e));
      if (taken.length === 0) continue;
      // Keyed by the route's own count: a late entry of another team's re-publishes only the digests it is in.
      messages.push({
        alert: buildDigestAlert({ start: head.start, end: head.end, entries: taken, route, since }, deps.ctx),
        key: `${key.pk}#${route.id}#${taken.length}`,
        publish: true,
        digest: false,
        correlate: false,
        route: route.id,
      });
    }
    await deps.send(messages);
  }
  await deps.store.writeDoc({ ...key, body, ifVersion: version, now, expiresAt: head.end + 86_400_000 });
  return messages;
}

/** Lifecycle policies by rule id; a condition whose rule left the pack resolves on the defaults of its tier. */
class Policies {
  private readonly cache = new Map<string, LifecyclePolicy>();
  constructor(private readonly pack: Pick<RulePack, 'rules' | 'correlations'>) {}

  /** The policy of the condition's rule, as it applies at the tier the condition stands at (an escalation step's). */
  for(state: ConditionState): LifecyclePolicy {
    return policyAtTier(this.ofRule(state), state.tier);
  }

  /** The condition stepped up to its rule's escalation step: its rule's outbreak does not hold it. */
  steppedUp(state: ConditionState): boolean {
    return isSteppedUp(this.ofRule(state), state.tier);
  }

  /** The outbreak decision that holds the alert, if one does. */
  heldBy(state: ConditionState, alertId: string): OutbreakDecision | undefined {
    return this.steppedUp(state) ? undefined : outbreakOf(state.outbreaks, alertId);
  }

  private ofRule(state: ConditionState): LifecyclePolicy {
    const cached = this.cache.get(state.ruleId);
    if (cached) return cached;
    const detection = this.pack.rules.find((r) => r.id === state.ruleId);
    const correlation = this.pack.correlations.find((r) => r.id === state.ruleId);
    const policy = detection
      ? detectionPolicy(detection)
      : correlation
        ? incidentPolicy(correlation)
        : {
            tier: state.tier,
            repeatInterval: DEFAULT_REPEAT_INTERVAL[state.tier],
            resolveAfter: MIN_RESOLVE_AFTER,
            flapGrace: DEFAULT_FLAP_GRACE,
            refresh: 0,
            notifyResolved: false,
          };
    this.cache.set(state.ruleId, policy);
    return policy;
  }
}

/**
 * Publishes every pending digest now, due or not: the end of a replay, where the input is over and
 * an unfinished interval will not receive more.
 */
export async function flushDigests(deps: SweepDeps, now: number): Promise<number> {
  // Every document with a due time, not a page: open conditions due before an interval's end
  // would otherwise crowd its head out of the list, and its detections out of the output.
  let limit = SWEEP_LIMIT;
  let listed = await deps.store.listDue(Number.MAX_SAFE_INTEGER, limit);
  while (listed.length === limit) {
    limit *= 4;
    listed = await deps.store.listDue(Number.MAX_SAFE_INTEGER, limit);
  }
  const heads = listed.filter(isDigestHead);
  const docs = await deps.store.readDocs(heads, now);
  let published = 0;
  for (const key of heads) {
    const doc = docs.get(docId(key));
    if (doc) published += (await publishDigest(deps, key, doc.body, doc.version, now)).length;
  }
  return published;
}
