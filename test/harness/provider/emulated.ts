/**
 * The resource types the stand-in AWS provider keeps in the local AWS emulator (moto server),
 * through the AWS SDK: the ones `ecs-optimizer` reads and changes. Creating them there lets the
 * optimizer find what `pulumi up` deployed; reading them back on `pulumi refresh` lets the
 * engine see what the optimizer changed, which is what the no-drift preview needs.
 *
 * Log groups are kept too: the optimizer reads the task-stop log group the compute layer creates.
 *
 * Each type maps the Pulumi inputs it needs to the AWS request, and on read overlays the live
 * values of the fields the optimizer tunes onto the state (see docs/real-engine-tests.md for
 * what is and is not read back).
 */
import {
  ApplicationAutoScalingClient,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  RegisterScalableTargetCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { CloudWatchClient, DeleteAlarmsCommand, DescribeAlarmsCommand, PutMetricAlarmCommand } from "@aws-sdk/client-cloudwatch";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  PutRetentionPolicyCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  DeleteRepositoryCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  PutLifecyclePolicyCommand,
} from "@aws-sdk/client-ecr";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteClusterCommand,
  DeleteServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  PutClusterCapacityProvidersCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";

type Props = Record<string, any>;

/** The environment variable that names the emulator's URL (`http://127.0.0.1:<port>`). */
export const EMULATOR_ENDPOINT_VARIABLE = "STANDIN_AWS_ENDPOINT";

export interface Clients {
  ecs: ECSClient;
  ecr: ECRClient;
  autoscaling: ApplicationAutoScalingClient;
  cloudwatch: CloudWatchClient;
  logs: CloudWatchLogsClient;
}

export function emulatorClients(region: string, endpoint = process.env[EMULATOR_ENDPOINT_VARIABLE]): Clients {
  if (!endpoint) {
    throw new Error(
      `the stand-in AWS provider keeps ECS, ECR, autoscaling, alarms and log groups in the local emulator: set ${EMULATOR_ENDPOINT_VARIABLE}`,
    );
  }
  // The emulator accepts any credentials; these never reach AWS.
  const common = { region, endpoint, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
  return {
    ecs: new ECSClient(common),
    ecr: new ECRClient(common),
    autoscaling: new ApplicationAutoScalingClient(common),
    cloudwatch: new CloudWatchClient(common),
    logs: new CloudWatchLogsClient(common),
  };
}

/** What the stand-in does with one emulated type. `read` returns the state with live fields overlaid, or undefined when gone. */
export interface EmulatedType {
  create(c: Clients, inputs: Props, state: Props): Promise<Props>;
  read(c: Clients, state: Props): Promise<Props | undefined>;
  update(c: Clients, olds: Props, news: Props, state: Props): Promise<Props>;
  delete(c: Clients, state: Props): Promise<void>;
}

/** Tags as ECS takes them (`key`/`value`). */
const tagList = (tags: Record<string, string> | undefined) => Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));
/** Tags as ECR takes them (`Key`/`Value`). */
const TagList = (tags: Record<string, string> | undefined) => Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value }));

const capacityStrategy = (items: Props[] | undefined) =>
  (items ?? []).map((i) => ({ capacityProvider: i.capacityProvider, weight: i.weight ?? 0, base: i.base ?? 0 }));

function notFound(e: unknown): boolean {
  const name = (e as { name?: string }).name ?? "";
  return /NotFound|ClientException|ResourceNotFound/.test(name);
}

/** The call's result, or undefined when the emulator answers that the resource is gone. */
async function unlessGone<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (e) {
    if (notFound(e)) return undefined;
    throw e;
  }
}

/** For a type nothing live is read back from, and whose updates stay in the state: read and update keep the state. */
const stateKept: Pick<EmulatedType, "read" | "update"> = {
  async read(_c, state) {
    return state;
  },
  async update(_c, _o, _n, state) {
    return state;
  },
};

/**
 * A type whose one AWS call both creates and updates it (a put): create sends the inputs, update
 * sends the new inputs again; the state stays as the engine has it.
 */
function putType(put: (c: Clients, inputs: Props) => Promise<unknown>, rest: Pick<EmulatedType, "read" | "delete">): EmulatedType {
  return {
    async create(c, i, state) {
      await put(c, i);
      return state;
    },
    async update(c, _o, n, state) {
      await put(c, n);
      return state;
    },
    ...rest,
  };
}

const cluster: EmulatedType = {
  async create(c, i, state) {
    await c.ecs.send(new CreateClusterCommand({ clusterName: i.name, settings: i.settings, tags: tagList(i.tags) }));
    return state;
  },
  ...stateKept,
  async delete(c, state) {
    await c.ecs.send(new DeleteClusterCommand({ cluster: state.name }));
  },
};

const capacityProviders = putType(
  (c, i) =>
    c.ecs.send(
      new PutClusterCapacityProvidersCommand({
        cluster: i.clusterName,
        capacityProviders: i.capacityProviders,
        defaultCapacityProviderStrategy: capacityStrategy(i.defaultCapacityProviderStrategies),
      }),
    ),
  {
    read: stateKept.read,
    async delete() {
      // Deleting the association is part of deleting the cluster in the emulator.
    },
  },
);

function taskDefinitionRequest(i: Props) {
  return {
    family: i.family,
    cpu: i.cpu,
    memory: i.memory,
    networkMode: i.networkMode,
    requiresCompatibilities: i.requiresCompatibilities,
    runtimePlatform: i.runtimePlatform,
    executionRoleArn: i.executionRoleArn,
    taskRoleArn: i.taskRoleArn,
    volumes: (i.volumes ?? []).map((v: Props) => ({ name: v.name })),
    containerDefinitions: JSON.parse(i.containerDefinitions),
    tags: tagList(i.tags),
  };
}

const taskDefinition: EmulatedType = {
  async create(c, i, state) {
    const out = await c.ecs.send(new RegisterTaskDefinitionCommand(taskDefinitionRequest(i)));
    const td = out.taskDefinition!;
    return { ...state, arn: td.taskDefinitionArn, revision: td.revision };
  },
  // trackLatest (the real provider's documented behaviour): the family's latest ACTIVE revision.
  async read(c, state) {
    const which = state.trackLatest ? state.family : state.arn;
    const out = await unlessGone(c.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: which })));
    if (!out) return undefined;
    const td = out.taskDefinition!;
    if (td.status !== "ACTIVE") return undefined;
    return { ...state, arn: td.taskDefinitionArn, revision: td.revision, cpu: td.cpu, memory: td.memory };
  },
  // Every input but tags forces a new revision (see the diff's REPLACE_ON_CHANGE), so an update
  // only ever changes how the resource is tracked.
  update: stateKept.update,
  async delete(c, state) {
    await c.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: state.arn }));
  },
};

function serviceStrategy(i: Props) {
  return i.capacityProviderStrategies?.length ? capacityStrategy(i.capacityProviderStrategies) : undefined;
}

/** The flat Pulumi inputs of a service's deployment, grouped as ECS takes and returns them. */
export function deploymentConfiguration(i: Props) {
  const bake = i.deploymentConfiguration?.bakeTimeInMinutes;
  return {
    strategy: i.deploymentConfiguration?.strategy,
    bakeTimeInMinutes: bake === undefined || bake === null ? undefined : Number(bake),
    maximumPercent: i.deploymentMaximumPercent,
    minimumHealthyPercent: i.deploymentMinimumHealthyPercent,
    deploymentCircuitBreaker: i.deploymentCircuitBreaker
      ? { enable: i.deploymentCircuitBreaker.enable, rollback: i.deploymentCircuitBreaker.rollback }
      : undefined,
    alarms: i.alarms ? { alarmNames: i.alarms.alarmNames, enable: i.alarms.enable, rollback: i.alarms.rollback } : undefined,
  };
}

const service: EmulatedType = {
  async create(c, i, state) {
    // No networkConfiguration: the emulator checks subnets against its own EC2, which holds no
    // VPC (the network layer lives in the state only), and the optimizer never reads it.
    await c.ecs.send(
      new CreateServiceCommand({
        serviceName: i.name,
        cluster: i.cluster,
        taskDefinition: i.taskDefinition,
        desiredCount: i.desiredCount,
        capacityProviderStrategy: serviceStrategy(i),
        launchType: i.launchType,
        loadBalancers: (i.loadBalancers ?? []).map((lb: Props) => ({
          targetGroupArn: lb.targetGroupArn,
          containerName: lb.containerName,
          containerPort: lb.containerPort,
        })),
        deploymentController: i.deploymentController,
        deploymentConfiguration: deploymentConfiguration(i),
        propagateTags: i.propagateTags,
        tags: tagList(i.tags),
      }),
    );
    return state;
  },
  async read(c, state) {
    const out = await c.ecs.send(new DescribeServicesCommand({ cluster: state.cluster, services: [state.name] }));
    const live = out.services?.find((s) => s.status !== "INACTIVE");
    if (!live) return undefined;
    const strategies = capacityStrategy(live.capacityProviderStrategy);
    const alarms = live.deploymentConfiguration?.alarms;
    return {
      ...state,
      taskDefinition: live.taskDefinition,
      desiredCount: live.desiredCount,
      capacityProviderStrategies: strategies.length ? strategies : state.capacityProviderStrategies,
      alarms: alarms ? { alarmNames: alarms.alarmNames ?? [], enable: alarms.enable, rollback: alarms.rollback } : undefined,
    };
  },
  async update(c, _o, n, state) {
    await c.ecs.send(
      new UpdateServiceCommand({
        cluster: n.cluster,
        service: n.name,
        taskDefinition: n.taskDefinition,
        desiredCount: n.desiredCount,
        capacityProviderStrategy: serviceStrategy(n),
        deploymentConfiguration: deploymentConfiguration(n),
      }),
    );
    return state;
  },
  async delete(c, state) {
    await c.ecs.send(new DeleteServiceCommand({ cluster: state.cluster, service: state.name, force: true }));
  },
};

const repository: EmulatedType = {
  async create(c, i, state) {
    const out = await c.ecr.send(
      new CreateRepositoryCommand({
        repositoryName: i.name,
        imageTagMutability: i.imageTagMutability,
        imageScanningConfiguration: i.imageScanningConfiguration,
        tags: TagList(i.tags),
      }),
    );
    const repo = out.repository!;
    return { ...state, arn: repo.repositoryArn, repositoryUrl: repo.repositoryUri, registryId: repo.registryId };
  },
  ...stateKept,
  async delete(c, state) {
    await c.ecr.send(new DeleteRepositoryCommand({ repositoryName: state.name, force: true }));
  },
};

const lifecyclePolicy = putType(
  (c, i) => c.ecr.send(new PutLifecyclePolicyCommand({ repositoryName: i.repository, lifecyclePolicyText: i.policy })),
  {
    async read(c, state) {
      const out = await unlessGone(c.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: state.repository })));
      return out && { ...state, policy: out.lifecyclePolicyText };
    },
    async delete(c, state) {
      await unlessGone(c.ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: state.repository })));
    },
  },
);

function scalableTargetRequest(i: Props) {
  return {
    ServiceNamespace: i.serviceNamespace,
    ScalableDimension: i.scalableDimension,
    ResourceId: i.resourceId,
    MinCapacity: i.minCapacity,
    MaxCapacity: i.maxCapacity,
  };
}

const scalableTarget = putType((c, i) => c.autoscaling.send(new RegisterScalableTargetCommand(scalableTargetRequest(i))), {
  async read(c, state) {
    const out = await c.autoscaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: state.serviceNamespace, ResourceIds: [state.resourceId] }),
    );
    const live = out.ScalableTargets?.find((t) => t.ScalableDimension === state.scalableDimension);
    if (!live) return undefined;
    return { ...state, minCapacity: live.MinCapacity, maxCapacity: live.MaxCapacity };
  },
  async delete(c, state) {
    await c.autoscaling.send(
      new DeregisterScalableTargetCommand({
        ServiceNamespace: state.serviceNamespace,
        ScalableDimension: state.scalableDimension,
        ResourceId: state.resourceId,
      }),
    );
  },
});

const dimensionList = (dims: Record<string, string> | undefined) => Object.entries(dims ?? {}).map(([Name, Value]) => ({ Name, Value }));

function alarmRequest(i: Props) {
  return {
    AlarmName: i.name,
    AlarmDescription: i.alarmDescription,
    Namespace: i.namespace,
    MetricName: i.metricName,
    Dimensions: i.metricName ? dimensionList(i.dimensions) : undefined,
    Statistic: i.statistic,
    Period: i.period,
    Metrics: i.metricQueries?.map((q: Props) => ({
      Id: q.id,
      Expression: q.expression,
      Label: q.label,
      ReturnData: q.returnData,
      MetricStat: q.metric
        ? {
            Metric: { Namespace: q.metric.namespace, MetricName: q.metric.metricName, Dimensions: dimensionList(q.metric.dimensions) },
            Period: q.metric.period,
            Stat: q.metric.stat,
            Unit: q.metric.unit,
          }
        : undefined,
    })),
    EvaluationPeriods: i.evaluationPeriods,
    DatapointsToAlarm: i.datapointsToAlarm,
    ComparisonOperator: i.comparisonOperator,
    Threshold: i.threshold,
    TreatMissingData: i.treatMissingData,
    AlarmActions: i.alarmActions,
    OKActions: i.okActions,
  };
}

const alarm = putType((c, i) => c.cloudwatch.send(new PutMetricAlarmCommand(alarmRequest(i))), {
  async read(c, state) {
    const out = await c.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [state.name] }));
    const live = out.MetricAlarms?.[0];
    if (!live) return undefined;
    return { ...state, threshold: live.Threshold };
  },
  async delete(c, state) {
    await c.cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [state.name] }));
  },
});

/** The log group named exactly `name`, or undefined (DescribeLogGroups matches by prefix). */
async function liveLogGroup(c: Clients, name: string) {
  const out = await c.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
  return out.logGroups?.find((g) => g.logGroupName === name);
}

const logGroup: EmulatedType = {
  async create(c, i, state) {
    await c.logs.send(new CreateLogGroupCommand({ logGroupName: i.name, kmsKeyId: i.kmsKeyId, tags: i.tags }));
    if (i.retentionInDays) {
      await c.logs.send(new PutRetentionPolicyCommand({ logGroupName: i.name, retentionInDays: Number(i.retentionInDays) }));
    }
    return state;
  },
  async read(c, state) {
    const live = await liveLogGroup(c, state.name);
    if (!live) return undefined;
    return { ...state, retentionInDays: live.retentionInDays ?? state.retentionInDays };
  },
  // Only the retention changes in place here; the key stays as created (a gap, see the docs).
  async update(c, _o, n, state) {
    if (n.retentionInDays) {
      await c.logs.send(new PutRetentionPolicyCommand({ logGroupName: n.name, retentionInDays: Number(n.retentionInDays) }));
    }
    return state;
  },
  async delete(c, state) {
    await unlessGone(c.logs.send(new DeleteLogGroupCommand({ logGroupName: state.name })));
  },
};

/** Resource type token -> how the stand-in keeps it in the emulator. */
export const EMULATED: Record<string, EmulatedType> = {
  "aws:ecs/cluster:Cluster": cluster,
  "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": capacityProviders,
  "aws:ecs/taskDefinition:TaskDefinition": taskDefinition,
  "aws:ecs/service:Service": service,
  "aws:ecr/repository:Repository": repository,
  "aws:ecr/lifecyclePolicy:LifecyclePolicy": lifecyclePolicy,
  "aws:appautoscaling/target:Target": scalableTarget,
  "aws:cloudwatch/metricAlarm:MetricAlarm": alarm,
  "aws:cloudwatch/logGroup:LogGroup": logGroup,
};
