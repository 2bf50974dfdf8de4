/**
 * Network layer: the VPC over 2-3 zones (public and private subnets, internet and NAT gateways,
 * route tables), VPC endpoints so AWS traffic skips NAT, flow logs, and the public ALB with its
 * listeners. Every other layer builds on its exports (NetworkContract in stacks/shared).
 *
 *   settings.ts   config keys, defaults and validation
 *   vpc.ts        VPC, subnets, gateways, route tables
 *   endpoints.ts  interface and gateway VPC endpoints
 *   flow-logs.ts  flow logs, their KMS key, log group and role
 *   alb.ts        ALB, its security group and listeners
 *   access-logs.ts the S3 bucket for the ALB's access logs
 *   waf.ts        the WAF web ACL in front of the ALB
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsAccount, CONTRACT_VERSIONS, ConfigError, Exported, LayerConfig, NetworkContract, platformSettings, Scope } from "../shared";
import { AccessLogBucket, ACCESS_LOG_PREFIX } from "./access-logs";
import { PublicLoadBalancer } from "./alb";
import { VpcEndpoints } from "./endpoints";
import { FlowLogs } from "./flow-logs";
import { networkSettings } from "./settings";
import { NetworkVpc } from "./vpc";
import { LoadBalancerWaf } from "./waf";

const cfg = new LayerConfig();
const platform = platformSettings(cfg);
const settings = networkSettings(cfg, platform);

const scope = Scope.forLayer(platform, "network");
const names = scope.names;
const invokeOpts = { provider: scope.provider };

// Standard zones only: Local and Wavelength Zones are opt-in and lack most services.
const zones = aws
  .getAvailabilityZonesOutput({ state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] }, invokeOpts)
  .names.apply((all) => {
    if (all.length < settings.azCount) {
      throw new ConfigError(cfg.key("azCount"), settings.azCount, `region ${platform.region} has only ${all.length} availability zones`);
    }
    return all.slice(0, settings.azCount);
  });
const account = awsAccount(scope);

const network = new NetworkVpc(
  "network",
  { cidrBlock: settings.vpcCidr, availabilityZones: zones, azCount: settings.azCount, natStrategy: settings.natStrategy, names },
  scope.opts(),
);

const endpoints = new VpcEndpoints(
  "endpoints",
  {
    vpcId: network.vpc.id,
    vpcCidr: settings.vpcCidr,
    region: platform.region,
    interfaceEndpoints: settings.interfaceEndpoints,
    gatewayEndpoints: settings.gatewayEndpoints,
    privateSubnetIds: network.privateSubnets.map((s) => s.id),
    privateRouteTableIds: network.privateRouteTables.map((rt) => rt.id),
    names,
  },
  scope.opts(),
);

const flowLogs = new FlowLogs(
  "flow-logs",
  { vpcId: network.vpc.id, retentionInDays: settings.flowLogRetentionDays, account, names },
  scope.opts(),
);

if (settings.allowPlainHttp && !settings.certificateArn) {
  pulumi.log.warn(
    `${cfg.key("allowPlainHttp")} is true: the ${platform.tier} ALB serves production traffic over plain HTTP. Set ${cfg.key("certificateArn")} to serve HTTPS.`,
  );
}

const accessLogBucket =
  settings.accessLogRetentionDays !== undefined
    ? new AccessLogBucket("alb-access-logs", { account, retentionInDays: settings.accessLogRetentionDays, names }, scope.opts())
    : undefined;

const alb = new PublicLoadBalancer(
  "public-alb",
  {
    vpcId: network.vpc.id,
    vpcCidr: settings.vpcCidr,
    publicSubnetIds: network.publicSubnets.map((s) => s.id),
    ingressCidrs: settings.ingressCidrs,
    certificateArn: settings.certificateArn,
    plainHttpReason: settings.allowPlainHttp ? `${cfg.key("allowPlainHttp")} is true` : `no ${cfg.key("certificateArn")} in the dev tier`,
    accessLogs: accessLogBucket
      ? { bucket: accessLogBucket.bucket.bucket, prefix: ACCESS_LOG_PREFIX, dependsOn: [accessLogBucket.policy] }
      : undefined,
    accessLogsOffReason: `${cfg.key("accessLogs")} is false`,
    wafOffReason: settings.waf ? undefined : `${cfg.key("waf")} is false`,
    testListenerPort: settings.testListenerPort,
    testListenerCidrs: settings.testListenerCidrs,
    natPublicIps: network.natEips.map((e) => e.publicIp),
    names,
  },
  scope.opts(),
);

const waf = settings.waf
  ? new LoadBalancerWaf("alb-waf", { loadBalancerArn: alb.loadBalancer.arn, rateLimit: settings.waf.rateLimit, names }, scope.opts())
  : undefined;

const outputs: Exported<NetworkContract> = {
  contractVersion: CONTRACT_VERSIONS.network,
  environmentSuffix: platform.environmentSuffix,
  vpcId: network.vpc.id,
  vpcCidr: settings.vpcCidr,
  availabilityZones: zones,
  publicSubnetIds: pulumi.all(network.publicSubnets.map((s) => s.id)),
  privateSubnetIds: pulumi.all(network.privateSubnets.map((s) => s.id)),
  albArn: alb.loadBalancer.arn,
  albArnSuffix: alb.loadBalancer.arnSuffix,
  albDnsName: alb.loadBalancer.dnsName,
  albZoneId: alb.loadBalancer.zoneId,
  albSecurityGroupId: alb.securityGroup.id,
  httpListenerArn: alb.httpListener.arn,
  httpsListenerArn: alb.httpsListener ? alb.httpsListener.arn : null,
  testListenerArn: alb.testListener.arn,
  natGatewayCount: network.natGateways.length,
  vpcEndpoints: endpoints.ids(),
  flowLogGroupName: flowLogs.logGroup.name,
  albLogBucketName: accessLogBucket ? accessLogBucket.bucket.bucket : null,
  wafWebAclName: waf ? waf.metricName : null,
};

export = outputs;
