/**
 * Runs the platform's policy rules (policy/rules.ts, the same rules the CrossGuard pack runs under
 * `pulumi preview --policy-pack policy`) over the resources a layer recorded under the mock
 * engine. Each violation names the resource and the rule, so a failing spec says what to fix.
 */
import { evaluate, PlanResource, ruleNamed, StackView, Violation } from "../../policy/rules";
import { LayerRun, RecordedResource } from "../../scripts/plan/mock-engine";
import { mockResourceState } from "../../scripts/plan/mock-aws";

export { Violation } from "../../policy/rules";

/** The run's resources as the rules see them, with each resource's provider resolved by name. */
export function planResources(run: LayerRun): PlanResource[] {
  const providers = new Map(run.resources.filter((r) => r.type === "pulumi:providers:aws").map((r) => [r.name, r]));
  return run.resources.map((r) => {
    const provider = r.provider ? providers.get(r.provider) : undefined;
    return {
      key: `${r.type}::${r.name}`,
      type: r.type,
      name: r.name,
      props: r.inputs,
      // A provider named but not part of this layer counts as "not a tagging provider of the layer".
      provider: r.provider ? { name: r.provider, props: provider?.inputs ?? {} } : undefined,
    };
  });
}

/** Resolves a reference the way the engine would: by the id or ARN the mock engine answered. */
export function stackView(run: LayerRun, resources: PlanResource[]): StackView {
  const byRef = new Map<string, PlanResource>();
  run.resources.forEach((r: RecordedResource, i) => {
    const { id, state } = mockResourceState(r.type, r.name, r.inputs);
    byRef.set(String(id), resources[i]);
    if (state.arn !== undefined) byRef.set(String(state.arn), resources[i]);
  });
  return { resources, referenced: (r, prop) => byRef.get(String(r.props[prop])) };
}

function check(run: LayerRun, suffix: string | undefined, rules?: string[]): Violation[] {
  const resources = planResources(run);
  return evaluate(resources, stackView(run, resources), { environmentSuffix: suffix, layer: run.layer }, rules?.map(ruleNamed));
}

export const checkTags = (run: LayerRun, suffix: string) => check(run, suffix, ["tags"]);
export const checkNaming = (run: LayerRun, suffix: string) => check(run, suffix, ["naming"]);
export const checkDestroyable = (run: LayerRun) => check(run, undefined, ["destroyable"]);
export const checkIam = (run: LayerRun) => check(run, undefined, ["iam"]);
export const checkLogGroups = (run: LayerRun) => check(run, undefined, ["logs"]);
export const checkIngress = (run: LayerRun) => check(run, undefined, ["ingress"]);
export const checkRepositories = (run: LayerRun) => check(run, undefined, ["ecr"]);

/** Every rule, as `pulumi preview --policy-pack policy` runs them, plus the layer and suffix checks. */
export function policyViolations(run: LayerRun, suffix: string): Violation[] {
  return check(run, suffix);
}

/** A run with one rule only (`rule` as in policy/rules.ts). */
export function ruleViolations(run: LayerRun, rule: string, suffix?: string): Violation[] {
  return check(run, suffix, [rule]);
}

export function formatViolations(vs: Violation[]): string {
  return vs.map((v) => `[${v.rule}] ${v.resource}: ${v.detail}`).join("\n");
}
