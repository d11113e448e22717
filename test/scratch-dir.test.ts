import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthesizeDefinition } from '../src/local/synth-definition';
import { removeScratchDir, scratchDir } from '../src/runtime/scratch-dir';

/** Runs `body` with os.tmpdir() pointing at a fresh directory; returns what was left in it. */
function leftBehind(body: () => void): string[] {
  const root = mkdtempSync(join(tmpdir(), 'scratch-check-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  try {
    body();
    return readdirSync(root);
  } finally {
    // Assigning undefined to an environment variable would set it to the text "undefined".
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(root, { recursive: true, force: true });
  }
}

describe('temporary directories of a synth', () => {
  it('a scratch directory is gone when its process exits, files and all', () => {
    const script = [
      "import { writeFileSync } from 'node:fs';",
      "import { scratchDir } from './src/runtime/scratch-dir.ts';",
      "const dir = scratchDir('sentinel-rules-');",
      "writeFileSync(dir + '/rules.json', '[]');",
      'console.log(dir);',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const dir = r.stdout.trim();
    expect(dir).toContain('sentinel-rules-');
    expect(existsSync(dir)).toBe(false);
  });

  it('a process that makes and removes scratch directories again and again listens for its exit once', () => {
    const listening = process.listenerCount('exit');
    const made = leftBehind(() => {
      for (let i = 0; i < 20; i++) removeScratchDir(scratchDir('sentinel-cycle-'));
    });
    expect(made).toEqual([]);
    expect(process.listenerCount('exit') - listening).toBeLessThanOrEqual(1);
  });
  it("a local run's synthesized assembly is removed once its template is read (the rule bundle waits for the process's exit)", () => {
    let states = 0;
    const left = leftBehind(() => {
      states = Object.keys(synthesizeDefinition().definition.States).length;
    });
    expect(states).toBeGreaterThan(0);
    expect(left.filter((name) => name.startsWith('sentinel-synth-'))).toEqual([]);
    expect(left.filter((name) => name.startsWith('sentinel-rules-'))).toHaveLength(1);
  });
});
