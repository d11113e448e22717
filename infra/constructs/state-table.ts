import { CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { DUE_INDEX } from '../../functions/commons/adapters/dynamodb-state-store';

/**
 * The one state table: detector windows (counters, sets, terms), alert conditions, correlation
 * risk records, digest entries, message dedup and batch receipts. On-demand, PITR, KMS (AWS-managed key, so grants
 * stay free of kms:* wildcards), TTL on `ttl`, retained when the stack is deleted.
 */
export class StateTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'ttl',
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
    // Sparse: only documents with a due time (open conditions, pending digests) are in it, so the
    // sweeper's query costs what is due, not the table size.
    this.table.addGlobalSecondaryIndex({
      indexName: DUE_INDEX,
      partitionKey: { name: 'dshard', type: AttributeType.STRING },
      sortKey: { name: 'due', type: AttributeType.NUMBER },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    // `detect learn --table` reads history into it, so new-term rules need not learn for a week live.
    new CfnOutput(Stack.of(this), 'StateTableName', {
      value: this.table.tableName,
      description: 'The state table: detect learn --table <this> teaches the new-term rules the logs CloudWatch already keeps',
    });
  }
}
