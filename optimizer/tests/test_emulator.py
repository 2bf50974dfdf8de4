"""The local emulator: the process, the fidelity fixes, and seeding from a real offline plan.

The plan is the stacks' reviewed dev plan (``plan_snapshots.PLAN_DIR``), so the
checks below compare what the emulator holds after seeding with what the stacks declare.
One emulator serves the module; the tests only read what the module fixture seeded, except
the fidelity tests, which work on their own cluster and repository.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from ecs_optimizer.live.aws import AwsSettings, open_context
from ecs_optimizer.live.metrics import fetch_series
from ecs_optimizer_lab import emulator as em
from ecs_optimizer_lab.fleet import (
    T_ALARM,
    T_CAPACITY,
    T_CLUSTER,
    T_LIFECYCLE,
    T_POLICY,
    T_REPOSITORY,
    T_SERVICE,
    T_TARGET,
    T_TASK_DEF,
    PlanError,
    api_params,
    fleet_from_plan,
    load_plan,
)
from ecs_optimizer_lab.synthetic import TraceSpec, generate_trace, history_start, repository_images
from plan_snapshots import PLAN_DIR

PLAN = PLAN_DIR
SEED = 7


@pytest.fixture(scope="module")
def plan():
    return load_plan(PLAN)


@pytest.fixture(scope="module")
def emu() -> Iterator[em.Emulator]:
    with em.Emulator(region="us-east-1", rollout_seconds=0.5) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def seeded(emu: em.Emulator, tmp_path_factory: pytest.TempPathFactory) -> em.SeedReport:
    return em.seed_from_plan(PLAN, emu.endpoint, seed=SEED, outputs_dir=tmp_path_factory.mktemp("outputs"))


def _tags(items: List[Dict[str, str]], key: str = "key", value: str = "value") -> Dict[str, str]:
    return {t[key]: t[value] for t in items}


def _expected_tags(plan: Any, resource: Any) -> Dict[str, str]:
    return {**plan.default_tags(resource), **(resource.inputs.get("tags") or {})}


# ----------------------------------------------------------------------------- the process


def test_emulator_binds_loopback_and_stops_even_on_error() -> None:
    emulator = em.Emulator()
    with pytest.raises(KeyboardInterrupt):
        with emulator:
            assert emulator.endpoint.startswith("http://127.0.0.1:")
            port = int(emulator.endpoint.rsplit(":", 1)[1])
            proc = emulator._proc
            assert proc is not None and proc.poll() is None
            raise KeyboardInterrupt  # what Ctrl-C raises: a BaseException, not an Exception
    assert proc.poll() is not None, "the server outlived the with block"
    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", port))


def test_emulator_counts_calls_by_operation(emu: em.Emulator) -> None:
    emu.reset_calls()
    ecs = emu.client("ecs")
    ecs.list_clusters()
    ecs.list_clusters()
    emu.client("cloudwatch").describe_alarms(AlarmNames=["none"])
    assert emu.calls() == {"ecs:ListClusters": 2, "cloudwatch:DescribeAlarms": 1}


# ----------------------------------------------------------------------------- conversion


def test_api_params_maps_pulumi_names_and_refuses_unknown_inputs() -> None:
    params = api_params(
        "cloudwatch",
        "PutMetricAlarm",
        {"name": "a", "okActions": ["t"], "dimensions": {"ClusterName": "c"}, "threshold": 80, "period": "60"},
        "test",
        renames={"name": "AlarmName"},
    )
    assert params == {
        "AlarmName": "a",
        "OKActions": ["t"],
        "Dimensions": [{"Name": "ClusterName", "Value": "c"}],
        "Threshold": 80.0,
        "Period": 60,
    }
    with pytest.raises(PlanError, match="'colour' has no API field"):
        api_params("ecs", "CreateCluster", {"clusterName": "c", "colour": "blue"}, "test")


def test_missing_plan_is_explained(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="npm run plan -- all"):
        fleet_from_plan(tmp_path)


# ----------------------------------------------------------------------------- seeding = the plan


def test_seeding_creates_exactly_the_cluster_the_plan_declares(
    plan: Any, emu: em.Emulator, seeded: em.SeedReport
) -> None:
    declared = plan.of_type(T_CLUSTER)[0]
    ecs = emu.client("ecs")
    assert ecs.list_clusters()["clusterArns"][-1].endswith(f"/{declared.inputs['name']}")
    cluster = ecs.describe_clusters(clusters=[declared.inputs["name"]], include=["SETTINGS", "TAGS"])["clusters"][0]
    assert cluster["settings"] == declared.inputs["settings"]
    assert _tags(cluster["tags"]) == _expected_tags(plan, declared)
    capacity = plan.of_type(T_CAPACITY)[0].inputs
    assert cluster["capacityProviders"] == capacity["capacityProviders"]
    assert cluster["defaultCapacityProviderStrategy"] == capacity["defaultCapacityProviderStrategies"]


def test_seeding_registers_each_task_definition_of_the_plan(plan: Any, emu: em.Emulator, seeded: em.SeedReport) -> None:
    ecs = emu.client("ecs")
    declared = plan.of_type(T_TASK_DEF)
    families = ecs.list_task_definition_families()["families"]
    assert sorted(families) == sorted(r.inputs["family"] for r in declared)
    for r in declared:
        got = ecs.describe_task_definition(taskDefinition=r.inputs["family"], include=["TAGS"])
        td = got["taskDefinition"]
        assert td["revision"] == 1
        for key in (
            "cpu",
            "memory",
            "executionRoleArn",
            "taskRoleArn",
            "networkMode",
            "requiresCompatibilities",
            "runtimePlatform",
        ):
            assert td[key] == r.inputs[key], key
        assert [v["name"] for v in td["volumes"]] == [v["name"] for v in r.inputs["volumes"]]
        containers = json.loads(r.inputs["containerDefinitions"])
        assert len(td["containerDefinitions"]) == len(containers)
        for have, want in zip(td["containerDefinitions"], containers):
            for key in ("name", "image", "secrets", "logConfiguration", "portMappings", "readonlyRootFilesystem"):
                assert have[key] == want[key], key
        assert _tags(got["tags"]) == _expected_tags(plan, r)


def test_seeding_creates_each_service_with_its_count_and_strategy(
    plan: Any, emu: em.Emulator, seeded: em.SeedReport
) -> None:
    ecs = emu.client("ecs")
    cluster = plan.of_type(T_CLUSTER)[0].inputs["name"]
    declared = {r.inputs["name"]: r for r in plan.of_type(T_SERVICE)}
    arns = ecs.list_services(cluster=cluster)["serviceArns"]
    assert sorted(a.rsplit("/", 1)[1] for a in arns) == sorted(declared)
    services = ecs.describe_services(cluster=cluster, services=list(declared), include=["TAGS"])["services"]
    for svc in services:
        r = declared[svc["serviceName"]]
        assert svc["desiredCount"] == svc["runningCount"] == r.inputs["desiredCount"]
        want = sorted(r.inputs["capacityProviderStrategies"], key=lambda i: i["capacityProvider"])
        have = sorted(svc["capacityProviderStrategy"], key=lambda i: i["capacityProvider"])
        assert [(i["capacityProvider"], i.get("base", 0), i["weight"]) for i in have] == [
            (i["capacityProvider"], i["base"], i["weight"]) for i in want
        ]
        assert "launchType" not in svc or svc["launchType"] is None
        assert svc["taskDefinition"] == r.inputs["taskDefinition"]
        assert svc["deployments"][0]["rolloutState"] == "COMPLETED"
        assert _tags(svc["tags"]) == _expected_tags(plan, r)
        awsvpc = svc["networkConfiguration"]["awsvpcConfiguration"]
        assert len(awsvpc["subnets"]) == len(r.inputs["networkConfiguration"]["subnets"])


def test_seeding_creates_each_repository_with_images_and_its_lifecycle_policy(
    plan: Any, emu: em.Emulator, seeded: em.SeedReport
) -> None:
    ecr = emu.client("ecr")
    declared = {r.inputs["name"]: r for r in plan.of_type(T_REPOSITORY)}
    repos = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    assert sorted(repos) == sorted(declared)
    keep = {v["name"]: v["keepImages"] for v in plan.outputs["registry"]["repositories"].values()}
    policies = {str(r.inputs["repository"]): r.inputs["policy"] for r in plan.of_type(T_LIFECYCLE)}
    for name, r in declared.items():
        assert repos[name]["imageTagMutability"] == r.inputs["imageTagMutability"]
        assert repos[name]["encryptionConfiguration"] == r.inputs["encryptionConfigurations"][0]
        text = ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
        assert json.loads(text) == json.loads(policies[name])
        images = ecr.describe_images(repositoryName=name)["imageDetails"]
        images.sort(key=lambda i: i["imagePushedAt"])
        expected = repository_images(name, keep[name], SEED)
        assert [i["imageTags"] for i in images] == [[x.tag] for x in expected]
        assert [i["imageSizeInBytes"] for i in images] == [x.size for x in expected]
        tags = ecr.list_tags_for_resource(resourceArn=repos[name]["repositoryArn"])["tags"]
        assert _tags(tags, "Key", "Value") == _expected_tags(plan, r)


def test_seeding_registers_scalable_targets_and_scaling_policies(
    plan: Any, emu: em.Emulator, seeded: em.SeedReport
) -> None:
    aas = emu.client("application-autoscaling")
    targets = {t["ResourceId"]: t for t in aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]}
    declared = {r.inputs["resourceId"]: r.inputs for r in plan.of_type(T_TARGET)}
    assert sorted(targets) == sorted(declared)
    for rid, want in declared.items():
        assert (targets[rid]["MinCapacity"], targets[rid]["MaxCapacity"]) == (want["minCapacity"], want["maxCapacity"])
    policies = aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    want_policies = {r.inputs["name"]: r.inputs for r in plan.of_type(T_POLICY)}
    assert sorted(p["PolicyName"] for p in policies) == sorted(want_policies)
    for p in policies:
        config = want_policies[p["PolicyName"]]["targetTrackingScalingPolicyConfiguration"]
        assert p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == config["targetValue"]


def test_seeding_creates_every_alarm_with_every_field(plan: Any, emu: em.Emulator, seeded: em.SeedReport) -> None:
    cloudwatch = emu.client("cloudwatch")
    everything = cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    # Target tracking policies own a high and a low alarm each, created by AWS (and moto).
    managed = [a for a in everything if a["AlarmName"].startswith("TargetTracking-")]
    assert len(managed) == 2 * len(plan.of_type(T_POLICY))
    alarms = {a["AlarmName"]: a for a in everything if a not in managed}
    declared = {r.inputs["name"]: r for r in plan.of_type(T_ALARM)}
    assert sorted(alarms) == sorted(declared)
    fields = {
        "alarmDescription": "AlarmDescription",
        "comparisonOperator": "ComparisonOperator",
        "datapointsToAlarm": "DatapointsToAlarm",
        "evaluationPeriods": "EvaluationPeriods",
        "metricName": "MetricName",
        "namespace": "Namespace",
        "period": "Period",
        "statistic": "Statistic",
        "threshold": "Threshold",
        "treatMissingData": "TreatMissingData",
        "alarmActions": "AlarmActions",
        "okActions": "OKActions",
    }
    for name, r in declared.items():
        assert set(r.inputs) - {"name", "dimensions", "tags"} <= set(fields), "a new alarm field to compare"
        have = alarms[name]
        for pulumi_name, api_name in fields.items():
            if pulumi_name in r.inputs:
                assert have[api_name] == r.inputs[pulumi_name], f"{name}.{api_name}"
        assert _tags(have["Dimensions"], "Name", "Value") == r.inputs["dimensions"]
        tags = cloudwatch.list_tags_for_resource(ResourceARN=have["AlarmArn"])["Tags"]
        assert _tags(tags, "Key", "Value") == _expected_tags(plan, r)


def test_seeding_writes_the_layer_outputs_the_cli_takes(plan: Any, seeded: em.SeedReport) -> None:
    for layer, path in seeded.outputs.items():
        assert json.loads(path.read_text()) == plan.outputs[layer]


def test_seed_report_counts_match_the_plan(plan: Any, seeded: em.SeedReport) -> None:
    assert len(seeded.task_definitions) == len(plan.of_type(T_TASK_DEF))
    assert len(seeded.services) == len(plan.of_type(T_SERVICE))
    assert len(seeded.repositories) == len(plan.of_type(T_REPOSITORY))
    assert len(seeded.lifecycle_policies) == len(plan.of_type(T_LIFECYCLE))
    assert len(seeded.scalable_targets) == len(plan.of_type(T_TARGET))
    assert len(seeded.scaling_policies) == len(plan.of_type(T_POLICY))
    assert len(seeded.alarms) == len(plan.of_type(T_ALARM))


def test_live_state_reads_back_the_seeded_fleet(plan: Any, emu: em.Emulator, seeded: em.SeedReport) -> None:
    compute = plan.outputs["compute"]
    rows = em.read_live_state(emu.endpoint, emu.region, compute, plan.outputs["observability"])
    assert [r["service"] for r in rows] == sorted(compute["services"])
    for row in rows:
        spec = compute["services"][row["service"]]
        assert (row["cpu"], row["memory"], row["desiredCount"]) == (spec["cpu"], spec["memory"], spec["desiredCount"])
        assert (row["minCapacity"], row["maxCapacity"]) == (spec["minCapacity"], spec["maxCapacity"])
        assert row["revision"] == 1
        assert (
            row["keepImages"] == row["images"] == plan.outputs["registry"]["repositories"][row["service"]]["keepImages"]
        )
        declared = plan.outputs["observability"]["alarms"][row["service"]]
        assert row["alarms"] == {kind: float(ref["threshold"]) for kind, ref in sorted(declared.items())}


def test_scaled_fleet_clones_every_service_resource(emu: em.Emulator) -> None:
    fleet = fleet_from_plan(PLAN).scaled(5)
    assert sorted(fleet.compute_outputs["services"]) == [f"svc-{k:04d}" for k in range(5)]
    assert len(fleet.services) == len(fleet.task_definitions) == len(fleet.repositories) == 5
    assert {s["serviceName"] for s in fleet.services} == set(fleet.service_names.values())
    per_service_alarms = sum(len(kinds) for kinds in fleet.observability_outputs["alarms"].values())
    assert len(fleet.alarms) == per_service_alarms + 1  # plus the cluster's Spot interruption alarm
    assert [s["critical"] for _, s in sorted(fleet.compute_outputs["services"].items())] == [
        True,
        False,
        True,
        False,
        True,
    ]


# ----------------------------------------------------------------------------- history


def test_history_is_what_the_optimizer_reads(
    emu: em.Emulator, seeded: em.SeedReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    fleet = seeded.fleet
    assert fleet is not None and em.container_insights_enabled(fleet)
    names = fleet.service_names
    traces = {
        names[n]: TraceSpec(kind, 20.0, 40.0, i)
        for i, (n, kind) in enumerate(zip(sorted(names), ("daily", "bursty", "memoryCreep")))
    }
    reservations = em.fleet_reservations(fleet)
    report = em.seed_history(
        emu.endpoint, emu.region, seeded.cluster, traces, days=14, seed=SEED, now=now, reservations=reservations
    )
    assert (report.hours, report.datapoints) == (336, 336 * 5 * len(traces))
    for key, value in emu.env().items():
        monkeypatch.setenv(key, value)
    ctx = open_context(AwsSettings(region=emu.region, endpoint_url=emu.endpoint, dry_run=True))
    series = fetch_series(ctx, seeded.cluster, dict(names), 14, now=now)
    start = history_start(14, now)
    for catalog, service_name in names.items():
        trace = generate_trace(traces[service_name], 14, start, SEED)
        got = series[catalog]
        assert [got["cpu"][t] for t in sorted(got["cpu"])] == pytest.approx(trace.hourly_cpu_average())
        assert [got["mem"][t] for t in sorted(got["mem"])] == pytest.approx(trace.hourly_memory_maximum())
        r = reservations[service_name]
        assert set(got["cpures"].values()) == {float(r.cpu * r.tasks)}
        assert set(got["memres"].values()) == {float(r.memory * r.tasks)}


# ----------------------------------------------------------------------------- fidelity fixes


def test_update_service_starts_a_deployment_that_completes(emu: em.Emulator) -> None:
    ecs = emu.client("ecs")
    ecs.create_cluster(clusterName="fidelity")
    first = ecs.register_task_definition(
        family="fid", cpu="512", memory="1024", containerDefinitions=[{"name": "a", "image": "nginx"}]
    )
    second = ecs.register_task_definition(
        family="fid", cpu="256", memory="512", containerDefinitions=[{"name": "a", "image": "nginx"}]
    )
    strategy = [{"capacityProvider": "FARGATE", "base": 1, "weight": 1}]
    created = ecs.create_service(
        cluster="fidelity",
        serviceName="fid",
        taskDefinition=first["taskDefinition"]["taskDefinitionArn"],
        desiredCount=3,
        capacityProviderStrategy=strategy,
    )["service"]
    assert created["runningCount"] == 3 and created["capacityProviderStrategy"] == strategy
    new_td = second["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster="fidelity", service="fid", taskDefinition=new_td, desiredCount=2)
    svc = ecs.describe_services(cluster="fidelity", services=["fid"])["services"][0]
    primary = [d for d in svc["deployments"] if d["status"] == "PRIMARY"][0]
    assert primary["taskDefinition"] == new_td and primary["rolloutState"] == "IN_PROGRESS"
    assert [d["status"] for d in svc["deployments"]] == ["PRIMARY", "ACTIVE"]
    time.sleep(emu.rollout_seconds + 0.1)
    svc = ecs.describe_services(cluster="fidelity", services=["fid"])["services"][0]
    assert [(d["status"], d["rolloutState"], d["taskDefinition"]) for d in svc["deployments"]] == [
        ("PRIMARY", "COMPLETED", new_td)
    ]
    assert svc["runningCount"] == svc["desiredCount"] == 2
    assert svc["capacityProviderStrategy"] == strategy


def test_images_are_ordered_by_push_and_sized_by_their_layers(emu: em.Emulator) -> None:
    ecr = emu.client("ecr")
    ecr.create_repository(repositoryName="fidelity-images")
    images = repository_images("fidelity-images", 6, SEED)
    for image in images:
        ecr.put_image(repositoryName="fidelity-images", imageManifest=image.manifest(), imageTag=image.tag)
    details = ecr.describe_images(repositoryName="fidelity-images")["imageDetails"]
    pushed = [d["imagePushedAt"] for d in details]
    assert len(set(pushed)) == len(pushed), "push times tie"
    by_time = sorted(details, key=lambda d: d["imagePushedAt"])
    assert [(d["imageTags"][0], d["imageSizeInBytes"]) for d in by_time] == [(i.tag, i.size) for i in images]
