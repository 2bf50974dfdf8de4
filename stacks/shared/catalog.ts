/**
 * The service catalog: what each service is (port, paths, sizes, scaling, settings, permissions,
 * who may call it). It is declared in the compute layer's config as a map keyed by service name,
 * each entry merged over the defaults below, so a team adds a service by adding an entry.
 *
 * Everything here is pure (no Pulumi calls), so specs and tooling can load and check a catalog
 * without running a program. Every rejection is a ConfigError naming
 * `compute:services.<service>.<field>`, the value and what is allowed.
 */
import { Tier, TIERS } from "./config";
import { ComputeServiceContract } from "./contracts";
import { ConfigError } from "./errors";
import { fargateSizeError } from "./fargate";
import { ACTIONS_REQUIRING_STAR_RESOURCE } from "./iam";

/**
 * The service catalog's names. The registry layer creates one repository per name; the compute
 * layer's full catalog (sizes, ports, paths) is keyed by the same names.
 */
export const DEFAULT_SERVICE_NAMES = ["frontend", "api-gateway", "processing-service"] as const;
export type DefaultServiceName = (typeof DEFAULT_SERVICE_NAMES)[number];

/** A service name becomes part of AWS names (`{service}-{suffix}`), so it must be DNS-safe. */
export const SERVICE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

/** The image every service runs until its team sets `imageTag`, so the platform comes up first. */
export const DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:stable";

export const ARCHITECTURES = ["X86_64", "ARM64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface TaskSize {
  /** CPU units (1024 = 1 vCPU). */
  cpu: number;
  /** MiB. */
  memory: number;
}

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
  /** Container (and target group) port. Defaults to 80, the port of the default nginx image. */
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
  sizes: PerTier<TaskSize>;
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
  /** Days between rotations (with `rotationLambdaArn`). Defaults to 30. */
  rotationDays: number;
  taskRolePolicies: TaskRoleStatement[];
  /** Services that may call this one (the load balancer reaches public services regardless). */
  allowedFrom: string[];
  /** Defaults to true: the container writes only to `writablePaths`. */
  readonlyRootFilesystem: boolean;
  /** Scratch directories mounted from task storage when the root filesystem is read-only. */
  writablePaths: string[];
  /** Defaults to X86_64. */
  architecture: Architecture;
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

const perTier = <T>(value: T): PerTier<T> => Object.fromEntries(TIERS.map((t) => [t, value])) as PerTier<T>;

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

export interface CatalogOptions {
  /** The config key the catalog was read from, for messages. Defaults to `compute:services`. */
  key?: string;
}

/** Setting and secret names become environment variable names and SSM/Secrets Manager paths. */
const SETTING_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Characters an ALB path-pattern condition accepts. */
const PATH_PATTERN = /^\/[A-Za-z0-9_\-.$/~"'@:+*?&]{0,127}$/;
const IAM_ACTION = /^[a-z0-9-]+:[A-Za-z0-9]+$/;
const MATCHER = /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/;
/** A Secrets Manager secret's full ARN, or its name (the characters Secrets Manager allows). */
export const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$/;
/** Secrets Manager's bounds for automatic rotation, in days. */
export const ROTATION_DAYS_RANGE = { min: 1, max: 1000 } as const;

type Path = Array<string | number>;

class EntryReader {
  constructor(
    readonly base: string,
    readonly service: string,
  ) {}

  key(path: Path): string {
    let k = `${this.base}.${this.service}`;
    for (const p of path) k += typeof p === "number" ? `[${p}]` : `.${p}`;
    return k;
  }

  fail(path: Path, value: unknown, allowed: string): never {
    throw new ConfigError(this.key(path), value, allowed);
  }

  int(path: Path, v: unknown, min: number, max: number): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, v, `expected a whole number from ${min} to ${max}`);
    }
    return v;
  }

  bool(path: Path, v: unknown): boolean {
    if (typeof v !== "boolean") this.fail(path, v, "expected true or false");
    return v;
  }

  string(path: Path, v: unknown, pattern: RegExp, allowed: string): string {
    if (typeof v !== "string" || !pattern.test(v)) this.fail(path, v, allowed);
    return v;
  }

  object(path: Path, v: unknown): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(path, v, "expected a map");
    return v as Record<string, unknown>;
  }

  list(path: Path, v: unknown): unknown[] {
    if (!Array.isArray(v)) this.fail(path, v, "expected a list");
    return v;
  }

  knownKeys(path: Path, v: Record<string, unknown>, allowed: readonly string[]): void {
    const unknown = Object.keys(v).filter((k) => !allowed.includes(k));
    if (unknown.length) this.fail([...path, unknown[0]], v[unknown[0]], `unknown key; allowed keys are ${allowed.join(", ")}`);
  }

  uniqueStrings(path: Path, v: unknown, pattern: RegExp, allowed: string): string[] {
    const list = this.list(path, v);
    const seen = new Set<string>();
    list.forEach((item, i) => {
      this.string([...path, i], item, pattern, allowed);
      if (seen.has(item as string)) this.fail([...path, i], item, "listed twice; list each value once");
      seen.add(item as string);
    });
    return list as string[];
  }

  /** A number for every tier, or a map of tiers (unlisted tiers keep the default). */
  perTierInt(field: string, v: unknown, def: PerTier<number>, min: number, max: number): PerTier<number> {
    if (typeof v === "number") return perTier(this.int([field], v, min, max));
    const map = this.object([field], v);
    this.knownKeys([field], map, TIERS);
    const out = { ...def };
    for (const tier of TIERS) if (map[tier] !== undefined) out[tier] = this.int([field, tier], map[tier], min, max);
    return out;
  }
}

function readSizes(r: EntryReader, v: unknown, def: PerTier<TaskSize>): PerTier<TaskSize> {
  const map = r.object(["sizes"], v);
  r.knownKeys(["sizes"], map, TIERS);
  const out = { ...def };
  for (const tier of TIERS) {
    if (map[tier] === undefined) continue;
    const size = r.object(["sizes", tier], map[tier]);
    r.knownKeys(["sizes", tier], size, ["cpu", "memory"]);
    const merged = { ...def[tier], ...size } as Record<string, unknown>;
    const cpu = r.int(["sizes", tier, "cpu"], merged.cpu, 256, 16384);
    const memory = r.int(["sizes", tier, "memory"], merged.memory, 512, 122880);
    const why = fargateSizeError(cpu, memory);
    if (why) r.fail(["sizes", tier], { cpu, memory }, why);
    out[tier] = { cpu, memory };
  }
  return out;
}

/** Like `sizes`, but a tier may be null (not rightsized) and has no default to merge over. */
function readRightsizedFrom(r: EntryReader, v: unknown, def: PerTier<TaskSize | null>): PerTier<TaskSize | null> {
  const field = "rightsizedFrom";
  const map = r.object([field], v);
  r.knownKeys([field], map, TIERS);
  const out = { ...def };
  for (const tier of TIERS) {
    const raw = map[tier];
    if (raw === undefined) continue;
    if (raw === null) {
      out[tier] = null;
      continue;
    }
    const size = r.object([field, tier], raw);
    r.knownKeys([field, tier], size, ["cpu", "memory"]);
    const cpu = r.int([field, tier, "cpu"], size.cpu, 256, 16384);
    const memory = r.int([field, tier, "memory"], size.memory, 512, 122880);
    const why = fargateSizeError(cpu, memory);
    if (why) r.fail([field, tier], { cpu, memory }, why);
    out[tier] = { cpu, memory };
  }
  return out;
}

function readEnvironment(r: EntryReader, v: unknown, def: Record<string, string>): Record<string, string> {
  const map = r.object(["environment"], v);
  const out = { ...def };
  for (const [name, value] of Object.entries(map)) {
    r.string(
      ["environment", name],
      name,
      SETTING_NAME,
      "setting names are 1-64 upper-case letters, digits or underscores, starting with a letter",
    );
    // A null value removes a default setting.
    if (value === null) {
      delete out[name];
      continue;
    }
    if (!["string", "number", "boolean"].includes(typeof value)) {
      r.fail(["environment", name], value, "expected a string, number or boolean (secrets belong in `secrets`)");
    }
    const text = String(value);
    if (text.length === 0 || text.length > 4096)
      r.fail(["environment", name], value, "expected 1 to 4096 characters (SSM parameter limits)");
    out[name] = text;
  }
  return out;
}

function readTaskRolePolicies(r: EntryReader, v: unknown): TaskRoleStatement[] {
  return r.list(["taskRolePolicies"], v).map((raw, i) => {
    const at: Path = ["taskRolePolicies", i];
    const st = r.object(at, raw);
    r.knownKeys(at, st, ["sid", "actions", "resources", "condition"]);
    const actions = r.list([...at, "actions"], st.actions);
    if (actions.length === 0) r.fail([...at, "actions"], st.actions, "list at least one action");
    actions.forEach((a, j) => {
      if (typeof a === "string" && /[*?]/.test(a)) r.fail([...at, "actions", j], a, "wildcard actions are not allowed; name each action");
      r.string([...at, "actions", j], a, IAM_ACTION, "expected an IAM action such as s3:GetObject");
    });
    const resources = r.list([...at, "resources"], st.resources);
    if (resources.length === 0) r.fail([...at, "resources"], st.resources, "list the resources (ARNs) the actions apply to");
    resources.forEach((res, j) => {
      if (typeof res !== "string" || res.length === 0) r.fail([...at, "resources", j], res, "expected an ARN");
    });
    if (resources.includes("*")) {
      const scoped = (actions as string[]).filter((a) => !ACTIONS_REQUIRING_STAR_RESOURCE.includes(a));
      if (scoped.length) {
        r.fail([...at, "resources"], resources, `"*" only for actions AWS cannot scope; name the ARNs ${scoped.join(", ")} applies to`);
      }
    }
    const statement: TaskRoleStatement = { actions: actions as string[], resources: resources as string[] };
    if (st.sid !== undefined) statement.sid = r.string([...at, "sid"], st.sid, /^[A-Za-z0-9]{1,128}$/, "expected letters and digits");
    if (st.condition !== undefined) statement.condition = r.object([...at, "condition"], st.condition);
    return statement;
  });
}

function readHealthCheck(r: EntryReader, v: unknown, def: HealthCheckSettings): HealthCheckSettings {
  const map = r.object(["healthCheck"], v);
  r.knownKeys(["healthCheck"], map, Object.keys(def));
  const m = { ...def, ...map } as Record<string, unknown>;
  const hc: HealthCheckSettings = {
    intervalSeconds: r.int(["healthCheck", "intervalSeconds"], m.intervalSeconds, 5, 300),
    timeoutSeconds: r.int(["healthCheck", "timeoutSeconds"], m.timeoutSeconds, 2, 60),
    healthyThreshold: r.int(["healthCheck", "healthyThreshold"], m.healthyThreshold, 2, 10),
    unhealthyThreshold: r.int(["healthCheck", "unhealthyThreshold"], m.unhealthyThreshold, 2, 10),
    matcher: r.string(["healthCheck", "matcher"], m.matcher, MATCHER, "expected HTTP codes such as 200 or 200-399"),
    startPeriodSeconds: r.int(["healthCheck", "startPeriodSeconds"], m.startPeriodSeconds, 0, 300),
  };
  if (hc.timeoutSeconds >= hc.intervalSeconds) {
    r.fail(["healthCheck", "timeoutSeconds"], hc.timeoutSeconds, `must be shorter than intervalSeconds (${hc.intervalSeconds})`);
  }
  return hc;
}

/** Reads one entry over its defaults; cross-service rules are checked by loadCatalog. */
function readExistingSecrets(r: EntryReader, v: unknown): Record<string, ExistingSecret> {
  const field = "existingSecrets";
  const map = r.object([field], v);
  const out: Record<string, ExistingSecret> = {};
  for (const [name, raw] of Object.entries(map)) {
    if (!SETTING_NAME.test(name)) r.fail([field, name], raw, "secret names are 1-64 upper-case letters, digits or underscores");
    const ref = r.object([field, name], raw);
    r.knownKeys([field, name], ref, ["secret", "kmsKeyArn"]);
    const secret = ref.secret;
    if (typeof secret !== "string" || !(SECRET_ARN.test(secret) || (!secret.startsWith("arn:") && SECRET_NAME.test(secret)))) {
      r.fail(
        [field, name, "secret"],
        secret,
        "expected an existing secret's name or full ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
      );
    }
    out[name] = { secret };
    if (ref.kmsKeyArn !== undefined) {
      out[name].kmsKeyArn = r.string(
        [field, name, "kmsKeyArn"],
        ref.kmsKeyArn,
        KMS_KEY_ARN,
        "expected a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
      );
    }
  }
  return out;
}

function readEntry(r: EntryReader, entry: Record<string, unknown>, def: Omit<ServiceSpec, "name">): ServiceSpec {
  r.knownKeys([], entry, SERVICE_FIELDS);
  const has = (k: string) => entry[k] !== undefined;
  const s: ServiceSpec = { name: r.service, ...structuredClone(def) };
  if (has("port")) s.port = r.int(["port"], entry.port, 1, 65535);
  if (has("healthCheckPath")) {
    s.healthCheckPath = r.string(["healthCheckPath"], entry.healthCheckPath, /^\/\S{0,1023}$/, "expected a path starting with /");
  }
  if (entry.path === null) s.path = null;
  else if (has("path")) {
    s.path = r.string(
      ["path"],
      entry.path,
      PATH_PATTERN,
      "expected an ALB path pattern starting with / (up to 128 characters), or null for internal only",
    );
  }
  if (has("critical")) s.critical = r.bool(["critical"], entry.critical);
  if (has("image"))
    s.image = r.string(["image"], entry.image, /^\S{1,255}$/, "expected an image reference such as public.ecr.aws/nginx/nginx:stable");
  if (entry.imageTag === null) s.imageTag = null;
  else if (has("imageTag"))
    s.imageTag = r.string(["imageTag"], entry.imageTag, IMAGE_TAG, "expected an image tag (letters, digits, _ . -; up to 128)");
  if (has("sizes")) s.sizes = readSizes(r, entry.sizes, def.sizes);
  if (has("desiredCount")) s.desiredCount = r.perTierInt("desiredCount", entry.desiredCount, def.desiredCount, 0, 1000);
  if (has("minCapacity")) s.minCapacity = r.perTierInt("minCapacity", entry.minCapacity, def.minCapacity, 0, 1000);
  if (has("maxCapacity")) s.maxCapacity = r.perTierInt("maxCapacity", entry.maxCapacity, def.maxCapacity, 1, 1000);
  if (has("environment")) s.environment = readEnvironment(r, entry.environment, def.environment);
  if (has("secrets")) {
    s.secrets = r.uniqueStrings(
      ["secrets"],
      entry.secrets,
      SETTING_NAME,
      "secret names are 1-64 upper-case letters, digits or underscores",
    );
  }
  if (has("existingSecrets")) s.existingSecrets = readExistingSecrets(r, entry.existingSecrets);
  if (entry.rotationLambdaArn === null) s.rotationLambdaArn = null;
  else if (has("rotationLambdaArn")) {
    s.rotationLambdaArn = r.string(
      ["rotationLambdaArn"],
      entry.rotationLambdaArn,
      LAMBDA_ARN,
      "expected a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)",
    );
  }
  if (has("rotationDays")) s.rotationDays = r.int(["rotationDays"], entry.rotationDays, ROTATION_DAYS_RANGE.min, ROTATION_DAYS_RANGE.max);
  if (has("taskRolePolicies")) s.taskRolePolicies = readTaskRolePolicies(r, entry.taskRolePolicies);
  if (has("allowedFrom"))
    s.allowedFrom = r.uniqueStrings(["allowedFrom"], entry.allowedFrom, SERVICE_NAME_PATTERN, "expected service names");
  if (has("readonlyRootFilesystem")) s.readonlyRootFilesystem = r.bool(["readonlyRootFilesystem"], entry.readonlyRootFilesystem);
  if (has("writablePaths")) {
    s.writablePaths = r.uniqueStrings(
      ["writablePaths"],
      entry.writablePaths,
      /^\/[A-Za-z0-9_.\-/]{1,254}$/,
      "expected absolute directory paths",
    );
  }
  if (has("architecture")) {
    const a = entry.architecture;
    if (!(ARCHITECTURES as readonly unknown[]).includes(a)) r.fail(["architecture"], a, `allowed values are ${ARCHITECTURES.join(", ")}`);
    s.architecture = a as Architecture;
  }
  if (has("healthCheck")) s.healthCheck = readHealthCheck(r, entry.healthCheck, def.healthCheck);
  if (entry.blueGreen === null) s.blueGreen = null;
  else if (has("blueGreen")) s.blueGreen = r.bool(["blueGreen"], entry.blueGreen);
  if (has("rightsizedFrom")) s.rightsizedFrom = readRightsizedFrom(r, entry.rightsizedFrom, def.rightsizedFrom);

  for (const tier of TIERS) {
    const [min, max, desired] = [s.minCapacity[tier], s.maxCapacity[tier], s.desiredCount[tier]];
    if (min > max) r.fail(["minCapacity"], s.minCapacity, `${tier}: minCapacity ${min} is above maxCapacity ${max}`);
    if (desired < min || desired > max) {
      r.fail(["desiredCount"], s.desiredCount, `${tier}: desiredCount ${desired} is outside [minCapacity ${min}, maxCapacity ${max}]`);
    }
  }
  const clash = s.secrets.find((name) => name in s.environment);
  if (clash) r.fail(["secrets"], s.secrets, `${clash} is also an environment setting; a name is either a setting or a secret`);
  const taken = Object.keys(s.existingSecrets).find((name) => name in s.environment || s.secrets.includes(name));
  if (taken) {
    r.fail(
      ["existingSecrets", taken],
      s.existingSecrets[taken],
      `${taken} is also a setting or a generated secret; each name is delivered once`,
    );
  }
  if (s.blueGreen === true && s.path === null) {
    r.fail(["blueGreen"], true, "blue/green shifts load-balancer traffic; an internal service (path null) deploys rolling");
  }
  return s;
}

/**
 * Builds the catalog from the compute config's `services` value (undefined: the defaults).
 * Default services are merged with their entries; an entry of null removes a default service;
 * other names add services over BASE_SERVICE. Maps (environment, per-tier values, health check)
 * merge key by key; lists (secrets, allowedFrom, policies) replace.
 */
export function loadCatalog(raw: unknown, options: CatalogOptions = {}): ServiceCatalog {
  const base = options.key ?? "compute:services";
  if (raw !== undefined && (typeof raw !== "object" || raw === null || Array.isArray(raw))) {
    throw new ConfigError(base, raw, "expected a map of service name -> settings");
  }
  const entries = (raw ?? {}) as Record<string, unknown>;
  const names = [
    ...DEFAULT_SERVICE_NAMES,
    ...Object.keys(entries).filter((n) => !(DEFAULT_SERVICE_NAMES as readonly string[]).includes(n)),
  ];
  const catalog: ServiceCatalog = {};
  for (const name of names) {
    const entry = entries[name];
    const isDefault = (DEFAULT_SERVICE_NAMES as readonly string[]).includes(name);
    if (entry === null && isDefault) continue;
    if (!SERVICE_NAME_PATTERN.test(name)) {
      throw new ConfigError(
        `${base}.${name}`,
        entry,
        `service names are 2-32 lower-case letters, digits or hyphens, starting with a letter`,
      );
    }
    const r = new EntryReader(base, name);
    const defaults = isDefault ? readEntry(r, { ...DEFAULT_CATALOG[name as DefaultServiceName] }, BASE_SERVICE) : BASE_SERVICE;
    catalog[name] = readEntry(r, entry === undefined ? {} : r.object([], entry), defaults);
  }
  if (Object.keys(catalog).length === 0) throw new ConfigError(base, raw, "the catalog needs at least one service");

  const paths = new Map<string, string>();
  for (const s of Object.values(catalog)) {
    const r = new EntryReader(base, s.name);
    s.allowedFrom.forEach((caller, i) => {
      if (caller === s.name) r.fail(["allowedFrom", i], caller, "a service does not need permission to call itself");
      if (!catalog[caller]) r.fail(["allowedFrom", i], caller, `unknown service; the catalog has ${Object.keys(catalog).join(", ")}`);
    });
    if (s.path !== null) {
      const key = normalizedPath(s.path);
      const owner = paths.get(key);
      if (owner) r.fail(["path"], s.path, `${owner} already serves this path; each public path belongs to one service`);
      paths.set(key, s.name);
    }
  }
  return catalog;
}

/** `/` and `/*` route the same traffic, so they count as one path. */
function normalizedPath(path: string): string {
  return path === "/" ? "/*" : path;
}

/** The ALB path-pattern values of a public service's listener rule. */
export function pathPatterns(spec: Pick<ServiceSpec, "path">): string[] {
  if (spec.path === null) return [];
  return [normalizedPath(spec.path)];
}

/** How specific a path pattern is: literal characters before the first wildcard (catch-all = 0). */
function specificity(pattern: string): number {
  const wild = pattern.search(/[*?]/);
  return wild === -1 ? pattern.length + 1000 : wild;
}

/**
 * Listener-rule priorities for the public services. ALB evaluates rules in priority order, so
 * more specific paths must come first and `/` (the catch-all) last: services are ordered by
 * specificity, then name, and numbered `base`, `base + step`, ... The result depends only on
 * the catalog, so every run and every reader derives the same, unique numbers.
 */
export function listenerRulePriorities(catalog: ServiceCatalog, base = 100, step = 10): Record<string, number> {
  const publicServices = Object.values(catalog).filter((s) => s.path !== null);
  publicServices.sort((a, b) => {
    const [pa, pb] = [normalizedPath(a.path!), normalizedPath(b.path!)];
    return specificity(pb) - specificity(pa) || pb.length - pa.length || a.name.localeCompare(b.name);
  });
  const out: Record<string, number> = {};
  publicServices.forEach((s, i) => (out[s.name] = base + i * step));
  const last = base + (publicServices.length - 1) * step;
  if (last > 50000) throw new Error(`listener rule priorities reach ${last}; ALB allows up to 50000`);
  return out;
}

/** Services this one may call: those whose `allowedFrom` names it. */
export function calleesOf(catalog: ServiceCatalog, service: string): ServiceSpec[] {
  return Object.values(catalog).filter((s) => s.allowedFrom.includes(service));
}

/** A service's values for one tier: what the compute layer deploys and exports. */
export interface TierService
  extends
    Omit<ServiceSpec, "sizes" | "desiredCount" | "minCapacity" | "maxCapacity" | "rightsizedFrom">,
    Pick<ComputeServiceContract, "cpu" | "memory" | "baselineCpu" | "baselineMemory" | "desiredCount" | "minCapacity" | "maxCapacity"> {}

export function forTier(spec: ServiceSpec, tier: Tier): TierService {
  const { sizes, desiredCount, minCapacity, maxCapacity, rightsizedFrom, ...rest } = spec;
  const baseline = rightsizedFrom[tier] ?? sizes[tier];
  return {
    ...rest,
    cpu: sizes[tier].cpu,
    memory: sizes[tier].memory,
    baselineCpu: baseline.cpu,
    baselineMemory: baseline.memory,
    desiredCount: desiredCount[tier],
    minCapacity: minCapacity[tier],
    maxCapacity: maxCapacity[tier],
  };
}
