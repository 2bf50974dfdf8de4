"""OOM-aware sizing through the CLI: stops written in AWS's event format to the log group the
compute outputs name, read once per run; an OOM stop in the lookback makes the service
under-provisioned (memory never shrinks and grows to at least 1.2x the peak, to the next
valid Fargate pair, whatever the policy), and stops for deployments, scale-in or Spot do
not count. Without the log group the run says it sizes without OOM evidence."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List

import pytest

from ecs_optimizer.core.fargate import all_pairs
from ecs_optimizer.planning.oom import OOM_GROWTH
from ecs_optimizer.planning.task_sizes import task_hourly
from ecs_optimizer_lab.task_stops import deployment_stop, oom_stop, put_task_stops, scale_in_stop, spot_stop
from helpers import FAST, write_json
from plan_snapshots import FLEET

STOP_FLEET = FLEET.with_task_stop_log()
OOM = "frontend"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def plan(run_cli, outputs_file: str, *extra: str) -> Dict[str, Any]:
    result = run_cli(
        "optimize", "--outputs", outputs_file, "--dry-run", "--lookback-days", "7", *FAST, "--format", "json", *extra
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    data["stderr"] = result.stderr
    return data


def by_service(data: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {s["service"]: s for s in data["services"]}


def field(service: Dict[str, Any], name: str, side: str = "after") -> Any:
    return next((c[side] for c in service["changes"] if c["field"] == name), None)


def next_valid(cpu_floor: int, memory_floor: float, architecture: str = "X86_64") -> tuple:
    """The cheapest valid pair with at least ``cpu_floor`` and ``memory_floor``."""
    pairs = [(c, m) for c, m in all_pairs() if c >= cpu_floor and m >= memory_floor]
    return min(pairs, key=lambda s: (task_hourly(s, architecture), s[0], s[1]))


@pytest.mark.parametrize("fleet", [STOP_FLEET], ids=["with-stop-log"])
@pytest.mark.parametrize("policy", ["fixed", "metrics", "auto"])
def test_an_oom_stop_makes_the_service_grow_under_every_policy(history, outputs, client, run_cli, tmp_path, policy):
    outputs_file = write_json(tmp_path / "compute.json", outputs)
    baseline = by_service(plan(run_cli, outputs_file, "--policy", policy))
    killed_at = NOW - dt.timedelta(days=2)
    put_task_stops(client("logs"), outputs["taskStopLogGroupName"], [oom_stop(STOP_FLEET, OOM, killed_at)])
    data = plan(run_cli, outputs_file, "--policy", policy)
    services = by_service(data)
    current = STOP_FLEET.service(OOM)
    memory = field(services[OOM], "memory")
    cpu = field(services[OOM], "cpu") or current["cpu"]
    # the killed task was at its limit (today's memory): at least 1.2x that, the next valid pair
    assert memory is not None and memory >= OOM_GROWTH * current["memory"] > current["memory"]
    planned_cpu = field(baseline[OOM], "cpu") or current["cpu"]
    assert (cpu, memory) == next_valid(planned_cpu, OOM_GROWTH * current["memory"])
    reason = services[OOM]["reason"]
    assert reason.startswith("under-provisioned: 1 OOM stop in the lookback")
    assert killed_at.strftime("%Y-%m-%dT%H:%M:%SZ") in reason and f"container {OOM}" in reason
    assert "OutOfMemoryError" in reason
    assert services[OOM]["underProvisioned"]["oomStops"] == 1
    # the other services are planned as before
    for name in STOP_FLEET.catalog:
        if name != OOM:
            assert services[name]["changes"] == baseline[name]["changes"]


@pytest.mark.parametrize("fleet", [STOP_FLEET], ids=["with-stop-log"])
def test_deployments_scale_in_and_spot_stops_do_not_count(history, outputs, client, run_cli, tmp_path, contexts):
    outputs_file = write_json(tmp_path / "compute.json", outputs)
    baseline = by_service(plan(run_cli, outputs_file, "--policy", "fixed"))
    at = NOW - dt.timedelta(hours=3)
    put_task_stops(
        client("logs"),
        outputs["taskStopLogGroupName"],
        [deployment_stop(STOP_FLEET, OOM, at), scale_in_stop(STOP_FLEET, OOM, at), spot_stop(STOP_FLEET, OOM, at)],
    )
    contexts.clear()
    data = plan(run_cli, outputs_file, "--policy", "fixed")
    assert by_service(data) == baseline
    # one batched read of the stop log per run
    assert sum(ctx.recorder.counts.get("logs:FilterLogEvents", 0) for ctx in contexts) == 1


@pytest.mark.parametrize("fleet", [STOP_FLEET], ids=["with-stop-log"])
def test_an_oom_stop_before_the_lookback_does_not_count(history, outputs, client, run_cli, tmp_path):
    outputs_file = write_json(tmp_path / "compute.json", outputs)
    baseline = by_service(plan(run_cli, outputs_file, "--policy", "fixed"))
    old = NOW - dt.timedelta(days=8)
    put_task_stops(client("logs"), outputs["taskStopLogGroupName"], [oom_stop(STOP_FLEET, OOM, old)])
    assert by_service(plan(run_cli, outputs_file, "--policy", "fixed")) == baseline


def test_an_older_compute_stack_sizes_without_oom_evidence_and_says_so(history, outputs, run_cli, tmp_path):
    older = {k: v for k, v in outputs.items() if k != "taskStopLogGroupName"}  # saved before the log existed
    data = plan(run_cli, write_json(tmp_path / "older-compute.json", older), "--policy", "fixed")
    evidence = data["oomEvidence"]
    assert evidence["read"] is False and "taskStopLogGroupName" in evidence["note"]
    assert "sizing without OOM evidence" in data["stderr"]


@pytest.mark.parametrize("fleet", [STOP_FLEET], ids=["with-stop-log"])
def test_a_missing_stop_log_group_is_reported(history, outputs, client, run_cli, tmp_path):
    client("logs").delete_log_group(logGroupName=outputs["taskStopLogGroupName"])
    outputs_file = write_json(tmp_path / "compute.json", outputs)
    data = plan(run_cli, outputs_file, "--policy", "fixed")
    assert data["oomEvidence"]["read"] is False
    assert (
        outputs["taskStopLogGroupName"] in data["oomEvidence"]["note"]
        and "does not exist" in data["oomEvidence"]["note"]
    )
    assert "sizing without OOM evidence" in data["stderr"]


@pytest.mark.parametrize("fleet", [STOP_FLEET], ids=["with-stop-log"])
def test_the_growth_is_applied_and_shown_as_a_cost(history, outputs, client, run_cli, tmp_path):
    outputs_file = write_json(tmp_path / "compute.json", outputs)
    put_task_stops(
        client("logs"), outputs["taskStopLogGroupName"], [oom_stop(STOP_FLEET, OOM, NOW - dt.timedelta(hours=1))]
    )
    result = run_cli(
        "optimize", "--outputs", outputs_file, "--policy", "fixed", "--lookback-days", "7", *FAST, "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    service = by_service(data)[OOM]
    assert service["status"] == "applied"
    cost = service["underProvisioned"]["growthMonthlyCost"]
    assert cost > 0
    notes: List[str] = data["savings"]["notes"]
    assert any(OOM in n and "OOM" in n and f"{cost:,.2f}" in n for n in notes)
    live = client("ecs").describe_services(
        cluster=STOP_FLEET.cluster_name, services=[STOP_FLEET.service(OOM)["serviceName"]]
    )
    task = client("ecs").describe_task_definition(taskDefinition=live["services"][0]["taskDefinition"])[
        "taskDefinition"
    ]
    assert int(task["memory"]) == field(service, "memory")


@pytest.mark.parametrize("fleet", [STOP_FLEET], ids=["with-stop-log"])
def test_the_savings_report_prices_the_growth_as_a_cost(history, outputs, client, run_cli, tmp_path):
    outputs_file = write_json(tmp_path / "compute.json", outputs)
    put_task_stops(
        client("logs"), outputs["taskStopLogGroupName"], [oom_stop(STOP_FLEET, OOM, NOW - dt.timedelta(hours=1))]
    )
    result = run_cli(
        "savings", "--outputs", outputs_file, "--policy", "fixed", "--lookback-days", "7", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    notes = json.loads(result.stdout)["notes"]
    [note] = [n for n in notes if "OOM" in n]
    assert note.startswith(f"{OOM}: memory grows {STOP_FLEET.service(OOM)['memory']} -> ") and "a month more" in note
