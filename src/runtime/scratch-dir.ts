import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Directories a synth writes for itself (the rule bundle its functions copy at bundling time, a
 * template synthesized to read back), removed when the process exits. Left behind, every
 * `cdk synth` and local run added one to the temporary directory: a build agent that synthesizes
 * on every commit filled its disk with them.
 */
const made = new Set<string>();
/** One exit listener for the process: a set emptied by removeScratchDir and filled again must not add another. */
let listening = false;

/** A new directory under the system's temporary directory, removed when the process exits. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (!listening) {
    process.once('exit', removeScratchDirs);
    listening = true;
  }
  made.add(dir);
  return dir;
}

/** Removes a scratch directory now, when what it held has been read (a synthesized template). */
export function removeScratchDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

function removeScratchDirs(): void {
  for (const dir of [...made]) removeScratchDir(dir);
}
