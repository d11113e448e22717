import { App, BootstraplessSynthesizer, CfnStackSet, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { removeScratchDir, scratchDir } from '../src/runtime/scratch-dir';
import type { SentinelConfig } from './config';
import { SentinelSpokeStack } from './spoke-stack';

export interface SentinelSpokeStackSetProps extends StackProps {
  /** The spoke's config, and where the StackSet deploys it (config `stackSet`: organizational units, Regions, caller). */
  readonly config: SentinelConfig & { hubDestinationArn: string; stackSet: NonNullable<SentinelConfig['stackSet']> };
}

/**
 * The spoke for a whole organization: a service-managed StackSet, deployed from the management or
 * a delegated-admin account to every account of the listed OUs (and automatically to accounts that
 * join later). The template is the spoke stack itself, synthesized without bootstrap resources.
 */
export class SentinelSpokeStackSet extends Stack {
  readonly templateBody: string;

  constructor(scope: Construct, id: string, props: SentinelSpokeStackSetProps) {
    super(scope, id, props);
    this.templateBody = JSON.stringify(spokeTemplate(props.config));
    new CfnStackSet(this, 'Spokes', {
      stackSetName: 'sentinel-spoke',
      description: "Sentinel spoke: subscribes member accounts' log groups to the security account's hub",
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: props.config.stackSet.callAs,
      capabilities: ['CAPABILITY_IAM'],
      managedExecution: { Active: true },
      operationPreferences: { failureTolerancePercentage: 10, maxConcurrentPercentage: 25, regionConcurrencyType: 'PARALLEL' },
      stackInstancesGroup: [
        {
          deploymentTargets: { organizationalUnitIds: props.config.stackSet.organizationalUnitIds },
          regions: props.config.stackSet.regions,
        },
      ],
      templateBody: this.templateBody,
    });
  }
}

/** The spoke stack's template, synthesized in its own app (and checked by cdk-nag like every stack). */
function spokeTemplate(config: SentinelSpokeStackSetProps['config']): unknown {
  const outdir = scratchDir('sentinel-spoke-');
  try {
    const app = new App({ outdir });
    const stack = new SentinelSpokeStack(app, 'SentinelSpoke', { config, synthesizer: new BootstraplessSynthesizer() });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    return app.synth().getStackByName(stack.stackName).template;
  } finally {
    removeScratchDir(outdir);
  }
}
