import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLambdaEvent, encodePayload } from '../src/decode/cloudwatch';
import { decodeKinesisRecord, kinesisEventOf } from '../src/decode/kinesis';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { MAX_MESSAGE_CHARS, Normalizer } from '../src/parse/normalize';
import { rule } from './helpers';

const payload = (messages: string[]) => ({
  owner: '123456789012',
  logGroup: '/app/x',
  logStream: 'stream-1',
  subscriptionFilters: ['f'],
  messageType: 'DATA_MESSAGE' as const,
  logEvents: messages.map((message, i) => ({ id: `id${i}`, timestamp: 1_740_000_000_000 + i, message })),
});

describe('decode CloudWatch Logs subscription events', () => {
  it('decodes base64(gzip(json)) into the payload', () => {
    const r = decodeLambdaEvent(encodePayload(payload(['hello'])));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.payload.logEvents[0]?.message).toBe('hello');
  });

  it('tells base64 from anything else exactly as a full check of the text does', () => {
    // The full check: whitespace aside, base64 characters in groups of four, padding only at the end.
    const isBase64 = (data: string) => {
      const compact = data.replace(/\s+/g, '');
      return compact.length > 0 && compact.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(compact);
    };
    const gzipped = gzipSync(Buffer.from(JSON.stringify(payload(['hello'])))).toString('base64');
    const char = fc.constantFrom(...'AZaz09+/==  \n\t!%.:é'.split(''), gzipped.slice(0, 8), gzipped.slice(8, 12));
    fc.assert(
      fc.property(fc.array(char, { maxLength: 40 }), (chars) => {
        const data = chars.join('');
        const r = decodeLambdaEvent({ awslogs: { data } });
        expect(r.ok ? 'ok' : r.skip.reason !== 'not_base64', data).toBe(isBase64(data) ? (r.ok ? 'ok' : true) : false);
      }),
      { numRuns: 2000 },
    );
    // Wrapped at 76 characters (as MIME tools write it): still the payload.
    const wrapped = gzipped.replace(/.{76}/g, '$&\n');
    const r = decodeLambdaEvent({ awslogs: { data: wrapped } });
    expect(r.ok && r.payload.logEvents[0]?.message).toBe('hello');
  });

  it.each([
    ['not base64', { awslogs: { data: '%%% not base64 %%%' } }, 'not_base64'],
    ['not gzip', { awslogs: { data: Buffer.from('plain text').toString('base64') } }, 'not_gzip'],
    ['not JSON', { awslogs: { data: gzipSync(Buffer.from('{nope')).toString('base64') } }, 'not_json'],
    ['wrong shape', { awslogs: { data: gzipSync(Buffer.from('{"logGroup":5}')).toString('base64') } }, 'bad_shape'],
    ['not a subscription event', { Records: [] }, 'bad_shape'],
    // What the check by hand lets through, zod must accept: an event with any other key is not one.
    ['a key beside awslogs', { ...encodePayload(payload(['x'])), extra: 1 }, 'bad_shape'],
    ['a key beside data', { awslogs: { ...encodePayload(payload(['x'])).awslogs, extra: 1 } }, 'bad_shape'],
    ['data that is not text', { awslogs: { data: 5 } }, 'bad_shape'],
    ['awslogs that is a list', { awslogs: [encodePayload(payload(['x'])).awslogs.data] }, 'bad_shape'],
    [
      'a timestamp past the year 9999 (a replayed file; CloudWatch takes none 2 hours ahead)',
      encodePayload({ ...payload(['x']), logEvents: [{ id: 'a', timestamp: 8_640_000_000_000_000, message: 'x' }] }),
      'bad_shape',
    ],
  ])('reports %s with reason and location', (_name, event, reason) => {
    const r = decodeLambdaEvent(event, 'invocation 1');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.skip.reason).toBe(reason);
      expect(r.skip.where).toBe('invocation 1');
      expect(r.skip.detail.length).toBeGreaterThan(10);
    }
  });

  it("inflates whatever the gzip trailer's size says: several members, a short or a wrong trailer decode or fail as gunzip has them", () => {
    const json = JSON.stringify(payload(['a'.repeat(5000), 'b', 'c'.repeat(70_000)]));
    const gz = gzipSync(Buffer.from(json));
    const event = (bytes: Buffer) => ({ awslogs: { data: bytes.toString('base64') } });
    // Two gzip members (the trailer is the last one's, a few bytes): the whole JSON all the same.
    const cut = 3000;
    const twoMembers = Buffer.concat([gzipSync(Buffer.from(json.slice(0, cut))), gzipSync(Buffer.from(json.slice(cut)))]);
    const r = decodeLambdaEvent(event(twoMembers));
    expect(r.ok && JSON.stringify(r.payload)).toBe(json);
    // A trailer claiming another size (4 GB, or 1 byte) is not gzip, as gunzip checks it.
    for (const size of [0xffffffff, 1]) {
      const lying = Buffer.from(gz);
      lying.writeUInt32LE(size, lying.length - 4);
      const bad = decodeLambdaEvent(event(lying));
      expect(bad.ok ? 'decoded' : bad.skip.reason).toBe('not_gzip');
    }
    const short = decodeLambdaEvent(event(gz.subarray(0, 10)));
    expect(short.ok ? 'decoded' : short.skip.reason).toBe('not_gzip');
  });

  it('skips CONTROL_MESSAGE payloads without processing events', async () => {
    const control = { ...payload(['CWL CONTROL MESSAGE: Checking health of destination Lambda']), messageType: 'CONTROL_MESSAGE' as const };
    const det = new Detector({ rules: [rule({ match: { message: 'x' } })] }, new MemoryStateStore());
    const r = await processPayload(control, new Normalizer(), det);
    expect(r.eventsIn).toBe(0);
    expect(r.alerts).toEqual([]);
  });

  it('counts and skips binary, oversized and truncated-JSON events; the rest of the batch still runs', async () => {
    const det = new Detector({ rules: [rule({ match: { 'message|contains': 'needle' } })] }, new MemoryStateStore());
    const p = payload([
      '\u0000\u0001binary',
      'x'.repeat(MAX_MESSAGE_CHARS + 1),
      '{"truncated": "json',
      'a needle in the batch',
      '{"msg":"needle json"}',
    ]);
    const r = await processPayload(p, new Normalizer(), det);
    expect(r.eventsIn).toBe(5);
    expect(r.eventsProcessed).toBe(2);
    expect(Object.fromEntries(r.skips.counts)).toEqual({ binary_message: 1, oversized_message: 1, malformed_json: 1 });
    expect(r.skips.samples.map((s) => s.where)).toEqual([
      '/app/x stream-1 event id0',
      '/app/x stream-1 event id1',
      '/app/x stream-1 event id2',
    ]);
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]?.count).toBe(2);
  });
});

describe('decode Kinesis records (the hub)', () => {
  const [record] = kinesisEventOf([payload(['hello'])], { firstSequence: 7n }).Records;
  if (!record) throw new Error('no record');
  it('decodes a record: its payload, sequence number and arrival in the stream', () => {
    const item = decodeKinesisRecord({ ...record, kinesis: { ...record.kinesis, approximateArrivalTimestamp: 1_740_000_000.5 } });
    expect(item).toEqual({ ok: true, sequenceNumber: '7', payload: payload(['hello']), arrivedAt: 1_740_000_000_500 });
    const { approximateArrivalTimestamp: _, ...noArrival } = record.kinesis;
    const without = decodeKinesisRecord({ ...record, kinesis: noArrival });
    expect(without.ok && 'arrivedAt' in without).toBe(false);
  });
  // What the check by hand lets through, zod must accept: each of these is a bad_shape skip.
  it.each([
    ['another source', { ...record, eventSource: 'aws:sqs' }, '7'],
    ['no event id', { ...record, eventID: undefined }, '7'],
    ['data that is not text', { ...record, kinesis: { ...record.kinesis, data: 5 } }, '7'],
    ['an empty sequence number', { ...record, kinesis: { ...record.kinesis, sequenceNumber: '' } }, ''],
    ['a partition key that is not text', { ...record, kinesis: { ...record.kinesis, partitionKey: 5 } }, '7'],
    ['an arrival that is not a number', { ...record, kinesis: { ...record.kinesis, approximateArrivalTimestamp: '1740000000' } }, '7'],
    ['a kinesis part that is a list', { ...record, kinesis: [record.kinesis] }, undefined],
  ])('reports %s as a bad shape, naming the sequence number it has', (_name, raw, sequenceNumber) => {
    const item = decodeKinesisRecord(raw, 'record 1');
    expect(item.ok).toBe(false);
    if (!item.ok) {
      expect(item.skip.reason).toBe('bad_shape');
      expect(item.skip.detail).toMatch(/^not a Kinesis record: /);
      expect(item.sequenceNumber).toBe(sequenceNumber);
    }
  });
});

describe('decode limits', () => {
  it('a gzip bomb is too_large, not bad gzip', () => {
    const bomb = gzipSync(Buffer.alloc(70 * 1024 * 1024, 0x20));
    const r = decodeLambdaEvent({ awslogs: { data: bomb.toString('base64') } }, 'bomb');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.skip).toMatchObject({ reason: 'too_large', where: 'bomb' });
  });
});
