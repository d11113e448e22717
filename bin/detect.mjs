#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step): tsx registers a loader for .ts files.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on Node 20 that its 2027 releases will need Node 22 (the Lambdas run 22);
// the CLI works on both, so keep its output readable.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
