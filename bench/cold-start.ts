import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';
import { readRuleFiles } from '../src/rules/read-files';
import { scratchDir } from '../src/runtime/scratch-dir';
import { median } from './measure';

export interface BundleFigures {
  bytes: number;
  gzipBytes: number;
  initMs: number;
}

/**
 * Bundles the detector handler as the stack does (esbuild, CJS, node22, minified, rules.json
 * beside it) and measures the bundle and its module initialisation in a fresh Node process:
 * the part of a cold start the code controls (the runtime's own start is not included).
 */
export function measureDetectorBundle(runs = 5): BundleFigures {
  const dir = scratchDir('sentinel-bundle-');
  const outfile = join(dir, 'index.js');
  buildSync({
    entryPoints: ['functions/detector/handler.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    outfile,
    logLevel: 'error',
  });
  writeFileSync(join(dir, 'rules.json'), JSON.stringify(readRuleFiles(['rules']).files));
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, "const t = performance.now(); require('./index.js'); process.stdout.write(String(performance.now() - t));");
  const env = {
    ...process.env,
    TABLE_NAME: 'bench',
    DIGEST_INTERVAL_MS: '3600000',
    PAGE_FOLD_MS: '14400000',
    OUTBREAK_AFTER: '3',
    NEW_TERM_LEARNING_MS: String(7 * 86_400_000),
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
    RISK_LOOKBACK_MS: '14400000',
    AWS_REGION: 'us-east-1',
    // Set by the stack on every function (infra/constructs/sentinel-function.ts).
    SENTINEL_ACCOUNT_ID: '123456789012',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = spawnSync(process.execPath, [probe], { env, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`bundled handler failed to initialise: ${out.stderr}`);
    times.push(Number(out.stdout));
  }
  return {
    bytes: statSync(outfile).size,
    gzipBytes: gzipSync(readFileSync(outfile)).length,
    initMs: median(times),
  };
}
