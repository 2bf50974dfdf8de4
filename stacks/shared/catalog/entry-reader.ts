/**
 * Reading one catalog entry's values: the patterns values must match, and a reader that names
 * `compute:services.<service>.<field>` in every rejection (a ConfigError: key, value, what is allowed).
 */
import { TIERS } from "../config";
import { ConfigError } from "../errors";
import { fargateSizeError } from "../fargate";
import { perTier } from "./defaults";
import { PerTier, TaskSize } from "./schema";

/** Setting and secret names become environment variable names and SSM/Secrets Manager paths. */
export const SETTING_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Characters an ALB path-pattern condition accepts. */
export const PATH_PATTERN = /^\/[A-Za-z0-9_\-.$/~"'@:+*?&]{0,127}$/;
export const IAM_ACTION = /^[a-z0-9-]+:[A-Za-z0-9]+$/;
export const MATCHER = /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/;
/** A Secrets Manager secret's full ARN, or its name (the characters Secrets Manager allows). */
export const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
export const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
export const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
export const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$/;
/** Secrets Manager's bounds for automatic rotation, in days. */
export const ROTATION_DAYS_RANGE = { min: 1, max: 1000 } as const;

export type Path = Array<string | number>;

export class EntryReader {
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

  /** A string matching `pattern`, or null (the field's way of saying "none"). */
  stringOrNull(path: Path, v: unknown, pattern: RegExp, allowed: string): string | null {
    return v === null ? null : this.string(path, v, pattern, allowed);
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

/**
 * One task size `{cpu, memory}` (over `base`, when a tier's default is merged): whole numbers in
 * Fargate's bounds that make a valid Fargate pair. The one reader of every size a catalog holds.
 */
export function readTaskSize(r: EntryReader, path: Path, raw: unknown, base: Partial<TaskSize> = {}): TaskSize {
  const size = r.object(path, raw);
  r.knownKeys(path, size, ["cpu", "memory"]);
  const merged = { ...base, ...size } as Record<string, unknown>;
  const cpu = r.int([...path, "cpu"], merged.cpu, 256, 16384);
  const memory = r.int([...path, "memory"], merged.memory, 512, 122880);
  const why = fargateSizeError(cpu, memory);
  if (why) r.fail(path, { cpu, memory }, why);
  return { cpu, memory };
}

/**
 * A per-tier map of task sizes; unlisted tiers keep the default. `sizes` merges a tier over its
 * default size; `rightsizedFrom` has no default to merge over, and a tier may be null (never
 * rightsized).
 */
export function readTierSizes<T extends TaskSize | null>(
  r: EntryReader,
  field: "sizes" | "rightsizedFrom",
  v: unknown,
  def: PerTier<T>,
): PerTier<T> {
  const map = r.object([field], v);
  r.knownKeys([field], map, TIERS);
  const out = { ...def };
  for (const tier of TIERS) {
    const raw = map[tier];
    if (raw === undefined) continue;
    if (raw === null && field === "rightsizedFrom") out[tier] = null as T;
    else out[tier] = readTaskSize(r, [field, tier], raw, field === "sizes" ? (def[tier] ?? {}) : {}) as T;
  }
  return out;
}
