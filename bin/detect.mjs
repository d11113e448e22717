#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step): tsx registers a loader for .ts files.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on Node 20 (the Lambda runs Node 22); keep the CLI output readable.
process.env.AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING ??= '1';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
