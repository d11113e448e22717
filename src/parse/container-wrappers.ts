/**
 * The wrappers container runtimes and their log shippers put around an app's line: the line the
 * app wrote is inside, and is what a source's parsers are for (src/parse/normalize.ts opens them
 * once, never a wrapper inside a wrapper).
 */

/** Keys that mark a JSON object as a container runtime's wrapper around a `log` line (with `log` itself). */
const WRAPPER_KEYS = ['stream', 'time', 'kubernetes', 'container_name', 'container_id', 'ecs_task_arn', 'logtag', 'source'];

export interface ContainerWrapper {
  line: string;
  /** The wrapper without its `log`: pod, container, stream, time. */
  meta: Record<string, unknown>;
}

/**
 * A JSON line, parsed: `{"log":"…","stream":"stdout","time":"…"}` (Docker json-file, Fluent Bit),
 * with `kubernetes` (EKS, Container Insights) or `container_name`/`ecs_task_arn` (ECS FireLens):
 * the `log` and the rest; undefined for any other JSON.
 */
export function wrapperOf(value: unknown): ContainerWrapper | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const log: unknown = Reflect.get(value, 'log');
  if (typeof log !== 'string' || !WRAPPER_KEYS.some((k) => Reflect.has(value, k))) return undefined;
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'log') meta[k] = v;
  // Runtimes keep the line's newline.
  return { line: log.replace(/\r?\n$/, ''), meta };
}

/**
 * containerd's own log line (the CRI format: EKS nodes since Kubernetes 1.24): `<RFC 3339 time>
 * <stdout|stderr> <P|F> <line>`, as the CloudWatch agent or a collector without a CRI parser ships
 * /var/log/containers as it is. `P` marks a part of a line longer than the runtime's buffer (16 KB):
 * read as it stands. Only lines starting with a date and a `T` are tried against the pattern.
 */
const DASH = 45;
const LETTER_T = 84;
const CRI_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) [PF] /;

export function criWrapper(text: string): ContainerWrapper | undefined {
  if (text.charCodeAt(4) !== DASH || text.charCodeAt(10) !== LETTER_T) return undefined;
  const m = CRI_LINE.exec(text);
  if (!m) return undefined;
  return { line: text.slice(m[0].length), meta: { time: m[1], stream: m[2] } };
}
