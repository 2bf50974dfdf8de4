/**
 * The record of stopped tasks. ECS keeps a stopped task visible for about an hour; to know later
 * why tasks stopped (an OutOfMemoryError, a failed health check, a Spot interruption, a scale-in),
 * an EventBridge rule sends every "ECS Task State Change" event of a task of this cluster that
 * reached STOPPED to a log group. Each log event is the event's JSON exactly as EventBridge
 * delivers it (no input transformer), so readers parse AWS's documented format.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsAccount, PolicyDocument, Scope } from "../shared";

/** What the rule matches: the source and detail type of ECS task events, and the status it keeps. */
export const TASK_STOP_EVENT = { source: "aws.ecs", detailType: "ECS Task State Change", lastStatus: "STOPPED" } as const;

/**
 * ECS sends a task state change on every transition; a task reaches lastStatus STOPPED once, with
 * its stop code, stopped reason and each container's exit code and reason, so matching it keeps
 * exactly one event per stopped task.
 */
export function taskStopPattern(clusterArn: string): Record<string, unknown> {
  return {
    source: [TASK_STOP_EVENT.source],
    "detail-type": [TASK_STOP_EVENT.detailType],
    detail: { clusterArn: [clusterArn], lastStatus: [TASK_STOP_EVENT.lastStatus] },
  };
}

/**
 * The log group's resource policy: EventBridge writes a CloudWatch Logs target through it (such
 * targets take no role), and only this rule may (`aws:SourceArn`), only into this log group.
 */
export function taskStopLogPolicy(logGroupArn: string, ruleArn: string, env: AwsAccount): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "EventBridgeWritesTaskStops",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [`${logGroupArn}:*`],
        Condition: { ArnEquals: { "aws:SourceArn": ruleArn }, StringEquals: { "aws:SourceAccount": env.accountId } },
      },
    ],
  };
}

export interface TaskStopArgs {
  clusterArn: pulumi.Input<string>;
  clusterName: string;
  /** The platform key, which already lets CloudWatch Logs encrypt this account's log groups. */
  key: aws.kms.Key;
  retentionDays: number;
  env: pulumi.Output<AwsAccount>;
}

export interface TaskStopLog {
  logGroup: aws.cloudwatch.LogGroup;
  rule: aws.cloudwatch.EventRule;
  /** The log group's name, a plain value (it is exported and scopes the optimizer's read grant). */
  logGroupName: string;
}

export function taskStopLog(scope: Scope, args: TaskStopArgs): TaskStopLog {
  const logGroupName = scope.names.taskStopLogGroup();
  const logGroup = new aws.cloudwatch.LogGroup(
    "task-stop-logs",
    { name: logGroupName, retentionInDays: args.retentionDays, kmsKeyId: args.key.arn },
    scope.opts(),
  );
  const rule = new aws.cloudwatch.EventRule(
    "task-stops",
    {
      name: scope.names.of("task-stops"),
      description: `Tasks of ${args.clusterName} that stopped, kept in ${logGroupName}`,
      eventPattern: pulumi.output(args.clusterArn).apply((arn) => JSON.stringify(taskStopPattern(arn))),
    },
    scope.opts(),
  );
  const policy = new aws.cloudwatch.LogResourcePolicy(
    "task-stop-logs-policy",
    {
      policyName: scope.names.of("task-stop-logs"),
      policyDocument: pulumi.jsonStringify(
        pulumi.all([logGroup.arn, rule.arn, args.env]).apply(([groupArn, ruleArn, env]) => taskStopLogPolicy(groupArn, ruleArn, env)),
      ),
    },
    scope.opts(),
  );
  new aws.cloudwatch.EventTarget(
    "task-stops-to-logs",
    // No input transformer: the whole event is the log message, in AWS's format.
    { rule: rule.name, arn: logGroup.arn, targetId: "task-stop-logs" },
    // The policy first, so the first stopped task is not refused.
    scope.opts({ dependsOn: [policy] }),
  );
  return { logGroup, rule, logGroupName };
}
