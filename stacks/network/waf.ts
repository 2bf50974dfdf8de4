/**
 * The regional WAF web ACL in front of the public ALB: a per-client rate limit, then AWS's managed
 * rule groups for common web exploits and known bad inputs (plus the IP reputation list). Every
 * rule publishes CloudWatch metrics (AWS/WAFV2, dimensions WebACL, Region, Rule) that the
 * observability layer charts and alarms on.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Names } from "../shared";

/** AWS's managed rule groups the ACL runs, in priority order after the rate limit. */
export const MANAGED_RULE_GROUPS = [
  "AWSManagedRulesCommonRuleSet",
  "AWSManagedRulesKnownBadInputsRuleSet",
  "AWSManagedRulesAmazonIpReputationList",
] as const;

/** The rate-based rule's name (and metric name). */
export const RATE_LIMIT_RULE = "rate-limit-per-ip";

const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });

export interface LoadBalancerWafArgs {
  loadBalancerArn: pulumi.Input<string>;
  /** Requests one IP may make in 5 minutes before it is blocked. */
  rateLimit: number;
  names: Names;
}

export class LoadBalancerWaf extends pulumi.ComponentResource {
  readonly webAcl: aws.wafv2.WebAcl;
  /** The ACL's metric name: the `WebACL` dimension of its CloudWatch metrics. */
  readonly metricName: string;

  constructor(name: string, args: LoadBalancerWafArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:network:LoadBalancerWaf", name, {}, opts);
    const child = { parent: this };
    this.metricName = args.names.of("alb-waf");
    const managed = MANAGED_RULE_GROUPS.map((group, i) => ({
      name: group,
      priority: i + 1,
      // `none` keeps each group's own actions (block); `count` would only observe.
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: "AWS", name: group } },
      visibilityConfig: visibility(group),
    }));
    this.webAcl = new aws.wafv2.WebAcl(
      "alb-waf",
      {
        name: this.metricName,
        description: "Rate limit and AWS managed rules in front of the public ALB",
        scope: "REGIONAL",
        defaultAction: { allow: {} },
        rules: [
          {
            name: RATE_LIMIT_RULE,
            priority: 0,
            action: { block: {} },
            statement: { rateBasedStatement: { limit: args.rateLimit, aggregateKeyType: "IP" } },
            visibilityConfig: visibility(RATE_LIMIT_RULE),
          },
          ...managed,
        ],
        visibilityConfig: visibility(this.metricName),
      },
      child,
    );
    new aws.wafv2.WebAclAssociation("alb-waf-association", { resourceArn: args.loadBalancerArn, webAclArn: this.webAcl.arn }, child);
    this.registerOutputs({ webAclArn: this.webAcl.arn });
  }
}
