import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { z } from 'zod';
import { listRuleFiles } from '../rules/read-files';
import type { SynthesizedMachine } from './machine';

export interface DefinitionOptions {
  rulesDirs?: readonly string[];
  responseFunctionArn?: string;
}

const Cached = z.object({
  definition: z.object({ StartAt: z.string(), States: z.record(z.string(), z.unknown()) }).passthrough(),
  topicTiers: z.array(z.tuple([z.string(), z.string()])),
  tableName: z.string(),
});

function sourcesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(ts|json)$/.test(entry.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** What the synthesized definition depends on: the rule pack, the infra sources, the envelope's defaults and the CDK version. */
function cacheKey(options: DefinitionOptions): string {
  const h = createHash('sha256').update(JSON.stringify(options));
  // The envelope module too: the state machine defaults the publish fields it lists.
  const files = [
    ...listRuleFiles(options.rulesDirs ?? ['rules']),
    ...sourcesUnder('infra'),
    'src/correlation/envelope.ts',
    'node_modules/aws-cdk-lib/package.json',
  ];
  for (const f of files) if (existsSync(f)) h.update(f).update('\0').update(readFileSync(f));
  return h.digest('hex').slice(0, 32);
}

function cacheDir(): string {
  return existsSync('node_modules') ? join('node_modules', '.cache', 'sentinel') : join(tmpdir(), 'sentinel-cache');
}

/**
 * The correlation state machine exactly as deployed, for local runs. Synthesizing the CDK stack
 * takes seconds, so the result is cached, keyed by everything it depends on; CDK is only loaded
 * on a miss, so a replay that finds nothing to read never pays for it.
 */
export async function loadDefinition(options: DefinitionOptions = {}): Promise<SynthesizedMachine> {
  const file = join(cacheDir(), `state-machine-${cacheKey(options)}.json`);
  if (existsSync(file)) {
    const cached = Cached.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (cached.success) {
      const definition: StateMachineDefinition = JSON.parse(JSON.stringify(cached.data.definition));
      return { definition, topicTiers: new Map(cached.data.topicTiers), tableName: cached.data.tableName };
    }
  }
  const { synthesizeDefinition } = await import('./synth-definition');
  const machine = synthesizeDefinition(options);
  mkdirSync(cacheDir(), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({ definition: machine.definition, topicTiers: [...machine.topicTiers], tableName: machine.tableName }),
  );
  return machine;
}
