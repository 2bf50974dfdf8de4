/**
 * The compute layer, run under the mock engine after the real network and registry programs, so
 * every upstream value it uses (subnets, listeners, security group, repositories) is a real export.
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { capacityProviderStrategy } from "../stacks/compute/capacity";
import { loadOptimizerActions, OPTIMIZER_ACTION_SCOPES, optimizerPolicy, OptimizerTargets } from "../stacks/compute/optimizer-policy";
import { ACTIONS_REQUIRING_STAR_RESOURCE, PolicyDocument, PolicyStatement } from "../stacks/shared/iam";
import { DEFAULT_SERVICE_NAMES } from "../stacks/shared/catalog";
import { ComputeContract } from "../stacks/shared/contracts";
import { byName, LayerRun, ofType, RecordedResource, REPO_ROOT, runChain, runLayer } from "../scripts/plan/mock-engine";
import { schemasFromSource, validateValue } from "../scripts/contracts/check";
import { MOCK_ACCOUNT, mockResourceState, PROD_NETWORK_CONFIG } from "../scripts/plan/mock-aws";
import { formatViolations, policyViolations } from "./harness/policy";

const T = {
  cluster: "aws:ecs/cluster:Cluster",
  capacity: "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
  service: "aws:ecs/service:Service",
  task: "aws:ecs/taskDefinition:TaskDefinition",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  policy: "aws:iam/policy:Policy",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  key: "aws:kms/key:Key",
  param: "aws:ssm/parameter:Parameter",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  tg: "aws:lb/targetGroup:TargetGroup",
  rule: "aws:lb/listenerRule:ListenerRule",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  namespace: "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
  discovery: "aws:servicediscovery/service:Service",
  target: "aws:appautoscaling/target:Target",
  scaling: "aws:appautoscaling/policy:Policy",
};

const SERVICES = [...DEFAULT_SERVICE_NAMES];
type Runs = Record<string, LayerRun>;

/** The state the mock engine returned for a resource (its ARN, id, ...). */
function stateOf(r: RecordedResource): Record<string, any> {
  return mockResourceState(r.type, r.name, r.inputs).state;
}

const arnOf = (run: LayerRun, type: string, name: string): string => stateOf(byName(run, type, name)).arn;
const idOf = (run: LayerRun, type: string, name: string): string => stateOf(byName(run, type, name)).id;

function doc(r: RecordedResource, field = "policy"): PolicyDocument {
  return JSON.parse(r.inputs[field]);
}

function statement(d: PolicyDocument, sid: string): PolicyStatement {
  const st = d.Statement.find((s) => s.Sid === sid);
  assert.ok(st, `no statement ${sid} in ${JSON.stringify(d)}`);
  return st;
}

const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

function container(run: LayerRun, svc: string): Record<string, any> {
  const defs = JSON.parse(byName(run, T.task, `${svc}-task`).inputs.containerDefinitions);
  assert.equal(defs.length, 1);
  return defs[0];
}

function isSecret(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[specialSigKey] === specialSecretSig;
}

/** Identifiers of a service that no other service's roles may mention. */
function ownedNames(svc: string, suffix: string): string[] {
  return [`/ecs/${svc}-${suffix}`, `repository/${svc}-${suffix}`, `parameter/${suffix}/${svc}/`, `secret:${svc}/`];
}

async function chain(
  stack: string,
  configs: Partial<Record<"network" | "registry" | "compute", Record<string, unknown>>> = {},
): Promise<Runs> {
  return runChain(["network", "registry", "compute"], {
    stack,
    config: stack === "prod" ? { tier: "prod", ...PROD_NETWORK_CONFIG } : { tier: "dev" },
    configs,
  });
}

describe("compute layer", () => {
  let dev: Runs;
  let prod: Runs;

  before(async () => {
    dev = await chain("dev");
    prod = await chain("prod");
  });

  describe("wiring through the real upstream exports", () => {
    it("reads the network and registry stacks it is configured with", () => {
      assert.deepEqual(dev.compute.stackReferences.sort(), ["organization/network/dev", "organization/registry/dev"]);
    });

    it("runs every service in the private subnets, without a public IP, in its own security group", () => {
      for (const svc of SERVICES) {
        const net = byName(dev.compute, T.service, `${svc}-service`).inputs.networkConfiguration;
        assert.deepEqual(net.subnets, dev.network.exports.privateSubnetIds);
        assert.equal(net.assignPublicIp, false);
        assert.deepEqual(net.securityGroups, [idOf(dev.compute, T.sg, `${svc}-sg`)]);
        assert.equal(byName(dev.compute, T.sg, `${svc}-sg`).inputs.vpcId, dev.network.exports.vpcId);
      }
    });

    it("puts the listener rules on the HTTP listener when the network has no certificate", () => {
      assert.equal(dev.network.exports.httpsListenerArn, null);
      for (const svc of ["frontend", "api-gateway"]) {
        assert.equal(byName(dev.compute, T.rule, `${svc}-rule`).inputs.listenerArn, dev.network.exports.httpListenerArn);
      }
      assert.equal(ofType(dev.compute, T.rule).length, 2, "internal services get no rule");
    });

    it("puts them on the HTTPS listener when the network has one", async () => {
      const runs = await chain("dev", { network: { certificateArn: `arn:aws:acm:us-east-1:${MOCK_ACCOUNT}:certificate/0a1b2c3d` } });
      assert.ok(runs.network.exports.httpsListenerArn);
      for (const svc of ["frontend", "api-gateway"]) {
        assert.equal(byName(runs.compute, T.rule, `${svc}-rule`).inputs.listenerArn, runs.network.exports.httpsListenerArn);
      }
    });

    it("lets each execution role pull only from its own repository, by the registry's ARN", () => {
      for (const svc of SERVICES) {
        const pull = statement(doc(byName(dev.compute, T.rolePolicy, `${svc}-execution-policy`)), "PullOwnImage");
        assert.deepEqual(list(pull.Resource), [dev.registry.exports.repositories[svc].arn]);
        assert.deepEqual(list(pull.Action).sort(), ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]);
      }
    });

    it("admits the ALB security group from the network layer to public services only", () => {
      const fromAlb = ofType(dev.compute, T.ingress).filter(
        (r) => r.inputs.referencedSecurityGroupId === dev.network.exports.albSecurityGroupId,
      );
      assert.deepEqual(fromAlb.map((r) => r.name).sort(), ["api-gateway-from-alb", "frontend-from-alb"]);
      for (const r of fromAlb) assert.deepEqual([r.inputs.fromPort, r.inputs.toPort, r.inputs.ipProtocol], [80, 80, "tcp"]);
    });

    it("registers target groups in the network's VPC", () => {
      for (const r of ofType(dev.compute, T.tg)) assert.equal(r.inputs.vpcId, dev.network.exports.vpcId);
    });
  });

  describe("cluster", () => {
    it("is ecs-cluster-{suffix} with Container Insights and a Tier tag for the optimizer's discovery", () => {
      const c = byName(dev.compute, T.cluster, "cluster").inputs;
      assert.equal(c.name, "ecs-cluster-dev");
      assert.deepEqual(c.settings, [{ name: "containerInsights", value: "enabled" }]);
      assert.deepEqual(c.tags, { Tier: "dev" });
      assert.deepEqual(byName(prod.compute, T.cluster, "cluster").inputs.tags, { Tier: "prod" });
    });

    it("offers FARGATE and FARGATE_SPOT, defaulting to on-demand", () => {
      const cp = byName(dev.compute, T.capacity, "cluster-capacity-providers").inputs;
      assert.equal(cp.clusterName, "ecs-cluster-dev");
      assert.deepEqual(cp.capacityProviders, ["FARGATE", "FARGATE_SPOT"]);
      assert.deepEqual(cp.defaultCapacityProviderStrategies, [{ capacityProvider: "FARGATE", base: 0, weight: 1 }]);
    });

    it("has a rotating platform key that CloudWatch Logs may use for this account's log groups", () => {
      const key = byName(dev.compute, T.key, "platform-key").inputs;
      assert.equal(key.enableKeyRotation, true);
      assert.equal(key.deletionWindowInDays, 7);
      const logs = JSON.parse(key.policy).Statement.find((s: any) => s.Principal.Service === "logs.us-east-1.amazonaws.com");
      assert.ok(logs, "the key policy does not name CloudWatch Logs");
      assert.deepEqual(logs.Condition, {
        ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:us-east-1:${MOCK_ACCOUNT}:log-group:*` },
      });
      assert.ok(!logs.Action.some((a: string) => a.includes("*")));
    });

    it("registers every service in the private DNS namespace {suffix}.internal (A records, multivalue)", () => {
      const ns = byName(dev.compute, T.namespace, "namespace").inputs;
      assert.equal(ns.name, "dev.internal");
      assert.equal(ns.vpc, dev.network.exports.vpcId);
      for (const svc of SERVICES) {
        const d = byName(dev.compute, T.discovery, `${svc}-discovery`).inputs;
        assert.equal(d.name, `${svc}-dev`);
        assert.deepEqual(d.dnsConfig, { namespaceId: "namespace-id", dnsRecords: [{ type: "A", ttl: 10 }], routingPolicy: "MULTIVALUE" });
        assert.deepEqual(byName(dev.compute, T.service, `${svc}-service`).inputs.serviceRegistries, {
          registryArn: arnOf(dev.compute, T.discovery, `${svc}-discovery`),
        });
      }
    });
  });

  describe("catalog defaults as deployed", () => {
    const sizes: Record<string, Record<string, [string, string]>> = {
      dev: { frontend: ["512", "1024"], "api-gateway": ["512", "1024"], "processing-service": ["1024", "2048"] },
      prod: { frontend: ["512", "1024"], "api-gateway": ["1024", "2048"], "processing-service": ["2048", "4096"] },
    };

    it("sizes task definitions per tier; Fargate, awsvpc, x86_64, family {service}-{suffix}", () => {
      for (const [tier, runs] of [
        ["dev", () => dev],
        ["prod", () => prod],
      ] as const) {
        for (const svc of SERVICES) {
          const td = byName(runs().compute, T.task, `${svc}-task`).inputs;
          assert.deepEqual([td.cpu, td.memory], sizes[tier][svc], `${tier} ${svc}`);
          assert.equal(td.family, `${svc}-${tier}`);
          assert.equal(td.networkMode, "awsvpc");
          assert.deepEqual(td.requiresCompatibilities, ["FARGATE"]);
          assert.deepEqual(td.runtimePlatform, { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" });
        }
      }
    });

    it("runs 3 tasks and scales between 2 and 6 (dev) or 10 (prod) on CPU 70% and memory 75%", () => {
      for (const [runs, max] of [
        [dev, 6],
        [prod, 10],
      ] as const) {
        const suffix = runs.compute.stack;
        for (const svc of SERVICES) {
          assert.equal(byName(runs.compute, T.service, `${svc}-service`).inputs.desiredCount, 3);
          const target = byName(runs.compute, T.target, `${svc}-scaling-target`).inputs;
          assert.deepEqual(
            [target.minCapacity, target.maxCapacity, target.resourceId, target.scalableDimension, target.serviceNamespace],
            [2, max, `service/ecs-cluster-${suffix}/${svc}-${suffix}`, "ecs:service:DesiredCount", "ecs"],
          );
          for (const [metric, type, value] of [
            ["cpu", "ECSServiceAverageCPUUtilization", 70],
            ["memory", "ECSServiceAverageMemoryUtilization", 75],
          ] as const) {
            const p = byName(runs.compute, T.scaling, `${svc}-${metric}-scaling`).inputs;
            assert.equal(p.policyType, "TargetTrackingScaling");
            assert.equal(p.resourceId, target.resourceId);
            assert.deepEqual(p.targetTrackingScalingPolicyConfiguration, {
              predefinedMetricSpecification: { predefinedMetricType: type },
              targetValue: value,
              scaleInCooldown: 300,
              scaleOutCooldown: 60,
            });
          }
        }
      }
    });

    it("leaves the desired count to autoscaling after creation (ignoreChanges, with the reason)", () => {
      // Resource options are not visible to the mock engine; the declaration is checked instead.
      const source = fs.readFileSync(path.join(REPO_ROOT, "stacks", "compute", "service.ts"), "utf8");
      assert.match(
        source,
        /\/\/ Autoscaling owns the desired count[^\n]*\n[^\n]*\n\s*scope\.opts\(\{ dependsOn, ignoreChanges: \["desiredCount"\] \}\)/,
      );
    });

    it("keeps logs in /ecs/{service}-{suffix}, 7 days in dev and 30 in prod, encrypted with the platform key", () => {
      for (const [runs, days] of [
        [dev, 7],
        [prod, 30],
      ] as const) {
        const key = arnOf(runs.compute, T.key, "platform-key");
        for (const svc of SERVICES) {
          const lg = byName(runs.compute, T.logGroup, `${svc}-logs`).inputs;
          assert.deepEqual([lg.name, lg.retentionInDays, lg.kmsKeyId], [`/ecs/${svc}-${runs.compute.stack}`, days, key]);
        }
      }
    });

    it("health-checks the container and logs through awslogs with a stream prefix, read-only root with scratch mounts", () => {
      for (const svc of SERVICES) {
        const c = container(dev.compute, svc);
        assert.equal(c.name, svc);
        assert.equal(c.image, "public.ecr.aws/nginx/nginx:stable");
        assert.deepEqual(c.portMappings, [{ containerPort: 80, protocol: "tcp" }]);
        assert.equal(c.healthCheck.command[0], "CMD-SHELL");
        assert.match(c.healthCheck.command[1], /http:\/\/localhost:80\/ /);
        assert.deepEqual([c.healthCheck.interval, c.healthCheck.timeout, c.healthCheck.retries, c.healthCheck.startPeriod], [30, 5, 3, 60]);
        assert.deepEqual(c.logConfiguration, {
          logDriver: "awslogs",
          options: { "awslogs-group": `/ecs/${svc}-dev`, "awslogs-region": "us-east-1", "awslogs-stream-prefix": svc },
        });
        assert.equal(c.readonlyRootFilesystem, true);
        const volumes = byName(dev.compute, T.task, `${svc}-task`).inputs.volumes.map((v: any) => v.name);
        assert.deepEqual(
          c.mountPoints.map((m: any) => m.containerPath),
          ["/tmp", "/var/cache/nginx", "/run"],
        );
        assert.deepEqual(
          c.mountPoints.map((m: any) => m.sourceVolume),
          volumes,
        );
      }
    });

    it("tags each service Critical=true|false", () => {
      const tags = Object.fromEntries(SERVICES.map((s) => [s, byName(dev.compute, T.service, `${s}-service`).inputs.tags]));
      assert.deepEqual(tags, {
        frontend: { Critical: "true" },
        "api-gateway": { Critical: "true" },
        "processing-service": { Critical: "false" },
      });
    });

    it("names services {service}-{suffix} in ecs-cluster-{suffix}, with circuit breaker and rollback", () => {
      for (const svc of SERVICES) {
        const s = byName(dev.compute, T.service, `${svc}-service`).inputs;
        assert.equal(s.name, `${svc}-dev`);
        assert.equal(s.cluster, dev.compute.exports.clusterArn);
        assert.equal(s.taskDefinition, arnOf(dev.compute, T.task, `${svc}-task`));
        assert.deepEqual(s.deploymentCircuitBreaker, { enable: true, rollback: true });
        assert.equal(s.launchType, undefined, "capacity providers, not a launch type, place the tasks");
      }
    });

    it("gives load-balanced services a 300 s health-check grace period (internal ones rely on the container start period)", () => {
      assert.equal(byName(dev.compute, T.service, "frontend-service").inputs.healthCheckGracePeriodSeconds, 300);
      assert.equal(byName(dev.compute, T.service, "api-gateway-service").inputs.healthCheckGracePeriodSeconds, 300);
      assert.equal(byName(dev.compute, T.service, "processing-service-service").inputs.healthCheckGracePeriodSeconds, undefined);
    });

    it("creates ip target groups with per-service health checks and names within 32 characters", () => {
      for (const svc of ["frontend", "api-gateway"]) {
        const tg = byName(dev.compute, T.tg, `${svc}-tg`).inputs;
        assert.equal(tg.name, `tg-${svc}-dev`);
        assert.ok(tg.name.length <= 32);
        assert.deepEqual([tg.targetType, tg.protocol, tg.port], ["ip", "HTTP", 80]);
        assert.deepEqual(
          [
            tg.healthCheck.path,
            tg.healthCheck.healthyThreshold,
            tg.healthCheck.unhealthyThreshold,
            tg.healthCheck.interval,
            tg.healthCheck.timeout,
            tg.healthCheck.matcher,
          ],
          ["/", 2, 3, 30, 5, "200-399"],
        );
        assert.deepEqual(byName(dev.compute, T.service, `${svc}-service`).inputs.loadBalancers, [
          { targetGroupArn: arnOf(dev.compute, T.tg, `${svc}-tg`), containerName: svc, containerPort: 80 },
        ]);
      }
    });

    it("routes /api/* before the catch-all / with priorities derived from the catalog", () => {
      const api = byName(dev.compute, T.rule, "api-gateway-rule").inputs;
      const front = byName(dev.compute, T.rule, "frontend-rule").inputs;
      assert.deepEqual(api.conditions, [{ pathPattern: { values: ["/api/*"] } }]);
      assert.deepEqual(front.conditions, [{ pathPattern: { values: ["/*"] } }]);
      assert.ok(api.priority < front.priority);
      assert.deepEqual(api.actions, [{ type: "forward", targetGroupArn: arnOf(dev.compute, T.tg, "api-gateway-tg") }]);
    });

    it("applies per-service catalog settings: port, path, health thresholds, ARM64, writable root", async () => {
      const run = await runLayer("compute", {
        stack: "dev",
        upstream: [dev.network, dev.registry],
        config: {
          services: {
            "api-gateway": {
              port: 8080,
              healthCheckPath: "/healthz",
              architecture: "ARM64",
              readonlyRootFilesystem: false,
              healthCheck: { healthyThreshold: 3, unhealthyThreshold: 5, matcher: "200" },
            },
          },
        },
      });
      const td = byName(run, T.task, "api-gateway-task").inputs;
      assert.equal(td.runtimePlatform.cpuArchitecture, "ARM64");
      const c = container(run, "api-gateway");
      assert.equal(c.readonlyRootFilesystem, false);
      assert.deepEqual(c.mountPoints, []);
      assert.deepEqual(c.portMappings, [{ containerPort: 8080, protocol: "tcp" }]);
      assert.match(c.healthCheck.command[1], /http:\/\/localhost:8080\/healthz/);
      const tg = byName(run, T.tg, "api-gateway-tg").inputs;
      assert.deepEqual(
        [tg.port, tg.healthCheck.path, tg.healthCheck.healthyThreshold, tg.healthCheck.unhealthyThreshold, tg.healthCheck.matcher],
        [8080, "/healthz", 3, 5, "200"],
      );
      assert.equal(byName(run, T.ingress, "api-gateway-from-frontend").inputs.fromPort, 8080);
      assert.equal(byName(run, T.egress, "frontend-to-api-gateway").inputs.toPort, 8080);
      assert.equal(byName(run, T.task, "frontend-task").inputs.runtimePlatform.cpuArchitecture, "X86_64");
    });

    it("runs <repository>:<imageTag> once a tag is configured", async () => {
      const run = await runLayer("compute", {
        stack: "dev",
        upstream: [dev.network, dev.registry],
        config: { services: { frontend: { imageTag: "1.4.2" } } },
      });
      assert.equal(container(run, "frontend").image, `${dev.registry.exports.repositories.frontend.url}:1.4.2`);
      assert.equal(container(run, "api-gateway").image, "public.ecr.aws/nginx/nginx:stable");
    });

    it("exports baselineCpu/baselineMemory: the deployed size, or rightsizedFrom once the optimizer wrote it", async () => {
      for (const [runs, tier] of [
        [dev, "dev"],
        [prod, "prod"],
      ] as const) {
        for (const [svc, out] of Object.entries((runs.compute.exports as ComputeContract).services)) {
          assert.deepEqual([out.baselineCpu, out.baselineMemory], [out.cpu, out.memory], `${tier} ${svc}`);
        }
      }
      const run = await runLayer("compute", {
        stack: "prod",
        upstream: [prod.network, prod.registry],
        config: {
          tier: "prod",
          services: {
            "processing-service": {
              sizes: { prod: { cpu: 1024, memory: 2048 } },
              rightsizedFrom: { prod: { cpu: 2048, memory: 4096 } },
            },
          },
        },
      });
      const out = (run.exports as ComputeContract).services["processing-service"];
      assert.deepEqual([out.cpu, out.memory, out.baselineCpu, out.baselineMemory], [1024, 2048, 2048, 4096]);
      assert.deepEqual(
        [byName(run, T.task, "processing-service-task").inputs.cpu, byName(run, T.task, "processing-service-task").inputs.memory],
        ["1024", "2048"],
      );
    });
  });

  describe("security groups from the catalog's allowedFrom", () => {
    const ingressOf = (run: LayerRun, svc: string) =>
      ofType(run, T.ingress)
        .filter((r) => r.inputs.securityGroupId === idOf(run, T.sg, `${svc}-sg`))
        .map((r) => r.inputs.referencedSecurityGroupId)
        .sort();

    it("frontend from the ALB only; api-gateway from the ALB and frontend; processing-service from api-gateway only", () => {
      const c = dev.compute;
      const alb = dev.network.exports.albSecurityGroupId;
      assert.deepEqual(ingressOf(c, "frontend"), [alb]);
      assert.deepEqual(ingressOf(c, "api-gateway"), [alb, idOf(c, T.sg, "frontend-sg")].sort());
      assert.deepEqual(ingressOf(c, "processing-service"), [idOf(c, T.sg, "api-gateway-sg")]);
      assert.ok(
        ofType(c, T.ingress).every((r) => !r.inputs.cidrIpv4),
        "no task accepts traffic by CIDR",
      );
    });

    it("lets callers send only to the services that admit them, plus HTTPS out", () => {
      const c = dev.compute;
      const egress = ofType(c, T.egress)
        .map((r) => r.name)
        .sort();
      assert.deepEqual(egress, [
        "api-gateway-to-https",
        "api-gateway-to-processing-service",
        "frontend-to-api-gateway",
        "frontend-to-https",
        "processing-service-to-https",
      ]);
      const https = byName(c, T.egress, "processing-service-to-https").inputs;
      assert.deepEqual([https.cidrIpv4, https.fromPort, https.toPort], ["0.0.0.0/0", 443, 443]);
    });

    it("follows the catalog, not a fixed list", async () => {
      const run = await runLayer("compute", {
        stack: "dev",
        upstream: [dev.network, dev.registry],
        config: { services: { "processing-service": { allowedFrom: ["api-gateway", "frontend"] } } },
      });
      assert.deepEqual(ingressOf(run, "processing-service"), [idOf(run, T.sg, "api-gateway-sg"), idOf(run, T.sg, "frontend-sg")].sort());
    });
  });

  describe("Spot shares per criticality", () => {
    it("keeps critical services on FARGATE only", () => {
      for (const svc of ["frontend", "api-gateway"]) {
        assert.deepEqual(byName(dev.compute, T.service, `${svc}-service`).inputs.capacityProviderStrategies, [
          { capacityProvider: "FARGATE", base: 0, weight: 1 },
        ]);
      }
    });

    it("runs non-critical services 70% on Spot above one on-demand task by default", () => {
      const s = byName(dev.compute, T.service, "processing-service-service").inputs.capacityProviderStrategies;
      assert.deepEqual(s, [
        { capacityProvider: "FARGATE", base: 1, weight: 3 },
        { capacityProvider: "FARGATE_SPOT", base: 0, weight: 7 },
      ]);
      assert.deepEqual(s, capacityProviderStrategy(false, 0.7));
    });

    it("takes a higher spotShare, and a non-critical service added to the catalog", async () => {
      const run = await runLayer("compute", {
        stack: "dev",
        upstream: [dev.network, dev.registry],
        config: { spotShare: 0.8, services: { frontend: { critical: false } } },
      });
      for (const svc of ["frontend", "processing-service"]) {
        assert.deepEqual(byName(run, T.service, `${svc}-service`).inputs.capacityProviderStrategies, [
          { capacityProvider: "FARGATE", base: 1, weight: 1 },
          { capacityProvider: "FARGATE_SPOT", base: 0, weight: 4 },
        ]);
      }
    });

    it("refuses a spotShare below the required 70%", async () => {
      await assert.rejects(
        runLayer("compute", { stack: "dev", upstream: [dev.network, dev.registry], config: { spotShare: 0.5 } }),
        /invalid config compute:spotShare = "0.5": expected a number from 0.7 to 1/,
      );
    });
  });

  describe("IAM per service", () => {
    it("execution roles: pull own image, write own log streams, read own parameters and secrets, decrypt with the platform key", () => {
      for (const runs of [dev, prod]) {
        const c = runs.compute;
        const suffix = c.stack;
        const key = arnOf(c, T.key, "platform-key");
        for (const svc of SERVICES) {
          const d = doc(byName(c, T.rolePolicy, `${svc}-execution-policy`));
          const login = statement(d, "EcrLogin");
          assert.deepEqual([list(login.Action), login.Resource], [["ecr:GetAuthorizationToken"], "*"]);
          const logs = statement(d, "WriteOwnLogs");
          assert.deepEqual(list(logs.Action), ["logs:CreateLogStream", "logs:PutLogEvents"]);
          assert.deepEqual(list(logs.Resource), [`${arnOf(c, T.logGroup, `${svc}-logs`)}:log-stream:*`]);
          const params = ofType(c, T.param).filter((p) => p.name.startsWith(`${svc}-param-`));
          assert.deepEqual(list(statement(d, "ReadOwnParameters").Resource).sort(), params.map((p) => stateOf(p).arn).sort());
          const secrets = ofType(c, T.secret).filter((s) => s.name.startsWith(`${svc}-secret-`));
          if (secrets.length)
            assert.deepEqual(list(statement(d, "ReadOwnSecrets").Resource).sort(), secrets.map((s) => stateOf(s).arn).sort());
          else assert.ok(!d.Statement.some((s) => s.Sid === "ReadOwnSecrets"));
          const decrypt = statement(d, "DecryptOwnConfiguration");
          assert.deepEqual([list(decrypt.Action), decrypt.Resource], [["kms:Decrypt"], key]);
          assert.equal(byName(c, T.rolePolicy, `${svc}-execution-policy`).inputs.role, `exec-${svc}-${suffix}`);
        }
      }
    });

    it("never names another service's log group, repository, parameters or secrets", () => {
      for (const runs of [dev, prod]) {
        const c = runs.compute;
        for (const svc of SERVICES) {
          const mine = [`${svc}-execution-policy`, `${svc}-task-policy`]
            .map((n) => c.resources.find((r) => r.type === T.rolePolicy && r.name === n))
            .filter((r): r is RecordedResource => !!r)
            .map((r) => r.inputs.policy as string)
            .join("\n");
          for (const other of SERVICES.filter((o) => o !== svc)) {
            for (const name of ownedNames(other, c.stack)) assert.ok(!mine.includes(name), `${svc}'s roles mention ${name}`);
          }
        }
      }
    });

    it("task roles are separate and carry only the catalog's statements (none by default)", () => {
      for (const svc of SERVICES) {
        const exec = byName(dev.compute, T.role, `${svc}-execution-role`).inputs;
        const task = byName(dev.compute, T.role, `${svc}-task-role`).inputs;
        assert.notEqual(exec.name, task.name);
        assert.equal(task.name, `task-${svc}-dev`);
        assert.equal(
          dev.compute.resources.find((r) => r.name === `${svc}-task-policy`),
          undefined,
        );
        assert.equal(byName(dev.compute, T.task, `${svc}-task`).inputs.taskRoleArn, arnOf(dev.compute, T.role, `${svc}-task-role`));
        assert.equal(
          byName(dev.compute, T.task, `${svc}-task`).inputs.executionRoleArn,
          arnOf(dev.compute, T.role, `${svc}-execution-role`),
        );
      }
    });

    it("lets only this account's ECS tasks assume the task and execution roles", () => {
      for (const r of ofType(dev.compute, T.role).filter((x) => x.name !== "ecs-infrastructure-role")) {
        const trust = JSON.parse(r.inputs.assumeRolePolicy);
        assert.deepEqual(trust.Statement, [
          {
            Effect: "Allow",
            Principal: { Service: "ecs-tasks.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: {
              StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
              ArnLike: { "aws:SourceArn": `arn:aws:ecs:us-east-1:${MOCK_ACCOUNT}:*` },
            },
          },
        ]);
      }
    });

    it("grants a task role exactly the catalog's statements", async () => {
      const statements = [{ sid: "ReadInput", actions: ["s3:GetObject"], resources: ["arn:aws:s3:::input-dev/*"] }];
      const run = await runLayer("compute", {
        stack: "dev",
        upstream: [dev.network, dev.registry],
        config: { services: { "processing-service": { taskRolePolicies: statements } } },
      });
      const p = byName(run, T.rolePolicy, "processing-service-task-policy").inputs;
      assert.equal(p.role, "task-processing-service-dev");
      assert.deepEqual(JSON.parse(p.policy).Statement, [
        { Sid: "ReadInput", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::input-dev/*"] },
      ]);
      assert.deepEqual(policyViolations(run, "dev"), []);
    });
  });

  describe("configuration: SSM parameters and generated secrets, only as references", () => {
    it("stores settings as SecureString parameters under /{suffix}/{service}/ with the platform key", () => {
      const key = arnOf(dev.compute, T.key, "platform-key");
      for (const svc of SERVICES) {
        const p = byName(dev.compute, T.param, `${svc}-param-LOG_LEVEL`).inputs;
        assert.deepEqual([p.name, p.type, p.keyId], [`/dev/${svc}/LOG_LEVEL`, "SecureString", key]);
      }
    });

    it("creates KMS-encrypted, immediately deletable secrets named {service}/{NAME}-{suffix} with generated values", () => {
      const key = arnOf(dev.compute, T.key, "platform-key");
      const secrets = ofType(dev.compute, T.secret).map((s) => s.inputs);
      assert.deepEqual(secrets.map((s) => s.name).sort(), ["api-gateway/API_KEY-dev", "processing-service/DB_PASSWORD-dev"]);
      for (const s of secrets) assert.deepEqual([s.kmsKeyId, s.recoveryWindowInDays], [key, 0]);
      const generated = dev.compute.invokes.filter((i) => i.token === "aws:secretsmanager/getRandomPassword:getRandomPassword");
      assert.equal(generated.length, 2);
      for (const g of generated) assert.ok(g.inputs.passwordLength >= 32);
    });

    it("passes secret values only as Pulumi secrets, and they appear in no other input or export", () => {
      const versions = ofType(dev.compute, T.secretVersion);
      assert.equal(versions.length, 2);
      const rest = JSON.stringify({
        resources: dev.compute.resources.filter((r) => r.type !== T.secretVersion),
        exports: dev.compute.exports,
      });
      for (const v of versions) {
        assert.ok(isSecret(v.inputs.secretString), `${v.name} secretString is not a secret`);
        const value = v.inputs.secretString.value as string;
        assert.ok(value.length >= 32);
        assert.ok(!rest.includes(value), `${v.name}'s value leaks into another input or an export`);
      }
    });

    it("gives containers settings and secrets through `secrets` references only, never plain environment variables", () => {
      for (const svc of SERVICES) {
        const c = container(dev.compute, svc);
        assert.equal(c.environment, undefined, `${svc} has plain environment variables`);
        const expected = [
          ...ofType(dev.compute, T.param)
            .filter((p) => p.name.startsWith(`${svc}-param-`))
            .map((p) => [p.name.slice(`${svc}-param-`.length), stateOf(p).arn]),
          ...ofType(dev.compute, T.secret)
            .filter((s) => s.name.startsWith(`${svc}-secret-`))
            .map((s) => [s.name.slice(`${svc}-secret-`.length), stateOf(s).arn]),
        ];
        assert.deepEqual(
          c.secrets.map((s: any) => [s.name, s.valueFrom]),
          expected,
        );
      }
      assert.deepEqual(
        container(dev.compute, "api-gateway").secrets.map((s: any) => s.name),
        ["LOG_LEVEL", "API_KEY"],
      );
    });

    it("references existing secrets by name or ARN: nothing generated, exactly that secret and its key granted", async () => {
      const arn = `arn:aws:secretsmanager:us-east-1:${MOCK_ACCOUNT}:secret:shared/stripe-AbCdEf`;
      const kmsKeyArn = `arn:aws:kms:us-east-1:${MOCK_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
      const runs = await chain("dev", {
        compute: {
          services: {
            "api-gateway": {
              secrets: [],
              existingSecrets: { API_KEY: { secret: "shared/api-key" }, STRIPE_KEY: { secret: arn, kmsKeyArn } },
            },
          },
        },
      });
      const c = runs.compute;
      assert.deepEqual(
        ofType(c, T.secret).map((s) => s.inputs.name),
        ["processing-service/DB_PASSWORD-dev"],
        "no secret is created for api-gateway",
      );
      assert.deepEqual(
        container(c, "api-gateway").secrets.map((s: any) => [s.name, s.valueFrom]),
        [
          ["LOG_LEVEL", stateOf(byName(c, T.param, "api-gateway-param-LOG_LEVEL")).arn],
          ["API_KEY", `arn:aws:secretsmanager:us-east-1:${MOCK_ACCOUNT}:secret:shared/api-key`],
          ["STRIPE_KEY", arn],
        ],
      );
      const exec = doc(byName(c, T.rolePolicy, "api-gateway-execution-policy"));
      assert.deepEqual(statement(exec, "ReadOwnSecrets").Resource, [
        `arn:aws:secretsmanager:us-east-1:${MOCK_ACCOUNT}:secret:shared/api-key-??????`,
        arn,
      ]);
      const decrypt = statement(exec, "DecryptExistingSecrets");
      assert.deepEqual(decrypt.Resource, [kmsKeyArn]);
      assert.deepEqual(decrypt.Condition, { StringEquals: { "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com" } });
      assert.deepEqual(policyViolations(c, "dev"), []);
    });

    it("rotates generated secrets with the user's function when rotationLambdaArn is set", async () => {
      const fn = `arn:aws:lambda:us-east-1:${MOCK_ACCOUNT}:function:rotate-api-key`;
      const runs = await chain("dev", { compute: { services: { "api-gateway": { rotationLambdaArn: fn, rotationDays: 14 } } } });
      const rotations = ofType(runs.compute, "aws:secretsmanager/secretRotation:SecretRotation");
      assert.equal(rotations.length, 1);
      assert.deepEqual(rotations[0].inputs, {
        secretId: stateOf(byName(runs.compute, T.secret, "api-gateway-secret-API_KEY")).id,
        rotationLambdaArn: fn,
        rotationRules: { automaticallyAfterDays: 14 },
      });
      assert.equal(ofType(dev.compute, "aws:secretsmanager/secretRotation:SecretRotation").length, 0, "no rotation by default");
    });

    it("rejects malformed secret references and rotation settings, naming the field", async () => {
      const bad = (entry: Record<string, unknown>) => chain("dev", { compute: { services: { "api-gateway": entry } } });
      await assert.rejects(
        bad({ existingSecrets: { API_KEY: { secret: "arn:aws:s3:::bucket" } } }),
        /compute:services.api-gateway.existingSecrets.API_KEY.secret = "arn:aws:s3:::bucket": expected an existing secret's name or full ARN/,
      );
      await assert.rejects(
        bad({ existingSecrets: { API_KEY: { secret: "x", kmsKeyArn: "alias/foo" } } }),
        /existingSecrets.API_KEY.kmsKeyArn = "alias\/foo": expected a KMS key ARN/,
      );
      await assert.rejects(
        bad({ existingSecrets: { API_KEY: { secret: "x" } } }),
        /existingSecrets.API_KEY = .*API_KEY is also a setting or a generated secret/,
      );
      await assert.rejects(
        bad({ rotationLambdaArn: "rotate" }),
        /compute:services.api-gateway.rotationLambdaArn = "rotate": expected a Lambda function ARN/,
      );
      await assert.rejects(
        bad({ rotationDays: 0 }),
        /compute:services.api-gateway.rotationDays = 0: expected a whole number from 1 to 1000/,
      );
    });

    it("contains no secret literal in the program's sources", () => {
      const dir = path.join(REPO_ROOT, "stacks", "compute");
      for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
        const src = fs.readFileSync(path.join(dir, f), "utf8");
        assert.doesNotMatch(src, /secretString:\s*["'`]/, `${f} writes a literal secret`);
      }
    });
  });

  describe("blue/green in prod, rolling in dev", () => {
    it("dev: rolling deployments with circuit breaker, one target group per public service, no infrastructure role", () => {
      for (const svc of SERVICES) {
        assert.deepEqual(byName(dev.compute, T.service, `${svc}-service`).inputs.deploymentConfiguration, { strategy: "ROLLING" });
      }
      assert.equal(ofType(dev.compute, T.tg).length, 2);
      assert.equal(
        dev.compute.resources.find((r) => r.name === "ecs-infrastructure-role"),
        undefined,
      );
    });

    it("prod: ECS blue/green with bake time, alternate target group, production and test listener rules, infrastructure role", () => {
      const c = prod.compute;
      const infraArn = arnOf(c, T.role, "ecs-infrastructure-role");
      for (const svc of ["frontend", "api-gateway"]) {
        const s = byName(c, T.service, `${svc}-service`).inputs;
        assert.deepEqual(s.deploymentController, { type: "ECS" });
        assert.deepEqual(s.deploymentConfiguration, { strategy: "BLUE_GREEN", bakeTimeInMinutes: "10" });
        assert.deepEqual(s.deploymentCircuitBreaker, { enable: true, rollback: true });
        assert.deepEqual(s.loadBalancers, [
          {
            targetGroupArn: arnOf(c, T.tg, `${svc}-tg`),
            containerName: svc,
            containerPort: 80,
            advancedConfiguration: {
              alternateTargetGroupArn: arnOf(c, T.tg, `${svc}-tg-alt`),
              productionListenerRule: arnOf(c, T.rule, `${svc}-rule`),
              testListenerRule: arnOf(c, T.rule, `${svc}-test-rule`),
              roleArn: infraArn,
            },
          },
        ]);
        const prodRule = byName(c, T.rule, `${svc}-rule`).inputs;
        const testRule = byName(c, T.rule, `${svc}-test-rule`).inputs;
        assert.equal(prodRule.listenerArn, prod.network.exports.httpsListenerArn);
        assert.equal(testRule.listenerArn, prod.network.exports.testListenerArn);
        assert.equal(testRule.priority, prodRule.priority);
        for (const rule of [prodRule, testRule]) {
          assert.deepEqual(rule.actions, [
            {
              type: "forward",
              forward: {
                targetGroups: [
                  { arn: arnOf(c, T.tg, `${svc}-tg`), weight: 100 },
                  { arn: arnOf(c, T.tg, `${svc}-tg-alt`), weight: 0 },
                ],
              },
            },
          ]);
        }
        assert.ok(byName(c, T.tg, `${svc}-tg-alt`).inputs.name.length <= 32);
      }
    });

    it("prod: the infrastructure role is for ecs.amazonaws.com with AmazonECSInfrastructureRolePolicyForLoadBalancers", () => {
      const role = byName(prod.compute, T.role, "ecs-infrastructure-role").inputs;
      assert.equal(role.name, "ecs-infra-prod");
      assert.deepEqual(JSON.parse(role.assumeRolePolicy).Statement, [
        { Effect: "Allow", Principal: { Service: "ecs.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
      const attachment = byName(prod.compute, T.attachment, "ecs-infrastructure-policy").inputs;
      assert.deepEqual(
        [attachment.role, attachment.policyArn],
        ["ecs-infra-prod", "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"],
      );
    });

    it("prod: the internal service deploys rolling (there is no load-balancer traffic to shift)", () => {
      assert.deepEqual(byName(prod.compute, T.service, "processing-service-service").inputs.deploymentConfiguration, {
        strategy: "ROLLING",
      });
    });

    it("follows the blueGreen config and per-service overrides", async () => {
      const devWithFrontendBg = await runLayer("compute", {
        stack: "dev",
        upstream: [dev.network, dev.registry],
        config: { services: { frontend: { blueGreen: true } }, bakeTimeMinutes: 5 },
      });
      assert.deepEqual(byName(devWithFrontendBg, T.service, "frontend-service").inputs.deploymentConfiguration, {
        strategy: "BLUE_GREEN",
        bakeTimeInMinutes: "5",
      });
      assert.deepEqual(byName(devWithFrontendBg, T.service, "api-gateway-service").inputs.deploymentConfiguration, { strategy: "ROLLING" });
      const overridden = (devWithFrontendBg.exports as ComputeContract).services;
      assert.equal(
        overridden.frontend.alternateTargetGroupArnSuffix,
        stateOf(byName(devWithFrontendBg, T.tg, "frontend-tg-alt")).arnSuffix,
      );
      assert.equal(overridden["api-gateway"].alternateTargetGroupArnSuffix, null);
      const prodRolling = await runLayer("compute", {
        stack: "prod",
        upstream: [prod.network, prod.registry],
        config: { tier: "prod", blueGreen: false },
      });
      for (const svc of SERVICES) {
        assert.deepEqual(byName(prodRolling, T.service, `${svc}-service`).inputs.deploymentConfiguration, { strategy: "ROLLING" });
      }
      assert.equal(ofType(prodRolling, T.tg).length, 2);
      for (const s of Object.values((prodRolling.exports as ComputeContract).services)) {
        assert.equal(s.alternateTargetGroupArnSuffix, null, s.serviceName);
      }
    });
  });

  describe("the optimizer's managed policy", () => {
    const declared = loadOptimizerActions();
    const statementsOf = (runs: Runs) => doc(byName(runs.compute, T.policy, "optimizer-policy")).Statement;
    const grantOf = (runs: Runs, action: string) => {
      const found = statementsOf(runs).filter((s) => list(s.Action).includes(action));
      assert.equal(found.length, 1, `${action} is granted by ${found.length} statements`);
      return found[0];
    };

    it("is ecs-optimizer-{suffix}, exported by ARN", () => {
      const p = byName(dev.compute, T.policy, "optimizer-policy");
      assert.equal(p.inputs.name, "ecs-optimizer-dev");
      assert.equal(dev.compute.exports.optimizerPolicyArn, stateOf(p).arn);
    });

    it("grants exactly the actions in optimizer/ecs_optimizer/apply/iam_actions.json", () => {
      const granted = statementsOf(dev).flatMap((s) => list(s.Action));
      assert.equal(new Set(granted).size, granted.length, "an action is granted twice");
      assert.deepEqual(granted.sort(), [...new Set([...declared.read, ...declared.write])].sort());
      assert.ok(statementsOf(dev).every((s) => s.Effect === "Allow"));
    });

    it("scopes each action to this environment's resources", () => {
      const c = dev.compute;
      const resourcesOf = (action: string) => list(grantOf(dev, action).Resource).sort();
      const expected: Record<string, string[]> = {
        cluster: [c.exports.clusterArn],
        services: SERVICES.map((s) => c.exports.services[s].serviceArn).sort(),
        families: SERVICES.map((s) => `arn:aws:ecs:us-east-1:${MOCK_ACCOUNT}:task-definition/${s}-dev:*`).sort(),
        targets: SERVICES.map((s) => arnOf(c, T.target, `${s}-scaling-target`)).sort(),
        repositories: SERVICES.map((s) => dev.registry.exports.repositories[s].arn).sort(),
        alarms: ["cpu-high", "http-5xx", "memory-high", "running-tasks-low", "unhealthy-hosts"].map(
          (p) => `arn:aws:cloudwatch:us-east-1:${MOCK_ACCOUNT}:alarm:${p}-*-dev`,
        ),
        lock: [`arn:aws:ssm:us-east-1:${MOCK_ACCOUNT}:parameter/ecs-optimizer/lock/ecs-cluster-dev`],
        roles: SERVICES.flatMap((s) => [arnOf(c, T.role, `${s}-task-role`), arnOf(c, T.role, `${s}-execution-role`)]).sort(),
        flowLogs: [
          `arn:aws:logs:us-east-1:${MOCK_ACCOUNT}:log-group:${dev.network.exports.flowLogGroupName}`,
          `arn:aws:logs:us-east-1:${MOCK_ACCOUNT}:log-group:${dev.network.exports.flowLogGroupName}:*`,
        ],
        prefixLists: ["arn:aws:ec2:us-east-1:*:prefix-list/*"],
      };
      const byAction: Record<string, keyof typeof expected> = {
        "ecs:DescribeClusters": "cluster",
        "ecs:DescribeServices": "services",
        "ecs:UpdateService": "services",
        "ecs:RegisterTaskDefinition": "families",
        "ecs:TagResource": "families",
        "application-autoscaling:RegisterScalableTarget": "targets",
        "ecr:DescribeImages": "repositories",
        "ecr:BatchGetImage": "repositories",
        "ecr:GetLifecyclePolicy": "repositories",
        "ecr:PutLifecyclePolicy": "repositories",
        "ecr:DeleteLifecyclePolicy": "repositories",
        "cloudwatch:DescribeAlarms": "alarms",
        "cloudwatch:PutMetricAlarm": "alarms",
        "ssm:GetParameter": "lock",
        "ssm:PutParameter": "lock",
        "ssm:DeleteParameter": "lock",
        "iam:PassRole": "roles",
        "logs:FilterLogEvents": "flowLogs",
        "ec2:GetManagedPrefixListEntries": "prefixLists",
      };
      for (const action of [...declared.read, ...declared.write]) {
        const scope = byAction[action];
        if (scope) assert.deepEqual(resourcesOf(action), expected[scope], action);
        else {
          assert.deepEqual(resourcesOf(action), ["*"], `${action} has no expected scope in this spec`);
          assert.ok(ACTIONS_REQUIRING_STAR_RESOURCE.includes(action), `${action} gets * but is not in ACTIONS_REQUIRING_STAR_RESOURCE`);
        }
      }
    });

    it("passes roles only to ECS tasks, lists only this cluster's services, tags only new revisions", () => {
      assert.deepEqual(grantOf(dev, "iam:PassRole").Condition, { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } });
      assert.deepEqual(grantOf(dev, "ecs:ListServices").Condition, { ArnEquals: { "ecs:cluster": dev.compute.exports.clusterArn } });
      assert.deepEqual(grantOf(dev, "ecs:TagResource").Condition, { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } });
    });

    it("scopes every service of a bigger catalog, in prod as in dev", () => {
      assert.equal(list(grantOf(prod, "ecs:UpdateService").Resource).length, SERVICES.length);
      assert.ok(list(grantOf(prod, "ecs:UpdateService").Resource).every((a) => a.includes("/ecs-cluster-prod/")));
    });

    it("fails, naming the action, when the optimizer declares a call it cannot scope", () => {
      const targets: OptimizerTargets = {
        env: { partition: "aws", accountId: MOCK_ACCOUNT, region: "us-east-1" },
        suffix: "dev",
        clusterName: "ecs-cluster-dev",
        clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/ecs-cluster-dev",
        flowLogGroupName: "/aws/vpc/flow-logs-dev",
        services: [],
      };
      assert.throws(
        () => optimizerPolicy({ read: ["ecs:ListTasks"], write: [] }, targets),
        /iam_actions\.json declares ecs:ListTasks, which the compute layer cannot scope .* add each to OPTIMIZER_ACTION_SCOPES/,
      );
    });

    it("has a scope for no action the optimizer does not declare", () => {
      const all = new Set([...declared.read, ...declared.write]);
      assert.deepEqual(
        Object.keys(OPTIMIZER_ACTION_SCOPES).filter((a) => !all.has(a)),
        [],
      );
    });

    it("never maps an action to * unless AWS offers no resource-level permission for it", () => {
      for (const [action, rule] of Object.entries(OPTIMIZER_ACTION_SCOPES)) {
        if (rule.sid === "NoResourceLevelPermissions") assert.ok(ACTIONS_REQUIRING_STAR_RESOURCE.includes(action), action);
      }
    });

    it("rejects a malformed actions file with the expected shape in the message", () => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "iam-actions-")), "iam_actions.json");
      fs.writeFileSync(file, JSON.stringify({ read: ["ecs:*"] }));
      assert.throws(() => loadOptimizerActions(file), /must be \{"read": \[\.\.\.\], "write": \[\.\.\.\]\}/);
    });
  });

  describe("bad catalog entries fail the preview, naming service and field", () => {
    const run = (config: Record<string, unknown>) => runLayer("compute", { stack: "dev", upstream: [dev.network, dev.registry], config });

    it("an unknown key", async () => {
      await assert.rejects(
        run({ services: { frontend: { replicas: 4 } } }),
        /invalid config compute:services\.frontend\.replicas = 4: unknown key; allowed keys are/,
      );
    });

    it("an invalid Fargate pair, listing the valid memories", async () => {
      await assert.rejects(
        run({ services: { "processing-service": { sizes: { dev: { cpu: 2048, memory: 2048 } } } } }),
        /compute:services\.processing-service\.sizes\.dev = \{"cpu":2048,"memory":2048\}: memory 2048 MiB is not valid with cpu 2048 \(valid: 4096, 5120, .*16384\)/,
      );
    });

    it("min above max", async () => {
      await assert.rejects(
        run({ services: { "api-gateway": { minCapacity: 8, maxCapacity: 4 } } }),
        /compute:services\.api-gateway\.minCapacity = .*minCapacity 8 is above maxCapacity 4/,
      );
    });

    it("a duplicate path", async () => {
      await assert.rejects(
        run({ services: { reports: { path: "/api/*" } } }),
        /compute:services\.reports\.path = "\/api\/\*": api-gateway already serves this path/,
      );
    });

    it("an unknown allowedFrom service", async () => {
      await assert.rejects(
        run({ services: { "processing-service": { allowedFrom: ["billing"] } } }),
        /compute:services\.processing-service\.allowedFrom\[0\] = "billing": unknown service/,
      );
    });

    it("a service the registry has no repository for", async () => {
      await assert.rejects(
        run({ services: { reports: { path: "/reports/*" } } }),
        /compute:services = \["reports"\]: the registry stack organization\/registry\/dev has no repository for reports/,
      );
    });

    it("a log retention CloudWatch does not offer", async () => {
      await assert.rejects(run({ logRetentionDays: 10 }), /compute:logRetentionDays = 10: CloudWatch Logs accepts 1, 3, 5, 7, 14/);
    });
  });

  describe("a twelve-service catalog", () => {
    let big: LayerRun;
    const extra = Array.from({ length: 9 }, (_, i) => `service-${String.fromCharCode(97 + i)}-with-a-long-name`);

    before(async () => {
      const registry = await runLayer("registry", { stack: "dev", config: { services: [...SERVICES, ...extra] } });
      const services = Object.fromEntries(
        extra.map((svc, i) => [
          svc,
          i % 3 === 0
            ? { allowedFrom: ["api-gateway"], secrets: ["TOKEN"] }
            : { path: `/${svc}/*`, critical: i % 2 === 0, sizes: { prod: { cpu: 1024, memory: 3072 } }, environment: { MODE: `m${i}` } },
        ]),
      );
      big = await runLayer("compute", { stack: "dev", upstream: [dev.network, registry], config: { services } });
    });

    it("deploys and exports all twelve services", () => {
      assert.equal(ofType(big, T.service).length, 12);
      assert.equal(Object.keys(big.exports.services).length, 12);
      assert.equal(list(doc(byName(big, T.policy, "optimizer-policy")).Statement.find((s) => s.Sid === "Services")!.Resource).length, 12);
    });

    it("keeps listener-rule priorities unique, the catch-all last, and target group names within 32 characters", () => {
      const rules = ofType(big, T.rule).map((r) => r.inputs);
      const priorities = rules.map((r) => r.priority);
      assert.equal(new Set(priorities).size, rules.length);
      const frontend = byName(big, T.rule, "frontend-rule").inputs.priority;
      assert.equal(Math.max(...priorities), frontend);
      for (const tg of ofType(big, T.tg)) {
        assert.ok(tg.inputs.name.length <= 32, tg.inputs.name);
        assert.match(tg.inputs.name, /-dev$/);
      }
    });

    it("passes every policy check", () => {
      const v = policyViolations(big, "dev");
      assert.deepEqual(v, [], formatViolations(v));
    });
  });

  describe("natStrategy none: every endpoint the catalog needs, images through the ECR Public cache", () => {
    const CACHE_REGISTRY = `${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;

    it("plans cleanly with the complete endpoint set, pulling the default image through the cache", async () => {
      const runs = await chain("dev", { network: { natStrategy: "none" } });
      assert.equal(runs.network.exports.natGatewayCount, 0);
      assert.deepEqual(runs.registry.exports.ecrPublicCache, { registry: CACHE_REGISTRY, prefix: "ecr-public-dev" });
      for (const svc of SERVICES) {
        assert.equal(container(runs.compute, svc).image, `${CACHE_REGISTRY}/ecr-public-dev/nginx/nginx:stable`);
        const pull = statement(doc(byName(runs.compute, T.rolePolicy, `${svc}-execution-policy`)), "PullOwnImageThroughCache");
        assert.equal(pull.Resource, `arn:aws:ecr:us-east-1:${MOCK_ACCOUNT}:repository/ecr-public-dev/nginx/nginx`);
        assert.ok((pull.Action as string[]).includes("ecr:BatchImportUpstreamImage"));
      }
      assert.deepEqual(policyViolations(runs.compute, "dev"), []);
    });

    it("an incomplete set fails with one line naming each missing endpoint and who needs it", async () => {
      await assert.rejects(
        chain("dev", { network: { natStrategy: "none", interfaceEndpoints: ["ecr.api", "ecr.dkr", "logs", "secretsmanager"] } }),
        (err: Error) =>
          !err.message.includes("\n") &&
          /invalid config network:natStrategy = "none": .*lacks ssm \(settings of frontend, api-gateway, processing-service\); add it to network:interfaceEndpoints/.test(
            err.message,
          ),
      );
      await assert.rejects(
        chain("dev", { network: { natStrategy: "none", interfaceEndpoints: ["ecr.api", "ecr.dkr", "logs", "ssm"] } }),
        /lacks secretsmanager \(secrets of api-gateway, processing-service\); add it/,
      );
    });

    it("no secretsmanager endpoint is needed when no service has secrets", async () => {
      const noSecrets = Object.fromEntries(SERVICES.map((svc) => [svc, { secrets: [] }]));
      const runs = await chain("dev", {
        network: { natStrategy: "none", interfaceEndpoints: ["ecr.api", "ecr.dkr", "logs", "ssm"] },
        compute: { services: noSecrets },
      });
      assert.equal(ofType(runs.compute, T.task).length, SERVICES.length);
    });

    it("an image ECR cannot serve fails naming the service's image", async () => {
      await assert.rejects(
        chain("dev", { network: { natStrategy: "none" }, compute: { services: { frontend: { image: "docker.io/library/nginx:1.27" } } } }),
        /invalid config compute:services.frontend.image = "docker.io\/library\/nginx:1.27": the network has no NAT/,
      );
      await assert.rejects(
        chain("dev", { network: { natStrategy: "none" }, registry: { ecrPublicCache: false } }),
        /compute:services.frontend.image = "public.ecr.aws\/nginx\/nginx:stable": .*registry:ecrPublicCache on/,
      );
    });

    it("with NAT the images are pulled from where the catalog says", () => {
      for (const svc of SERVICES) assert.equal(container(dev.compute, svc).image, "public.ecr.aws/nginx/nginx:stable");
    });
  });

  describe("exports and policy checks", () => {
    it("exports the compute contract field for field", () => {
      const schema = schemasFromSource().compute;
      for (const runs of [dev, prod]) {
        assert.deepEqual(validateValue(schema, runs.compute.exports), []);
        const expectedKeys: Array<keyof ComputeContract> = [
          "contractVersion",
          "environmentSuffix",
          "tier",
          "region",
          "clusterName",
          "clusterArn",
          "services",
          "optimizerPolicyArn",
        ];
        assert.deepEqual(Object.keys(runs.compute.exports).sort(), [...expectedKeys].sort());
      }
      const e = dev.compute.exports as ComputeContract;
      assert.deepEqual(
        [e.contractVersion, e.environmentSuffix, e.tier, e.region, e.clusterName],
        [1, "dev", "dev", "us-east-1", "ecs-cluster-dev"],
      );
      assert.deepEqual(e.services["processing-service"], {
        serviceName: "processing-service-dev",
        serviceArn: `arn:aws:ecs:us-east-1:${MOCK_ACCOUNT}:service/ecs-cluster-dev/processing-service-dev`,
        taskDefinitionFamily: "processing-service-dev",
        taskDefinitionArn: `arn:aws:ecs:us-east-1:${MOCK_ACCOUNT}:task-definition/processing-service-dev:1`,
        cpu: 1024,
        memory: 2048,
        baselineCpu: 1024,
        baselineMemory: 2048,
        desiredCount: 3,
        minCapacity: 2,
        maxCapacity: 6,
        critical: false,
        scalableTargetResourceId: "service/ecs-cluster-dev/processing-service-dev",
        repositoryName: "processing-service-dev",
        logGroupName: "/ecs/processing-service-dev",
        targetGroupArnSuffix: null,
        alternateTargetGroupArnSuffix: null,
      });
      assert.equal(e.services.frontend.targetGroupArnSuffix, stateOf(byName(dev.compute, T.tg, "frontend-tg")).arnSuffix);
      const p = (prod.compute.exports as ComputeContract).services["api-gateway"];
      assert.deepEqual([p.cpu, p.memory, p.maxCapacity, p.critical], [1024, 2048, 10, true]);
    });

    it("exports the alternate target group of blue/green services only (prod), null for rolling and internal ones", () => {
      const devServices = (dev.compute.exports as ComputeContract).services;
      const prodServices = (prod.compute.exports as ComputeContract).services;
      for (const svc of ["frontend", "api-gateway"]) {
        assert.equal(devServices[svc].alternateTargetGroupArnSuffix, null, `${svc} deploys rolling in dev`);
        const alternate = stateOf(byName(prod.compute, T.tg, `${svc}-tg-alt`)).arnSuffix;
        assert.ok(alternate, `${svc}-tg-alt has an ARN suffix`);
        assert.equal(prodServices[svc].alternateTargetGroupArnSuffix, alternate, svc);
        assert.equal(prodServices[svc].targetGroupArnSuffix, stateOf(byName(prod.compute, T.tg, `${svc}-tg`)).arnSuffix, svc);
        assert.notEqual(prodServices[svc].alternateTargetGroupArnSuffix, prodServices[svc].targetGroupArnSuffix);
      }
      for (const services of [devServices, prodServices]) {
        assert.equal(services["processing-service"].targetGroupArnSuffix, null);
        assert.equal(services["processing-service"].alternateTargetGroupArnSuffix, null, "internal services have no target group");
      }
    });

    it("passes every policy check in dev and prod", () => {
      for (const runs of [dev, prod]) {
        const v = policyViolations(runs.compute, runs.compute.stack);
        assert.deepEqual(v, [], formatViolations(v));
      }
    });

    it("creates every AWS resource in a service scope (Service tag) or the layer scope", () => {
      for (const r of dev.compute.resources.filter((x) => x.type.startsWith("aws:"))) {
        const svc = SERVICES.find((s) => r.name.startsWith(`${s}-`));
        assert.equal(r.provider, svc ? `compute-${svc}-aws` : "compute-aws", `${r.type} ${r.name}`);
      }
    });
  });
});
