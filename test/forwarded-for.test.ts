import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPack } from '../src/cli/load-pack';
import { Detector } from '../src/engine/detector';
import { MemoryStateStore } from '../src/engine/memory-store';
import { processPayload } from '../src/engine/pipeline';
import { TrustedProxies } from '../src/parse/forwarded-for';
import { Normalizer } from '../src/parse/normalize';
import { SourceDefinition } from '../src/schema/rule';
import { linesPayload } from './helpers';

const { pack } = loadPack(['rules'], { checkRegexes: false });
const T0 = Date.parse('2025-03-03T08:00:00Z');
/** nginx's default `main` format: combined plus "$http_x_forwarded_for". */
const mainLine = (remote: string, xff: string, second = 0) =>
  `${remote} - - [03/Mar/2025:08:00:${String(second % 60).padStart(2, '0')} +0000] "GET /login HTTP/1.1" 200 512 "-" "curl/8.5" "${xff}"`;

describe('the client behind a load balancer (X-Forwarded-For)', () => {
  const normalizer = new Normalizer(pack.sources);
  const read = (line: string, n = normalizer) => {
    const r = n.normalize(line, { logGroup: '/sentinel-demo/web/nginx', logStream: 's', id: '1', timestamp: T0 });
    if (!r.ok) throw new Error(r.skip.detail);
    return r.event;
  };

  it('through an ALB in the VPC the client is the address the ALB appended; the ALB is kept aside', () => {
    const e = read(mainLine('10.0.1.23', '203.0.113.7'));
    expect(e).toMatchObject({ 'source.ip': '203.0.113.7', 'source.proxy.address': '10.0.1.23', 'http.response.status_code': 200 });
  });

  it('what a client writes into the header proves nothing: the first untrusted address from the right wins', () => {
    expect(read(mainLine('10.0.1.23', '1.1.1.1, 203.0.113.7'))['source.ip']).toBe('203.0.113.7');
    expect(read(mainLine('10.0.1.23', '10.9.9.9, 203.0.113.7, 10.0.2.5'))['source.ip']).toBe('203.0.113.7');
    // A client talking to nginx directly: its own header is ignored.
    const direct = read(mainLine('198.51.100.4', '10.0.0.1'));
    expect(direct['source.ip']).toBe('198.51.100.4');
    expect(direct['source.proxy.address']).toBeUndefined();
    // Malformed on the right: nothing further left can be trusted, the connection address stays.
    expect(read(mainLine('10.0.1.23', '203.0.113.7, unknown'))['source.ip']).toBe('10.0.1.23');
    expect(read(mainLine('10.0.1.23', '-'))['source.ip']).toBe('10.0.1.23');
    // Ports and bracketed IPv6, as some proxies write them.
    expect(read(mainLine('10.0.1.23', '203.0.113.7:51234'))['source.ip']).toBe('203.0.113.7');
    expect(read(mainLine('10.0.1.23', '[2001:db8::7]:443'))['source.ip']).toBe('2001:db8::7');
    // The plain combined format has no header: unchanged.
    const combined = read('10.0.1.23 - - [03/Mar/2025:08:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8.5"');
    expect(combined['source.ip']).toBe('10.0.1.23');
  });

  it('a source names its own proxies (CloudFront in front of the ALB)', () => {
    const withCloudFront = new Normalizer([
      SourceDefinition.parse({
        source: {
          name: 'edge',
          logGroups: ['/sentinel-demo/web/*'],
          parsers: ['nginx_combined'],
          trustedProxies: ['10.0.0.0/8', '130.176.0.0/16'],
        },
      }),
    ]);
    expect(read(mainLine('10.0.1.23', '198.51.100.9, 130.176.1.1'), withCloudFront)['source.ip']).toBe('198.51.100.9');
    // With the defaults, the CloudFront edge is the nearest untrusted address.
    expect(read(mainLine('10.0.1.23', '198.51.100.9, 130.176.1.1'))['source.ip']).toBe('130.176.1.1');
    expect(() => SourceDefinition.parse({ source: { name: 'x', logGroups: ['a'], trustedProxies: ['10.0.0.0/33'] } })).toThrow(
      /expected a CIDR range/,
    );
  });

  it('a padded header is read for 32 hops at most, and no header throws', () => {
    const proxies = new TrustedProxies();
    const behind = (hops: number) => `203.0.113.7, ${'10.0.0.1, '.repeat(hops - 1)}10.0.0.2`;
    expect(proxies.clientOf('10.0.1.23', behind(31))).toBe('203.0.113.7');
    expect(proxies.clientOf('10.0.1.23', behind(32))).toBe('10.0.0.1');
    expect(proxies.clientOf('10.0.1.23', behind(100_000))).toBe('10.0.0.1');
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (header) => {
        const client = proxies.clientOf('10.0.1.23', header);
        if (client !== undefined) expect(header).toContain(client);
      }),
    );
  });

  it('a flood through the ALB alerts on the client, and many clients through it raise nothing', async () => {
    const run = async (lines: string[]) => {
      const detector = new Detector(pack, new MemoryStateStore());
      const r = await processPayload(linesPayload('/sentinel-demo/web/nginx', lines, T0, 1), normalizer, detector);
      return r.alerts.map((a) => `${a.ruleId} ${a.entity.value}`);
    };
    const crowd = Array.from({ length: 400 }, (_, i) => mainLine('10.0.1.23', `198.51.100.${i % 200}`, Math.floor(i / 8)));
    expect((await run(crowd)).filter((a) => a.startsWith('web.request_flood'))).toEqual([]);
    const flood = Array.from({ length: 400 }, (_, i) => mainLine('10.0.1.23', '203.0.113.66', Math.floor(i / 8)));
    expect(await run(flood)).toContain('web.request_flood 203.0.113.66');
  });
});
