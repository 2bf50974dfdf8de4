/**
 * One security group per service, with rules derived from the catalog: a public service accepts
 * its port from the ALB, and every service accepts its port from the services in its
 * `allowedFrom` (and each of those may send to it). Nothing else reaches a task.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { calleesOf, Scope, ServiceCatalog } from "../shared";

export interface SecurityArgs {
  catalog: ServiceCatalog;
  scopes: Record<string, Scope>;
  vpcId: pulumi.Input<string>;
  albSecurityGroupId: pulumi.Input<string>;
}

export function securityGroups(args: SecurityArgs): Record<string, aws.ec2.SecurityGroup> {
  const { catalog, scopes } = args;
  const groups: Record<string, aws.ec2.SecurityGroup> = {};
  for (const svc of Object.keys(catalog)) {
    const scope = scopes[svc];
    groups[svc] = new aws.ec2.SecurityGroup(
      `${svc}-sg`,
      {
        name: scope.names.of("sg", svc),
        description: `${scope.names.service(svc)} tasks`,
        vpcId: args.vpcId,
        // Rules are separate resources below; the provider removes AWS's default allow-all egress.
        revokeRulesOnDelete: true,
      },
      scope.opts(),
    );
  }

  for (const spec of Object.values(catalog)) {
    const svc = spec.name;
    const scope = scopes[svc];
    const port = { ipProtocol: "tcp", fromPort: spec.port, toPort: spec.port };
    if (spec.path !== null) {
      new aws.vpc.SecurityGroupIngressRule(
        `${svc}-from-alb`,
        { securityGroupId: groups[svc].id, referencedSecurityGroupId: args.albSecurityGroupId, description: "From the ALB", ...port },
        scope.opts(),
      );
    }
    for (const caller of spec.allowedFrom) {
      new aws.vpc.SecurityGroupIngressRule(
        `${svc}-from-${caller}`,
        { securityGroupId: groups[svc].id, referencedSecurityGroupId: groups[caller].id, description: `From ${caller}`, ...port },
        scope.opts(),
      );
    }
    for (const callee of calleesOf(catalog, svc)) {
      new aws.vpc.SecurityGroupEgressRule(
        `${svc}-to-${callee.name}`,
        {
          securityGroupId: groups[svc].id,
          referencedSecurityGroupId: groups[callee.name].id,
          description: `To ${callee.name}`,
          ipProtocol: "tcp",
          fromPort: callee.port,
          toPort: callee.port,
        },
        scope.opts(),
      );
    }
    // AWS APIs (ECR, Secrets Manager, SSM, Logs) through VPC endpoints or NAT, and public images.
    new aws.vpc.SecurityGroupEgressRule(
      `${svc}-to-https`,
      {
        securityGroupId: groups[svc].id,
        cidrIpv4: "0.0.0.0/0",
        description: "HTTPS to AWS APIs and registries",
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
      },
      scope.opts(),
    );
  }
  return groups;
}
