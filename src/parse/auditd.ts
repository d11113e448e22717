import type { FieldValue, NormalizedEvent } from '../schema/event';

/**
 * Linux audit records (`type=EXECVE msg=audit(1740971560.123:4242): argc=3 a0="curl" …`, as the
 * CloudWatch agent ships /var/log/audit/audit.log). Every field is kept under `auditd.<name>`;
 * values auditd hex-encodes (arguments, titles and paths with spaces or odd characters) are
 * decoded; the enriched format's interpreted fields (after a GS character: `SYSCALL=execve
 * UID="root"`) are kept too. A few land on ECS names: process.executable, process.name,
 * process.pid, process.command_line, user.id.
 */
const FIELD_RE = /([A-Za-z_][\w-]{0,63})=("(?:[^"\\]|\\.){0,8192}"|'[^']{0,8192}'|[^\s"'\u001d]{0,8192})/g;
const HEX_RE = /^(?:[0-9A-F]{2}){1,8192}$/;

/** Which fields of which record types auditd hex-encodes when they hold spaces or odd bytes. */
function mayBeHex(type: string, key: string): boolean {
  if (type === 'EXECVE') return /^a\d{1,4}(?:\[\d{1,4}\])?$/.test(key);
  if (type === 'PROCTITLE') return key === 'proctitle';
  if (type === 'PATH') return key === 'name';
  if (type === 'CWD') return key === 'cwd';
  return key === 'comm' || key === 'exe' || key === 'cmd' || key === 'data';
}

function decodeHex(hex: string): string {
  // NULs separate arguments in PROCTITLE; other control bytes stay out of the text.
  return Buffer.from(hex, 'hex')
    .toString('utf8')
    .replace(/\u0000/g, ' ')
    .replace(/[\u0001-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .trim();
}

export function parseAuditFields(text: string, type: string, out: Record<string, FieldValue>): void {
  for (const m of text.matchAll(FIELD_RE)) {
    const key = m[1] ?? '';
    const raw = m[2] ?? '';
    let value: string;
    if (raw.startsWith('"') || raw.startsWith("'")) value = raw.slice(1, -1);
    else if (mayBeHex(type, key) && HEX_RE.test(raw)) value = decodeHex(raw);
    else value = raw;
    if (value === '' || value === '(null)' || value === '?') continue;
    out[`auditd.${key}`] = value;
  }
  const get = (k: string) => {
    const v = out[`auditd.${k}`];
    return typeof v === 'string' ? v : undefined;
  };
  const exe = get('exe');
  if (exe) out['process.executable'] = exe;
  const comm = get('comm');
  if (comm) out['process.name'] = comm;
  const pid = get('pid');
  if (pid && /^\d{1,10}$/.test(pid)) out['process.pid'] = Number(pid);
  const uid = get('uid');
  if (uid) out['user.id'] = uid;
  if (type === 'EXECVE') {
    const argc = Number(get('argc') ?? 0);
    const args: string[] = [];
    for (let i = 0; i < Math.min(argc || 64, 256); i++) {
      const a = get(`a${i}`);
      if (a === undefined) break;
      args.push(a);
    }
    if (args.length > 0) out['process.command_line'] = args.join(' ');
  }
  out['event.action'] = `auditd_${type.toLowerCase()}`;
  if (type === 'EXECVE' || type === 'SYSCALL') out['event.category'] = 'process';
}

/** Join order: whose fields win when the records of one event share a name (EXECVE's argv over SYSCALL's raw args). */
const PRIORITY = ['EXECVE', 'SYSCALL', 'PATH', 'CWD', 'PROCTITLE'];
const OWN = new Set([
  'auditd.type',
  'event.action',
  'event.category',
  'event.original',
  'message',
  'event.dataset',
  '@timestamp',
  'event.hour_utc',
  'event.weekday_utc',
  'event.hour_local',
  'event.weekday_local',
]);

/**
 * Arguments are their own record's: a SYSCALL record's a0–a3 are the raw syscall arguments (hex
 * pointers), an EXECVE record's the program's argv. Filled in across records, a two-argument
 * command's EXECVE record took the syscall's a2 and a3, and a rule on a2 read a pointer.
 */
const ARGUMENT = /^auditd\.a\d/;

/**
 * The records of one audit event (same serial) arrive as separate lines. Within a payload, each
 * record gets the fields it lacks from its siblings, so a rule can ask for an EXECVE record's
 * arguments together with the SYSCALL record's executable and key. Records of one event split
 * across payloads are not joined.
 */
export function joinAuditRecords(events: readonly NormalizedEvent[]): void {
  const bySerial = new Map<string, NormalizedEvent[]>();
  for (const e of events) {
    const serial = e['auditd.serial'];
    if (serial === undefined) continue;
    const key = `${String(e['cloudwatch.log_stream'] ?? '')}:${String(serial)}`;
    const group = bySerial.get(key);
    if (group) group.push(e);
    else bySerial.set(key, [e]);
  }
  for (const group of bySerial.values()) {
    if (group.length < 2) continue;
    const ranked = [...group].sort((a, b) => rank(a) - rank(b));
    for (const target of group) {
      for (const source of ranked) {
        if (source === target) continue;
        for (const k in source) {
          if (OWN.has(k) || k.startsWith('cloudwatch.') || ARGUMENT.test(k) || target[k] !== undefined) continue;
          const v = source[k];
          if (v !== undefined) target[k] = v;
        }
      }
    }
  }
}

function rank(e: NormalizedEvent): number {
  const i = PRIORITY.indexOf(String(e['auditd.type']));
  return i === -1 ? PRIORITY.length : i;
}
