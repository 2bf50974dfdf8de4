/**
 * Resources the policy pack must reject (`bad-*`) and accept (`good-*`), as components with AWS
 * type tokens: the engine hands them to CrossGuard like real resources, with no provider needed.
 */
import * as pulumi from "@pulumi/pulumi";

class Planned extends pulumi.ComponentResource {
  constructor(type: string, name: string, props: Record<string, unknown>) {
    super(type, name, props);
    this.registerOutputs(props);
  }
}

const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Admin", Effect: "Allow", Action: "kms:*", Resource: "*" }] });
new Planned("aws:kms/key:Key", "bad-key", { enableKeyRotation: false });
new Planned("aws:kms/key:Key", "good-key", { enableKeyRotation: true, policy });

new Planned("aws:lb/listener:Listener", "bad-listener", { port: 80, protocol: "HTTP", defaultActions: [{ type: "fixed-response" }] });
new Planned("aws:lb/listener:Listener", "good-listener", {
  port: 80,
  protocol: "HTTP",
  defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
});

const albArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/good-alb/1";
new Planned("aws:lb/loadBalancer:LoadBalancer", "bad-alb", { accessLogs: { enabled: false } });
new Planned("aws:lb/loadBalancer:LoadBalancer", "good-alb", { arn: albArn, accessLogs: { enabled: true, bucket: "alb-logs-dev" } });
new Planned("aws:wafv2/webAclAssociation:WebAclAssociation", "good-alb-waf", { resourceArn: albArn });
