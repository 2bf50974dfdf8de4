/**
 * The ECR lifecycle policy every repository carries, built in one place so the rule order the
 * API insists on is written down once.
 */

/** Untagged images (superseded pushes, failed builds) are expired after this many days. */
export const UNTAGGED_EXPIRY_DAYS = 1;

export interface LifecycleRule {
  rulePriority: number;
  description: string;
  selection: {
    tagStatus: "untagged" | "tagged" | "any";
    countType: "sinceImagePushed" | "imageCountMoreThan";
    countUnit?: "days";
    countNumber: number;
  };
  action: { type: "expire" };
}

export interface LifecyclePolicy {
  rules: LifecycleRule[];
}

/**
 * Expire untagged images after a day, then keep the newest `keepImages` of what remains.
 * ECR evaluates rules from the lowest rulePriority up, and a rule with tagStatus `any` must have
 * the highest priority number (it is evaluated last), so the count rule is priority 2.
 */
export function lifecyclePolicy(keepImages: number): LifecyclePolicy {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `Expire untagged images ${UNTAGGED_EXPIRY_DAYS} day after push`,
        selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: UNTAGGED_EXPIRY_DAYS },
        action: { type: "expire" },
      },
      {
        rulePriority: 2,
        // No count in the text: ecs-optimizer changes countNumber only, and a description that
        // repeated it would go stale in AWS and show as drift on the next preview.
        description: "Keep the newest images (how many: countNumber)",
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keepImages },
        action: { type: "expire" },
      },
    ],
  };
}
