/**
 * One catalog service on Fargate: its log group, configuration (SSM parameters and Secrets Manager
 * secrets), execution and task roles, task definition, load-balancer routing, Cloud Map
 * registration, deployment guard alarms, ECS service and autoscaling. Everything is created in the service's scope, so it is
 * tagged `Service=<name>`, and every grant names only this service's resources.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountArn, AwsAccount, ComputeServiceContract, RepositoryContract, Scope, SECRET_ARN, TierService } from "../shared";
import { autoscaling } from "./autoscaling";
import { capacityProviderStrategy } from "./capacity";
import { Cluster } from "./cluster";
import { deploymentAlarms } from "./deployment-alarms";
import { executionPolicy, taskPolicy, trustPolicy } from "./iam";
import { routing, Routing } from "./routing";
import { ComputeSettings } from "./settings";

/** The service tag that says whether it is critical (`"true"`/`"false"`); the optimizer keeps a critical service on-demand. */
export const CRITICAL_TAG = "Critical";

export interface ServiceArgs {
  spec: TierService;
  settings: ComputeSettings;
  env: pulumi.Output<AwsAccount>;
  cluster: Cluster;
  /** The platform key (logs, parameters, secrets). */
  key: aws.kms.Key;
  securityGroup: aws.ec2.SecurityGroup;
  vpcId: pulumi.Input<string>;
  privateSubnetIds: pulumi.Input<string[]>;
  /** The service's repository, from the registry layer. */
  repository: RepositoryContract;
  /** Public services only. */
  listeners?: { production: pulumi.Input<string>; test: pulumi.Input<string>; priority: number };
  /** The load balancer's ARN suffix (the target-group metrics' `LoadBalancer` dimension). */
  albArnSuffix: pulumi.Input<string>;
  /** Whether this service deploys blue/green (public services only). */
  blueGreen: boolean;
  /** Without NAT: the ECR Public image through the registry's pull-through cache. */
  cachedImage?: CachedImage;
  /** The role ECS shifts traffic with during blue/green deployments. */
  infrastructureRole?: { arn: pulumi.Input<string>; ready: pulumi.Resource };
}

export interface CachedImage {
  /** What the task definition pulls. */
  image: string;
  /** The repository the cache creates for it (`<prefix>/<path>`). */
  repositoryName: string;
}

export interface DeployedService {
  contract: pulumi.Output<ComputeServiceContract>;
  serviceArn: pulumi.Output<string>;
  family: string;
  repositoryArn: string;
  executionRoleArn: pulumi.Output<string>;
  taskRoleArn: pulumi.Output<string>;
  scalableTargetArn: pulumi.Output<string>;
  routing?: Routing;
}

/** A secret reference as the container sees it: an environment variable filled by ECS at start. */
interface ContainerSecret {
  name: string;
  valueFrom: pulumi.Output<string>;
}

function volumeName(path: string): string {
  return `scratch${path.replace(/[^A-Za-z0-9]+/g, "-")}`.replace(/-+$/, "");
}

/**
 * Non-secret settings become SecureString parameters under `/{suffix}/{service}/`. The values are
 * not secret, but SecureString with the platform key keeps every piece of configuration encrypted
 * at rest under one key the execution role already decrypts with, so a value can move between
 * `environment` and `secrets` without changing how the container receives it.
 */
function parameters(scope: Scope, spec: TierService, key: aws.kms.Key): ContainerSecret[] {
  const suffix = scope.settings.environmentSuffix;
  return Object.entries(spec.environment)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => {
      const param = new aws.ssm.Parameter(
        `${spec.name}-param-${name}`,
        {
          name: `/${suffix}/${spec.name}/${name}`,
          description: `${name} setting of ${spec.name}`,
          type: "SecureString",
          keyId: key.arn,
          // The AWS SDK marks `value` secret, so `pulumi preview` and state mask it; so does the offline plan.
          value,
        },
        scope.opts(),
      );
      return { name, valueFrom: param.arn };
    });
}

/**
 * Secrets get generated values: no secret is a literal in code, config or plan. The generator
 * runs on every preview, so the value is taken once, at creation; rotating a secret is a
 * deliberate operation, not a side effect of the next deployment.
 */
function secrets(scope: Scope, spec: TierService, key: aws.kms.Key): ContainerSecret[] {
  const suffix = scope.settings.environmentSuffix;
  return [...spec.secrets].sort().map((name) => {
    const secret = new aws.secretsmanager.Secret(
      `${spec.name}-secret-${name}`,
      {
        name: `${spec.name}/${name}-${suffix}`,
        description: `${name} of ${spec.name} (generated)`,
        kmsKeyId: key.arn,
        // Deleted at once on destroy, so the environment can be recreated with the same names.
        recoveryWindowInDays: 0,
      },
      scope.opts(),
    );
    const generated = aws.secretsmanager.getRandomPasswordOutput(
      { passwordLength: 40, excludePunctuation: true, requireEachIncludedType: true },
      { parent: scope.component, provider: scope.provider },
    );
    const version = new aws.secretsmanager.SecretVersion(
      `${spec.name}-secret-${name}-value`,
      { secretId: secret.id, secretString: pulumi.secret(generated.randomPassword) },
      scope.opts({ ignoreChanges: ["secretString"] }),
    );
    if (spec.rotationLambdaArn !== null) {
      // The function is the user's: it must allow secretsmanager.amazonaws.com to invoke it.
      new aws.secretsmanager.SecretRotation(
        `${spec.name}-secret-${name}-rotation`,
        { secretId: secret.id, rotationLambdaArn: spec.rotationLambdaArn, rotationRules: { automaticallyAfterDays: spec.rotationDays } },
        scope.opts({ dependsOn: [version] }),
      );
    }
    return { name, valueFrom: secret.arn };
  });
}

/**
 * An existing secret, referenced rather than created: by its ARN, or by name as a partial ARN
 * (`...:secret:<name>`), which ECS and Secrets Manager resolve in the task's account and region.
 */
export function existingSecretArn(e: AwsAccount, secret: string): string {
  return SECRET_ARN.test(secret) ? secret : accountArn(e, "secretsmanager", `secret:${secret}`);
}

/**
 * What the execution role is granted for an existing secret: exactly its ARN; for a name, the
 * name followed by the six random characters Secrets Manager appends (`<name>-??????`).
 */
export function existingSecretGrant(e: AwsAccount, secret: string): string {
  return SECRET_ARN.test(secret) ? secret : `${existingSecretArn(e, secret)}-??????`;
}

function existingSecrets(spec: TierService, env: pulumi.Output<AwsAccount>): ContainerSecret[] {
  return Object.entries(spec.existingSecrets)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, ref]) => ({ name, valueFrom: env.apply((e) => existingSecretArn(e, ref.secret)) }));
}

function role(scope: Scope, logical: string, name: string, description: string, env: pulumi.Output<AwsAccount>): aws.iam.Role {
  return new aws.iam.Role(
    logical,
    { name, description, assumeRolePolicy: pulumi.jsonStringify(env.apply((e) => trustPolicy("ecs-tasks.amazonaws.com", e))) },
    scope.opts(),
  );
}

function containerDefinitions(
  spec: TierService,
  image: string,
  logGroupName: string,
  region: string,
  configuration: Array<{ name: string; valueFrom: string }>,
): string {
  const hc = spec.healthCheck;
  const url = `http://localhost:${spec.port}${spec.healthCheckPath}`;
  const writable = spec.readonlyRootFilesystem ? spec.writablePaths : [];
  return JSON.stringify([
    {
      name: spec.name,
      image,
      essential: true,
      portMappings: [{ containerPort: spec.port, protocol: "tcp" }],
      readonlyRootFilesystem: spec.readonlyRootFilesystem,
      mountPoints: writable.map((path) => ({ sourceVolume: volumeName(path), containerPath: path, readOnly: false })),
      // Settings and secrets arrive only as references ECS resolves at start; the task
      // definition holds no values and no plain `environment` entries.
      secrets: configuration,
      healthCheck: {
        // curl or wget, whichever the image ships; the default nginx image has curl.
        command: ["CMD-SHELL", `curl -fsS -o /dev/null ${url} || wget -q -O /dev/null ${url} || exit 1`],
        interval: hc.intervalSeconds,
        timeout: hc.timeoutSeconds,
        retries: hc.unhealthyThreshold,
        startPeriod: hc.startPeriodSeconds,
      },
      logConfiguration: {
        logDriver: "awslogs",
        options: { "awslogs-group": logGroupName, "awslogs-region": region, "awslogs-stream-prefix": spec.name },
      },
    },
  ]);
}

export function deployService(scope: Scope, args: ServiceArgs): DeployedService {
  const { spec, settings, env, key } = args;
  const svc = spec.name;
  const names = scope.names;
  const serviceName = names.service(svc);
  const family = names.service(svc);

  const logGroup = new aws.cloudwatch.LogGroup(
    `${svc}-logs`,
    { name: names.logGroup(svc), retentionInDays: settings.logRetentionDays, kmsKeyId: key.arn },
    scope.opts(),
  );

  const settingRefs = parameters(scope, spec, key);
  const secretRefs = secrets(scope, spec, key);
  const existingRefs = existingSecrets(spec, env);
  const existingKeyArns = [...new Set(Object.values(spec.existingSecrets).flatMap((s) => (s.kmsKeyArn ? [s.kmsKeyArn] : [])))].sort();

  const executionRole = role(scope, `${svc}-execution-role`, names.of("exec", svc, 64), `Starts ${serviceName} tasks`, env);
  const executionGrants = new aws.iam.RolePolicy(
    `${svc}-execution-policy`,
    {
      name: names.of("exec", svc, 128),
      role: executionRole.name,
      policy: pulumi.jsonStringify(
        pulumi
          .all([
            logGroup.arn,
            key.arn,
            env,
            pulumi.all(settingRefs.map((p) => p.valueFrom)),
            pulumi.all(secretRefs.map((s) => s.valueFrom)),
          ])
          .apply(([logGroupArn, keyArn, e, parameterArns, secretArns]) =>
            executionPolicy({
              repositoryArn: args.repository.arn,
              cachedRepositoryArn: args.cachedImage ? accountArn(e, "ecr", `repository/${args.cachedImage.repositoryName}`) : undefined,
              logGroupArn,
              keyArn,
              parameterArns,
              secretArns: [...secretArns, ...Object.values(spec.existingSecrets).map((s) => existingSecretGrant(e, s.secret))],
              existingSecretKeyArns: existingKeyArns,
              region: e.region,
            }),
          ),
      ),
    },
    scope.opts(),
  );

  // The application's own identity: only what the catalog grants (nothing by default).
  const taskRole = role(scope, `${svc}-task-role`, names.of("task", svc, 64), `Identity of ${serviceName} containers`, env);
  if (spec.taskRolePolicies.length) {
    new aws.iam.RolePolicy(
      `${svc}-task-policy`,
      { name: names.of("task", svc, 128), role: taskRole.name, policy: JSON.stringify(taskPolicy(spec.taskRolePolicies)) },
      scope.opts(),
    );
  }

  const image = spec.imageTag === null ? (args.cachedImage?.image ?? spec.image) : `${args.repository.url}:${spec.imageTag}`;
  const writable = spec.readonlyRootFilesystem ? spec.writablePaths : [];
  const taskDefinition = new aws.ecs.TaskDefinition(
    `${svc}-task`,
    {
      family,
      cpu: String(spec.cpu),
      memory: String(spec.memory),
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: spec.architecture },
      executionRoleArn: executionRole.arn,
      taskRoleArn: taskRole.arn,
      volumes: writable.map((path) => ({ name: volumeName(path) })),
      // A refresh reads the family's latest ACTIVE revision, not the one in state: after
      // `ecs-optimizer optimize --write-config` registered a resized revision, the stack sees it
      // and the written-back config previews with no changes.
      trackLatest: true,
      containerDefinitions: pulumi
        .all([
          logGroup.name,
          env,
          pulumi.all([...settingRefs, ...secretRefs, ...existingRefs].map((r) => pulumi.all([r.name, r.valueFrom]))),
        ])
        .apply(([logGroupName, e, refs]) =>
          containerDefinitions(
            spec,
            image,
            logGroupName,
            e.region,
            refs.map(([name, valueFrom]) => ({ name, valueFrom })),
          ),
        ),
    },
    scope.opts(),
  );

  const route = args.listeners
    ? routing(scope, {
        spec,
        vpcId: args.vpcId,
        productionListenerArn: args.listeners.production,
        testListenerArn: args.listeners.test,
        priority: args.listeners.priority,
        blueGreen: args.blueGreen,
      })
    : undefined;

  const discovery = new aws.servicediscovery.Service(
    `${svc}-discovery`,
    {
      name: serviceName,
      description: `${serviceName} tasks (A records, one per task)`,
      dnsConfig: {
        namespaceId: args.cluster.namespace.id,
        dnsRecords: [{ type: "A", ttl: 10 }],
        routingPolicy: "MULTIVALUE",
      },
      // ECS reports task health to Cloud Map, so DNS answers only with healthy tasks.
      healthCheckCustomConfig: {},
      // ECS deregisters its tasks, but a destroy must not wait for instances to drain.
      forceDestroy: true,
    },
    scope.opts(),
  );

  // The target group ECS swaps production traffic to on a blue/green deployment, if it does.
  const alternate = route?.alternate && route.testRule && args.infrastructureRole ? route.alternate : undefined;
  const loadBalancers = route
    ? [
        {
          targetGroupArn: route.primary.arn,
          containerName: svc,
          containerPort: spec.port,
          ...(alternate && route.testRule && args.infrastructureRole
            ? {
                advancedConfiguration: {
                  alternateTargetGroupArn: alternate.arn,
                  productionListenerRule: route.productionRule.arn,
                  testListenerRule: route.testRule.arn,
                  roleArn: args.infrastructureRole.arn,
                },
              }
            : {}),
        },
      ]
    : undefined;

  // ECS watches these during every deployment and rolls back when one goes to ALARM.
  const guards = deploymentAlarms(scope, {
    service: svc,
    serviceName,
    clusterName: args.cluster.name,
    loadBalancer: route
      ? { albArnSuffix: args.albArnSuffix, targetGroupArnSuffixes: [route.primary.arnSuffix, ...(alternate ? [alternate.arnSuffix] : [])] }
      : undefined,
    settings: settings.deploymentAlarms,
  });

  // The guards exist before the service that names them.
  const dependsOn: pulumi.Resource[] = [args.cluster.capacityProviders, executionGrants, ...guards.alarms];
  if (route) dependsOn.push(route.productionRule, ...(route.testRule ? [route.testRule] : []));
  if (args.blueGreen && args.infrastructureRole) dependsOn.push(args.infrastructureRole.ready);

  const service = new aws.ecs.Service(
    `${svc}-service`,
    {
      name: serviceName,
      cluster: args.cluster.cluster.arn,
      taskDefinition: taskDefinition.arn,
      desiredCount: spec.desiredCount,
      capacityProviderStrategies: capacityProviderStrategy(spec.critical, settings.spotShare),
      platformVersion: "LATEST",
      networkConfiguration: { subnets: args.privateSubnetIds, securityGroups: [args.securityGroup.id], assignPublicIp: false },
      loadBalancers,
      // The grace period applies to load-balancer health checks only (ECS rejects it on a service
      // without one); internal services rely on the container health check's start period.
      healthCheckGracePeriodSeconds: route ? settings.healthCheckGracePeriodSeconds : undefined,
      deploymentController: { type: "ECS" },
      deploymentConfiguration: args.blueGreen
        ? { strategy: "BLUE_GREEN", bakeTimeInMinutes: String(settings.bakeTimeMinutes) }
        : { strategy: "ROLLING" },
      // The circuit breaker catches tasks that fail to start; the alarms catch tasks that start and misbehave.
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { alarmNames: guards.names, enable: true, rollback: true },
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      availabilityZoneRebalancing: "ENABLED",
      serviceRegistries: { registryArn: discovery.arn },
      enableEcsManagedTags: true,
      propagateTags: "SERVICE",
      // Destroy stops the tasks instead of waiting for a scale-in to zero.
      forceDelete: true,
      tags: { [CRITICAL_TAG]: String(spec.critical) },
    },
    // Autoscaling owns the desired count once the service exists: the program sets the initial
    // count and must not reset it to that value on every deployment.
    scope.opts({ dependsOn, ignoreChanges: ["desiredCount"] }),
  );

  const scaling = autoscaling(scope, {
    spec,
    clusterName: args.cluster.name,
    serviceName,
    service,
    cpuTargetPercent: settings.cpuTargetPercent,
    memoryTargetPercent: settings.memoryTargetPercent,
    scaleInCooldownSeconds: settings.scaleInCooldownSeconds,
    scaleOutCooldownSeconds: settings.scaleOutCooldownSeconds,
  });

  const contract = pulumi
    .all([
      service.arn,
      taskDefinition.arn,
      route ? route.primary.arnSuffix : pulumi.output(null),
      alternate ? alternate.arnSuffix : pulumi.output(null),
    ])
    .apply(([serviceArn, taskDefinitionArn, targetGroupArnSuffix, alternateTargetGroupArnSuffix]): ComputeServiceContract => ({
      serviceName,
      serviceArn,
      taskDefinitionFamily: family,
      taskDefinitionArn,
      cpu: spec.cpu,
      memory: spec.memory,
      baselineCpu: spec.baselineCpu,
      baselineMemory: spec.baselineMemory,
      desiredCount: spec.desiredCount,
      minCapacity: spec.minCapacity,
      maxCapacity: spec.maxCapacity,
      critical: spec.critical,
      scalableTargetResourceId: scaling.resourceId,
      repositoryName: args.repository.name,
      logGroupName: names.logGroup(svc),
      targetGroupArnSuffix,
      alternateTargetGroupArnSuffix,
      deploymentAlarmNames: guards.names,
    }));

  return {
    contract,
    serviceArn: service.arn,
    family,
    repositoryArn: args.repository.arn,
    executionRoleArn: executionRole.arn,
    taskRoleArn: taskRole.arn,
    scalableTargetArn: scaling.target.arn,
    routing: route,
  };
}
