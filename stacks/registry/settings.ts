/**
 * The registry layer's config, read and checked in one place; REGISTRY_KEYS holds each key's one
 * default, and Pulumi.yaml documents the keys from it (`npm run config-docs`).
 */
import { ConfigKey, DEFAULT_SERVICE_NAMES, fixed, LayerConfig, platformKeys, SERVICE_NAME_PATTERN } from "../shared";

export const REGISTRY_KEYS = {
  ...platformKeys(),
  services: {
    type: "array",
    description:
      "Service names, one repository each (`{service}-{environmentSuffix}`); lowercase letters, digits and hyphens, " +
      "2-32 characters, starting with a letter.",
    default: fixed<readonly string[]>(DEFAULT_SERVICE_NAMES),
  },
  keepImages: {
    type: "integer",
    description: "Images each repository keeps (the newest N, tagged or not).",
    range: { min: 1, max: 1000 },
    default: fixed(10),
  },
  ecrPublicCache: {
    type: "boolean",
    description:
      "A pull-through cache rule for ECR Public under the prefix ecr-public-{environmentSuffix}, so images such as " +
      "public.ecr.aws/nginx/nginx are pulled through this registry (and its VPC endpoints); compute uses it when the " +
      "network has no NAT.",
    default: fixed(true),
  },
} as const satisfies Record<string, ConfigKey>;

export interface RegistrySettings {
  services: string[];
  keepImages: number;
  ecrPublicCache: boolean;
}

export function registrySettings(cfg: LayerConfig): RegistrySettings {
  const K = REGISTRY_KEYS;
  return {
    services: cfg.stringList("services", K.services.default.value, (svc) =>
      SERVICE_NAME_PATTERN.test(svc)
        ? undefined
        : `service name ${JSON.stringify(svc)} must be 2-32 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen (${SERVICE_NAME_PATTERN})`,
    ),
    keepImages: cfg.int("keepImages", K.keepImages),
    ecrPublicCache: cfg.bool("ecrPublicCache", K.ecrPublicCache.default.value),
  };
}
