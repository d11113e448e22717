import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';

/**
 * Grants exactly these DynamoDB actions on the state table itself, not its indexes: unlike
 * `table.grant`, which adds `table/index/*` once a table has an index. Only the sweeper queries
 * the due index; it uses `table.grant`.
 */
export function grantTableActions(table: Table, grantee: IGrantable, ...actions: string[]): Grant {
  return Grant.addToPrincipal({ grantee, actions, resourceArns: [table.tableArn] });
}
