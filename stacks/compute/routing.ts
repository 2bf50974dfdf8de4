/**
 * Load-balancer routing of a public service: its target group(s) and listener rules on the
 * network layer's listeners.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Scope, TierService } from "../shared";
import { pathPatterns } from "./rule-order";

export interface RoutingArgs {
  spec: TierService;
  vpcId: pulumi.Input<string>;
  /** The HTTPS listener when the network has a certificate, else the HTTP one. */
  productionListenerArn: pulumi.Input<string>;
  /** The listener blue/green sends test traffic to. */
  testListenerArn: pulumi.Input<string>;
  /** Unique per listener; derived from the catalog (listenerRulePriorities). */
  priority: number;
  blueGreen: boolean;
}

export interface Routing {
  /** Serves production traffic at creation (blue); the contract's target group. */
  primary: aws.lb.TargetGroup;
  /** The green target group of a blue/green service. */
  alternate?: aws.lb.TargetGroup;
  productionRule: aws.lb.ListenerRule;
  testRule?: aws.lb.ListenerRule;
}

function targetGroup(scope: Scope, logical: string, type: string, args: RoutingArgs): aws.lb.TargetGroup {
  const { spec } = args;
  const hc = spec.healthCheck;
  return new aws.lb.TargetGroup(
    logical,
    {
      name: scope.names.of(type, spec.name, 32),
      port: spec.port,
      protocol: "HTTP",
      targetType: "ip",
      vpcId: args.vpcId,
      // Tasks drain in 30 s instead of the default 300 s, so deployments finish sooner.
      deregistrationDelay: 30,
      healthCheck: {
        enabled: true,
        path: spec.healthCheckPath,
        port: "traffic-port",
        protocol: "HTTP",
        matcher: hc.matcher,
        interval: hc.intervalSeconds,
        timeout: hc.timeoutSeconds,
        healthyThreshold: hc.healthyThreshold,
        unhealthyThreshold: hc.unhealthyThreshold,
      },
    },
    scope.opts(),
  );
}

function rule(
  scope: Scope,
  logical: string,
  listenerArn: pulumi.Input<string>,
  args: RoutingArgs,
  primary: aws.lb.TargetGroup,
  alternate: aws.lb.TargetGroup | undefined,
): aws.lb.ListenerRule {
  const conditions = [{ pathPattern: { values: pathPatterns(args.spec) } }];
  if (!alternate) {
    return new aws.lb.ListenerRule(
      logical,
      { listenerArn, priority: args.priority, conditions, actions: [{ type: "forward", targetGroupArn: primary.arn }] },
      scope.opts(),
    );
  }
  return new aws.lb.ListenerRule(
    logical,
    {
      listenerArn,
      priority: args.priority,
      conditions,
      actions: [
        {
          type: "forward",
          forward: {
            targetGroups: [
              { arn: primary.arn, weight: 100 },
              { arn: alternate.arn, weight: 0 },
            ],
          },
        },
      ],
    },
    // ECS moves the weights between the two target groups on every blue/green deployment; the
    // program must not move them back.
    scope.opts({ ignoreChanges: ["actions"] }),
  );
}

export function routing(scope: Scope, args: RoutingArgs): Routing {
  const svc = args.spec.name;
  const primary = targetGroup(scope, `${svc}-tg`, "tg", args);
  if (!args.blueGreen) {
    return { primary, productionRule: rule(scope, `${svc}-rule`, args.productionListenerArn, args, primary, undefined) };
  }
  const alternate = targetGroup(scope, `${svc}-tg-alt`, "tg-alt", args);
  return {
    primary,
    alternate,
    productionRule: rule(scope, `${svc}-rule`, args.productionListenerArn, args, primary, alternate),
    testRule: rule(scope, `${svc}-test-rule`, args.testListenerArn, args, primary, alternate),
  };
}
