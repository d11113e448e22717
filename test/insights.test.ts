import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logsInsightsQuery, logsInsightsUrl } from '../src/alerts/insights';
import { chatbotMessage } from '../src/alerts/notification';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { consoleLinkText, rule } from './helpers';

const START = Date.parse('2025-03-03T14:11:00Z');
const END = Date.parse('2025-03-03T14:12:00Z');

describe('the Logs Insights link', () => {
  it('is the console’s own form: the query detail encoded twice, `$` for `%`', () => {
    const url = logsInsightsUrl('eu-west-1', ['org-audit/management-events'], logsInsightsQuery('m.silva'), START, END);
    expect(url).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:logs-insights$3FqueryDetail$3D$257E$2528end$257E$25272025-03-03T14*3A12*3A00.000Z$257Estart$257E$25272025-03-03T14*3A11*3A00.000Z$257EtimeType$257E$2527ABSOLUTE$257Etz$257E$2527UTC$257EeditorString$257E$2527fields*20*40timestamp*2C*20*40log*2C*20*40logStream*2C*20*40message*0A*7C*20filter*20*40message*20like*20*22m.silva*22*0A*7C*20sort*20*40timestamp*20desc*0A*7C*20limit*20200$257Esource$257E$2528$257E$2527org-audit*2Fmanagement-events$2529$2529',
    );
  });

  it('property: whatever the groups and the query hold, the console reads them back exactly, and the link holds no character chat markdown reads', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 });
    fc.assert(
      fc.property(fc.array(text, { maxLength: 3 }), text, (groups, query) => {
        const url = logsInsightsUrl('us-east-1', groups, query, START, END);
        const fragment = url.slice(url.indexOf('#') + 1);
        // No `~` (strike-through in Slack), `(` `)` `[` `]` (a Teams link), `'`, `<` `>` or `|` (a Slack link), no space.
        expect(fragment).toMatch(/^logsV2:logs-insights[A-Za-z0-9$*._-]+$/);
        expect(consoleLinkText(url)).toBe(
          `logsV2:logs-insights?queryDetail=~(end~'2025-03-03T14:12:00.000Z~start~'2025-03-03T14:11:00.000Z~timeType~'ABSOLUTE~tz~'UTC~editorString~'${query}~source~(${groups.map((g) => `~'${g}`).join('')}))`,
        );
      }),
    );
  });

  it('chat carries it, after the description and before the runbook', async () => {
    const echo = rule({
      id: 'test.echo',
      title: 'login failed for {user.name}',
      match: { 'event.outcome': 'failure' },
      entity: 'user.name',
    });
    const result = await processPayload(
      {
        messageType: 'DATA_MESSAGE',
        owner: '123456789012',
        logGroup: '/app/auth_service',
        logStream: 's',
        logEvents: [{ id: 'e1', timestamp: START, message: JSON.stringify({ event: { outcome: 'failure' }, user: { name: 'eve_~(x)' } }) }],
      },
      new Normalizer(),
      new Detector({ rules: [echo] }, new MemoryStateStore()),
    );
    const alert = result.messages[0]?.alert;
    if (!alert) throw new Error('no alert');
    const lines = (chatbotMessage(alert).content as { description: string }).description.split('\n');
    expect(lines.slice(-3)).toEqual([`Logs Insights: ${alert.consoleUrl}`, `Runbook: \`${alert.runbook}\``, `Alert id: \`${alert.id}\``]);
    expect(consoleLinkText(alert.consoleUrl)).toContain(`like "eve_~(x)"`);
    // A link longer than chat shows (an incident over many log groups) is left to the email.
    const long = `${alert.consoleUrl}${'$257E$2527*2Fapp*2Fa'.repeat(200)}`;
    const described = (chatbotMessage({ ...alert, consoleUrl: long }).content as { description: string }).description;
    expect(described).toContain('\nLogs Insights: in the email (its link is longer than chat shows)\nRunbook: ');
    expect(described).not.toContain('$257E');
    expect(consoleLinkText(alert.consoleUrl)).toContain("source~(~'/app/auth_service))");
  });
});
