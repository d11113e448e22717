import { terminalSafeJson } from '../alerts/plain-text';
import type { ReplayStats } from '../cli/replay';
import { scopedKey } from '../engine/entity-scope';
import type { RulePack } from '../rules/rule-pack';
import type { Message } from '../schema/alert';
import { aboutUsd, type StateCost, usd } from './state-cost';

/** What a rule would have done over the backtested history. */
export interface RuleReport {
  ruleId: string;
  title: string;
  /** Detections: distinct alerts (conditions) the rule opened. */
  alerts: number;
  /** The highest count one of them reached (events in the window, distinct values, members). */
  peakCount: number;
  published: { respond: number; notify: number; review: number };
  pages: number;
  /** Respond-tier messages per day of history that page (opened, escalated, reminders; not resolved notices). */
  pagesPerDay: number;
  /** Per entity: two accounts' `root` are two (src/engine/entity-scope.ts). */
  topEntities: { value: string; account?: string; alerts: number }[];
  firstEvidence?: string;
  lastEvidence?: string;
}

export interface BacktestReport {
  from: string;
  to: string;
  days: number;
  /** `excepted`: rule matches the `--exceptions` left out. */
  events: { read: number; processed: number; skipped: number; matched: number; excepted: number };
  groups: { logGroup: string; events: number; unparsedShare: number }[];
  rules: RuleReport[];
  maxPagesPerDay?: number;
  /** Rules that would page more than `maxPagesPerDay`. */
  overBudget: string[];
  /** The detector's DynamoDB calls over the history, per rule, and what they cost a month at this volume. */
  state?: StateCost;
}

const TOP = 5;

/** Builds the report from every message the lifecycle decided (published, digested or silent). */
export function buildReport(input: {
  pack: RulePack;
  messages: readonly Message[];
  stats: ReplayStats;
  from: number;
  to: number;
  maxPagesPerDay?: number;
  state?: StateCost;
}): BacktestReport {
  const days = Math.max((input.to - input.from) / 86_400_000, 1 / 24);
  const titles = new Map([...input.pack.rules, ...input.pack.correlations].map((r) => [r.id, r.title]));
  const byRule = new Map<string, Message[]>();
  for (const m of input.messages) {
    if (m.alert.kind === 'digest') continue;
    const list = byRule.get(m.alert.ruleId) ?? [];
    list.push(m);
    byRule.set(m.alert.ruleId, list);
  }
  const rules: RuleReport[] = [...byRule].map(([ruleId, messages]) => {
    const ids = new Set<string>();
    let peakCount = 0;
    const entities = new Map<string, { value: string; account: string | undefined; ids: Set<string> }>();
    for (const m of messages) {
      ids.add(m.alert.id);
      peakCount = Math.max(peakCount, m.alert.count);
      const { value, account } = m.alert.entity;
      const key = scopedKey(value, account);
      const entry = entities.get(key) ?? { value, account, ids: new Set<string>() };
      entry.ids.add(m.alert.id);
      entities.set(key, entry);
    }
    const published = { respond: 0, notify: 0, review: 0 };
    let pages = 0;
    for (const m of messages) {
      if (m.publish) published[m.alert.tier]++;
      else if (m.digest) published.review++;
      if (m.publish && m.alert.tier === 'respond' && m.alert.status !== 'resolved') pages++;
    }
    const evidence = messages.flatMap((m) => m.alert.events);
    const first = evidence[0];
    const last = evidence[evidence.length - 1];
    return {
      ruleId,
      title: titles.get(ruleId) ?? ruleId,
      alerts: ids.size,
      peakCount,
      published,
      pages,
      pagesPerDay: pages / days,
      topEntities: [...entities.values()]
        .map(({ value, account, ids }) => ({ value, ...(account === undefined ? {} : { account }), alerts: ids.size }))
        .sort((a, b) => b.alerts - a.alerts || a.value.localeCompare(b.value) || (a.account ?? '').localeCompare(b.account ?? ''))
        .slice(0, TOP),
      ...(first ? { firstEvidence: `${first.timestamp} ${first.logGroup}: ${first.message.slice(0, 300)}` } : {}),
      ...(last ? { lastEvidence: `${last.timestamp} ${last.logGroup}: ${last.message.slice(0, 300)}` } : {}),
    };
  });
  rules.sort((a, b) => b.pagesPerDay - a.pagesPerDay || b.alerts - a.alerts || a.ruleId.localeCompare(b.ruleId));
  const groups = [...input.stats.parse.groups].map(([logGroup, g]) => ({
    logGroup,
    events: g.events,
    unparsedShare: g.events === 0 ? 0 : g.unparsed / g.events,
  }));
  const max = input.maxPagesPerDay;
  return {
    from: new Date(input.from).toISOString(),
    to: new Date(input.to).toISOString(),
    days,
    events: {
      read: input.stats.eventsIn,
      processed: input.stats.eventsProcessed,
      skipped: input.stats.skips.events,
      matched: input.stats.matchedEvents,
      excepted: input.stats.exceptedEvents,
    },
    groups,
    rules,
    ...(max !== undefined ? { maxPagesPerDay: max } : {}),
    overBudget: max === undefined ? [] : rules.filter((r) => r.pagesPerDay > max).map((r) => r.ruleId),
    ...(input.state ? { state: input.state } : {}),
  };
}

const pct = (n: number) => `${(100 * n).toFixed(1)}%`;
const perDay = (n: number) => (n === 0 ? '0' : n < 0.1 ? n.toFixed(3) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'));

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function reportMarkdown(r: BacktestReport): string {
  const entityLabel = entityLabeler(r);
  const lines = [
    '# Backtest',
    '',
    `History ${r.from} → ${r.to} (${r.days.toFixed(1)} days): ${r.events.read.toLocaleString('en-US')} events read, ${r.events.processed.toLocaleString('en-US')} processed, ${r.events.skipped} skipped, ${r.events.matched.toLocaleString('en-US')} matched a rule.`,
    '',
    '## Rules',
    '',
    '| rule | alerts | peak count | pages | respond (incl. resolved) | notify | review | pages/day | top entities |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.rules.map(
      (x) =>
        `| ${x.ruleId}${r.overBudget.includes(x.ruleId) ? ' ⚠' : ''} | ${x.alerts} | ${x.peakCount} | ${x.pages} | ${x.published.respond} | ${x.published.notify} | ${x.published.review} | ${perDay(x.pagesPerDay)} | ${escapeCell(x.topEntities.map((e) => `${entityLabel(e)} (${e.alerts})`).join(', '))} |`,
    ),
    '',
  ];
  if (r.maxPagesPerDay !== undefined)
    lines.push(
      r.overBudget.length > 0
        ? `**Over the page budget** (${r.maxPagesPerDay}/day): ${r.overBudget.join(', ')}.`
        : `Every rule stays within ${r.maxPagesPerDay} page(s) per day.`,
      '',
    );
  lines.push('## Evidence (first and last, secrets redacted)', '');
  for (const x of r.rules) {
    lines.push(`- **${x.ruleId}** — ${escapeCell(x.title)}`);
    if (x.firstEvidence) lines.push(`  - first: \`${escapeCell(x.firstEvidence).replace(/`/g, "'")}\``);
    if (x.lastEvidence && x.lastEvidence !== x.firstEvidence) lines.push(`  - last: \`${escapeCell(x.lastEvidence).replace(/`/g, "'")}\``);
  }
  lines.push('', '## Log groups', '', '| log group | events | unparsed |', '|---|---|---|');
  for (const g of r.groups) lines.push(`| ${g.logGroup} | ${g.events.toLocaleString('en-US')} | ${pct(g.unparsedShare)} |`);
  if (r.state) lines.push('', ...stateMarkdown(r.state, r.days));
  return `${lines.join('\n')}\n`;
}

/** The state section: which rules the detector's DynamoDB writes are for, and what they cost a month. */
function stateMarkdown(s: StateCost, days: number): string[] {
  return [
    '## State (DynamoDB)',
    '',
    `The detector made ${s.writes.toLocaleString('en-US')} writes and ${s.reads.toLocaleString('en-US')} reads over the history (${perDay(s.writes / days)} writes a day): ${aboutUsd(s.usdPerMonth)} a month at on-demand list prices (us-east-1), one unit a call — the writes count the due index's units too, one or two where an alert's document enters, leaves or moves in it. Exact windows cost state per rule, entity and batch: a threshold or distinct-value rule packs a batch's entities into writes of up to 480 bytes of entries each, a spike or sequence rule writes per entity — a rule counting every visitor or every flow is what a bill grows with.`,
    '',
    '| rule (or part of the engine) | writes | writes/day | share | $/month |',
    '|---|---|---|---|---|',
    ...s.byOwner.map(
      (o) =>
        `| ${escapeCell(o.owner)} | ${o.writes.toLocaleString('en-US')} | ${perDay(o.writes / days)} | ${pct(o.share)} | ${usd(o.usdPerMonth)} |`,
    ),
  ];
}

/** The terminal table: one line per rule, widest columns first. */
export function reportTable(r: BacktestReport): string {
  const entityLabel = entityLabeler(r);
  const head = ['rule', 'alerts', 'pages', 'notify', 'review', 'pages/day', 'top entity'];
  const rows = r.rules.map((x) => [
    `${x.ruleId}${r.overBudget.includes(x.ruleId) ? ' !' : ''}`,
    String(x.alerts),
    String(x.pages),
    String(x.published.notify),
    String(x.published.review),
    perDay(x.pagesPerDay),
    x.topEntities[0] ? `${entityLabel(x.topEntities[0])} (${x.topEntities[0].alerts})` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const unparsed = r.groups.filter((g) => g.unparsedShare > 0).map((g) => `${g.logGroup} ${pct(g.unparsedShare)}`);
  return [
    `backtest ${r.from} → ${r.to}: ${r.events.read} events, ${r.rules.length} rule(s) with alerts`,
    line(head),
    ...rows.map(line),
    ...(unparsed.length > 0 ? [`unparsed: ${unparsed.join(', ')}`] : []),
    ...(r.events.excepted > 0 ? [`exceptions left out ${r.events.excepted} rule match(es)`] : []),
    ...(r.state ? [stateLine(r.state, r.days)] : []),
  ].join('\n');
}

/** One line of the state's cost, and the rule most of it is for. */
function stateLine(s: StateCost, days: number): string {
  const top = s.byOwner[0];
  const most = top && top.writes > 0 ? `, ${pct(top.share)} of the writes for ${top.owner}` : '';
  return `state: ${perDay(s.writes / days)} DynamoDB writes a day (${aboutUsd(s.usdPerMonth)} a month on demand)${most}`;
}

export function reportJson(r: BacktestReport): string {
  return terminalSafeJson(r, 2);
}

/** How the report names an entity: by its value, with its account when the report's entities span several accounts. */
function entityLabeler(r: BacktestReport): (e: { value: string; account?: string }) => string {
  const accounts = new Set(r.rules.flatMap((x) => x.topEntities.flatMap((e) => (e.account === undefined ? [] : [e.account]))));
  return (e) => (accounts.size > 1 && e.account !== undefined ? `${e.value} in ${e.account}` : e.value);
}
