import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { terminalSafeJson } from '../alerts/plain-text';
import { securityHubFinding } from '../alerts/security-hub-finding';
import { exportFileName, filterLogEventsJson } from '../backtest/export';
import { generateDemo } from '../demo/generate';
import { formatRuleError } from '../rules/rule-pack';
import type { Alert } from '../schema/alert';
import { loadPack } from './load-pack';
import { openCorrelationSink, openStateStore } from './local-adapters';
import { replay } from './replay';
import { formatAlertLine, formatSummary } from './summary';

/** `npm run demo`: generate sample logs, replay them through detectors and the correlation state machine. */
export async function runDemo(rulesDirs: readonly string[], outDir: string, stateKind: 'memory' | 'dynalite'): Promise<Alert[]> {
  const { pack, errors } = loadPack(rulesDirs, { checkRegexes: false });
  if (errors.length > 0) throw new Error(errors.map(formatRuleError).join('\n'));
  const demo = generateDemo();
  mkdirSync(outDir, { recursive: true });
  const input = join(outDir, 'cloudwatch-payloads.jsonl');
  writeFileSync(input, `${demo.payloads.map((p) => JSON.stringify(p)).join('\n')}\n`);
  process.stderr.write(`demo: wrote ${demo.eventCount} log events in ${demo.payloads.length} CloudWatch Logs payloads to ${input}\n`);
  // The same logs as `aws logs filter-log-events` exports, one file per group: input for `detect backtest --from-file`.
  const exportDir = join(outDir, 'export');
  mkdirSync(exportDir, { recursive: true });
  for (const group of [...new Set(demo.payloads.map((p) => p.logGroup))].sort())
    writeFileSync(join(exportDir, exportFileName(group)), JSON.stringify(filterLogEventsJson(demo.payloads, group), null, 2));

  const state = await openStateStore(stateKind);
  const sink = await openCorrelationSink(pack, state, rulesDirs);
  const alerts: Alert[] = [];
  const started = performance.now();
  try {
    const stats = await replay([input], { pack, store: state.store, sink, onAlert: (a) => void alerts.push(a) });
    const alertsFile = join(outDir, 'alerts.jsonl');
    writeFileSync(alertsFile, alerts.map((a) => terminalSafeJson(a)).join('\n') + (alerts.length ? '\n' : ''));
    for (const a of alerts) process.stdout.write(`${formatAlertLine(a)}\n`);
    process.stderr.write(`${formatSummary(stats, alerts, (performance.now() - started) / 1000)}\n`);
    process.stderr.write(`demo: full alert JSON in ${alertsFile}\n`);
    const findings = demoFindings(alerts);
    const findingsFile = join(outDir, 'securityhub-findings.jsonl');
    writeFileSync(findingsFile, findings.map((f) => JSON.stringify(f)).join('\n') + (findings.length ? '\n' : ''));
    process.stderr.write(`demo: the ${findings.length} Security Hub findings securityHubExport would import in ${findingsFile}\n`);
  } finally {
    await state.close();
  }
  return alerts;
}

/** What `securityHubExport` would import for the demo's alerts (the demo's account): one finding per alert, as of its last message. */
function demoFindings(alerts: readonly Alert[]): AwsSecurityFinding[] {
  const latest = new Map<string, AwsSecurityFinding>();
  for (const alert of alerts) {
    const finding = securityHubFinding(alert, {
      productArn: `arn:aws:securityhub:us-east-1:${DEMO_ACCOUNT}:product/${DEMO_ACCOUNT}/default`,
      account: DEMO_ACCOUNT,
      region: 'us-east-1',
      partition: 'aws',
      now: () => new Date(alert.lastSeen),
    });
    if (finding?.Id) latest.set(finding.Id, finding);
  }
  return [...latest.values()];
}

const DEMO_ACCOUNT = '123456789012';
