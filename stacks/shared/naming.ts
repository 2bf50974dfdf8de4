import { createHash } from "crypto";

/**
 * The one naming rule: `{type}-{service}-{suffix}` or `{type}-{suffix}` (docs/architecture.md).
 * `type` may be empty for names that are the service itself (`frontend-dev`). Names longer than
 * an AWS limit keep their suffix and get a short hash, so they stay unique and recognisable.
 */
export function resourceName(suffix: string, parts: { type?: string; service?: string; maxLength?: number } = {}): string {
  const head = [parts.type, parts.service].filter((p): p is string => !!p && p.length > 0).join("-");
  const name = head ? `${head}-${suffix}` : suffix;
  const max = parts.maxLength;
  if (max === undefined || name.length <= max) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 6);
  const room = max - suffix.length - hash.length - 2;
  if (room < 1) throw new Error(`cannot fit name ${name} into ${max} characters`);
  return `${head.slice(0, room).replace(/-+$/, "")}-${hash}-${suffix}`;
}

/** Binds the suffix once so a layer writes `names.of("alb")`, `names.of("tg", "frontend", 32)`. */
export class Names {
  constructor(readonly suffix: string) {}

  of(type: string, service?: string, maxLength?: number): string {
    return resourceName(this.suffix, { type, service, maxLength });
  }

  /** The ECS cluster: `ecs-cluster-dev` (the optimizer discovers a fleet by this name). */
  cluster(): string {
    return this.of("ecs-cluster");
  }

  /** A service's own name: `frontend-dev`. */
  service(service: string): string {
    return resourceName(this.suffix, { service });
  }

  /** A service's ECR repository: named as the service, `frontend-dev`. */
  repository(service: string): string {
    return this.service(service);
  }

  /** The log group of a service: `/ecs/frontend-dev`. */
  logGroup(service: string): string {
    return `/ecs/${this.service(service)}`;
  }

  /**
   * The log group that keeps the cluster's stopped-task events: `/aws/events/ecs-task-stops-dev`
   * (EventBridge's own prefix for log groups it writes to).
   */
  taskStopLogGroup(): string {
    return `/aws/events/${this.of(TASK_STOP_LOG_TYPE)}`;
  }
}

/** The type part of the task-stop log group's name. */
export const TASK_STOP_LOG_TYPE = "ecs-task-stops";

/**
 * Name prefixes of the per-service alarms, `{prefix}-{service}-{suffix}`: the observability layer
 * creates them, the optimizer finds them by these names, and the compute layer scopes the
 * optimizer's alarm grants to them.
 */
export const SERVICE_ALARM_PREFIXES = {
  cpuHigh: "cpu-high",
  memoryHigh: "memory-high",
  runningTasksLow: "running-tasks-low",
  unhealthyHosts: "unhealthy-hosts",
  http5xx: "http-5xx",
} as const;

/**
 * Name prefixes of the deployment guard alarms, `{prefix}-{service}-{suffix}`: the compute layer
 * creates them and names them in each service's deployment configuration, so ECS rolls a
 * deployment back when one goes to ALARM. A service has only the kinds that apply to it (the
 * load-balancer ones need a target group).
 */
export const DEPLOYMENT_ALARM_PREFIXES = {
  http5xxRate: "deploy-5xx-rate",
  unhealthyHosts: "deploy-unhealthy-hosts",
  memoryPeak: "deploy-memory-peak",
} as const;
