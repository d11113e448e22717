import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Test files that read the environment when a module loads (the Lambda handlers' cold start),
 * set it around what they import, or mock a module: each runs with a module graph of its own.
 */
const OWN_MODULES = [
  'test/calendar.test.ts',
  'test/cdk.test.ts',
  'test/delivery-lag.test.ts',
  'test/exceptions.test.ts',
  'test/handlers.test.ts',
  'test/hostile.test.ts',
  'test/kinesis.test.ts',
  'test/redrive.test.ts',
  'test/state-machine.test.ts',
  'test/term-learning.test.ts',
  'test/v8-heap.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default leaves one core idle (one worker on a 2-core CI machine, where the suite is
    // CPU-bound): every core runs a test file.
    maxWorkers: availableParallelism(),
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    globalSetup: ['test/temp-dir.global-setup.ts'],
    projects: [
      // The rest share each worker's loaded modules (the engine holds no state between instances):
      // loading the module graph once per worker, not per file, was a fifth of the suite's time.
      { extends: true, test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: OWN_MODULES, isolate: false } },
      { extends: true, test: { name: 'isolated', include: OWN_MODULES } },
    ],
  },
});
