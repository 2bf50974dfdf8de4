import * as pulumi from "@pulumi/pulumi";
import { computed, ConfigKey, fixed, FixedDefault } from "./config-keys";
import { ConfigError } from "./errors";

export const TIERS = ["dev", "prod"] as const;
export type Tier = (typeof TIERS)[number];
/** The tier of a stack that does not set one. */
export const DEFAULT_TIER: Tier = "dev";

/** A numeric key's documented one default and bounds, as its ConfigKey holds them. */
interface NumericKey {
  readonly default: FixedDefault<number>;
  readonly range: { readonly min: number; readonly max: number };
}

/** Lowercase letters, digits and hyphens: every AWS name this platform builds accepts them. */
const SUFFIX_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?$/;

/**
 * Typed, validated access to one Pulumi project's config. Every getter either returns a value of
 * the declared type or throws a ConfigError naming `project:key`, the value and what is allowed.
 */
export class LayerConfig {
  private readonly cfg: pulumi.Config;
  readonly project: string;

  constructor(namespace?: string) {
    this.cfg = new pulumi.Config(namespace);
    this.project = namespace ?? pulumi.getProject();
  }

  /** The fully qualified key, as a user would type it in `pulumi config set`. */
  key(name: string): string {
    return `${this.project}:${name}`;
  }

  private raw(name: string): string | undefined {
    return this.cfg.get(name);
  }

  string(name: string, def: string): string;
  string(name: string): string | undefined;
  string(name: string, def?: string): string | undefined {
    const v = this.raw(name);
    return v === undefined || v === "" ? def : v;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], def: T): T {
    const v = this.raw(name);
    if (v === undefined || v === "") return def;
    if (!(allowed as readonly string[]).includes(v)) {
      throw new ConfigError(this.key(name), v, `allowed values are ${allowed.join(", ")}`);
    }
    return v as T;
  }

  /** An integer: with its ConfigKey (`int("azCount", KEYS.azCount)`), the key's documented default and range apply. */
  int(name: string, key: NumericKey): number;
  int(name: string, def: number, range?: { min?: number; max?: number }): number;
  int(name: string, defOrKey: number | NumericKey, range: { min?: number; max?: number } = {}): number {
    if (typeof defOrKey !== "number") return this.int(name, defOrKey.default.value, defOrKey.range);
    const v = this.raw(name);
    if (v === undefined || v === "") return defOrKey;
    const n = Number(v);
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(this.key(name), v, `expected a whole number from ${min} to ${max}`);
    }
    return n;
  }

  /** A number: with its ConfigKey (`number("spotShare", KEYS.spotShare)`), the key's documented default and range apply. */
  number(name: string, key: NumericKey): number;
  number(name: string, def: number, range: { min: number; max: number }): number;
  number(name: string, defOrKey: number | NumericKey, range?: { min: number; max: number }): number {
    const { def, bounds } =
      typeof defOrKey === "number" ? { def: defOrKey, bounds: range! } : { def: defOrKey.default.value, bounds: defOrKey.range };
    const v = this.raw(name);
    if (v === undefined || v === "") return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < bounds.min || n > bounds.max) {
      throw new ConfigError(this.key(name), v, `expected a number from ${bounds.min} to ${bounds.max}`);
    }
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined || v === "") return def;
    if (v !== "true" && v !== "false") {
      throw new ConfigError(this.key(name), v, "expected true or false");
    }
    return v === "true";
  }

  cidr(name: string, def: string): string {
    const v = this.string(name, def);
    if (!isCidr(v)) throw new ConfigError(this.key(name), v, "expected an IPv4 CIDR such as 10.0.0.0/16");
    return v;
  }

  cidrList(name: string, def: readonly string[]): string[] {
    const list = this.json<unknown>(name) ?? def;
    if (!Array.isArray(list) || !list.every((c) => typeof c === "string" && isCidr(c))) {
      throw new ConfigError(this.key(name), list, "expected a list of IPv4 CIDRs");
    }
    return [...list] as string[];
  }

  /**
   * A list of distinct strings from YAML config. `check` returns why one item is not allowed (or
   * undefined); the error names the key, the whole list and that reason.
   */
  stringList(name: string, def: readonly string[], check: (item: string) => string | undefined = () => undefined): string[] {
    const list = this.json<unknown>(name) ?? def;
    if (!Array.isArray(list) || !list.every((s) => typeof s === "string")) {
      throw new ConfigError(this.key(name), list, "expected a list of strings");
    }
    const seen = new Set<string>();
    for (const item of list as string[]) {
      if (seen.has(item)) throw new ConfigError(this.key(name), list, `${JSON.stringify(item)} is listed twice; list each value once`);
      seen.add(item);
      const why = check(item);
      if (why !== undefined) throw new ConfigError(this.key(name), list, why);
    }
    return [...(list as string[])];
  }

  /** A structured value (object or list) from YAML config; undefined when unset. */
  json<T>(name: string): T | undefined {
    const v = this.raw(name);
    if (v === undefined || v === "") return undefined;
    try {
      return JSON.parse(v) as T;
    } catch {
      throw new ConfigError(this.key(name), v, "expected a structured (YAML/JSON) value");
    }
  }

  /**
   * The stack name a `<layer>Stack` key points at, e.g. `acme/network/dev`. Defaults to the
   * same-named stack of `defaultProject` in this stack's organization: `organization` on a file
   * or S3 backend, the user's or team's organization on Pulumi Cloud.
   */
  stackReference(name: string, defaultProject: string): string {
    const v = this.string(name, `${pulumi.getOrganization()}/${defaultProject}/${pulumi.getStack()}`);
    if (!/^[^/\s]+\/[^/\s]+\/[^/\s]+$/.test(v)) {
      throw new ConfigError(this.key(name), v, "expected <org>/<project>/<stack>");
    }
    return v;
  }
}

export function isCidr(v: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  return octets.every((o) => o <= 255) && prefix <= 32;
}

/** Settings every layer shares: who owns it, which environment, which profile. */
export interface PlatformSettings {
  environmentSuffix: string;
  tier: Tier;
  team: string;
  costCenter: string;
  region: string;
}

/**
 * Resolves `environmentSuffix` from config, else ENVIRONMENT_SUFFIX, else the stack name, and
 * checks it fits every name it becomes part of.
 */
export function environmentSuffix(cfg: LayerConfig): string {
  const fromConfig = cfg.string("environmentSuffix");
  const value = fromConfig ?? process.env.ENVIRONMENT_SUFFIX ?? pulumi.getStack();
  if (!SUFFIX_PATTERN.test(value)) {
    const source =
      fromConfig !== undefined
        ? cfg.key("environmentSuffix")
        : process.env.ENVIRONMENT_SUFFIX !== undefined
          ? "ENVIRONMENT_SUFFIX"
          : "stack name";
    throw new ConfigError(source, value, "expected 1-16 lowercase letters, digits or hyphens, not starting or ending with a hyphen");
  }
  return value;
}

/** The keys every layer reads (platformSettings), with their one default each. */
export const PLATFORM_KEYS = {
  environmentSuffix: {
    type: "string",
    description: "Suffix of every resource name.",
    default: computed("the ENVIRONMENT_SUFFIX variable, else the stack name"),
  },
  tier: { type: "string", description: `Profile: ${TIERS.join(" or ")}.`, default: fixed<Tier>("dev") },
  team: { type: "string", description: "Team tag on every resource.", default: fixed("platform") },
  costCenter: { type: "string", description: "CostCenter tag on every resource.", default: fixed("engineering") },
} as const satisfies Record<string, ConfigKey>;

/**
 * The platform keys as one layer documents them: `notes` adds a sentence on what a key means
 * in that layer (what the tier selects, say) to the shared description. Defaults stay shared.
 */
export function platformKeys(notes: Partial<Record<keyof typeof PLATFORM_KEYS, string>> = {}): typeof PLATFORM_KEYS {
  const keys: Record<string, ConfigKey> = {};
  for (const [name, key] of Object.entries(PLATFORM_KEYS)) {
    const note = notes[name as keyof typeof PLATFORM_KEYS];
    keys[name] = note ? { ...key, description: `${key.description} ${note}` } : key;
  }
  return keys as typeof PLATFORM_KEYS;
}

/** A `<layer>Stack` key: which stack of `project` this layer reads (LayerConfig.stackReference). */
export function stackReferenceKey(project: string, description: string): ConfigKey<string> {
  return {
    type: "string",
    description: `${description} As <org>/${project}/<stack>.`,
    default: computed(
      `<this stack's organization>/${project}/<this stack's name> (the organization is \`organization\` on a file or S3 backend)`,
    ),
  };
}

export function platformSettings(cfg: LayerConfig): PlatformSettings {
  const aws = new pulumi.Config("aws");
  return {
    environmentSuffix: environmentSuffix(cfg),
    tier: cfg.oneOf("tier", TIERS, PLATFORM_KEYS.tier.default.value),
    team: cfg.string("team", PLATFORM_KEYS.team.default.value),
    costCenter: cfg.string("costCenter", PLATFORM_KEYS.costCenter.default.value),
    region: aws.get("region") ?? process.env.AWS_REGION ?? "us-east-1",
  };
}

/** Picks the value for the tier: `byTier(tier, { dev: 7, prod: 30 })`. */
export function byTier<T>(tier: Tier, values: Record<Tier, T>): T {
  return values[tier];
}
