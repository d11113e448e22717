import { describe, expect, it } from 'vitest';
import { lowerCase } from '../src/rules/lower-case';
import { selectionRanges } from '../src/rules/ranges';
import { compileSelection, SelectionError } from '../src/rules/selection';

const m = (sel: Record<string, unknown>, event: Record<string, string | number | boolean>) => compileSelection(sel).predicate(event);

describe('selection modifiers', () => {
  it('equality is case-insensitive for strings and numeric across types; lists are any-of; null is absent', () => {
    expect(m({ 'event.outcome': 'failure' }, { 'event.outcome': 'FAILURE' })).toBe(true);
    expect(m({ status: 401 }, { status: '401' })).toBe(true);
    expect(m({ status: [401, 403] }, { status: 403 })).toBe(true);
    expect(m({ status: [401, 403] }, { status: 404 })).toBe(false);
    expect(m({ 'user.name': null }, {})).toBe(true);
    expect(m({ 'user.name': null }, { 'user.name': 'a' })).toBe(false);
  });
  it('contains / startswith / endswith, with |all', () => {
    expect(m({ 'url.path|contains': 'admin' }, { 'url.path': '/wp-ADMIN/x' })).toBe(true);
    expect(m({ 'url.path|startswith': '/api/' }, { 'url.path': '/static/api/' })).toBe(false);
    expect(m({ 'file|endswith': ['.env', '.git'] }, { file: '/x/.git' })).toBe(true);
    expect(m({ 'cmd|contains|all': ['curl', 'sh'] }, { cmd: 'curl x | sh' })).toBe(true);
    expect(m({ 'cmd|contains|all': ['curl', 'python'] }, { cmd: 'curl x | sh' })).toBe(false);
  });
  it('re and cidr (IPv4, IPv6, IPv4-mapped)', () => {
    expect(m({ 'user.name|re': '^svc-[a-z]+$' }, { 'user.name': 'svc-batch' })).toBe(true);
    expect(m({ 'user.name|re': '^svc-[a-z]+$' }, { 'user.name': 'svc-1' })).toBe(false);
    expect(m({ 'source.ip|cidr': '10.0.0.0/8' }, { 'source.ip': '10.2.3.4' })).toBe(true);
    expect(m({ 'source.ip|cidr': '10.0.0.0/8' }, { 'source.ip': '11.2.3.4' })).toBe(false);
    expect(m({ 'source.ip|cidr': '10.0.0.0/8' }, { 'source.ip': '::ffff:10.1.1.1' })).toBe(true);
    expect(m({ 'source.ip|cidr': '2001:db8::/32' }, { 'source.ip': '2001:db8::1' })).toBe(true);
    expect(m({ 'source.ip|cidr': '10.0.0.0/8' }, { 'source.ip': 'not-an-ip' })).toBe(false);
  });
  it('gt / gte / lt / lte and exists', () => {
    expect(m({ 'n|gt': 5 }, { n: 6 })).toBe(true);
    expect(m({ 'n|gt': 5 }, { n: 5 })).toBe(false);
    expect(m({ 'n|gte': 5 }, { n: '5' })).toBe(true);
    expect(m({ 'n|lt': 5 }, { n: 4 })).toBe(true);
    expect(m({ 'n|lte': 5 }, { n: 6 })).toBe(false);
    expect(m({ 'n|gt': 5 }, { n: 'abc' })).toBe(false);
    expect(m({ 'x|exists': true }, { x: 1 })).toBe(true);
    expect(m({ 'x|exists': false }, { x: 1 })).toBe(false);
  });
  it('not / any / all combine selections', () => {
    const sel = { a: 1, not: { b: 2 }, any: [{ c: 3 }, { d: 4 }] };
    expect(m(sel, { a: 1, c: 3 })).toBe(true);
    expect(m(sel, { a: 1, b: 2, c: 3 })).toBe(false);
    expect(m(sel, { a: 1 })).toBe(false);
    expect(m({ all: [{ a: 1 }, { b: 2 }] }, { a: 1, b: 2 })).toBe(true);
  });
  it('rejects unknown modifiers, bad regexes, bad CIDRs and empty selections with the path', () => {
    const issues = (sel: unknown) => {
      try {
        compileSelection(sel, ['match']);
        return [];
      } catch (e) {
        return e instanceof SelectionError ? e.issues.map((i) => `${i.path.join('.')}: ${i.message}`) : ['other'];
      }
    };
    expect(issues({ 'a|fuzzy': 'x' })[0]).toMatch(/^match\.a\|fuzzy: unknown modifier 'fuzzy'/);
    expect(issues({ 'a|re': '(' })[0]).toMatch(/invalid regular expression/);
    expect(issues({ 'a|cidr': ['10.0.0.0/8', 'nope'] })[0]).toMatch(/^match\.a\|cidr\.1: invalid CIDR/);
    expect(issues({ not: {} })[0]).toMatch(/^match\.not: a selection needs at least one condition/);
  });
});

describe('lowerCase', () => {
  it('agrees with toLowerCase on every ASCII character and on letters that lower-case specially', () => {
    const texts = [
      'success',
      'SUCCESS',
      'aws.vpcflow',
      '10.0.0.1',
      '',
      'Z',
      '@[`{',
      'caf\u00c9',
      '\u212Aelvin',
      '\u03a3\u03a3',
      'ß',
      'İstanbul',
    ];
    // Every ASCII character on its own and beside a capital.
    for (let c = 0; c < 128; c++) texts.push(String.fromCharCode(c), `A${String.fromCharCode(c)}`);
    for (const t of texts) expect(lowerCase(t), JSON.stringify(t)).toBe(t.toLowerCase());
    expect(m({ 'user.name': 'kelvin' }, { 'user.name': '\u212Aelvin' })).toBe(true);
  });
});

describe('selectionRanges: what a map of AND-ed comparisons leaves per field (read alike by the index and the filter)', () => {
  it('intersects a field’s bounds, keeps which ends are inclusive, and reads numbers as the predicate does', () => {
    expect(
      Object.fromEntries(
        selectionRanges({
          'http.response.status_code|gte': 500,
          'http.response.status_code|lt': '600',
          'http.response.status_code|gt': 499,
          'event.duration|gt': 5,
          'event.duration|gte': 5,
          'bytes|lte': [10],
          'user.name': 'root',
          'a|gte': 'many',
          'b|lt': [1, 2],
          'c|gt': true,
        }),
      ),
    ).toEqual({
      'http.response.status_code': { low: 500, lowInclusive: true, high: 600, highInclusive: false },
      'event.duration': { low: 5, lowInclusive: false, high: Number.POSITIVE_INFINITY, highInclusive: true },
      bytes: { low: Number.NEGATIVE_INFINITY, lowInclusive: true, high: 10, highInclusive: true },
    });
  });
});
