import type { Alert, CountedValues } from '../schema/alert';
import { formatDuration, spokenDuration } from '../schema/duration';
import { type StateTableRef, tableArgs } from './cloud';
import { evidenceShown } from './evidence-line';
import { localSpan } from './local-time';
import { printable } from './plain-text';

/** SNS subject: short and human (SNS allows 100 characters, ASCII, no newlines). */
export function subjectFor(alert: Alert): string {
  const prefix = alert.kind === 'incident' ? `[${alert.tier.toUpperCase()}] INCIDENT` : `[${alert.tier.toUpperCase()}]`;
  const text = `${prefix} ${alert.severity}: ${alert.title}`.replace(/[^\x20-\x7E]/g, '-');
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

/**
 * A spike's measure, as a line of its own: `Baseline: 2.4 per 5m over the previous 1h; this
 * window fired at 12` (its factor × that, at least its floor) — "30 errors" alone does
 * not say whether that is a lot for this service.
 */
/** An absence: the entity's last matching event and how long none has come ("30 errors" has its baseline; silence has this). */
function absenceLine(alert: Alert): string[] {
  const a = alert.absence;
  if (!a?.lastEventAt) return [];
  const silent = Date.parse(alert.window.end) - Date.parse(a.lastEventAt);
  return [
    `Last matching event: ${a.lastEventAt}; none for ${spokenDuration(silent)} (told after ${formatDuration(a.afterMs)} without one)`,
    ...pipelineLine(a.deliveriesLast15m),
  ];
}

/** Whether the rest of the pipeline still delivers: a silent source, or nothing reaching the detector at all. */
function pipelineLine(deliveries: number | undefined): string[] {
  if (deliveries === undefined) return [];
  if (deliveries === 0) {
    return [
      'Meanwhile: no log group delivered anything to the detector in the last 15 minutes — the pipeline itself may be down (see the DetectorErrors and DetectorThrottles alarms), not only this source',
    ];
  }
  return [`Meanwhile: the detector received ${deliveries.toLocaleString('en-US')} deliveries (of any log group) in the last 15 minutes`];
}

function baselineLine(alert: Alert): string[] {
  const b = alert.baseline;
  if (!b) return [];
  const fired = b.held
    ? `held at ${b.threshold}, the level this spike reached in an earlier window (it lasts while the spike does)`
    : `fired at ${b.threshold}`;
  return [
    `Baseline: ${roundedMean(b.mean)} per ${formatDuration(b.windowMs)} over the previous ${formatDuration(b.baselineMs)}; this window ${fired}`,
  ];
}

/** What a distinct-value rule counted, as text: `field (total): a, b, and 3 more`. */
function countedText(c: CountedValues): string {
  const more = c.total > c.values.length ? `, and ${c.total - c.values.length} more` : '';
  return `${c.field} (${c.total}): ${c.values.map(printable).join(', ')}${more}`;
}

/** A digest rule's latest distinct-value detection: what it counted, the first few. */
function countedDigestLine(c: CountedValues & { entity: string }): string {
  return `  latest (${printable(c.entity)}) counted ${countedText(c)}`;
}

/** A distinct-value alert's values: the accounts a spray tried, the ports a scan probed — what the runbook asks for first. */
function distinctLine(alert: Alert): string[] {
  const d = alert.distinct;
  return d && d.values.length > 0 ? [`Counted ${countedText(d)}`] : [];
}

/** A mean as a person reads it: whole above 10, one decimal below (0.4 errors, not 0.41666). */
function roundedMean(mean: number): string {
  return mean >= 10 ? String(Math.round(mean)) : String(Math.round(mean * 10) / 10);
}

/** The window on the team's clock (config `timeZone`), as a line of its own; none in UTC. */
function localLine(alert: Alert, timeZone: string): string[] {
  const span = localSpan(alert.window.start, alert.window.end, timeZone);
  return span ? [`Local time: ${span}`] : [];
}

/** An evidence line as a message shows it, at most: the email's each, the chat's latest. */
const EVIDENCE_LINE_CHARS = 300;

/**
 * Plain-text body for email subscribers; what came from log lines is shown as text, a line each.
 * Times are UTC, with the window on the team's clock too when `timeZone` is another zone.
 */
export function emailBody(alert: Alert, timeZone = 'UTC', stateTable?: StateTableRef): string {
  if (alert.kind === 'digest') return digestEmailBody(alert, timeZone);
  const lines = [
    `${alert.kind === 'incident' ? 'INCIDENT' : 'Detection'}: ${printable(alert.title)}`,
    `Severity: ${alert.severity}   Tier: ${alert.tier}   Risk: ${alert.riskScore}/10`,
    `Entity: ${alert.entity.field} = ${printable(alert.entity.value)}`,
    ...relatedLine(alert),
    ...(alert.status === 'escalated' ? [escalatedLine(alert)] : []),
    ...(alert.status === 'reminder' ? [reminderLine(alert)] : []),
    ...(alert.foldedInto ? [foldedLine(alert.foldedInto)] : []),
    ...(alert.outbreak ? [outbreakLine(alert)] : []),
    ...(alert.acknowledged ? [acknowledgedLine(alert.acknowledged)] : []),
    ...(alert.cloud
      ? [
          `Account: ${alert.cloud.account.id}   Region: ${alert.cloud.region}${alert.cloud.logsAccount ? `   Logs in account: ${alert.cloud.logsAccount}` : ''}`,
        ]
      : []),
    `Window: ${alert.window.start} → ${alert.window.end}${windowCount(alert)}`,
    ...localLine(alert, timeZone),
    ...baselineLine(alert),
    ...distinctLine(alert),
    ...absenceLine(alert),
    '',
    alert.description,
    '',
  ];
  if (alert.category) lines.push(`Category: ${alert.category}${alert.response ? `   Automated response: ${alert.response}` : ''}`, '');
  if (alert.recommendedActions.length > 0) lines.push('Recommended actions:', ...alert.recommendedActions.map((a) => `  - ${a}`), '');
  if (alert.memberDetections) {
    // What made it an incident, in the order it happened.
    lines.push(
      'Member detections:',
      ...alert.memberDetections.map((m) => `  - ${m.firstSeen} ${m.ruleId}: ${printable(m.title)} (${m.id})`),
      '',
    );
  }
  if (alert.events.length > 0) {
    const shown = alert.events.map((e) => ({ e, ...evidenceShown(e.message, EVIDENCE_LINE_CHARS) }));
    lines.push(
      // Fewer lines than it counted (earlier deliveries' are not kept, a window holds more than an alert shows): a sample, said so.
      `Evidence (${alert.kind === 'detection' && alert.events.length < alert.count ? `the latest ${alert.events.length}; ` : ''}secrets redacted${shown.some((s) => s.reordered) ? '; a long JSON line shows what was done first' : ''}):`,
      ...shown.map(({ e, text }) => `  ${e.timestamp} ${printable(e.logGroup)}: ${evidenceText(text)}`),
      '',
    );
  }
  lines.push(`Runbook: ${alert.runbook}`, `Logs Insights: ${alert.consoleUrl}`, `Rule: ${alert.ruleId}   Alert id: ${alert.id}`);
  if (remindsUntilAcknowledged(alert))
    lines.push(
      // The command as it runs: the table's name and Region known to the function that told it.
      `Working on it? detect ack add ${alert.id} ${tableArgs(stateTable)} (stops its reminders)`,
    );
  if (alert.members && !alert.memberDetections) lines.push(`Member detections: ${alert.members.join(', ')}`);
  return lines.join('\n');
}

/**
 * How much a digest entity did, beside how often it was digested: its alerts' qualifying events
 * and the last of them (` (71 occurrences, the last 10:40 UTC)`; the date too when not the digest's day).
 */
function intensityOf(e: { occurrences?: number | undefined; lastSeen?: string | undefined }, digestStart: string): string {
  if (e.occurrences === undefined) return '';
  const words = `${e.occurrences} occurrence${e.occurrences === 1 ? '' : 's'}`;
  if (e.lastSeen === undefined) return ` (${words})`;
  const when =
    e.lastSeen.slice(0, 10) === digestStart.slice(0, 10)
      ? e.lastSeen.slice(11, 16)
      : `${e.lastSeen.slice(0, 10)} ${e.lastSeen.slice(11, 16)}`;
  return ` (${words}, the last ${when} UTC)`;
}

/** A digest entity's account as its line names it: only when the interval's entities come from several accounts. */
function digestAccountLabel(rules: NonNullable<Alert['digest']>): (entity: { account?: string | undefined }) => string {
  const accounts = new Set(rules.flatMap((r) => r.entities.flatMap((e) => (e.account ? [e.account] : []))));
  return (e) => (accounts.size > 1 && e.account ? ` (account ${e.account})` : '');
}

/**
 * A review digest: each rule's detections in the interval, its top entities (with their accounts
 * when they live in one) and its Logs Insights link — what the reviewer reads, in the email itself.
 */
function digestEmailBody(alert: Alert, timeZone: string): string {
  const lines = [
    printable(alert.title),
    `Window: ${alert.window.start} → ${alert.window.end}`,
    ...localLine(alert, timeZone),
    '',
    alert.description,
    '',
  ];
  const rules = alert.digest ?? [];
  const accountOf = digestAccountLabel(rules);
  for (const rule of rules) {
    const entities = rule.entities.map((e) => `${printable(e.value)}${accountOf(e)} ×${e.detections}${intensityOf(e, alert.window.start)}`);
    lines.push(
      // Of several detections the title is the latest's, naming its entity: said so, or it reads as every one's.
      `${rule.ruleId} (${rule.severity}): ${rule.detections} detection(s) — ${rule.detections > 1 ? 'latest: ' : ''}${printable(rule.title)}`,
      `  top: ${entities.join(', ')}${notListed(rule)}`,
      ...(rule.counted ? [countedDigestLine(rule.counted)] : []),
      `  Logs Insights: ${rule.consoleUrl}`,
      '',
    );
  }
  lines.push(`Runbook: ${alert.runbook}`, `Alert id: ${alert.id}`);
  return lines.join('\n');
}

/**
 * The detections of a digest's rule that its top entities leave out: the list is cut at five, and
 * an entity it drops is otherwise nowhere in the message but in the rule's count.
 */
function notListed(rule: NonNullable<Alert['digest']>[number]): string {
  const left = rule.detections - rule.entities.reduce((n, e) => n + e.detections, 0);
  return left > 0 ? ` (and ${left} more detection${left === 1 ? '' : 's'} of other entities)` : '';
}

/** Values shown per related field; the rest are counted. */
const RELATED_SHOWN = 5;

/**
 * The other users, addresses, hosts and services in the evidence (the address a host's intruder
 * came from, the users an address tried), the alert's own entity left out, as text: per field,
 * the first values and how many more. A service that is only its log group (the lines named none)
 * is left out too: the alert names its log groups already.
 */
function relatedShown(alert: Alert): { field: string; values: string[]; more: number }[] {
  const out = [];
  for (const [field, values] of Object.entries(alert.related)) {
    const others = values.filter(
      (v) => !(field === alert.entity.field && v === alert.entity.value) && !(field === 'service.name' && alert.logGroups.includes(v)),
    );
    if (others.length > 0)
      out.push({
        field: printable(field),
        values: others.slice(0, RELATED_SHOWN).map(printable),
        more: Math.max(0, others.length - RELATED_SHOWN),
      });
  }
  return out;
}

const moreText = (more: number) => (more > 0 ? ` (+${more} more)` : '');

function relatedLine(alert: Alert): string[] {
  const parts = relatedShown(alert).map((r) => `${r.field} ${r.values.join(', ')}${moreText(r.more)}`);
  return parts.length > 0 ? [`Related: ${parts.join('; ')}`] : [];
}

/**
 * Text as a chat code span: shown as written, never formatted or linked (an entity, a title, a
 * value is what a log line said). Control characters shown as \uXXXX; a backtick, which would end
 * the span, as an apostrophe.
 */
function codeSpan(text: string): string {
  return `\`${printable(text).replaceAll('`', "'")}\``;
}

/** The same for chat, each value as code (a backtick in it would end the span and let it format). */
function relatedMarkdown(alert: Alert): string {
  const parts = relatedShown(alert).map((r) => `${r.values.map((v) => codeSpan(`${r.field}=${v}`)).join(' ')}${moreText(r.more)}`);
  return parts.length > 0 ? `Related: ${parts.join(' ')}\n` : '';
}

/** The counted values in chat, each as code (a value may hold markdown: an attacker chooses the user names a spray tries). */
function distinctMarkdown(alert: Alert): string {
  const d = alert.distinct;
  if (!d || d.values.length === 0) return '';
  const more = d.total > d.values.length ? ` and ${d.total - d.values.length} more` : '';
  return `Counted ${d.field} (${d.total}): ${d.values.map(codeSpan).join(' ')}${more}\n`;
}

/**
 * The latest evidence line in chat, redacted as every evidence line is (../alerts/redact.ts): what
 * the log said, before the rule's general description. As code: a log line is an attacker's text.
 */
function latestLineMarkdown(alert: Alert): string {
  const e = alert.events.at(-1);
  if (!e) return '';
  return `Latest line (${minuteOf(e.timestamp)} UTC, ${codeSpan(e.logGroup)}): ${codeSpan(evidenceShown(e.message, EVIDENCE_LINE_CHARS).text)}\n`;
}

/** A review digest's rules shown in chat, at most (the email lists every one). */
const CHAT_DIGEST_RULES_SHOWN = 15;

/**
 * A review digest's rules in chat, as the email lists them: detections and top entities (as code:
 * an entity is what a log line said), each rule's link left to the email and the JSON.
 */
function digestMarkdown(alert: Alert): string {
  const rules = alert.digest ?? [];
  if (rules.length === 0) return '';
  const accountOf = digestAccountLabel(rules);
  const lines = rules.slice(0, CHAT_DIGEST_RULES_SHOWN).map((rule) => {
    const top = rule.entities.map((e) => `${codeSpan(e.value)}${accountOf(e)} ×${e.detections}${intensityOf(e, alert.window.start)}`);
    return `• ${codeSpan(rule.ruleId)} (${rule.severity}): ${rule.detections} detection(s) — top: ${top.join(', ')}${notListed(rule)}\n`;
  });
  const more = rules.length > CHAT_DIGEST_RULES_SHOWN ? `… and ${rules.length - CHAT_DIGEST_RULES_SHOWN} more rules (in the email)\n` : '';
  return `${lines.join('')}${more}`;
}

/** Member detections shown in chat, at most. */
const CHAT_MEMBERS_SHOWN = 10;

/**
 * An incident's member detections in chat, in the order they happened: what made it an incident,
 * which the rule's description only describes in general. Rule ids and titles as code: a title
 * holds what a log line said (a user name can be markdown or a chat link).
 */
function membersMarkdown(alert: Alert): string {
  const members = alert.memberDetections ?? [];
  if (members.length === 0) return '';
  const lines = members
    .slice(0, CHAT_MEMBERS_SHOWN)
    .map((m) => `• ${minuteOf(m.firstSeen)} UTC ${codeSpan(m.ruleId)} ${codeSpan(m.title)}\n`);
  const more = members.length > CHAT_MEMBERS_SHOWN ? `… and ${members.length - CHAT_MEMBERS_SHOWN} more\n` : '';
  return `What happened:\n${lines.join('')}${more}`;
}

/** An ISO time to the minute, as the messages write it: `2025-03-03 09:15` (UTC). */
function minuteOf(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}

/** An escalation is the alert told before, grown: a responder paged by it looks for what the team was told. */
function escalatedLine(alert: Alert): string {
  return `Escalated: the alert that opened at ${minuteOf(alert.openedAt)} UTC (same id), told again at ${alert.severity} because it grew — its count reached the rule's escalation step, or ten times what was last told.`;
}

/** A reminder is an alert nobody has taken: how long it has been firing (the email's `Working on it?` line says how to take it). */
function reminderLine(alert: Alert): string {
  return `Reminder: still firing since ${minuteOf(alert.openedAt)} UTC (same id, ${alert.occurrences.toLocaleString('en-US')} qualifying events since it opened) and acknowledged by nobody.`;
}

/** A folded detection (src/engine/page-fold.ts) names the page it is part of. */
function foldedLine(page: NonNullable<Alert['foldedInto']>): string {
  return `Part of the page already open for this entity: ${printable(page.title)} (rule ${page.ruleId}, alert ${page.id}); told here, not paged again.`;
}

/** Who acknowledged the alert (src/engine/acknowledgements.ts): its reminders are silent. */
function acknowledgedLine(ack: NonNullable<Alert['acknowledged']>): string {
  return `Acknowledged by ${printable(ack.by)} at ${minuteOf(ack.at)} UTC${ack.reason ? ` (${printable(ack.reason)})` : ''}: its reminders are silent.`;
}

/** A told alert that still fires is told again every repeat interval until somebody acknowledges it. */
function remindsUntilAcknowledged(alert: Alert): boolean {
  // The stack's own notices (sentinel.exception, sentinel.digest) are told once.
  const ownNotice = alert.ruleId.startsWith('sentinel.');
  return !ownNotice && alert.tier !== 'review' && alert.status !== 'resolved' && !alert.acknowledged && !alert.outbreak?.notice;
}

/**
 * An outbreak's notice (src/engine/outbreak.ts) says that its rule's further alerts about other
 * entities are not told one by one, and where they are.
 */
function outbreakLine(alert: Alert): string {
  const until = alert.outbreak ? minuteOf(alert.outbreak.heldUntil) : '';
  return alert.outbreak?.notice
    ? `Held: one of many alerts of rule ${alert.ruleId} at once, listed in the review digest; the outbreak was told in ${printable(alert.outbreak.notice.title)} (alert ${alert.outbreak.notice.id}).`
    : `Outbreak: rule ${alert.ruleId} is firing for many ${alert.entity.field} values at once. Its further alerts until ${until} UTC are not told one by one: they are in the review digest (count and top entities), and correlated as usual.`;
}

/**
 * An evidence message in the email: a stack trace keeps its lines, each marked as the message's
 * (`    | `), so no line of it can pass for one the body writes.
 */
function evidenceText(message: string): string {
  return message.split(/\r?\n/).map(printable).join('\n    | ');
}

/**
 * What the Window line counts. An absence counts no events (each check of it was an occurrence),
 * and a distinct-value rule counts values, which its Counted line says. A resolved detection
 * counts the qualifying events since it opened — not the window's count that its title keeps
 * ("335 requests in 1 minute", told beside "61 events", read as a contradiction).
 */
function windowCount(alert: Alert): string {
  if (alert.absence || alert.distinct) return '';
  const n = alert.count;
  if (alert.kind === 'incident') return ` (${n} correlated detection${n === 1 ? '' : 's'})`;
  if (alert.status === 'resolved') return ` (${n} qualifying event${n === 1 ? '' : 's'} since it opened)`;
  return ` (${n} event${n === 1 ? '' : 's'})`;
}

/** What a custom notification's description holds (Amazon Q Developer in chat applications). */
const CHAT_DESCRIPTION_CHARS = 8000;
/** A rule's runbook as the chat shows it, at most (no schema bounds a rule's runbook). */
const MAX_CHAT_RUNBOOK_CHARS = 1000;
/** A Logs Insights link as chat shows it, at most (an incident's many log groups make a long one). */
const MAX_CHAT_LINK_CHARS = 3000;

/** AWS Chatbot (Amazon Q Developer in chat) custom notification; threadId keeps an incident in one thread. */
export function chatbotMessage(alert: Alert, timeZone = 'UTC'): Record<string, unknown> {
  const local = [...localLine(alert, timeZone), ...baselineLine(alert), ...absenceLine(alert)].map((line) => `${line}\n`);
  // Last, and kept whatever the description's length: what a responder opens first — the logs
  // and the runbook — and the id `detect ack add` takes. A link (under the deployment's
  // runbookBaseUrl) as itself, for the chat client to link; a path as code (its underscores would
  // otherwise format). The Logs Insights link holds no character chat markdown reads (insights.ts).
  const shown = alert.runbook.slice(0, MAX_CHAT_RUNBOOK_CHARS);
  const logs =
    alert.consoleUrl.length <= MAX_CHAT_LINK_CHARS ? printable(alert.consoleUrl) : 'in the email (its link is longer than chat shows)';
  const runbook = `\nLogs Insights: ${logs}\nRunbook: ${URL.canParse(alert.runbook) ? printable(shown) : codeSpan(shown)}\nAlert id: ${codeSpan(alert.id)}`;
  return {
    version: '1.0',
    source: 'custom',
    id: alert.id,
    content: {
      textType: 'client-markdown',
      title: `${alert.tier === 'respond' ? ':rotating_light:' : ':warning:'} ${printable(alert.title)}`.slice(0, 250),
      // The entity as code: a backtick in the value would end the code span and let it format.
      description:
        `*${alert.severity}* · risk ${alert.riskScore}/10 · ${codeSpan(`${alert.entity.field}=${alert.entity.value}`)}\n${relatedMarkdown(alert)}${distinctMarkdown(alert)}${membersMarkdown(alert)}${digestMarkdown(alert)}${latestLineMarkdown(alert)}${alert.foldedInto ? `${foldedLine(alert.foldedInto)}\n` : ''}${alert.outbreak ? `${outbreakLine(alert)}\n` : ''}${alert.acknowledged ? `${acknowledgedLine(alert.acknowledged)}\n` : ''}${local.join('')}${alert.description}`.slice(
          0,
          CHAT_DESCRIPTION_CHARS - runbook.length,
        ) + runbook,
      nextSteps: alert.recommendedActions.slice(0, 5),
      keywords: [alert.severity, alert.tier, alert.ruleId].slice(0, 10),
    },
    metadata: {
      // A folded detection joins the thread of the page it is part of.
      // Two accounts' `root` are two entities: two threads.
      threadId: `${alert.foldedInto?.ruleId ?? alert.ruleId}:${alert.entity.account ? `${alert.entity.account}:` : ''}${alert.entity.value}`,
      summary: subjectFor(alert),
      eventType: alert.kind,
      relatedResources: alert.logGroups.slice(0, 5),
      additionalContext: { alertId: alert.id, runbook: alert.runbook, consoleUrl: alert.consoleUrl },
    },
  };
}

/**
 * The SNS message with per-protocol bodies (MessageStructure json): email gets readable text;
 * every other protocol (SQS, HTTPS, Lambda, email-json) gets `default`, the alert JSON contract.
 * Naming them each again would repeat the alert five times against SNS's 256 KB limit.
 */
export function snsMessage(alert: Alert, timeZone = 'UTC', stateTable?: StateTableRef): string {
  return JSON.stringify({ default: JSON.stringify(alert), email: emailBody(alert, timeZone, stateTable) });
}
