/**
 * Compute layer: the ECS cluster and every service of the catalog on Fargate, with their roles,
 * configuration, routing, service discovery and autoscaling, plus the optimizer's IAM policy.
 * Reads the network and registry layers; exports the compute contract the optimizer and the
 * observability layer read.
 *
 *   settings.ts          config keys, defaults and validation (the catalog: stacks/shared/catalog/)
 *   cluster.ts           cluster, capacity providers, Cloud Map namespace
 *   kms.ts               the platform key (logs, parameters, secrets)
 *   security.ts          per-service security groups derived from the catalog's allowedFrom
 *   service.ts           one service: logs, configuration, roles, task definition, ECS service
 *   routing.ts           target groups and listener rules of public services
 *   rule-order.ts        the listener rules' path patterns and priorities, from the catalog
 *   capacity.ts          on-demand / Spot capacity-provider strategies
 *   autoscaling.ts       scalable target and target-tracking policies
 *   iam.ts               policy documents (execution, task, trust, infrastructure role)
 *   optimizer-policy.ts  the optimizer's managed policy, from optimizer/ecs_optimizer/apply/iam_actions.json
 */
import * as pulumi from "@pulumi/pulumi";
import {
  AwsAccount,
  awsAccount,
  cachedRepositoryName,
  ComputeContract,
  ComputeServiceContract,
  CONTRACT_VERSIONS,
  ConfigError,
  Exported,
  forTier,
  imageWithoutNat,
  LayerConfig,
  LayerReference,
  missingEndpoints,
  NetworkContract,
  platformSettings,
  RegistryContract,
  Scope,
  TierService,
} from "../shared";
import { cluster as createCluster } from "./cluster";
import { listenerRulePriorities } from "./rule-order";
import { infrastructureRole } from "./iam";
import { platformKey } from "./kms";
import { checkOptimizerActions, loadOptimizerActions, optimizerManagedPolicy, OptimizerTargets } from "./optimizer-policy";
import { securityGroups } from "./security";
import { CachedImage, deployService, DeployedService } from "./service";
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
 * Without NAT (the network exports no NAT gateway) tasks reach AWS only through VPC endpoints and
 * pull only from ECR. Fails the preview, naming what is missing, unless the network has every
 * endpoint the catalog's services need; then maps each ECR Public image to the registry's
 * pull-through cache. Undefined when the network has NAT.
 */
async function imagesWithoutNat(specs: TierService[]): Promise<Record<string, CachedImage> | undefined> {
  if ((await network.value("natGatewayCount")) > 0) return undefined;
  const endpoints = Object.keys(await network.value("vpcEndpoints"));
  const missing = missingEndpoints(specs, endpoints);
  if (missing.length) {
    throw new ConfigError(
      "network:natStrategy",
      "none",
      `without NAT, tasks reach AWS only through VPC endpoints, but the network stack ${settings.networkStack} lacks ${missing.join(", ")}; ` +
        `add ${missing.length === 1 ? "it" : "them"} to network:interfaceEndpoints / network:gatewayEndpoints or choose natStrategy single or perAz`,
    );
  }
  const cache = await registry.value("ecrPublicCache");
  const out: Record<string, CachedImage> = {};
  for (const spec of specs.filter((s) => s.imageTag === null)) {
    const image = imageWithoutNat(spec.image, cache);
    if (image === undefined) {
      throw new ConfigError(
        cfg.key(`services.${spec.name}.image`),
        spec.image,
        `the network has no NAT, so tasks pull only from ECR: push the image to the service's repository and set imageTag, ` +
          `or use an ECR Public image with registry:ecrPublicCache on`,
      );
    }
    if (cache && image !== spec.image) out[spec.name] = { image, repositoryName: cachedRepositoryName(image, cache.registry) };
  }
  return out;
}

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
  const specs = Object.keys(catalog).map((svc) => forTier(catalog[svc], platform.tier));
  const images = await imagesWithoutNat(specs);
  const deployed: Record<string, DeployedService> = {};
  for (const spec of specs) {
    const svc = spec.name;
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
      cachedImage: images?.[svc],
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
