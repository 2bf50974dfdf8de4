/**
 * Alarm policies and the one function that turns a policy into a CloudWatch alarm, so every alarm
 * notifies the same way (topic on ALARM and on OK) and states its missing-data rule on purpose.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AlarmRef, ComputeServiceContract, Scope, SERVICE_ALARM_PREFIXES, ServiceAlarms } from "../shared";
import { combinedExpression, MetricRef, ServiceMetrics, Signal, signalMetrics, Statistic } from "./metrics";
import { ServiceThresholds } from "./settings";

export type AlarmKind = keyof ServiceAlarms;

/** The ARNs of one service's alarms, by kind: what the dashboard's alarm annotations name. */
export type ServiceAlarmArns = Partial<Record<AlarmKind, pulumi.Input<string>>>;

type Comparison = "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold" | "LessThanThreshold";

/**
 * What to do when a period has no datapoint. Chosen per alarm from how its metric is published:
 * `notBreaching` where silence means "nothing happened", `breaching` where silence is itself the
 * failure being watched for.
 */
type MissingData = "notBreaching" | "breaching" | "missing" | "ignore";

export interface AlarmPolicy {
  /** The alarm is named `{prefix}-{service}-{suffix}`; the optimizer finds alarms by these names. */
  prefix: string;
  statistic: Statistic;
  comparison: Comparison;
  /** Seconds per datapoint. */
  period: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: MissingData;
  /** What is wrong when it fires and where to look first (the window is appended). */
  meaning: string;
}

/**
 * An alarm on how many events (interruptions, blocked requests) happened in 5 minutes. AWS
 * publishes such counts only for periods with at least one event, so missing data means none.
 */
export function eventCountAlarmPolicy(prefix: string, meaning: string): AlarmPolicy {
  return {
    prefix,
    statistic: "Sum",
    comparison: "GreaterThanOrEqualToThreshold",
    period: 300,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: "notBreaching",
    meaning,
  };
}

/** `{service}: {meaning}` plus the evaluation window, e.g. "(3 of 5 periods of 60 s)". */
export function alarmDescription(subject: string, policy: AlarmPolicy): string {
  return `${subject}: ${policy.meaning} (${policy.datapointsToAlarm} of ${policy.evaluationPeriods} periods of ${policy.period} s)`;
}

/** The service alarms, one row per kind. Metrics are 1-minute unless noted. */
export const SERVICE_ALARM_POLICIES: Record<AlarmKind, AlarmPolicy> = {
  cpuHigh: {
    prefix: SERVICE_ALARM_PREFIXES.cpuHigh,
    statistic: "Average",
    comparison: "GreaterThanThreshold",
    // 8 of 10 minutes: longer than target tracking needs to scale out (3 minutes plus task start),
    // so this fires only when scaling could not fix it (at max capacity, or a runaway process).
    period: 60,
    evaluationPeriods: 10,
    datapointsToAlarm: 8,
    // The service publishes no CPU when it runs no tasks; running-tasks-low reports that case.
    treatMissingData: "notBreaching",
    meaning: "average CPU above threshold although autoscaling should have added tasks; check max capacity and hot loops",
  },
  memoryHigh: {
    prefix: SERVICE_ALARM_PREFIXES.memoryHigh,
    statistic: "Average",
    comparison: "GreaterThanThreshold",
    period: 60,
    evaluationPeriods: 10,
    datapointsToAlarm: 8,
    treatMissingData: "notBreaching",
    meaning: "average memory above threshold; tasks risk being stopped for running out of memory",
  },
  runningTasksLow: {
    prefix: SERVICE_ALARM_PREFIXES.runningTasksLow,
    statistic: "Average",
    comparison: "LessThanThreshold",
    // 3 of 5 minutes: a Spot interruption replaced within a minute or two stays quiet; a crash
    // loop, a failed deployment or a capacity shortage does not.
    period: 60,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    // Container Insights stops publishing a service that has no tasks (or when it is switched
    // off): silence is exactly the outage this alarm exists for.
    treatMissingData: "breaching",
    meaning: "fewer running tasks than the autoscaling minimum; check stopped tasks and the latest deployment",
  },
  unhealthyHosts: {
    prefix: SERVICE_ALARM_PREFIXES.unhealthyHosts,
    statistic: "Maximum",
    comparison: "GreaterThanThreshold",
    period: 60,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    // No series means no registered targets, which running-tasks-low reports.
    treatMissingData: "notBreaching",
    meaning: "the load balancer sees unhealthy targets; check the health-check path and the task logs",
  },
  http5xx: {
    prefix: SERVICE_ALARM_PREFIXES.http5xx,
    statistic: "Sum",
    comparison: "GreaterThanThreshold",
    period: 60,
    evaluationPeriods: 5,
    datapointsToAlarm: 3,
    // The load balancer publishes HTTPCode_* only in minutes that had such responses.
    treatMissingData: "notBreaching",
    meaning: "targets answered with more 5xx responses per minute than the threshold; check the task logs",
  },
};

export interface AlarmArgs {
  /** The alarm's AWS name. */
  name: string;
  /** Several metrics (one per target group) are combined with metric math into the watched series. */
  metric: Signal;
  policy: AlarmPolicy;
  /** What the alarm is about, e.g. the ECS service name; the description starts with it. */
  subject: string;
  threshold: number;
  /** Notified on ALARM and on OK, so a page is always followed by its all-clear. */
  topicArn: pulumi.Input<string>;
}

/**
 * The alarm's metric-math queries over several metrics: each metric with the policy's statistic and
 * period (not returned), and the expression combining them, which the alarm compares.
 */
export function metricQueries(metrics: MetricRef[], policy: AlarmPolicy): aws.types.input.cloudwatch.MetricAlarmMetricQuery[] {
  const ids = metrics.map((_, i) => `m${i + 1}`);
  return [
    ...metrics.map((m, i) => ({
      id: ids[i],
      label: m.label,
      returnData: false,
      metric: { namespace: m.namespace, metricName: m.metricName, dimensions: m.dimensions, stat: policy.statistic, period: policy.period },
    })),
    {
      id: "e1",
      label: `${metrics[0].metricName} (${policy.statistic}, ${metrics.length} target groups)`,
      expression: combinedExpression(policy.statistic, ids),
      returnData: true,
    },
  ];
}

export function metricAlarm(scope: Scope, logicalName: string, args: AlarmArgs): aws.cloudwatch.MetricAlarm {
  const { policy } = args;
  const metrics = signalMetrics(args.metric);
  // One metric keeps the plain form, so rolling services' alarms read as before.
  const watched =
    metrics.length === 1
      ? {
          namespace: metrics[0].namespace,
          metricName: metrics[0].metricName,
          dimensions: metrics[0].dimensions,
          statistic: policy.statistic,
          period: policy.period,
        }
      : { metricQueries: metricQueries(metrics, policy) };
  return new aws.cloudwatch.MetricAlarm(
    logicalName,
    {
      name: args.name,
      alarmDescription: alarmDescription(args.subject, policy),
      ...watched,
      evaluationPeriods: policy.evaluationPeriods,
      datapointsToAlarm: policy.datapointsToAlarm,
      comparisonOperator: policy.comparison,
      threshold: args.threshold,
      treatMissingData: policy.treatMissingData,
      alarmActions: [args.topicArn],
      okActions: [args.topicArn],
    },
    scope.opts(),
  );
}

export interface ServiceAlarmArgs {
  service: string;
  contract: ComputeServiceContract;
  metrics: ServiceMetrics;
  thresholds: ServiceThresholds;
  topicArn: pulumi.Input<string>;
}

/** The alarms of one service, in its own scope (tagged Service=<name>): their contract entry, and
 * their ARNs for the dashboard's alarm annotations. */
export function serviceAlarms(scope: Scope, args: ServiceAlarmArgs): { refs: ServiceAlarms; arns: ServiceAlarmArns } {
  const { service, contract, metrics, thresholds } = args;
  const arns: ServiceAlarmArns = {};
  const make = (kind: AlarmKind, metric: Signal, threshold: number): AlarmRef => {
    const policy = SERVICE_ALARM_POLICIES[kind];
    const name = scope.names.of(policy.prefix, service);
    arns[kind] = metricAlarm(scope, `${service}-${policy.prefix}`, {
      name,
      metric,
      policy,
      subject: contract.serviceName,
      threshold,
      topicArn: args.topicArn,
    }).arn;
    return { name, threshold };
  };
  const alarms: ServiceAlarms = {
    cpuHigh: make("cpuHigh", metrics.cpu, thresholds.cpuHigh),
    memoryHigh: make("memoryHigh", metrics.memory, thresholds.memoryHigh),
    // Below the floor autoscaling maintains, so the threshold follows compute's minCapacity.
    runningTasksLow: make("runningTasksLow", metrics.runningTasks, contract.minCapacity),
  };
  if (metrics.unhealthyHosts) alarms.unhealthyHosts = make("unhealthyHosts", metrics.unhealthyHosts, 0);
  if (metrics.http5xx) alarms.http5xx = make("http5xx", metrics.http5xx, thresholds.http5xx);
  return { refs: alarms, arns };
}
