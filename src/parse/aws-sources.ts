import { API_GATEWAY } from './aws/api-gateway';
import type { BuiltinSource } from './aws/builtin-source';
import { CLOUDTRAIL } from './aws/cloudtrail';
import { KUBERNETES_AUDIT } from './aws/eks-audit';
import { GUARDDUTY } from './aws/guardduty';
import { HEALTH } from './aws/health';
import { LAMBDA } from './aws/lambda';
import { NETWORK_FIREWALL } from './aws/network-firewall';
import { RDS } from './aws/rds';
import { RESOLVER_QUERY } from './aws/route53-resolver';
import { SECURITY_HUB } from './aws/security-hub';
import { VPC_FLOW } from './aws/vpc-flow';
import { WAF } from './aws/waf';

export { API_GATEWAY_PATTERNS } from './aws/api-gateway';
export { AWS_JSON_MARKERS_RE, type BuiltinSource, type DeriveClaim } from './aws/builtin-source';

/**
 * AWS's own logs, understood out of the box — one module each under ./aws/: CloudTrail records
 * (when a trail delivers to CloudWatch Logs), VPC Flow Logs (default or declared format), Lambda
 * function logs (text and JSON log formats, platform lines included), API Gateway access logs,
 * AWS WAF logs, AWS Network Firewall logs, Amazon GuardDuty and AWS Security Hub findings and AWS Health's security notices (through EventBridge), Route 53
 * Resolver query logs, EKS (Kubernetes) audit logs and RDS / Aurora database logs (PostgreSQL, MySQL, MariaDB). What a built-in is: ./aws/builtin-source.ts.
 */

export const VPC_FLOW_PATTERNS = VPC_FLOW.patterns;
export const LAMBDA_PATTERNS = LAMBDA.patterns;
export const RDS_PATTERNS = RDS.patterns;

/** In the order recognition tries them (each excludes the others' markers anyway). */
export const BUILTIN_SOURCES: readonly BuiltinSource[] = [
  CLOUDTRAIL,
  WAF,
  NETWORK_FIREWALL,
  GUARDDUTY,
  SECURITY_HUB,
  HEALTH,
  API_GATEWAY,
  RESOLVER_QUERY,
  KUBERNETES_AUDIT,
  LAMBDA,
  VPC_FLOW,
  RDS,
];
export const BUILTIN_SOURCE_NAMES = BUILTIN_SOURCES.map((s) => s.definition.name);
