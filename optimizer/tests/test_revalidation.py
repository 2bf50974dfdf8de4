"""One read of live state per run: the plan's reads are not repeated under the lock; what the
apply would overwrite is re-validated there, and a service another writer changed between the
plan and the lock is planned again (or skipped when it is gone)."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List

import pytest

from ecs_optimizer.apply.lock import ClusterLock
from ecs_optimizer.live.resources import input_fields
from helpers import FAST

FIXED = ["--policy", "fixed", "--format", "json"]


def _between_plan_and_lock(monkeypatch: pytest.MonkeyPatch, change: Callable[[], None]) -> List[int]:
    """Run ``change`` once, just before the run takes its lock (after it planned)."""
    calls: List[int] = []
    real = ClusterLock.acquire

    def acquire(self: ClusterLock, force: bool = False) -> None:
        if not calls:
            calls.append(1)
            change()
        real(self, force)

    monkeypatch.setattr(ClusterLock, "acquire", acquire)
    return calls


def _optimize(run_cli: Callable[..., Any], outputs_file: str) -> Dict[str, Dict[str, Any]]:
    result = run_cli("optimize", "--outputs", outputs_file, *FIXED, *FAST)
    assert result.exit_code == 0, result.stderr
    return {s["service"]: s for s in json.loads(result.stdout)["services"]}


def _changes(report: Dict[str, Any]) -> Dict[tuple, tuple]:
    return {(c["resource"], c["field"]): (c["before"], c["after"]) for c in report["changes"]}


def test_a_real_run_reads_each_resource_once(outputs, outputs_file, run_cli, contexts):
    services = _optimize(run_cli, outputs_file)
    n = len(outputs["services"])
    assert {s["status"] for s in services.values()} == {"applied"}
    calls = contexts[0].recorder.counts
    # the plan's reads, once: no second plan under the lock
    for op in ("ecs:DescribeTaskDefinition", "ecr:GetLifecyclePolicy", "ecr:DescribeImages"):
        assert calls[op] == n, op
    for op in ("ecs:DescribeClusters", "cloudwatch:GetMetricData", "application-autoscaling:DescribeScalingPolicies"):
        assert calls[op] == 1, op
    # re-validation under the lock: services, scalable targets and alarms, one batch each
    assert calls["application-autoscaling:DescribeScalableTargets"] == 2
    assert calls["cloudwatch:DescribeAlarms"] == 2
    # the search for the optimizer's own revisions: one listing, nothing probed
    assert calls["ecs:ListTaskDefinitions"] == 1
    # PutMetricAlarm keeps an existing alarm's tags: they are not read
    assert calls["cloudwatch:ListTagsForResource"] == 0


def test_a_service_changed_between_plan_and_lock_is_planned_again(
    outputs, outputs_file, run_cli, contexts, client, monkeypatch
):
    ecs = client("ecs")
    cluster = outputs["clusterName"]
    frontend = outputs["services"]["frontend"]["serviceName"]
    planned_count = outputs["services"]["frontend"]["desiredCount"]
    scaled_out = planned_count + 2  # the autoscaler, say
    changed = _between_plan_and_lock(
        monkeypatch, lambda: ecs.update_service(cluster=cluster, service=frontend, desiredCount=scaled_out)
    )
    services = _optimize(run_cli, outputs_file)
    assert changed
    front = services["frontend"]
    assert front["status"] == "applied"
    assert f"planned again under the lock (desiredCount {planned_count} -> {scaled_out})" in front["reason"]
    # the stale plan lowered the count; planned from the fresh read, the count the other
    # writer set is left to the autoscaler (it scales in to the new minimum by itself)
    assert ("service", "desiredCount") not in _changes(front)
    live = ecs.describe_services(cluster=cluster, services=[frontend])["services"][0]
    assert live["desiredCount"] == scaled_out
    assert live["taskDefinition"] != outputs["services"]["frontend"]["taskDefinitionArn"]  # still resized
    # the others were applied as planned, and only the moved service was read again
    assert all("planned again" not in s["reason"] for n, s in services.items() if n != "frontend")
    assert contexts[0].recorder.counts["ecs:DescribeTaskDefinition"] == len(outputs["services"]) + 1


def test_an_alarm_edited_between_plan_and_lock_keeps_the_edit(outputs, outputs_file, run_cli, client, monkeypatch):
    cw = client("cloudwatch")
    dry = run_cli("optimize", "--outputs", outputs_file, "--dry-run", *FIXED)
    planned = {s["service"]: s for s in json.loads(dry.stdout)["services"]}
    name = next(c["resource"] for c in planned["frontend"]["changes"] if c["resource"].startswith("alarm:"))[6:]

    def edit() -> None:
        alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        params = input_fields(cw, "PutMetricAlarm", alarm)
        cw.put_metric_alarm(**{**params, "EvaluationPeriods": alarm["EvaluationPeriods"] + 1})
        edited.update(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0])

    edited: Dict[str, Any] = {}
    _between_plan_and_lock(monkeypatch, edit)
    services = _optimize(run_cli, outputs_file)
    assert f"planned again under the lock (alarm {name} EvaluationPeriods changed)" in services["frontend"]["reason"]
    after = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    # the other writer's edit survives the threshold change (the stale copy was not sent back)
    assert after["EvaluationPeriods"] == edited["EvaluationPeriods"]
    assert after["Threshold"] == _changes(services["frontend"])[(f"alarm:{name}", "threshold")][1]


def test_a_service_deleted_between_plan_and_lock_is_skipped(outputs, outputs_file, run_cli, client, monkeypatch):
    ecs = client("ecs")
    cluster = outputs["clusterName"]
    frontend = outputs["services"]["frontend"]["serviceName"]
    gateway = outputs["services"]["api-gateway"]["serviceName"]
    gateway_count = outputs["services"]["api-gateway"]["desiredCount"]

    def delete_one_and_scale_another() -> None:
        ecs.delete_service(cluster=cluster, service=frontend, force=True)
        ecs.update_service(cluster=cluster, service=gateway, desiredCount=gateway_count + 1)

    _between_plan_and_lock(monkeypatch, delete_one_and_scale_another)
    services = _optimize(run_cli, outputs_file)
    front = services["frontend"]
    assert front["status"] == "skipped"
    assert front["reason"] == "not applied: the service was deleted since planning"
    # the other moved service is still planned again and applied
    assert services["api-gateway"]["status"] == "applied"
    moved = f"planned again under the lock (desiredCount {gateway_count} -> {gateway_count + 1})"
    assert moved in services["api-gateway"]["reason"]
    assert {s["status"] for n, s in services.items() if n not in ("frontend", "api-gateway")} == {"applied"}
