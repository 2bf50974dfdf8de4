/**
 * IAM actions that AWS only authorizes against `Resource: "*"` (they have no resource-level
 * permissions in the Service Authorization Reference). A statement may use `*` only when every
 * action in it is listed here; everything else names its resources. The policy checks read this
 * list, so adding to it is a reviewed decision, not a convenience.
 */
export const ACTIONS_REQUIRING_STAR_RESOURCE: readonly string[] = [
  // Checked against the Service Authorization Reference (resource-types column empty). Not here
  // although older lists had them: ecs:RegisterTaskDefinition (task-definition*),
  // cloudwatch:DescribeAlarms (alarm*), application-autoscaling:RegisterScalableTarget and
  // :ListTagsForResource (ScalableTarget*) all take resource ARNs and must be scoped.
  // ECR login token: account-wide by design.
  "ecr:GetAuthorizationToken",
  // Task definitions are described, listed and deregistered without resource-level permissions.
  "ecs:DescribeTaskDefinition",
  "ecs:ListTaskDefinitions",
  "ecs:DeregisterTaskDefinition",
  "ecs:ListClusters",
  // Scoped with the ecs:cluster condition key instead of a resource.
  "ecs:ListServices",
  // Metrics and the price list are read account-wide (GetMetricData's optional `dataset`
  // resource covers PromQL datasets only, not CloudWatch metrics).
  "cloudwatch:GetMetricData",
  "cloudwatch:GetMetricStatistics",
  "cloudwatch:ListMetrics",
  // The alarm history is listed for every alarm at once (the API takes one alarm name or
  // none, no prefix), which AWS authorizes only against `*`; `verify` keeps its own services'
  // alarms from the listing, one call per page instead of one per alarm.
  "cloudwatch:DescribeAlarmHistory",
  "pricing:GetProducts",
  // Savings Plans reads: the published offering rates are not a resource, and the optimizer
  // lists every active plan of the account (it cannot know their ARNs beforehand).
  "savingsplans:DescribeSavingsPlansOfferingRates",
  "savingsplans:DescribeSavingsPlans",
  // Application Auto Scaling describes take no resource ARN.
  "application-autoscaling:DescribeScalableTargets",
  "application-autoscaling:DescribeScalingPolicies",
  // Tag reads for discovery.
  "tag:GetResources",
  // EC2 Describe* actions take no resource ARN (the optimizer lists its VPC's NAT gateways).
  "ec2:DescribeNatGateways",
  // ...and the AWS-managed prefix lists that tell AWS-bound flow-log destinations apart.
  "ec2:DescribeManagedPrefixLists",
];

/** One statement of an IAM policy document, as the platform writes them. */
export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  /** Only in resource policies (key policies, say); identity policies have none. */
  Principal?: { Service?: string | string[]; AWS?: string | string[] };
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, unknown>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/** A key policy statement: a resource policy, so it names its principal, and `*` means "this key". */
export interface KeyPolicyStatement extends PolicyStatement {
  Sid: string;
  Principal: { Service?: string | string[]; AWS?: string | string[] };
  Resource: "*";
}

export interface KeyPolicyDocument {
  Version: "2012-10-17";
  Statement: KeyPolicyStatement[];
}

/** A statement of a trust (assume-role) policy: it names who may assume the role, not resources. */
export interface TrustStatement {
  Sid?: string;
  Effect: "Allow";
  Principal: { Service?: string | string[]; AWS?: string | string[] };
  Action: string | string[];
  Condition?: Record<string, unknown>;
}

export interface TrustPolicyDocument {
  Version: "2012-10-17";
  Statement: TrustStatement[];
}
