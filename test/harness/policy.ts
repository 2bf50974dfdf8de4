/**
 * Policy checks over every resource a layer declares (run by the specs on each layer's recorded
 * plan). Each violation names the resource and the rule, so a failing spec says what to fix.
 */
import { ACTIONS_REQUIRING_STAR_RESOURCE, PolicyDocument } from "../../stacks/shared/iam";
import { REQUIRED_TAGS } from "../../stacks/shared/tags";
import { LayerRun, RecordedResource } from "./index";
import { mockResourceState } from "./mock-aws";

export interface Violation {
  resource: string;
  rule: string;
  detail: string;
}

const NAME_FIELDS = ["name", "family", "dashboardName", "bucket", "clusterName", "topicName", "roleName", "functionName"];
const OPEN_CIDRS = ["0.0.0.0/0", "::/0"];
const PUBLIC_PORTS = [80, 443];

function label(r: RecordedResource): string {
  return `${r.type} ${r.name}`;
}

function parseJson<T>(v: unknown): T | undefined {
  if (typeof v !== "string") return (v as T) ?? undefined;
  try {
    return JSON.parse(v) as T;
  } catch {
    return undefined;
  }
}

function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Every AWS resource uses a provider whose default tags carry the full tag set for this layer. */
export function checkTags(run: LayerRun, suffix: string): Violation[] {
  const providers = new Map(
    run.resources
      .filter((r) => r.type === "pulumi:providers:aws")
      .map((r) => [r.name, parseJson<{ tags?: Record<string, string> }>(r.inputs.defaultTags)?.tags ?? {}]),
  );
  const out: Violation[] = [];
  for (const [name, tags] of providers) {
    const missing = REQUIRED_TAGS.filter((k) => !tags[k]);
    if (missing.length) out.push({ resource: `provider ${name}`, rule: "tags", detail: `default tags lack ${missing.join(", ")}` });
    if (tags.Environment !== suffix)
      out.push({ resource: `provider ${name}`, rule: "tags", detail: `Environment is ${tags.Environment}, expected ${suffix}` });
    if (tags.Layer !== run.layer)
      out.push({ resource: `provider ${name}`, rule: "tags", detail: `Layer is ${tags.Layer}, expected ${run.layer}` });
  }
  for (const r of run.resources.filter((x) => x.type.startsWith("aws:"))) {
    if (!r.provider || !providers.has(r.provider)) {
      out.push({
        resource: label(r),
        rule: "tags",
        detail: `not created through a tagging provider of the ${run.layer} layer (provider: ${r.provider ?? "default"})`,
      });
    }
  }
  return out;
}

/** Every explicitly named resource carries the environment suffix as a whole name segment. */
export function checkNaming(run: LayerRun, suffix: string): Violation[] {
  const token = new RegExp(`(^|[-/_.:])${suffix.replace(/[-/\\^$*+?.()|[\]{}]/g, "\\$&")}($|[-/_.:])`);
  const out: Violation[] = [];
  for (const r of run.resources.filter((x) => x.type.startsWith("aws:"))) {
    for (const field of NAME_FIELDS) {
      const v = r.inputs[field];
      if (typeof v === "string" && !token.test(v))
        out.push({ resource: label(r), rule: "naming", detail: `${field} ${v} does not contain the suffix ${suffix}` });
    }
  }
  return out;
}

/** Nothing is retained or protected from deletion: CI must be able to destroy every stack. */
export function checkDestroyable(run: LayerRun): Violation[] {
  const out: Violation[] = [];
  for (const r of run.resources) {
    const i = r.inputs;
    if (i.enableDeletionProtection === true || i.deletionProtection === true)
      out.push({ resource: label(r), rule: "destroyable", detail: "deletion protection is on" });
    if (r.type === "aws:ecr/repository:Repository" && i.forceDelete !== true)
      out.push({ resource: label(r), rule: "destroyable", detail: "forceDelete is not set" });
    if (r.type === "aws:secretsmanager/secret:Secret" && i.recoveryWindowInDays !== 0)
      out.push({
        resource: label(r),
        rule: "destroyable",
        detail: "recoveryWindowInDays must be 0 so the name can be reused after destroy",
      });
    if (r.type === "aws:s3/bucket:Bucket" && i.forceDestroy !== true)
      out.push({ resource: label(r), rule: "destroyable", detail: "forceDestroy is not set" });
  }
  return out;
}

function policyDocuments(r: RecordedResource): PolicyDocument[] {
  const docs: PolicyDocument[] = [];
  if (r.type.startsWith("aws:iam/") && r.inputs.policy !== undefined) {
    const d = parseJson<PolicyDocument>(r.inputs.policy);
    if (d) docs.push(d);
  }
  for (const inline of (r.inputs.inlinePolicies ?? []) as Array<{ policy?: string }>) {
    const d = parseJson<PolicyDocument>(inline.policy);
    if (d) docs.push(d);
  }
  return docs;
}

/** IAM statements name their actions and resources; `*` resources only where AWS requires it. */
export function checkIam(run: LayerRun): Violation[] {
  const out: Violation[] = [];
  for (const r of run.resources) {
    for (const doc of policyDocuments(r)) {
      for (const st of doc.Statement ?? []) {
        if (st.Effect !== "Allow") continue;
        const actions = asList(st.Action);
        const resources = asList(st.Resource);
        for (const a of actions) {
          if (a === "*" || a.endsWith(":*")) out.push({ resource: label(r), rule: "iam", detail: `wildcard action ${a}` });
        }
        if (resources.length === 0) out.push({ resource: label(r), rule: "iam", detail: `statement ${st.Sid ?? ""} names no resource` });
        if (resources.includes("*")) {
          const scoped = actions.filter((a) => !ACTIONS_REQUIRING_STAR_RESOURCE.includes(a));
          if (scoped.length)
            out.push({
              resource: label(r),
              rule: "iam",
              detail: `Resource "*" for ${scoped.join(", ")}, which can be scoped to resources`,
            });
        }
      }
    }
  }
  return out;
}

/** Log groups expire and are encrypted with a customer-managed key. */
export function checkLogGroups(run: LayerRun): Violation[] {
  const out: Violation[] = [];
  for (const r of run.resources.filter((x) => x.type === "aws:cloudwatch/logGroup:LogGroup")) {
    if (!(Number(r.inputs.retentionInDays) > 0)) out.push({ resource: label(r), rule: "logs", detail: "no retention" });
    if (!r.inputs.kmsKeyId) out.push({ resource: label(r), rule: "logs", detail: "no KMS key" });
  }
  return out;
}

/** Ingress from anywhere only on the load balancer's security group, ports 80 and 443. */
export function checkIngress(run: LayerRun): Violation[] {
  const groups = new Map<string, RecordedResource>();
  for (const r of run.resources.filter((x) => x.type === "aws:ec2/securityGroup:SecurityGroup")) {
    groups.set(mockResourceState(r.type, r.name, r.inputs).id, r);
  }
  const isAlbGroup = (g: RecordedResource | undefined) => !!g && /(^|-)alb(-|$)/.test(String(g.inputs.name ?? g.name));
  const out: Violation[] = [];
  const check = (r: RecordedResource, group: RecordedResource | undefined, cidrs: string[], from: number, to: number) => {
    if (!cidrs.some((c) => OPEN_CIDRS.includes(c))) return;
    const portsOk = from === to && PUBLIC_PORTS.includes(from);
    if (!isAlbGroup(group) || !portsOk)
      out.push({ resource: label(r), rule: "ingress", detail: `open to the internet on ${from}-${to} (only the ALB's 80/443 may be)` });
  };
  for (const r of run.resources) {
    if (r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
      check(
        r,
        groups.get(String(r.inputs.securityGroupId)),
        [r.inputs.cidrIpv4, r.inputs.cidrIpv6].filter(Boolean),
        Number(r.inputs.fromPort),
        Number(r.inputs.toPort),
      );
    }
    if (r.type === "aws:ec2/securityGroupRule:SecurityGroupRule" && r.inputs.type === "ingress") {
      check(
        r,
        groups.get(String(r.inputs.securityGroupId)),
        [...(r.inputs.cidrBlocks ?? []), ...(r.inputs.ipv6CidrBlocks ?? [])],
        Number(r.inputs.fromPort),
        Number(r.inputs.toPort),
      );
    }
    if (r.type === "aws:ec2/securityGroup:SecurityGroup") {
      for (const rule of (r.inputs.ingress ?? []) as Array<Record<string, any>>) {
        check(r, r, [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])], Number(rule.fromPort), Number(rule.toPort));
      }
    }
  }
  return out;
}

/** ECR repositories: immutable tags, scan on push, KMS encryption. */
export function checkRepositories(run: LayerRun): Violation[] {
  const out: Violation[] = [];
  for (const r of run.resources.filter((x) => x.type === "aws:ecr/repository:Repository")) {
    if (r.inputs.imageTagMutability !== "IMMUTABLE") out.push({ resource: label(r), rule: "ecr", detail: "tags are mutable" });
    if (r.inputs.imageScanningConfiguration?.scanOnPush !== true)
      out.push({ resource: label(r), rule: "ecr", detail: "scan on push is off" });
    const enc = (r.inputs.encryptionConfigurations ?? [])[0];
    if (enc?.encryptionType !== "KMS") out.push({ resource: label(r), rule: "ecr", detail: "not encrypted with KMS" });
  }
  return out;
}

export function policyViolations(run: LayerRun, suffix: string): Violation[] {
  return [
    ...checkTags(run, suffix),
    ...checkNaming(run, suffix),
    ...checkDestroyable(run),
    ...checkIam(run),
    ...checkLogGroups(run),
    ...checkIngress(run),
    ...checkRepositories(run),
  ];
}

export function formatViolations(vs: Violation[]): string {
  return vs.map((v) => `[${v.rule}] ${v.resource}: ${v.detail}`).join("\n");
}
