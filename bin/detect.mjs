#!/usr/bin/env node
// Runs the TypeScript CLI with no build step for the user. The CLI's modules are bundled by
// esbuild into node_modules/.cache on first use and again whenever a source file changes (the
// bundle is named by a hash of their contents): loading one bundle took about half the start-up
// time that loading each of ~200 .ts files through tsx's loader did. Without esbuild (a
// production-only install), tsx's loader runs the sources as they are.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The AWS SDK warns on Node 20 that its 2027 releases will need Node 22 (the Lambdas run 22);
// the CLI works on both, so keep its output readable.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'src', 'cli', 'main.ts');

/** The files the CLI can import (src, and functions and infra through the local runner). */
function sourceFiles(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(path, out);
    else out.push(path);
  }
  return out;
}

async function bundled() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return undefined;
  }
  const hash = createHash('sha256')
    .update(esbuild.version)
    .update(readFileSync(fileURLToPath(import.meta.url)));
  const files = ['src', 'functions', 'infra'].flatMap((d) => sourceFiles(join(root, d)));
  // How esbuild reads the sources.
  if (existsSync(join(root, 'tsconfig.json'))) files.push(join(root, 'tsconfig.json'));
  for (const file of files.sort()) {
    hash.update(file).update('\0').update(readFileSync(file)).update('\0');
  }
  // SENTINEL_DETECT_CACHE (tests) names another folder; inside the project, where the bundle's
  // imports of the dependencies resolve.
  const cache = process.env.SENTINEL_DETECT_CACHE ?? join(root, 'node_modules', '.cache', 'sentinel-detect');
  const dir = join(cache, hash.digest('hex').slice(0, 16));
  const main = join(dir, 'main.mjs');
  if (!existsSync(main)) {
    // Built beside it and renamed into place: CLIs started at once (tests, CI) each build, one wins.
    const building = `${dir}.${process.pid}.tmp`;
    const built = await esbuild
      .build({
        entryPoints: { main: entry },
        outdir: building,
        bundle: true,
        // Modules imported on demand (the stack's synth for the local state machine) stay apart.
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        packages: 'external',
        outExtension: { '.js': '.mjs' },
        sourcemap: 'linked', // read by `node --enable-source-maps bin/detect.mjs …`
        logLevel: 'error',
      })
      .then(
        () => true,
        // Nowhere to write it (a read-only install): the sources run through tsx instead.
        () => false,
      );
    if (!built) {
      rmSync(building, { recursive: true, force: true });
      return undefined;
    }
    try {
      renameSync(building, dir);
    } catch {
      rmSync(building, { recursive: true, force: true }); // another CLI put the same bundle in place first
    }
    // Bundles of sources that have changed since are removed a day on: a CLI still running from
    // one may yet import a part of it (the local state machine's synth is loaded on demand).
    for (const old of readdirSync(cache)) {
      const path = join(cache, old);
      const age = Date.now() - (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (path !== dir && age > 86_400_000) rmSync(path, { recursive: true, force: true });
    }
  }
  return pathToFileURL(main).href;
}

const url = await bundled();
if (!url) (await import('tsx/esm/api')).register();
const { main } = await import(url ?? pathToFileURL(entry).href);
await main(process.argv);
