import type { z } from 'zod';

/** A zod issue path as people write it: `subscribers.notify.emails[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** Every issue of a zod error as `path: message`, one per line (or joined with `; `). */
export function formatIssues(error: z.ZodError, separator = '\n'): string {
  return error.issues.map((i) => (i.path.length > 0 ? `${formatPath(i.path)}: ${i.message}` : i.message)).join(separator);
}
