"""Read back, with plain API calls, everything the optimizer may change in a seeded fleet.

:func:`read_state` is the tests' before/after witness: a run that must change nothing (a dry
run, bad input, a refused rollback) leaves it equal, and a rollback restores it. It reads
what AWS holds, never what the optimizer reported, and it names only what the fleet
declares, so it works the same against the emulator server and moto in-process. For the
demo's per-service table (sizes, strategy in words, image counts) see
:func:`ecs_optimizer_lab.emulator.read_live_state`.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List

from ecs_optimizer.core import facts
from ecs_optimizer.live.aws import chunks
from ecs_optimizer.live.discovery import DESCRIBE_SERVICES_BATCH

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
