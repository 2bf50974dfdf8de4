/**
 * The platform's policy rules, written once as plain functions over a planned resource (its
 * type, logical name, input properties and provider). Two runners use them:
 *   - policy/index.ts wraps them as a CrossGuard policy pack for `pulumi preview --policy-pack policy`;
 *   - test/harness/policy.ts runs them over the resources the mock engine recorded.
 * A rule returns one line per problem it finds; the runner adds the resource and the rule name.
 */
import { ACTIONS_REQUIRING_STAR_RESOURCE, PolicyDocument } from "../stacks/shared/iam";
import { CLUSTER_TIER_TAG, LAYERS, REQUIRED_TAGS } from "../stacks/shared/tag-keys";
import { WaivableRule, waiverReason } from "../stacks/shared/waivers";

export { waiverTag } from "../stacks/shared/waivers";

/** A resource as a policy sees it. */
export interface PlanResource {
  /** Unique within the stack (the URN in CrossGuard; type and name in the mock harness). */
  key: string;
  type: string;
  name: string;
  props: Record<string, any>;
  /** The provider resource it is created through; absent for the engine's default provider. */
  provider?: { name: string; props: Record<string, any> };
}

/** What a rule that looks beyond one resource may ask about the rest of the stack. */
export interface StackView {
  resources: readonly PlanResource[];
  /** The resource whose id or ARN `r.props[prop]` holds (a security group, a bucket), if it is in the stack. */
  referenced(r: PlanResource, prop: string): PlanResource | undefined;
}

/** What the mock harness knows and the policy pack does not: the stack's own suffix and layer. */
export interface Expectations {
  environmentSuffix?: string;
  layer?: string;
}

export interface PlatformRule {
  name: string;
  description: string;
  /** True when the rule needs the StackView (CrossGuard runs it as a stack policy). */
  stack: boolean;
  check(r: PlanResource, view: StackView, expected: Expectations): string[];
}

function waived(r: PlanResource, rule: WaivableRule): boolean {
  return waiverReason(r.props.tags, rule) !== undefined;
}

export const TYPES = {
  provider: "pulumi:providers:aws",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  listener: "aws:lb/listener:Listener",
  webAclAssociation: "aws:wafv2/webAclAssociation:WebAclAssociation",
  kmsKey: "aws:kms/key:Key",
  bucket: "aws:s3/bucket:Bucket",
  bucketPublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  bucketEncryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  ecrRepository: "aws:ecr/repository:Repository",
  secret: "aws:secretsmanager/secret:Secret",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  legacyRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  ecsCluster: "aws:ecs/cluster:Cluster",
  ecsService: "aws:ecs/service:Service",
} as const;

const NAME_FIELDS = ["name", "family", "dashboardName", "bucket", "clusterName", "topicName", "roleName", "functionName"];
const OPEN_CIDRS = ["0.0.0.0/0", "::/0"];
const PUBLIC_PORTS = [80, 443];

export function parseJson<T>(v: unknown): T | undefined {
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

/** The `defaultTags.tags` of a provider (a JSON string in provider inputs, an object elsewhere). */
export function providerTags(props: Record<string, any>): Record<string, string> {
  return parseJson<{ tags?: Record<string, string> }>(props.defaultTags)?.tags ?? {};
}

const isAws = (r: PlanResource) => r.type.startsWith("aws:");

const tags: PlatformRule = {
  name: "tags",
  description: "Every AWS resource goes through a layer provider whose default tags carry the full cost-allocation tag set.",
  stack: false,
  check(r, _view, expected) {
    if (r.type === TYPES.provider) {
      const t = providerTags(r.props);
      const out: string[] = [];
      const missing = REQUIRED_TAGS.filter((k) => !t[k]);
      if (missing.length) out.push(`default tags lack ${missing.join(", ")}`);
      if (expected.environmentSuffix !== undefined && t.Environment && t.Environment !== expected.environmentSuffix)
        out.push(`Environment is ${t.Environment}, expected ${expected.environmentSuffix}`);
      const layers: readonly string[] = expected.layer !== undefined ? [expected.layer] : LAYERS;
      if (t.Layer && !layers.includes(t.Layer)) out.push(`Layer is ${t.Layer}, expected ${layers.join(" or ")}`);
      return out;
    }
    if (!isAws(r)) return [];
    if (!r.provider || Object.keys(providerTags(r.provider.props)).length === 0) {
      const layer = expected.layer ? `the ${expected.layer} layer` : "a layer";
      return [`not created through a tagging provider of ${layer} (provider: ${r.provider?.name ?? "default"})`];
    }
    return [];
  },
};

const naming: PlatformRule = {
  name: "naming",
  description: "Every explicitly named resource carries the environment suffix as a whole name segment.",
  stack: false,
  check(r, _view, expected) {
    if (!isAws(r)) return [];
    const suffix = expected.environmentSuffix ?? (r.provider ? providerTags(r.provider.props).Environment : undefined);
    if (!suffix) return [];
    const token = new RegExp(`(^|[-/_.:])${suffix.replace(/[-/\\^$*+?.()|[\]{}]/g, "\\$&")}($|[-/_.:])`);
    const out: string[] = [];
    for (const field of NAME_FIELDS) {
      const v = r.props[field];
      if (typeof v === "string" && !token.test(v)) out.push(`${field} ${v} does not contain the suffix ${suffix}`);
    }
    return out;
  },
};

const destroyable: PlatformRule = {
  name: "destroyable",
  description: "Nothing is retained or protected from deletion: CI must be able to destroy every stack.",
  stack: false,
  check(r) {
    const p = r.props;
    const out: string[] = [];
    if (p.enableDeletionProtection === true || p.deletionProtection === true) out.push("deletion protection is on");
    if (r.type === TYPES.ecrRepository && p.forceDelete !== true) out.push("forceDelete is not set");
    if (r.type === TYPES.secret && p.recoveryWindowInDays !== 0)
      out.push("recoveryWindowInDays must be 0 so the name can be reused after destroy");
    if (r.type === TYPES.bucket && p.forceDestroy !== true) out.push("forceDestroy is not set");
    return out;
  },
};

function policyDocuments(r: PlanResource): PolicyDocument[] {
  const docs: PolicyDocument[] = [];
  if (r.type.startsWith("aws:iam/") && r.props.policy !== undefined) {
    const d = parseJson<PolicyDocument>(r.props.policy);
    if (d) docs.push(d);
  }
  for (const inline of (r.props.inlinePolicies ?? []) as Array<{ policy?: string }>) {
    const d = parseJson<PolicyDocument>(inline.policy);
    if (d) docs.push(d);
  }
  return docs;
}

const iam: PlatformRule = {
  name: "iam",
  description: "IAM statements name their actions and resources; `*` resources only for actions AWS cannot scope.",
  stack: false,
  check(r) {
    const out: string[] = [];
    for (const doc of policyDocuments(r)) {
      for (const st of doc.Statement ?? []) {
        if (st.Effect !== "Allow") continue;
        const actions = asList(st.Action);
        const resources = asList(st.Resource);
        for (const a of actions) if (a === "*" || a.endsWith(":*")) out.push(`wildcard action ${a}`);
        if (resources.length === 0) out.push(`statement ${st.Sid ?? ""} names no resource`);
        if (resources.includes("*")) {
          const scoped = actions.filter((a) => !ACTIONS_REQUIRING_STAR_RESOURCE.includes(a));
          if (scoped.length) out.push(`Resource "*" for ${scoped.join(", ")}, which can be scoped to resources`);
        }
      }
    }
    return out;
  },
};

const logs: PlatformRule = {
  name: "logs",
  description: "Log groups expire and are encrypted with a customer-managed key.",
  stack: false,
  check(r) {
    if (r.type !== TYPES.logGroup) return [];
    const out: string[] = [];
    if (!(Number(r.props.retentionInDays) > 0)) out.push("no retention");
    if (!r.props.kmsKeyId) out.push("no KMS key");
    return out;
  },
};

const ingress: PlatformRule = {
  name: "ingress",
  description: "Ingress from the internet only on the load balancer's security group, ports 80 and 443.",
  stack: true,
  check(r, view) {
    const isAlbGroup = (g: PlanResource | undefined) => !!g && /(^|-)alb(-|$)/.test(String(g.props.name ?? g.name));
    const open = (group: PlanResource | undefined, cidrs: unknown[], from: number, to: number): string[] => {
      if (!cidrs.some((c) => OPEN_CIDRS.includes(String(c)))) return [];
      const portsOk = from === to && PUBLIC_PORTS.includes(from);
      return isAlbGroup(group) && portsOk ? [] : [`open to the internet on ${from}-${to} (only the ALB's 80/443 may be)`];
    };
    // A rule in the classic shape (a security group rule, or an inline ingress block): CIDR lists.
    const openClassic = (group: PlanResource | undefined, rule: Record<string, any>) =>
      open(group, [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])], Number(rule.fromPort), Number(rule.toPort));
    const p = r.props;
    if (r.type === TYPES.ingressRule)
      return open(view.referenced(r, "securityGroupId"), [p.cidrIpv4, p.cidrIpv6].filter(Boolean), Number(p.fromPort), Number(p.toPort));
    if (r.type === TYPES.legacyRule && p.type === "ingress") return openClassic(view.referenced(r, "securityGroupId"), p);
    if (r.type === TYPES.securityGroup) return ((p.ingress ?? []) as Array<Record<string, any>>).flatMap((rule) => openClassic(r, rule));
    return [];
  },
};

const ecr: PlatformRule = {
  name: "ecr",
  description: "ECR repositories have immutable tags, scan on push and KMS encryption.",
  stack: false,
  check(r) {
    if (r.type !== TYPES.ecrRepository) return [];
    const out: string[] = [];
    if (r.props.imageTagMutability !== "IMMUTABLE") out.push("tags are mutable");
    if (r.props.imageScanningConfiguration?.scanOnPush !== true) out.push("scan on push is off");
    if ((r.props.encryptionConfigurations ?? [])[0]?.encryptionType !== "KMS") out.push("not encrypted with KMS");
    return out;
  },
};

const albAccessLogs: PlatformRule = {
  name: "alb-access-logs",
  description: "Load balancers write access logs to S3.",
  stack: false,
  check(r) {
    if (r.type !== TYPES.loadBalancer || waived(r, "alb-access-logs")) return [];
    const logsCfg = r.props.accessLogs;
    return logsCfg?.enabled === true && logsCfg?.bucket ? [] : ["access logs are off"];
  },
};

const isHttpsRedirect = (a: Record<string, any>) => a.type === "redirect" && String(a.redirect?.protocol).toUpperCase() === "HTTPS";

const albHttpsOnly: PlatformRule = {
  name: "alb-https-only",
  description: "Listeners serve HTTPS; a plain-HTTP listener may only redirect to HTTPS.",
  stack: false,
  check(r) {
    if (r.type !== TYPES.listener || waived(r, "alb-https-only")) return [];
    const protocol = String(r.props.protocol ?? "").toUpperCase();
    if (protocol === "HTTPS") return r.props.certificateArn ? [] : ["HTTPS listener without a certificate"];
    if (protocol !== "HTTP") return [];
    const actions = (r.props.defaultActions ?? []) as Array<Record<string, any>>;
    return actions.length > 0 && actions.every(isHttpsRedirect)
      ? []
      : [`plain HTTP listener on port ${r.props.port} serves traffic instead of redirecting to HTTPS`];
  },
};

const albWaf: PlatformRule = {
  name: "alb-waf",
  description: "Every load balancer is associated with a WAF web ACL.",
  stack: true,
  check(r, view) {
    if (r.type !== TYPES.loadBalancer || waived(r, "alb-waf")) return [];
    const protectedBy = view.resources.filter(
      (a) => a.type === TYPES.webAclAssociation && view.referenced(a, "resourceArn")?.key === r.key,
    );
    return protectedBy.length > 0 ? [] : ["no WAF web ACL is associated"];
  },
};

const kmsKeys: PlatformRule = {
  name: "kms-keys",
  description: "Every KMS key rotates and has an explicit key policy (never the implicit default).",
  stack: false,
  check(r) {
    if (r.type !== TYPES.kmsKey) return [];
    const out: string[] = [];
    if (r.props.enableKeyRotation !== true) out.push("key rotation is off");
    const policy = parseJson<{ Statement?: unknown[] }>(r.props.policy);
    if (!policy || !Array.isArray(policy.Statement) || policy.Statement.length === 0) out.push("no explicit key policy");
    return out;
  },
};

function deniesInsecureTransport(policy: unknown): boolean {
  const doc = parseJson<{ Statement?: Array<Record<string, any>> }>(policy);
  return (doc?.Statement ?? []).some(
    (st) => st.Effect === "Deny" && String(st.Condition?.Bool?.["aws:SecureTransport"]) === "false" && asList(st.Action).includes("s3:*"),
  );
}

const s3Buckets: PlatformRule = {
  name: "s3-buckets",
  description: "Buckets block public access, are encrypted at rest and refuse requests without TLS.",
  stack: true,
  check(r, view) {
    if (r.type !== TYPES.bucket) return [];
    const attached = (type: string) => view.resources.filter((x) => x.type === type && view.referenced(x, "bucket")?.key === r.key);
    const out: string[] = [];
    const block = attached(TYPES.bucketPublicAccessBlock)[0]?.props;
    const blockAll = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
    if (!block || !blockAll.every((k) => block[k] === true)) out.push("public access is not fully blocked");
    if (attached(TYPES.bucketEncryption).length === 0) out.push("no default encryption");
    if (!attached(TYPES.bucketPolicy).some((p) => deniesInsecureTransport(p.props.policy)))
      out.push("no policy denying requests without TLS");
    return out;
  },
};

/**
 * A prod service's deployments must watch CloudWatch alarms and roll back when one fires: without
 * them a deployment (and a blue/green bake) completes as soon as new tasks pass their health
 * checks, whatever errors they serve. The tier is the `Tier` tag of the service's cluster; a
 * service whose cluster is not in the stack cannot be shown to be non-prod, so it is checked too.
 */
const deploymentAlarms: PlatformRule = {
  name: "deployment-alarms",
  description: "Every prod ECS service's deployments watch CloudWatch alarms with enable and rollback on.",
  stack: true,
  check(r, view) {
    if (r.type !== TYPES.ecsService) return [];
    const cluster = view.referenced(r, "cluster");
    const tier = cluster?.type === TYPES.ecsCluster ? cluster.props.tags?.[CLUSTER_TIER_TAG] : undefined;
    if (tier !== undefined && tier !== "prod") return [];
    const alarms = r.props.alarms as { alarmNames?: unknown; enable?: unknown; rollback?: unknown } | undefined;
    const names = Array.isArray(alarms?.alarmNames) ? alarms.alarmNames : [];
    const out: string[] = [];
    if (names.length === 0) out.push("its deployments watch no CloudWatch alarm (set alarms.alarmNames)");
    if (alarms?.enable !== true) out.push("deployment alarms are not enabled (alarms.enable)");
    if (alarms?.rollback !== true) out.push("a deployment is not rolled back when an alarm fires (alarms.rollback)");
    return out;
  },
};

/** Every enabled rule, in report order. */
export const PLATFORM_RULES: readonly PlatformRule[] = [
  tags,
  naming,
  destroyable,
  iam,
  logs,
  ingress,
  ecr,
  albAccessLogs,
  albHttpsOnly,
  albWaf,
  kmsKeys,
  s3Buckets,
  deploymentAlarms,
];

/**
 * Checks common scanners run that this platform turns off on purpose, each with its reason
 * (docs/policy.md lists them too). They are not rules: a check that is off cannot fire.
 */
export const DISABLED_CHECKS: ReadonlyArray<{ name: string; reason: string }> = [
  {
    name: "alb-deletion-protection",
    reason: "every stack must be destroyable by CI; deletion protection would block `pulumi destroy`",
  },
  {
    name: "s3-bucket-versioning",
    reason: "the only bucket holds ALB access logs that expire on a lifecycle rule; old versions would outlive it and slow destroy",
  },
  {
    name: "s3-access-logging",
    reason: "logging the access-log bucket's own reads would need a second bucket that in turn needs one",
  },
  {
    name: "ecr-cross-region-replication",
    reason: "images are rebuilt by CI; a replica doubles storage for no recovery the pipeline does not already give",
  },
  {
    name: "secrets-rotation-required",
    reason: "rotation needs a rotation function the user owns; it is offered per secret (rotationLambdaArn) rather than forced",
  },
];

export interface Violation {
  resource: string;
  rule: string;
  detail: string;
}

/** Runs every rule (or the given ones) over a stack's resources. */
export function evaluate(
  resources: readonly PlanResource[],
  view: StackView,
  expected: Expectations = {},
  rules: readonly PlatformRule[] = PLATFORM_RULES,
): Violation[] {
  const out: Violation[] = [];
  for (const rule of rules) {
    for (const r of resources) {
      for (const detail of rule.check(r, view, expected)) out.push({ resource: `${r.type} ${r.name}`, rule: rule.name, detail });
    }
  }
  return out;
}

export function ruleNamed(name: string): PlatformRule {
  const rule = PLATFORM_RULES.find((r) => r.name === name);
  if (!rule) throw new Error(`no policy rule named ${name}; have ${PLATFORM_RULES.map((r) => r.name).join(", ")}`);
  return rule;
}
