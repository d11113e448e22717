import { App } from 'aws-cdk-lib';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { z } from 'zod';
import { parseConfig, type SentinelConfig } from '../../infra/config';
import { SentinelStack } from '../../infra/sentinel-stack';
import { removeScratchDir, scratchDir } from '../runtime/scratch-dir';

import { LOCAL_ACCOUNT, LOCAL_REGION, type SynthesizedMachine } from './machine';

/** Minimal shape check of the synthesized ASL before handing it to the local interpreter. */
const AslShape = z.object({ StartAt: z.string(), States: z.record(z.string(), z.unknown()) });

type CfnValue = string | { Ref?: string; 'Fn::GetAtt'?: [string, string] } | unknown;

/**
 * Synthesizes the real CDK stack in-process (bundling skipped: only the template is needed)
 * and returns its correlation state machine definition, so local runs execute the exact ASL
 * that is deployed.
 */
export function synthesizeDefinition(
  options: { rulesDirs?: readonly string[]; responseFunctionArn?: string; chat?: SentinelConfig['chat'] } = {},
): SynthesizedMachine {
  const outdir = scratchDir('sentinel-synth-');
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const config = parseConfig({
    rulesDir: options.rulesDirs ?? ['rules'],
    ...(options.responseFunctionArn ? { responseFunctionArn: options.responseFunctionArn } : {}),
    ...(options.chat ? { chat: options.chat } : {}),
  });
  const stack = new SentinelStack(app, 'SentinelLocal', { config, env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION } });
  let template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, string> }> };
  try {
    template = app.synth().getStackByName(stack.stackName).template;
  } finally {
    // The template is read: the cloud assembly is not needed again (the definition cache keeps what is).
    removeScratchDir(outdir);
  }
  const resources = template.Resources;
  const topicTiers = new Map<string, string>();
  const arnFor = (logicalId: string): string => {
    const r = resources[logicalId];
    switch (r?.Type) {
      case 'AWS::SNS::Topic': {
        const arn = `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}`;
        const path = logicalId; // e.g. AlertsRespondTopic1A2B3C4D
        const tier = /ReviewTopic/.test(path)
          ? 'review'
          : /NotifyTopic/.test(path)
            ? 'notify'
            : /RespondTopic/.test(path)
              ? 'respond'
              : /ChatTopic/.test(path)
                ? 'chat'
                : 'unknown';
        topicTiers.set(arn, tier);
        return arn;
      }
      case 'AWS::DynamoDB::Table':
        return 'sentinel-state';
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;
      default:
        return `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}`;
    }
  };
  const machine = Object.values(resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  const body: CfnValue = machine?.Properties?.DefinitionString;
  const text = resolveJoin(body, arnFor);
  const definition: StateMachineDefinition = JSON.parse(text);
  AslShape.parse(definition); // fail here, not mid-run, if synthesis produced something else
  return { definition, topicTiers, tableName: 'sentinel-state' };
}

function resolveJoin(value: CfnValue, arnFor: (logicalId: string) => string): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) throw new Error('unexpected DefinitionString shape');
  if ('Fn::Join' in value && Array.isArray(value['Fn::Join'])) {
    const [sep, parts] = value['Fn::Join'] as [string, CfnValue[]];
    return parts.map((p) => resolveJoin(p, arnFor)).join(sep);
  }
  if ('Ref' in value && typeof value.Ref === 'string') {
    return value.Ref === 'AWS::Partition'
      ? 'aws'
      : value.Ref === 'AWS::Region'
        ? LOCAL_REGION
        : value.Ref === 'AWS::AccountId'
          ? LOCAL_ACCOUNT
          : value.Ref === 'AWS::URLSuffix'
            ? 'amazonaws.com'
            : arnFor(value.Ref);
  }
  if ('Fn::GetAtt' in value && Array.isArray(value['Fn::GetAtt'])) return arnFor(String(value['Fn::GetAtt'][0]));
  throw new Error(`unsupported intrinsic in state machine definition: ${JSON.stringify(value).slice(0, 200)}`);
}
