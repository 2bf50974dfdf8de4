/**
 * VPC endpoints, so the tasks' calls to AWS (image pulls, logs, secrets) stay inside the VPC
 * instead of paying NAT processing per GB. An interface endpoint costs about $0.01 per AZ-hour
 * (docs/pricing.md); the S3 and DynamoDB gateway endpoints are free.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Names } from "../shared";

/** Interface endpoint services a Fargate platform plausibly needs; `pulumi config` picks from these. */
export const INTERFACE_ENDPOINT_SERVICES = [
  "ecr.api",
  "ecr.dkr",
  "logs",
  "secretsmanager",
  "ssm",
  "ssmmessages",
  "ec2messages",
  "kms",
  "sts",
  "monitoring",
  "ecs",
  "ecs-agent",
  "ecs-telemetry",
  "sqs",
  "sns",
  "events",
  "xray",
  "elasticloadbalancing",
  "application-autoscaling",
] as const;

/** Services with (free) gateway endpoints: routes in the private route tables, no ENIs. */
export const GATEWAY_ENDPOINT_SERVICES = ["s3", "dynamodb"] as const;

export const HTTPS_PORT = 443;

export interface VpcEndpointsArgs {
  vpcId: pulumi.Input<string>;
  vpcCidr: string;
  region: string;
  /** Short service names (`ecr.api`), from INTERFACE_ENDPOINT_SERVICES. */
  interfaceEndpoints: readonly string[];
  /** Short service names (`s3`), from GATEWAY_ENDPOINT_SERVICES. */
  gatewayEndpoints: readonly string[];
  /** Interface endpoints place one ENI in each of these. */
  privateSubnetIds: pulumi.Input<string>[];
  /** Gateway endpoints add a route to each of these. */
  privateRouteTableIds: pulumi.Input<string>[];
  names: Names;
}

export class VpcEndpoints extends pulumi.ComponentResource {
  /** Short service name -> endpoint. */
  readonly endpoints: Record<string, aws.ec2.VpcEndpoint> = {};
  /** Present when there is at least one interface endpoint. */
  readonly securityGroup?: aws.ec2.SecurityGroup;

  constructor(name: string, args: VpcEndpointsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:network:VpcEndpoints", name, {}, opts);
    const { names } = args;
    const child = { parent: this };
    const logical = (service: string) => `vpce-${service.replace(/\./g, "-")}`;

    if (args.interfaceEndpoints.length > 0) {
      const sg = new aws.ec2.SecurityGroup(
        "vpce-sg",
        { name: names.of("vpce-sg"), description: "HTTPS from inside the VPC to the interface endpoints", vpcId: args.vpcId },
        child,
      );
      // Inbound HTTPS from the VPC only; no egress rules, since the endpoints only answer requests.
      new aws.vpc.SecurityGroupIngressRule(
        "vpce-https-from-vpc",
        {
          securityGroupId: sg.id,
          description: "HTTPS from the VPC",
          ipProtocol: "tcp",
          fromPort: HTTPS_PORT,
          toPort: HTTPS_PORT,
          cidrIpv4: args.vpcCidr,
        },
        child,
      );
      this.securityGroup = sg;

      for (const service of args.interfaceEndpoints) {
        this.endpoints[service] = new aws.ec2.VpcEndpoint(
          logical(service),
          {
            vpcId: args.vpcId,
            serviceName: `com.amazonaws.${args.region}.${service}`,
            vpcEndpointType: "Interface",
            // Private DNS makes the SDKs' default endpoint names resolve to the ENIs: no app changes.
            privateDnsEnabled: true,
            subnetIds: args.privateSubnetIds,
            securityGroupIds: [sg.id],
            tags: { Name: names.of("vpce", service.replace(/\./g, "-")) },
          },
          child,
        );
      }
    }

    for (const service of args.gatewayEndpoints) {
      this.endpoints[service] = new aws.ec2.VpcEndpoint(
        logical(service),
        {
          vpcId: args.vpcId,
          serviceName: `com.amazonaws.${args.region}.${service}`,
          vpcEndpointType: "Gateway",
          routeTableIds: args.privateRouteTableIds,
          tags: { Name: names.of("vpce", service) },
        },
        child,
      );
    }

    this.registerOutputs({});
  }

  /** Short service name -> endpoint id, as the network contract exports it. */
  ids(): pulumi.Output<Record<string, string>> {
    return pulumi.all(Object.fromEntries(Object.entries(this.endpoints).map(([service, e]) => [service, e.id])));
  }
}
