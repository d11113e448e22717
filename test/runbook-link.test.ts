import { describe, expect, it } from 'vitest';
import { runbookBaseEnv } from '../functions/commons/env';
import { parseConfig } from '../infra/config';
import { chatbotMessage } from '../src/alerts/notification';
import { runbookBase, runbookFile, runbookLink, withRunbookLink } from '../src/alerts/runbook-link';
import { DEFAULT_STYLE, envelopeOf } from '../src/correlation/envelope';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { missingRunbooks } from '../src/rules/field-check';
import type { Alert } from '../src/schema/alert';
import { rule } from './helpers';

const BASE = 'https://github.com/acme/sentinel/blob/main/';

/** A published alert of a rule whose runbook is written as `runbook`. */
async function alertWithRunbook(runbook: string): Promise<Alert> {
  const failures = rule({
    id: 'test.failures',
    title: 'login failed for {user.name}',
    match: { 'event.outcome': 'failure' },
    entity: 'user.name',
  });
  const detector = new Detector({ rules: [{ ...failures, runbook }] }, new MemoryStateStore());
  const payload = {
    messageType: 'DATA_MESSAGE' as const,
    owner: '123456789012',
    logGroup: '/app/auth',
    logStream: 's',
    logEvents: [
      { id: 'e0', timestamp: 1_740_000_000_000, message: JSON.stringify({ event: { outcome: 'failure' }, user: { name: 'eve' } }) },
    ],
  };
  const [message] = (await processPayload(payload, new Normalizer(), detector)).messages;
  if (!message) throw new Error('the rule told nothing');
  return message.alert;
}

describe('runbook links', () => {
  it('a path from the repository root goes under the base, however it is written; a URL stays as written', () => {
    expect(runbookLink('docs/runbooks/ssh.auth_failures.md', BASE)).toBe(`${BASE}docs/runbooks/ssh.auth_failures.md`);
    expect(runbookLink('./docs/runbooks/x.md', BASE)).toBe(`${BASE}docs/runbooks/x.md`);
    // Not at the host's root: the repository's.
    expect(runbookLink('/docs/runbooks/x.md', BASE)).toBe(`${BASE}docs/runbooks/x.md`);
    expect(runbookLink('docs/run books/a.md', BASE)).toBe(`${BASE}docs/run%20books/a.md`);
    // A section of a runbook stays a section: `#` starts the link's fragment.
    expect(runbookLink('docs/runbooks/ssh.md#host-keys', BASE)).toBe(`${BASE}docs/runbooks/ssh.md#host-keys`);
    expect(runbookLink('https://wiki.example.com/runbooks/backups', BASE)).toBe('https://wiki.example.com/runbooks/backups');
    expect(runbookLink('docs/runbooks/x.md', undefined)).toBe('docs/runbooks/x.md');
  });

  it('detect validate reads a path as the link does: from the repository root, a section aside', () => {
    expect(runbookFile('docs/runbooks/ssh.md#host-keys')).toBe('docs/runbooks/ssh.md');
    expect(runbookFile('/docs/runbooks/ssh.md')).toBe('docs/runbooks/ssh.md');
    expect(runbookFile('https://wiki.example.com/runbooks/backups')).toBeUndefined();
    const packOf = (...runbooks: string[]) => ({
      rules: runbooks.map((runbook, i) => ({ ...rule({ id: `test.r${i}`, match: { 'event.outcome': 'failure' } }), runbook })),
      correlations: [],
      sources: [],
      lists: [],
      files: new Map<string, string>(),
    });
    // This repository's own runbook, by section and from the root; a URL is not looked for.
    expect(
      missingRunbooks(packOf('docs/runbooks/review-digest.md#what-to-do', './docs/runbooks/review-digest.md', 'https://x.example/')),
    ).toEqual([]);
    expect(missingRunbooks(packOf('docs/runbooks/nope.md#a')).map((e) => e.message)).toEqual([
      expect.stringContaining("runbook file 'docs/runbooks/nope.md#a' does not exist"),
    ]);
  });

  it('a base is an https URL without query or fragment, and ends in / so that paths go under its last segment', () => {
    expect(runbookBase('https://github.com/acme/sentinel/blob/main')).toEqual({ base: BASE });
    expect(runbookBase(BASE)).toEqual({ base: BASE });
    expect(runbookBase('https://runbooks.example.com')).toEqual({ base: 'https://runbooks.example.com/' });
    expect(runbookBase('http://github.com/acme/sentinel/')).toEqual({ error: expect.stringMatching(/https URL/) });
    expect(runbookBase('github.com/acme/sentinel')).toEqual({ error: expect.stringMatching(/https URL/) });
    expect(runbookBase('https://wiki.example.com/page?id=1')).toEqual({ error: expect.stringMatching(/query or fragment/) });
  });

  it('what the state machine publishes names the link: the email, the alert JSON and the chat rendering alike', async () => {
    const alert = await alertWithRunbook('docs/runbooks/test.failures.md');
    const message = { key: 'k', alert, publish: true, correlate: false, digest: false } as const;
    const fields = envelopeOf(message, undefined, { ...DEFAULT_STYLE, runbookBase: BASE }).publishFields;
    const link = `${BASE}docs/runbooks/test.failures.md`;
    const sns = JSON.parse(fields.message) as { default: string; email: string };
    expect(sns.email).toContain(`Runbook: ${link}`);
    expect((JSON.parse(sns.default) as Alert).runbook).toBe(link);
    // In the chat message's text itself, which the channel shows (not only in its metadata), with the id to acknowledge.
    const chat = JSON.parse(fields.chat ?? '{}') as { content: { description: string } };
    expect(chat.content.description.endsWith(`\nRunbook: ${link}\nAlert id: \`${alert.id}\``)).toBe(true);
    // Without a base (a stack from before it, or none configured): as the rule names it.
    const plain = JSON.parse(envelopeOf(message).publishFields.message) as { default: string; email: string };
    expect(plain.email).toContain('Runbook: docs/runbooks/test.failures.md');
    // A path is code in chat: its underscores would otherwise format.
    const plainChat = JSON.parse(envelopeOf(message).publishFields.chat ?? '{}') as { content: { description: string } };
    expect(plainChat.content.description).toContain('\nRunbook: `docs/runbooks/test.failures.md`\n');
    expect((JSON.parse(plain.default) as Alert).runbook).toBe('docs/runbooks/test.failures.md');
    // The decided alert itself (stored state, correlation's members) keeps the rule's own text.
    expect(alert.runbook).toBe('docs/runbooks/test.failures.md');
  });

  it('chat: a description past the 8,000 characters a notification holds is cut before the runbook and id, never after', async () => {
    const alert = await alertWithRunbook('docs/runbooks/test.failures.md');
    const long = { ...alert, description: 'x'.repeat(20_000) };
    const description = (chatbotMessage(withRunbookLink(long, BASE)).content as { description: string }).description;
    expect(description).toHaveLength(8000);
    expect(description.endsWith(`\nRunbook: ${BASE}docs/runbooks/test.failures.md\nAlert id: \`${alert.id}\``)).toBe(true);
    // No schema bounds a rule's runbook: one of 20,000 characters still leaves a description of at most 8,000.
    const huge = { ...long, runbook: `docs/${'r'.repeat(20_000)}.md` };
    expect((chatbotMessage(huge).content as { description: string }).description.length).toBeLessThanOrEqual(8000);
  });

  it('a rule whose runbook is a URL is published with it as written', async () => {
    const alert = await alertWithRunbook('https://wiki.example.com/runbooks/logins');
    const message = { key: 'k', alert, publish: true, correlate: false, digest: false } as const;
    const sns = JSON.parse(envelopeOf(message, undefined, { ...DEFAULT_STYLE, runbookBase: BASE }).publishFields.message) as {
      default: string;
    };
    expect((JSON.parse(sns.default) as Alert).runbook).toBe('https://wiki.example.com/runbooks/logins');
  });

  it('config runbookBaseUrl: taken as a base ending in /, refused with its reason when it is not an https URL', () => {
    expect(parseConfig({ runbookBaseUrl: 'https://github.com/acme/sentinel/blob/main' }).runbookBaseUrl).toBe(BASE);
    expect(parseConfig({}).runbookBaseUrl).toBeUndefined();
    expect(() => parseConfig({ runbookBaseUrl: 'http://github.com/acme/sentinel/' })).toThrow(/runbookBaseUrl.*https URL/s);
  });

  it('RUNBOOK_BASE_URL: read as the config wrote it; not an https URL, the cold start fails naming the variable', () => {
    const before = process.env.RUNBOOK_BASE_URL;
    try {
      delete process.env.RUNBOOK_BASE_URL;
      expect(runbookBaseEnv()).toBeUndefined();
      process.env.RUNBOOK_BASE_URL = BASE;
      expect(runbookBaseEnv()).toBe(BASE);
      process.env.RUNBOOK_BASE_URL = 'ftp://example.com/';
      expect(() => runbookBaseEnv()).toThrow(/RUNBOOK_BASE_URL.*https URL/);
    } finally {
      if (before === undefined) delete process.env.RUNBOOK_BASE_URL;
      else process.env.RUNBOOK_BASE_URL = before;
    }
  });
});
