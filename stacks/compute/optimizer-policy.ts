/**
 * The optimizer's managed policy. The optimizer declares the calls it makes in
 * optimizer/ecs_optimizer/apply/iam_actions.json (its tests prove the list complete); this module grants
 * exactly those actions, each on this environment's resources only. An action it cannot scope
 * fails the program, so a new optimizer call is never silently left ungranted or granted on `*`.
 */
import * as aws from "@pulumi/aws";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
  accountArn,
  ACTIONS_REQUIRING_STAR_RESOURCE,
  AwsAccount,
  PolicyDocument,
  PolicyStatement,
  Scope,
  SERVICE_ALARM_PREFIXES,
} from "../shared";
import { document } from "./iam";

export const IAM_ACTIONS_FILE = path.resolve(__dirname, "..", "..", "optimizer", "ecs_optimizer", "apply", "iam_actions.json");

export interface OptimizerActions {
  read: string[];
  write: string[];
}

/** The optimizer's declared actions, checked for shape. */
export function loadOptimizerActions(file = IAM_ACTIONS_FILE): OptimizerActions {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`cannot read the optimizer's IAM actions from ${file}: ${(err as Error).message}`);
  }
  const d = data as Partial<OptimizerActions>;
  const isList = (v: unknown) => Array.isArray(v) && v.every((a) => typeof a === "string" && /^[a-z0-9-]+:[A-Za-z0-9]+$/.test(a));
  if (!isList(d.read) || !isList(d.write)) {
    throw new Error(`${file} must be {"read": [...], "write": [...]} with IAM actions such as ecs:DescribeServices`);
  }
  return { read: d.read!, write: d.write! };
}

/** The resources of this environment the optimizer may act on (all plain values). */
export interface OptimizerTargets {
  env: AwsAccount;
  suffix: string;
  clusterName: string;
  clusterArn: string;
  /** The network layer's VPC flow-log group, which `savings` reads to split NAT traffic. */
  flowLogGroupName: string;
  services: Array<{
    serviceArn: string;
    taskDefinitionFamily: string;
    scalableTargetArn: string;
    repositoryArn: string;
    taskRoleArn: string;
    executionRoleArn: string;
  }>;
}

/** The optimizer's run lock (optimizer/ecs_optimizer/apply/lock.py): one SSM parameter per cluster. */
export function lockParameterName(clusterName: string): string {
  return `/ecs-optimizer/lock/${clusterName}`;
}

interface Grant {
  resources: string[];
  condition?: Record<string, unknown>;
}

/** A named resource scope; actions with the same scope share one statement. */
interface ScopeRule {
  sid: string;
  grant(t: OptimizerTargets): Grant;
}

const ACCOUNT_WIDE: ScopeRule = { sid: "NoResourceLevelPermissions", grant: () => ({ resources: ["*"] }) };

const SCOPES = {
  cluster: { sid: "Cluster", grant: (t) => ({ resources: [t.clusterArn] }) },
  servicesInCluster: {
    sid: "ListServicesOfThisCluster",
    // ListServices takes no resource ARN; the ecs:cluster key limits it to this cluster.
    grant: (t) => ({ resources: ["*"], condition: { ArnEquals: { "ecs:cluster": t.clusterArn } } }),
  },
  services: { sid: "Services", grant: (t) => ({ resources: t.services.map((s) => s.serviceArn) }) },
  taskDefinitionFamilies: {
    sid: "TaskDefinitionFamilies",
    grant: (t) => ({ resources: t.services.map((s) => accountArn(t.env, "ecs", `task-definition/${s.taskDefinitionFamily}:*`)) }),
  },
  tagNewTaskDefinitions: {
    sid: "TagNewRevisionsOfTheseFamilies",
    // Only while registering a revision: the optimizer copies the revision's tags, it does not retag.
    grant: (t) => ({
      resources: t.services.map((s) => accountArn(t.env, "ecs", `task-definition/${s.taskDefinitionFamily}:*`)),
      condition: { StringEquals: { "ecs:CreateAction": "RegisterTaskDefinition" } },
    }),
  },
  scalableTargets: { sid: "ScalableTargets", grant: (t) => ({ resources: t.services.map((s) => s.scalableTargetArn) }) },
  repositories: { sid: "Repositories", grant: (t) => ({ resources: t.services.map((s) => s.repositoryArn) }) },
  alarms: {
    sid: "ServiceAlarmsOfThisEnvironment",
    // One pattern per alarm kind rather than per service: exact names would outgrow IAM's policy
    // size limit on large fleets, and `*-{suffix}` alone would reach other teams' alarms.
    grant: (t) => ({
      resources: Object.values(SERVICE_ALARM_PREFIXES).map((p) => accountArn(t.env, "cloudwatch", `alarm:${p}-*-${t.suffix}`)),
    }),
  },
  flowLogs: {
    sid: "ReadThisNetworksFlowLogs",
    // The group and, through `:*`, its streams: IAM evaluates FilterLogEvents against either form.
    grant: (t) => {
      const group = accountArn(t.env, "logs", `log-group:${t.flowLogGroupName}`);
      return { resources: [group, `${group}:*`] };
    },
  },
  awsPrefixLists: {
    sid: "ReadAwsManagedPrefixListsOfThisRegion",
    // AWS-managed prefix lists (com.amazonaws.<region>.s3, ...) belong to AWS, not to this
    // account, so the owner is a wildcard; the region and the read-only action still scope it.
    grant: (t) => ({ resources: [`arn:${t.env.partition}:ec2:${t.env.region}:*:prefix-list/*`] }),
  },
  lock: { sid: "RunLock", grant: (t) => ({ resources: [accountArn(t.env, "ssm", `parameter${lockParameterName(t.clusterName)}`)] }) },
  passRoles: {
    sid: "PassTheseServicesRolesToTasks",
    // RegisterTaskDefinition hands the revision's task and execution roles to ECS tasks.
    grant: (t) => ({
      resources: t.services.flatMap((s) => [s.taskRoleArn, s.executionRoleArn]),
      condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    }),
  },
} satisfies Record<string, ScopeRule>;

/**
 * Every action the optimizer declares, and the resources it gets (no more: the compute spec
 * fails on an entry the optimizer no longer declares). Resource types follow the
 * Service Authorization Reference; ACCOUNT_WIDE is allowed only for actions listed in
 * ACTIONS_REQUIRING_STAR_RESOURCE (checked when the document is built).
 */
export const OPTIMIZER_ACTION_SCOPES: Readonly<Record<string, ScopeRule>> = {
  "ecs:DescribeClusters": SCOPES.cluster,
  "ecs:ListServices": SCOPES.servicesInCluster,
  "ecs:DescribeServices": SCOPES.services,
  "ecs:UpdateService": SCOPES.services,
  "ecs:DescribeTaskDefinition": ACCOUNT_WIDE,
  "ecs:ListTaskDefinitions": ACCOUNT_WIDE,
  "ecs:DeregisterTaskDefinition": ACCOUNT_WIDE,
  "ecs:RegisterTaskDefinition": SCOPES.taskDefinitionFamilies,
  "ecs:TagResource": SCOPES.tagNewTaskDefinitions,
  "application-autoscaling:DescribeScalableTargets": ACCOUNT_WIDE,
  "application-autoscaling:DescribeScalingPolicies": ACCOUNT_WIDE,
  "application-autoscaling:RegisterScalableTarget": SCOPES.scalableTargets,
  "ecr:DescribeImages": SCOPES.repositories,
  "ecr:BatchGetImage": SCOPES.repositories,
  "ecr:GetLifecyclePolicy": SCOPES.repositories,
  "ecr:PutLifecyclePolicy": SCOPES.repositories,
  "ecr:DeleteLifecyclePolicy": SCOPES.repositories,
  "cloudwatch:DescribeAlarms": SCOPES.alarms,
  "cloudwatch:PutMetricAlarm": SCOPES.alarms,
  "cloudwatch:GetMetricData": ACCOUNT_WIDE,
  "pricing:GetProducts": ACCOUNT_WIDE,
  "ec2:DescribeNatGateways": ACCOUNT_WIDE,
  "ec2:DescribeManagedPrefixLists": ACCOUNT_WIDE,
  "ec2:GetManagedPrefixListEntries": SCOPES.awsPrefixLists,
  "logs:FilterLogEvents": SCOPES.flowLogs,
  "ssm:GetParameter": SCOPES.lock,
  "ssm:PutParameter": SCOPES.lock,
  "ssm:DeleteParameter": SCOPES.lock,
  "iam:PassRole": SCOPES.passRoles,
};

/** Fails, naming them, when the optimizer declares actions this module has no scope for. */
export function checkOptimizerActions(actions: OptimizerActions): void {
  const unknown = [...actions.read, ...actions.write].filter((a) => !(a in OPTIMIZER_ACTION_SCOPES));
  if (unknown.length) {
    throw new Error(
      `${path.relative(process.cwd(), IAM_ACTIONS_FILE)} declares ${unknown.join(", ")}, which the compute layer cannot scope to ` +
        `this environment's resources: add each to OPTIMIZER_ACTION_SCOPES in stacks/compute/optimizer-policy.ts`,
    );
  }
}

/** The policy granting exactly `actions`, each on its scope. Throws on an action it cannot scope. */
export function optimizerPolicy(actions: OptimizerActions, targets: OptimizerTargets): PolicyDocument {
  checkOptimizerActions(actions);
  const bySid = new Map<string, { rule: ScopeRule; actions: string[] }>();
  for (const action of [...new Set([...actions.read, ...actions.write])].sort()) {
    const rule = OPTIMIZER_ACTION_SCOPES[action];
    const group = bySid.get(rule.sid) ?? { rule, actions: [] };
    group.actions.push(action);
    bySid.set(rule.sid, group);
  }
  const statements: PolicyStatement[] = [];
  for (const { rule, actions: grouped } of bySid.values()) {
    const { resources, condition } = rule.grant(targets);
    const scopable = grouped.filter((a) => !ACTIONS_REQUIRING_STAR_RESOURCE.includes(a));
    if (resources.includes("*") && scopable.length) {
      throw new Error(`optimizer policy: ${scopable.join(", ")} would get Resource "*" but AWS lets it be scoped`);
    }
    if (resources.length === 0) throw new Error(`optimizer policy: no resources for ${grouped.join(", ")}`);
    statements.push({
      Sid: rule.sid,
      Effect: "Allow",
      Action: grouped,
      Resource: resources,
      ...(condition ? { Condition: condition } : {}),
    });
  }
  return document(statements);
}

export function optimizerManagedPolicy(scope: Scope, actions: OptimizerActions, targets: pulumi.Output<OptimizerTargets>): aws.iam.Policy {
  return new aws.iam.Policy(
    "optimizer-policy",
    {
      name: scope.names.of("ecs-optimizer"),
      description: `What ecs-optimizer may do in ${scope.settings.environmentSuffix}: exactly the calls it declares, on these resources`,
      policy: pulumi.jsonStringify(targets.apply((t) => optimizerPolicy(actions, t))),
    },
    scope.opts(),
  );
}
