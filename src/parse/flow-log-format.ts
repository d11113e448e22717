import { type FieldWriter, fieldWriter } from '../runtime/field-access';
import type { FieldValue, NormalizedEvent } from '../schema/event';
import { eventShape } from './event-record';
import type { LineParser, ParseOutcome } from './line-parser';

/**
 * VPC Flow Logs records in any log format: the default (version 2) or the custom one a flow log
 * was created with (`--log-format` / CDK `FlowLogFormat`), declared as the same `${field}` string
 * in a source file's `flowLogFormat`. A record is space-separated values in that order, `-` where
 * a field does not apply. Read by splitting, not by a regex: flow logs are most of an AWS
 * account's log volume, and a split with per-field checks costs a fraction of a 14-group regex.
 */

/** How a field's value is checked and stored. */
type FlowValueKind =
  | 'version'
  | 'account'
  | 'interface'
  | 'address'
  | 'port'
  | 'protocol'
  | 'count'
  | 'start'
  | 'end'
  | 'action'
  | 'status'
  | 'small'
  | 'text';

interface FlowField {
  /** The normalized field it becomes. */
  field: string;
  kind: FlowValueKind;
}

/**
 * Every field AWS documents for VPC (versions 2–10) and Transit Gateway flow logs, in the
 * documented order, and the normalized field each becomes: ECS names where ECS has one,
 * `vpcflow.*` otherwise.
 */
export const FLOW_LOG_FIELDS: Readonly<Record<string, FlowField>> = {
  version: { field: 'vpcflow.version', kind: 'version' },
  'account-id': { field: 'cloud.account.id', kind: 'account' },
  'interface-id': { field: 'network.interface.id', kind: 'interface' },
  srcaddr: { field: 'source.address', kind: 'address' },
  dstaddr: { field: 'destination.address', kind: 'address' },
  srcport: { field: 'source.port', kind: 'port' },
  dstport: { field: 'destination.port', kind: 'port' },
  protocol: { field: 'network.iana_number', kind: 'protocol' },
  packets: { field: 'network.packets', kind: 'count' },
  bytes: { field: 'network.bytes', kind: 'count' },
  start: { field: '@timestamp', kind: 'start' },
  end: { field: 'vpcflow.end', kind: 'end' },
  action: { field: 'vpcflow.action', kind: 'action' },
  'log-status': { field: 'vpcflow.log_status', kind: 'status' },
  'vpc-id': { field: 'vpcflow.vpc_id', kind: 'text' },
  'subnet-id': { field: 'vpcflow.subnet_id', kind: 'text' },
  'instance-id': { field: 'cloud.instance.id', kind: 'text' },
  'tcp-flags': { field: 'vpcflow.tcp_flags', kind: 'small' },
  type: { field: 'vpcflow.type', kind: 'text' },
  // Behind a NAT gateway or load balancer srcaddr is the intermediary; these are the packet's own addresses.
  'pkt-srcaddr': { field: 'vpcflow.pkt_srcaddr', kind: 'address' },
  'pkt-dstaddr': { field: 'vpcflow.pkt_dstaddr', kind: 'address' },
  region: { field: 'cloud.region', kind: 'text' },
  'az-id': { field: 'vpcflow.az_id', kind: 'text' },
  'sublocation-type': { field: 'vpcflow.sublocation_type', kind: 'text' },
  'sublocation-id': { field: 'vpcflow.sublocation_id', kind: 'text' },
  'pkt-src-aws-service': { field: 'vpcflow.pkt_src_aws_service', kind: 'text' },
  'pkt-dst-aws-service': { field: 'vpcflow.pkt_dst_aws_service', kind: 'text' },
  // `ingress` / `egress`: ECS's own values for network.direction.
  'flow-direction': { field: 'network.direction', kind: 'text' },
  'traffic-path': { field: 'vpcflow.traffic_path', kind: 'small' },
  'ecs-cluster-arn': { field: 'vpcflow.ecs_cluster_arn', kind: 'text' },
  'ecs-cluster-name': { field: 'vpcflow.ecs_cluster_name', kind: 'text' },
  'ecs-container-instance-arn': { field: 'vpcflow.ecs_container_instance_arn', kind: 'text' },
  'ecs-container-instance-id': { field: 'vpcflow.ecs_container_instance_id', kind: 'text' },
  'ecs-container-id': { field: 'vpcflow.ecs_container_id', kind: 'text' },
  'ecs-second-container-id': { field: 'vpcflow.ecs_second_container_id', kind: 'text' },
  'ecs-service-name': { field: 'vpcflow.ecs_service_name', kind: 'text' },
  'ecs-task-definition-arn': { field: 'vpcflow.ecs_task_definition_arn', kind: 'text' },
  'ecs-task-arn': { field: 'vpcflow.ecs_task_arn', kind: 'text' },
  'ecs-task-id': { field: 'vpcflow.ecs_task_id', kind: 'text' },
  'reject-reason': { field: 'vpcflow.reject_reason', kind: 'text' },
  'resource-id': { field: 'vpcflow.resource_id', kind: 'text' },
  'encryption-status': { field: 'vpcflow.encryption_status', kind: 'small' },
  // Transit Gateway flow logs (their own field set; version 6).
  'resource-type': { field: 'vpcflow.resource_type', kind: 'text' },
  'tgw-id': { field: 'vpcflow.tgw_id', kind: 'text' },
  'tgw-attachment-id': { field: 'vpcflow.tgw_attachment_id', kind: 'text' },
  'tgw-src-vpc-account-id': { field: 'vpcflow.tgw_src_vpc_account_id', kind: 'text' },
  'tgw-dst-vpc-account-id': { field: 'vpcflow.tgw_dst_vpc_account_id', kind: 'text' },
  'tgw-src-vpc-id': { field: 'vpcflow.tgw_src_vpc_id', kind: 'text' },
  'tgw-dst-vpc-id': { field: 'vpcflow.tgw_dst_vpc_id', kind: 'text' },
  'tgw-src-subnet-id': { field: 'vpcflow.tgw_src_subnet_id', kind: 'text' },
  'tgw-dst-subnet-id': { field: 'vpcflow.tgw_dst_subnet_id', kind: 'text' },
  'tgw-src-eni': { field: 'vpcflow.tgw_src_eni', kind: 'text' },
  'tgw-dst-eni': { field: 'vpcflow.tgw_dst_eni', kind: 'text' },
  'tgw-src-az-id': { field: 'vpcflow.tgw_src_az_id', kind: 'text' },
  'tgw-dst-az-id': { field: 'vpcflow.tgw_dst_az_id', kind: 'text' },
  'tgw-pair-attachment-id': { field: 'vpcflow.tgw_pair_attachment_id', kind: 'text' },
  'packets-lost-no-route': { field: 'vpcflow.packets_lost_no_route', kind: 'count' },
  'packets-lost-blackhole': { field: 'vpcflow.packets_lost_blackhole', kind: 'count' },
  'packets-lost-mtu-exceeded': { field: 'vpcflow.packets_lost_mtu_exceeded', kind: 'count' },
  'packets-lost-ttl-expired': { field: 'vpcflow.packets_lost_ttl_expired', kind: 'count' },
};

/** A format string as AWS writes it: `${version} ${srcaddr} …`. */
export function flowLogFormat(names: readonly string[]): string {
  return names.map((n) => `\${${n}}`).join(' ');
}

/** The default format: the version 2 fields in order (what a flow log without --log-format writes). */
export const DEFAULT_FLOW_LOG_FORMAT = flowLogFormat(Object.keys(FLOW_LOG_FIELDS).slice(0, 14));

const FLOW_CATEGORY = 'network';
const FLOW_DATASET = 'aws.vpcflow';
/** Fields every flow record gets, whatever its format, and their values (parse writes them first). */
export const FLOW_RECORD_CONSTANTS: Readonly<Record<string, string>> = { 'event.category': FLOW_CATEGORY, 'event.dataset': FLOW_DATASET };
const CONSTANT_FIELDS = Object.keys(FLOW_RECORD_CONSTANTS);

/** Every normalized field a flow record of some format can set (for `detect validate`'s field check). */
export const FLOW_LOG_OUTPUT_FIELDS: readonly string[] = [...CONSTANT_FIELDS, ...Object.values(FLOW_LOG_FIELDS).map((f) => f.field)];

/** A format's fields in order (AWS names and how each is read), or what is wrong with it (naming the offending token). */
export function parseFlowLogFormat(format: string): { ok: true; names: string[]; fields: FlowField[] } | { ok: false; error: string } {
  const tokens = format.trim().split(/\s+/);
  const names: string[] = [];
  const fields: FlowField[] = [];
  for (const token of tokens) {
    const m = /^\$\{([a-z0-9-]+)\}$/.exec(token);
    if (!m?.[1])
      return { ok: false, error: `'${token}' is not a \${field} reference (fields are space-separated, like \${srcaddr} \${dstaddr})` };
    const name = m[1];
    const field = FLOW_LOG_FIELDS[name];
    if (!field) return { ok: false, error: `unknown flow log field '${name}' (known: ${Object.keys(FLOW_LOG_FIELDS).join(', ')})` };
    if (names.includes(name)) return { ok: false, error: `field '${name}' is listed twice` };
    names.push(name);
    fields.push(field);
  }
  if (names.length === 0) return { ok: false, error: 'a format needs at least one field' };
  return { ok: true, names, fields };
}

const DASH = 45;

/**
 * The number the ASCII digits of `line` from `from` to `end` spell, when they are `min`–`max` of
 * them, else -1. Read in place while checking (a flow record is six such numbers); exact up to 15
 * digits, longer ones (byte counts past a petabyte) go through `Number()`.
 */
function digitsAt(line: string, from: number, end: number, min: number, max: number): number {
  const n = end - from;
  if (n < min || n > max) return -1;
  let value = 0;
  for (let i = from; i < end; i++) {
    const digit = line.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return n > 15 ? Number(line.slice(from, end)) : value;
}

/** `[0-9a-fA-F.:]{2,45}`: an IPv4 or IPv6 address as flow logs write it. */
function isAddressAt(line: string, from: number, end: number): boolean {
  const n = end - from;
  if (n < 2 || n > 45) return false;
  for (let i = from; i < end; i++) {
    const c = line.charCodeAt(i);
    const ok = (c >= 48 && c <= 58) || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
    if (!ok) return false;
  }
  return true;
}

/** `eni-` and 8–17 lower-case hex digits. */
function isInterfaceIdAt(line: string, from: number, end: number): boolean {
  const n = end - from;
  if (n < 12 || n > 21 || !line.startsWith('eni-', from)) return false;
  for (let i = from + 4; i < end; i++) {
    const c = line.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Whether the value from `from` to `end` is `word`. */
function isWord(line: string, from: number, end: number, word: string): boolean {
  return end - from === word.length && line.startsWith(word, from);
}

const FLOW_HINT_RE = /(?:^| )eni-[0-9a-f]{8,17} .* (?:OK|NODATA|SKIPDATA)(?: |$)/;

/**
 * A line no parser took that still looks like a flow record (an interface id and a log status):
 * most likely a custom format, which content recognition cannot read (`detect sources check` says so).
 */
export function looksLikeFlowRecord(line: string): boolean {
  return FLOW_HINT_RE.test(line);
}

/** Longest number each numeric kind holds (a port has five digits, bytes and packets up to twenty). */
const MAX_DIGITS = { port: 5, protocol: 3, count: 20, small: 5 } as const;

/** Longest value kept from a free-form field (ARNs and ids are far shorter). */
const MAX_TEXT = 2048;

/**
 * What the value of a field from `from` to `end` of the line is: what the event keeps, undefined
 * for `-` (not applicable: AWS may write it, except for version, account, interface, times and
 * log status), or null when the value cannot be of this field, which means the line is not a
 * record of this format. Checked in place, before anything is cut out of the line.
 */
function readValue(kind: FlowValueKind, line: string, from: number, end: number): FieldValue | undefined | null {
  const dash = end - from === 1 && line.charCodeAt(from) === DASH;
  switch (kind) {
    case 'version':
      if (digitsAt(line, from, end, 1, 2) === -1) return null;
      return line.slice(from, end);
    case 'account':
      // Interfaces AWS services create (endpoints, load balancers) are owned by `unknown`.
      if (isWord(line, from, end, 'unknown')) return undefined;
      if (digitsAt(line, from, end, 12, 12) === -1) return null;
      return line.slice(from, end);
    case 'interface':
      if (!isInterfaceIdAt(line, from, end)) return null;
      return line.slice(from, end);
    case 'address':
      if (dash) return undefined;
      if (!isAddressAt(line, from, end)) return null;
      return line.slice(from, end);
    case 'port':
    case 'protocol':
    case 'count':
    case 'small': {
      if (dash) return undefined;
      const number = digitsAt(line, from, end, 1, MAX_DIGITS[kind]);
      if (number === -1) return null;
      return number;
    }
    case 'start':
      // Epoch seconds, read by the normalizer's timestamp parsing.
      if (digitsAt(line, from, end, 9, 11) === -1) return null;
      return line.slice(from, end);
    case 'end': {
      const seconds = digitsAt(line, from, end, 9, 11);
      if (seconds === -1) return null;
      return seconds;
    }
    case 'action':
      if (dash) return undefined;
      // The constants, not the line's copies: rules look these up, and a constant's hash is kept.
      if (isWord(line, from, end, 'ACCEPT')) return 'ACCEPT';
      return isWord(line, from, end, 'REJECT') ? 'REJECT' : null;
    case 'status':
      if (isWord(line, from, end, 'OK')) return 'OK';
      if (isWord(line, from, end, 'NODATA')) return 'NODATA';
      return isWord(line, from, end, 'SKIPDATA') ? 'SKIPDATA' : null;
    case 'text':
      if (dash) return undefined;
      if (end === from || end - from > MAX_TEXT) return null;
      return line.slice(from, end);
  }
}

/** What readValue accepts of each kind, as a regex (no value holds a space: they are what separates them). */
const KIND_RE: Readonly<Record<FlowValueKind, string>> = {
  version: String.raw`\d{1,2}`,
  account: String.raw`unknown|\d{12}`,
  interface: 'eni-[0-9a-f]{8,17}',
  address: '-|[0-9a-fA-F.:]{2,45}',
  port: String.raw`-|\d{1,${MAX_DIGITS.port}}`,
  protocol: String.raw`-|\d{1,${MAX_DIGITS.protocol}}`,
  count: String.raw`-|\d{1,${MAX_DIGITS.count}}`,
  small: String.raw`-|\d{1,${MAX_DIGITS.small}}`,
  start: String.raw`\d{9,11}`,
  end: String.raw`\d{9,11}`,
  action: '-|ACCEPT|REJECT',
  status: 'OK|NODATA|SKIPDATA',
  text: `[^ ]{1,${MAX_TEXT}}`,
};

/** Reads flow records of one format; a line with another number of values, or a value that cannot be its field's, is not one. */
export class FlowLogParser implements LineParser {
  readonly name = 'vpcflow';
  private readonly fields: FlowField[];
  /** Every field a record of this format can set (ParseOutcome.writes). */
  readonly writes: ReadonlySet<string>;
  /**
   * Every value is checked to be of its field (numbers, addresses, ids, the documented words): no
   * free text, so a record this format accepts holds nothing but those characters and spaces —
   * no control character, quote or brace (what lets its records skip the general way's steps for
   * such lines: src/parse/flow-lane.ts).
   */
  readonly strict: boolean;
  private readonly pattern: string;
  /** A record's values, read before any is written (a line that turns out not to be a record writes nothing). */
  private readonly values: (FieldValue | undefined)[] = [];
  private readonly write: FieldWriter;
  /** This format's records: a class of their own, sized by its fields (see eventShape). */
  private readonly newEvent = eventShape();
  /** The few fields of a record parseOnly gives: a class of their own. */
  private readonly newPart = eventShape();
  /** The whole record as one regex: every value of its field's kind (what `read` checks value by value). */
  private readonly shape: RegExp;
  /** Per set of wanted fields, which of this format's values parseOnly keeps (their places), and their writer. */
  private readonly parts = new WeakMap<ReadonlySet<string>, { kept: number[]; write: FieldWriter }>();

  constructor(format: string = DEFAULT_FLOW_LOG_FORMAT) {
    const parsed = parseFlowLogFormat(format);
    if (!parsed.ok) throw new Error(`flowLogFormat: ${parsed.error}`);
    this.fields = parsed.fields;
    this.strict = parsed.fields.every((f) => f.kind !== 'text');
    this.shape = new RegExp(`^${parsed.fields.map((f) => `(?:${KIND_RE[f.kind]})`).join(' ')}$`);
    this.write = fieldWriter(this.fields.map((f) => f.field));
    this.writes = new Set([...CONSTANT_FIELDS, ...this.fields.map((f) => f.field)]);
    this.pattern = format === DEFAULT_FLOW_LOG_FORMAT ? 'vpcflow_v2' : 'vpcflow_custom';
  }

  parse(line: string): ParseOutcome | undefined {
    const fields = this.fields;
    const values = this.values;
    let from = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      if (f === undefined) return undefined;
      const last = i === fields.length - 1;
      const end = last ? line.length : line.indexOf(' ', from);
      if (end === -1) return undefined; // fewer values than the format has fields
      if (last && line.indexOf(' ', from) !== -1) return undefined; // more values than fields
      // A leading, doubled or trailing space makes an empty value, which no field accepts.
      const read = readValue(f.kind, line, from, end);
      if (read === null) return undefined;
      values[i] = read;
      from = end + 1;
    }
    const out = this.newEvent();
    out['event.category'] = FLOW_CATEGORY;
    out['event.dataset'] = FLOW_DATASET;
    this.write(out, values);
    return { fields: out, pattern: this.pattern, fallback: false, writes: this.writes };
  }
  /**
   * A record's constants and only the fields `wanted` names, or undefined when the line is not a
   * record of this format: every value is checked as `parse` checks it, and only the wanted ones
   * are cut out of the line (src/engine/flow-gate.ts reads a few fields of every record).
   */
  parseOnly(line: string, wanted: ReadonlySet<string>): NormalizedEvent | undefined {
    // One native scan checks every value (most records are read for a few fields only).
    if (!this.shape.test(line)) return undefined;
    let part = this.parts.get(wanted);
    if (!part) {
      const kept = this.fields.flatMap((f, i) => (wanted.has(f.field) ? [i] : []));
      part = { kept, write: fieldWriter(kept.map((i) => this.fields[i]?.field ?? '')) };
      this.parts.set(wanted, part);
    }
    const fields = this.fields;
    const values = this.values;
    let from = 0;
    let field = 0;
    for (let k = 0; k < part.kept.length; k++) {
      const at = part.kept[k] ?? 0;
      for (; field < at; field++) from = line.indexOf(' ', from) + 1;
      const end = at === fields.length - 1 ? line.length : line.indexOf(' ', from);
      const f = fields[at];
      values[k] = f && (readValue(f.kind, line, from, end) ?? undefined);
    }
    const out = this.newPart();
    out['event.category'] = FLOW_CATEGORY;
    out['event.dataset'] = FLOW_DATASET;
    part.write(out, values);
    return out;
  }
}
