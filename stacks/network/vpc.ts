/**
 * The VPC, its subnets, gateways and route tables, declared resource by resource.
 *
 * Why not @pulumi/awsx's `ec2.Vpc`: awsx components are opaque under Pulumi's mock engine (their
 * children, such as subnets, NAT gateways and routes, are never created there), so the offline
 * plan and the policy checks could not see what the network deploys. Declaring the resources
 * directly keeps every one of them visible, tested and tagged.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Names } from "../shared";
import { formatCidr, parseCidr, subnetCidr } from "./cidr";

export const NAT_STRATEGIES = ["none", "single", "perAz"] as const;
export type NatStrategy = (typeof NAT_STRATEGIES)[number];

/** The VPC is cut into 2^4 = 16 equal blocks: public subnets take the first, private the second half. */
const SUBNET_NEW_BITS = 4;
const PRIVATE_BLOCK_OFFSET = 2 ** SUBNET_NEW_BITS / 2;

/** Subnet CIDRs for AZ `index`: a pure function, so changing azCount leaves existing subnets alone. */
export function subnetCidrs(vpcCidr: string, index: number): { public: string; private: string } {
  const vpc = parseCidr(vpcCidr);
  return {
    public: formatCidr(subnetCidr(vpc, SUBNET_NEW_BITS, index)),
    private: formatCidr(subnetCidr(vpc, SUBNET_NEW_BITS, PRIVATE_BLOCK_OFFSET + index)),
  };
}

/** How many NAT gateways a strategy deploys over `azCount` zones. */
export function natGatewayCount(strategy: NatStrategy, azCount: number): number {
  return { none: 0, single: 1, perAz: azCount }[strategy];
}

export interface NetworkVpcArgs {
  /** The VPC's IPv4 CIDR; validated by the layer's settings (a /16 to /22 network address). */
  cidrBlock: string;
  /** Zone names to spread over, in order; the first `azCount` are used. */
  availabilityZones: pulumi.Input<string[]>;
  /** Zones to use (2 or 3). */
  azCount: number;
  /**
   * `none`: private subnets reach AWS only through VPC endpoints; `single`: one NAT gateway in the
   * first zone (a zone outage cuts the others' internet egress); `perAz`: one per zone.
   */
  natStrategy: NatStrategy;
  names: Names;
}

export class NetworkVpc extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly publicSubnets: aws.ec2.Subnet[] = [];
  readonly privateSubnets: aws.ec2.Subnet[] = [];
  readonly publicRouteTable: aws.ec2.RouteTable;
  /** One per zone, whatever the NAT strategy (see below). */
  readonly privateRouteTables: aws.ec2.RouteTable[] = [];
  readonly natGateways: aws.ec2.NatGateway[] = [];
  /** The NAT gateways' public addresses: how the VPC's own traffic appears to the internet-facing ALB. */
  readonly natEips: aws.ec2.Eip[] = [];

  constructor(name: string, args: NetworkVpcArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:network:Vpc", name, {}, opts);
    const { names } = args;
    const child = { parent: this };

    this.vpc = new aws.ec2.Vpc(
      "vpc",
      {
        cidrBlock: args.cidrBlock,
        // Both are required for the interface endpoints' private DNS names to resolve.
        enableDnsSupport: true,
        enableDnsHostnames: true,
        tags: { Name: names.of("vpc") },
      },
      child,
    );

    // The default security group lets its members talk to each other; nothing here uses it, so it
    // is stripped of all rules rather than left as an accidental path.
    new aws.ec2.DefaultSecurityGroup("default-sg", { vpcId: this.vpc.id, tags: { Name: names.of("default-sg") } }, child);

    // The internet gateway is always created: AWS does not charge for it, and the ALB needs it.
    const igw = new aws.ec2.InternetGateway("igw", { vpcId: this.vpc.id, tags: { Name: names.of("igw") } }, child);

    this.publicRouteTable = new aws.ec2.RouteTable("public-rt", { vpcId: this.vpc.id, tags: { Name: names.of("public-rt") } }, child);
    new aws.ec2.Route(
      "public-default-route",
      { routeTableId: this.publicRouteTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
      child,
    );

    const zones = pulumi.output(args.availabilityZones);
    for (let i = 0; i < args.azCount; i++) {
      const n = i + 1;
      const cidrs = subnetCidrs(args.cidrBlock, i);
      const az = zones.apply((z) => z[i]);
      const pub = new aws.ec2.Subnet(
        `public-subnet-${n}`,
        {
          vpcId: this.vpc.id,
          cidrBlock: cidrs.public,
          availabilityZone: az,
          // Only the ALB and NAT gateways live here, and they get their addresses explicitly;
          // anything else launched here should not silently get a (billed) public IPv4.
          mapPublicIpOnLaunch: false,
          tags: { Name: names.of(`public-subnet-${n}`), Tier: "public" },
        },
        child,
      );
      new aws.ec2.RouteTableAssociation(`public-rta-${n}`, { subnetId: pub.id, routeTableId: this.publicRouteTable.id }, child);
      this.publicSubnets.push(pub);

      const priv = new aws.ec2.Subnet(
        `private-subnet-${n}`,
        {
          vpcId: this.vpc.id,
          cidrBlock: cidrs.private,
          availabilityZone: az,
          mapPublicIpOnLaunch: false,
          tags: { Name: names.of(`private-subnet-${n}`), Tier: "private" },
        },
        child,
      );
      // One private route table per zone even when the zones share one NAT gateway (or none):
      // route tables are free, and switching natStrategy then only edits routes instead of
      // re-associating every private subnet and re-attaching the gateway endpoints.
      const rt = new aws.ec2.RouteTable(`private-rt-${n}`, { vpcId: this.vpc.id, tags: { Name: names.of(`private-rt-${n}`) } }, child);
      new aws.ec2.RouteTableAssociation(`private-rta-${n}`, { subnetId: priv.id, routeTableId: rt.id }, child);
      this.privateSubnets.push(priv);
      this.privateRouteTables.push(rt);
    }

    for (let i = 0; i < natGatewayCount(args.natStrategy, args.azCount); i++) {
      const n = i + 1;
      const eip = new aws.ec2.Eip(`nat-eip-${n}`, { domain: "vpc", tags: { Name: names.of(`nat-eip-${n}`) } }, child);
      this.natEips.push(eip);
      this.natGateways.push(
        new aws.ec2.NatGateway(
          `nat-${n}`,
          { allocationId: eip.id, subnetId: this.publicSubnets[i].id, connectivityType: "public", tags: { Name: names.of(`nat-${n}`) } },
          // A NAT gateway passes traffic only once the VPC has an attached internet gateway.
          { parent: this, dependsOn: [igw] },
        ),
      );
    }

    // With `none` the private route tables keep only the local route (and the gateway endpoints'
    // prefix-list routes): tasks reach AWS through the endpoints and nothing else.
    if (this.natGateways.length > 0) {
      this.privateRouteTables.forEach((rt, i) => {
        const nat = this.natGateways[Math.min(i, this.natGateways.length - 1)];
        new aws.ec2.Route(
          `private-default-route-${i + 1}`,
          { routeTableId: rt.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
          child,
        );
      });
    }

    this.registerOutputs({ vpcId: this.vpc.id });
  }
}
