import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export class UnreadableInputError extends Error {}

/** Expands files and folders (recursively, sorted) into input files; missing paths are errors. */
export function listInputFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch (err) {
      throw new UnreadableInputError(`cannot read ${p}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (st.isDirectory()) for (const entry of readdirSync(p).sort()) walk(join(p, entry));
    else out.push(p);
  };
  for (const p of paths) walk(p);
  return out;
}
