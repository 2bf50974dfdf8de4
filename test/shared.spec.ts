import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { environmentSuffix, LayerConfig } from "../stacks/shared/config";
import { CONTRACT_VERSIONS, NetworkContract } from "../stacks/shared/contracts";
import { FARGATE_CPUS, FARGATE_SIZES, fargateSizeError, isValidFargateSize, validMemories } from "../stacks/shared/fargate";
import { Names, resourceName } from "../stacks/shared/naming";
import { LayerReference, UpstreamError } from "../stacks/shared/stackref";
import { LayerRun, RecordedResource, runLayer } from "../scripts/plan/mock-engine";
import { mockResourceState } from "../scripts/plan/mock-aws";
import {
  checkDestroyable,
  checkIam,
  checkIngress,
  checkLogGroups,
  checkNaming,
  checkRepositories,
  checkTags,
  formatViolations,
  policyViolations,
  Violation,
} from "./harness/policy";

describe("shared library", () => {
  describe("Fargate sizes", () => {
    // Written out from docs/pricing.md ("Valid Fargate task sizes (Linux)"), not computed,
    // so a wrong step or bound in fargate.ts cannot agree with itself here.
    const PRICING_MD: Record<number, number[]> = {
      256: [512, 1024, 2048],
      512: [1024, 2048, 3072, 4096],
      1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
      2048: [4096, 5120, 6144, 7168, 8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384],
      4096: [
        8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384, 17408, 18432, 19456, 20480, 21504, 22528, 23552, 24576, 25600, 26624,
        27648, 28672, 29696, 30720,
      ],
      8192: [16384, 20480, 24576, 28672, 32768, 36864, 40960, 45056, 49152, 53248, 57344, 61440],
      16384: [32768, 40960, 49152, 57344, 65536, 73728, 81920, 90112, 98304, 106496, 114688, 122880],
    };

    it("matches the table in docs/pricing.md, CPU by CPU", () => {
      assert.deepEqual([...FARGATE_CPUS], [256, 512, 1024, 2048, 4096, 8192, 16384]);
      for (const [cpu, memories] of Object.entries(PRICING_MD)) {
        assert.deepEqual([...validMemories(Number(cpu))], memories, `cpu ${cpu}`);
      }
      assert.deepEqual(Object.fromEntries(Object.entries(FARGATE_SIZES).map(([c, m]) => [c, [...m]])), PRICING_MD);
      const pairs = Object.values(PRICING_MD).reduce((n, m) => n + m.length, 0);
      assert.equal(pairs, 74);
    });

    it("accepts exactly the listed pairs", () => {
      assert.ok(isValidFargateSize(512, 1024));
      assert.ok(isValidFargateSize(16384, 122880));
      assert.ok(!isValidFargateSize(256, 4096));
      assert.ok(!isValidFargateSize(8192, 17408), "8192 steps by 4096, not 1024");
      assert.ok(!isValidFargateSize(300, 512));
      assert.deepEqual(validMemories(300), []);
    });

    it("explains a bad pair, listing what is valid", () => {
      assert.equal(fargateSizeError(512, 1024), undefined);
      assert.equal(fargateSizeError(256, 4096), "memory 4096 MiB is not valid with cpu 256 (valid: 512, 1024, 2048)");
      assert.equal(fargateSizeError(512, 512), "memory 512 MiB is not valid with cpu 512 (valid: 1024, 2048, 3072, 4096)");
      assert.equal(fargateSizeError(300, 512), "cpu 300 is not a Fargate CPU size (allowed: 256, 512, 1024, 2048, 4096, 8192, 16384)");
    });
  });

  describe("naming", () => {
    it("builds {type}-{service}-{suffix} and {type}-{suffix}", () => {
      assert.equal(resourceName("dev", { type: "ecs-cluster" }), "ecs-cluster-dev");
      assert.equal(resourceName("dev", { type: "tg", service: "frontend" }), "tg-frontend-dev");
      assert.equal(resourceName("dev", { service: "frontend" }), "frontend-dev");
      assert.equal(resourceName("dev"), "dev");
      const names = new Names("pr7");
      assert.equal(names.of("alb"), "alb-pr7");
      assert.equal(names.service("api-gateway"), "api-gateway-pr7");
      assert.equal(names.logGroup("api-gateway"), "/ecs/api-gateway-pr7");
    });

    it("leaves names within maxLength untouched", () => {
      assert.equal(resourceName("dev", { type: "tg", service: "frontend", maxLength: 15 }), "tg-frontend-dev");
    });

    it("shortens long names to maxLength, keeping the suffix and adding a hash", () => {
      const long = resourceName("staging", { type: "tg", service: "processing-service-with-a-long-name", maxLength: 32 });
      assert.equal(long.length, 32);
      assert.match(long, /^tg-processing-ser-[0-9a-f]{6}-staging$/);
      assert.ok(!/--/.test(long), "no doubled hyphen where the head was cut");
    });

    it("keeps shortened names unique when the cut-off parts differ", () => {
      const a = resourceName("dev", { type: "tg", service: "processing-service-alpha-one", maxLength: 24 });
      const b = resourceName("dev", { type: "tg", service: "processing-service-alpha-two", maxLength: 24 });
      assert.notEqual(a, b);
      assert.equal(a.slice(0, 12), b.slice(0, 12), "same visible head");
      assert.ok(a.endsWith("-dev") && b.endsWith("-dev"));
      assert.equal(resourceName("dev", { type: "tg", service: "processing-service-alpha-one", maxLength: 24 }), a, "deterministic");
    });

    it("refuses a maxLength that cannot hold the suffix and hash", () => {
      assert.throws(
        () => resourceName("a-long-suffix", { type: "tg", service: "frontend", maxLength: 16 }),
        /cannot fit name tg-frontend-a-long-suffix into 16/,
      );
    });
  });

  describe("environmentSuffix", () => {
    const suffix = (options: { config?: Record<string, unknown>; env?: Record<string, string>; stack?: string }) =>
      runLayer("compute", { ...options, program: () => ({ suffix: environmentSuffix(new LayerConfig()) }) }).then((r) => r.exports.suffix);

    it("prefers config, then ENVIRONMENT_SUFFIX, then the stack name", async () => {
      assert.equal(await suffix({ stack: "stk", env: { ENVIRONMENT_SUFFIX: "env1" }, config: { environmentSuffix: "cfg1" } }), "cfg1");
      assert.equal(await suffix({ stack: "stk", env: { ENVIRONMENT_SUFFIX: "env1" } }), "env1");
      assert.equal(await suffix({ stack: "stk" }), "stk");
    });

    it("rejects a bad suffix naming where it came from", async () => {
      await assert.rejects(
        suffix({ stack: "stk", config: { environmentSuffix: "Bad_Suffix" } }),
        /invalid config compute:environmentSuffix = "Bad_Suffix": expected 1-16 lowercase letters, digits or hyphens/,
      );
      await assert.rejects(suffix({ stack: "stk", env: { ENVIRONMENT_SUFFIX: "UPPER" } }), /invalid config ENVIRONMENT_SUFFIX = "UPPER"/);
      await assert.rejects(suffix({ stack: "feature_x" }), /invalid config stack name = "feature_x"/);
      await assert.rejects(suffix({ stack: "stk", config: { environmentSuffix: "a".repeat(17) } }), /compute:environmentSuffix = "a{17}"/);
      await assert.rejects(suffix({ stack: "stk", config: { environmentSuffix: "trailing-" } }), /compute:environmentSuffix = "trailing-"/);
    });
  });

  describe("LayerReference", () => {
    // A hand-written upstream run: this tests the reader itself, so the exports are crafted.
    const upstream = (exports: Record<string, unknown>, stackName = "organization/network/dev"): LayerRun => ({
      layer: "network",
      stack: stackName.split("/")[2],
      stackName,
      resources: [],
      invokes: [],
      stackReferences: [],
      exports,
    });
    const consumer = () => {
      const cfg = new LayerConfig();
      const network = new LayerReference<NetworkContract>("network", cfg.stackReference("networkStack", "network"));
      return { vpcId: network.get("vpcId"), natGatewayCount: network.get("natGatewayCount") };
    };
    const read = (up: LayerRun, config: Record<string, unknown> = {}) =>
      runLayer("compute", { stack: "dev", config, upstream: [up], program: consumer });

    it("reads typed values from the configured stack", async () => {
      const run = await read(upstream({ contractVersion: CONTRACT_VERSIONS.network, vpcId: "vpc-1", natGatewayCount: 0 }));
      assert.deepEqual(run.exports, { vpcId: "vpc-1", natGatewayCount: 0 });
      assert.deepEqual(run.stackReferences, ["organization/network/dev"]);

      const custom = await read(upstream({ contractVersion: 1, vpcId: "vpc-2", natGatewayCount: 1 }, "acme/network/staging"), {
        networkStack: "acme/network/staging",
      });
      assert.equal(custom.exports.vpcId, "vpc-2");
    });

    it("defaults to the same-named stack in this stack's organization (Pulumi Cloud's, or `organization`)", async () => {
      const run = await runLayer("compute", {
        stack: "dev",
        organization: "acme",
        upstream: [upstream({ contractVersion: CONTRACT_VERSIONS.network, vpcId: "vpc-3", natGatewayCount: 1 }, "acme/network/dev")],
        program: consumer,
      });
      assert.deepEqual(run.stackReferences, ["acme/network/dev"]);
      assert.equal(run.exports.vpcId, "vpc-3");
    });

    it("fails naming the stack and the missing key", () =>
      assert.rejects(
        read(upstream({ contractVersion: CONTRACT_VERSIONS.network, natGatewayCount: 1 })),
        /stack organization\/network\/dev \(network layer\) does not export 'vpcId'/,
      ));

    it("fails on a contractVersion mismatch, naming the stack and both versions", async () => {
      await assert.rejects(
        read(upstream({ contractVersion: CONTRACT_VERSIONS.network + 1, vpcId: "vpc-1", natGatewayCount: 1 })),
        new RegExp(
          `stack organization/network/dev \\(network layer\\) exports contractVersion ${CONTRACT_VERSIONS.network + 1}; this layer reads version ${CONTRACT_VERSIONS.network}`,
        ),
      );
      await assert.rejects(read(upstream({ vpcId: "vpc-1", natGatewayCount: 1 })), /exports no contractVersion/);
    });

    it("names an undeployed upstream and says to deploy it first", async () => {
      await assert.rejects(
        read(upstream({})),
        /stack organization\/network\/dev \(network layer\) exports no contractVersion, so it was never deployed or was destroyed: deploy stacks\/network first/,
      );
    });

    it("raises one error object for every read of an undeployed upstream, so the engine prints the message once", async () => {
      // The Pulumi runtime reports each distinct error object once; four reads must reject with one.
      let reasons: Promise<unknown[]> = Promise.resolve([]);
      const reads = () => {
        const network = new LayerReference<NetworkContract>("network", new LayerConfig().stackReference("networkStack", "network"));
        const outputs = [network.get("vpcId"), network.get("natGatewayCount")] as unknown as { promise(): Promise<unknown> }[];
        const all = [...outputs.map((o) => o.promise()), network.value("availabilityZones"), network.value("vpcCidr")];
        reasons = Promise.allSettled(all).then((settled) => settled.map((r) => (r.status === "rejected" ? r.reason : undefined)));
        return {};
      };
      await runLayer("compute", { upstream: [upstream({})], program: reads });
      const errors = await reasons;
      assert.equal(errors.length, 4);
      assert.equal(new Set(errors).size, 1, "every read must reject with the same error object");
      assert.ok(errors[0] instanceof Error);
      assert.match(errors[0].message, /deploy stacks\/network first/);
    });

    it("keeps the message as written when the runtime prefixes it with the input it rejected", () => {
      const error = new UpstreamError("deploy stacks/network first");
      // What the Pulumi runtime does, in place, to an error that rejects a resource input.
      error.message = `error serializing property "vpcId": ${error.message}`;
      assert.equal(error.message, "deploy stacks/network first");
      assert.ok(pulumi.RunError.isInstance(error), "a RunError: printed without a stack trace");
    });

    it("value() reads plain values and fails the same way", async () => {
      const plain = () => {
        const network = new LayerReference<NetworkContract>("network", new LayerConfig().stackReference("networkStack", "network"));
        return { zones: network.value("availabilityZones") };
      };
      const ok = await runLayer("compute", { upstream: [upstream({ contractVersion: 1, availabilityZones: ["a", "b"] })], program: plain });
      assert.deepEqual(ok.exports.zones, ["a", "b"]);
      await assert.rejects(
        runLayer("compute", { upstream: [upstream({ contractVersion: 1 })], program: plain }),
        /stack organization\/network\/dev \(network layer\) does not export 'availabilityZones'/,
      );
      await assert.rejects(
        runLayer("compute", { upstream: [upstream({ contractVersion: 7, availabilityZones: [] })], program: plain }),
        /exports contractVersion 7; this layer reads version 1/,
      );
    });

    it("rejects a malformed stack name in config", () =>
      assert.rejects(
        read(upstream({}), { networkStack: "network-dev" }),
        /invalid config compute:networkStack = "network-dev": expected <org>\/<project>\/<stack>/,
      ));
  });

  describe("policy checks fail on crafted resources", () => {
    const SUFFIX = "dev";
    const FULL_TAGS = {
      Environment: SUFFIX,
      Service: "shared",
      Team: "platform",
      CostCenter: "engineering",
      Layer: "network",
      ManagedBy: "pulumi",
    };
    const provider = (name: string, tags: Record<string, string>): RecordedResource => ({
      type: "pulumi:providers:aws",
      name,
      inputs: { defaultTags: JSON.stringify({ tags }) },
      custom: true,
    });
    const res = (
      type: string,
      name: string,
      inputs: Record<string, any>,
      // null: created without any provider (the engine's default one).
      providerName: string | null = "network-aws",
    ): RecordedResource => ({
      type,
      name,
      inputs,
      provider: providerName ?? undefined,
      custom: true,
    });
    const crafted = (...resources: RecordedResource[]): LayerRun => ({
      layer: "network",
      stack: SUFFIX,
      stackName: `organization/network/${SUFFIX}`,
      resources: [provider("network-aws", FULL_TAGS), ...resources],
      invokes: [],
      stackReferences: [],
      exports: {},
    });
    const details = (vs: Violation[]) => vs.map((v) => `${v.rule} ${v.resource}: ${v.detail}`);
    const idOf = (r: RecordedResource) => mockResourceState(r.type, r.name, r.inputs).id;
    const policy = (statement: Record<string, unknown>) => JSON.stringify({ Version: "2012-10-17", Statement: [statement] });

    it("a well-formed run has no violations", () => {
      const run = crafted(
        res("aws:ecr/repository:Repository", "r", {
          name: "frontend-dev",
          imageTagMutability: "IMMUTABLE",
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfigurations: [{ encryptionType: "KMS" }],
          forceDelete: true,
        }),
      );
      assert.deepEqual(policyViolations(run, SUFFIX), []);
    });

    it("tags: a resource outside the tagging providers, and providers missing or mismatching tags", () => {
      const partial = Object.fromEntries(Object.entries(FULL_TAGS).filter(([k]) => k !== "CostCenter"));
      const run = crafted(
        res("aws:ec2/vpc:Vpc", "untagged", {}, null),
        res("aws:ec2/vpc:Vpc", "foreign", {}, "someone-elses-aws"),
        provider("partial-aws", partial),
        provider("wrong-aws", { ...FULL_TAGS, Environment: "prod", Layer: "compute" }),
      );
      assert.deepEqual(details(checkTags(run, SUFFIX)), [
        "tags aws:ec2/vpc:Vpc untagged: not created through a tagging provider of the network layer (provider: default)",
        "tags aws:ec2/vpc:Vpc foreign: not created through a tagging provider of the network layer (provider: someone-elses-aws)",
        "tags pulumi:providers:aws partial-aws: default tags lack CostCenter",
        "tags pulumi:providers:aws wrong-aws: Environment is prod, expected dev",
        "tags pulumi:providers:aws wrong-aws: Layer is compute, expected network",
      ]);
    });

    it("naming: a name without the suffix as a whole segment", () => {
      const run = crafted(
        res("aws:ecr/repository:Repository", "a", { name: "frontend" }),
        res("aws:ecr/repository:Repository", "b", { name: "frontend-devx" }),
        res("aws:cloudwatch/logGroup:LogGroup", "c", { name: "/ecs/frontend-dev" }),
        res("aws:ecs/taskDefinition:TaskDefinition", "d", { family: "frontend" }),
      );
      assert.deepEqual(details(checkNaming(run, SUFFIX)), [
        "naming aws:ecr/repository:Repository a: name frontend does not contain the suffix dev",
        "naming aws:ecr/repository:Repository b: name frontend-devx does not contain the suffix dev",
        "naming aws:ecs/taskDefinition:TaskDefinition d: family frontend does not contain the suffix dev",
      ]);
    });

    it("destroyable: deletion protection, ECR without forceDelete, secrets with a recovery window, buckets without forceDestroy", () => {
      const run = crafted(
        res("aws:lb/loadBalancer:LoadBalancer", "alb", { enableDeletionProtection: true }),
        res("aws:ecr/repository:Repository", "repo", {}),
        res("aws:secretsmanager/secret:Secret", "secret", { recoveryWindowInDays: 7 }),
        res("aws:s3/bucket:Bucket", "bucket", {}),
      );
      assert.deepEqual(
        checkDestroyable(run).map((v) => [v.rule, v.resource]),
        [
          ["destroyable", "aws:lb/loadBalancer:LoadBalancer alb"],
          ["destroyable", "aws:ecr/repository:Repository repo"],
          ["destroyable", "aws:secretsmanager/secret:Secret secret"],
          ["destroyable", "aws:s3/bucket:Bucket bucket"],
        ],
      );
    });

    it("iam: wildcard actions, star resources for scopable actions, statements without resources", () => {
      const run = crafted(
        res("aws:iam/rolePolicy:RolePolicy", "wild", { policy: policy({ Effect: "Allow", Action: ["s3:*"], Resource: "arn:aws:s3:::b" }) }),
        res("aws:iam/policy:Policy", "star", { policy: policy({ Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::b" }) }),
        res("aws:iam/rolePolicy:RolePolicy", "scopable", {
          policy: policy({ Effect: "Allow", Action: ["ecr:GetAuthorizationToken", "s3:GetObject"], Resource: "*" }),
        }),
        res("aws:iam/rolePolicy:RolePolicy", "nothing", {
          policy: policy({ Sid: "Empty", Effect: "Allow", Action: "s3:GetObject", Resource: [] }),
        }),
        res("aws:iam/role:Role", "inline", {
          inlinePolicies: [{ policy: policy({ Effect: "Allow", Action: "logs:*", Resource: "arn:x" }) }],
        }),
        // Allowed: AWS requires `*` for this action; Deny statements are not checked.
        res("aws:iam/rolePolicy:RolePolicy", "ok", {
          policy: policy({ Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" }),
        }),
        res("aws:iam/rolePolicy:RolePolicy", "deny", { policy: policy({ Effect: "Deny", Action: "*", Resource: "*" }) }),
      );
      assert.deepEqual(details(checkIam(run)), [
        "iam aws:iam/rolePolicy:RolePolicy wild: wildcard action s3:*",
        "iam aws:iam/policy:Policy star: wildcard action *",
        'iam aws:iam/rolePolicy:RolePolicy scopable: Resource "*" for s3:GetObject, which can be scoped to resources',
        "iam aws:iam/rolePolicy:RolePolicy nothing: statement Empty names no resource",
        "iam aws:iam/role:Role inline: wildcard action logs:*",
      ]);
    });

    it("logs: no retention, no KMS key", () => {
      const run = crafted(
        res("aws:cloudwatch/logGroup:LogGroup", "bare", { name: "/ecs/a-dev" }),
        res("aws:cloudwatch/logGroup:LogGroup", "ok", { name: "/ecs/b-dev", retentionInDays: 7, kmsKeyId: "arn:k" }),
      );
      assert.deepEqual(details(checkLogGroups(run)), [
        "logs aws:cloudwatch/logGroup:LogGroup bare: no retention",
        "logs aws:cloudwatch/logGroup:LogGroup bare: no KMS key",
      ]);
    });

    it("ingress: the internet allowed anywhere but the ALB group's 80/443", () => {
      const albSg = res("aws:ec2/securityGroup:SecurityGroup", "alb-sg", { name: "alb-sg-dev" });
      const appSg = res("aws:ec2/securityGroup:SecurityGroup", "app-sg", { name: "app-sg-dev" });
      const lookalike = res("aws:ec2/securityGroup:SecurityGroup", "salb-sg", { name: "salb-sg-dev" });
      const inlineOpen = res("aws:ec2/securityGroup:SecurityGroup", "inline-sg", {
        name: "inline-dev",
        ingress: [{ fromPort: 0, toPort: 65535, cidrBlocks: ["0.0.0.0/0"] }],
      });
      const rule = (name: string, sg: RecordedResource, port: number, cidr: Record<string, string>) =>
        res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name, {
          securityGroupId: idOf(sg),
          fromPort: port,
          toPort: port,
          ...cidr,
        });
      const run = crafted(
        albSg,
        appSg,
        lookalike,
        inlineOpen,
        rule("alb-443", albSg, 443, { cidrIpv4: "0.0.0.0/0" }),
        rule("alb-80-v6", albSg, 80, { cidrIpv6: "::/0" }),
        rule("alb-22", albSg, 22, { cidrIpv4: "0.0.0.0/0" }),
        rule("app-443", appSg, 443, { cidrIpv4: "0.0.0.0/0" }),
        rule("app-from-vpc", appSg, 8080, { cidrIpv4: "10.0.0.0/16" }),
        rule("lookalike-443", lookalike, 443, { cidrIpv4: "0.0.0.0/0" }),
        res("aws:ec2/securityGroupRule:SecurityGroupRule", "legacy", {
          type: "ingress",
          securityGroupId: idOf(appSg),
          fromPort: 80,
          toPort: 80,
          cidrBlocks: ["0.0.0.0/0"],
        }),
      );
      assert.deepEqual(
        checkIngress(run).map((v) => v.resource),
        [
          "aws:ec2/securityGroup:SecurityGroup inline-sg",
          "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule alb-22",
          "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule app-443",
          "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule lookalike-443",
          "aws:ec2/securityGroupRule:SecurityGroupRule legacy",
        ],
      );
      assert.match(checkIngress(run)[1].detail, /open to the internet on 22-22/);
    });

    it("ecr: mutable tags, no scan on push, no KMS", () => {
      const run = crafted(
        res("aws:ecr/repository:Repository", "weak", {
          name: "weak-dev",
          imageTagMutability: "MUTABLE",
          imageScanningConfiguration: { scanOnPush: false },
          encryptionConfigurations: [{ encryptionType: "AES256" }],
          forceDelete: true,
        }),
      );
      assert.deepEqual(details(checkRepositories(run)), [
        "ecr aws:ecr/repository:Repository weak: tags are mutable",
        "ecr aws:ecr/repository:Repository weak: scan on push is off",
        "ecr aws:ecr/repository:Repository weak: not encrypted with KMS",
      ]);
    });

    it("policyViolations gathers every rule and formatViolations names rule and resource", () => {
      const run = crafted(
        res("aws:cloudwatch/logGroup:LogGroup", "lg", { name: "/ecs/x" }, null),
        res("aws:lb/loadBalancer:LoadBalancer", "alb", { name: "alb-dev", enableDeletionProtection: true }),
      );
      const vs = policyViolations(run, SUFFIX);
      // The ALB also lacks access logs and a WAF, which their own specs (test/policy.spec.ts) cover.
      assert.deepEqual([...new Set(vs.map((v) => v.rule))].sort(), ["alb-access-logs", "alb-waf", "destroyable", "logs", "naming", "tags"]);
      assert.match(formatViolations(vs), /^\[tags\] aws:cloudwatch\/logGroup:LogGroup lg: /m);
      assert.match(formatViolations(vs), /^\[destroyable\] aws:lb\/loadBalancer:LoadBalancer alb: deletion protection is on$/m);
    });
  });
});
