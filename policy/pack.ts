/**
 * Adapts CrossGuard's view of a resource to the plain rules in ./rules.ts. Every rule is
 * mandatory: a violation fails the preview. Kept apart from index.ts (which starts the policy
 * server) so specs can run the policies exactly as the engine calls them.
 */
import { Policies, PolicyResource, ResourceValidationPolicy, StackValidationPolicy, UnknownValueError } from "@pulumi/policy";
import { PlanResource, PLATFORM_RULES, PlatformRule, StackView } from "./rules";

export const POLICY_PACK_NAME = "ecs-fargate-platform";

/** The engine's default providers are named `default` or `default_<version>`: not a layer provider. */
const DEFAULT_PROVIDER = /^default(_\d+_\d+_\d+.*)?$/;

function providerOf(p: { name: string; props: Record<string, any> } | undefined): PlanResource["provider"] {
  return p && !DEFAULT_PROVIDER.test(p.name) ? { name: p.name, props: p.props } : undefined;
}

function fromPolicyResource(r: PolicyResource): PlanResource {
  return { key: r.urn, type: r.type, name: r.name, props: r.props, provider: providerOf(r.provider) };
}

function resourcePolicy(rule: PlatformRule): ResourceValidationPolicy {
  const noStack: StackView = {
    resources: [],
    referenced: () => {
      throw new Error(`rule ${rule.name} reads other resources; run it as a stack policy`);
    },
  };
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
      const r: PlanResource = { key: args.urn, type: args.type, name: args.name, props: args.props, provider: providerOf(args.provider) };
      for (const detail of rule.check(r, noStack, {})) reportViolation(detail);
    },
  };
}

/** Attributes a reference may hold the value of: what AWS ids and ARNs are named in state. */
const REFERENCE_ATTRIBUTES = ["arn", "id", "bucket"] as const;

/**
 * The resource whose id or ARN equals `value`, for an input the engine recorded no dependency for
 * (an ARN pasted from state, say). Candidates whose attributes are still unknown are passed over.
 */
function byValue(resources: readonly PlanResource[], value: unknown): PlanResource | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  return resources.find((c) =>
    REFERENCE_ATTRIBUTES.some((attr) => {
      try {
        return c.props[attr] === value;
      } catch (e) {
        if (e instanceof UnknownValueError) return false;
        throw e;
      }
    }),
  );
}

function stackPolicy(rule: PlatformRule): StackValidationPolicy {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
      const byUrn = new Map(args.resources.map((r) => [r.urn, fromPolicyResource(r)]));
      const resources = [...byUrn.values()];
      const source = new Map(args.resources.map((r) => [r.urn, r]));
      const view: StackView = {
        resources,
        // The engine records which resource an input came from; that is the reference.
        referenced: (r, prop) => {
          const dep = source.get(r.key)?.propertyDependencies[prop]?.[0];
          return dep ? byUrn.get(dep.urn) : byValue(resources, r.props[prop]);
        },
      };
      for (const r of resources) {
        try {
          for (const detail of rule.check(r, view, {})) reportViolation(detail, r.key);
        } catch (e) {
          // A value computed by AWS (an id, an address) is unknown until `pulumi up`; the
          // resource is checked then. Every other resource of the stack is still checked now.
          if (!(e instanceof UnknownValueError)) throw e;
        }
      }
    },
  };
}

/** Every rule as a mandatory CrossGuard policy: per resource, or over the stack when it reads other resources. */
export function platformPolicies(): Policies {
  return PLATFORM_RULES.map((rule) => (rule.stack ? stackPolicy(rule) : resourcePolicy(rule)));
}
