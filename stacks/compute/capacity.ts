/**
 * Capacity-provider strategies. Critical services run on on-demand Fargate only; the rest run at
 * least `spotShare` of their tasks on Fargate Spot, above one on-demand task that keeps the service
 * answering while Spot capacity is reclaimed.
 */
import * as aws from "@pulumi/aws";

export const ON_DEMAND = "FARGATE";
export const SPOT = "FARGATE_SPOT";

/** The lowest Spot share a non-critical service may run with (the platform requirement). */
export const MIN_SPOT_SHARE = 0.7;

/** Largest weight total tried; ECS accepts weights up to 1000. */
const MAX_WEIGHT_TOTAL = 100;

/**
 * Integer weights whose Spot fraction is at least `share`, using the smallest total that states
 * the share exactly (0.7 -> 3:7, 0.75 -> 1:3, 1 -> 0:1); shares that need more precision than
 * 1/100 round the Spot weight up, so the fraction never falls below the share asked for.
 */
export function spotWeights(share: number): { onDemand: number; spot: number } {
  if (!(share >= 0 && share <= 1)) throw new Error(`Spot share ${share} is not a fraction between 0 and 1`);
  for (let total = 1; total <= MAX_WEIGHT_TOTAL; total++) {
    const spot = Math.round(share * total);
    if (Math.abs(spot / total - share) < 1e-9) return { onDemand: total - spot, spot };
  }
  const spot = Math.ceil(share * MAX_WEIGHT_TOTAL - 1e-9);
  return { onDemand: MAX_WEIGHT_TOTAL - spot, spot };
}

export function capacityProviderStrategy(critical: boolean, spotShare: number): aws.types.input.ecs.ServiceCapacityProviderStrategy[] {
  if (critical) return [{ capacityProvider: ON_DEMAND, base: 0, weight: 1 }];
  const { onDemand, spot } = spotWeights(spotShare);
  return [
    // The base task is placed first and always on demand; weights split the tasks above it.
    { capacityProvider: ON_DEMAND, base: 1, weight: onDemand },
    { capacityProvider: SPOT, base: 0, weight: spot },
  ];
}
