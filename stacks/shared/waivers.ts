/**
 * Policy waivers: a documented exception carried by the resource itself as the tag
 * `PolicyWaiver:<rule>` = reason. Only the rules listed in WAIVABLE_RULES honour one (policy/rules.ts),
 * and the layers set one only where the user's config asked for it (plain HTTP in dev, say), so
 * every exception is visible in the plan and on the resource in AWS. No Pulumi imports: the
 * policy pack loads this file.
 */
export const WAIVER_TAG_PREFIX = "PolicyWaiver:";
export const WAIVABLE_RULES = ["alb-https-only", "alb-access-logs", "alb-waf"] as const;
export type WaivableRule = (typeof WAIVABLE_RULES)[number];

export function waiverTag(rule: WaivableRule, reason: string): Record<string, string> {
  return { [`${WAIVER_TAG_PREFIX}${rule}`]: reason };
}

/** The reason a resource's tags give for waiving `rule`, if any. */
export function waiverReason(tags: Record<string, unknown> | undefined, rule: WaivableRule): string | undefined {
  const reason = tags?.[`${WAIVER_TAG_PREFIX}${rule}`];
  return typeof reason === "string" && reason.length > 0 ? reason : undefined;
}
