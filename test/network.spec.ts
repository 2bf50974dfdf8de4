import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as sinon from "sinon";
import { ACCESS_LOG_PREFIX, accessLogBucketPolicy, logDeliveryPrincipal } from "../stacks/network/access-logs";
import { TLS_POLICY } from "../stacks/network/alb";
import { DEFAULT_WAF_RATE_LIMIT } from "../stacks/network/settings";
import { MANAGED_RULE_GROUPS } from "../stacks/network/waf";
import { waiverTag } from "../stacks/shared/waivers";
import { CONTRACT_VERSIONS, NetworkContract } from "../stacks/shared/contracts";
import { PolicyDocument, TrustPolicyDocument } from "../stacks/shared/iam";
import { REQUIRED_TAGS } from "../stacks/shared/tags";
import { byName, LayerRun, ofType, RecordedResource, runChain, runLayer } from "../scripts/plan/mock-engine";
import { MOCK_ACCOUNT, MOCK_CERTIFICATE_ARN, mockResourceState } from "../scripts/plan/mock-aws";
import { formatViolations, policyViolations, ruleViolations } from "./harness/policy";

const T = {
  vpc: "aws:ec2/vpc:Vpc",
  subnet: "aws:ec2/subnet:Subnet",
  igw: "aws:ec2/internetGateway:InternetGateway",
  routeTable: "aws:ec2/routeTable:RouteTable",
  route: "aws:ec2/route:Route",
  rta: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  eip: "aws:ec2/eip:Eip",
  nat: "aws:ec2/natGateway:NatGateway",
  endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  flowLog: "aws:ec2/flowLog:FlowLog",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  key: "aws:kms/key:Key",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  alb: "aws:lb/loadBalancer:LoadBalancer",
  listener: "aws:lb/listener:Listener",
  provider: "pulumi:providers:aws",
  bucket: "aws:s3/bucket:Bucket",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  webAcl: "aws:wafv2/webAcl:WebAcl",
  webAclAssociation: "aws:wafv2/webAclAssociation:WebAclAssociation",
};

const CERT = MOCK_CERTIFICATE_ARN;
const DEFAULT_INTERFACE = ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"];
const CONTRACT_KEYS: (keyof NetworkContract)[] = [
  "contractVersion",
  "environmentSuffix",
  "vpcId",
  "vpcCidr",
  "availabilityZones",
  "publicSubnetIds",
  "privateSubnetIds",
  "albArn",
  "albArnSuffix",
  "albDnsName",
  "albZoneId",
  "albSecurityGroupId",
  "httpListenerArn",
  "httpsListenerArn",
  "testListenerArn",
  "natGatewayCount",
  "vpcEndpoints",
  "flowLogGroupName",
  "albLogBucketName",
  "wafWebAclName",
];

/** What the mock engine answered for a resource: its id and computed attributes (arn, ...). */
const stateOf = (r: RecordedResource) => mockResourceState(r.type, r.name, r.inputs);
const idOf = (r: RecordedResource) => stateOf(r).id;
const arnOf = (r: RecordedResource) => String(stateOf(r).state.arn);

function subnets(run: LayerRun, tier: "public" | "private"): RecordedResource[] {
  return ofType(run, T.subnet)
    .filter((s) => s.name.startsWith(`${tier}-subnet-`))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function privateRouteTables(run: LayerRun): RecordedResource[] {
  return ofType(run, T.routeTable)
    .filter((r) => r.name.startsWith("private-rt-"))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function defaultRoutes(run: LayerRun, routeTable: RecordedResource): RecordedResource[] {
  return ofType(run, T.route).filter((r) => r.inputs.routeTableId === idOf(routeTable) && r.inputs.destinationCidrBlock === "0.0.0.0/0");
}

function rulesOf(run: LayerRun, type: string, sg: RecordedResource): Array<Record<string, any>> {
  return ofType(run, type)
    .filter((r) => r.inputs.securityGroupId === idOf(sg))
    .map((r) => ({ proto: r.inputs.ipProtocol, from: r.inputs.fromPort, to: r.inputs.toPort, cidr: r.inputs.cidrIpv4 }));
}

function assertNoViolations(run: LayerRun, suffix: string): void {
  const violations = policyViolations(run, suffix);
  assert.deepEqual(violations, [], formatViolations(violations));
}

function runNetwork(config: Record<string, unknown> = {}, stack = "dev"): Promise<LayerRun> {
  return runLayer("network", { stack, config });
}

describe("network layer", () => {
  describe("dev defaults: 3 zones, one NAT gateway, no certificate", () => {
    let run: LayerRun;
    before(async () => {
      run = await runNetwork();
    });

    it("builds the VPC from the default CIDR with DNS on (needed for endpoint private DNS)", () => {
      const vpc = byName(run, T.vpc, "vpc").inputs;
      assert.equal(vpc.cidrBlock, "10.0.0.0/16");
      assert.equal(vpc.enableDnsSupport, true);
      assert.equal(vpc.enableDnsHostnames, true);
    });

    it("asks the layer's provider for standard, available zones and uses the first three", () => {
      const invoke = run.invokes.find((i) => i.token === "aws:index/getAvailabilityZones:getAvailabilityZones");
      assert.ok(invoke);
      assert.equal(invoke.inputs.state, "available");
      assert.deepEqual(run.exports.availabilityZones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
    });

    it("places one public and one private subnet in each zone, carved as /20s from fixed blocks", () => {
      assert.deepEqual(
        subnets(run, "public").map((s) => [s.inputs.availabilityZone, s.inputs.cidrBlock]),
        [
          ["us-east-1a", "10.0.0.0/20"],
          ["us-east-1b", "10.0.16.0/20"],
          ["us-east-1c", "10.0.32.0/20"],
        ],
      );
      assert.deepEqual(
        subnets(run, "private").map((s) => [s.inputs.availabilityZone, s.inputs.cidrBlock]),
        [
          ["us-east-1a", "10.0.128.0/20"],
          ["us-east-1b", "10.0.144.0/20"],
          ["us-east-1c", "10.0.160.0/20"],
        ],
      );
      for (const s of ofType(run, T.subnet)) assert.equal(s.inputs.mapPublicIpOnLaunch, false, s.name);
      assert.deepEqual(run.exports.publicSubnetIds, subnets(run, "public").map(idOf));
      assert.deepEqual(run.exports.privateSubnetIds, subnets(run, "private").map(idOf));
    });

    it("routes the public subnets to the internet gateway through one public route table", () => {
      const igw = byName(run, T.igw, "igw");
      const publicRt = byName(run, T.routeTable, "public-rt");
      assert.deepEqual(
        defaultRoutes(run, publicRt).map((r) => r.inputs.gatewayId),
        [idOf(igw)],
      );
      const associated = ofType(run, T.rta)
        .filter((a) => a.inputs.routeTableId === idOf(publicRt))
        .map((a) => a.inputs.subnetId);
      assert.deepEqual(associated.sort(), subnets(run, "public").map(idOf).sort());
    });

    it("gives each private subnet its own route table, all sending 0.0.0.0/0 to the single NAT gateway", () => {
      const rts = privateRouteTables(run);
      assert.equal(rts.length, 3);
      const nat = byName(run, T.nat, "nat-1");
      subnets(run, "private").forEach((s, i) => {
        const assoc = ofType(run, T.rta).filter((a) => a.inputs.subnetId === idOf(s));
        assert.deepEqual(
          assoc.map((a) => a.inputs.routeTableId),
          [idOf(rts[i])],
        );
        assert.deepEqual(
          defaultRoutes(run, rts[i]).map((r) => r.inputs.natGatewayId),
          [idOf(nat)],
        );
      });
    });

    it("puts the one NAT gateway, with its EIP, in the first public subnet", () => {
      const nat = byName(run, T.nat, "nat-1").inputs;
      assert.equal(ofType(run, T.nat).length, 1);
      assert.equal(nat.subnetId, idOf(subnets(run, "public")[0]));
      assert.equal(nat.allocationId, idOf(byName(run, T.eip, "nat-eip-1")));
      assert.equal(byName(run, T.eip, "nat-eip-1").inputs.domain, "vpc");
      assert.equal(run.exports.natGatewayCount, 1);
    });

    it("creates each default interface endpoint in the private subnets, with private DNS and the endpoint SG", () => {
      const sg = byName(run, T.sg, "vpce-sg");
      for (const service of DEFAULT_INTERFACE) {
        const e = byName(run, T.endpoint, `vpce-${service.replace(".", "-")}`).inputs;
        assert.equal(e.serviceName, `com.amazonaws.us-east-1.${service}`);
        assert.equal(e.vpcEndpointType, "Interface");
        assert.equal(e.privateDnsEnabled, true);
        assert.equal(e.vpcId, idOf(byName(run, T.vpc, "vpc")));
        assert.deepEqual(e.subnetIds, subnets(run, "private").map(idOf));
        assert.deepEqual(e.securityGroupIds, [idOf(sg)]);
      }
      assert.equal(ofType(run, T.endpoint).filter((e) => e.inputs.vpcEndpointType === "Interface").length, DEFAULT_INTERFACE.length);
    });

    it("lets only HTTPS from the VPC CIDR into the endpoint security group", () => {
      const sg = byName(run, T.sg, "vpce-sg");
      assert.equal(sg.inputs.name, "vpce-sg-dev");
      assert.deepEqual(rulesOf(run, T.ingress, sg), [{ proto: "tcp", from: 443, to: 443, cidr: "10.0.0.0/16" }]);
      assert.deepEqual(rulesOf(run, T.egress, sg), []);
    });

    it("attaches the S3 gateway endpoint to every private route table and nothing else", () => {
      const s3 = byName(run, T.endpoint, "vpce-s3").inputs;
      assert.equal(s3.vpcEndpointType, "Gateway");
      assert.equal(s3.serviceName, "com.amazonaws.us-east-1.s3");
      assert.deepEqual(s3.routeTableIds, privateRouteTables(run).map(idOf));
      assert.equal(s3.subnetIds, undefined);
    });

    it("exports every endpoint's id by short service name", () => {
      const expected = Object.fromEntries(
        [...DEFAULT_INTERFACE, "s3"].map((s) => [s, idOf(byName(run, T.endpoint, `vpce-${s.replace(".", "-")}`))]),
      );
      assert.deepEqual(run.exports.vpcEndpoints, expected);
    });

    it("logs ALL VPC traffic to a KMS-encrypted log group kept 7 days", () => {
      const group = byName(run, T.logGroup, "flow-logs");
      const key = byName(run, T.key, "flow-logs-key");
      const flow = byName(run, T.flowLog, "vpc-flow-log").inputs;
      assert.equal(flow.trafficType, "ALL");
      assert.equal(flow.vpcId, idOf(byName(run, T.vpc, "vpc")));
      assert.equal(flow.logDestinationType, "cloud-watch-logs");
      assert.equal(flow.logDestination, arnOf(group));
      assert.equal(flow.iamRoleArn, arnOf(byName(run, T.role, "flow-logs-role")));
      assert.equal(group.inputs.name, "/aws/vpc/flow-logs-dev");
      assert.equal(group.inputs.retentionInDays, 7);
      assert.equal(group.inputs.kmsKeyId, arnOf(key));
      assert.equal(key.inputs.enableKeyRotation, true);
      assert.equal(run.exports.flowLogGroupName, "/aws/vpc/flow-logs-dev");
    });

    it("lets CloudWatch Logs in this region use the key only for the flow log group", () => {
      const policy = JSON.parse(byName(run, T.key, "flow-logs-key").inputs.policy) as PolicyDocument;
      const logs = policy.Statement.filter((s) => JSON.stringify(s.Principal).includes("logs."));
      assert.equal(logs.length, 1);
      assert.deepEqual(logs[0].Principal, { Service: "logs.us-east-1.amazonaws.com" });
      assert.deepEqual(logs[0].Condition, {
        ArnEquals: { "kms:EncryptionContext:aws:logs:arn": arnOf(byName(run, T.logGroup, "flow-logs")) },
      });
      for (const a of [logs[0].Action].flat()) assert.match(a, /^kms:[A-Za-z]+$/, "named actions, no wildcards");
      assert.ok([logs[0].Action].flat().includes("kms:GenerateDataKey"));
    });

    it("delivers through a role only vpc-flow-logs of this account can assume, writing only that log group", () => {
      const role = byName(run, T.role, "flow-logs-role").inputs;
      const trust = JSON.parse(role.assumeRolePolicy) as TrustPolicyDocument;
      assert.equal(trust.Statement.length, 1);
      assert.deepEqual(trust.Statement[0].Principal, { Service: "vpc-flow-logs.amazonaws.com" });
      assert.equal(trust.Statement[0].Action, "sts:AssumeRole");
      assert.deepEqual((trust.Statement[0].Condition as any).StringEquals, { "aws:SourceAccount": "123456789012" });

      const rp = byName(run, T.rolePolicy, "flow-logs-write").inputs;
      assert.equal(rp.role, "flow-logs-role-dev");
      const doc = JSON.parse(rp.policy) as PolicyDocument;
      const groupArn = arnOf(byName(run, T.logGroup, "flow-logs"));
      assert.deepEqual(doc.Statement, [
        {
          Sid: "WriteFlowLogGroupOnly",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          Resource: [groupArn, `${groupArn}:*`],
        },
      ]);
    });

    it("puts the ALB in the public subnets: cross-zone, no deletion protection, invalid headers dropped", () => {
      const alb = byName(run, T.alb, "alb").inputs;
      assert.equal(alb.name, "alb-dev");
      assert.equal(alb.loadBalancerType, "application");
      assert.equal(alb.internal, false);
      assert.deepEqual(alb.subnets, subnets(run, "public").map(idOf));
      assert.deepEqual(alb.securityGroups, [idOf(byName(run, T.sg, "alb-sg"))]);
      assert.equal(alb.enableCrossZoneLoadBalancing, true);
      assert.equal(alb.enableDeletionProtection, false);
      assert.equal(alb.dropInvalidHeaderFields, true);
      assert.equal(alb.idleTimeout, 60);
    });

    it("opens the ALB SG to 80/443 from the internet, the test port from the VPC and NAT only, egress to the VPC only", () => {
      const sg = byName(run, T.sg, "alb-sg");
      assert.equal(sg.inputs.name, "alb-sg-dev");
      assert.match(sg.inputs.name, /(^|-)alb(-|$)/, "the ingress policy recognises the ALB group by this segment");
      const natIp = String(stateOf(byName(run, T.eip, "nat-eip-1")).state.publicIp);
      assert.deepEqual(rulesOf(run, T.ingress, sg), [
        { proto: "tcp", from: 80, to: 80, cidr: "0.0.0.0/0" },
        { proto: "tcp", from: 443, to: 443, cidr: "0.0.0.0/0" },
        { proto: "tcp", from: 8080, to: 8080, cidr: "10.0.0.0/16" },
        { proto: "tcp", from: 8080, to: 8080, cidr: `${natIp}/32` },
      ]);
      assert.deepEqual(rulesOf(run, T.egress, sg), [{ proto: "tcp", from: 0, to: 65535, cidr: "10.0.0.0/16" }]);
      assert.equal(run.exports.albSecurityGroupId, idOf(sg));
    });

    it("without a certificate: HTTP answers a fixed 404, there is no HTTPS listener, httpsListenerArn is null", () => {
      const http = byName(run, T.listener, "http-listener").inputs;
      assert.equal(http.port, 80);
      assert.equal(http.protocol, "HTTP");
      assert.equal(http.loadBalancerArn, arnOf(byName(run, T.alb, "alb")));
      assert.deepEqual(http.defaultActions, [
        { type: "fixed-response", fixedResponse: { contentType: "text/plain", messageBody: "Not Found", statusCode: "404" } },
      ]);
      assert.equal(
        ofType(run, T.listener).find((l) => l.name === "https-listener"),
        undefined,
      );
      assert.equal(run.exports.httpsListenerArn, null);
      assert.equal(run.exports.httpListenerArn, arnOf(byName(run, T.listener, "http-listener")));
    });

    it("serves the blue/green test listener on 8080 with a fixed 404", () => {
      const test = byName(run, T.listener, "test-listener");
      assert.equal(test.inputs.port, 8080);
      assert.equal(test.inputs.protocol, "HTTP");
      assert.equal(test.inputs.defaultActions[0].fixedResponse.statusCode, "404");
      assert.equal(run.exports.testListenerArn, arnOf(test));
    });

    it("exports the full network contract", () => {
      assert.deepEqual(Object.keys(run.exports).sort(), [...CONTRACT_KEYS].sort());
      assert.equal(run.exports.contractVersion, CONTRACT_VERSIONS.network);
      assert.equal(run.exports.environmentSuffix, "dev");
      assert.equal(run.exports.vpcId, idOf(byName(run, T.vpc, "vpc")));
      assert.equal(run.exports.vpcCidr, "10.0.0.0/16");
      const alb = stateOf(byName(run, T.alb, "alb")).state;
      assert.equal(run.exports.albArn, alb.arn);
      assert.equal(run.exports.albArnSuffix, alb.arnSuffix);
      assert.equal(run.exports.albDnsName, alb.dnsName);
      assert.equal(run.exports.albZoneId, alb.zoneId);
    });

    it("passes every policy check", () => assertNoViolations(run, "dev"));

    it("creates every AWS resource through the layer's provider, whose default tags carry the full set", () => {
      const provider = byName(run, T.provider, "network-aws");
      const tags = JSON.parse(provider.inputs.defaultTags).tags;
      assert.deepEqual(Object.keys(tags).sort(), [...REQUIRED_TAGS].sort());
      assert.deepEqual(tags, {
        Environment: "dev",
        Service: "shared",
        Team: "platform",
        CostCenter: "engineering",
        Layer: "network",
        ManagedBy: "pulumi",
      });
      assert.equal(provider.inputs.region, "us-east-1");
      for (const r of run.resources.filter((x) => x.type.startsWith("aws:")))
        assert.equal(r.provider, "network-aws", `${r.type} ${r.name}`);
    });
  });

  describe("NAT gateways per strategy", () => {
    const cases: Array<{ title: string; config: Record<string, unknown>; stack?: string; nats: number; azs: number }> = [
      { title: "dev default (single)", config: {}, nats: 1, azs: 3 },
      { title: "prod default (perAz)", config: { tier: "prod", certificateArn: CERT }, stack: "prod", nats: 3, azs: 3 },
      { title: "none", config: { natStrategy: "none" }, nats: 0, azs: 3 },
      { title: "single", config: { natStrategy: "single", tier: "prod", certificateArn: CERT }, nats: 1, azs: 3 },
      { title: "perAz over 3 zones", config: { natStrategy: "perAz" }, nats: 3, azs: 3 },
      { title: "perAz over 2 zones", config: { natStrategy: "perAz", azCount: 2 }, nats: 2, azs: 2 },
    ];
    for (const c of cases) {
      it(`${c.title}: ${c.nats} NAT gateway(s) and EIP(s), private default routes to match`, async () => {
        const run = await runNetwork(c.config, c.stack);
        const nats = ofType(run, T.nat).sort((a, b) => a.name.localeCompare(b.name));
        assert.equal(nats.length, c.nats);
        assert.equal(ofType(run, T.eip).length, c.nats);
        assert.equal(run.exports.natGatewayCount, c.nats);
        const publicIds = subnets(run, "public").map(idOf);
        nats.forEach((n, i) => assert.equal(n.inputs.subnetId, publicIds[i], `${n.name} sits in public subnet ${i + 1}`));
        const rts = privateRouteTables(run);
        assert.equal(rts.length, c.azs);
        rts.forEach((rt, i) => {
          const targets = defaultRoutes(run, rt).map((r) => r.inputs.natGatewayId);
          // perAz: each zone uses its own NAT; single: all use nat-1; none: no default route at all.
          const expected = c.nats === 0 ? [] : [idOf(nats[Math.min(i, c.nats - 1)])];
          assert.deepEqual(targets, expected, rt.name);
        });
        assertNoViolations(run, c.stack ?? "dev");
      });
    }
  });

  describe("two zones", () => {
    let run: LayerRun;
    before(async () => {
      run = await runNetwork({ azCount: 2 });
    });

    it("places one public and one private subnet in each of two zones; existing CIDRs unchanged", () => {
      const byZone = (tier: "public" | "private") => subnets(run, tier).map((s) => [s.inputs.availabilityZone, s.inputs.cidrBlock]);
      assert.deepEqual(byZone("public"), [
        ["us-east-1a", "10.0.0.0/20"],
        ["us-east-1b", "10.0.16.0/20"],
      ]);
      assert.deepEqual(byZone("private"), [
        ["us-east-1a", "10.0.128.0/20"],
        ["us-east-1b", "10.0.144.0/20"],
      ]);
      assert.deepEqual(run.exports.availabilityZones, ["us-east-1a", "us-east-1b"]);
      assert.equal(privateRouteTables(run).length, 2);
      assert.deepEqual(byName(run, T.endpoint, "vpce-ecr-api").inputs.subnetIds, subnets(run, "private").map(idOf));
      assert.deepEqual(byName(run, T.endpoint, "vpce-s3").inputs.routeTableIds, privateRouteTables(run).map(idOf));
      assert.deepEqual(byName(run, T.alb, "alb").inputs.subnets, subnets(run, "public").map(idOf));
    });

    it("passes every policy check", () => assertNoViolations(run, "dev"));
  });

  describe("prod", () => {
    let run: LayerRun;
    before(async () => {
      run = await runNetwork({ tier: "prod", certificateArn: CERT }, "prod");
    });

    it("keeps flow logs 30 days and names everything with the prod suffix", () => {
      const group = byName(run, T.logGroup, "flow-logs").inputs;
      assert.equal(group.retentionInDays, 30);
      assert.equal(group.name, "/aws/vpc/flow-logs-prod");
      assert.equal(byName(run, T.alb, "alb").inputs.name, "alb-prod");
      assert.equal(byName(run, T.sg, "alb-sg").inputs.name, "alb-sg-prod");
    });

    it("serves only HTTPS: the test listener uses the same certificate and TLS policy, port 80 only redirects", () => {
      const test = byName(run, T.listener, "test-listener").inputs;
      assert.equal(test.protocol, "HTTPS");
      assert.equal(test.certificateArn, CERT);
      assert.equal(test.sslPolicy, TLS_POLICY);
      assert.equal(byName(run, T.listener, "http-listener").inputs.defaultActions[0].type, "redirect");
      for (const l of ofType(run, T.listener)) assert.equal(l.inputs.tags, undefined, `${l.name} carries no waiver`);
      assert.deepEqual(ruleViolations(run, "alb-https-only"), []);
    });

    it("writes ALB access logs to an encrypted, private, TLS-only, expiring, destroyable bucket", () => {
      const bucket = byName(run, T.bucket, "alb-logs").inputs;
      assert.equal(bucket.bucket, `alb-logs-${MOCK_ACCOUNT}-prod`);
      assert.equal(bucket.forceDestroy, true);
      const alb = byName(run, T.alb, "alb").inputs;
      assert.deepEqual(alb.accessLogs, { enabled: true, bucket: bucket.bucket, prefix: ACCESS_LOG_PREFIX });
      assert.deepEqual(alb.tags, {});
      const onBucket = (type: string) => ofType(run, type).filter((r) => r.inputs.bucket === bucket.bucket);
      assert.deepEqual(onBucket(T.publicAccessBlock)[0].inputs, {
        bucket: bucket.bucket,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      assert.equal(onBucket(T.encryption)[0].inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
      assert.equal(onBucket(T.lifecycle)[0].inputs.rules[0].expiration.days, 90);
      const policy = JSON.parse(onBucket(T.bucketPolicy)[0].inputs.policy) as { Statement: Array<Record<string, any>> };
      assert.deepEqual(policy, accessLogBucketPolicy({ accountId: MOCK_ACCOUNT, partition: "aws", region: "us-east-1" }, bucket.bucket));
      const grant = policy.Statement.find((st) => st.Sid === "ElbDeliversAccessLogs") ?? ({} as Record<string, any>);
      // us-east-1's ELB log-delivery account, from AWS's published table.
      assert.deepEqual(grant.Principal, { AWS: "arn:aws:iam::127311923021:root" });
      assert.equal(grant.Resource, `arn:aws:s3:::${bucket.bucket}/alb/AWSLogs/${MOCK_ACCOUNT}/*`);
      assert.equal(run.exports.albLogBucketName, bucket.bucket);
    });

    it("puts a WAF web ACL with managed rule groups and a per-IP rate limit in front of the ALB", () => {
      const acl = byName(run, T.webAcl, "alb-waf").inputs;
      assert.equal(acl.scope, "REGIONAL");
      assert.equal(acl.name, "alb-waf-prod");
      const groups = acl.rules
        .filter((r: any) => r.statement.managedRuleGroupStatement)
        .map((r: any) => r.statement.managedRuleGroupStatement.name);
      assert.deepEqual(groups, [...MANAGED_RULE_GROUPS]);
      assert.ok(groups.includes("AWSManagedRulesCommonRuleSet") && groups.includes("AWSManagedRulesKnownBadInputsRuleSet"));
      const rate = acl.rules.find((r: any) => r.statement.rateBasedStatement);
      assert.deepEqual(rate.statement.rateBasedStatement, { limit: DEFAULT_WAF_RATE_LIMIT, aggregateKeyType: "IP" });
      assert.deepEqual(rate.action, { block: {} });
      const assoc = ofType(run, T.webAclAssociation);
      assert.equal(assoc.length, 1);
      assert.equal(assoc[0].inputs.resourceArn, arnOf(byName(run, T.alb, "alb")));
      assert.equal(run.exports.wafWebAclName, "alb-waf-prod");
    });

    it("passes every policy check, with no waiver", () => {
      assertNoViolations(run, "prod");
      for (const r of run.resources) assert.ok(!JSON.stringify(r.inputs.tags ?? {}).includes("PolicyWaiver"), `${r.type} ${r.name}`);
    });

    it("admits test traffic from each zone's NAT address", () => {
      const sg = byName(run, T.sg, "alb-sg");
      const natCidrs = ofType(run, T.eip).map((e) => `${stateOf(e).state.publicIp}/32`);
      const testSources = rulesOf(run, T.ingress, sg)
        .filter((r) => r.from === 8080)
        .map((r) => r.cidr);
      assert.deepEqual(testSources, ["10.0.0.0/16", ...natCidrs]);
    });
  });

  describe("TLS, access logs and WAF per tier and config", () => {
    it("prod without certificateArn fails with one line naming the key and the opt-out", () =>
      assert.rejects(
        runNetwork({ tier: "prod" }, "prod"),
        (err: Error) =>
          !err.message.includes("\n") &&
          /network:certificateArn .*set network:certificateArn to an ACM certificate, or set network:allowPlainHttp to true/.test(
            err.message,
          ),
      ));

    it("prod with allowPlainHttp plans, warns, and records the waiver on both plain listeners", async () => {
      const warn = sinon.stub(pulumi.log, "warn");
      let run: LayerRun;
      try {
        run = await runNetwork({ tier: "prod", allowPlainHttp: true }, "prod");
      } finally {
        warn.restore();
      }
      assert.ok(
        warn.args.some(([m]) => /network:allowPlainHttp is true: the prod ALB serves production traffic over plain HTTP/.test(String(m))),
      );
      for (const name of ["http-listener", "test-listener"]) {
        const l = byName(run, T.listener, name).inputs;
        assert.equal(l.protocol, "HTTP");
        assert.deepEqual(l.tags, waiverTag("alb-https-only", "network:allowPlainHttp is true"));
      }
      assert.deepEqual(ruleViolations(run, "alb-https-only"), []);
      assert.deepEqual(policyViolations(run, "prod"), []);
    });

    it("the waiver is what keeps plain HTTP legal: without it the policy fires on both listeners", async () => {
      const run = await runNetwork({ tier: "prod", allowPlainHttp: true }, "prod");
      for (const l of ofType(run, T.listener)) delete l.inputs.tags;
      assert.deepEqual(
        ruleViolations(run, "alb-https-only").map((v) => v.resource),
        ["aws:lb/listener:Listener http-listener", "aws:lb/listener:Listener test-listener"],
      );
    });

    it("dev: logs and WAF off by default, each off-switch recorded as a waiver; on with accessLogs/waf true", async () => {
      const dev = await runNetwork();
      assert.equal(ofType(dev, T.bucket).length, 0);
      assert.equal(ofType(dev, T.webAcl).length, 0);
      assert.equal(dev.exports.albLogBucketName, null);
      assert.equal(dev.exports.wafWebAclName, null);
      assert.deepEqual(byName(dev, T.alb, "alb").inputs.tags, {
        ...waiverTag("alb-access-logs", "network:accessLogs is false"),
        ...waiverTag("alb-waf", "network:waf is false"),
      });
      const on = await runNetwork({ accessLogs: true, accessLogRetentionDays: 14, waf: true, wafRateLimit: 500 });
      assert.equal(byName(on, T.lifecycle, "alb-logs-expiry").inputs.rules[0].expiration.days, 14);
      assert.equal(byName(on, T.alb, "alb").inputs.accessLogs.enabled, true);
      assert.equal(byName(on, T.webAcl, "alb-waf").inputs.rules[0].statement.rateBasedStatement.limit, 500);
      assert.deepEqual(byName(on, T.alb, "alb").inputs.tags, {});
      assertNoViolations(on, "dev");
    });

    it("prod can turn logs and WAF off explicitly", async () => {
      const run = await runNetwork({ tier: "prod", certificateArn: CERT, accessLogs: false, waf: false }, "prod");
      assert.equal(ofType(run, T.bucket).length + ofType(run, T.webAcl).length, 0);
      assertNoViolations(run, "prod");
    });

    it("log delivery uses the ELB account where AWS publishes one, else the service principal", () => {
      assert.deepEqual(logDeliveryPrincipal({ accountId: MOCK_ACCOUNT, partition: "aws", region: "eu-west-1" }), {
        AWS: "arn:aws:iam::156460612806:root",
      });
      assert.deepEqual(logDeliveryPrincipal({ accountId: MOCK_ACCOUNT, partition: "aws", region: "ap-southeast-5" }), {
        Service: "logdelivery.elasticloadbalancing.amazonaws.com",
      });
    });

    it("rejects bad values naming the key", async () => {
      await assert.rejects(runNetwork({ allowPlainHttp: "yes" }), /network:allowPlainHttp = "yes": expected true or false/);
      await assert.rejects(runNetwork({ waf: true, wafRateLimit: 5 }), /network:wafRateLimit = "5": expected a whole number from 10 to/);
      await assert.rejects(
        runNetwork({ accessLogRetentionDays: 0 }),
        /network:accessLogRetentionDays = "0": expected a whole number from 1/,
      );
    });
  });

  describe("with a certificate and custom listeners", () => {
    let run: LayerRun;
    before(async () => {
      run = await runNetwork({
        certificateArn: CERT,
        ingressCidrs: ["198.51.100.0/24", "192.0.2.0/24"],
        testListenerPort: 9443,
        testListenerCidrs: ["10.0.0.0/8", "172.16.0.0/12"],
        natStrategy: "none",
      });
    });

    it("redirects HTTP to HTTPS with a 301", () => {
      assert.deepEqual(byName(run, T.listener, "http-listener").inputs.defaultActions, [
        { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
      ]);
    });

    it("adds an HTTPS listener with the certificate, a TLS 1.3 policy and a fixed 404", () => {
      const https = byName(run, T.listener, "https-listener");
      assert.equal(https.inputs.port, 443);
      assert.equal(https.inputs.protocol, "HTTPS");
      assert.equal(https.inputs.certificateArn, CERT);
      assert.equal(https.inputs.sslPolicy, TLS_POLICY);
      assert.match(TLS_POLICY, /^ELBSecurityPolicy-TLS13-1-2-/);
      assert.equal(https.inputs.defaultActions[0].fixedResponse.statusCode, "404");
      assert.equal(run.exports.httpsListenerArn, arnOf(https));
    });

    it("opens 80/443 only to the configured CIDRs and the test port only to the test CIDRs", () => {
      const rules = rulesOf(run, T.ingress, byName(run, T.sg, "alb-sg"));
      assert.deepEqual(rules, [
        { proto: "tcp", from: 80, to: 80, cidr: "198.51.100.0/24" },
        { proto: "tcp", from: 443, to: 443, cidr: "198.51.100.0/24" },
        { proto: "tcp", from: 80, to: 80, cidr: "192.0.2.0/24" },
        { proto: "tcp", from: 443, to: 443, cidr: "192.0.2.0/24" },
        // No NAT (natStrategy none), so no NAT addresses.
        { proto: "tcp", from: 9443, to: 9443, cidr: "10.0.0.0/8" },
        { proto: "tcp", from: 9443, to: 9443, cidr: "172.16.0.0/12" },
      ]);
      assert.equal(byName(run, T.listener, "test-listener").inputs.port, 9443);
    });

    it("passes every policy check", () => assertNoViolations(run, "dev"));
  });

  describe("custom CIDR, endpoints and suffix", () => {
    let run: LayerRun;
    before(async () => {
      run = await runNetwork({
        environmentSuffix: "pr7",
        vpcCidr: "172.20.0.0/20",
        azCount: 2,
        interfaceEndpoints: ["ecr.api", "ecr.dkr", "logs"],
        gatewayEndpoints: ["s3", "dynamodb"],
      });
    });

    it("carves the smaller VPC into /24s", () => {
      assert.deepEqual(
        ofType(run, T.subnet).map((s) => s.inputs.cidrBlock),
        ["172.20.0.0/24", "172.20.8.0/24", "172.20.1.0/24", "172.20.9.0/24"],
      );
      assert.equal(byName(run, T.vpc, "vpc").inputs.cidrBlock, "172.20.0.0/20");
      const rules = rulesOf(run, T.ingress, byName(run, T.sg, "vpce-sg"));
      assert.deepEqual(rules, [{ proto: "tcp", from: 443, to: 443, cidr: "172.20.0.0/20" }]);
    });

    it("creates exactly the configured endpoints", () => {
      assert.deepEqual(Object.keys(run.exports.vpcEndpoints), ["ecr.api", "ecr.dkr", "logs", "s3", "dynamodb"]);
      const endpoints = ofType(run, T.endpoint).map((e) => `${e.inputs.vpcEndpointType} ${e.inputs.serviceName}`);
      assert.deepEqual(endpoints.sort(), [
        "Gateway com.amazonaws.us-east-1.dynamodb",
        "Gateway com.amazonaws.us-east-1.s3",
        "Interface com.amazonaws.us-east-1.ecr.api",
        "Interface com.amazonaws.us-east-1.ecr.dkr",
        "Interface com.amazonaws.us-east-1.logs",
      ]);
    });

    it("names every resource with the configured suffix", () => {
      assert.equal(byName(run, T.alb, "alb").inputs.name, "alb-pr7");
      assert.equal(run.exports.environmentSuffix, "pr7");
      for (const r of run.resources.filter((x) => x.type.startsWith("aws:") && x.inputs.tags?.Name)) {
        assert.match(r.inputs.tags.Name, /-pr7$/, `${r.type} ${r.name}`);
      }
      assert.equal(JSON.parse(byName(run, T.provider, "network-aws").inputs.defaultTags).tags.Environment, "pr7");
      assertNoViolations(run, "pr7");
    });

    it("creates no endpoint security group when no interface endpoint is wanted", async () => {
      const bare = await runNetwork({ interfaceEndpoints: [] });
      assert.equal(
        ofType(bare, T.sg).find((s) => s.name === "vpce-sg"),
        undefined,
      );
      assert.deepEqual(bare.exports.vpcEndpoints, { s3: idOf(byName(bare, T.endpoint, "vpce-s3")) });
    });
  });

  describe("rejects bad config, naming the key and what is allowed", () => {
    const rejects = (config: Record<string, unknown>, message: RegExp) => assert.rejects(runNetwork(config), message);

    it("a CIDR that is not one", () => rejects({ vpcCidr: "10.0.0.0" }, /network:vpcCidr = "10.0.0.0": expected an IPv4 CIDR/));
    it("a VPC CIDR too small to carve", () =>
      rejects({ vpcCidr: "10.0.0.0/24" }, /network:vpcCidr = "10.0.0.0\/24": expected a prefix from \/16 to \/22/));
    it("a VPC CIDR larger than AWS allows", () =>
      rejects({ vpcCidr: "10.0.0.0/8" }, /network:vpcCidr = "10.0.0.0\/8": expected a prefix from \/16 to \/22/));
    it("a VPC CIDR with host bits", () =>
      rejects({ vpcCidr: "10.0.3.0/16" }, /network:vpcCidr = "10.0.3.0\/16": .*expected the network address 10.0.0.0\/16/));
    it("azCount 4 (and 1)", async () => {
      await rejects({ azCount: 4 }, /network:azCount = "4": expected a whole number from 2 to 3/);
      await rejects({ azCount: 1 }, /network:azCount = "1": expected a whole number from 2 to 3/);
    });
    it("a natStrategy typo", () =>
      rejects({ natStrategy: "perAZ" }, /network:natStrategy = "perAZ": allowed values are none, single, perAz/));
    it("an unknown interface endpoint", () =>
      rejects(
        { interfaceEndpoints: ["ecr.api", "ecr.dkrr"] },
        /network:interfaceEndpoints .*"ecr.dkrr" is not supported; allowed values are ecr.api, ecr.dkr, logs/,
      ));
    it("a gateway service listed as an interface endpoint, pointing to the right key", () =>
      rejects(
        { interfaceEndpoints: ["s3"] },
        /network:interfaceEndpoints .*"s3" is not supported \(s3 belongs in network:gatewayEndpoints\)/,
      ));
    it("an unknown gateway endpoint", () =>
      rejects({ gatewayEndpoints: ["logs"] }, /network:gatewayEndpoints .*"logs" is not supported.*allowed values are s3, dynamodb/));
    it("an endpoint listed twice", () =>
      rejects({ interfaceEndpoints: ["logs", "logs"] }, /network:interfaceEndpoints .*"logs" is listed twice/));
    it("no NAT without the endpoints tasks need to start", () =>
      rejects(
        { natStrategy: "none", interfaceEndpoints: ["ecr.api", "logs"], gatewayEndpoints: [] },
        /network:natStrategy = "none": .*ecr.dkr, s3 are missing from network:interfaceEndpoints \/ network:gatewayEndpoints/,
      ));
    it("a test listener open to the internet", () =>
      rejects(
        { testListenerCidrs: ["10.0.0.0/16", "0.0.0.0/0"] },
        /network:testListenerCidrs .*must never be reachable from the internet, but 0.0.0.0\/0 is broader than \/8/,
      ));
    it("a test listener on a production port", () =>
      rejects({ testListenerPort: 443 }, /network:testListenerPort = 443: expected a port other than 80 and 443/));
    it("a test listener port out of range", () =>
      rejects({ testListenerPort: 70000 }, /network:testListenerPort = "70000": expected a whole number from 1 to 65535/));
    it("ingress CIDRs that are not CIDRs, or repeat", async () => {
      await rejects({ ingressCidrs: ["everyone"] }, /network:ingressCidrs .*expected a list of IPv4 CIDRs/);
      await rejects({ ingressCidrs: ["192.0.2.0/24", "192.0.2.0/24"] }, /network:ingressCidrs .*192.0.2.0\/24 is listed twice/);
    });
    it("a certificate that is not an ACM ARN", () =>
      rejects({ certificateArn: "my-cert" }, /network:certificateArn = "my-cert": expected an ACM certificate ARN/));
  });

  describe("in the chain", () => {
    it("network and registry run together; the registry still opens no stack reference", async () => {
      const runs = await runChain(["network", "registry"]);
      assert.deepEqual(runs.network.stackReferences, []);
      assert.deepEqual(runs.registry.stackReferences, []);
      assertNoViolations(runs.network, "dev");
      assertNoViolations(runs.registry, "dev");
    });
  });
});
