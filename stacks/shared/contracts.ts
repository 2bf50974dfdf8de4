/**
 * The layer contracts: what each layer exports and its consumers may read (docs/architecture.md).
 * Bump a layer's CONTRACT_VERSION when a key is removed, renamed or retyped.
 */
import * as pulumi from "@pulumi/pulumi";

export const CONTRACT_VERSIONS = {
  network: 1,
  registry: 1,
  compute: 1,
  observability: 1,
} as const;

export interface NetworkContract {
  contractVersion: number;
  environmentSuffix: string;
  vpcId: string;
  vpcCidr: string;
  availabilityZones: string[];
  publicSubnetIds: string[];
  privateSubnetIds: string[];
  albArn: string;
  albArnSuffix: string;
  albDnsName: string;
  albZoneId: string;
  albSecurityGroupId: string;
  httpListenerArn: string;
  /** Null when no certificate is configured (the HTTP listener then serves traffic). */
  httpsListenerArn: string | null;
  /** The listener blue/green deployments send test traffic to. */
  testListenerArn: string;
  natGatewayCount: number;
  /** Endpoint service short name (`ecr.api`, `s3`, ...) -> VPC endpoint id. */
  vpcEndpoints: Record<string, string>;
  flowLogGroupName: string;
  /** The S3 bucket holding the ALB's access logs; null when access logs are off. */
  albLogBucketName: string | null;
  /** The WAF web ACL in front of the ALB (its name is the `WebACL` metric dimension); null when off. */
  wafWebAclName: string | null;
}

export interface RepositoryContract {
  name: string;
  url: string;
  arn: string;
  keepImages: number;
}

export interface RegistryContract {
  contractVersion: number;
  environmentSuffix: string;
  /** Service name -> its repository. */
  repositories: Record<string, RepositoryContract>;
  /**
   * The pull-through cache of ECR Public: `<registry>/<prefix>/<path>` serves `public.ecr.aws/<path>`.
   * Null when `registry:ecrPublicCache` is false.
   */
  ecrPublicCache: EcrPublicCache | null;
}

export interface EcrPublicCache {
  /** `<account>.dkr.ecr.<region>.amazonaws.com` */
  registry: string;
  prefix: string;
}

export interface ComputeServiceContract {
  serviceName: string;
  serviceArn: string;
  taskDefinitionFamily: string;
  taskDefinitionArn: string;
  cpu: number;
  memory: number;
  /**
   * The size the optimizer's `fixed` policy halves from: the catalog's `rightsizedFrom` for the
   * tier (the size before the first write-back), else `cpu`/`memory`.
   */
  baselineCpu: number;
  baselineMemory: number;
  desiredCount: number;
  minCapacity: number;
  maxCapacity: number;
  critical: boolean;
  scalableTargetResourceId: string;
  repositoryName: string;
  logGroupName: string;
  /** Null for internal services, which have no target group. */
  targetGroupArnSuffix: string | null;
  /**
   * The green target group of a blue/green service: after a deployment ECS serves production
   * traffic from it, so watchers must cover both. Null for internal and rolling services.
   */
  alternateTargetGroupArnSuffix: string | null;
  /**
   * The CloudWatch alarms ECS watches during this service's deployments, rolling back when one
   * goes to ALARM (`deploy-*-{service}-{suffix}`, created by the compute layer).
   */
  deploymentAlarmNames: string[];
}

export interface ComputeContract {
  contractVersion: number;
  environmentSuffix: string;
  tier: string;
  region: string;
  clusterName: string;
  clusterArn: string;
  services: Record<string, ComputeServiceContract>;
  /** The managed policy granting the optimizer exactly the calls it makes. */
  optimizerPolicyArn: string;
  /**
   * The log group that keeps the "ECS Task State Change" events of the cluster's stopped tasks,
   * each message one event as EventBridge delivers it.
   */
  taskStopLogGroupName: string;
}

export interface AlarmRef {
  name: string;
  threshold: number;
}

export interface ServiceAlarms {
  cpuHigh: AlarmRef;
  memoryHigh: AlarmRef;
  runningTasksLow: AlarmRef;
  unhealthyHosts?: AlarmRef;
  http5xx?: AlarmRef;
}

export interface ObservabilityContract {
  contractVersion: number;
  environmentSuffix: string;
  snsTopicArn: string;
  dashboardName: string;
  alarms: Record<string, ServiceAlarms>;
  spotInterruptionAlarmName: string;
  /** The alarm on requests the network's WAF blocks; null when the network has no WAF. */
  wafBlockedAlarmName: string | null;
}

/** What a layer's program exports: every contract key, each value possibly still an Output. */
export type Exported<T> = { [K in keyof T]: pulumi.Input<T[K]> };
