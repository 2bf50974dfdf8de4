/**
 * The alarms that guard a service's deployments. ECS watches them while a deployment runs (and, on
 * blue/green, through the bake time) and rolls the service back to its last completed deployment
 * when one goes to ALARM, so a revision that answers with errors, fails its load-balancer health
 * checks or runs out of memory never finishes deploying.
 *
 * They are this layer's own alarms, not the observability layer's: the service names them when it
 * is created, before observability exists, and they have no actions; paging stays with the
 * observability alarms (docs/decisions.md).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEPLOYMENT_ALARM_PREFIXES, Scope } from "../shared";

export type DeploymentAlarmKind = keyof typeof DEPLOYMENT_ALARM_PREFIXES;

/** Thresholds and windows of the guard alarms (the layer's `deploymentAlarm*` keys). */
export interface DeploymentAlarmSettings {
  /** Target 5xx responses as a percentage of requests at which a deployment rolls back. */
  http5xxRatePercent: number;
  /** Requests per period below which the 5xx rate counts as 0 (a handful of requests is no rate). */
  minRequests: number;
  /** Peak task memory utilization (percent) at which a deployment rolls back. */
  memoryPercent: number;
  /** Seconds per datapoint. */
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
}

export interface DeploymentAlarmArgs {
  /** The catalog name; alarms are `{prefix}-{service}-{suffix}`. */
  service: string;
  /** The ECS service name (the AWS/ECS `ServiceName` dimension). */
  serviceName: string;
  clusterName: string;
  /** The load balancer and the service's target groups (primary, then blue/green alternate); absent for internal services. */
  loadBalancer?: { albArnSuffix: pulumi.Input<string>; targetGroupArnSuffixes: pulumi.Input<string>[] };
  settings: DeploymentAlarmSettings;
}

type Query = aws.types.input.cloudwatch.MetricAlarmMetricQuery;

/** One metric of a target group, summed or maximised over the period, not itself the alarm's series. */
function targetGroupMetric(
  id: string,
  metricName: string,
  stat: "Sum" | "Maximum",
  albArnSuffix: pulumi.Input<string>,
  targetGroup: pulumi.Input<string>,
  period: number,
): Query {
  return {
    id,
    returnData: false,
    metric: {
      namespace: "AWS/ApplicationELB",
      metricName,
      // Target-group metrics exist only per (TargetGroup, LoadBalancer) pair.
      dimensions: { TargetGroup: targetGroup, LoadBalancer: albArnSuffix },
      stat,
      period,
    },
  };
}

const expression = (id: string, expr: string, label: string, returnData = false): Query => ({ id, expression: expr, label, returnData });

/**
 * The 5xx rate in percent, `100 * 5xx / requests`, over every target group of the service: during
 * and after a blue/green deployment traffic is served from either. The load balancer publishes a
 * count only in periods that had one, so each series is filled with 0 before summing; a period with
 * fewer than `minRequests` requests counts as 0 % (two requests and one error is no 50 % rate).
 */
export function http5xxRateQueries(
  albArnSuffix: pulumi.Input<string>,
  targetGroups: pulumi.Input<string>[],
  s: Pick<DeploymentAlarmSettings, "minRequests" | "periodSeconds">,
): Query[] {
  const metrics = targetGroups.flatMap((tg, i) => [
    targetGroupMetric(`errors${i + 1}`, "HTTPCode_Target_5XX_Count", "Sum", albArnSuffix, tg, s.periodSeconds),
    targetGroupMetric(`requests${i + 1}`, "RequestCount", "Sum", albArnSuffix, tg, s.periodSeconds),
  ]);
  const filled = targetGroups.flatMap((_, i) => [
    expression(`errorsFilled${i + 1}`, `FILL(errors${i + 1}, 0)`, `5xx of target group ${i + 1}`),
    expression(`requestsFilled${i + 1}`, `FILL(requests${i + 1}, 0)`, `requests of target group ${i + 1}`),
  ]);
  const all = (kind: string) => targetGroups.map((_, i) => `${kind}Filled${i + 1}`).join(", ");
  return [
    ...metrics,
    ...filled,
    expression("errors", `SUM([${all("errors")}])`, "target 5xx responses"),
    expression("requests", `SUM([${all("requests")}])`, "requests"),
    expression("rate", `IF(requests >= ${s.minRequests}, 100 * errors / requests, 0)`, "target 5xx rate (%)", true),
  ];
}

/** Unhealthy targets: the largest count of any of the service's target groups. */
export function unhealthyHostQueries(albArnSuffix: pulumi.Input<string>, targetGroups: pulumi.Input<string>[], period: number): Query[] {
  const ids = targetGroups.map((_, i) => `unhealthy${i + 1}`);
  return [
    ...targetGroups.map((tg, i) => targetGroupMetric(ids[i], "UnHealthyHostCount", "Maximum", albArnSuffix, tg, period)),
    expression("unhealthy", `MAX([${ids.join(", ")}])`, "unhealthy targets", true),
  ];
}

interface GuardSpec {
  kind: DeploymentAlarmKind;
  /** What fired, for the description; the window is appended. */
  meaning: string;
  watched: Pick<aws.cloudwatch.MetricAlarmArgs, "metricQueries" | "namespace" | "metricName" | "dimensions" | "statistic" | "period">;
  comparison: "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold";
  threshold: number;
}

export interface DeploymentGuards {
  alarms: aws.cloudwatch.MetricAlarm[];
  /**
   * Their names in a fixed order, as plain values: what the service and the contract list, known
   * at preview so the policy pack can check them before anything is created.
   */
  names: string[];
}

/** The guard alarms of one service, in its scope: load-balancer alarms for a service with target groups, memory for every one. */
export function deploymentAlarms(scope: Scope, args: DeploymentAlarmArgs): DeploymentGuards {
  const s = args.settings;
  const specs: GuardSpec[] = [];
  if (args.loadBalancer) {
    const { albArnSuffix, targetGroupArnSuffixes: groups } = args.loadBalancer;
    specs.push(
      {
        kind: "http5xxRate",
        meaning: `target 5xx responses at or above ${s.http5xxRatePercent} % of requests, in periods of ${s.minRequests} requests or more`,
        watched: { metricQueries: http5xxRateQueries(albArnSuffix, groups, s) },
        comparison: "GreaterThanOrEqualToThreshold",
        threshold: s.http5xxRatePercent,
      },
      {
        kind: "unhealthyHosts",
        meaning: "the load balancer sees unhealthy targets",
        watched: { metricQueries: unhealthyHostQueries(albArnSuffix, groups, s.periodSeconds) },
        comparison: "GreaterThanThreshold",
        threshold: 0,
      },
    );
  }
  specs.push({
    kind: "memoryPeak",
    // The Maximum of the service metric is its fullest task: one task near its limit is what an
    // OutOfMemoryError stop follows, which the average of a fleet hides.
    meaning: `a task's memory utilization at or above ${s.memoryPercent} % of its reservation`,
    watched: {
      namespace: "AWS/ECS",
      metricName: "MemoryUtilization",
      dimensions: { ClusterName: args.clusterName, ServiceName: args.serviceName },
      statistic: "Maximum",
      period: s.periodSeconds,
    },
    comparison: "GreaterThanOrEqualToThreshold",
    threshold: s.memoryPercent,
  });

  const guards: DeploymentGuards = { alarms: [], names: [] };
  for (const spec of specs) {
    const prefix = DEPLOYMENT_ALARM_PREFIXES[spec.kind];
    const name = scope.names.of(prefix, args.service);
    const alarm = new aws.cloudwatch.MetricAlarm(
      `${args.service}-${prefix}`,
      {
        name,
        alarmDescription:
          `${args.serviceName} deployment guard: ${spec.meaning} ` +
          `(${s.datapointsToAlarm} of ${s.evaluationPeriods} periods of ${s.periodSeconds} s); ECS rolls the deployment back`,
        ...spec.watched,
        comparisonOperator: spec.comparison,
        threshold: spec.threshold,
        evaluationPeriods: s.evaluationPeriods,
        datapointsToAlarm: s.datapointsToAlarm,
        // Each metric is published only while there is something to count (requests, errors,
        // registered targets, running tasks); silence is no reason to roll back.
        treatMissingData: "notBreaching",
      },
      scope.opts(),
    );
    guards.alarms.push(alarm);
    guards.names.push(name);
  }
  return guards;
}
