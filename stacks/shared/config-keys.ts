/**
 * One typed description of a layer's config keys: what each key is, and its one default. The
 * layer's settings module reads its defaults from it, and `npm run config-docs` writes the key
 * list in the layer's Pulumi.yaml from it, so the documented default cannot drift from the one the
 * program applies (test/config-docs.spec.ts fails on a stale Pulumi.yaml).
 */
import type { Tier } from "./config";

/**
 * The value type of a key. `array` is a list of strings. `number` and `map` are not types a
 * Pulumi.yaml `config:` declaration accepts; the documentation names them all the same.
 */
export type ConfigKeyType = "string" | "integer" | "number" | "boolean" | "array" | "map";

/** A default that is one value in every tier. */
export interface FixedDefault<T> {
  readonly value: T;
}
/** A default that depends on the tier (`tier: dev` or `prod`). */
export interface TierDefault<T> {
  readonly perTier: Readonly<Record<Tier, T>>;
}
/** A default the program works out at run time (from the stack name, another key, ...), as a phrase. */
export interface ComputedDefault {
  readonly computed: string;
}
export type KeyDefault<T = unknown> = FixedDefault<T> | TierDefault<T> | ComputedDefault;

export interface ConfigKey<T = unknown> {
  readonly type: ConfigKeyType;
  /** What the key does, in sentences; the default is appended from `default`. */
  readonly description: string;
  /** Bounds the program enforces for an integer or number key. */
  readonly range?: { readonly min: number; readonly max: number };
  /** Absent: unset unless the user sets it. */
  readonly default?: KeyDefault<T>;
}

/** A layer's keys, by name (the name after `<project>:`), in the order they are documented. */
export type ConfigKeys = Readonly<Record<string, ConfigKey>>;

export const fixed = <T>(value: T): FixedDefault<T> => ({ value });
export const tierDefault = <T>(values: Record<Tier, T>): TierDefault<T> => ({ perTier: values });
export const computed = (phrase: string): ComputedDefault => ({ computed: phrase });

/** A default value as the documentation shows it: lists in brackets, an empty list as "none". */
export function showValue(value: unknown): string {
  if (Array.isArray(value)) return value.length ? `[${value.map(showValue).join(", ")}]` : "none";
  if (value === undefined) return "unset";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** "Defaults to ..." for a key: its value, its value per tier, or the phrase for a computed default. */
export function defaultSentence(key: ConfigKey): string {
  const d = key.default;
  if (d === undefined) return "Defaults to unset.";
  if ("value" in d) return `Defaults to ${showValue(d.value)}.`;
  if ("perTier" in d) {
    const tiers = Object.keys(d.perTier) as Tier[];
    const shown = tiers.map((t) => showValue(d.perTier[t]));
    if (shown.every((s) => s === shown[0])) return `Defaults to ${shown[0]}.`;
    return `Defaults to ${tiers.map((t, i) => `${shown[i]} for ${t}`).join(", ")}.`;
  }
  return `Defaults to ${d.computed}.`;
}

/** The full documented description: the key's own text, its range, its default. */
export function documentedDescription(key: ConfigKey): string {
  const range = key.range ? ` From ${key.range.min} to ${key.range.max}.` : "";
  return `${key.description}${range} ${defaultSentence(key)}`;
}
