"""Deployments that roll back on alarm: the emulator fails a deployment whose deployment alarm
goes to ALARM before it completes and puts the service back on its last completed revision,
as ECS does; the optimizer reports that service failed and rolled back (exit 4), journals
the outcome, applies none of its later levers and writes none of it back. The deployment
wait is derived per service from its bake and deployment alarms."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import pytest

from ecs_optimizer.live.deployments import (
    ROLLOUT_SECONDS,
    UNREAD_ALARM_BAKE_SECONDS,
    alarm_rollback,
    deployment_wait,
)
from ecs_optimizer_lab.emulator_server import DEPLOYMENT_BAKE_ENV
from ecs_optimizer_lab.fleet import fleet_from_plan
from ecs_optimizer_lab.readback import read_state
from helpers import write_json
from plan_snapshots import FLEET, PROD_PLAN_DIR, SERVICE

GUARDED = FLEET.with_deployment_alarms()
BAD = "frontend"  # the service whose deployment an alarm fails
FIXED = ["--policy", "fixed", "--poll-interval", "0.05", "--wait-timeout", "60"]


@pytest.fixture
def fleet():
    return GUARDED


def drive_alarm_during_deployment(client: Callable[[str], Any], name: str, alarm: str) -> threading.Thread:
    """A thread that waits until ``name``'s new deployment is in progress, then sets ``alarm``
    to ALARM (what a 5xx spike on the new revision does)."""
    ecs, cloudwatch = client("ecs"), client("cloudwatch")
    original = GUARDED.service(name)["taskDefinitionArn"].rsplit(":", 1)[0]

    def watch() -> None:
        for _ in range(2000):
            service = ecs.describe_services(cluster=GUARDED.cluster_name, services=[SERVICE[name]])["services"][0]
            rolling = [
                d
                for d in service["deployments"]
                if d["status"] == "PRIMARY"
                and d["rolloutState"] == "IN_PROGRESS"
                and not d["taskDefinition"].endswith(":1")
            ]
            if rolling and rolling[0]["taskDefinition"].startswith(original):
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="5xx on the new revision")
                return
            threading.Event().wait(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def journal_lines(path: Path, kind: str) -> list:
    return [r for r in (json.loads(line) for line in path.read_text().splitlines()) if r["kind"] == kind]


def test_an_alarm_during_the_deployment_rolls_the_service_back(outputs, client, run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv(DEPLOYMENT_BAKE_ENV, "2")
    outputs_file = write_json(tmp_path / "compute.json", outputs)
    before = read_state(client, GUARDED)
    alarm = GUARDED.deployment_alarm_names(BAD)[0]
    watcher = drive_alarm_during_deployment(client, BAD, alarm)
    journal = tmp_path / "run.jsonl"
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--format", "json", "--journal", str(journal))
    watcher.join(5)
    assert result.exit_code == 4, result.stderr
    services = {s["service"]: s for s in json.loads(result.stdout)["services"]}
    bad = services[BAD]
    assert bad["status"] == "rolled_back"
    assert alarm in bad["reason"] and "rolled the deployment back" in bad["reason"]
    assert {services[n]["status"] for n in services if n != BAD} == {"applied"}
    # ECS put it back on its revision; the optimizer applied none of its later levers
    after = read_state(client, GUARDED)
    name = SERVICE[BAD]
    assert after["services"][name] == before["services"][name]
    target = GUARDED.service(BAD)["scalableTargetResourceId"]
    assert after["scalable"][target] == before["scalable"][target]
    for request in GUARDED.service_alarms(BAD).values():
        assert after["alarms"][request["AlarmName"]] == before["alarms"][request["AlarmName"]]
    # the journal records how the deployment ended
    [outcome] = [d for d in journal_lines(journal, "deployment") if d["service"] == BAD]
    assert outcome["outcome"] == "rolled_back_on_alarm" and outcome["alarms"] == [alarm]
    assert outcome["restoredTaskDefinition"] == before["services"][name]["taskDefinition"]
    assert {d["outcome"] for d in journal_lines(journal, "deployment") if d["service"] != BAD} == {"completed"}
    assert f"partial failure: {BAD} rolled_back" in result.stderr


def test_a_rolled_back_service_is_not_written_back(outputs, client, run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv(DEPLOYMENT_BAKE_ENV, "2")
    outputs_file = write_json(tmp_path / "compute.json", outputs)
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text("config:\n  compute:tier: dev\n  compute:environmentSuffix: dev\n")
    watcher = drive_alarm_during_deployment(client, BAD, GUARDED.deployment_alarm_names(BAD)[0])
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--format", "json", "--write-config", str(stack))
    watcher.join(5)
    assert result.exit_code == 4, result.stderr
    written = stack.read_text()
    assert f"{BAD}:" not in written
    assert any(f"{n}:" in written for n in GUARDED.catalog if n != BAD)


def test_an_alarm_already_in_alarm_does_not_fail_the_deployment(outputs, client, run_cli, monkeypatch, tmp_path):
    """ECS judges a deployment by alarms that go to ALARM during it."""
    outputs_file = write_json(tmp_path / "compute.json", outputs)
    alarm = GUARDED.deployment_alarm_names(BAD)[0]
    client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="already firing")
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, "--format", "json", "--service", BAD)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["services"][0]["status"] == "applied"


def _service(config: Dict[str, Any], events: Optional[list] = None, deployments: Optional[list] = None) -> dict:
    return {"deploymentConfiguration": config, "events": events or [], "deployments": deployments or []}


def test_the_wait_covers_the_bake_and_the_alarm_watch():
    prod = fleet_from_plan(PROD_PLAN_DIR)
    request = prod.service_request(prod.catalog[0])
    declared = request["deploymentConfiguration"]
    assert declared["strategy"] == "BLUE_GREEN"
    assert declared["alarms"]["enable"] and declared["alarms"]["rollback"]  # the platform's guard alarms
    config = {k: v for k, v in declared.items() if k != "alarms"}
    bake = float(config["bakeTimeInMinutes"]) * 60
    seconds, how = deployment_wait({"deploymentConfiguration": config}, {})
    assert seconds == ROLLOUT_SECONDS + bake > 900 and "BLUE_GREEN bake" in how
    alarm = {"AlarmName": "a", "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2}
    watched = {**config, "alarms": {"alarmNames": ["a", "unread"], "enable": True, "rollback": True}}
    seconds, how = deployment_wait({"deploymentConfiguration": watched}, {"a": alarm})
    assert seconds == ROLLOUT_SECONDS + bake + max(180, UNREAD_ALARM_BAKE_SECONDS)
    seconds, _ = deployment_wait(
        {"deploymentConfiguration": {**watched, "alarms": {**watched["alarms"], "enable": False}}}, {}
    )
    assert seconds == ROLLOUT_SECONDS + bake
    linear = {
        "strategy": "LINEAR",
        "bakeTimeInMinutes": 5,
        "linearConfiguration": {"stepPercent": 25, "stepBakeTimeInMinutes": 2},
    }
    assert deployment_wait({"deploymentConfiguration": linear}, {})[0] == ROLLOUT_SECONDS + 300 + 4 * 120


def test_a_drained_failed_deployment_is_recognised_by_its_events():
    config = {"alarms": {"alarmNames": ["http-5xx-x"], "enable": True, "rollback": True}}
    service = _service(
        config,
        events=[
            {"message": "(service x) (deployment ecs-svc/9) deployment failed: alarm(s) http-5xx-x in ALARM state."}
        ],
        deployments=[{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": "td:1", "rolloutState": "COMPLETED"}],
    )
    found = alarm_rollback(service, "td:2", "ecs-svc/9")
    assert found is not None and found.rolled_back and found.alarms == ("http-5xx-x",)
    assert found.restored_task_definition == "td:1"
    # a circuit-breaker failure names no alarm: not an alarm rollback
    breaker = _service(
        config,
        deployments=[
            {
                "id": "ecs-svc/9",
                "status": "PRIMARY",
                "taskDefinition": "td:2",
                "rolloutState": "FAILED",
                "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start.",
            }
        ],
    )
    assert alarm_rollback(breaker, "td:2", "ecs-svc/9") is None
