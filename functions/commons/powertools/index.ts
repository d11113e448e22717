import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Built once per cold start and shared by a function's modules. The service name comes from each
 * function's POWERTOOLS_SERVICE_NAME; every metric lands in the one `Sentinel` namespace.
 */
export const logger = new Logger();
export const metrics = new Metrics({ namespace: 'Sentinel' });
