/**
 * Registry layer: one ECR repository per service, immutable tags, scanned on push, encrypted with
 * this layer's KMS key, and pruned by a lifecycle policy. It reads no other layer's outputs: the
 * service list comes from config, so it can be deployed (and images pushed) before compute exists.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  awsAccount,
  CONTRACT_VERSIONS,
  ECR_PUBLIC_REGISTRY,
  Exported,
  LayerConfig,
  platformKmsKey,
  platformSettings,
  RegistryContract,
  RepositoryContract,
  Scope,
} from "../shared";
import { ecrKeyPolicy } from "./kms";
import { lifecyclePolicy } from "./lifecycle";
import { registrySettings } from "./settings";

const cfg = new LayerConfig();
const settings = platformSettings(cfg);
const { services, keepImages, ecrPublicCache } = registrySettings(cfg);

const scope = Scope.forLayer(settings, "registry");
const names = scope.names;
const account = awsAccount(scope);

// One key for the layer's repositories, usable only through ECR: ECR creates a grant with the
// pushing (or pulling) principal's permissions on each call, which the ViaService statement allows.
const key = platformKmsKey(
  "ecr-key",
  {
    description: `Encrypts the ECR repositories of ${settings.environmentSuffix}`,
    aliasName: names.of("ecr"),
    policy: account.apply(ecrKeyPolicy),
  },
  scope.opts(),
);

const repositories: Record<string, pulumi.Output<RepositoryContract>> = {};
for (const svc of services) {
  const svcScope = scope.forService(svc);
  const repo = new aws.ecr.Repository(
    `${svc}-repo`,
    {
      name: names.repository(svc),
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: key.arn }],
      forceDelete: true,
    },
    svcScope.opts(),
  );
  new aws.ecr.LifecyclePolicy(
    `${svc}-lifecycle`,
    { repository: repo.name, policy: JSON.stringify(lifecyclePolicy(keepImages)) },
    svcScope.opts(),
  );
  repositories[svc] = pulumi.all([repo.name, repo.repositoryUrl, repo.arn]).apply(([name, url, arn]) => ({ name, url, arn, keepImages }));
}

// Mirrors ECR Public (the default nginx image, say) into this registry on first pull, so tasks in
// a VPC without NAT pull it through the ECR endpoints like any private image.
const cacheRule = ecrPublicCache
  ? new aws.ecr.PullThroughCacheRule(
      "ecr-public-cache",
      { ecrRepositoryPrefix: names.of("ecr-public"), upstreamRegistryUrl: ECR_PUBLIC_REGISTRY },
      scope.opts(),
    )
  : undefined;

const outputs: Exported<RegistryContract> = {
  contractVersion: CONTRACT_VERSIONS.registry,
  environmentSuffix: settings.environmentSuffix,
  repositories: pulumi.all(repositories),
  ecrPublicCache: cacheRule
    ? pulumi
        .all([account, cacheRule.ecrRepositoryPrefix])
        .apply(([a, prefix]) => ({ registry: `${a.accountId}.dkr.ecr.${a.region}.amazonaws.com`, prefix }))
    : null,
};

export = outputs;
