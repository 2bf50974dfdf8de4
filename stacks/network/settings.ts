/**
 * The network layer's config, read and validated in one place before any resource is declared,
 * so a bad value fails `pulumi preview` with one line naming the key, the value and what is allowed.
 */
import { byTier, ConfigError, LayerConfig, NO_NAT_BASE_ENDPOINTS, PlatformSettings } from "../shared";
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

function vpcCidr(cfg: LayerConfig): string {
  const value = cfg.cidr("vpcCidr", "10.0.0.0/16");
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
  const azCount = cfg.int("azCount", 3, { min: 2, max: 3 });
  const natStrategy = cfg.oneOf("natStrategy", NAT_STRATEGIES, byTier<NatStrategy>(platform.tier, { dev: "single", prod: "perAz" }));

  const interfaceEndpoints = cfg.stringList(
    "interfaceEndpoints",
    DEFAULT_INTERFACE_ENDPOINTS,
    endpointCheck({ key: cfg.key("gatewayEndpoints"), services: GATEWAY_ENDPOINT_SERVICES }, INTERFACE_ENDPOINT_SERVICES),
  );
  const gatewayEndpoints = cfg.stringList(
    "gatewayEndpoints",
    DEFAULT_GATEWAY_ENDPOINTS,
    endpointCheck({ key: cfg.key("interfaceEndpoints"), services: INTERFACE_ENDPOINT_SERVICES }, GATEWAY_ENDPOINT_SERVICES),
  );
  if (natStrategy === "none") {
    // What every task needs; the compute layer adds ssm and secretsmanager when its services read them.
    const missing = NO_NAT_BASE_ENDPOINTS.filter((e) => !interfaceEndpoints.includes(e) && !gatewayEndpoints.includes(e));
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

  const ingressCidrs = noDuplicates(cfg, "ingressCidrs", cfg.cidrList("ingressCidrs", ["0.0.0.0/0"]));
  if (ingressCidrs.length === 0) throw new ConfigError(cfg.key("ingressCidrs"), ingressCidrs, "expected at least one CIDR");

  const certificateArn = cfg.string("certificateArn");
  if (certificateArn !== undefined && !ACM_CERTIFICATE_ARN.test(certificateArn)) {
    throw new ConfigError(
      cfg.key("certificateArn"),
      certificateArn,
      "expected an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
    );
  }

  const testListenerPort = cfg.int("testListenerPort", 8080, { min: 1, max: 65535 });
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

  const allowPlainHttp = cfg.bool("allowPlainHttp", false);
  if (platform.tier === "prod" && certificateArn === undefined && !allowPlainHttp) {
    throw new ConfigError(
      cfg.key("certificateArn"),
      "(unset)",
      `the prod tier serves production traffic only over HTTPS: set ${cfg.key("certificateArn")} to an ACM certificate, ` +
        `or set ${cfg.key("allowPlainHttp")} to true to accept plain HTTP`,
    );
  }

  const accessLogs = cfg.bool("accessLogs", byTier(platform.tier, { dev: false, prod: true }));
  const accessLogRetentionDays = cfg.int("accessLogRetentionDays", byTier(platform.tier, { dev: 30, prod: 90 }), { min: 1, max: 3650 });
  const waf = cfg.bool("waf", byTier(platform.tier, { dev: false, prod: true }));
  const wafRateLimit = cfg.int("wafRateLimit", DEFAULT_WAF_RATE_LIMIT, WAF_RATE_LIMIT_RANGE);

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
    flowLogRetentionDays: byTier(platform.tier, { dev: 7, prod: 30 }),
    allowPlainHttp,
    accessLogRetentionDays: accessLogs ? accessLogRetentionDays : undefined,
    waf: waf ? { rateLimit: wafRateLimit } : undefined,
  };
}
