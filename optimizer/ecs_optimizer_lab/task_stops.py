"""Stopped-task events in the lab: ECS "Task State Change" events as AWS delivers them.

In AWS, an EventBridge rule of the compute layer writes the cluster's STOPPED task events to
the task-stop log group (the ``taskStopLogGroupName`` export); the message of each log event
is the whole EventBridge event. There is no ECS task scheduler in the emulator, so the lab
writes those events itself: :func:`task_stop_event` builds one in AWS's format (the fields of
the "Task State Change" example in the ECS developer guide, for a Fargate task), the
``*_stop`` helpers build the stops the optimizer must tell apart, from a fleet's own names
and sizes, and :func:`put_task_stops` writes them to the log group (a log stream per event,
named after its id; the optimizer reads the whole group and relies on no stream name).

The kinds of stop, as ECS reports them:

* :func:`oom_stop`: the essential container killed for memory (exit code 137, reason
  ``OutOfMemoryError: Container killed due to memory usage``, stop code
  ``EssentialContainerExited``);
* :func:`deployment_stop`: the scheduler replacing a task in a deployment (stop code
  ``ServiceSchedulerInitiated``; its container SIGKILLed after the stop timeout, exit 137,
  with no memory reason);
* :func:`scale_in_stop`: the scheduler removing a task as the service scales in;
* :func:`spot_stop`: Fargate Spot reclaiming the capacity (stop code ``SpotInterruption``);
* :func:`crash_stop`: the essential container exiting on its own (exit code 1).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from .fleet import FleetSpec

#: What Fargate writes for a container the kernel killed for memory.
OOM_CONTAINER_REASON = "OutOfMemoryError: Container killed due to memory usage"
ESSENTIAL_EXITED = "Essential container in task exited"

#: PutLogEvents takes at most 10,000 events a call.
EVENTS_PER_PUT = 10_000


@dataclass(frozen=True)
class ContainerExit:
    """How one container of the task ended."""

    name: str
    exit_code: Optional[int]
    reason: str = ""
    image: str = ""


def _iso(at: dt.datetime) -> str:
    """ECS's timestamps in events: UTC, milliseconds, a trailing Z."""
    utc = at.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _event_time(at: dt.datetime) -> str:
    """EventBridge's envelope ``time``: UTC to the second."""
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def task_stop_event(
    *,
    region: str,
    account: str,
    cluster_arn: str,
    service_name: str,
    task_definition_arn: str,
    cpu: int,
    memory: int,
    stopped_at: dt.datetime,
    stop_code: str,
    stopped_reason: str,
    containers: Sequence[ContainerExit],
    capacity_provider: str = "FARGATE",
    version: int = 5,
    task_id: Optional[str] = None,
) -> Dict[str, Any]:
    """One ECS "Task State Change" event for a Fargate task of a service that has stopped."""
    cluster_name = cluster_arn.rsplit("/", 1)[-1]
    task_id = task_id or uuid.uuid4().hex
    task_arn = f"arn:aws:ecs:{region}:{account}:task/{cluster_name}/{task_id}"
    started = stopped_at - dt.timedelta(hours=6)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": account,
        "time": _event_time(stopped_at),
        "region": region,
        "resources": [task_arn],
        "detail": {
            "attachments": [
                {
                    "id": str(uuid.uuid4()),
                    "type": "eni",
                    "status": "DELETED",
                    "details": [{"name": "subnetId", "value": "subnet-0example"}],
                }
            ],
            "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
            "availabilityZone": f"{region}a",
            "capacityProviderName": capacity_provider,
            "clusterArn": cluster_arn,
            "connectivity": "CONNECTED",
            "connectivityAt": _iso(started - dt.timedelta(seconds=20)),
            "containers": [
                {
                    "containerArn": f"arn:aws:ecs:{region}:{account}:container/{cluster_name}/{task_id}/{uuid.uuid4()}",
                    "lastStatus": "STOPPED",
                    "name": c.name,
                    "image": c.image,
                    "runtimeId": f"{task_id}-{uuid.uuid4().int % 10**10}",
                    "taskArn": task_arn,
                    "networkInterfaces": [{"attachmentId": str(uuid.uuid4()), "privateIpv4Address": "10.0.1.10"}],
                    **({"exitCode": c.exit_code} if c.exit_code is not None else {}),
                    **({"reason": c.reason} if c.reason else {}),
                    "cpu": "0",
                }
                for c in containers
            ],
            "cpu": str(cpu),
            "createdAt": _iso(started - dt.timedelta(seconds=30)),
            "desiredStatus": "STOPPED",
            "enableExecuteCommand": False,
            "ephemeralStorage": {"sizeInGiB": 20},
            "executionStoppedAt": _iso(stopped_at - dt.timedelta(seconds=1)),
            "group": f"service:{service_name}",
            "launchType": "FARGATE",
            "lastStatus": "STOPPED",
            "memory": str(memory),
            "overrides": {"containerOverrides": [{"name": c.name} for c in containers]},
            "platformVersion": "1.4.0",
            "pullStartedAt": _iso(started - dt.timedelta(seconds=10)),
            "pullStoppedAt": _iso(started - dt.timedelta(seconds=2)),
            "startedAt": _iso(started),
            "startedBy": "ecs-svc/1234567890123456789",
            "stopCode": stop_code,
            "stoppedAt": _iso(stopped_at),
            "stoppedReason": stopped_reason,
            "stoppingAt": _iso(stopped_at - dt.timedelta(seconds=2)),
            "taskArn": task_arn,
            "taskDefinitionArn": task_definition_arn,
            "updatedAt": _iso(stopped_at),
            "version": version,
        },
    }


def _fleet_stop(
    fleet: FleetSpec,
    name: str,
    at: dt.datetime,
    stop_code: str,
    stopped_reason: str,
    exit_code: Optional[int],
    container_reason: str = "",
    memory: Optional[int] = None,
    capacity_provider: str = "FARGATE",
) -> Dict[str, Any]:
    """A stop of catalog service ``name``'s task as the fleet declares it (its container,
    image, revision and size; ``memory`` overrides the size the task ran with)."""
    spec = fleet.service(name)
    request = fleet.task_definition(name)
    containers = [
        ContainerExit(
            c["name"],
            exit_code if c.get("essential", True) else 0,
            container_reason if c.get("essential", True) else "",
            str(c.get("image", "")),
        )
        for c in request["containerDefinitions"]
    ]
    return task_stop_event(
        region=fleet.region,
        account=fleet.account,
        cluster_arn=str(fleet.compute_outputs["clusterArn"]),
        service_name=str(spec["serviceName"]),
        task_definition_arn=str(spec["taskDefinitionArn"]),
        cpu=int(spec["cpu"]),
        memory=int(memory if memory is not None else spec["memory"]),
        stopped_at=at,
        stop_code=stop_code,
        stopped_reason=stopped_reason,
        containers=containers,
        capacity_provider=capacity_provider,
    )


def oom_stop(fleet: FleetSpec, name: str, at: dt.datetime, memory: Optional[int] = None) -> Dict[str, Any]:
    """The essential container of a task of ``name`` killed for memory at ``at``."""
    return _fleet_stop(fleet, name, at, "EssentialContainerExited", ESSENTIAL_EXITED, 137, OOM_CONTAINER_REASON, memory)


def crash_stop(fleet: FleetSpec, name: str, at: dt.datetime) -> Dict[str, Any]:
    """The essential container exiting with an error of its own (not memory)."""
    return _fleet_stop(fleet, name, at, "EssentialContainerExited", ESSENTIAL_EXITED, 1)


def deployment_stop(fleet: FleetSpec, name: str, at: dt.datetime) -> Dict[str, Any]:
    """A task replaced by a deployment; its container ignored SIGTERM and was SIGKILLed."""
    reason = "Scaling activity initiated by (deployment ecs-svc/1234567890123456789)"
    return _fleet_stop(fleet, name, at, "ServiceSchedulerInitiated", reason, 137)


def scale_in_stop(fleet: FleetSpec, name: str, at: dt.datetime) -> Dict[str, Any]:
    """A task the scheduler stopped as the service scaled in."""
    reason = "Service scheduler: task stopped to reduce the desired count"
    return _fleet_stop(fleet, name, at, "ServiceSchedulerInitiated", reason, 143)


def spot_stop(fleet: FleetSpec, name: str, at: dt.datetime) -> Dict[str, Any]:
    """A Fargate Spot task reclaimed by AWS."""
    return _fleet_stop(
        fleet, name, at, "SpotInterruption", "Your Spot Task was interrupted.", 143, capacity_provider="FARGATE_SPOT"
    )


def put_task_stops(logs: Any, log_group: str, events: Iterable[Mapping[str, Any]]) -> int:
    """Write ``events`` to ``log_group`` as the EventBridge rule does: the event JSON as the
    message, stamped with the event's time. Returns how many were written."""
    written = 0
    for event in sorted(events, key=lambda e: str(e["detail"]["stoppedAt"])):
        stream = str(event["id"])
        logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
        stamp = dt.datetime.fromisoformat(str(event["detail"]["stoppedAt"]).replace("Z", "+00:00"))
        logs.put_log_events(
            logGroupName=log_group,
            logStreamName=stream,
            logEvents=[{"timestamp": int(stamp.timestamp() * 1000), "message": json.dumps(event)}],
        )
        written += 1
    return written


def put_raw_messages(logs: Any, log_group: str, at: dt.datetime, messages: Sequence[str]) -> None:
    """Write arbitrary messages to the log group (what a reader must survive: a truncated or
    foreign line in the group)."""
    stream = f"raw-{uuid.uuid4()}"
    logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
    stamp = int(at.timestamp() * 1000)
    batch: List[Dict[str, Any]] = [{"timestamp": stamp, "message": m} for m in messages[:EVENTS_PER_PUT]]
    logs.put_log_events(logGroupName=log_group, logStreamName=stream, logEvents=batch)
