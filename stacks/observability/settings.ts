/**
 * The observability layer's own config: alert recipients and alarm thresholds. Which services are
 * watched is not configured here; it comes from the compute stack (see index.ts).
 */
import { computed, ConfigError, ConfigKey, fixed, LayerConfig, platformKeys, SERVICE_NAME_PATTERN, stackReferenceKey } from "../shared";

/** Per-service threshold overrides, keyed as in `thresholds: {svc: {cpuHigh: 90}}`. */
export interface ThresholdOverrides {
  /** CPUUtilization percent. Defaults to `cpuHighThreshold`. */
  cpuHigh?: number;
  /** MemoryUtilization percent. Defaults to `memoryHighThreshold`. */
  memoryHigh?: number;
  /** Target 5xx responses per minute. Defaults to `http5xxThreshold`. */
  http5xx?: number;
}

/** The thresholds one service's alarms use, after defaults and overrides. */
export type ServiceThresholds = Required<ThresholdOverrides>;

export interface ObservabilitySettings {
  /** Addresses subscribed to the alert topic (none: subscribe a pager by hand). */
  alertEmails: string[];
  /** Layer-wide defaults; `thresholds` overrides them per service. */
  defaults: ServiceThresholds;
  overrides: Record<string, ThresholdOverrides>;
  /** Spot interruptions within 5 minutes that raise the Spot alarm. */
  spotInterruptionThreshold: number;
  /** Requests the WAF blocks within 5 minutes that raise the WAF alarm. */
  wafBlockedThreshold: number;
}

const PERCENT = { min: 1, max: 100 };
const PER_MINUTE = { min: 1, max: 100_000 };

/**
 * What each override key accepts; also the list of keys allowed. Percentages may be fractional:
 * CloudWatch thresholds are doubles, and the optimizer retunes them to a tenth of a percent and
 * records the result here (its config write-back), so a whole-number rule would make the next
 * `pulumi up` fail or round the alarm away from the live one. 5xx thresholds count responses.
 */
const OVERRIDE_RANGES: Record<keyof ThresholdOverrides, { min: number; max: number; whole: boolean }> = {
  cpuHigh: { ...PERCENT, whole: false },
  memoryHigh: { ...PERCENT, whole: false },
  http5xx: { ...PER_MINUTE, whole: true },
};

/** The alarm kinds whose threshold a service may override (`thresholds: {svc: {<kind>: value}}`). */
export const THRESHOLD_OVERRIDE_KINDS = Object.keys(OVERRIDE_RANGES) as (keyof ThresholdOverrides)[];

const SPOT_INTERRUPTIONS = { min: 1, max: 10_000 };
const WAF_BLOCKED = { min: 1, max: 10_000_000 };

/** The observability layer's config keys, each with its one default (Pulumi.yaml documents them from here). */
export const OBSERVABILITY_KEYS = {
  ...platformKeys({ environmentSuffix: "Must equal the compute stack's." }),
  networkStack: stackReferenceKey("network", "Stack read for albArnSuffix (target-group metric dimensions) and the WAF's web ACL name."),
  computeStack: stackReferenceKey(
    "compute",
    "Stack read for the cluster, its services (names, minCapacity, target groups) and region. Its region must equal " +
      "aws:region and its environmentSuffix this stack's.",
  ),
  alertEmails: {
    type: "array",
    description: "Email addresses subscribed to the alert topic `alerts-{suffix}`; each must confirm the subscription by mail.",
    default: fixed<readonly string[]>([]),
  },
  cpuHighThreshold: {
    type: "integer",
    description: "Average CPUUtilization percent above which `cpu-high-{service}-{suffix}` fires.",
    range: PERCENT,
    default: fixed(80),
  },
  memoryHighThreshold: {
    type: "integer",
    description: "Average MemoryUtilization percent above which `memory-high-{service}-{suffix}` fires.",
    range: PERCENT,
    default: fixed(80),
  },
  http5xxThreshold: {
    type: "integer",
    description: "Target 5xx responses per minute above which `http-5xx-{service}-{suffix}` fires (public services only).",
    range: PER_MINUTE,
    default: fixed(10),
  },
  spotInterruptionThreshold: {
    type: "integer",
    description:
      "Fargate Spot task interruptions within 5 minutes at which `spot-interruptions-{suffix}` fires; raise it for large " +
      "Spot fleets where single interruptions are routine.",
    range: SPOT_INTERRUPTIONS,
    default: fixed(1),
  },
  wafBlockedThreshold: {
    type: "integer",
    description:
      "Requests the network's WAF blocks within 5 minutes that raise the alarm waf-blocked-{suffix}. Only used when the " +
      "network stack has a WAF (its wafWebAclName).",
    range: WAF_BLOCKED,
    default: fixed(100),
  },
  thresholds: {
    type: "map",
    description:
      "Per-service overrides, service -> {cpuHigh, memoryHigh, http5xx}, e.g. `api-gateway: {cpuHigh: 70, memoryHigh: " +
      `85, http5xx: 25}\`. cpuHigh and memoryHigh are percent, ${PERCENT.min}-${PERCENT.max}, fractions such as 66.7 ` +
      `allowed; http5xx is 5xx responses per minute, a whole number ${PER_MINUTE.min}-${PER_MINUTE.max}. Each field ` +
      "defaults to the layer-wide threshold above. A service the compute stack does not run is an error (a typo would " +
      "otherwise leave the intended service on defaults unnoticed).",
    default: computed("none (every service uses the layer-wide thresholds)"),
  },
} as const satisfies Record<string, ConfigKey>;

/**
 * Practical address check (RFC 5321 lengths, one `@`, a dotted domain, no spaces). SNS confirms
 * the address by mail, so this only catches typos that would otherwise sit unconfirmed forever.
 */
const EMAIL_PATTERN =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function emailProblem(address: string): string | undefined {
  if (!EMAIL_PATTERN.test(address) || address.includes("..")) {
    return `${JSON.stringify(address)} is not an email address (expected name@example.com)`;
  }
  return undefined;
}

function parseOverrides(cfg: LayerConfig): Record<string, ThresholdOverrides> {
  const key = cfg.key("thresholds");
  const raw = cfg.json<unknown>("thresholds") ?? {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(key, raw, "expected a map of service name -> {cpuHigh, memoryHigh, http5xx}");
  }
  const out: Record<string, ThresholdOverrides> = {};
  for (const [service, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (!SERVICE_NAME_PATTERN.test(service)) {
      throw new ConfigError(key, raw, `${JSON.stringify(service)} is not a service name (${SERVICE_NAME_PATTERN})`);
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new ConfigError(`${key}.${service}`, entry, "expected a map with any of cpuHigh, memoryHigh, http5xx");
    }
    const parsed: ThresholdOverrides = {};
    for (const [field, value] of Object.entries(entry as Record<string, unknown>)) {
      const range = OVERRIDE_RANGES[field as keyof ThresholdOverrides];
      if (!range) {
        throw new ConfigError(
          `${key}.${service}`,
          entry,
          `unknown key ${field}; allowed keys are ${Object.keys(OVERRIDE_RANGES).join(", ")}`,
        );
      }
      const wrongType = typeof value !== "number" || !Number.isFinite(value) || (range.whole && !Number.isInteger(value));
      if (wrongType || (value as number) < range.min || (value as number) > range.max) {
        const what = range.whole ? "a whole number" : "a number";
        throw new ConfigError(`${key}.${service}.${field}`, value, `expected ${what} from ${range.min} to ${range.max}`);
      }
      parsed[field as keyof ThresholdOverrides] = value as number;
    }
    out[service] = parsed;
  }
  return out;
}

export function observabilitySettings(cfg: LayerConfig): ObservabilitySettings {
  const K = OBSERVABILITY_KEYS;
  return {
    alertEmails: cfg.stringList("alertEmails", K.alertEmails.default.value, emailProblem),
    defaults: {
      cpuHigh: cfg.int("cpuHighThreshold", K.cpuHighThreshold),
      memoryHigh: cfg.int("memoryHighThreshold", K.memoryHighThreshold),
      http5xx: cfg.int("http5xxThreshold", K.http5xxThreshold),
    },
    overrides: parseOverrides(cfg),
    spotInterruptionThreshold: cfg.int("spotInterruptionThreshold", K.spotInterruptionThreshold),
    wafBlockedThreshold: cfg.int("wafBlockedThreshold", K.wafBlockedThreshold),
  };
}

/**
 * The thresholds for each watched service. An override for a service the compute stack does not
 * run is an error rather than ignored: it is almost always a typo, and ignoring it would leave the
 * intended service on defaults without anyone noticing.
 */
export function thresholdsFor(
  cfg: LayerConfig,
  settings: ObservabilitySettings,
  services: readonly string[],
): Record<string, ServiceThresholds> {
  for (const name of Object.keys(settings.overrides)) {
    if (!services.includes(name)) {
      throw new ConfigError(
        cfg.key("thresholds"),
        settings.overrides,
        `${JSON.stringify(name)} is not a service of the compute stack (services: ${services.join(", ")})`,
      );
    }
  }
  return Object.fromEntries(services.map((s) => [s, { ...settings.defaults, ...settings.overrides[s] }]));
}
