import type { NormalizedEvent } from '../../schema/event';
import type { SourceDefinition } from '../../schema/rule';
import type { ParserPattern } from '../builtin-parsers';

/** Values a built-in's derive gives a field, on lines holding one of the markers (see BuiltinSource.derivesOn). */
export interface DeriveClaim {
  values?: readonly string[];
  markers?: readonly string[];
}

/**
 * AWS's own logs, understood out of the box: CloudTrail records (when a trail delivers to
 * CloudWatch Logs), VPC Flow Logs (default or declared format), Lambda function logs (text and JSON log
 * formats, platform lines included), API Gateway access logs (JSON), AWS WAF logs, AWS Network
 * Firewall logs, Amazon GuardDuty and AWS Security Hub findings and AWS Health's security notices (through EventBridge), Route 53 Resolver query logs, EKS (Kubernetes) audit logs and RDS / Aurora
 * database logs (PostgreSQL, MySQL, MariaDB).
 *
 * Each is a source like the ones users write, plus two things only built-ins have: `recognize`,
 * a cheap check that a line is of this kind (substrings for JSON, an anchored regex for text),
 * used when no source file names the log group; and `derive`, for what a field map cannot say
 * (a user from an identity ARN, a function from its log group). Recognizers are mutually
 * exclusive: a line of one kind is never taken for another (a property test checks it).
 */
export interface BuiltinSource {
  definition: SourceDefinition['source'];
  /** The text patterns of this source (tried in order), for text formats. */
  patterns: ParserPattern[];
  recognize: (line: string) => boolean;
  /**
   * Texts one of which every line `recognize` accepts holds (as written), when there are such: in
   * a log group no source names, this source parses and derives only on those lines.
   */
  recognizedBy?: readonly string[];
  derive: (event: NormalizedEvent, logGroup: string) => void;
  /**
   * Every field `derive` may set: their values need not appear in the line, so the subscription
   * filter compiler must not require them there (a test checks derive sets nothing else).
   */
  derives: readonly string[];
  /**
   * Every field `derive` reads, when that is known: what it sets is then decided by those fields
   * alone (the flow gate derives a record's few fields from them: src/engine/flow-gate.ts; a test
   * checks derive against events that differ in every other field).
   */
  deriveReads?: readonly string[];
  /**
   * What is known of some of `derives`: every value `derive` gives such a field is one of a
   * claim's `values` (any, without them), on a line holding one of its `markers` (as written; any
   * line, without them). The subscription filter then lets those lines through, where a field
   * derived on any line to any value makes it deliver every line to the rules that read it (a
   * test checks the claims against the fixtures and the demo).
   */
  derivesOn?: Readonly<Record<string, readonly DeriveClaim[]>>;
  /** Top-level JSON keys also kept whole, as JSON text (rules may match the serialized object). */
  keepJson?: string[];
  /**
   * Where the service writes its records, when AWS fixes it. In a log group no source names, a line
   * this source recognizes is believed only in such a delivery: an app that logs what a client
   * sends, verbatim, would otherwise let the client write a CloudTrail record ("the trail was
   * stopped") into the app's log group and page the responders — or, three records on, have the
   * account-compromise incident's automated response disable a real principal's keys.
   */
  deliveredIn?: Provenance;
}

/** A delivery's log stream or log group, as the service names it. */
export interface Provenance {
  stream?: RegExp;
  group?: RegExp;
  /** Where that is, for `detect sources check` ("CloudTrail's own log streams, <account>_CloudTrail_<region>"). */
  where: string;
}

/** Whether a line of this log group and stream can be the service's own (no provenance known: any). */
export function deliveredBy(provenance: Provenance | undefined, logGroup: string, logStream: string | undefined): boolean {
  if (!provenance) return true;
  if (provenance.group && !provenance.group.test(logGroup)) return false;
  return !provenance.stream || (logStream !== undefined && provenance.stream.test(logStream));
}

/**
 * EventBridge writes to log groups whose names start with `/aws/events/` (the console offers no
 * other; this stack's own findings groups are named so): GuardDuty's and Security Hub's findings
 * and AWS Health's notices arrive through it.
 */
export const EVENTBRIDGE_DELIVERY: Provenance = {
  group: /^\/aws\/events\//,
  where: 'an EventBridge log group (/aws/events/…)',
};

/** Whether the line holds every needle (a JSON recognizer's keys, as written). */
export const has = (line: string, ...needles: string[]) => needles.every((n) => line.includes(n));

/** A built-in's source definition: named, of `format`, with its field map; it claims no log group (recognized by content). */
export const base = (
  name: string,
  description: string,
  format: 'json' | 'text' | 'auto',
  fieldMap: Record<string, string> = {},
): SourceDefinition['source'] => ({
  name,
  description,
  logGroups: [`(built-in ${name})`],
  format,
  parsers: [],
  customParsers: [],
  fieldMap,
  valueMap: {},
  lookups: [],
  fields: {},
});

/** The definition with these named text parsers. */
export const withParsers = (parsers: string[], def: SourceDefinition['source']): SourceDefinition['source'] => ({ ...def, parsers });

/**
 * Every recognizer that takes JSON lines requires one of these in the line (CloudTrail's
 * eventSource, WAF's webaclId, Network Firewall's firewall_name, EventBridge's detail-type, API Gateway's and Lambda's requestId, Resolver's query_name,
 * Powertools' function_name, Lambda's platform events, Kubernetes' auditID; a property test checks it). Most app JSON
 * holds none: one scan rules out every recognizer, where each would scan the line again.
 */
export const AWS_JSON_MARKERS_RE =
  /"(?:eventSource|webaclId|firewall_name|detail-type|requestId|query_name|function_name|auditID)"|"platform\./;

/**
 * What a source of another service's alerts (GuardDuty's and Security Hub's findings, AWS Health's
 * notices) writes on every event it reads — `event.kind` alert, its action and dataset, provider
 * aws — and the claims that declare those values (with the categories its events may take) to
 * the subscription filter compiler.
 */
export function serviceAlerts(action: string, dataset: string, categories: readonly string[]) {
  return {
    fields: ['event.kind', 'event.action', 'event.category', 'event.dataset', 'cloud.provider'],
    derivesOn: {
      'event.action': [{ values: [action] }],
      'event.dataset': [{ values: [dataset] }],
      'event.category': [{ values: categories }],
      'event.kind': [{ values: ['alert'] }],
      'cloud.provider': [{ values: ['aws'] }],
    },
    stamp(e: NormalizedEvent): void {
      e['event.kind'] = 'alert';
      e['event.action'] = action;
      e['event.dataset'] = dataset;
      e['cloud.provider'] = 'aws';
    },
  } as const;
}
