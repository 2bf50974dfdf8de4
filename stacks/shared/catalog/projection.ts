/** What the compute layer deploys for one service in one tier, and who a service may call. */
import { Tier } from "../config";
import { ComputeServiceContract } from "../contracts";
import { ServiceCatalog, ServiceSpec } from "./schema";

/** Services this one may call: those whose `allowedFrom` names it. */
export function calleesOf(catalog: ServiceCatalog, service: string): ServiceSpec[] {
  return Object.values(catalog).filter((s) => s.allowedFrom.includes(service));
}

/** A service's values for one tier: what the compute layer deploys and exports. */
export interface TierService
  extends
    Omit<ServiceSpec, "sizes" | "desiredCount" | "minCapacity" | "maxCapacity" | "rightsizedFrom">,
    Pick<ComputeServiceContract, "cpu" | "memory" | "baselineCpu" | "baselineMemory" | "desiredCount" | "minCapacity" | "maxCapacity"> {}

export function forTier(spec: ServiceSpec, tier: Tier): TierService {
  const { sizes, desiredCount, minCapacity, maxCapacity, rightsizedFrom, ...rest } = spec;
  const baseline = rightsizedFrom[tier] ?? sizes[tier];
  return {
    ...rest,
    cpu: sizes[tier].cpu,
    memory: sizes[tier].memory,
    baselineCpu: baseline.cpu,
    baselineMemory: baseline.memory,
    desiredCount: desiredCount[tier],
    minCapacity: minCapacity[tier],
    maxCapacity: maxCapacity[tier],
  };
}
