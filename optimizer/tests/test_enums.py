"""Statuses, journal resource kinds, journal line kinds and call results are enums that read as
their documented strings."""

from __future__ import annotations

import json

from ecs_optimizer.apply.journal import CallResult, Journal, LineKind
from ecs_optimizer.apply.restore import RestoreStatus
from ecs_optimizer.core.changes import RESOURCES, Change, Resource, alarm_resource
from ecs_optimizer.planning.plan import Status
from ecs_optimizer.writeback.files import WriteStatus


def test_statuses_are_the_report_strings():
    assert [s.value for s in Status] == ["planned", "applied", "unchanged", "skipped", "failed", "rolled_back"]
    assert json.dumps({"status": Status.ROLLED_BACK}) == '{"status": "rolled_back"}'
    assert f"{Status.APPLIED}" == "applied" and str(Status.SKIPPED) == "skipped"
    assert Status.PLANNED == "planned"


def test_resource_kinds_are_the_journal_strings():
    assert [r.value for r in RESOURCES] == [
        "taskDefinition",
        "service",
        "scalableTarget",
        "ecrLifecyclePolicy",
        "configFile",
    ]
    # a kind read back from a journal (a plain string) finds its enum member, and the reverse
    assert {Resource.SERVICE: 1}["service"] == 1 and Resource("scalableTarget") is Resource.SCALABLE_TARGET
    assert f"{Resource.TASK_DEFINITION}.cpu" == "taskDefinition.cpu"
    assert alarm_resource("cpu-high-frontend-dev") == "alarm:cpu-high-frontend-dev"


def test_journal_line_kinds_and_call_results_are_the_journal_strings(tmp_path):
    assert [k.value for k in LineKind] == ["run", "snapshot", "intent", "outcome", "change"]
    assert [r.value for r in CallResult] == ["applied", "failed"]
    journal = Journal(tmp_path / "j.jsonl", {"cluster": "c"})
    op = journal.intent("PutMetricAlarm", [Change("s", alarm_resource("a"), "threshold", 1, 2, {"alarmName": "a"})])
    journal.outcome(op, False, error="boom")
    journal.close()
    lines = [json.loads(line) for line in (tmp_path / "j.jsonl").read_text().splitlines()]
    assert [(line["kind"], line.get("result")) for line in lines] == [
        ("run", None),
        ("intent", None),
        ("outcome", "failed"),
    ]


def test_rollback_and_write_back_statuses_are_the_report_strings():
    assert [s.value for s in RestoreStatus] == ["restored", "planned", "unchanged", "failed"]
    assert [s.value for s in WriteStatus] == ["written", "unchanged", "planned", "failed"]
    assert json.dumps({"status": RestoreStatus.RESTORED}) == '{"status": "restored"}'
    assert f"{WriteStatus.WRITTEN}" == "written"
