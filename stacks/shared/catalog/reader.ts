/**
 * Builds the service catalog from the compute layer's `services` config: each entry is read over
 * its defaults (a default service's entry, else BASE_SERVICE), then the cross-service rules are
 * checked. Everything here is pure (no Pulumi calls), so specs and tooling can load and check a
 * catalog without running a program.
 */
import { TIERS } from "../config";
import { ConfigError } from "../errors";
import { ACTIONS_REQUIRING_STAR_RESOURCE } from "../iam";
import { BASE_SERVICE, DEFAULT_CATALOG, DEFAULT_SERVICE_NAMES, DefaultServiceName } from "./defaults";
import {
  EntryReader,
  IAM_ACTION,
  IMAGE_TAG,
  KMS_KEY_ARN,
  LAMBDA_ARN,
  MATCHER,
  Path,
  PATH_PATTERN,
  readTierSizes,
  ROTATION_DAYS_RANGE,
  SECRET_ARN,
  SECRET_NAME,
  SETTING_NAME,
} from "./entry-reader";
import {
  ARCHITECTURES,
  Architecture,
  ExistingSecret,
  HealthCheckSettings,
  PER_TIER_COUNT_FIELDS,
  PER_TIER_COUNTS,
  SERVICE_FIELDS,
  SERVICE_NAME_PATTERN,
  ServiceCatalog,
  ServiceSpec,
  TaskRoleStatement,
} from "./schema";

export interface CatalogOptions {
  /** The config key the catalog was read from, for messages. Defaults to `compute:services`. */
  key?: string;
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
  if (has("path")) {
    s.path = r.stringOrNull(
      ["path"],
      entry.path,
      PATH_PATTERN,
      "expected an ALB path pattern starting with / (up to 128 characters), or null for internal only",
    );
  }
  if (has("critical")) s.critical = r.bool(["critical"], entry.critical);
  if (has("image"))
    s.image = r.string(["image"], entry.image, /^\S{1,255}$/, "expected an image reference such as public.ecr.aws/nginx/nginx:stable");
  if (has("imageTag"))
    s.imageTag = r.stringOrNull(["imageTag"], entry.imageTag, IMAGE_TAG, "expected an image tag (letters, digits, _ . -; up to 128)");
  if (has("sizes")) s.sizes = readTierSizes(r, "sizes", entry.sizes, def.sizes);
  for (const field of PER_TIER_COUNT_FIELDS) {
    const { min, max } = PER_TIER_COUNTS[field];
    if (has(field)) s[field] = r.perTierInt(field, entry[field], def[field], min, max);
  }
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
  if (has("rotationLambdaArn")) {
    s.rotationLambdaArn = r.stringOrNull(
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
  if (has("rightsizedFrom")) s.rightsizedFrom = readTierSizes(r, "rightsizedFrom", entry.rightsizedFrom, def.rightsizedFrom);

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
export function normalizedPath(path: string): string {
  return path === "/" ? "/*" : path;
}
