/**
 * The compute layer's config, read and checked in one place. COMPUTE_KEYS holds each key's one
 * default (the service catalog's live in the shared catalog), and Pulumi.yaml documents the keys
 * from it (`npm run config-docs`).
 */
import {
  BASE_SERVICE,
  byTier,
  computed,
  ConfigError,
  ConfigKey,
  DEFAULT_CATALOG,
  fixed,
  LayerConfig,
  loadCatalog,
  tierDefault,
  platformKeys,
  ROTATION_DAYS_RANGE,
  ServiceCatalog,
  showValue,
  stackReferenceKey,
  Tier,
} from "../shared";
import { MIN_SPOT_SHARE } from "./capacity";
import { DeploymentAlarmSettings } from "./deployment-alarms";

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** A per-tier catalog field's default as the docs show it: one number, or {dev: n, prod: m}. */
function tierField(values: Readonly<Record<Tier, number>>): string {
  return values.dev === values.prod ? String(values.dev) : `{dev: ${values.dev}, prod: ${values.prod}}`;
}

/** The default catalog in a phrase: each service, and where it is reached. */
function defaultCatalogPhrase(): string {
  return Object.entries(DEFAULT_CATALOG)
    .map(([name, entry]) => {
      const callers = entry.allowedFrom as string[] | undefined;
      if (entry.path) return `${name} public at \`${String(entry.path)}\``;
      return `${name} internal${callers?.length ? ` and reachable from ${callers.join(", ")}` : ""}`;
    })
    .join(", ");
}

const B = BASE_SERVICE;

/** The compute layer's config keys, each with its one default (Pulumi.yaml documents them from here). */
export const COMPUTE_KEYS = {
  ...platformKeys({ tier: "Selects task sizes and max capacity from the catalog, log retention and the blue/green default." }),
  networkStack: stackReferenceKey("network", "The network stack this layer reads."),
  registryStack: stackReferenceKey("registry", "The registry stack this layer reads."),
  services: {
    type: "map",
    description:
      "The service catalog, service name -> settings, each merged over the defaults. A new name adds a service (the " +
      "registry stack must export its repository: add it to registry:services); null removes a default service. " +
      `Fields: port (1-65535, default ${B.port}), healthCheckPath (default ${B.healthCheckPath}), path (ALB path pattern, ` +
      "or null for internal only; `/` is the catch-all, routed last), critical (true: on-demand only; default " +
      `${B.critical}), image (default ${B.image}), imageTag (when set, <its ECR repository>:<tag> is run instead), ` +
      "sizes.{dev,prod}.{cpu,memory} (a valid Fargate pair), desiredCount, minCapacity, maxCapacity (a number or " +
      `{dev, prod}; defaults ${tierField(B.desiredCount)}, ${tierField(B.minCapacity)}, ${tierField(B.maxCapacity)}), ` +
      "environment (NAME: value, delivered as SSM parameters), secrets (names, delivered from generated Secrets " +
      "Manager secrets), existingSecrets (NAME: {secret: <name or ARN>, kmsKeyArn?}: an existing secret referenced " +
      "instead of generated; the execution role may read exactly it and decrypt with exactly that key), " +
      "rotationLambdaArn (a rotation function you own; every generated secret of the service rotates with it; default " +
      `${showValue(B.rotationLambdaArn)}), rotationDays (${ROTATION_DAYS_RANGE.min}-${ROTATION_DAYS_RANGE.max}, default ` +
      `${B.rotationDays}), taskRolePolicies ([{actions, resources, condition?, sid?}], no wildcard actions), allowedFrom ` +
      `(services that may call it), readonlyRootFilesystem (default ${B.readonlyRootFilesystem}), writablePaths (scratch ` +
      `mounts of a read-only container; default ${showValue(B.writablePaths)}), architecture (X86_64 or ARM64; default ` +
      `${B.architecture}), healthCheck ({intervalSeconds, timeoutSeconds, healthyThreshold, unhealthyThreshold, matcher, ` +
      "startPeriodSeconds}), blueGreen (true or false overrides the layer's `blueGreen`; null follows it), " +
      "rightsizedFrom.{dev,prod}.{cpu,memory} (set by ecs-optimizer --write-config; the fixed policy halves from this " +
      "size, never from an already-halved one; a valid Fargate pair, or null; exported as baselineCpu/baselineMemory). " +
      "Without NAT (network natStrategy none) the preview fails unless the network has the ssm endpoint (when a " +
      "service has settings) and secretsmanager (when one has secrets), and every image without imageTag is an ECR " +
      "Public image, pulled through the registry's cache. docs/layers.md shows examples.",
    default: computed(`the default catalog: ${defaultCatalogPhrase()}`),
  },
  spotShare: {
    type: "number",
    description:
      "Share of a non-critical service's tasks above its one on-demand base task that run on Fargate Spot, from the " +
      "platform minimum up; critical services always run on demand.",
    range: { min: MIN_SPOT_SHARE, max: 1 },
    default: fixed(MIN_SPOT_SHARE),
  },
  blueGreen: {
    type: "boolean",
    description:
      "ECS blue/green deployments (alternate target group, test listener, bake time) for public services; a service's " +
      "`blueGreen` catalog field overrides it. Rolling with circuit breaker otherwise.",
    default: tierDefault({ dev: false, prod: true }),
  },
  bakeTimeMinutes: {
    type: "integer",
    description: "Minutes blue and green run side by side after production traffic shifts.",
    range: { min: 0, max: 1440 },
    default: fixed(10),
  },
  logRetentionDays: {
    type: "integer",
    description: "Retention of the services' log groups (a value CloudWatch Logs accepts).",
    default: tierDefault({ dev: 7, prod: 30 }),
  },
  healthCheckGracePeriodSeconds: {
    type: "integer",
    description:
      "Seconds the ECS scheduler ignores failing load-balancer health checks of a new task (public services; internal " +
      "ones use the container health check's start period).",
    range: { min: 0, max: 7200 },
    default: fixed(300),
  },
  taskStopLogRetentionDays: {
    type: "integer",
    description:
      "Retention of the log group `/aws/events/ecs-task-stops-{suffix}`, which keeps every stopped task's ECS event (a " +
      "value CloudWatch Logs accepts). ecs-optimizer reads stop reasons from it over its lookback (14 days by default), " +
      "so a shorter retention hides older OOM kills from it.",
    default: tierDefault({ dev: 14, prod: 90 }),
  },
  deploymentAlarm5xxRatePercent: {
    type: "number",
    description:
      "Target 5xx responses, as a percentage of requests (all of a service's target groups), at which " +
      "`deploy-5xx-rate-{service}-{suffix}` fires and ECS rolls a deployment back (public services).",
    range: { min: 0.1, max: 100 },
    default: tierDefault({ dev: 10, prod: 5 }),
  },
  deploymentAlarmMinRequests: {
    type: "integer",
    description: "Requests per period below which the deployment 5xx rate counts as 0, so a few requests and one error roll nothing back.",
    range: { min: 1, max: 1_000_000 },
    default: fixed(20),
  },
  deploymentAlarmMemoryPercent: {
    type: "number",
    description:
      "Memory utilization of a service's fullest task (the Maximum of AWS/ECS MemoryUtilization) at which " +
      "`deploy-memory-peak-{service}-{suffix}` fires and ECS rolls a deployment back (every service).",
    range: { min: 50, max: 100 },
    default: tierDefault({ dev: 95, prod: 90 }),
  },
  deploymentAlarmPeriodSeconds: {
    type: "integer",
    description: "Seconds per datapoint of the deployment guard alarms (a multiple of 60: the metrics they read are 1-minute).",
    range: { min: 60, max: 3600 },
    default: fixed(60),
  },
  deploymentAlarmEvaluationPeriods: {
    type: "integer",
    description: "Periods a deployment guard alarm evaluates.",
    range: { min: 1, max: 30 },
    default: tierDefault({ dev: 3, prod: 5 }),
  },
  deploymentAlarmDatapointsToAlarm: {
    type: "integer",
    description:
      "Breaching periods among deploymentAlarmEvaluationPeriods that put a deployment guard alarm in ALARM (at most " +
      "that many). Unhealthy targets (`deploy-unhealthy-hosts-{service}-{suffix}`, any above 0) use the same window.",
    range: { min: 1, max: 30 },
    default: tierDefault({ dev: 2, prod: 3 }),
  },
  cpuTargetPercent: {
    type: "integer",
    description: "Target-tracking goal for average service CPU.",
    range: { min: 10, max: 95 },
    default: fixed(70),
  },
  memoryTargetPercent: {
    type: "integer",
    description: "Target-tracking goal for average service memory.",
    range: { min: 10, max: 95 },
    default: fixed(75),
  },
  scaleInCooldownSeconds: {
    type: "integer",
    description: "Seconds between scale-in activities (slow to give capacity back).",
    range: { min: 0, max: 3600 },
    default: fixed(300),
  },
  scaleOutCooldownSeconds: {
    type: "integer",
    description: "Seconds between scale-out activities (quick to add capacity).",
    range: { min: 0, max: 3600 },
    default: fixed(60),
  },
} as const satisfies Record<string, ConfigKey>;

/** The compute layer's settings after defaults (COMPUTE_KEYS documents each key). */
export interface ComputeSettings {
  catalog: ServiceCatalog;
  /** Fraction of a non-critical service's tasks (above its on-demand base) on Fargate Spot. */
  spotShare: number;
  /** Blue/green deployments for public services. */
  blueGreen: boolean;
  /** Minutes blue and green run side by side after traffic shifts. */
  bakeTimeMinutes: number;
  /** Days the services' log groups keep events. */
  logRetentionDays: number;
  /** Days the task-stop log group keeps events. */
  taskStopLogRetentionDays: number;
  /** Thresholds and window of the alarms that roll deployments back. */
  deploymentAlarms: DeploymentAlarmSettings;
  /** Seconds the scheduler ignores failing load-balancer health checks of a new task. */
  healthCheckGracePeriodSeconds: number;
  /** Autoscaling target for average CPU. */
  cpuTargetPercent: number;
  /** Autoscaling target for average memory. */
  memoryTargetPercent: number;
  /** Seconds between scale-in steps. */
  scaleInCooldownSeconds: number;
  /** Seconds between scale-out steps. */
  scaleOutCooldownSeconds: number;
  networkStack: string;
  registryStack: string;
}

export function computeSettings(cfg: LayerConfig, tier: Tier): ComputeSettings {
  const K = COMPUTE_KEYS;
  const retention = (key: string, days: number): number => {
    if (!LOG_RETENTION_DAYS.includes(days)) {
      throw new ConfigError(cfg.key(key), days, `CloudWatch Logs accepts ${LOG_RETENTION_DAYS.join(", ")}`);
    }
    return days;
  };
  const retentionRange = { min: LOG_RETENTION_DAYS[0], max: LOG_RETENTION_DAYS[LOG_RETENTION_DAYS.length - 1] };
  return {
    catalog: loadCatalog(cfg.json<unknown>("services"), { key: cfg.key("services") }),
    // At least 70% Spot is the requirement for non-critical services; more is allowed.
    spotShare: cfg.number("spotShare", K.spotShare),
    blueGreen: cfg.bool("blueGreen", byTier(tier, K.blueGreen.default.perTier)),
    bakeTimeMinutes: cfg.int("bakeTimeMinutes", K.bakeTimeMinutes),
    logRetentionDays: retention(
      "logRetentionDays",
      cfg.int("logRetentionDays", byTier(tier, K.logRetentionDays.default.perTier), retentionRange),
    ),
    taskStopLogRetentionDays: retention(
      "taskStopLogRetentionDays",
      cfg.int("taskStopLogRetentionDays", byTier(tier, K.taskStopLogRetentionDays.default.perTier), retentionRange),
    ),
    deploymentAlarms: deploymentAlarmSettings(cfg, tier),
    healthCheckGracePeriodSeconds: cfg.int("healthCheckGracePeriodSeconds", K.healthCheckGracePeriodSeconds),
    cpuTargetPercent: cfg.int("cpuTargetPercent", K.cpuTargetPercent),
    memoryTargetPercent: cfg.int("memoryTargetPercent", K.memoryTargetPercent),
    scaleInCooldownSeconds: cfg.int("scaleInCooldownSeconds", K.scaleInCooldownSeconds),
    scaleOutCooldownSeconds: cfg.int("scaleOutCooldownSeconds", K.scaleOutCooldownSeconds),
    networkStack: cfg.stackReference("networkStack", "network"),
    registryStack: cfg.stackReference("registryStack", "registry"),
  };
}

function deploymentAlarmSettings(cfg: LayerConfig, tier: Tier): DeploymentAlarmSettings {
  const K = COMPUTE_KEYS;
  const tierValue = <T>(d: { perTier: Readonly<Record<Tier, T>> }): T => byTier(tier, d.perTier);
  const periodSeconds = cfg.int("deploymentAlarmPeriodSeconds", K.deploymentAlarmPeriodSeconds);
  if (periodSeconds % 60 !== 0) {
    throw new ConfigError(cfg.key("deploymentAlarmPeriodSeconds"), periodSeconds, "expected a multiple of 60 (the metrics are 1-minute)");
  }
  const evaluationPeriods = cfg.int(
    "deploymentAlarmEvaluationPeriods",
    tierValue(K.deploymentAlarmEvaluationPeriods.default),
    K.deploymentAlarmEvaluationPeriods.range,
  );
  const datapointsToAlarm = cfg.int(
    "deploymentAlarmDatapointsToAlarm",
    tierValue(K.deploymentAlarmDatapointsToAlarm.default),
    K.deploymentAlarmDatapointsToAlarm.range,
  );
  if (datapointsToAlarm > evaluationPeriods) {
    throw new ConfigError(
      cfg.key("deploymentAlarmDatapointsToAlarm"),
      datapointsToAlarm,
      `at most deploymentAlarmEvaluationPeriods (${evaluationPeriods}): an alarm cannot need more breaching periods than it evaluates`,
    );
  }
  if (periodSeconds * evaluationPeriods > 86_400) {
    throw new ConfigError(
      cfg.key("deploymentAlarmEvaluationPeriods"),
      evaluationPeriods,
      `with deploymentAlarmPeriodSeconds ${periodSeconds} the window exceeds the one day CloudWatch evaluates`,
    );
  }
  return {
    http5xxRatePercent: cfg.number(
      "deploymentAlarm5xxRatePercent",
      tierValue(K.deploymentAlarm5xxRatePercent.default),
      K.deploymentAlarm5xxRatePercent.range,
    ),
    minRequests: cfg.int("deploymentAlarmMinRequests", K.deploymentAlarmMinRequests),
    memoryPercent: cfg.number(
      "deploymentAlarmMemoryPercent",
      tierValue(K.deploymentAlarmMemoryPercent.default),
      K.deploymentAlarmMemoryPercent.range,
    ),
    periodSeconds,
    evaluationPeriods,
    datapointsToAlarm,
  };
}
