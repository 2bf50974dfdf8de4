"""The lab's in-process seeding, read-back and fleet variants: what the other tests stand on."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict

from ecs_optimizer.core import facts
from ecs_optimizer_lab.emulator import fleet_images
from ecs_optimizer_lab.readback import read_state
from plan_snapshots import FLEET, SEED


def _without(fleet_field: Any, key: str) -> Any:
    return [{k: v for k, v in item.items() if k != key} for item in fleet_field]


def test_the_seeded_fleet_reads_back_as_the_plan_declares_it(outputs: Dict[str, Any], client: Callable[[str], Any]):
    state = read_state(client, FLEET)
    assert outputs == FLEET.compute_outputs
    assert set(state["services"]) == set(FLEET.service_names.values())
    for name in FLEET.catalog:
        declared = FLEET.service(name)
        live = state["services"][declared["serviceName"]]
        assert live["desiredCount"] == declared["desiredCount"]
        assert live["taskDefinition"].endswith(f"task-definition/{declared['taskDefinitionFamily']}:1")
        assert state["revisions"][declared["taskDefinitionFamily"]] == {live["taskDefinition"]: "ACTIVE"}
        assert state["scalable"][declared["scalableTargetResourceId"]] == (
            declared["minCapacity"],
            declared["maxCapacity"],
        )
        repository = FLEET.repository(name)
        assert state["policies"][repository.name] == json.loads(repository.lifecycle_policy or "null")
        pushed = client("ecr").describe_images(repositoryName=repository.name)["imageDetails"]
        images = fleet_images(repository, SEED)
        assert sorted(d["imageSizeInBytes"] for d in pushed) == sorted(i.size for i in images)
    declared_alarms = {a["AlarmName"]: a["Threshold"] for a in FLEET.alarms}
    assert {n: t for n, t in state["alarms"].items() if n in declared_alarms} == declared_alarms
    # the rest are target tracking's own alarms, which AWS (and moto) create with each policy
    assert all(n.startswith("TargetTracking-") for n in set(state["alarms"]) - set(declared_alarms))
    assert state["locks"] == []
    client("ssm").put_parameter(Name=facts.lock_parameter(FLEET.cluster_name), Value="{}", Type="String")
    assert read_state(client, FLEET)["locks"] == [facts.lock_parameter(FLEET.cluster_name)]


def test_the_seeded_alarms_are_the_observability_layers_own(outputs: Dict[str, Any], client: Callable[[str], Any]):
    """Metric, statistic, period, evaluation periods and threshold as the stack declares them,
    not values typed for the tests."""
    fields = ("Namespace", "MetricName", "Statistic", "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold")
    live = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
    for request in FLEET.alarms:
        alarm = live[request["AlarmName"]]
        assert {f: alarm.get(f) for f in fields} == {f: request.get(f) for f in fields}, request["AlarmName"]


def test_on_demand_places_every_service_by_the_cluster_default_and_changes_nothing_else():
    variant = FLEET.on_demand()
    default = FLEET.capacity_providers["defaultCapacityProviderStrategy"]
    assert any(s["capacityProviderStrategy"] != default for s in FLEET.services)  # the plan has Spot
    assert all(s["capacityProviderStrategy"] == default for s in variant.services)
    assert _without(variant.services, "capacityProviderStrategy") == _without(
        FLEET.services, "capacityProviderStrategy"
    )
    assert (variant.task_definitions, variant.alarms, variant.compute_outputs) == (
        FLEET.task_definitions,
        FLEET.alarms,
        FLEET.compute_outputs,
    )


def test_running_repository_images_points_each_service_at_its_own_repository():
    variant = FLEET.running_repository_images("v7")
    for name in FLEET.catalog:
        url = FLEET.registry_outputs["repositories"][name]["url"]
        before, after = FLEET.task_definition(name), variant.task_definition(name)
        assert not before["containerDefinitions"][0]["image"].startswith(url)
        assert [c["image"] for c in after["containerDefinitions"] if c["name"] == name] == [f"{url}:v7"]
        assert _without(after["containerDefinitions"], "image") == _without(before["containerDefinitions"], "image")
    assert variant.services == FLEET.services


def test_in_account_names_the_other_account_everywhere():
    variant = FLEET.in_account("111111111111")
    assert (FLEET.account, variant.account) == ("123456789012", "111111111111")
    text = json.dumps(
        [variant.task_definitions, variant.services, variant.alarms, variant.compute_outputs, variant.registry_outputs]
    )
    assert "123456789012" not in text and "111111111111" in text
    assert text.replace("111111111111", "123456789012") == json.dumps(
        [FLEET.task_definitions, FLEET.services, FLEET.alarms, FLEET.compute_outputs, FLEET.registry_outputs]
    )
