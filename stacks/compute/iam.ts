/**
 * The compute layer's IAM documents. Builders are pure (plain strings in, a PolicyDocument out) so
 * the specs can check them; resources serialize them with pulumi.jsonStringify.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountArn, AwsAccount, PolicyDocument, PolicyStatement, Scope, TaskRoleStatement, TrustPolicyDocument } from "../shared";

export function document(statements: PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

/**
 * Trust policy for a service principal. Task roles are limited to tasks of this account's ECS
 * resources (confused-deputy protection, as the ECS task-role guide recommends); the
 * infrastructure role keeps the plain trust AWS documents for it, because ECS does not promise
 * those context keys when it assumes that role.
 */
export function trustPolicy(service: "ecs-tasks.amazonaws.com" | "ecs.amazonaws.com", env: AwsAccount): TrustPolicyDocument {
  const condition =
    service === "ecs-tasks.amazonaws.com"
      ? {
          Condition: {
            StringEquals: { "aws:SourceAccount": env.accountId },
            ArnLike: { "aws:SourceArn": accountArn(env, "ecs", "*") },
          },
        }
      : {};
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole", ...condition }],
  };
}

/** What pulling an image from one repository takes. */
const ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"] as const;

export interface ExecutionGrants {
  /** The service's own ECR repository. */
  repositoryArn: string;
  /** The pull-through cache repository its ECR Public image is pulled from (no NAT). */
  cachedRepositoryArn?: string;
  /** The service's own log group (without the `:*` suffix). */
  logGroupArn: string;
  parameterArns: string[];
  secretArns: string[];
  /** The platform key its parameters and secrets are encrypted with. */
  keyArn: string;
  /** Customer-managed keys the catalog's existing secrets are encrypted with. */
  existingSecretKeyArns?: string[];
  region: string;
}

/**
 * What ECS needs to start one service's tasks, and nothing of any other service: pull its image,
 * write its log streams, read its own parameters and secrets, decrypt them with the platform key
 * (only through SSM and Secrets Manager).
 */
export function executionPolicy(g: ExecutionGrants): PolicyDocument {
  const statements: PolicyStatement[] = [
    // Registry login has no resource-level permissions; the pull below is scoped.
    { Sid: "EcrLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
    {
      Sid: "PullOwnImage",
      Effect: "Allow",
      Action: [...ECR_PULL_ACTIONS],
      Resource: g.repositoryArn,
    },
    // The first pull through the cache creates the repository and imports the upstream image.
    ...(g.cachedRepositoryArn
      ? [
          {
            Sid: "PullOwnImageThroughCache",
            Effect: "Allow" as const,
            Action: [...ECR_PULL_ACTIONS, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
            Resource: g.cachedRepositoryArn,
          },
        ]
      : []),
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${g.logGroupArn}:log-stream:*`,
    },
  ];
  if (g.parameterArns.length) {
    statements.push({ Sid: "ReadOwnParameters", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: g.parameterArns });
  }
  if (g.secretArns.length) {
    statements.push({ Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: g.secretArns });
  }
  if (g.parameterArns.length || g.secretArns.length) {
    statements.push({
      Sid: "DecryptOwnConfiguration",
      Effect: "Allow",
      Action: ["kms:Decrypt"],
      Resource: g.keyArn,
      Condition: { StringEquals: { "kms:ViaService": [`ssm.${g.region}.amazonaws.com`, `secretsmanager.${g.region}.amazonaws.com`] } },
    });
  }
  if (g.existingSecretKeyArns?.length) {
    statements.push({
      Sid: "DecryptExistingSecrets",
      Effect: "Allow",
      Action: ["kms:Decrypt"],
      Resource: g.existingSecretKeyArns,
      Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${g.region}.amazonaws.com` } },
    });
  }
  return document(statements);
}

/** The catalog's extra permissions for a service's task role, as IAM statements. */
export function taskPolicy(statements: TaskRoleStatement[]): PolicyDocument {
  return document(
    statements.map((s, i) => ({
      Sid: s.sid ?? `Catalog${i}`,
      Effect: "Allow" as const,
      Action: s.actions,
      Resource: s.resources,
      ...(s.condition ? { Condition: s.condition } : {}),
    })),
  );
}

/** The managed policy ECS blue/green needs to move listener rules between target groups. */
export function loadBalancerInfrastructurePolicyArn(partition: string): string {
  return `arn:${partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers`;
}

/**
 * The role ECS assumes during a blue/green deployment to shift listener-rule weights between the
 * production and alternate target groups. One per layer: it names no service.
 */
export function infrastructureRole(
  scope: Scope,
  env: pulumi.Output<AwsAccount>,
): { role: aws.iam.Role; attachment: aws.iam.RolePolicyAttachment } {
  const role = new aws.iam.Role(
    "ecs-infrastructure-role",
    {
      name: scope.names.of("ecs-infra"),
      description: "Assumed by ECS to shift load-balancer traffic during blue/green deployments",
      assumeRolePolicy: pulumi.jsonStringify(env.apply((e) => trustPolicy("ecs.amazonaws.com", e))),
    },
    scope.opts(),
  );
  const attachment = new aws.iam.RolePolicyAttachment(
    "ecs-infrastructure-policy",
    { role: role.name, policyArn: env.apply((e) => loadBalancerInfrastructurePolicyArn(e.partition)) },
    scope.opts(),
  );
  return { role, attachment };
}
