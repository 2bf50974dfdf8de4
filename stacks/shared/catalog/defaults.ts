/** What a service gets for every field its catalog entry leaves out, and the default catalog. */
import { TIERS } from "../config";
import { PerTier, ServiceSpec, SERVICE_FIELDS } from "./schema";

/**
 * The service catalog's names. The registry layer creates one repository per name; the compute
 * layer's full catalog (sizes, ports, paths) is keyed by the same names.
 */
export const DEFAULT_SERVICE_NAMES = ["frontend", "api-gateway", "processing-service"] as const;
export type DefaultServiceName = (typeof DEFAULT_SERVICE_NAMES)[number];

/** The image every service runs until its team sets `imageTag`, so the platform comes up first. */
export const DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:stable";

export const perTier = <T>(value: T): PerTier<T> => Object.fromEntries(TIERS.map((t) => [t, value])) as PerTier<T>;

/** What a service gets for every field its entry (and its named default) leaves out. */
export const BASE_SERVICE: Readonly<Omit<ServiceSpec, "name">> = Object.freeze({
  port: 80,
  healthCheckPath: "/",
  path: null,
  critical: false,
  image: DEFAULT_IMAGE,
  imageTag: null,
  sizes: { dev: { cpu: 256, memory: 512 }, prod: { cpu: 512, memory: 1024 } },
  desiredCount: perTier(3),
  minCapacity: perTier(2),
  maxCapacity: { dev: 6, prod: 10 },
  environment: { LOG_LEVEL: "info" },
  secrets: [],
  existingSecrets: {},
  rotationLambdaArn: null,
  rotationDays: 30,
  taskRolePolicies: [],
  allowedFrom: [],
  readonlyRootFilesystem: true,
  // Where nginx (the default image) writes: cache, pid file, temp files.
  writablePaths: ["/tmp", "/var/cache/nginx", "/run"],
  architecture: "X86_64",
  healthCheck: {
    intervalSeconds: 30,
    timeoutSeconds: 5,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    matcher: "200-399",
    startPeriodSeconds: 60,
  },
  blueGreen: null,
  rightsizedFrom: perTier(null),
});

/** Entry shape as written in config: any field, per-tier fields as a number or a per-tier map. */
export type ServiceEntry = Partial<Record<(typeof SERVICE_FIELDS)[number], unknown>>;

/** The default catalog: every field not listed comes from BASE_SERVICE. */
export const DEFAULT_CATALOG: Readonly<Record<DefaultServiceName, ServiceEntry>> = Object.freeze({
  frontend: {
    path: "/",
    critical: true,
    sizes: { dev: { cpu: 512, memory: 1024 }, prod: { cpu: 512, memory: 1024 } },
  },
  "api-gateway": {
    path: "/api/*",
    critical: true,
    sizes: { dev: { cpu: 512, memory: 1024 }, prod: { cpu: 1024, memory: 2048 } },
    allowedFrom: ["frontend"],
    secrets: ["API_KEY"],
  },
  "processing-service": {
    path: null,
    critical: false,
    sizes: { dev: { cpu: 1024, memory: 2048 }, prod: { cpu: 2048, memory: 4096 } },
    allowedFrom: ["api-gateway"],
    secrets: ["DB_PASSWORD"],
  },
});
