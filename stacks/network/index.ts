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
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsAccount, CONTRACT_VERSIONS, ConfigError, Exported, LayerConfig, NetworkContract, platformSettings, Scope } from "../shared";
import { PublicLoadBalancer } from "./alb";
import { VpcEndpoints } from "./endpoints";
import { FlowLogs } from "./flow-logs";
import { networkSettings } from "./settings";
import { NetworkVpc } from "./vpc";

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

const alb = new PublicLoadBalancer(
  "public-alb",
  {
    vpcId: network.vpc.id,
    vpcCidr: settings.vpcCidr,
    publicSubnetIds: network.publicSubnets.map((s) => s.id),
    ingressCidrs: settings.ingressCidrs,
    certificateArn: settings.certificateArn,
    testListenerPort: settings.testListenerPort,
    testListenerCidrs: settings.testListenerCidrs,
    natPublicIps: network.natEips.map((e) => e.publicIp),
    names,
  },
  scope.opts(),
);

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
};

export = outputs;
