"""``optimize --via-pulumi``, the Pulumi-first path, through the CLI on the emulator: no mutating
AWS call, the stack files written exactly as ``--write-config`` writes them for the same plan,
the pull-request comment and the expected preview, the plan record and bad input. The real
engine's side (``pulumi preview`` and ``scripts/layers.sh up`` reaching the state of a direct
run) is test/e2e/pulumi-first.e2e.ts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Set, Tuple

import pytest

from ecs_optimizer.apply.journal_reader import read_journal
from ecs_optimizer.core.model import ServiceState, Status
from ecs_optimizer.live.inventory import LiveService
from ecs_optimizer.live.targets import ServiceTarget
from ecs_optimizer.planning.plan import ServicePlan
from ecs_optimizer.writeback.pulumi_first import (
    LIFECYCLE_POLICY_TYPE,
    METRIC_ALARM_TYPE,
    SCALABLE_TARGET_TYPE,
    SERVICE_TYPE,
    TASK_DEFINITION_TYPE,
    desired_count_effect,
)
from ecs_optimizer_lab.readback import read_state
from helpers import FAST, ON_DEMAND_FLEET, mutating
from plan_snapshots import FLEET

FIXED = ["--policy", "fixed"]

STACK_FILES = {
    "compute": "# compute, dev\nconfig:\n  aws:region: us-east-1\n  compute:tier: dev\n",
    "registry": "# registry, dev\nconfig:\n  aws:region: us-east-1\n  registry:tier: dev\n",
    "observability": "config:\n  aws:region: us-east-1\n  observability:tier: dev\n# end\n",
}


def stack_files(root: Path) -> Dict[str, Path]:
    out = {}
    for layer, text in STACK_FILES.items():
        path = root / layer / "Pulumi.dev.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        out[layer] = path
    return out


def write_args(paths: Dict[str, Path]) -> list:
    return [a for p in paths.values() for a in ("--write-config", str(p))]


def texts(paths: Dict[str, Path]) -> Dict[str, str]:
    return {layer: p.read_text() for layer, p in paths.items()}


def changed_resources(before: Dict[str, Any], after: Dict[str, Any]) -> Set[Tuple[str, str, str]]:
    """(Pulumi type, AWS name, field) of everything a run changed, from two read-backs."""
    out: Set[Tuple[str, str, str]] = set()
    for name, svc in after["services"].items():
        old = before["services"][name]
        if svc["taskDefinition"] != old["taskDefinition"]:
            out.add((SERVICE_TYPE, name, "taskDefinition"))
        if svc["desiredCount"] != old["desiredCount"]:
            out.add((SERVICE_TYPE, name, "desiredCount"))
        if svc["capacityProviderStrategy"] != old["capacityProviderStrategy"]:
            out.add((SERVICE_TYPE, name, "capacityProviderStrategies"))
    for resource_id, (low, high) in after["scalable"].items():
        old_low, old_high = before["scalable"][resource_id]
        if low != old_low:
            out.add((SCALABLE_TARGET_TYPE, resource_id, "minCapacity"))
        if high != old_high:
            out.add((SCALABLE_TARGET_TYPE, resource_id, "maxCapacity"))
    for repository, policy in after["policies"].items():
        if policy != before["policies"][repository]:
            out.add((LIFECYCLE_POLICY_TYPE, repository, "policy"))
    for alarm, threshold in after["alarms"].items():
        if threshold != before["alarms"][alarm]:
            out.add((METRIC_ALARM_TYPE, alarm, "threshold"))
    return out


def expected_resources(report: Dict[str, Any]) -> Set[Tuple[str, str, str]]:
    """The same triples from the report: the expected preview (a new task-definition revision
    counted on its service, as a read-back sees it) and the deferred fields."""
    out: Set[Tuple[str, str, str]] = set()
    for resources in report["expectedPreview"]["layers"].values():
        for r in resources:
            if r["type"] == TASK_DEFINITION_TYPE:
                continue  # seen through the service's taskDefinition
            out |= {(r["type"], r["name"], p["property"]) for p in r["properties"]}
    out |= {(d["type"], d["name"], d["property"]) for d in report["expectedPreview"]["deferred"]}
    return out


@ON_DEMAND_FLEET  # Spot is planned too
def test_via_pulumi_writes_what_a_direct_run_writes_and_changes_nothing_in_aws(
    outputs_file, run_cli, client, contexts, tmp_path
) -> None:
    first, direct = stack_files(tmp_path / "first"), stack_files(tmp_path / "direct")
    before = read_state(client, FLEET)
    record = tmp_path / "plan.jsonl"
    result = run_cli(
        "optimize", "--outputs", outputs_file, *FIXED, "--via-pulumi", *write_args(first), "--journal", str(record),
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert mutating(contexts) == {}
    assert read_state(client, FLEET) == before
    report = json.loads(result.stdout)
    assert report["mode"] == "via-pulumi" and report["version"] == 1
    assert {f["layer"]: f["status"] for f in report["writeConfig"]["files"]} == dict.fromkeys(STACK_FILES, "written")

    run = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST, *write_args(direct), "--format", "json")
    assert run.exit_code == 0, run.stderr
    # the same keys, values and layout as --write-config on the same plan
    assert texts(first) == texts(direct)
    assert texts(first) != STACK_FILES
    # every field the direct run changed in AWS is one the report names, and nothing else
    assert changed_resources(before, read_state(client, FLEET)) == expected_resources(report)


@ON_DEMAND_FLEET
def test_the_report_names_resources_per_layer_and_what_pulumi_up_does_not_set(outputs_file, run_cli, tmp_path) -> None:
    paths = stack_files(tmp_path)
    args = ["optimize", "--outputs", outputs_file, *FIXED, "--via-pulumi", *write_args(paths)]
    report = json.loads(run_cli(*args, "--dry-run", "--format", "json").stdout)
    layers = report["expectedPreview"]["layers"]
    assert list(layers) == ["registry", "compute", "observability"]
    compute = {(r["type"], r["name"]): r for r in layers["compute"]}
    for name in FLEET.catalog:
        spec = FLEET.service(name)
        family, service = spec["taskDefinitionFamily"], spec["serviceName"]
        task = compute[(TASK_DEFINITION_TYPE, family)]
        assert task["operation"] == "replace"
        cpu = next(p for p in task["properties"] if p["property"] == "cpu")
        assert cpu["before"] == spec["cpu"] and cpu["after"] < spec["cpu"]
        props = {p["property"] for p in compute[(SERVICE_TYPE, service)]["properties"]}
        assert "taskDefinition" in props and "desiredCount" not in props
        target = compute[(SCALABLE_TARGET_TYPE, spec["scalableTargetResourceId"])]
        assert {p["property"]: (p["before"], p["after"]) for p in target["properties"]}["minCapacity"] == (
            spec["minCapacity"],
            spec["minCapacity"] - 1,
        )
    assert {r["type"] for r in layers["registry"]} == {LIFECYCLE_POLICY_TYPE}
    # the desired count: left to autoscaling by the program, so said how and when it moves
    deferred = {d["name"]: d for d in report["expectedPreview"]["deferred"]}
    for name in FLEET.catalog:
        spec = FLEET.service(name)
        d = deferred[spec["serviceName"]]
        assert d["property"] == "desiredCount" and d["before"] == spec["desiredCount"]
        assert d["afterPulumiUp"] == spec["desiredCount"]  # inside the new range: not moved at once
        assert "ignoreChanges" in d["how"] and "target tracking" in d["how"]
        assert f"--desired-count {d['planned']}" in d["how"]
    # the running-tasks-low alarm follows compute's minCapacity: previewed once compute is up
    running_low = [
        p for r in layers["observability"] for p in r["properties"] if r["name"].startswith("running-tasks-low")
    ]
    assert running_low and all(p.get("afterUpstream") == "compute" for p in running_low)
    # a dry run writes nothing
    assert texts(paths) == STACK_FILES
    assert {f["status"] for f in report["writeConfig"]["files"]} == {"planned"}


@ON_DEMAND_FLEET
def test_the_pull_request_comment_is_printed(outputs_file, run_cli, tmp_path) -> None:
    paths = stack_files(tmp_path)
    record = tmp_path / "plan.jsonl"
    result = run_cli(
        "optimize", "--outputs", outputs_file, *FIXED, "--via-pulumi", *write_args(paths), "--journal", str(record)
    )
    assert result.exit_code == 0, result.stderr
    comment = result.stdout
    assert comment.startswith(f"## ecs-optimizer: cost changes for stack `{FLEET.suffix}`, through `pulumi up`")
    for heading in ("### Stack files", "### What `pulumi up` will change", "### Not set by `pulumi up`", "### Next"):
        assert heading in comment
    assert "| resource | type | operation | property | change |" in comment
    assert f"`{FLEET.service('frontend')['taskDefinitionFamily']}`" in comment
    assert "`compute:services.frontend.sizes.dev.cpu`" in comment
    assert f"scripts/layers.sh up {FLEET.suffix}" in comment
    assert f"ecs-optimizer rollback --journal {record}" in comment
    assert "Estimated saving: **$" in comment


@ON_DEMAND_FLEET
def test_the_plan_record_lets_rollback_put_the_files_back(outputs_file, run_cli, tmp_path) -> None:
    paths = stack_files(tmp_path)
    record = tmp_path / "plan.jsonl"
    args = ["optimize", "--outputs", outputs_file, *FIXED, "--via-pulumi", *write_args(paths), "--journal", str(record)]
    assert run_cli(*args).exit_code == 0
    contents = read_journal(str(record))
    assert contents.header["mode"] == "via-pulumi"
    assert {c.resource for c in contents.changes} == {"configFile"}  # the stack files only, no AWS write
    assert texts(paths) != STACK_FILES
    assert run_cli("rollback", "--journal", str(record), *FAST).exit_code == 0
    assert texts(paths) == STACK_FILES


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--via-pulumi writes the plan to stack files: pass --write-config"),
        (["--write-config", "missing/Pulumi.dev.yaml"], "--write-config missing/Pulumi.dev.yaml: no such file"),
        (["--accounts", "accounts.json"], "--via-pulumi writes one environment's stack files"),
    ],
)
def test_bad_input_exits_2_in_one_line_with_nothing_changed(
    outputs_file, run_cli, client, contexts, extra, message
) -> None:
    before = read_state(client, FLEET)
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--via-pulumi", *extra)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert mutating(contexts) == {} and read_state(client, FLEET) == before


def test_a_layer_the_plan_changes_without_its_file_exits_2(outputs_file, run_cli, client, contexts, tmp_path) -> None:
    paths = stack_files(tmp_path)
    result = run_cli(
        "optimize", "--outputs", outputs_file, *FIXED, "--via-pulumi", "--write-config", str(paths["compute"])
    )
    assert result.exit_code == 2
    assert "the plan sets registry, observability keys but no --write-config file of that layer" in result.stderr
    assert texts(paths) == STACK_FILES and mutating(contexts) == {}


def count_plan(current: int, planned: int, low: int, high: int, scalable: bool = True) -> ServicePlan:
    target = ServiceTarget("api", "api-qa", True, "service/ecs-cluster-qa/api-qa", "api-qa")
    live = LiveService(
        target,
        {"desiredCount": current},
        {},
        [],
        {"MinCapacity": 2, "MaxCapacity": 6} if scalable else None,
    )
    before = ServiceState("api", 512, 1024, current, 2, 6)
    after = before.with_changes(desired_count=planned, min_capacity=low, max_capacity=high)
    return ServicePlan(live, before, after, Status.PLANNED, "")


@pytest.mark.parametrize(
    ("current", "planned", "low", "high", "at_up", "says"),
    [
        (3, 2, 1, 6, 3, "target tracking moves it toward 2"),  # inside the new range: left to autoscaling
        (1, 2, 2, 6, 2, "moves it from 1 to 2 when pulumi up updates the target"),  # below the new minimum
        (5, 3, 1, 4, 4, "moves it from 5 to 4 when pulumi up updates the target"),  # above the new maximum
    ],
)
def test_the_desired_count_after_pulumi_up_follows_the_scalable_target(current, planned, low, high, at_up, says):
    count, how = desired_count_effect(count_plan(current, planned, low, high), "ecs-cluster-qa")
    assert count == at_up and says in how and "ignoreChanges" in how


def test_without_a_scalable_target_the_count_is_set_by_hand():
    count, how = desired_count_effect(count_plan(3, 2, 1, 6, scalable=False), "ecs-cluster-qa")
    assert count == 3
    assert "aws ecs update-service --cluster ecs-cluster-qa --service api-qa --desired-count 2" in how
