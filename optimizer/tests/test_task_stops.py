"""The task-stop reader against the emulator: stops written by the lab in AWS's event format
to the log group the compute outputs name, read back in one paginated FilterLogEvents, with
OOM evidence told apart from deployments, scale-in, Spot and crashes."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, Callable, Dict, List

import pytest

from ecs_optimizer.live import task_stops as reader
from ecs_optimizer.live.task_stops import TaskStopLogMissing, parse_task_stop, read_task_stops
from ecs_optimizer_lab.fidelity_logs import json_pattern
from ecs_optimizer_lab.task_stops import (
    OOM_CONTAINER_REASON,
    crash_stop,
    deployment_stop,
    oom_stop,
    put_raw_messages,
    put_task_stops,
    scale_in_stop,
    spot_stop,
)
from plan_snapshots import FLEET

STOP_FLEET = FLEET.with_task_stop_log()
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
START, END = NOW - dt.timedelta(days=7), NOW
A, B = STOP_FLEET.catalog[0], STOP_FLEET.catalog[1]


def service_name(name: str) -> str:
    return str(STOP_FLEET.service(name)["serviceName"])


@pytest.fixture
def fleet():
    return STOP_FLEET


@pytest.fixture
def logs(outputs: Dict[str, Any], client: Callable[[str], Any]) -> Any:
    return client("logs")


@pytest.fixture
def filter_calls(logs: Any) -> List[Dict[str, Any]]:
    """The FilterLogEvents requests the reader sends."""
    calls: List[Dict[str, Any]] = []
    logs.meta.events.register("provide-client-params.logs.FilterLogEvents", lambda params, **_: calls.append(params))
    return calls


def group(outputs: Dict[str, Any]) -> str:
    return str(outputs["taskStopLogGroupName"])


def test_the_fleet_transform_exports_and_creates_the_stop_log(outputs, logs):
    name = group(outputs)
    assert name == f"/aws/events/ecs-task-stops-{STOP_FLEET.suffix}"
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]] == [name]
    assert FLEET.task_stop_log_group == name  # the dev plan's compute layer exports the same log


def test_oom_is_told_apart_from_deployments_scale_in_spot_and_crashes(outputs, logs, filter_calls):
    events = [
        oom_stop(STOP_FLEET, A, NOW - dt.timedelta(days=2)),
        deployment_stop(STOP_FLEET, A, NOW - dt.timedelta(days=3)),
        scale_in_stop(STOP_FLEET, A, NOW - dt.timedelta(days=1)),
        spot_stop(STOP_FLEET, B, NOW - dt.timedelta(hours=5)),
        crash_stop(STOP_FLEET, B, NOW - dt.timedelta(hours=4)),
        oom_stop(STOP_FLEET, B, NOW - dt.timedelta(hours=3)),
    ]
    assert put_task_stops(logs, group(outputs), events) == len(events)
    stops = read_task_stops(logs, group(outputs), START, END, None)
    assert len(filter_calls) == 1 and filter_calls[0]["filterPattern"] == reader.STOP_FILTER_PATTERN
    assert sorted(stops) == sorted([service_name(A), service_name(B)])
    a = stops[service_name(A)]
    assert [s.stop_code for s in a] == [
        "ServiceSchedulerInitiated",
        "EssentialContainerExited",
        "ServiceSchedulerInitiated",
    ]
    assert [s.is_oom for s in a] == [False, True, False]
    assert [s.is_excluded for s in a] == [True, False, True]
    deployment = a[0]
    # the deployment's container was SIGKILLed too, without a word about memory: not evidence
    assert deployment.containers[0].exit_code == 137 and not deployment.containers[0].is_oom
    oom = a[1]
    assert oom.oom_containers[0].name == A and oom.oom_containers[0].reason == OOM_CONTAINER_REASON
    assert oom.memory_mib == STOP_FLEET.service(A)["memory"]
    assert oom.task_definition_arn == STOP_FLEET.service(A)["taskDefinitionArn"]
    assert oom.stopped_at == NOW - dt.timedelta(days=2)
    assert oom.task_arn == events[0]["detail"]["taskArn"]
    b = stops[service_name(B)]
    assert [(s.stop_code, s.is_oom, s.is_excluded) for s in b] == [
        ("SpotInterruption", False, True),
        ("EssentialContainerExited", False, False),
        ("EssentialContainerExited", True, False),
    ]


def test_services_limit_the_answer_and_each_is_present(outputs, logs):
    put_task_stops(logs, group(outputs), [oom_stop(STOP_FLEET, A, NOW - dt.timedelta(hours=1))])
    quiet = service_name(B)
    stops = read_task_stops(logs, group(outputs), START, END, [quiet])
    assert dict(stops) == {quiet: []}


def test_the_window_bounds_the_read(outputs, logs):
    put_task_stops(
        logs,
        group(outputs),
        [
            oom_stop(STOP_FLEET, A, START - dt.timedelta(hours=1)),
            oom_stop(STOP_FLEET, A, START + dt.timedelta(hours=1)),
            oom_stop(STOP_FLEET, A, END + dt.timedelta(minutes=1)),
        ],
    )
    stops = read_task_stops(logs, group(outputs), START, END, None)
    assert [s.stopped_at for s in stops[service_name(A)]] == [START + dt.timedelta(hours=1)]


def test_every_page_is_read_in_one_paginated_call(outputs, logs, filter_calls, monkeypatch):
    monkeypatch.setattr(reader, "EVENTS_PER_PAGE", 2)
    events = [oom_stop(STOP_FLEET, A, NOW - dt.timedelta(hours=h)) for h in range(1, 6)]
    put_task_stops(logs, group(outputs), events)
    stops = read_task_stops(logs, group(outputs), START, END, None)
    assert len(stops[service_name(A)]) == 5
    assert len(filter_calls) == 3 and [bool(c.get("nextToken")) for c in filter_calls] == [False, True, True]


def test_a_task_reported_twice_is_kept_once_at_its_newest_version(outputs, logs):
    first = oom_stop(STOP_FLEET, A, NOW - dt.timedelta(hours=2))
    again = json.loads(json.dumps(first))
    again["id"] = "second-delivery"
    again["detail"]["version"] = first["detail"]["version"] + 1
    again["detail"]["stoppedReason"] = "Essential container in task exited (updated)"
    put_task_stops(logs, group(outputs), [first, again])
    [stop] = read_task_stops(logs, group(outputs), START, END, None)[service_name(A)]
    assert stop.stopped_reason.endswith("(updated)")


def test_malformed_events_are_skipped_and_counted_in_a_warning(outputs, logs, caplog):
    put_task_stops(logs, group(outputs), [oom_stop(STOP_FLEET, A, NOW - dt.timedelta(hours=2))])
    broken = oom_stop(STOP_FLEET, B, NOW - dt.timedelta(hours=1))
    broken["detail"]["stoppedAt"] = "yesterday"
    nameless = oom_stop(STOP_FLEET, B, NOW - dt.timedelta(hours=1))
    nameless["detail"]["containers"] = [{"exitCode": 137}]
    put_raw_messages(
        logs,
        group(outputs),
        NOW - dt.timedelta(hours=1),
        [json.dumps(broken), json.dumps(nameless), "not json at all", '{"truncated": '],
    )
    with caplog.at_level(logging.WARNING, logger=reader.__name__):
        stops = read_task_stops(logs, group(outputs), START, END, None)
    assert [s.service for s in stops[service_name(A)]] == [service_name(A)]
    assert service_name(B) not in stops
    # the filter pattern keeps text that is not JSON out, as AWS does; the two JSON events
    # that match it but are not shaped as ECS sends them are the reader's to skip
    assert (stops.events, stops.malformed) == (3, 2)
    assert "skipped 2 of 3 log events" in caplog.text and group(outputs) in caplog.text


def test_a_missing_log_group_is_its_own_answer(outputs, logs):
    with pytest.raises(TaskStopLogMissing) as raised:
        read_task_stops(logs, "/aws/events/ecs-task-stops-gone", START, END, None)
    assert raised.value.log_group == "/aws/events/ecs-task-stops-gone"


@pytest.mark.parametrize(
    "stop_code, stopped_reason, container, oom",
    [
        ("EssentialContainerExited", "Essential container in task exited", {"exitCode": 137}, False),
        (
            "EssentialContainerExited",
            "OutOfMemoryError: Container killed due to memory usage",
            {"exitCode": 137},
            True,
        ),
        ("EssentialContainerExited", "Essential container in task exited", {"reason": OOM_CONTAINER_REASON}, True),
        ("UserInitiated", "Task stopped by user", {"exitCode": 137, "reason": OOM_CONTAINER_REASON}, False),
        ("TaskFailedToStart", "CannotPullContainerError: pull image manifest", {}, False),
    ],
)
def test_what_counts_as_oom(stop_code, stopped_reason, container, oom):
    event = oom_stop(STOP_FLEET, A, NOW)
    event["detail"].update(stopCode=stop_code, stoppedReason=stopped_reason)
    event["detail"]["containers"] = [{"name": A, **container}]
    stop = parse_task_stop(event)
    assert stop is not None and stop.is_oom is oom


def test_events_of_running_tasks_and_standalone_tasks_are_not_stops():
    running = oom_stop(STOP_FLEET, A, NOW)
    running["detail"]["lastStatus"] = "RUNNING"
    standalone = oom_stop(STOP_FLEET, A, NOW)
    standalone["detail"]["group"] = "family:migrate"
    assert parse_task_stop(running) is None and parse_task_stop(standalone) is None


def test_the_lab_evaluates_the_readers_filter_pattern_as_aws_does():
    match = json_pattern(reader.STOP_FILTER_PATTERN)
    assert match is not None
    event = oom_stop(STOP_FLEET, A, NOW)
    assert match(event)
    event["detail"]["group"] = "family:migrate"
    assert not match(event)
    nested = json_pattern('{ $.a = 1 || ($.b != "x*" && $.c[0].d >= 2) }')
    assert nested is not None and nested({"b": "y", "c": [{"d": 3}]}) and not nested({"b": "xy", "c": [{"d": 3}]})
