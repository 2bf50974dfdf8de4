/**
 * Compute layer: the ECS cluster and every service of the catalog on Fargate, with their roles,
 * configuration, routing, service discovery and autoscaling, plus the optimizer's IAM policy.
 * Reads the network and registry layers; exports the compute contract the optimizer and the
 * observability layer read.
 *
 *   settings.ts          config keys, defaults and validation (the catalog: stacks/shared/catalog.ts)
 *   cluster.ts           cluster, capacity providers, Cloud Map namespace
 *   kms.ts               the platform key (logs, parameters, secrets)
 *   security.ts          per-service security groups derived from the catalog's allowedFrom
 *   service.ts           one service: logs, configuration, roles, task definition, ECS service
 *   routing.ts           target groups and listener rules of public services
 *   capacity.ts          on-demand / Spot capacity-provider strategies
 *   autoscaling.ts       scalable target and target-tracking policies
 *   iam.ts               policy documents (execution, task, trust, infrastructure role)
 *   optimizer-policy.ts  the optimizer's managed policy, from optimizer/ecs_optimizer/iam_actions.json
 */
import * as pulumi from "@pulumi/pulumi";
import {
  AwsAccount,
  awsAccount,
  ComputeContract,
  ComputeServiceContract,
  CONTRACT_VERSIONS,
  ConfigError,
  Exported,
  forTier,
  LayerConfig,
  LayerReference,
  listenerRulePriorities,
  NetworkContract,
  platformSettings,
  RegistryContract,
  Scope,
} from "../shared";
import { cluster as createCluster } from "./cluster";
import { infrastructureRole } from "./iam";
import { platformKey } from "./kms";
import { checkOptimizerActions, loadOptimizerActions, optimizerManagedPolicy, OptimizerTargets } from "./optimizer-policy";
import { securityGroups } from "./security";
import { deployService, DeployedService } from "./service";
import { computeSettings } from "./settings";

const cfg = new LayerConfig();
const platform = platformSettings(cfg);
const settings = computeSettings(cfg, platform.tier);
const catalog = settings.catalog;
// Read and checked before anything is declared: an optimizer call this layer cannot scope fails
// the preview instead of going ungranted.
const optimizerActions = loadOptimizerActions();
checkOptimizerActions(optimizerActions);

const scope = Scope.forLayer(platform, "compute");

const network = new LayerReference<NetworkContract>("network", settings.networkStack);
const registry = new LayerReference<RegistryContract>("registry", settings.registryStack);

const env: pulumi.Output<AwsAccount> = awsAccount(scope);

const vpcId = network.get("vpcId");
const ecs = createCluster(scope, vpcId);
const key = platformKey(scope, env);

const serviceScopes = Object.fromEntries(Object.keys(catalog).map((svc) => [svc, scope.forService(svc)]));
const groups = securityGroups({ catalog, scopes: serviceScopes, vpcId, albSecurityGroupId: network.get("albSecurityGroupId") });

const blueGreenOf = (svc: string): boolean => catalog[svc].path !== null && (catalog[svc].blueGreen ?? settings.blueGreen);
const infra = Object.keys(catalog).some(blueGreenOf) ? infrastructureRole(scope, env) : undefined;

// The HTTPS listener serves traffic when the network has a certificate; otherwise HTTP does.
const productionListener = pulumi
  .all([network.get("httpsListenerArn"), network.get("httpListenerArn")])
  .apply(([https, http]) => https ?? http);
const priorities = listenerRulePriorities(catalog);

/**
 * Which services get which repository is a plain value (it decides what is declared and fails the
 * preview when a service has none), so it is awaited from the registry stack rather than read as an
 * Output; stack-reference outputs come from upstream state at preview and update alike.
 */
async function deployServices(): Promise<{
  services: Record<string, pulumi.Output<ComputeServiceContract>>;
  optimizerPolicyArn: pulumi.Output<string>;
}> {
  const repositories = await registry.value("repositories");
  const missing = Object.keys(catalog).filter((svc) => !repositories[svc]);
  if (missing.length) {
    throw new ConfigError(
      cfg.key("services"),
      missing,
      `the registry stack ${settings.registryStack} has no repository for ${missing.join(", ")}; add them to registry:services and update the registry first`,
    );
  }
  const deployed: Record<string, DeployedService> = {};
  for (const svc of Object.keys(catalog)) {
    const spec = forTier(catalog[svc], platform.tier);
    deployed[svc] = deployService(serviceScopes[svc], {
      spec,
      settings,
      env,
      cluster: ecs,
      key,
      securityGroup: groups[svc],
      vpcId,
      privateSubnetIds: network.get("privateSubnetIds"),
      repository: repositories[svc],
      listeners:
        spec.path === null
          ? undefined
          : { production: productionListener, test: network.get("testListenerArn"), priority: priorities[svc] },
      blueGreen: blueGreenOf(svc),
      infrastructureRole: infra ? { arn: infra.role.arn, ready: infra.attachment } : undefined,
    });
  }

  const targets: pulumi.Output<OptimizerTargets> = pulumi
    .all([
      env,
      ecs.cluster.arn,
      network.get("flowLogGroupName"),
      pulumi.all(
        Object.values(deployed).map((d) =>
          pulumi
            .all([d.serviceArn, d.scalableTargetArn, d.taskRoleArn, d.executionRoleArn])
            .apply(([serviceArn, scalableTargetArn, taskRoleArn, executionRoleArn]) => ({
              serviceArn,
              taskDefinitionFamily: d.family,
              scalableTargetArn,
              repositoryArn: d.repositoryArn,
              taskRoleArn,
              executionRoleArn,
            })),
        ),
      ),
    ])
    .apply(([e, clusterArn, flowLogGroupName, services]) => ({
      env: e,
      suffix: platform.environmentSuffix,
      clusterName: ecs.name,
      clusterArn,
      flowLogGroupName,
      services,
    }));
  const policy = optimizerManagedPolicy(scope, optimizerActions, targets);

  return {
    services: Object.fromEntries(Object.entries(deployed).map(([svc, d]) => [svc, d.contract])),
    optimizerPolicyArn: policy.arn,
  };
}

const deployment = pulumi.output(deployServices());

const outputs: Exported<ComputeContract> = {
  contractVersion: CONTRACT_VERSIONS.compute,
  environmentSuffix: platform.environmentSuffix,
  tier: platform.tier,
  region: platform.region,
  clusterName: ecs.name,
  clusterArn: ecs.cluster.arn,
  services: deployment.apply((d) => d.services),
  optimizerPolicyArn: deployment.apply((d) => d.optimizerPolicyArn),
};

export = outputs;
