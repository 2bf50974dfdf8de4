/**
 * The WAF in front of the ALB, when the network has one: its blocked and allowed requests on the
 * dashboard, and an alarm when it blocks more than the threshold in 5 minutes (an attack, or a
 * managed rule starting to block legitimate clients after an application change).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Scope } from "../shared";
import { AlarmPolicy, eventCountAlarmPolicy, metricAlarm } from "./alarms";
import { MetricRef } from "./metrics";

/** AWS/WAFV2 publishes per web ACL and rule; `Rule: ALL` sums the ACL's rules. */
export function wafMetric(metricName: "BlockedRequests" | "AllowedRequests", webAclName: string, region: string): MetricRef {
  return { namespace: "AWS/WAFV2", metricName, dimensions: { WebACL: webAclName, Region: region, Rule: "ALL" } };
}

// WAF publishes BlockedRequests only for periods in which it blocked something.
export const WAF_ALARM_POLICY: AlarmPolicy = eventCountAlarmPolicy(
  "waf-blocked",
  "the WAF blocked at least the threshold of requests; check its sampled requests for an attack or a rule blocking real clients",
);

export interface WafWatchArgs {
  webAclName: string;
  region: string;
  /** Blocked requests in 5 minutes that raise the alarm. */
  threshold: number;
  topicArn: pulumi.Input<string>;
}

export function wafBlockedAlarm(scope: Scope, args: WafWatchArgs): aws.cloudwatch.MetricAlarm {
  return metricAlarm(scope, "waf-blocked", {
    name: scope.names.of(WAF_ALARM_POLICY.prefix),
    metric: wafMetric("BlockedRequests", args.webAclName, args.region),
    policy: WAF_ALARM_POLICY,
    subject: args.webAclName,
    threshold: args.threshold,
    topicArn: args.topicArn,
  });
}
