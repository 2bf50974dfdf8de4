"""Read back, with plain API calls, everything the optimizer may change in a seeded fleet.

:func:`read_state` is the tests' before/after witness: a run that must change nothing (a dry
run, bad input, a refused rollback) leaves it equal, and a rollback restores it. It reads
what AWS holds, never what the optimizer reported, and it names only what the fleet
declares, so it works the same against the emulator server and moto in-process.

:func:`read_live_state` is the demo's per-service table (sizes, strategy in words, image
counts), read from the emulator at an endpoint, so a before/after comparison shows what AWS
holds rather than what the optimizer reported.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional

from ecs_optimizer.core import facts
from ecs_optimizer.core.model import CapacityStrategy
from ecs_optimizer.live import resources as res
from ecs_optimizer.live.aws import chunks
from ecs_optimizer.live.discovery import DESCRIBE_SERVICES_BATCH
from ecs_optimizer.live.scalable_targets import DESCRIBE_SCALABLE_TARGETS_BATCH
from ecs_optimizer.live.targets import pattern_alarms

from .emulator import emulator_client
from .fleet import FleetSpec


def read_state(client: Callable[[str], Any], fleet: FleetSpec) -> Dict[str, Any]:
    """The fleet's tunable state, keyed the way AWS names things.

    ``services``: ECS service name -> task definition ARN, desired count and capacity-provider
    strategy (``None`` when it runs on a launch type); ``scalable``: scalable-target resource
    id -> (min, max); ``policies``: repository -> its lifecycle policy (parsed) or ``None``;
    ``revisions``: task-definition family -> {revision ARN: status}; ``alarms``: every metric
    alarm's name -> threshold; ``locks``: the cluster's run-lock parameter, if it is held.
    """
    ecs, aas, ecr, cloudwatch, ssm = (
        client(name) for name in ("ecs", "application-autoscaling", "ecr", "cloudwatch", "ssm")
    )
    specs = [fleet.service(name) for name in fleet.catalog]
    state: Dict[str, Any] = {"services": {}, "scalable": {}, "policies": {}, "revisions": {}, "alarms": {}}
    for batch in chunks([s["serviceName"] for s in specs], DESCRIBE_SERVICES_BATCH):
        for svc in ecs.describe_services(cluster=fleet.cluster_name, services=batch)["services"]:
            state["services"][svc["serviceName"]] = {
                "taskDefinition": svc["taskDefinition"],
                "desiredCount": svc["desiredCount"],
                "capacityProviderStrategy": svc.get("capacityProviderStrategy") or None,
            }
    for page in aas.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="ecs"):
        for target in page["ScalableTargets"]:
            state["scalable"][target["ResourceId"]] = (target["MinCapacity"], target["MaxCapacity"])
    for spec in specs:
        state["policies"][spec["repositoryName"]] = _lifecycle_policy(ecr, spec["repositoryName"])
        family = spec["taskDefinitionFamily"]
        arns = [
            arn
            for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family)
            for arn in page["taskDefinitionArns"]
        ]
        state["revisions"][family] = {
            arn: ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"] for arn in arns
        }
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
        for alarm in page["MetricAlarms"]:
            state["alarms"][alarm["AlarmName"]] = alarm["Threshold"]
    state["locks"] = _held_locks(ssm, facts.lock_parameter(fleet.cluster_name))
    return state


def _lifecycle_policy(ecr: Any, repository: str) -> Any:
    try:
        return json.loads(ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"])
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        return None


def _held_locks(ssm: Any, name: str) -> List[str]:
    try:
        ssm.get_parameter(Name=name)
    except ssm.exceptions.ParameterNotFound:
        return []
    return [name]


def strategy_text(items: Optional[List[Dict[str, Any]]]) -> str:
    """How a service's tasks are placed, in words: ``on-demand only``, or
    ``1 on-demand, then 70% Spot (FARGATE 3 : FARGATE_SPOT 7)``."""
    normalized = res.normalize_strategy(items)
    if not normalized:
        return "launch type (no capacity providers)"
    strategy = CapacityStrategy.from_aws(normalized)
    if not strategy.spot_weight:
        return "on-demand only"
    weights = " : ".join(f"{i['capacityProvider']} {i['weight']}" for i in normalized)
    base = f"{strategy.base} on-demand, then " if strategy.base else ""
    return f"{base}{strategy.spot_share:.0%} Spot ({weights})"


def read_live_state(
    endpoint: str,
    region: str,
    compute_outputs: Mapping[str, Any],
    observability_outputs: Optional[Mapping[str, Any]] = None,
) -> List[Dict[str, Any]]:
    """What AWS holds for each service the compute outputs name, read with plain API calls.

    One row per service (sorted by catalog name): task definition revision, CPU/memory,
    desired and running count, capacity-provider strategy, autoscaling min/max, the ECR
    lifecycle policy's keep count and the image count, and each alarm's threshold.
    """
    ecs = emulator_client(endpoint, region, "ecs")
    ecr = emulator_client(endpoint, region, "ecr")
    aas = emulator_client(endpoint, region, "application-autoscaling")
    cloudwatch = emulator_client(endpoint, region, "cloudwatch")
    cluster = str(compute_outputs["clusterName"])
    suffix = str(compute_outputs["environmentSuffix"])
    specs = dict(sorted(compute_outputs["services"].items()))
    described: Dict[str, Dict[str, Any]] = {}
    for batch in chunks([s["serviceName"] for s in specs.values()], DESCRIBE_SERVICES_BATCH):
        for svc in ecs.describe_services(cluster=cluster, services=batch)["services"]:
            described[svc["serviceName"]] = svc
    targets: Dict[str, Dict[str, Any]] = {}
    for batch in chunks([s["scalableTargetResourceId"] for s in specs.values()], DESCRIBE_SCALABLE_TARGETS_BATCH):
        for t in aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=batch)["ScalableTargets"]:
            targets[t["ResourceId"]] = t
    alarm_names: Dict[str, Dict[str, str]] = {}
    for name in specs:
        declared = ((observability_outputs or {}).get("alarms") or {}).get(name)
        if declared:
            alarm_names[name] = {kind: ref["name"] for kind, ref in declared.items() if ref}
        else:
            alarm_names[name] = {a.kind: a.name for a in pattern_alarms(name, suffix)}
    thresholds: Dict[str, float] = {}
    for batch in chunks(sorted({n for kinds in alarm_names.values() for n in kinds.values()}), 100):
        for alarm in cloudwatch.describe_alarms(AlarmNames=batch, AlarmTypes=["MetricAlarm"])["MetricAlarms"]:
            thresholds[alarm["AlarmName"]] = float(alarm["Threshold"])
    rows = []
    for name, spec in specs.items():
        svc = described.get(spec["serviceName"], {})
        task_def = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"] if svc else {}
        target = targets.get(spec["scalableTargetResourceId"], {})
        try:
            policy = ecr.get_lifecycle_policy(repositoryName=spec["repositoryName"])["lifecyclePolicyText"]
        except ecr.exceptions.LifecyclePolicyNotFoundException:
            policy = None
        images = sum(
            len(page["imageIds"])
            for page in ecr.get_paginator("list_images").paginate(repositoryName=spec["repositoryName"])
        )
        strategy = svc.get("capacityProviderStrategy")
        rows.append(
            {
                "service": name,
                "serviceName": spec["serviceName"],
                "taskDefinition": str(svc.get("taskDefinition", "")).rsplit("/", 1)[-1],
                "revision": task_def.get("revision"),
                "cpu": int(task_def["cpu"]) if task_def.get("cpu") else None,
                "memory": int(task_def["memory"]) if task_def.get("memory") else None,
                "desiredCount": svc.get("desiredCount"),
                "runningCount": svc.get("runningCount"),
                "capacityProviderStrategy": res.normalize_strategy(strategy),
                "strategy": strategy_text(strategy),
                "minCapacity": target.get("MinCapacity"),
                "maxCapacity": target.get("MaxCapacity"),
                "keepImages": res.keep_count(policy)[0],
                "images": images,
                "alarms": {kind: thresholds.get(alarm) for kind, alarm in sorted(alarm_names[name].items())},
            }
        )
    return rows
