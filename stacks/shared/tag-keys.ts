/**
 * The tag keys and layer names, with no Pulumi imports, so the policy pack can load them without
 * the AWS SDK.
 */

/** The cost-allocation tag set every taggable resource carries. */
export const REQUIRED_TAGS = ["Environment", "Service", "Team", "CostCenter", "Layer", "ManagedBy"] as const;

export const LAYERS = ["network", "registry", "compute", "observability"] as const;
export type LayerName = (typeof LAYERS)[number];
