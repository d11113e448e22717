import { type FieldReader, fieldReader } from '../runtime/field-access';
import { CoreFields, type FieldValue, type NormalizedEvent } from '../schema/event';
import { Cidr, isCidr, readAddress } from './cidr';
import type { CompiledRule } from './compile';
import { NeedleSet, NON_ASCII_RE } from './needles';
import { selectionRanges } from './ranges';
import { asNumber, isPlainObject, normalizeForEquality } from './selection';
import { longestLiteral } from './wildcard';

/**
 * Which rules an event can possibly match, without running every rule: each rule is filed under
 * a condition its selection cannot match without (an index key), and an event only meets the
 * rules one of its fields hits. Keys are necessary conditions, never sufficient: candidates still
 * run their full predicate, so the index can only save work, never change a result.
 *
 * Key kinds: equality (hash per field, case-insensitive), numeric range (`gt/gte/lt/lte` on one
 * field), CIDR ranges (the address parsed once per event), text (`contains/startswith/endswith`
 * needles, and a `wildcard` pattern's longest literal, of every rule on a field in one Aho–Corasick
 * automaton), and presence (`|exists: true` on a field only some sources write). A rule whose
 * selection has no key, or only a weak one (an equality on a value most events carry, like
 * `GET`), is filed under every branch of its `any`; a rule with no key at all runs on every event.
 */
export type IndexKey =
  | { kind: 'eq'; field: string; values: string[] }
  | { kind: 'range'; field: string; low: number; lowInclusive: boolean; high: number; highInclusive: boolean }
  | { kind: 'text'; field: string; needles: string[] }
  | { kind: 'cidr'; field: string; cidrs: string[] }
  | { kind: 'exists'; field: string };

/**
 * Fields that discriminate best come first when a rule offers several equality keys (app-specific
 * fields before all of them). `event.provider`, CloudTrail's service, comes after the action: most
 * records of an account are of a few services, so a rule on `ec2.amazonaws.com` and `DeleteFlowLogs`
 * is filed under the call, not under every EC2 call (measured: 0.98 predicate runs per CloudTrail
 * record of this workload for `aws.log_collection_disabled` under its services, none under its calls).
 */
const EQ_PREFERENCE = [
  'event.action',
  'event.provider',
  'event.dataset',
  'http.response.status_code',
  'event.category',
  'log.level',
  'event.outcome',
];

/**
 * Values most events of their field carry ('all': every value of the field), so an equality on
 * them is a weak key when the rule offers another: `GET`, `success`, `info`, `ACCEPT`, a 200. A
 * rare value of the same field (`REJECT`, `error`, a 403) is a good key.
 */
const COMMON_VALUES: ReadonlyMap<string, ReadonlySet<string> | 'all'> = new Map<string, ReadonlySet<string> | 'all'>([
  ['http.request.method', new Set(['get', 'post', 'head', 'options'])],
  ['http.response.status_code', new Set(['200', '304'])],
  ['http.version', 'all'],
  ['event.outcome', 'all'],
  ['log.level', new Set(['info', 'debug', 'trace', 'notice'])],
  ['network.transport', 'all'],
  ['network.protocol', 'all'],
  ['vpcflow.action', new Set(['accept'])],
]);

function isWeak(key: IndexKey): boolean {
  if (key.kind !== 'eq') return false;
  const common = COMMON_VALUES.get(key.field);
  return common !== undefined && (common === 'all' || key.values.some((v) => common.has(v)));
}

/**
 * Fields every normalized event (or nearly every one) carries: their presence selects nothing,
 * so `|exists: true` on them is no key.
 */
const UBIQUITOUS_FIELDS: ReadonlySet<string> = new Set<string>([
  CoreFields.timestamp,
  CoreFields.message,
  CoreFields.logGroup,
  CoreFields.logStream,
  CoreFields.eventId,
  CoreFields.owner,
  'event.original',
  'event.dataset',
  'event.hour_utc',
  'event.weekday_utc',
  'event.hour_local',
  'event.weekday_local',
  'cloud.account.id',
]);

function eqRank(field: string): number {
  const i = EQ_PREFERENCE.indexOf(field);
  // Unknown (app-specific) fields are usually the most selective.
  return i === -1 ? -1 : i;
}

/**
 * The keys a selection is filed under: one for an AND of conditions, or one per branch of its
 * `any` (every matching event meets some branch) when the AND offers no key, or only a weak one.
 */
export function indexKeys(selection: unknown): IndexKey[] | undefined {
  if (!isPlainObject(selection)) return undefined;
  const own = conjunctionKey(selection);
  if (own && !isWeak(own)) return [own];
  const branches = selection.any;
  if (Array.isArray(branches) && branches.length > 0) {
    const keys: IndexKey[] = [];
    for (const b of branches) {
      const k = indexKeys(b);
      if (!k) return own ? [own] : undefined;
      keys.push(...k);
    }
    return keys;
  }
  return own ? [own] : undefined;
}

/** The best single condition every matching event must meet, among a map's AND-ed conditions. */
function conjunctionKey(selection: Record<string, unknown>): IndexKey | undefined {
  const eqs: Extract<IndexKey, { kind: 'eq' }>[] = [];
  const ranges = [...selectionRanges(selection)].map(([field, r]): IndexKey => ({ kind: 'range', field, ...r }));
  const texts: Extract<IndexKey, { kind: 'text' }>[] = [];
  const cidrs: Extract<IndexKey, { kind: 'cidr' }>[] = [];
  const present: Extract<IndexKey, { kind: 'exists' }>[] = [];
  const nested: IndexKey[] = [];
  for (const [key, value] of Object.entries(selection)) {
    if (key === 'not' || key === 'any') continue;
    if (key === 'all') {
      if (Array.isArray(value))
        for (const sub of value) {
          const k = isPlainObject(sub) ? conjunctionKey(sub) : undefined;
          if (k) nested.push(k);
        }
      continue;
    }
    const [field = '', ...mods] = key.split('|');
    if (value === null) continue;
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0 || !list.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) continue;
    const op = mods.find((m) => !['all', 'cased', 'i', 'm', 's'].includes(m));
    const all = mods.includes('all');
    if (op === undefined) {
      if (all && list.length > 1) continue; // never true for distinct values; leave it to the predicate
      eqs.push({ kind: 'eq', field, values: [...new Set(list.map((v) => normalizeForEquality(v as FieldValue)))] });
    } else if (op === 'contains' || op === 'startswith' || op === 'endswith' || op === 'wildcard') {
      const cased = mods.includes('cased');
      const needles = list.map((v) => (op === 'wildcard' ? longestLiteral(String(v), cased) : String(v).toLowerCase()));
      if (needles.some((n) => n.length === 0)) continue; // an empty needle matches everything
      // A cased needle is found in the lower-cased value only if lower-casing is per character:
      // Greek capital sigma lower-cases by context, so cased non-ASCII needles get no key.
      if (cased && needles.some((n) => NON_ASCII_RE.test(n))) continue;
      // With |all every needle must occur: any one of them is still necessary.
      texts.push({ kind: 'text', field, needles: all ? needles.slice(0, 1) : needles });
    } else if (op === 'exists') {
      if (list.length === 1 && list[0] === true && !UBIQUITOUS_FIELDS.has(field)) present.push({ kind: 'exists', field });
    } else if (op === 'cidr') {
      const ranges = list.map(String);
      if (!ranges.every(isCidr)) continue; // validation reports it; the predicate decides
      // With |all the address must be in every range: any one of them is still necessary.
      cidrs.push({ kind: 'cidr', field, cidrs: all ? ranges.slice(0, 1) : ranges });
    }
  }
  eqs.sort((a, b) => Number(isWeak(a)) - Number(isWeak(b)) || eqRank(a.field) - eqRank(b.field) || a.values.length - b.values.length);
  // An equality on a common value (a method, an outcome) selects a large share of the traffic:
  // needles on the same rule select far less (Sigma's web rules pair `GET` with their attack
  // strings), and so does a field only some sources write (CloudTrail's `event.provider`).
  if (eqs[0] && isWeak(eqs[0]) && (texts.length > 0 || present.length > 0)) eqs.length = 0;
  if (eqs[0]) return eqs[0];
  const nestedEq = nested.find((k) => k.kind === 'eq');
  if (nestedEq) return nestedEq;
  const range = ranges[0] ?? nested.find((k) => k.kind === 'range');
  if (range && !isWeakRange(range)) return range;
  const cidr = cidrs[0] ?? nested.find((k) => k.kind === 'cidr');
  if (cidr) return cidr;
  // Fewer, longer needles filter better.
  texts.sort((a, b) => a.needles.length - b.needles.length || minLength(b.needles) - minLength(a.needles));
  const text = texts[0] ?? nested.find((k) => k.kind === 'text');
  if (text) return text;
  return present[0] ?? range ?? nested.find((k) => k.kind === 'exists');
}

/**
 * A range every value but zero (or every value) falls in — sizes, counts, durations above 0 —
 * selects nearly all events that carry the field: any other key of the rule filters better.
 */
function isWeakRange(key: IndexKey): boolean {
  return key.kind === 'range' && key.low <= 0 && key.high === Number.POSITIVE_INFINITY;
}

function minLength(needles: readonly string[]): number {
  return Math.min(...needles.map((n) => n.length));
}

interface RangeEntry {
  low: number;
  lowInclusive: boolean;
  high: number;
  highInclusive: boolean;
  /** The rule's slot in the index (see RuleIndex.rules). */
  slot: number;
}

/** An equality field's keys, and the last value looked up with what it found. */
interface EqEntry {
  /** The field's place in the event's read values. */
  at: number;
  byValue: Map<string, number[]>;
  byNumber: Map<number, number[]>;
  /**
   * Consecutive events of a log group mostly repeat a field's value (its dataset, category,
   * action, level): the same value finds the same rules, without lower-casing and hashing it again.
   */
  last: FieldValue | undefined;
  lastCandidates: number[] | undefined;
}

interface CidrEntry {
  cidr: Cidr;
  slot: number;
}

export class RuleIndex {
  /** The rules filed here; keys point at them by slot, so "tested already for this event" is an array read. */
  private readonly rules: CompiledRule[] = [];
  private readonly slots = new Map<CompiledRule, number>();
  private readonly eq = new Map<string, Map<string, number[]>>();
  private readonly ranges = new Map<string, RangeEntry[]>();
  private readonly texts = new Map<string, NeedleSet<number>>();
  private readonly cidrs = new Map<string, CidrEntry[]>();
  private readonly present = new Map<string, number[]>();
  private readonly unindexed: number[] = [];
  // Per field, what to look up: built once, so matching an event is a walk over arrays. Each
  // entry names its field by its place in `fields`, whose values `readFields` reads per event.
  private readonly eqEntries: EqEntry[];
  private readonly rangeEntries: [number, RangeEntry[]][];
  private readonly textEntries: [number, NeedleSet<number>][];
  private readonly cidrEntries: [number, CidrEntry[]][];
  private readonly presentEntries: [number, number[]][];
  /** Every field some key is on, read from each event once (see runtime/field-access.ts), into `values`. */
  private readonly fields: string[] = [];
  private readonly readFields: FieldReader;
  private readonly values: (FieldValue | undefined)[] = [];
  /** Per slot, the last match call that tested the rule: a rule hit by several keys is tested once. */
  private stamps: Uint32Array = new Uint32Array(0);
  private epoch = 0;
  // The event being matched: fields rather than a closure per event (this is the per-event hot path).
  private event: NormalizedEvent = {};
  private out: CompiledRule[] = [];
  private found = 0;
  private onError: ((rule: CompiledRule, err: unknown) => void) | undefined;
  private readonly consider = (slot: number): void => {
    if (this.stamps[slot] === this.epoch) return;
    this.stamps[slot] = this.epoch;
    const rule = this.rules[slot] as CompiledRule;
    if (test(rule, this.event, this.onError)) this.out[this.found++] = rule;
  };

  /** `plain`: no keys at all, every rule's predicate on every event (the reference the index is tested against). */
  constructor(rules: readonly CompiledRule[], plain = false) {
    for (const rule of rules) {
      const keys = plain ? undefined : rule.indexKeys;
      const slot = this.slotOf(rule);
      if (!keys) {
        this.unindexed.push(slot);
        continue;
      }
      for (const key of keys) this.file(key, slot);
    }
    this.stamps = new Uint32Array(this.rules.length);
    this.eqEntries = [...this.eq].map(([field, byValue]) => ({
      at: this.place(field),
      byValue,
      byNumber: numericKeys(byValue),
      last: undefined,
      lastCandidates: undefined,
    }));
    this.rangeEntries = [...this.ranges].map(([field, entries]) => [this.place(field), entries]);
    this.textEntries = [...this.texts].map(([field, needles]) => [this.place(field), needles]);
    this.cidrEntries = [...this.cidrs].map(([field, entries]) => [this.place(field), entries]);
    this.presentEntries = [...this.present].map(([field, slots]) => [this.place(field), slots]);
    this.readFields = fieldReader(this.fields);
  }

  /** A field's place in `fields` (and so in `values`), added when new. */
  private place(field: string): number {
    const at = this.fields.indexOf(field);
    if (at !== -1) return at;
    this.fields.push(field);
    return this.fields.length - 1;
  }

  private slotOf(rule: CompiledRule): number {
    let slot = this.slots.get(rule);
    if (slot === undefined) {
      slot = this.rules.length;
      this.rules.push(rule);
      this.slots.set(rule, slot);
    }
    return slot;
  }

  private file(key: IndexKey, slot: number): void {
    if (key.kind === 'eq') {
      let byValue = this.eq.get(key.field);
      if (!byValue) {
        byValue = new Map();
        this.eq.set(key.field, byValue);
      }
      for (const value of key.values) {
        const list = byValue.get(value);
        if (list) list.push(slot);
        else byValue.set(value, [slot]);
      }
    } else if (key.kind === 'range') {
      const list = this.ranges.get(key.field) ?? [];
      list.push({ low: key.low, lowInclusive: key.lowInclusive, high: key.high, highInclusive: key.highInclusive, slot });
      this.ranges.set(key.field, list);
    } else if (key.kind === 'exists') {
      const list = this.present.get(key.field);
      if (list) list.push(slot);
      else this.present.set(key.field, [slot]);
    } else if (key.kind === 'cidr') {
      const list = this.cidrs.get(key.field) ?? [];
      for (const cidr of key.cidrs) list.push({ cidr: new Cidr(cidr), slot });
      this.cidrs.set(key.field, list);
    } else {
      let set = this.texts.get(key.field);
      if (!set) {
        set = new NeedleSet<number>();
        this.texts.set(key.field, set);
      }
      for (const needle of key.needles) set.add(needle, slot);
    }
  }

  /**
   * Rules that match the event (each at most once), written to `out` from index 0; returns how
   * many. `out` is overwritten, not emptied: the caller reuses one array for every event (emptying
   * an array releases its storage, and the next push allocates it again). A rule whose condition
   * throws on this event is reported to `onError` and skipped for it: one hostile event never
   * fails the batch.
   */
  match(event: NormalizedEvent, out: CompiledRule[], onError?: (rule: CompiledRule, err: unknown) => void): number {
    if (++this.epoch === 0xffffffff) {
      // The stamps wrap after four billion events: start them over.
      this.stamps.fill(0);
      this.epoch = 1;
    }
    this.event = event;
    this.out = out;
    this.found = 0;
    this.onError = onError;
    const consider = this.consider;
    const values = this.values;
    this.readFields(event, values);
    for (const entry of this.eqEntries) {
      const v = values[entry.at];
      if (v === undefined) continue;
      let candidates: number[] | undefined;
      if (v === entry.last) candidates = entry.lastCandidates;
      else {
        // A number is looked up as itself: String(port) is a new string per event for most ports.
        candidates = typeof v === 'number' ? entry.byNumber.get(v) : entry.byValue.get(normalizeForEquality(v));
        entry.last = v;
        entry.lastCandidates = candidates;
      }
      if (candidates) for (const slot of candidates) consider(slot);
    }
    for (const [at, entries] of this.rangeEntries) {
      const v = values[at];
      if (v === undefined) continue;
      const n = asNumber(v);
      if (n === undefined) continue;
      for (const r of entries) {
        if ((r.lowInclusive ? n >= r.low : n > r.low) && (r.highInclusive ? n <= r.high : n < r.high)) consider(r.slot);
      }
    }
    for (const [at, needles] of this.textEntries) {
      const v = values[at];
      if (v === undefined) continue;
      needles.searchLowerCased(String(v), consider);
    }
    for (const [at, entries] of this.cidrEntries) {
      const v = values[at];
      if (v === undefined) continue;
      // One read per event and field (a dotted quad is a number), then a containment test per
      // range (a trie would pay from thousands of ranges on one field; Sigma packs carry a handful).
      const address = readAddress(String(v));
      if (address === null) continue;
      for (const { cidr, slot } of entries) if (cidr.contains(address)) consider(slot);
    }
    for (const [at, slots] of this.presentEntries) {
      if (values[at] !== undefined) for (const slot of slots) consider(slot);
    }
    for (const slot of this.unindexed) consider(slot);
    return this.found;
  }

  get stats(): { eqFields: number; rangeFields: number; textFields: number; cidrFields: number; presentFields: number; unindexed: number } {
    return {
      presentFields: this.presentEntries.length,
      eqFields: this.eqEntries.length,
      rangeFields: this.rangeEntries.length,
      textFields: this.textEntries.length,
      cidrFields: this.cidrEntries.length,
      unindexed: this.unindexed.length,
    };
  }
}

/**
 * The keys a number can equal: a number's text (what equality compares) is always its canonical
 * form, so it equals a key exactly when the key is canonical (`String(Number(k)) === k`) and the
 * number is `Number(k)`.
 */
function numericKeys(byValue: ReadonlyMap<string, number[]>): Map<number, number[]> {
  const byNumber = new Map<number, number[]>();
  for (const [key, slots] of byValue) {
    const n = Number(key);
    if (key !== '' && String(n) === key) byNumber.set(n, slots);
  }
  return byNumber;
}

function test(rule: CompiledRule, event: NormalizedEvent, onError?: (rule: CompiledRule, err: unknown) => void): boolean {
  try {
    return rule.predicate(event);
  } catch (err) {
    onError?.(rule, err);
    return false;
  }
}
