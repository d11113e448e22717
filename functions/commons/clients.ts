import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';

/** SDK clients, created once at module scope and reused by every invocation. */
export const dynamo = new DynamoDBClient({ maxAttempts: 8, retryMode: 'adaptive' });
export const sfn = new SFNClient({ maxAttempts: 6 });
