import { FIELDS_AFTER_START, type StartPart } from '../parse/flow-lane';
import { FLOW_RECORD_CONSTANTS } from '../parse/flow-log-format';
import type { CompiledSource } from '../parse/normalize';
import type { CompiledRule } from '../rules/compile';
import { indexKeys, RuleIndex } from '../rules/rule-index';
import { compileSelection } from '../rules/selection';
import type { NormalizedEvent } from '../schema/event';
import type { DetectionRule } from '../schema/rule';

/**
 * Flow records no rule can match, told before their events are finished. Flow logs are most of an
 * account's log volume and nearly all of it is traffic no rule reads (a workload's accepted
 * connections to its own services), yet no text a subscription filter can test tells a refused
 * flow or an admin port from the rest: every line holds `eni-`, digits and addresses. The line
 * gate (./line-gate.ts) lets such a group's every line through.
 *
 * So for a flow record the gate reads the start of its event instead (Normalizer.flowRecordStart:
 * the format's values, the source's derivation, the line as its message). What the event gets
 * after that (FIELDS_AFTER_START: its time, its addresses as IPs, its delivery and account, a
 * default service) depends on its delivery; every other field, present or absent, is what the
 * rules will read. A rule's top-level conditions (all of which it needs) on those fields alone are
 * decided on the start: on fields every record holds alike (`event.category: network`) or none
 * holds (`log.level`), once for the group; on the record's own values (`vpcflow.action: REJECT`,
 * `destination.port: [22, 3389]`), per record, through a rule index of those conditions. A record
 * that fails some such condition of every rule is left, as the line gate leaves a line its filter
 * would have dropped. A rule with no such condition reads every record, and then no record is left.
 */
export class FlowRecordTest {
  private readonly hits: CompiledRule[] = [];
  private threw = false;
  private readonly onError = () => {
    this.threw = true;
  };

  private constructor(
    private readonly index: RuleIndex,
    /** What of a record's start the index reads (undefined: all of it). */
    readonly part: StartPart | undefined,
  ) {}

  /** The test for records `source` reads through its flow lane, under these rules; undefined when some rule can match any record. */
  static compile(rules: readonly DetectionRule[], source: CompiledSource): FlowRecordTest | undefined {
    const flows = source.flowLane;
    if (!flows) return undefined;
    const derives = source.derives ?? [];
    const written = new Set([...flows.flatMap((f) => [...f.writes]), ...derives, 'event.dataset', 'message', 'event.original']);
    // What every record's start holds alike: the format's constants (unless derived) and, by their absence, the fields none writes.
    const alike: NormalizedEvent = {};
    for (const [field, value] of Object.entries(FLOW_RECORD_CONSTANTS)) if (!derives.includes(field)) alike[field] = value;
    const heldAlike = (field: string) => alike[field] !== undefined || (!written.has(field) && !FIELDS_AFTER_START.has(field));
    const early: CompiledRule[] = [];
    // The fields the conditions below read, and mayMatch's user name.
    const reads = new Set<string>(['user.name']);
    for (const rule of rules) {
      if (rule.disabled) continue;
      const own = ownConditions(rule, alike, heldAlike);
      if (own === 'never') continue;
      if (own === undefined) return undefined;
      early.push(own.rule);
      for (const f of own.reads) reads.add(f);
    }
    return new FlowRecordTest(new RuleIndex(early), startPart(reads, source));
  }

  /** Whether some rule may match the record whose event starts so. */
  mayMatch(start: NormalizedEvent): boolean {
    // A user name may have a typed password masked in it and every field it appears in (Normalizer.normalize): not decided here.
    if (start['user.name'] !== undefined) return true;
    this.threw = false;
    // A condition that throws is the detector's to report: the record goes on.
    return this.index.match(start, this.hits, this.onError) > 0 || this.threw;
  }
}

/**
 * The rule's top-level conditions decided on a record's start, as a rule of its own to index;
 * 'never' when one on fields held alike fails (the rule matches no record); undefined when it has
 * none (it may match any record).
 */
function ownConditions(
  rule: DetectionRule,
  alike: NormalizedEvent,
  heldAlike: (field: string) => boolean,
): { rule: CompiledRule; reads: readonly string[] } | 'never' | undefined {
  const own: Record<string, unknown> = {};
  const reads: string[] = [];
  let any = false;
  for (const [key, value] of Object.entries(rule.match)) {
    let condition: ReturnType<typeof compileSelection>;
    try {
      condition = compileSelection({ [key]: value });
    } catch {
      continue; // validation reports it; the rule's full predicate decides
    }
    if (condition.fields.some((f) => FIELDS_AFTER_START.has(f))) continue;
    if (condition.fields.every(heldAlike)) {
      if (!holds(condition.predicate, alike)) return 'never';
      continue;
    }
    own[key] = value;
    reads.push(...condition.fields);
    any = true;
  }
  if (!any) return undefined;
  return {
    rule: {
      rule,
      kind: 'event',
      predicate: compileSelection(own).predicate,
      indexKeys: indexKeys(own),
      steps: [],
      distinctMembers: undefined,
      logGroups: undefined,
    },
    reads,
  };
}

/**
 * The part of a record's start that holds every field the test reads: those of the format's
 * values, and the derivation when it sets one of them — from the fields it reads, when its
 * built-in says which (else the whole start: undefined).
 */
function startPart(reads: ReadonlySet<string>, source: CompiledSource): StartPart | undefined {
  const derive = source.derive !== undefined && (source.derives ?? []).some((f) => reads.has(f));
  if (!derive) return { fields: reads, derive: false };
  if (!source.deriveReads) return undefined;
  return { fields: new Set([...reads, ...source.deriveReads]), derive: true };
}

/** A condition's answer; true when it throws (the detector's to report). */
function holds(predicate: (event: NormalizedEvent) => boolean, event: NormalizedEvent): boolean {
  try {
    return predicate(event);
  } catch {
    return true;
  }
}
