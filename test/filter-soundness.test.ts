import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { SkipLedger } from '../src/decode/skips';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { normalizePayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { compileFilterPattern, filterPasses } from '../src/rules/filter-pattern';
import { SourceDefinition } from '../src/schema/rule';
import { linesPayload, realLogLines, rule } from './helpers';

/**
 * The subscription filter's one promise, on rules and lines nobody here wrote: a line a rule
 * matches is never dropped. Random rules over the fields apps log, against random JSON lines
 * (nested, under mapped names, in a container runtime's wrapper, as journald records) and real
 * text lines, in log groups of every kind (a JSON app's source with maps and lookups, a function's
 * group, a named text source, a group no source names).
 */

const { pack } = loadPack(['rules'], { checkRegexes: false });
const apps = SourceDefinition.parse({
  source: {
    name: 'apps',
    logGroups: ['/apps/*'],
    format: 'json',
    fieldMap: { status: 'http.response.status_code', outcome: 'event.outcome', who: 'user.name', act: 'event.action' },
    valueMap: { 'event.outcome': { denied: 'failure', ok: 'success' }, 'log.level': { E: 'error' } },
    lookups: [{ from: 'event.action', to: 'event.category', values: { user_login: 'authentication', export: 'data' } }],
  },
});
const sources = [...pack.sources, apps];
const normalizer = new Normalizer(sources);
const GROUPS = ['/apps/api', '/aws/lambda/orders', '/var/log/auth.log', '/sentinel-demo/web/nginx', '/unnamed/app'];

const FIELDS = [
  'http.response.status_code',
  'log.level',
  'user.name',
  'event.action',
  'event.category',
  'event.outcome',
  'message',
  'source.ip',
  'process.name',
  'url.original',
] as const;
const VALUES = [
  '503',
  '500',
  '401',
  '200',
  '50',
  '30',
  'error',
  'ERR',
  'E',
  'fatal',
  'root',
  'admin',
  'user_login',
  'export',
  'denied',
  'ok',
  'failure',
  'success',
  'authentication',
  'sshd',
  'Failed password',
  '10.0.0.5',
  'timed out',
  'İ',
  'wifi',
];
const KEYS = [
  'status',
  'statusCode',
  'level',
  'lvl',
  'severity',
  'user',
  'username',
  'who',
  'outcome',
  'act',
  'msg',
  'message',
  'ip',
  'client_ip',
  'requestId',
  'path',
];

const value = fc.constantFrom(...VALUES);
const scalar = fc.oneof(value, fc.constantFrom(503, 500, 401, 200, 50, 30, 3));
/** A JSON object an app might log: mapped names, nested ECS names, stray numbers. */
const jsonObject = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...KEYS), scalar, { maxKeys: 5 }),
    fc.option(fc.record({ http: fc.record({ response: fc.record({ status_code: scalar }) }) }), { nil: undefined }),
    fc.option(fc.record({ event: fc.record({ action: value, outcome: value }) }), { nil: undefined }),
    fc.option(fc.record({ log: fc.record({ level: scalar }) }), { nil: undefined }),
  )
  .map(([flat, http, event, log]) => ({ ...flat, ...http, ...event, ...log }));
const textLine = fc.constantFrom(
  ...realLogLines('OpenSSH_2k.log', 200),
  ...realLogLines('Linux_2k.log', 200),
  ...realLogLines('apache_access_10k.log', 100),
  'START RequestId: 6b33ab2e-4618-45bf-aed7-ac4f95025666 Version: $LATEST',
  '2026-03-03T03:12:41.000Z\t6b33ab2e-4618-45bf-aed7-ac4f95025666\tERROR\tpayment provider unreachable',
  '2026-03-03T03:12:44.000Z 6b33ab2e-4618-45bf-aed7-ac4f95025666 Task timed out after 3.00 seconds',
  '203.0.113.9 - - [03/Mar/2026:03:12:40 +0000] "GET /admin HTTP/1.1" 503 1 "-" "curl/8.5"',
);
const line = fc.oneof(
  textLine,
  jsonObject.map((o) => JSON.stringify(o)),
  // A container runtime's wrapper: the line inside, and fields of its own.
  fc
    .tuple(
      fc.oneof(
        textLine,
        jsonObject.map((o) => JSON.stringify(o)),
      ),
      jsonObject,
    )
    .map(([log, meta]) => JSON.stringify({ log, stream: 'stdout', ...meta })),
  // A journald record: the syslog line it stands for, a priority.
  fc
    .tuple(fc.constantFrom('sshd', 'sudo', 'cron'), value, fc.integer({ min: 0, max: 7 }))
    .map(([comm, message, priority]) => JSON.stringify({ MESSAGE: message, _COMM: comm, _HOSTNAME: 'h', PRIORITY: String(priority) })),
);

/** One condition a rule may hold on a field: equality, a needle, or a block of a hundred. */
const condition = fc.oneof(
  fc.tuple(fc.constantFrom(...FIELDS), fc.array(scalar, { minLength: 1, maxLength: 3 })).map(([f, vs]) => ({ [f]: vs })),
  fc
    .tuple(fc.constantFrom(...FIELDS), fc.constantFrom('contains', 'startswith', 'endswith'), value)
    .map(([f, op, v]) => ({ [`${f}|${op}`]: v })),
  fc.constantFrom(5, 4, 2).map((h) => ({ 'http.response.status_code|gte': h * 100, 'http.response.status_code|lt': (h + 1) * 100 })),
);
const selection = fc
  .array(condition, { minLength: 1, maxLength: 3 })
  .chain((conds) => fc.oneof(fc.constant(Object.assign({}, ...conds)), fc.constant({ any: conds })));

describe('subscription filter soundness (property)', () => {
  it('a line a random rule matches is never dropped by the group’s compiled pattern', () => {
    let matched = 0;
    fc.assert(
      fc.property(selection, fc.constantFrom(...GROUPS), fc.array(line, { minLength: 1, maxLength: 12 }), (match, group, lines) => {
        const r = rule({ id: 'x.random', match });
        const events = normalizePayload(linesPayload(group, lines, 0), normalizer, new SkipLedger());
        const hits = [...new Detector({ rules: [r] }, new MemoryStateStore()).matchAll(events).values()].flat();
        const pattern = compileFilterPattern(group, [r], sources).pattern;
        for (const e of hits) {
          if (pattern !== '') matched++;
          const raw = lines[Number(e['cloudwatch.event_id'])] ?? '';
          expect(filterPasses(pattern, raw), `${pattern} drops ${raw} (${group}, ${JSON.stringify(match)})`).toBe(true);
        }
      }),
      { numRuns: 4000 },
    );
    // The property has teeth: many matched lines went through a pattern, not a deliver-everything fallback.
    expect(matched).toBeGreaterThan(300);
  });
});
