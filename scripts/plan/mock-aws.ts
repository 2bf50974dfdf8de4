/**
 * What the mock engine answers in place of AWS: ids, ARNs and the computed attributes a layer's
 * program reads from the resources it creates, plus the few invokes a layer is allowed to make.
 * Anything not listed here fails loudly, so an untested dependency on AWS cannot slip in.
 */
import { createHash } from "crypto";

export const MOCK_ACCOUNT = "123456789012";
export const MOCK_REGION = "us-east-1";
/** An ACM certificate of the mock account: the prod tier refuses to plan without one. */
export const MOCK_CERTIFICATE_ARN = `arn:aws:acm:${MOCK_REGION}:${MOCK_ACCOUNT}:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;
/** The network config a prod run needs (a certificate); spread into a chain's config. */
export const PROD_NETWORK_CONFIG = { "network:certificateArn": MOCK_CERTIFICATE_ARN } as const;

type Inputs = Record<string, any>;
type Computed = (name: string, inputs: Inputs, id: string) => Inputs;

function shortHash(s: string, n = 8): string {
  return createHash("sha256").update(s).digest("hex").slice(0, n);
}

function arn(service: string, resource: string, region = MOCK_REGION): string {
  return `arn:aws:${service}:${region}:${MOCK_ACCOUNT}:${resource}`;
}

/** Physical id prefixes AWS uses, so ids in plans look like the ones users see. */
const ID_PREFIX: Record<string, string> = {
  "aws:ec2/vpc:Vpc": "vpc-",
  "aws:ec2/subnet:Subnet": "subnet-",
  "aws:ec2/securityGroup:SecurityGroup": "sg-",
  "aws:ec2/internetGateway:InternetGateway": "igw-",
  "aws:ec2/natGateway:NatGateway": "nat-",
  "aws:ec2/eip:Eip": "eipalloc-",
  "aws:ec2/routeTable:RouteTable": "rtb-",
  "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
  "aws:ec2/flowLog:FlowLog": "fl-",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
};

const nameOf = (name: string, inputs: Inputs): string => inputs.name ?? name;

/** Types whose physical id is one of their inputs (a bucket's id is its name). */
const ID_FROM_INPUT: Record<string, string> = { "aws:s3/bucket:Bucket": "bucket" };

/** Computed attributes by resource type (what the provider would return after create). */
const COMPUTED: Record<string, Computed> = {
  "aws:lb/loadBalancer:LoadBalancer": (name, i) => {
    const n = nameOf(name, i);
    const suffix = `app/${n}/${shortHash(n, 16)}`;
    return {
      arn: arn("elasticloadbalancing", `loadbalancer/${suffix}`),
      arnSuffix: suffix,
      dnsName: `${n}-${shortHash(n, 10)}.${MOCK_REGION}.elb.amazonaws.com`,
      zoneId: "Z35SXDOTRQ7X7K",
    };
  },
  // Addresses from TEST-NET-3 (RFC 5737), stable per logical name.
  "aws:ec2/eip:Eip": (name) => ({ publicIp: `203.0.113.${parseInt(shortHash(name, 4), 16) % 254}` }),
  "aws:lb/targetGroup:TargetGroup": (name, i) => {
    const n = nameOf(name, i);
    const suffix = `targetgroup/${n}/${shortHash(n, 16)}`;
    return { arn: arn("elasticloadbalancing", suffix), arnSuffix: suffix };
  },
  "aws:s3/bucket:Bucket": (name, i) => ({
    arn: `arn:aws:s3:::${i.bucket ?? name}`,
    bucket: i.bucket ?? name,
    bucketRegionalDomainName: `${i.bucket ?? name}.s3.${MOCK_REGION}.amazonaws.com`,
  }),
  "aws:lb/listener:Listener": (name) => ({ arn: arn("elasticloadbalancing", `listener/app/${name}/${shortHash(name, 16)}`) }),
  "aws:lb/listenerRule:ListenerRule": (name) => ({ arn: arn("elasticloadbalancing", `listener-rule/app/${name}/${shortHash(name, 16)}`) }),
  "aws:ecr/repository:Repository": (name, i) => {
    const n = nameOf(name, i);
    return {
      arn: arn("ecr", `repository/${n}`),
      repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.${MOCK_REGION}.amazonaws.com/${n}`,
      registryId: MOCK_ACCOUNT,
    };
  },
  "aws:ecs/cluster:Cluster": (name, i) => ({ arn: arn("ecs", `cluster/${nameOf(name, i)}`) }),
  "aws:ecs/service:Service": (name, i) => {
    const cluster = String(i.cluster ?? "cluster")
      .split("/")
      .pop();
    const a = arn("ecs", `service/${cluster}/${nameOf(name, i)}`);
    return { arn: a };
  },
  "aws:ecs/taskDefinition:TaskDefinition": (name, i) => {
    const family = i.family ?? name;
    return { arn: arn("ecs", `task-definition/${family}:1`), arnWithoutRevision: arn("ecs", `task-definition/${family}`), revision: 1 };
  },
  "aws:iam/role:Role": (name, i) => ({
    arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${nameOf(name, i)}`,
    uniqueId: `AROA${shortHash(name, 16).toUpperCase()}`,
  }),
  "aws:iam/policy:Policy": (name, i) => ({
    arn: `arn:aws:iam::${MOCK_ACCOUNT}:policy/${nameOf(name, i)}`,
    policyId: `ANPA${shortHash(name, 16).toUpperCase()}`,
  }),
  "aws:kms/key:Key": (name) => {
    const keyId = `${shortHash(name, 8)}-${shortHash(name + "1", 4)}-${shortHash(name + "2", 4)}-${shortHash(name + "3", 4)}-${shortHash(name + "4", 12)}`;
    return { arn: arn("kms", `key/${keyId}`), keyId };
  },
  "aws:kms/alias:Alias": (name, i) => ({ arn: arn("kms", nameOf(name, i)) }),
  "aws:cloudwatch/logGroup:LogGroup": (name, i) => ({ arn: arn("logs", `log-group:${nameOf(name, i)}`) }),
  "aws:cloudwatch/metricAlarm:MetricAlarm": (name, i) => ({ arn: arn("cloudwatch", `alarm:${nameOf(name, i)}`) }),
  "aws:cloudwatch/dashboard:Dashboard": (name, i) => ({
    dashboardArn: `arn:aws:cloudwatch::${MOCK_ACCOUNT}:dashboard/${i.dashboardName ?? name}`,
  }),
  "aws:cloudwatch/eventRule:EventRule": (name, i) => ({ arn: arn("events", `rule/${nameOf(name, i)}`) }),
  "aws:sns/topic:Topic": (name, i) => ({ arn: arn("sns", nameOf(name, i)) }),
  "aws:secretsmanager/secret:Secret": (name, i) => ({ arn: arn("secretsmanager", `secret:${nameOf(name, i)}-${shortHash(name, 6)}`) }),
  "aws:ssm/parameter:Parameter": (name, i) => ({
    arn: arn("ssm", `parameter${String(nameOf(name, i)).startsWith("/") ? "" : "/"}${nameOf(name, i)}`),
  }),
  "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": (name) => ({
    arn: arn("servicediscovery", `namespace/ns-${shortHash(name, 16)}`),
    hostedZone: `Z${shortHash(name, 12).toUpperCase()}`,
  }),
  "aws:servicediscovery/service:Service": (name) => ({ arn: arn("servicediscovery", `service/srv-${shortHash(name, 16)}`) }),
  // Scalable-target ARNs end in an id AWS assigns, not the service's resource id.
  "aws:appautoscaling/target:Target": (name) => ({
    arn: `arn:aws:application-autoscaling:${MOCK_REGION}:${MOCK_ACCOUNT}:scalable-target/${shortHash(name, 36)}`,
  }),
  "aws:appautoscaling/policy:Policy": (name) => ({
    arn: arn("autoscaling", `scalingPolicy:${shortHash(name, 12)}:resource/ecs/policyName/${name}`),
  }),
};

export function mockResourceState(type: string, name: string, inputs: Inputs): { id: string; state: Inputs } {
  const id =
    type in ID_FROM_INPUT && inputs[ID_FROM_INPUT[type]] !== undefined
      ? String(inputs[ID_FROM_INPUT[type]])
      : type in ID_PREFIX
        ? `${ID_PREFIX[type]}${shortHash(`${type}/${name}`, 17)}`
        : `${name}-id`;
  const computed = COMPUTED[type]?.(name, inputs, id) ?? {};
  // A generic ARN only where neither the table nor the inputs give one: TopicPolicy and
  // EventTarget take an `arn` input (the topic's, the target's) that must survive as given.
  const hasArn = "arn" in computed || inputs.arn !== undefined;
  const generic: Inputs = type.startsWith("aws:") && !hasArn ? { arn: arn(type.split(":")[1].split("/")[0], `${name}`) } : {};
  return { id, state: { ...inputs, ...generic, ...computed, id } };
}

/** The invokes a layer may make, answered as AWS would for the mock account. */
export function mockInvoke(token: string, inputs: Inputs): Inputs {
  switch (token) {
    case "aws:index/getAvailabilityZones:getAvailabilityZones": {
      const letters = ["a", "b", "c", "d", "e", "f"];
      return { names: letters.map((l) => `${MOCK_REGION}${l}`), zoneIds: letters.map((_, i) => `use1-az${i + 1}`), id: MOCK_REGION };
    }
    case "aws:index/getRegion:getRegion":
      return { name: MOCK_REGION, region: MOCK_REGION, id: MOCK_REGION, endpoint: `ec2.${MOCK_REGION}.amazonaws.com` };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/mock`, userId: "AIDAMOCK", id: MOCK_ACCOUNT };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:secretsmanager/getRandomPassword:getRandomPassword":
      // Deterministic but never a literal in the program: the plan shows it only as a secret.
      return { randomPassword: shortHash(JSON.stringify(inputs), Number(inputs.passwordLength ?? 32)), id: "random" };
    default:
      throw new Error(`unmocked invoke ${token}: add it to scripts/plan/mock-aws.ts only if the layer really needs it`);
  }
}

/** The attributes the table computes for a type (never inputs): what a diff must not treat as removed inputs. */
export function mockComputedKeys(type: string): string[] {
  return Object.keys(mockResourceState(type, "probe", {}).state).filter((k) => k !== "id");
}
