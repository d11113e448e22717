/** Which AWS credentials and Region a command uses: `--profile` and `--region`, each the SDK's own default when not given. */
export interface AwsProfile {
  profile?: string | undefined;
  region?: string | undefined;
}

/** An SDK client's configuration for them: only what was given, so the SDK's defaults apply to the rest. */
export function clientConfig(opts: AwsProfile): { profile?: string; region?: string } {
  return { ...(opts.region ? { region: opts.region } : {}), ...(opts.profile ? { profile: opts.profile } : {}) };
}
