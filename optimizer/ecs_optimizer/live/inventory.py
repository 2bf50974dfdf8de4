"""The live state of every target service, read once per run with batched describes.

Batched where AWS allows it (DescribeServices 10, DescribeScalableTargets 50, DescribeAlarms
100 per call); the per-service reads that have no batch form (task definition, lifecycle
policy, images) run on the worker pool, sharing the clients created up front.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from botocore.exceptions import ClientError

from ..core.errors import TargetsNotFound
from ..core.fargate import X86_64
from ..core.model import CapacityStrategy, ServiceState
from . import metric_alarms, scalable_targets
from . import resources as res
from .aws import AwsContext, error_code
from .discovery import verify_in_aws
from .targets import ServiceTarget, Targets

log = logging.getLogger(__name__)


@dataclass
class LiveService:
    """What AWS says about one target service right now."""

    target: ServiceTarget
    service: dict
    task_definition: dict
    task_definition_tags: List[dict]
    scalable_target: Optional[dict] = None
    repository_exists: bool = False
    lifecycle_policy: Optional[str] = None
    image_bytes: Tuple[int, ...] = ()
    alarms: Dict[str, dict] = field(default_factory=dict)  # kind -> DescribeAlarms entry
    #: Alarm kind (cpuHigh, memoryHigh) -> the target-tracking value autoscaling holds that metric at.
    autoscaling_targets: Dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def task_definition_arn(self) -> str:
        return self.task_definition["taskDefinitionArn"]

    @property
    def strategy_items(self) -> Optional[List[dict]]:
        return res.normalize_strategy(self.service.get("capacityProviderStrategy"))

    def state(self) -> ServiceState:
        """The cost-relevant state; without a scalable target min and max are the desired count."""
        desired = int(self.service.get("desiredCount", 0))
        low = int(self.scalable_target["MinCapacity"]) if self.scalable_target else desired
        high = int(self.scalable_target["MaxCapacity"]) if self.scalable_target else desired
        keep, _ = res.keep_count(self.lifecycle_policy)
        platform = self.task_definition.get("runtimePlatform") or {}
        return ServiceState(
            service=self.name,
            cpu=int(self.task_definition["cpu"]),
            memory=int(self.task_definition["memory"]),
            desired_count=desired,
            min_capacity=low,
            max_capacity=high,
            critical=self.target.critical,
            architecture=platform.get("cpuArchitecture") or X86_64,
            strategy=CapacityStrategy.from_aws(self.service.get("capacityProviderStrategy")),
            ecr_keep_images=keep,
            ecr_image_bytes=self.image_bytes,
        )


@dataclass
class Inventory:
    cluster: dict
    services: Dict[str, LiveService]

    @property
    def capacity_providers(self) -> List[str]:
        return list(self.cluster.get("capacityProviders") or [])


def _read_repository(ctx: AwsContext, live: LiveService) -> None:
    try:
        live.lifecycle_policy = res.read_lifecycle_policy(ctx, live.target.repository_name)
        live.image_bytes = res.image_sizes(ctx, live.target.repository_name)
        live.repository_exists = True
    except ClientError as exc:
        if error_code(exc) != "RepositoryNotFoundException":
            raise


def _read_one(ctx: AwsContext, target: ServiceTarget, service: dict) -> LiveService:
    task_def, tags = res.describe_task_definition(ctx, service["taskDefinition"])
    live = LiveService(target, service, task_def, tags)
    _read_repository(ctx, live)
    return live


def _missing_parts(live: LiveService) -> List[str]:
    """Parts the targets promised (outputs, observability outputs) that AWS does not have."""
    missing = []
    if live.target.declared is not None:
        if live.scalable_target is None:
            missing.append(f"scalable target {live.target.scalable_target_resource_id}")
        if not live.repository_exists:
            missing.append(f"ECR repository {live.target.repository_name}")
    missing += [f"alarm {a.name}" for a in live.target.alarms if a.required and a.kind not in live.alarms]
    return missing


def read_inventory(ctx: AwsContext, targets: Targets, concurrency: int) -> Inventory:
    """Read every target's live state; raise TargetsNotFound listing all that is missing."""
    cluster, described = verify_in_aws(ctx, targets)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {
            name: pool.submit(_read_one, ctx, targets.services[name], described[name]) for name in targets.services
        }
        services = {name: f.result() for name, f in futures.items()}
    scalable = scalable_targets.describe_scalable_targets(
        ctx, [t.scalable_target_resource_id for t in targets.services.values()]
    )
    alarms = metric_alarms.describe_alarms(ctx, [a.name for t in targets.services.values() for a in t.alarms])
    tracking = scalable_targets.target_tracking_values(ctx)
    missing: List[str] = []
    for live in services.values():
        live.scalable_target = scalable.get(live.target.scalable_target_resource_id)
        live.autoscaling_targets = tracking.get(live.target.scalable_target_resource_id, {})
        live.alarms = {a.kind: alarms[a.name] for a in live.target.alarms if a.name in alarms}
        missing += [f"{live.name}: {part}" for part in _missing_parts(live)]
    if missing:
        raise TargetsNotFound("not found in AWS: " + "; ".join(missing))
    log.info(
        "read %d services of %s (%d scalable targets, %d alarms)",
        len(services),
        targets.cluster_name,
        len(scalable),
        len(alarms),
    )
    return Inventory(cluster, services)
