/**
 * The tag keys and layer names, with no Pulumi imports, so the policy pack can load them without
 * the AWS SDK.
 */

/** The cost-allocation tag set every taggable resource carries. */
export const REQUIRED_TAGS = ["Environment", "Service", "Team", "CostCenter", "Layer", "ManagedBy"] as const;

export const LAYERS = ["network", "registry", "compute", "observability"] as const;
export type LayerName = (typeof LAYERS)[number];

/** The cluster tag that carries the tier: the optimizer reads the sizing profile from it, the policy pack tells prod by it. */
export const CLUSTER_TIER_TAG = "Tier";
