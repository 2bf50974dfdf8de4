/**
 * The network layer's config, read and validated in one place before any resource is declared,
 * so a bad value fails `pulumi preview` with one line naming the key, the value and what is allowed.
 */
import {
  byTier,
  computed,
  ConfigError,
  ConfigKey,
  fixed,
  LayerConfig,
  missingEndpoints,
  NO_NAT_BASE_ENDPOINTS,
  tierDefault,
  platformKeys,
  PlatformSettings,
} from "../shared";
import { formatCidr, isNetworkAddress, networkOf, parseCidr } from "./cidr";
import { GATEWAY_ENDPOINT_SERVICES, INTERFACE_ENDPOINT_SERVICES } from "./endpoints";
import { NAT_STRATEGIES, NatStrategy } from "./vpc";

/** A VPC may be at most a /16 (AWS); below a /22 the carved subnets would be smaller than /26. */
export const VPC_PREFIX_RANGE = { min: 16, max: 22 } as const;

/** Test traffic may come from networks no broader than this prefix: never the internet. */
export const TEST_LISTENER_MIN_PREFIX = 8;

export const DEFAULT_INTERFACE_ENDPOINTS = ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"] as const;
export const DEFAULT_GATEWAY_ENDPOINTS = ["s3"] as const;

const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;

export interface NetworkSettings {
  vpcCidr: string;
  azCount: number;
  natStrategy: NatStrategy;
  interfaceEndpoints: string[];
  gatewayEndpoints: string[];
  ingressCidrs: string[];
  certificateArn?: string;
  testListenerPort: number;
  testListenerCidrs: string[];
  flowLogRetentionDays: number;
  /** Prod without a certificate, accepted on purpose (`allowPlainHttp: true`); warned about at preview. */
  allowPlainHttp: boolean;
  /** ALB access logs to the layer's S3 bucket, kept this many days; undefined when off. */
  accessLogRetentionDays?: number;
  /** The WAF web ACL in front of the ALB; undefined when off. */
  waf?: { rateLimit: number };
}

/** Requests one client IP may send in any 5-minute window before the WAF blocks it (AWS's window). */
export const DEFAULT_WAF_RATE_LIMIT = 2000;
/** AWS's bounds for a rate-based rule's limit. */
export const WAF_RATE_LIMIT_RANGE = { min: 10, max: 2_000_000_000 } as const;

/** Days the VPC flow logs are kept, by tier (not a config key: the tier selects it). */
export const FLOW_LOG_RETENTION_DAYS = { dev: 7, prod: 30 } as const;

/** The network layer's config keys, each with its one default (Pulumi.yaml documents them from here). */
export const NETWORK_KEYS = {
  ...platformKeys({
    tier: `Selects the NAT strategy and flow-log retention (${byTier("dev", FLOW_LOG_RETENTION_DAYS)} days for dev, ${byTier("prod", FLOW_LOG_RETENTION_DAYS)} for prod).`,
  }),
  vpcCidr: {
    type: "string",
    description:
      `The VPC's IPv4 CIDR, a network address from /${VPC_PREFIX_RANGE.min} to /${VPC_PREFIX_RANGE.max}. It is cut into 16 equal blocks: ` +
      "public subnets take blocks 0-2, private subnets blocks 8-10 (one each per zone).",
    default: fixed("10.0.0.0/16"),
  },
  azCount: { type: "integer", description: "Availability zones to spread over.", range: { min: 2, max: 3 }, default: fixed(3) },
  natStrategy: {
    type: "string",
    description:
      "none (private subnets reach AWS only through the VPC endpoints; requires " +
      `${NO_NAT_BASE_ENDPOINTS.join(", ")}, and the compute layer also requires ssm and secretsmanager when its services have ` +
      "settings or secrets), single (one NAT gateway, about $32.85 a month) or perAz (one per zone).",
    default: tierDefault<NatStrategy>({ dev: "single", prod: "perAz" }),
  },
  interfaceEndpoints: {
    type: "array",
    description:
      "Interface VPC endpoints (short service names) placed in the private subnets with private DNS, about $0.01 per " +
      `zone-hour each. Allowed: ${INTERFACE_ENDPOINT_SERVICES.join(", ")}.`,
    default: fixed<readonly string[]>(DEFAULT_INTERFACE_ENDPOINTS),
  },
  gatewayEndpoints: {
    type: "array",
    description: `Gateway VPC endpoints (free) on the private route tables. Allowed: ${GATEWAY_ENDPOINT_SERVICES.join(", ")}.`,
    default: fixed<readonly string[]>(DEFAULT_GATEWAY_ENDPOINTS),
  },
  ingressCidrs: {
    type: "array",
    description: "CIDRs allowed to reach the ALB on 80 and 443.",
    default: fixed<readonly string[]>(["0.0.0.0/0"]),
  },
  certificateArn: {
    type: "string",
    description:
      "ACM certificate for the HTTPS listener and the blue/green test listener. When set, HTTP only redirects to HTTPS. " +
      "When unset, there is no HTTPS listener and HTTP serves traffic: allowed in dev; the prod tier refuses to preview " +
      "without it unless allowPlainHttp is true.",
  },
  testListenerPort: {
    type: "integer",
    description: "Port of the blue/green test listener (not 80 or 443).",
    range: { min: 1, max: 65535 },
    default: fixed(8080),
  },
  testListenerCidrs: {
    type: "array",
    description:
      `CIDRs allowed to reach the test listener, none broader than /${TEST_LISTENER_MIN_PREFIX} (never the internet). The NAT ` +
      "gateways' addresses are always admitted too, since that is how the VPC's own traffic reaches an internet-facing ALB.",
    default: computed("[the VPC CIDR]"),
  },
  allowPlainHttp: {
    type: "boolean",
    description:
      "Accept a prod ALB without certificateArn, serving plain HTTP (the preview prints a warning, and the listeners carry " +
      "the tag PolicyWaiver:alb-https-only for the policy pack).",
    default: fixed(false),
  },
  accessLogs: {
    type: "boolean",
    description:
      "ALB access logs to an S3 bucket of this layer (alb-logs-{account}-{suffix}: SSE-S3, public access blocked, TLS-only " +
      "policy, the region's log-delivery grant, forceDestroy).",
    default: tierDefault({ dev: false, prod: true }),
  },
  accessLogRetentionDays: {
    type: "integer",
    description: "Days S3 keeps each access-log object.",
    range: { min: 1, max: 3650 },
    default: tierDefault({ dev: 30, prod: 90 }),
  },
  waf: {
    type: "boolean",
    description:
      "A regional WAF web ACL on the ALB: a per-IP rate limit, then AWS managed rule groups (common rule set, known bad " +
      "inputs, IP reputation list).",
    default: tierDefault({ dev: false, prod: true }),
  },
  wafRateLimit: {
    type: "integer",
    description: "Requests one client IP may send in 5 minutes before the WAF blocks it.",
    range: WAF_RATE_LIMIT_RANGE,
    default: fixed(DEFAULT_WAF_RATE_LIMIT),
  },
} as const satisfies Record<string, ConfigKey>;

const K = NETWORK_KEYS;

function vpcCidr(cfg: LayerConfig): string {
  const value = cfg.cidr("vpcCidr", K.vpcCidr.default.value);
  const parsed = parseCidr(value);
  if (parsed.prefix < VPC_PREFIX_RANGE.min || parsed.prefix > VPC_PREFIX_RANGE.max) {
    throw new ConfigError(
      cfg.key("vpcCidr"),
      value,
      `expected a prefix from /${VPC_PREFIX_RANGE.min} to /${VPC_PREFIX_RANGE.max}: ` +
        `AWS allows at most a /${VPC_PREFIX_RANGE.min}, and the VPC is split into 16 subnets that must stay large enough for the ALB and tasks`,
    );
  }
  if (!isNetworkAddress(parsed)) {
    throw new ConfigError(cfg.key("vpcCidr"), value, `host bits are set; expected the network address ${formatCidr(networkOf(parsed))}`);
  }
  return value;
}

function noDuplicates(cfg: LayerConfig, key: string, list: string[]): string[] {
  const dup = list.find((c, i) => list.indexOf(c) !== i);
  if (dup !== undefined) throw new ConfigError(cfg.key(key), list, `${dup} is listed twice; list each CIDR once`);
  return list;
}

function endpointCheck(other: { key: string; services: readonly string[] }, allowed: readonly string[]) {
  return (name: string): string | undefined => {
    if (allowed.includes(name)) return undefined;
    const hint = other.services.includes(name) ? ` (${name} belongs in ${other.key})` : "";
    return `${JSON.stringify(name)} is not supported${hint}; allowed values are ${allowed.join(", ")}`;
  };
}

export function networkSettings(cfg: LayerConfig, platform: PlatformSettings): NetworkSettings {
  const cidr = vpcCidr(cfg);
  const azCount = cfg.int("azCount", K.azCount);
  const natStrategy = cfg.oneOf("natStrategy", NAT_STRATEGIES, byTier(platform.tier, K.natStrategy.default.perTier));

  const interfaceEndpoints = cfg.stringList(
    "interfaceEndpoints",
    K.interfaceEndpoints.default.value,
    endpointCheck({ key: cfg.key("gatewayEndpoints"), services: GATEWAY_ENDPOINT_SERVICES }, INTERFACE_ENDPOINT_SERVICES),
  );
  const gatewayEndpoints = cfg.stringList(
    "gatewayEndpoints",
    K.gatewayEndpoints.default.value,
    endpointCheck({ key: cfg.key("interfaceEndpoints"), services: INTERFACE_ENDPOINT_SERVICES }, GATEWAY_ENDPOINT_SERVICES),
  );
  if (natStrategy === "none") {
    // What every task needs (no services named); the compute layer checks the rest against its catalog.
    const missing = missingEndpoints([], [...interfaceEndpoints, ...gatewayEndpoints]);
    if (missing.length) {
      throw new ConfigError(
        cfg.key("natStrategy"),
        natStrategy,
        `without NAT, tasks reach ECR, S3 and CloudWatch Logs only through endpoints, but ${missing.join(", ")} ` +
          `${missing.length === 1 ? "is" : "are"} missing from ${cfg.key("interfaceEndpoints")} / ${cfg.key("gatewayEndpoints")}; ` +
          `add ${missing.length === 1 ? "it" : "them"} or choose natStrategy single or perAz`,
      );
    }
  }

  const ingressCidrs = noDuplicates(cfg, "ingressCidrs", cfg.cidrList("ingressCidrs", K.ingressCidrs.default.value));
  if (ingressCidrs.length === 0) throw new ConfigError(cfg.key("ingressCidrs"), ingressCidrs, "expected at least one CIDR");

  const certificateArn = cfg.string("certificateArn");
  if (certificateArn !== undefined && !ACM_CERTIFICATE_ARN.test(certificateArn)) {
    throw new ConfigError(
      cfg.key("certificateArn"),
      certificateArn,
      "expected an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
    );
  }

  const testListenerPort = cfg.int("testListenerPort", K.testListenerPort);
  if (testListenerPort === 80 || testListenerPort === 443) {
    throw new ConfigError(
      cfg.key("testListenerPort"),
      testListenerPort,
      "expected a port other than 80 and 443, which serve production traffic",
    );
  }
  const testListenerCidrs = noDuplicates(cfg, "testListenerCidrs", cfg.cidrList("testListenerCidrs", [cidr]));
  const open = testListenerCidrs.filter((c) => parseCidr(c).prefix < TEST_LISTENER_MIN_PREFIX);
  if (open.length) {
    throw new ConfigError(
      cfg.key("testListenerCidrs"),
      testListenerCidrs,
      `the test listener must never be reachable from the internet, but ${open.join(", ")} ${open.length === 1 ? "is" : "are"} ` +
        `broader than /${TEST_LISTENER_MIN_PREFIX}; expected internal or office CIDRs (default: the VPC CIDR ${cidr})`,
    );
  }
  if (testListenerCidrs.length === 0) throw new ConfigError(cfg.key("testListenerCidrs"), testListenerCidrs, "expected at least one CIDR");

  const allowPlainHttp = cfg.bool("allowPlainHttp", K.allowPlainHttp.default.value);
  if (platform.tier === "prod" && certificateArn === undefined && !allowPlainHttp) {
    throw new ConfigError(
      cfg.key("certificateArn"),
      "(unset)",
      `the prod tier serves production traffic only over HTTPS: set ${cfg.key("certificateArn")} to an ACM certificate, ` +
        `or set ${cfg.key("allowPlainHttp")} to true to accept plain HTTP`,
    );
  }

  const accessLogs = cfg.bool("accessLogs", byTier(platform.tier, K.accessLogs.default.perTier));
  const accessLogRetentionDays = cfg.int(
    "accessLogRetentionDays",
    byTier(platform.tier, K.accessLogRetentionDays.default.perTier),
    K.accessLogRetentionDays.range,
  );
  const waf = cfg.bool("waf", byTier(platform.tier, K.waf.default.perTier));
  const wafRateLimit = cfg.int("wafRateLimit", K.wafRateLimit);

  return {
    vpcCidr: cidr,
    azCount,
    natStrategy,
    interfaceEndpoints,
    gatewayEndpoints,
    ingressCidrs,
    certificateArn,
    testListenerPort,
    testListenerCidrs,
    flowLogRetentionDays: byTier(platform.tier, FLOW_LOG_RETENTION_DAYS),
    allowPlainHttp,
    accessLogRetentionDays: accessLogs ? accessLogRetentionDays : undefined,
    waf: waf ? { rateLimit: wafRateLimit } : undefined,
  };
}
