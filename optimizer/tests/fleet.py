"""Seed an AWS (moto) account with the fleet the compute layer deploys, and read it back.

Used by the in-process fixtures and by the moto-server end-to-end test, so both see the
same fleet: cluster ``ecs-cluster-{suffix}`` with FARGATE and FARGATE_SPOT, three services
at their baseline sizes (desired 3, autoscaling 2..6), ECR repositories with twelve images
of known sizes and a keep-10 lifecycle policy, the observability layer's alarms, and hourly
CPU/memory history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

SUFFIX = "dev"
CLUSTER = f"ecs-cluster-{SUFFIX}"
ACCOUNT = "123456789012"
REGION = "us-east-1"
SNS_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts-{SUFFIX}"
IMAGE_COUNT = 12
#: The compute layer's target-tracking policies: metric -> (predefined metric, target percent).
AUTOSCALING_TARGETS = {
    "cpu": ("ECSServiceAverageCPUUtilization", 70.0),
    "memory": ("ECSServiceAverageMemoryUtilization", 75.0),
}
MIB = 1024 * 1024


@dataclass(frozen=True)
class Spec:
    cpu: int
    memory: int
    critical: bool
    cpu_pct: float  # hourly average CPU utilization seeded into CloudWatch
    mem_pct: float  # hourly maximum memory utilization
    public: bool = False  # behind the ALB: gets unhealthy-hosts and 5xx alarms


SERVICES: Dict[str, Spec] = {
    "frontend": Spec(512, 1024, True, 20.0, 30.0, public=True),
    "api-gateway": Spec(1024, 2048, True, 25.0, 35.0),
    "processing-service": Spec(2048, 4096, False, 15.0, 20.0),
}


def image_sizes(service: str) -> List[int]:
    """Known image sizes, oldest first: service-specific so every repository differs."""
    base = {"frontend": 40, "api-gateway": 90, "processing-service": 150}[service]
    return [(base + i) * MIB for i in range(IMAGE_COUNT)]


def keep_policy(keep: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "Expire untagged images after 1 day",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": 1,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep last {keep} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                    "action": {"type": "expire"},
                },
            ]
        }
    )


def _manifest(service: str, i: int, size: int) -> str:
    digest = lambda s: "sha256:" + hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": size,
                "digest": digest(f"{service}-cfg-{i}"),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": size,
                    "digest": digest(f"{service}-layer-{i}"),
                }
            ],
        }
    )


def _task_definition(name: str, spec: Spec) -> Dict[str, Any]:
    family = f"{name}-{SUFFIX}"
    return {
        "family": family,
        "cpu": str(spec.cpu),
        "memory": str(spec.memory),
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-execution-{name}-{SUFFIX}",
        "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-task-{name}-{SUFFIX}",
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "ephemeralStorage": {"sizeInGiB": 21},
        "pidMode": "task",
        "volumes": [{"name": "scratch"}],
        "containerDefinitions": [
            {
                "name": name,
                "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{family}:latest",
                "essential": True,
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "SERVICE", "value": name}],
                "secrets": [
                    {"name": "DB_PASSWORD", "valueFrom": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{family}/db"}
                ],
                "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch"}],
                "readonlyRootFilesystem": True,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": f"/ecs/{family}",
                        "awslogs-region": REGION,
                        "awslogs-stream-prefix": name,
                    },
                },
                "healthCheck": {
                    "command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                    "interval": 30,
                    "timeout": 5,
                    "retries": 3,
                },
            }
        ],
        "tags": [
            {"key": "Environment", "value": SUFFIX},
            {"key": "Service", "value": name},
            {"key": "ManagedBy", "value": "pulumi"},
        ],
    }


def alarm_specs(name: str, spec: Spec) -> List[Dict[str, Any]]:
    """The observability layer's alarms for one service, as PutMetricAlarm arguments."""
    service_name = f"{name}-{SUFFIX}"
    dims = [{"Name": "ClusterName", "Value": CLUSTER}, {"Name": "ServiceName", "Value": service_name}]
    common = {
        "AlarmActions": [SNS_TOPIC],
        "OKActions": [SNS_TOPIC],
        "InsufficientDataActions": [],
        "ActionsEnabled": True,
        "Tags": [{"Key": "Environment", "Value": SUFFIX}, {"Key": "Service", "Value": name}],
    }
    alarms = [
        dict(
            common,
            AlarmName=f"cpu-high-{name}-{SUFFIX}",
            AlarmDescription=f"{name}: CPU above threshold",
            Namespace="AWS/ECS",
            MetricName="CPUUtilization",
            Statistic="Average",
            Dimensions=dims,
            Period=300,
            EvaluationPeriods=3,
            DatapointsToAlarm=2,
            Threshold=80.0,
            Unit="Percent",
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        ),
        dict(
            common,
            AlarmName=f"memory-high-{name}-{SUFFIX}",
            AlarmDescription=f"{name}: memory above threshold",
            Namespace="AWS/ECS",
            MetricName="MemoryUtilization",
            Statistic="Maximum",
            Dimensions=dims,
            Period=300,
            EvaluationPeriods=3,
            DatapointsToAlarm=3,
            Threshold=80.0,
            Unit="Percent",
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="missing",
        ),
        dict(
            common,
            AlarmName=f"running-tasks-low-{name}-{SUFFIX}",
            AlarmDescription=f"{name}: fewer tasks than the floor",
            Namespace="ECS/ContainerInsights",
            MetricName="RunningTaskCount",
            Statistic="Minimum",
            Dimensions=dims,
            Period=60,
            EvaluationPeriods=2,
            DatapointsToAlarm=2,
            Threshold=2.0,
            ComparisonOperator="LessThanThreshold",
            TreatMissingData="breaching",
        ),
    ]
    if spec.public:
        tg_dims = [
            {"Name": "TargetGroup", "Value": f"targetgroup/{name}-{SUFFIX}/0123456789abcdef"},
            {"Name": "LoadBalancer", "Value": f"app/alb-{SUFFIX}/fedcba9876543210"},
        ]
        alarms += [
            dict(
                common,
                AlarmName=f"unhealthy-hosts-{name}-{SUFFIX}",
                Namespace="AWS/ApplicationELB",
                MetricName="UnHealthyHostCount",
                Statistic="Maximum",
                Dimensions=tg_dims,
                Period=60,
                EvaluationPeriods=2,
                Threshold=0.0,
                ComparisonOperator="GreaterThanThreshold",
                TreatMissingData="notBreaching",
            ),
            dict(
                common,
                AlarmName=f"http-5xx-{name}-{SUFFIX}",
                Namespace="AWS/ApplicationELB",
                MetricName="HTTPCode_Target_5XX_Count",
                Statistic="Sum",
                Dimensions=tg_dims,
                Period=300,
                EvaluationPeriods=1,
                Threshold=10.0,
                ComparisonOperator="GreaterThanThreshold",
                TreatMissingData="notBreaching",
            ),
        ]
    return alarms


def seed_history(
    cloudwatch: Any, days: int, now: Optional[dt.datetime] = None, services: Optional[Dict[str, Spec]] = None
) -> None:
    """Hourly CPU (Average) and memory (Maximum) datapoints for ``days`` days, ending an hour ago."""
    end = (now or dt.datetime.now(dt.timezone.utc)).replace(minute=0, second=0, microsecond=0)
    for name, spec in (services or SERVICES).items():
        dims = [{"Name": "ClusterName", "Value": CLUSTER}, {"Name": "ServiceName", "Value": f"{name}-{SUFFIX}"}]
        data, insights = [], []
        for hour in range(1, days * 24 + 1):
            ts = end - dt.timedelta(hours=hour) + dt.timedelta(minutes=30)
            wobble = (hour % 5) - 2  # a little variation so p95 differs from the mean
            data.append(
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": dims,
                    "Timestamp": ts,
                    "Value": spec.cpu_pct + wobble,
                    "Unit": "Percent",
                }
            )
            data.append(
                {
                    "MetricName": "MemoryUtilization",
                    "Dimensions": dims,
                    "Timestamp": ts,
                    "Value": spec.mem_pct + wobble,
                    "Unit": "Percent",
                }
            )
            # Container Insights: what the service reserved that hour (3 baseline tasks)
            insights.append(
                {
                    "MetricName": "CpuReserved",
                    "Dimensions": dims,
                    "Timestamp": ts,
                    "Value": float(spec.cpu * 3),
                    "Unit": "None",
                }
            )
            insights.append(
                {
                    "MetricName": "MemoryReserved",
                    "Dimensions": dims,
                    "Timestamp": ts,
                    "Value": float(spec.memory * 3),
                    "Unit": "Megabytes",
                }
            )
        for namespace, points in (("AWS/ECS", data), ("ECS/ContainerInsights", insights)):
            for start in range(0, len(points), 500):
                cloudwatch.put_metric_data(Namespace=namespace, MetricData=points[start : start + 500])


def compute_outputs() -> Dict[str, Any]:
    """What ``pulumi stack output --json`` of the compute stack says about this fleet."""
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
    outputs: Dict[str, Any] = {
        "contractVersion": 1,
        "environmentSuffix": SUFFIX,
        "tier": "dev",
        "region": REGION,
        "clusterName": CLUSTER,
        "clusterArn": f"{arn}:cluster/{CLUSTER}",
        "services": {},
        "taskExecutionRoleArns": {},  # an extra key the optimizer must tolerate
    }
    for name, spec in SERVICES.items():
        family = f"{name}-{SUFFIX}"
        outputs["services"][name] = {
            "serviceName": family,
            "serviceArn": f"{arn}:service/{CLUSTER}/{family}",
            "taskDefinitionFamily": family,
            "taskDefinitionArn": f"{arn}:task-definition/{family}:1",
            "cpu": spec.cpu,
            "memory": spec.memory,
            "desiredCount": 3,
            "minCapacity": 2,
            "maxCapacity": 6,
            "critical": spec.critical,
            "scalableTargetResourceId": f"service/{CLUSTER}/{family}",
            "repositoryName": family,
            "logGroupName": f"/ecs/{family}",
            **({"targetGroupArnSuffix": f"targetgroup/{family}/0123456789abcdef"} if spec.public else {}),
        }
    return outputs


def seed_fleet(client: Callable[[str], Any], history_days: int = 14) -> Dict[str, Any]:
    """Create the fleet through ``client(service_name)``; returns the compute stack outputs."""
    ecs, aas, ecr, cw = client("ecs"), client("application-autoscaling"), client("ecr"), client("cloudwatch")
    outputs = compute_outputs()
    ecs.create_cluster(
        clusterName=CLUSTER,
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        tags=[{"key": "Environment", "value": SUFFIX}, {"key": "Tier", "value": "dev"}],
        settings=[{"name": "containerInsights", "value": "enabled"}],
    )
    for name, spec in SERVICES.items():
        family = f"{name}-{SUFFIX}"
        td = ecs.register_task_definition(**_task_definition(name, spec))["taskDefinition"]
        svc = ecs.create_service(
            cluster=CLUSTER,
            serviceName=family,
            taskDefinition=td["taskDefinitionArn"],
            desiredCount=3,
            launchType="FARGATE",
            deploymentController={"type": "ECS"},
            tags=[{"key": "Critical", "value": str(spec.critical).lower()}, {"key": "Service", "value": name}],
        )["service"]
        resource_id = f"service/{CLUSTER}/{family}"
        aas.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=resource_id,
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=2,
            MaxCapacity=6,
        )
        for metric, (predefined, target) in AUTOSCALING_TARGETS.items():
            aas.put_scaling_policy(
                PolicyName=f"{metric}-target-{name}-{SUFFIX}",
                ServiceNamespace="ecs",
                ResourceId=resource_id,
                ScalableDimension="ecs:service:DesiredCount",
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": target,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": predefined},
                },
            )
        ecr.create_repository(repositoryName=family)
        for i, size in enumerate(image_sizes(name)):
            ecr.put_image(repositoryName=family, imageManifest=_manifest(name, i, size), imageTag=f"v{i}")
        ecr.put_lifecycle_policy(repositoryName=family, lifecyclePolicyText=keep_policy(10))
        for alarm in alarm_specs(name, spec):
            cw.put_metric_alarm(**alarm)
        assert svc["serviceArn"] == outputs["services"][name]["serviceArn"]
        assert td["taskDefinitionArn"] == outputs["services"][name]["taskDefinitionArn"]
    if history_days:
        seed_history(cw, history_days)
    return outputs


def stagger_pushes_in_process(hours_apart: int = 1) -> None:
    """Give in-process moto's images distinct push times (it stamps them to the second, so a
    fast seed pushes them all "at once"); image v{i} is pushed i hours after v0."""
    from moto.ecr.models import ecr_backends

    for repo in ecr_backends[ACCOUNT][REGION].repositories.values():
        start = min(image.image_pushed_at for image in repo.images) - len(repo.images) * 3600
        for i, image in enumerate(repo.images):
            image.image_pushed_at = start + i * hours_apart * 3600


def observability_outputs() -> Dict[str, Any]:
    alarms = {}
    for name, spec in SERVICES.items():
        kinds = {"cpuHigh": "cpu-high", "memoryHigh": "memory-high", "runningTasksLow": "running-tasks-low"}
        if spec.public:
            kinds.update(unhealthyHosts="unhealthy-hosts", http5xx="http-5xx")
        alarms[name] = {kind: {"name": f"{prefix}-{name}-{SUFFIX}", "threshold": 0} for kind, prefix in kinds.items()}
    return {
        "snsTopicArn": SNS_TOPIC,
        "dashboardName": f"ecs-{SUFFIX}",
        "alarms": alarms,
        "spotInterruptionAlarmName": f"spot-interruptions-{SUFFIX}",
    }


# ----------------------------------------------------------------------------- read back


def read_state(client: Callable[[str], Any]) -> Dict[str, Any]:
    """Everything the optimizer may touch, for before/after comparisons."""
    ecs, aas, ecr, cw, ssm = (client(s) for s in ("ecs", "application-autoscaling", "ecr", "cloudwatch", "ssm"))
    state: Dict[str, Any] = {"services": {}, "scalable": {}, "policies": {}, "alarms": {}, "revisions": {}}
    names = [f"{n}-{SUFFIX}" for n in SERVICES]
    for svc in ecs.describe_services(cluster=CLUSTER, services=names)["services"]:
        state["services"][svc["serviceName"]] = {
            "taskDefinition": svc["taskDefinition"],
            "desiredCount": svc["desiredCount"],
            "capacityProviderStrategy": svc.get("capacityProviderStrategy") or None,
        }
    for t in aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]:
        state["scalable"][t["ResourceId"]] = (t["MinCapacity"], t["MaxCapacity"])
    for name in names:
        try:
            state["policies"][name] = json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])
        except ecr.exceptions.LifecyclePolicyNotFoundException:
            state["policies"][name] = None
        arns = ecs.list_task_definitions(familyPrefix=name)["taskDefinitionArns"]
        state["revisions"][name] = {
            arn: ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"] for arn in arns
        }
    for alarm in cw.describe_alarms()["MetricAlarms"]:
        state["alarms"][alarm["AlarmName"]] = alarm["Threshold"]
    state["locks"] = [
        p["Name"] for p in ssm.describe_parameters()["Parameters"] if p["Name"].startswith("/ecs-optimizer/")
    ]
    return state
