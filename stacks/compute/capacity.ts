/**
 * Capacity-provider strategies. Critical services run on on-demand Fargate only; the rest run at
 * least `spotShare` of their tasks on Fargate Spot, above one on-demand task that keeps the service
 * answering while Spot capacity is reclaimed.
 */
import * as aws from "@pulumi/aws";

export const ON_DEMAND = "FARGATE";
export const SPOT = "FARGATE_SPOT";

/** The Spot shares a non-critical service may run with: at least 0.7 (the platform requirement), at most all. */
export const SPOT_SHARE_RANGE = { min: 0.7, max: 1 } as const;
export const MIN_SPOT_SHARE = SPOT_SHARE_RANGE.min;

/** Largest weight total tried for an exact share; ECS accepts weights up to 1000. */
export const MAX_WEIGHT_TOTAL = 100;

/** Two shares closer than this are the same share (float noise in a config value). */
const SHARE_TOLERANCE = 1e-9;

export interface SpotWeights {
  onDemand: number;
  spot: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Integer weights for a Spot share, the rule the optimizer applies too (its tests read
 * SPOT_WEIGHT_CASES from the platform facts file):
 *  1. the smallest total up to MAX_WEIGHT_TOTAL that states the share exactly (0.875 -> 1:7);
 *  2. otherwise the share rounded UP to a whole percent, in lowest terms (0.705 -> 29:71), so the
 *     Spot fraction never falls below the share asked for.
 */
export function spotWeights(share: number): SpotWeights {
  if (!(share >= 0 && share <= 1)) throw new Error(`Spot share ${share} is not a fraction between 0 and 1`);
  for (let total = 1; total <= MAX_WEIGHT_TOTAL; total++) {
    const spot = Math.round(share * total);
    if (Math.abs(spot / total - share) < SHARE_TOLERANCE) return { onDemand: total - spot, spot };
  }
  const percent = Math.ceil(share * MAX_WEIGHT_TOTAL - SHARE_TOLERANCE);
  const divisor = gcd(percent, MAX_WEIGHT_TOTAL);
  return { onDemand: (MAX_WEIGHT_TOTAL - percent) / divisor, spot: percent / divisor };
}

/**
 * The worked examples of spotWeights, written down by hand (not computed): the compute spec and
 * the optimizer's tests both check their implementation against this one table.
 */
export const SPOT_WEIGHT_CASES: ReadonlyArray<{ share: number } & SpotWeights> = [
  { share: 0, onDemand: 1, spot: 0 },
  { share: 0.5, onDemand: 1, spot: 1 },
  { share: 0.7, onDemand: 3, spot: 7 },
  { share: 0.75, onDemand: 1, spot: 3 },
  { share: 0.8, onDemand: 1, spot: 4 },
  { share: 0.875, onDemand: 1, spot: 7 },
  { share: 0.9, onDemand: 1, spot: 9 },
  { share: 0.99, onDemand: 1, spot: 99 },
  { share: 1, onDemand: 0, spot: 1 },
  { share: 2 / 3, onDemand: 1, spot: 2 },
  { share: 0.705, onDemand: 29, spot: 71 },
  { share: 0.7333, onDemand: 13, spot: 37 },
  { share: 0.4444, onDemand: 11, spot: 9 },
  { share: 0.999, onDemand: 0, spot: 1 },
];

export function capacityProviderStrategy(critical: boolean, spotShare: number): aws.types.input.ecs.ServiceCapacityProviderStrategy[] {
  if (critical) return [{ capacityProvider: ON_DEMAND, base: 0, weight: 1 }];
  const { onDemand, spot } = spotWeights(spotShare);
  return [
    // The base task is placed first and always on demand; weights split the tasks above it.
    { capacityProvider: ON_DEMAND, base: 1, weight: onDemand },
    { capacityProvider: SPOT, base: 0, weight: spot },
  ];
}
