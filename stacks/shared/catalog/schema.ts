/**
 * The service catalog's shape: what a catalog entry may say about a service. Every field is
 * documented here once; the compute layer's Pulumi.yaml and docs/layers.md point here.
 */
import { Tier } from "../config";

/** A service name becomes part of AWS names (`{service}-{suffix}`), so it must be DNS-safe. */
export const SERVICE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

export const ARCHITECTURES = ["X86_64", "ARM64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface TaskSize {
  /** CPU units (1024 = 1 vCPU). */
  cpu: number;
  /** MiB. */
  memory: number;
}

/** A task size's keys, in the order a catalog entry writes them. */
export const TASK_SIZE_KEYS = ["cpu", "memory"] as const satisfies readonly (keyof TaskSize)[];

export type PerTier<T> = Record<Tier, T>;

/** Health thresholds shared by the target group (public services) and the container check. */
export interface HealthCheckSettings {
  /** Defaults to 30 seconds. */
  intervalSeconds: number;
  /** Defaults to 5 seconds; must be shorter than the interval. */
  timeoutSeconds: number;
  /** Defaults to 2. */
  healthyThreshold: number;
  /** Defaults to 3; also the container health check's retries. */
  unhealthyThreshold: number;
  /** HTTP codes the target group counts as healthy. Defaults to `200-399`. */
  matcher: string;
  /** Container health check start period: failures do not count while the task boots. Defaults to 60. */
  startPeriodSeconds: number;
}

/** An extra task-role permission. Wildcard actions are refused; resources are required. */
export interface TaskRoleStatement {
  sid?: string;
  actions: string[];
  resources: string[];
  condition?: Record<string, unknown>;
}

export interface ExistingSecret {
  /** The secret's name (same account and region) or full ARN. */
  secret: string;
  /** The customer-managed key it is encrypted with; omit for the AWS-managed `aws/secretsmanager` key. */
  kmsKeyArn?: string;
}

export interface ServiceSpec {
  name: string;
  /** Container (and target group) port, 1-65535. Defaults to 80, the port of the default nginx image. */
  port: number;
  /** Path the load balancer and the container health check request. Defaults to `/`. */
  healthCheckPath: string;
  /**
   * ALB path pattern of a public service (`/api/*`), or null for an internal-only service. `/`
   * means "everything not matched by a more specific service" and becomes the last rule (`/*`).
   */
  path: string | null;
  /** Critical services run on on-demand Fargate only; the rest mostly on Spot. */
  critical: boolean;
  /** Image used while `imageTag` is null. Defaults to DEFAULT_IMAGE. */
  image: string;
  /** When set, the service runs `<its ECR repository>:<imageTag>` instead of `image`. */
  imageTag: string | null;
  /** Task size per tier (`sizes.{dev,prod}.{cpu,memory}`), a valid Fargate pair; see BASE_SERVICE and DEFAULT_CATALOG. */
  sizes: PerTier<TaskSize>;
  /**
   * Task counts, each a number for every tier or a `{dev, prod}` map, 0-1000 (max 1-1000), with
   * min <= desired <= max. Defaults: desired 3, min 2, max {dev: 6, prod: 10}.
   */
  desiredCount: PerTier<number>;
  minCapacity: PerTier<number>;
  maxCapacity: PerTier<number>;
  /** Non-secret settings: NAME -> value, delivered as SSM parameters. */
  environment: Record<string, string>;
  /** Secret names, delivered from Secrets Manager with generated values. */
  secrets: string[];
  /**
   * Secrets that already exist in Secrets Manager: NAME -> the secret's name or ARN, and the KMS key
   * it is encrypted with when that is a customer-managed key. Nothing is generated for them; the
   * execution role may read exactly that secret (and decrypt with exactly that key).
   */
  existingSecrets: Record<string, ExistingSecret>;
  /** A rotation function the user owns; when set, every generated secret rotates with it. */
  rotationLambdaArn: string | null;
  /** Days between rotations (with `rotationLambdaArn`), 1-1000. Defaults to 30. */
  rotationDays: number;
  /** Extra task-role statements: no wildcard actions, resources named (see TaskRoleStatement). */
  taskRolePolicies: TaskRoleStatement[];
  /** Services that may call this one (the load balancer reaches public services regardless). */
  allowedFrom: string[];
  /** Defaults to true: the container writes only to `writablePaths`. */
  readonlyRootFilesystem: boolean;
  /** Scratch directories mounted from task storage when the root filesystem is read-only. */
  writablePaths: string[];
  /** X86_64 or ARM64. Defaults to X86_64. */
  architecture: Architecture;
  /** Load-balancer and container health check thresholds (see HealthCheckSettings). */
  healthCheck: HealthCheckSettings;
  /** Per-service override of the layer's `blueGreen` default; null follows the layer. */
  blueGreen: boolean | null;
  /**
   * The task size before rightsizing, per tier (null: never rightsized). Set by
   * `ecs-optimizer optimize --write-config` the first time it shrinks `sizes` for a tier and kept
   * across runs, so the optimizer's `fixed` policy halves from this original size, never from an
   * already-halved one (it would otherwise ratchet down on every run). Exported as the service's
   * `baselineCpu`/`baselineMemory`. A valid Fargate pair. Defaults to null for every tier.
   */
  rightsizedFrom: PerTier<TaskSize | null>;
}

/** A catalog: service name -> its full spec, defaults first, in a stable order. */
export type ServiceCatalog = Record<string, ServiceSpec>;

/** The keys a catalog entry may set (every ServiceSpec field except its name). */
export const SERVICE_FIELDS = [
  "port",
  "healthCheckPath",
  "path",
  "critical",
  "image",
  "imageTag",
  "sizes",
  "desiredCount",
  "minCapacity",
  "maxCapacity",
  "environment",
  "secrets",
  "existingSecrets",
  "rotationLambdaArn",
  "rotationDays",
  "taskRolePolicies",
  "allowedFrom",
  "readonlyRootFilesystem",
  "writablePaths",
  "architecture",
  "healthCheck",
  "blueGreen",
  "rightsizedFrom",
] as const satisfies readonly Exclude<keyof ServiceSpec, "name">[];

/** The task counts an entry gives as one number for every tier or as a map of tiers, with their ranges. */
export const PER_TIER_COUNTS = {
  desiredCount: { min: 0, max: 1000 },
  minCapacity: { min: 0, max: 1000 },
  maxCapacity: { min: 1, max: 1000 },
} as const satisfies Partial<Record<(typeof SERVICE_FIELDS)[number], { min: number; max: number }>>;
export type PerTierCountField = keyof typeof PER_TIER_COUNTS;
export const PER_TIER_COUNT_FIELDS = Object.keys(PER_TIER_COUNTS) as PerTierCountField[];
