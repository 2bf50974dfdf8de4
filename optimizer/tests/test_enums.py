"""Statuses and journal resource kinds are enums that read as their documented strings."""

from __future__ import annotations

import json

from ecs_optimizer.journal import RESOURCES, Resource, alarm_resource
from ecs_optimizer.planning import Status


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
