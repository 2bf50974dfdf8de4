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
}

/** The signals of one service. `requests`, `http5xx` and `unhealthyHosts` exist for public services only. */
export interface ServiceMetrics {
  cpu: MetricRef;
  memory: MetricRef;
  runningTasks: MetricRef;
  requests?: MetricRef;
  http5xx?: MetricRef;
  unhealthyHosts?: MetricRef;
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
    // Target-group metrics are published per (TargetGroup, LoadBalancer) pair; with TargetGroup
    // alone CloudWatch finds no series.
    const tg = { TargetGroup: service.targetGroupArnSuffix, LoadBalancer: albArnSuffix };
    metrics.requests = { namespace: "AWS/ApplicationELB", metricName: "RequestCount", dimensions: tg };
    metrics.http5xx = { namespace: "AWS/ApplicationELB", metricName: "HTTPCode_Target_5XX_Count", dimensions: tg };
    metrics.unhealthyHosts = { namespace: "AWS/ApplicationELB", metricName: "UnHealthyHostCount", dimensions: tg };
  }
  return metrics;
}
