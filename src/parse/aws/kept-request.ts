/**
 * A CloudTrail record's request as the CloudTrail source keeps it (`requestParameters`, JSON text
 * of at most 8 KB), parsed; undefined when it was cut where it was kept. The readers of a call's
 * request (what a security group change opened, whether a bucket policy is public) count such a
 * request as the case that must be told.
 */
export function keptRequest(requestParameters: string): unknown {
  try {
    return JSON.parse(requestParameters);
  } catch {
    return undefined;
  }
}
