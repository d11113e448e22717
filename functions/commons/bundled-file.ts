import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { bundleDir } from './embedded-rules';

/** A JSON file the stack bundled next to the handler, read by its schema; `absent` when the bundle has none (an option off, a bundle from before it). */
export function loadBundledFile<T>(name: string, schema: z.ZodType<T>, absent: T, dir: string = bundleDir()): T {
  const file = join(dir, name);
  return existsSync(file) ? schema.parse(JSON.parse(readFileSync(file, 'utf8'))) : absent;
}
