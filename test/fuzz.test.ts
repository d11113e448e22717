import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { decodeLambdaEvent, type SubscriptionPayload } from '../src/decode/cloudwatch';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { Normalizer } from '../src/parse/normalize';
import { readRuleFiles } from '../src/rules/read-files';
import { buildRulePack, formatRuleError } from '../src/rules/rule-pack';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const normalizer = new Normalizer(pack.sources);
const RUNS = 150;

const encode = (value: unknown) => ({ awslogs: { data: gzipSync(JSON.stringify(value)).toString('base64') } });

/** Secrets the alerts must never carry, whatever line they hide in. */
const secret = fc.oneof(
  fc.stringMatching(/^AKIA[A-Z0-9]{16}$/).map((s) => ({ text: `key ${s} used`, secret: s })),
  fc.stringMatching(/^[A-Za-z0-9]{12,24}$/).map((s) => ({ text: `password=${s}&next=1`, secret: s })),
  fc.stringMatching(/^ghp_[A-Za-z0-9]{36}$/).map((s) => ({ text: `token ${s}`, secret: s })),
  fc.stringMatching(/^[A-Za-z0-9]{16,32}$/).map((s) => ({ text: `Authorization: Bearer ${s}`, secret: s })),
);

const logLine = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.json({ maxDepth: 4 }),
  fc.constantFrom(
    'Mar  3 03:12:10 bastion-1 sshd[2231]: Failed password for invalid user oracle from 203.0.113.50 port 52144 ssh2',
    '203.0.113.99 - - [03/Mar/2025:09:40:00 +0000] "GET /api/v1/search HTTP/1.1" 403 12 "-" "curl/8"',
    '{"timestamp":"2025-03-03T03:12:40Z","event_type":"user_login","authentication":{"user_id":"x","source_ip":"198.51.100.1","result":"failure"}}',
    '\u0000\u0001binary',
    '{"truncated": "json',
  ),
);

describe('fuzz: payloads and log events', () => {
  it('random Lambda events never throw: they decode or are skipped with a reason and location', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({ awslogs: fc.record({ data: fc.string() }) }),
          fc.json().map(encode),
          fc.uint8Array().map((b) => ({ awslogs: { data: Buffer.from(b).toString('base64') } })),
        ),
        (event) => {
          const r = decodeLambdaEvent(event, 'fuzz');
          if (!r.ok) {
            expect(r.skip.where).toContain('fuzz');
            expect(r.skip.detail.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('mutated valid payloads never throw', () => {
    const valid = gzipSync(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        owner: '1',
        logGroup: '/g',
        logStream: 's',
        subscriptionFilters: [],
        logEvents: [{ id: '1', timestamp: 1, message: 'm' }],
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (flips) => {
        const bytes = Buffer.from(valid);
        for (const [at, v] of flips) bytes[at] = v;
        const r = decodeLambdaEvent({ awslogs: { data: bytes.toString('base64') } });
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: RUNS },
    );
  });

  it('any batch of log lines is processed or skipped-and-counted, and planted secrets never leave in alerts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/sentinel-demo/bastion/sshd', '/sentinel-demo/web/nginx', '/sentinel-demo/identity/audit', '/unknown/group'),
        fc.array(
          fc.oneof(
            logLine,
            secret.map((s) => s.text),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        fc.array(secret, { minLength: 1, maxLength: 3 }),
        async (logGroup, lines, secrets) => {
          // Secrets ride inside lines that fire rules (a flood from one source), so they reach alert samples.
          const flood = Array.from(
            { length: 30 },
            (_, i) =>
              `203.0.113.7 - - [03/Mar/2025:09:40:${String(i % 60).padStart(2, '0')} +0000] "GET /login?${secrets[i % secrets.length]?.text.replaceAll(' ', '%20')} HTTP/1.1" 403 1 "-" "x"`,
          );
          const messages = [...lines, ...flood];
          const payload: SubscriptionPayload = {
            messageType: 'DATA_MESSAGE',
            logGroup,
            logStream: 's',
            logEvents: messages.map((message, i) => ({ id: String(i), timestamp: Date.parse('2025-03-03T09:40:00Z') + i * 1000, message })),
          };
          const detector = new Detector(pack, new MemoryStateStore());
          const r = await processPayload(payload, normalizer, detector);
          expect(r.eventsProcessed + r.skips.events).toBe(r.eventsIn);
          expect(r.eventsIn).toBe(messages.length);
          const out = JSON.stringify(r.alerts);
          for (const s of secrets) expect(out).not.toContain(s.secret);
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** Lines built to hurt: depth, width, prototype keys, broken Unicode, size, NULs, overflowing numbers. */
const hostileLine = fc.oneof(
  fc.integer({ min: 1000, max: 20_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => `${'['.repeat(n)}1${']'.repeat(n)}`),
  fc.integer({ min: 1000, max: 100_000 }).map((n) => `{"xs":[${'0,'.repeat(n)}0]}`),
  fc
    .array(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'), {
      minLength: 1,
      maxLength: 4,
    })
    .map((keys) => `{${keys.map((k) => `"${k}":{"polluted":"yes","prototype":{"polluted":"yes"}}`).join(',')}}`),
  fc.constantFrom('\\ud800', '\\udfff', '\\ud83d').map((u) => `{"user":"${u}x","msg":"a${u}"}`),
  fc.constantFrom('\ud800', '\udfff').map((u) => `Mar  3 03:12:00 h sshd[1]: Invalid user a${u} from 203.0.113.9`),
  fc.integer({ min: 256 * 1024, max: 1024 * 1024 }).map((n) => 'x'.repeat(n)),
  fc.string({ maxLength: 50 }).map((t) => `${t}\u0000${t}`),
  fc.constantFrom('{"n":1e999}', '{"n":-1e999,"time":1e999}', '{"status":1e400,"level":1e309}', '{"time":-1}'),
  // API Gateway's XML and CLF presets, and Keycloak's admin events, at their worst.
  fc.integer({ min: 1000, max: 50_000 }).map((n) => `<request id="c6af9ac6"> ${'<a>'.repeat(n)}`),
  fc.integer({ min: 1000, max: 50_000 }).map((n) => `<request id="c6af9ac6"> ${'<a>1</a> '.repeat(n)}</request>`),
  fc.constant('<request id="c6af9ac6"> <constructor>1</constructor> <toString>2</toString> <__proto__>3</__proto__> </request>'),
  fc
    .integer({ min: 1000, max: 100_000 })
    .map((n) => `198.51.100.7 ${'a'.repeat(n)} - [03/Mar/2025:03:12:40 +0000] "GET /x HTTP/1.1" 200 1 ${'b'.repeat(n)}`),
  fc.integer({ min: 1000, max: 100_000 }).map((n) => `198.51.100.7,${','.repeat(n)}03/Mar/2025:03:12:40 +0000,GET`),
  fc
    .integer({ min: 1000, max: 20_000 })
    .map(
      (n) =>
        `2024-05-01 12:00:00,123 INFO  [org.keycloak.events] (t) operationType="CREATE", resourceType="REALM_ROLE_MAPPING", representation="${'[\\"'.repeat(n)}"`,
    ),
  // MySQL's audit log: what a client sends is written unescaped around the server's fields.
  fc
    .integer({ min: 1000, max: 50_000 })
    .map((n) => `20250303 04:10:01,db-1,${'1,0,CONNECT,'.repeat(n)}203.0.113.6,44,0,FAILED_CONNECT,,,1045`),
  fc
    .integer({ min: 1000, max: 50_000 })
    .map((n) => `20250303 04:10:01,db-1,${','.repeat(n)},203.0.113.6,44,0,FAILED_CONNECT,${',,1'.repeat(n)},,1045,SOCKET`),
  fc.integer({ min: 1000, max: 50_000 }).map((n) => `1740000000000000,db-1,app,10.0.0.5,43,7,QUERY,orders,'${"\\'".repeat(n)}',0,,`),
);

describe('fuzz: hostile lines', () => {
  it('never throw, never stop the batch, never pollute a prototype', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(hostileLine, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('/sentinel-demo/identity/audit', '/var/log/auth.log', '/unknown', '/aws/rds/instance/billing-db/audit'),
        async (lines, logGroup) => {
          const messages = [...lines, '{"event_type":"user_login","authentication":{"user_id":"ok","result":"success"}}'];
          const payload: SubscriptionPayload = {
            messageType: 'DATA_MESSAGE',
            logGroup,
            logStream: 's',
            logEvents: messages.map((message, i) => ({ id: String(i), timestamp: Date.parse('2025-03-03T09:40:00Z') + i * 1000, message })),
          };
          const r = await processPayload(payload, normalizer, new Detector(pack, new MemoryStateStore()));
          expect(r.eventsProcessed + r.skips.events).toBe(r.eventsIn);
          expect(r.eventsProcessed).toBeGreaterThanOrEqual(1); // the ordinary line always gets through
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          const benign = normalizer.normalize('{"a":1}', { logGroup, logStream: 's', id: 'x', timestamp: 1 });
          if (!benign.ok) throw new Error(benign.skip.detail);
          // Events inherit nothing: their prototype is empty and has none of its own.
          const proto: object | null = Object.getPrototypeOf(benign.event);
          expect(proto === null || (Reflect.ownKeys(proto).length === 0 && Object.getPrototypeOf(proto) === null)).toBe(true);
          expect(benign.event.polluted).toBeUndefined();
          for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
            expect(benign.event[name], name).toBeUndefined();
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('lines that name their own fields', () => {
  it('become hash-table events (no per-name hidden class for an attacker to mint); fixed text patterns do not', () => {
    const event = (line: string) => {
      const r = normalizer.normalize(
        line,
        { logGroup: '/unknown', logStream: 's', id: 'x', timestamp: 1 },
        normalizer.sourceFor('/unknown', line),
      );
      if (!r.ok) throw new Error(r.skip.detail);
      return r.event;
    };
    const keys = '{"h-1f3a":"x","h-77c2":"y"}';
    expect(Object.getPrototypeOf(event(keys))).toBeNull(); // a JSON line
    expect(Object.getPrototypeOf(event(`[2025-03-03 10:00:00] production.WARNING: Failed login ${keys}`))).toBeNull(); // a JSON context
    const nginx = event('203.0.113.9 - - [03/Mar/2025:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8"');
    expect(nginx['http.request.method']).toBe('GET');
    expect(Object.getPrototypeOf(nginx)).not.toBeNull(); // a fixed shape: the in-object layout (event-record.ts)
  });
});

describe('fuzz: rule files', () => {
  const shipped = readRuleFiles(['rules']).files;

  it('random documents never throw: each gets errors naming its file', () => {
    fc.assert(
      fc.property(fc.array(fc.anything(), { maxLength: 5 }), (docs) => {
        const files = docs.map((doc, i) => ({ file: `fuzz/${i}.yml`, doc }));
        const { errors } = buildRulePack(files);
        for (const e of errors) expect(formatRuleError(e)).toMatch(/^fuzz\/\d\.yml:/);
      }),
      { numRuns: RUNS },
    );
  });

  it('shipped rules with one field replaced by a random value fail validation with file, rule id and path, or stay valid', () => {
    fc.assert(
      fc.property(
        fc.nat(shipped.length - 1),
        fc.constantFrom('severity', 'match', 'threshold', 'title', 'riskScore', 'tags', 'sequence', 'suppress'),
        fc.anything(),
        (index, key, value) => {
          const original = shipped[index];
          if (!original || typeof original.doc !== 'object' || original.doc === null) return;
          const doc = { ...original.doc, [key]: value };
          const { errors } = buildRulePack([{ file: original.file, doc }]);
          for (const e of errors) {
            expect(e.file).toBe(original.file);
            expect(formatRuleError(e).length).toBeGreaterThan(original.file.length + 2);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
