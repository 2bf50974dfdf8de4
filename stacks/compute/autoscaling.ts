/**
 * Service autoscaling: a scalable target between the catalog's min and max, tracking average CPU
 * and memory. Once created, the target (not the program) owns the service's desired count.
 */
import * as aws from "@pulumi/aws";
import { Scope, TierService } from "../shared";

export interface AutoscalingArgs {
  spec: TierService;
  clusterName: string;
  serviceName: string;
  service: aws.ecs.Service;
  cpuTargetPercent: number;
  memoryTargetPercent: number;
  scaleInCooldownSeconds: number;
  scaleOutCooldownSeconds: number;
}

/** The Application Auto Scaling id of an ECS service. */
export function scalableTargetResourceId(clusterName: string, serviceName: string): string {
  return `service/${clusterName}/${serviceName}`;
}

export function autoscaling(scope: Scope, args: AutoscalingArgs): { target: aws.appautoscaling.Target; resourceId: string } {
  const svc = args.spec.name;
  const resourceId = scalableTargetResourceId(args.clusterName, args.serviceName);
  const target = new aws.appautoscaling.Target(
    `${svc}-scaling-target`,
    {
      serviceNamespace: "ecs",
      scalableDimension: "ecs:service:DesiredCount",
      resourceId,
      minCapacity: args.spec.minCapacity,
      maxCapacity: args.spec.maxCapacity,
    },
    scope.opts({ dependsOn: [args.service] }),
  );
  const policy = (metric: "cpu" | "memory", predefined: string, targetValue: number) =>
    new aws.appautoscaling.Policy(
      `${svc}-${metric}-scaling`,
      {
        name: scope.names.of(`${metric}-target`, svc),
        policyType: "TargetTrackingScaling",
        serviceNamespace: target.serviceNamespace,
        scalableDimension: target.scalableDimension,
        resourceId: target.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          predefinedMetricSpecification: { predefinedMetricType: predefined },
          targetValue,
          scaleInCooldown: args.scaleInCooldownSeconds,
          scaleOutCooldown: args.scaleOutCooldownSeconds,
        },
      },
      scope.opts(),
    );
  policy("cpu", "ECSServiceAverageCPUUtilization", args.cpuTargetPercent);
  policy("memory", "ECSServiceAverageMemoryUtilization", args.memoryTargetPercent);
  return { target, resourceId };
}
