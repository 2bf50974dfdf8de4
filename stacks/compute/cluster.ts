/**
 * The cluster every service runs in, its capacity providers, and the private DNS namespace the
 * services find each other through.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CLUSTER_TIER_TAG, Scope } from "../shared";
import { ON_DEMAND, SPOT } from "./capacity";

export interface Cluster {
  name: string;
  cluster: aws.ecs.Cluster;
  capacityProviders: aws.ecs.ClusterCapacityProviders;
  namespace: aws.servicediscovery.PrivateDnsNamespace;
}

export { CLUSTER_TIER_TAG };

export function cluster(scope: Scope, vpcId: pulumi.Input<string>): Cluster {
  const name = scope.names.cluster();
  const cluster = new aws.ecs.Cluster(
    "cluster",
    {
      name,
      settings: [{ name: "containerInsights", value: "enabled" }],
      tags: { [CLUSTER_TIER_TAG]: scope.settings.tier },
    },
    scope.opts(),
  );
  const capacityProviders = new aws.ecs.ClusterCapacityProviders(
    "cluster-capacity-providers",
    {
      clusterName: cluster.name,
      capacityProviders: [ON_DEMAND, SPOT],
      // Services state their own strategy; anything launched without one runs on demand.
      defaultCapacityProviderStrategies: [{ capacityProvider: ON_DEMAND, base: 0, weight: 1 }],
    },
    scope.opts(),
  );
  const namespace = new aws.servicediscovery.PrivateDnsNamespace(
    "namespace",
    {
      name: `${scope.settings.environmentSuffix}.internal`,
      description: `Service discovery for the ${scope.settings.environmentSuffix} services`,
      vpc: vpcId,
    },
    scope.opts(),
  );
  return { name, cluster, capacityProviders, namespace };
}
