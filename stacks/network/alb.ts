/**
 * The internet-facing Application Load Balancer and its listeners. The listeners only answer 404
 * (or redirect to HTTPS) until the compute layer attaches one rule per service.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Names, waiverTag } from "../shared";

/** TLS 1.3 and 1.2 with only forward-secret AEAD ciphers; the console's default for new listeners. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06";

/** Seconds an idle client connection is kept: AWS's default, long enough for slow APIs. */
export const IDLE_TIMEOUT_SECONDS = 60;

const HTTP_PORT = 80;
const HTTPS_PORT = 443;

/** What a listener answers when no service rule matches. */
const NOT_FOUND: aws.types.input.lb.ListenerDefaultAction = {
  type: "fixed-response",
  fixedResponse: { contentType: "text/plain", messageBody: "Not Found", statusCode: "404" },
};

export interface PublicLoadBalancerArgs {
  vpcId: pulumi.Input<string>;
  /** Targets (tasks) live in the VPC, so the ALB may only send traffic there. */
  vpcCidr: string;
  /** One per zone; the ALB needs at least two zones. */
  publicSubnetIds: pulumi.Input<string>[];
  /** Who may reach 80/443. Defaults (in the layer's settings) to the internet. */
  ingressCidrs: readonly string[];
  /** ACM certificate; without it the HTTP listener serves traffic and there is no HTTPS listener. */
  certificateArn?: string;
  /** Why plain HTTP is accepted when there is no certificate (recorded on the listeners for the policy pack). */
  plainHttpReason: string;
  /** Where access logs go; undefined turns them off, for the reason given in `accessLogsOffReason`. */
  accessLogs?: { bucket: pulumi.Input<string>; prefix: string; dependsOn: pulumi.Resource[] };
  accessLogsOffReason: string;
  /** Set when no WAF web ACL will be associated: the reason, recorded on the ALB for the policy pack. */
  wafOffReason?: string;
  /** The blue/green test listener's port (8080 by default). */
  testListenerPort: number;
  /** Who may reach the test listener; never the internet (validated by the settings). */
  testListenerCidrs: readonly string[];
  /**
   * The NAT gateways' public IPs. Traffic from inside the VPC to an internet-facing ALB leaves
   * through NAT, so the ALB sees these addresses, not private ones; the test listener admits them.
   */
  natPublicIps: pulumi.Input<string>[];
  names: Names;
}

export class PublicLoadBalancer extends pulumi.ComponentResource {
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly loadBalancer: aws.lb.LoadBalancer;
  readonly httpListener: aws.lb.Listener;
  readonly httpsListener?: aws.lb.Listener;
  readonly testListener: aws.lb.Listener;

  constructor(name: string, args: PublicLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:network:PublicLoadBalancer", name, {}, opts);
    const { names } = args;
    const child = { parent: this };

    // The name keeps `alb` as its own segment: the ingress policy lets only this group open 80/443.
    this.securityGroup = new aws.ec2.SecurityGroup(
      "alb-sg",
      { name: names.of("alb-sg"), description: "Client traffic to the public ALB", vpcId: args.vpcId },
      child,
    );
    const sg = this.securityGroup.id;
    const ingress = (logical: string, port: number, cidr: pulumi.Input<string>, description: string) =>
      new aws.vpc.SecurityGroupIngressRule(
        logical,
        { securityGroupId: sg, description, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: cidr },
        child,
      );
    args.ingressCidrs.forEach((cidr, i) => {
      ingress(`alb-http-in-${i + 1}`, HTTP_PORT, cidr, `HTTP from ${cidr}`);
      ingress(`alb-https-in-${i + 1}`, HTTPS_PORT, cidr, `HTTPS from ${cidr}`);
    });
    args.testListenerCidrs.forEach((cidr, i) => {
      ingress(`alb-test-in-${i + 1}`, args.testListenerPort, cidr, `Blue/green test traffic from ${cidr}`);
    });
    args.natPublicIps.forEach((ip, i) => {
      ingress(
        `alb-test-in-nat-${i + 1}`,
        args.testListenerPort,
        pulumi.interpolate`${ip}/32`,
        "Blue/green test traffic from the VPC via NAT",
      );
    });
    new aws.vpc.SecurityGroupEgressRule(
      "alb-out-to-vpc",
      {
        securityGroupId: sg,
        description: "To targets and health checks in the VPC",
        ipProtocol: "tcp",
        fromPort: 0,
        toPort: 65535,
        cidrIpv4: args.vpcCidr,
      },
      child,
    );

    this.loadBalancer = new aws.lb.LoadBalancer(
      "alb",
      {
        name: names.of("alb", undefined, 32),
        loadBalancerType: "application",
        internal: false,
        ipAddressType: "ipv4",
        subnets: args.publicSubnetIds,
        securityGroups: [sg],
        // ALBs always balance across zones (AWS offers no switch); stated so the plan says so.
        enableCrossZoneLoadBalancing: true,
        enableDeletionProtection: false,
        dropInvalidHeaderFields: true,
        idleTimeout: IDLE_TIMEOUT_SECONDS,
        accessLogs: args.accessLogs ? { enabled: true, bucket: args.accessLogs.bucket, prefix: args.accessLogs.prefix } : undefined,
        tags: {
          ...(args.accessLogs ? {} : waiverTag("alb-access-logs", args.accessLogsOffReason)),
          ...(args.wafOffReason ? waiverTag("alb-waf", args.wafOffReason) : {}),
        },
      },
      // AWS checks that it may write to the bucket when logging is turned on.
      { parent: this, dependsOn: args.accessLogs?.dependsOn ?? [] },
    );
    const loadBalancerArn = this.loadBalancer.arn;

    const tls = args.certificateArn ? { protocol: "HTTPS", sslPolicy: TLS_POLICY, certificateArn: args.certificateArn } : undefined;
    // Without a certificate the listeners serve plain HTTP, which the policy pack accepts only
    // with the reason the config gave (dev tier, or prod with allowPlainHttp).
    const plainHttp = tls ? {} : { tags: waiverTag("alb-https-only", args.plainHttpReason) };
    if (tls) {
      this.httpsListener = new aws.lb.Listener(
        "https-listener",
        { loadBalancerArn, port: HTTPS_PORT, ...tls, defaultActions: [NOT_FOUND] },
        child,
      );
    }
    this.httpListener = new aws.lb.Listener(
      "http-listener",
      {
        loadBalancerArn,
        port: HTTP_PORT,
        protocol: "HTTP",
        defaultActions: [
          tls ? { type: "redirect", redirect: { protocol: "HTTPS", port: String(HTTPS_PORT), statusCode: "HTTP_301" } } : NOT_FOUND,
        ],
        ...plainHttp,
      },
      child,
    );
    // Blue/green deployments send the replacement task set's test traffic here before the switch.
    // With a certificate it is HTTPS with the same certificate and TLS policy as production.
    this.testListener = new aws.lb.Listener(
      "test-listener",
      { loadBalancerArn, port: args.testListenerPort, ...(tls ?? { protocol: "HTTP" }), defaultActions: [NOT_FOUND], ...plainHttp },
      child,
    );

    this.registerOutputs({ albArn: this.loadBalancer.arn });
  }
}
