/**
 * What tasks in private subnets need when there is no NAT gateway (`natStrategy: none`): every
 * AWS call goes through a VPC endpoint, and every image through ECR. The network layer checks the
 * endpoints every task needs; the compute layer, which knows the catalog, checks the rest.
 */

/** Every Fargate task: pull the image (ECR API, ECR registry, S3 for the layers) and ship its logs. */
export const NO_NAT_BASE_ENDPOINTS = ["ecr.api", "ecr.dkr", "logs", "s3"] as const;
/** ECS reads a service's settings (SSM parameters) at task start. */
export const SETTINGS_ENDPOINT = "ssm";
/** ECS reads a service's secrets (Secrets Manager) at task start. */
export const SECRETS_ENDPOINT = "secretsmanager";

/** The registry ECR Public images are pulled from; a pull-through cache rule can mirror it. */
export const ECR_PUBLIC_REGISTRY = "public.ecr.aws";

export interface NoNatNeeds {
  name: string;
  environment: Record<string, string>;
  secrets: readonly string[];
  /** Secrets that exist already (read through the same endpoint). */
  existingSecrets?: Record<string, unknown>;
}

/** Endpoint -> the services that need it (an empty list: every task does). */
export function endpointsNeeded(services: readonly NoNatNeeds[]): Map<string, string[]> {
  const need = new Map<string, string[]>(NO_NAT_BASE_ENDPOINTS.map((e) => [e, []]));
  const withSettings = services.filter((s) => Object.keys(s.environment).length > 0).map((s) => s.name);
  const withSecrets = services.filter((s) => s.secrets.length + Object.keys(s.existingSecrets ?? {}).length > 0).map((s) => s.name);
  if (withSettings.length) need.set(SETTINGS_ENDPOINT, withSettings);
  if (withSecrets.length) need.set(SECRETS_ENDPOINT, withSecrets);
  return need;
}

/** What the services that need an endpoint beyond the base ones read through it. */
const READ_THROUGH: Readonly<Record<string, string>> = { [SETTINGS_ENDPOINT]: "settings", [SECRETS_ENDPOINT]: "secrets" };

/** One line per missing endpoint: `ssm (settings of frontend, api-gateway)`; empty when complete. */
export function missingEndpoints(services: readonly NoNatNeeds[], configured: readonly string[]): string[] {
  return [...endpointsNeeded(services)]
    .filter(([endpoint]) => !configured.includes(endpoint))
    .map(([endpoint, users]) => (users.length ? `${endpoint} (${READ_THROUGH[endpoint]} of ${users.join(", ")})` : endpoint));
}

/**
 * The image a task pulls without NAT: ECR images as they are; ECR Public images through the
 * registry's pull-through cache (`<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<path>`).
 * Undefined when the image cannot be pulled without internet access.
 */
export function imageWithoutNat(image: string, cache: { registry: string; prefix: string } | null): string | undefined {
  if (/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//.test(image)) return image;
  if (cache && image.startsWith(`${ECR_PUBLIC_REGISTRY}/`))
    return `${cache.registry}/${cache.prefix}/${image.slice(ECR_PUBLIC_REGISTRY.length + 1)}`;
  return undefined;
}

/** The cached repository an image path maps to (`ecr-public/nginx/nginx` for `.../ecr-public/nginx/nginx:stable`). */
export function cachedRepositoryName(cachedImage: string, registry: string): string {
  return cachedImage.slice(registry.length + 1).replace(/[:@].*$/, "");
}
