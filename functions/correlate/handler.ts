import { Logger } from '@aws-lambda-powertools/logger';
import { runCorrelateTask } from '../../src/correlation/correlate-task';
import { loadEmbeddedRules } from '../commons/embedded-rules';
import { requireEnv } from '../commons/env';

const logger = new Logger({ serviceName: 'sentinel-correlate' });
const correlations = loadEmbeddedRules().correlations;
const region = requireEnv('AWS_REGION');

/** The one Lambda task of the state machine: the engine's pure correlation over an entity's risk items. */
export const handler = async (event: unknown) => {
  const out = runCorrelateTask(event, correlations, { region });
  if (out.incidents.length > 0) logger.info('incidents', { ids: out.incidents.map((i) => i.alert.id) });
  return out;
};
