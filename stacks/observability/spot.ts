/**
 * Fargate Spot interruptions: an EventBridge rule that forwards each interrupted task of this
 * cluster to the alert topic, and an alarm on how often the rule fires.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Scope } from "../shared";
import { AlarmPolicy, eventCountAlarmPolicy, metricAlarm } from "./alarms";
import { MetricRef } from "./metrics";

/**
 * ECS emits a task state change on every transition of an interrupted task (the two-minute notice
 * while it still runs, then STOPPING, DEPROVISIONING, STOPPED), each carrying
 * stopCode SpotInterruption. Matching lastStatus STOPPED counts each interruption exactly once.
 */
export function spotInterruptionPattern(clusterArn: string): Record<string, unknown> {
  return {
    source: ["aws.ecs"],
    "detail-type": ["ECS Task State Change"],
    detail: {
      clusterArn: [clusterArn],
      lastStatus: ["STOPPED"],
      stopCode: ["SpotInterruption"],
    },
  };
}

/** AWS/Events counts invocations per rule; the rule has one target, so one per interruption. */
export function spotInterruptionMetric(ruleName: string): MetricRef {
  return { namespace: "AWS/Events", metricName: "Invocations", dimensions: { RuleName: ruleName } };
}

// AWS/Events publishes Invocations only for periods in which the rule matched.
export const SPOT_ALARM_POLICY: AlarmPolicy = eventCountAlarmPolicy(
  "spot-interruptions",
  "Fargate Spot interrupted at least the threshold of tasks; the services replace them, but watch running-tasks-low",
);

export interface SpotInterruptionArgs {
  clusterArn: pulumi.Input<string>;
  clusterName: pulumi.Input<string>;
}

export interface SpotInterruptionWatchArgs {
  rule: aws.cloudwatch.EventRule;
  ruleName: string;
  topicArn: pulumi.Input<string>;
  /** Created first, so the first interruption is not refused by SNS. */
  topicPolicy: aws.sns.TopicPolicy;
  /** Interruptions in 5 minutes that raise the alarm (the layer's spotInterruptionThreshold). */
  threshold: number;
}

/** The rule alone: the topic policy names its ARN, so it exists before the target. */
export function spotInterruptionRule(scope: Scope, args: SpotInterruptionArgs): { rule: aws.cloudwatch.EventRule; name: string } {
  const name = scope.names.of("spot-interruption");
  const rule = new aws.cloudwatch.EventRule(
    "spot-interruption",
    {
      name,
      description: pulumi.interpolate`Fargate Spot interruptions of tasks in ${args.clusterName}`,
      eventPattern: pulumi.output(args.clusterArn).apply((arn) => JSON.stringify(spotInterruptionPattern(arn))),
    },
    scope.opts(),
  );
  return { rule, name };
}

/** Sends each interruption to the topic as one readable line, and alarms on the rule's rate. */
export function spotInterruptionWatch(scope: Scope, args: SpotInterruptionWatchArgs): aws.cloudwatch.MetricAlarm {
  new aws.cloudwatch.EventTarget(
    "spot-interruption-alerts",
    {
      rule: args.rule.name,
      arn: args.topicArn,
      targetId: "alerts",
      inputTransformer: {
        inputPaths: { task: "$.detail.taskArn", group: "$.detail.group", reason: "$.detail.stoppedReason" },
        // A quoted template yields a JSON string, which SNS mails as plain text.
        inputTemplate: '"Fargate Spot interrupted task <task> of <group>: <reason>"',
      },
    },
    scope.opts({ dependsOn: [args.topicPolicy] }),
  );
  return metricAlarm(scope, "spot-interruptions", {
    name: scope.names.of(SPOT_ALARM_POLICY.prefix),
    metric: spotInterruptionMetric(args.ruleName),
    policy: SPOT_ALARM_POLICY,
    subject: args.ruleName,
    threshold: args.threshold,
    topicArn: args.topicArn,
  });
}
