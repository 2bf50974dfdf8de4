/**
 * IAM actions that AWS only authorizes against `Resource: "*"` (they have no resource-level
 * permissions in the Service Authorization Reference). A statement may use `*` only when every
 * action in it is listed here; everything else names its resources. The policy checks read this
 * list, so adding to it is a reviewed decision, not a convenience.
 */
export const ACTIONS_REQUIRING_STAR_RESOURCE: readonly string[] = [
  // ECR login token: account-wide by design.
  "ecr:GetAuthorizationToken",
  // Task definitions are registered and described by family, which IAM cannot scope.
  "ecs:RegisterTaskDefinition",
  "ecs:DescribeTaskDefinition",
  "ecs:ListClusters",
  // Metrics and the price list are read account-wide.
  "cloudwatch:GetMetricData",
  "cloudwatch:GetMetricStatistics",
  "cloudwatch:ListMetrics",
  "cloudwatch:DescribeAlarms",
  "pricing:GetProducts",
  // Application Auto Scaling describes take no resource ARN.
  "application-autoscaling:DescribeScalableTargets",
  "application-autoscaling:DescribeScalingPolicies",
  "application-autoscaling:RegisterScalableTarget",
  "application-autoscaling:ListTagsForResource",
  // Tag reads for discovery.
  "tag:GetResources",
];

/** One statement of an IAM policy document, as the platform writes them. */
export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, unknown>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}
