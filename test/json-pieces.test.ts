import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAwslogsData } from '../src/decode/cloudwatch';
import { parseInPieces, parseJsonBytes, pieceCuts } from '../src/decode/json-pieces';

// Messages that sit badly at a cut: the cut's own text inside a line, multi-byte characters,
// a trailing backslash before the closing quote, quotes and braces of a JSON line.
const AWKWARD = [
  '},{"id":"x"}',
  'naïve ünïcode',
  '日本語のログ',
  'emoji 🔐🔑',
  'ends with a backslash \\',
  '{"nested":{"id":"1"}}',
  '\u0000\u001f',
];

function payloadText(count: number, message: (i: number) => string, extra: (i: number) => Record<string, unknown> = () => ({})): string {
  const logEvents = Array.from({ length: count }, (_, i) => ({
    id: String(37_000_000_000_000_000_000n + BigInt(i)),
    timestamp: 1_764_547_200_000 + i,
    message: message(i),
    ...extra(i),
  }));
  return JSON.stringify({
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: '/app/web',
    logStream: 'i-0abc',
    subscriptionFilters: ['sentinel'],
    logEvents,
  });
}

const nginxLine = (i: number) =>
  `10.0.${i % 250}.${i % 7} - - [01/Dec/2025:00:00:${String(i % 60).padStart(2, '0')} +0000] "GET /api/items/${i} HTTP/1.1" 200 512 "-" "curl/8.5 ${AWKWARD[i % AWKWARD.length]}"`;

describe('payload JSON parsed in pieces', () => {
  it('parses a busy web server payload in pieces of tens of KB, to exactly what one JSON.parse gives', () => {
    const text = payloadText(3000, nginxLine);
    const bytes = Buffer.from(text);
    const cuts = pieceCuts(bytes);
    expect(cuts?.length).toBeGreaterThan(10);
    const ends = [0, ...(cuts ?? []), bytes.length];
    const longest = Math.max(...ends.slice(1).map((end, i) => end - (ends[i] ?? 0)));
    expect(longest).toBeLessThan(40 * 1024);
    expect(parseInPieces(bytes, cuts ?? [])?.value).toEqual(JSON.parse(text));
    expect(parseJsonBytes(bytes)).toEqual(JSON.parse(text));
  });

  it('parses a small payload whole', () => {
    expect(pieceCuts(Buffer.from(payloadText(20, nginxLine)))).toBeUndefined();
  });

  it('keeps key order and fields after the events, and events with extracted fields', () => {
    const text = payloadText(2000, nginxLine, (i) => ({ extractedFields: { status: String(200 + (i % 5)), ip: `10.0.0.${i % 9}` } }));
    const withTrailer = `${text.slice(0, -1)},"policyLevel":"ACCOUNT_LEVEL_POLICY"}`;
    const bytes = Buffer.from(withTrailer);
    expect(parseInPieces(bytes, pieceCuts(bytes) ?? [])).toBeDefined();
    const parsed = parseJsonBytes(bytes);
    expect(parsed).toEqual(JSON.parse(withTrailer));
    expect(Object.keys(parsed as object)).toEqual(Object.keys(JSON.parse(withTrailer)));
  });

  it('answers what JSON.parse answers where the cuts are not between events', () => {
    const big = payloadText(2000, nginxLine);
    const events = JSON.stringify(JSON.parse(big).logEvents);
    const docs = [
      // A later key of the same name replaces the events the cuts fell between.
      `${big.slice(0, -1)},"logEvents":[{"id":"1","timestamp":1,"message":"later"}]}`,
      // The cut text in an array that is not the events.
      `{"other":${events},"logEvents":[]}`,
      `{"logEvents":[],"nested":{"logEvents":${events}}}`,
      // An array of events at the top.
      events,
    ];
    for (const doc of docs) {
      const bytes = Buffer.from(doc);
      expect(pieceCuts(bytes)?.length).toBeGreaterThan(2);
      expect(parseInPieces(bytes, pieceCuts(bytes) ?? [])).toBeUndefined();
      expect(parseJsonBytes(bytes)).toEqual(JSON.parse(doc));
    }
  });

  it('throws the error one JSON.parse throws for a broken payload', () => {
    const big = payloadText(2000, nginxLine);
    for (const doc of [
      big.slice(0, -2),
      big.replace('},{"id":"', '},,{"id":"'),
      `${big}x`,
      big.replace(/"timestamp":1764547200500/, '"timestamp":1764547200500"'),
    ]) {
      expect(() => JSON.parse(doc)).toThrow();
      expect(() => parseJsonBytes(Buffer.from(doc))).toThrow(
        (() => {
          try {
            JSON.parse(doc);
          } catch (err) {
            return err instanceof Error ? err.message : String(err);
          }
          return 'parsed';
        })(),
      );
    }
  });

  it('decodes invalid UTF-8 at a cut as the whole payload decodes', () => {
    const text = payloadText(2000, nginxLine);
    const bytes = Buffer.from(text);
    const cuts = pieceCuts(bytes) ?? [];
    expect(cuts.length).toBeGreaterThan(2);
    // A stray lead byte at the end of the line before a cut, a stray continuation byte at the start of the next event's id.
    const cut = cuts[1] ?? 0;
    const idStart = cut + '},{"id":"'.length;
    const broken = Buffer.concat([
      bytes.subarray(0, cut - 1),
      Buffer.from([0xe6]),
      bytes.subarray(cut - 1, idStart),
      Buffer.from([0x80]),
      bytes.subarray(idStart),
    ]);
    expect(pieceCuts(broken)).toContain(cut + 1);
    expect(parseInPieces(broken, pieceCuts(broken) ?? [])).toBeDefined();
    expect(parseJsonBytes(broken)).toEqual(JSON.parse(broken.toString('utf8')));
  });

  it('equals JSON.parse on generated payloads of any text', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(...AWKWARD)), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 300, max: 900 }),
        (parts, count) => {
          const text = payloadText(count, (i) => `${parts[i % parts.length]} ${'x'.repeat(i % 120)}`);
          const bytes = Buffer.from(text);
          const cuts = pieceCuts(bytes);
          if (cuts) expect(parseInPieces(bytes, cuts)?.value).toEqual(JSON.parse(text));
          expect(parseJsonBytes(bytes)).toEqual(JSON.parse(text));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('is what the detector decodes a large subscription payload with', () => {
    const text = payloadText(3000, nginxLine);
    const decoded = decodeAwslogsData(gzipSync(Buffer.from(text)).toString('base64'));
    expect(decoded.ok && decoded.payload).toEqual(JSON.parse(text));
  });
});
