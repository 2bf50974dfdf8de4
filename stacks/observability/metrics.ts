/**
 * The CloudWatch metrics this layer reads, with their dimensions, defined once so an alarm and the
 * dashboard graph of the same signal cannot drift apart.
 */
import { ComputeServiceContract } from "../shared";

export type Statistic = "Average" | "Sum" | "Minimum" | "Maximum" | "SampleCount";

export interface MetricRef {
  namespace: string;
  metricName: string;
  /** Dimension name -> value, in the order CloudWatch shows them. */
  dimensions: Record<string, string>;
  /** Names the series where a signal has several (graph legends, metric-math queries). */
  label?: string;
}

/**
 * What an alarm or graph watches: one metric, or the same metric of several target groups, which
 * is combined point by point into one series (`combinedExpression`).
 */
export type Signal = MetricRef | MetricRef[];

export function signalMetrics(signal: Signal): MetricRef[] {
  return Array.isArray(signal) ? signal : [signal];
}

/**
 * How per-target-group series of a statistic add up to the service's series. SUM and MAX of an
 * array of series give one series, point by point, so each period's value depends on that period
 * alone (AWS advises against these functions in alarms for their scalar forms, which reduce the
 * whole queried range). Averages of different target groups cannot be combined this way.
 */
const COMBINE: Partial<Record<Statistic, string>> = { Sum: "SUM", SampleCount: "SUM", Maximum: "MAX", Minimum: "MIN" };

/** The metric-math expression combining the series `ids` of `statistic`, e.g. `MAX([m1, m2])`. */
export function combinedExpression(statistic: Statistic, ids: string[]): string {
  const fn = COMBINE[statistic];
  if (!fn) throw new Error(`${statistic} series of several target groups cannot be combined into one`);
  return `${fn}([${ids.join(", ")}])`;
}

/**
 * The signals of one service. `requests`, `http5xx` and `unhealthyHosts` exist for public services
 * only, with one metric per target group: the primary, then the alternate of a blue/green service.
 */
export interface ServiceMetrics {
  cpu: MetricRef;
  memory: MetricRef;
  runningTasks: MetricRef;
  requests?: MetricRef[];
  http5xx?: MetricRef[];
  unhealthyHosts?: MetricRef[];
}

/** `tg-frontend-prod` of `targetgroup/tg-frontend-prod/0123456789abcdef`. */
function targetGroupName(arnSuffix: string): string {
  return arnSuffix.split("/")[1] ?? arnSuffix;
}

export function serviceMetrics(clusterName: string, albArnSuffix: string, service: ComputeServiceContract): ServiceMetrics {
  const ecs = { ClusterName: clusterName, ServiceName: service.serviceName };
  const metrics: ServiceMetrics = {
    cpu: { namespace: "AWS/ECS", metricName: "CPUUtilization", dimensions: ecs },
    memory: { namespace: "AWS/ECS", metricName: "MemoryUtilization", dimensions: ecs },
    // AWS/ECS has no task count; Container Insights (on in the compute layer) publishes it.
    runningTasks: { namespace: "ECS/ContainerInsights", metricName: "RunningTaskCount", dimensions: ecs },
  };
  if (service.targetGroupArnSuffix !== null) {
    // After a blue/green deployment ECS serves production from the alternate target group, so
    // watching the primary alone would go quiet on the first deployment. A compute stack
    // released before it exported the alternate has no such key: then only the primary.
    const groups = [service.targetGroupArnSuffix, service.alternateTargetGroupArnSuffix ?? null].filter((g): g is string => g !== null);
    const alb = (metricName: string): MetricRef[] =>
      groups.map((group) => ({
        namespace: "AWS/ApplicationELB",
        metricName,
        // Target-group metrics are published per (TargetGroup, LoadBalancer) pair; with
        // TargetGroup alone CloudWatch finds no series.
        dimensions: { TargetGroup: group, LoadBalancer: albArnSuffix },
        label: targetGroupName(group),
      }));
    metrics.requests = alb("RequestCount");
    metrics.http5xx = alb("HTTPCode_Target_5XX_Count");
    metrics.unhealthyHosts = alb("UnHealthyHostCount");
  }
  return metrics;
}
