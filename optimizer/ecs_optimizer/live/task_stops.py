"""The platform's record of stopped tasks: ECS "Task State Change" events in a log group.

The compute layer routes every ECS "Task State Change" event of its cluster whose task
reached ``STOPPED`` to a CloudWatch Logs group (its ``taskStopLogGroupName`` output), through
an EventBridge rule. Each log event's message is the whole event as EventBridge delivers it::

    {"version": "0", "id": ..., "detail-type": "ECS Task State Change", "source": "aws.ecs",
     "account": ..., "time": ..., "region": ..., "resources": [taskArn],
     "detail": {"clusterArn", "taskArn", "group": "service:NAME", "lastStatus": "STOPPED",
                "stopCode", "stoppedReason", "stoppedAt", "taskDefinitionArn", "cpu", "memory",
                "containers": [{"name", "exitCode", "reason", ...}], "version", ...}}

:func:`read_task_stops` reads a window of it in ONE paginated ``FilterLogEvents`` (a filter
pattern keeps the services' stopped tasks; the services are told apart here, not by one call
each), and returns each service's stops, oldest first. An event that is not such a JSON
document is skipped and counted in a warning. ECS may report one task's stop more than once
(the event's ``detail.version`` grows with each change); a task is kept once, at its newest
version. A log group that does not exist raises :class:`TaskStopLogMissing`: the caller says
it decided without the stops, since "no stops recorded" and "nowhere to record them" differ.

What the stops mean is decided here once, for every reader:

* a container stopped for memory (:attr:`ContainerStop.is_oom`): ``OutOfMemoryError`` in its
  reason, or exit code 137 (SIGKILL) with a reason, its own or the task's, naming memory;
* a stop that says nothing about the service's own size (:attr:`TaskStop.is_excluded`): the
  scheduler replacing or removing tasks (deployments, scale-in), a Spot interruption, a
  Fargate retirement notice, or someone stopping the task by hand;
* OOM evidence (:attr:`TaskStop.is_oom`): a stop that is not excluded, with a container
  stopped for memory.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any, Collection, Dict, List, Mapping, Optional, Tuple

from botocore.exceptions import ClientError

from .aws import error_code, paginate

log = logging.getLogger(__name__)

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("logs:FilterLogEvents",)

#: The events the reader asks for: stopped tasks of ECS services, as ECS sent them.
STOP_FILTER_PATTERN = (
    '{ ($.source = "aws.ecs") && ($.detail.lastStatus = "STOPPED") && ($.detail.group = "service:*") }'
)

#: The ``group`` ECS gives a service's tasks: ``service:`` and the service's name.
SERVICE_GROUP_PREFIX = "service:"

#: Stop codes that say nothing about the task's own size: the service scheduler stopped it
#: (a deployment replacing it, scale-in, a rebalance), Fargate Spot reclaimed it, Fargate
#: retired its host, or a person or tool stopped it.
EXCLUDED_STOP_CODES = frozenset({"ServiceSchedulerInitiated", "SpotInterruption", "TerminationNotice", "UserInitiated"})

#: What Fargate writes in the reason of a container the kernel killed for memory.
OOM_REASON = "OutOfMemoryError"
#: The exit code of a container killed by SIGKILL (128 + 9), the OOM killer's signal.
SIGKILL_EXIT_CODE = 137

#: FilterLogEvents returns at most 10,000 events a page.
EVENTS_PER_PAGE = 10_000


class TaskStopLogMissing(LookupError):
    """The task-stop log group does not exist (not deployed, or deleted)."""

    def __init__(self, log_group: str) -> None:
        super().__init__(f"the task-stop log group {log_group} does not exist")
        self.log_group = log_group


@dataclass(frozen=True)
class ContainerStop:
    """One container of a stopped task: its exit code (None when it never ran or the agent
    could not tell) and the reason ECS gives."""

    name: str
    exit_code: Optional[int]
    reason: str

    @property
    def is_oom(self) -> bool:
        """Stopped for memory by its own account: the OOM reason, or SIGKILL with a reason
        naming memory."""
        return OOM_REASON in self.reason or (self.exit_code == SIGKILL_EXIT_CODE and "memory" in self.reason.lower())


@dataclass(frozen=True)
class TaskStop:
    """One stopped task of a service (``service`` is the ECS service name)."""

    service: str
    task_arn: str
    stopped_at: dt.datetime
    stop_code: str
    stopped_reason: str
    containers: Tuple[ContainerStop, ...]
    task_definition_arn: str = ""
    #: The task's memory (MiB) and CPU units when it stopped, as the event states them.
    memory_mib: Optional[int] = None
    cpu_units: Optional[int] = None

    @property
    def is_excluded(self) -> bool:
        """A stop that says nothing about the task's size (deployment, scale-in, Spot, ...)."""
        return self.stop_code in EXCLUDED_STOP_CODES

    @property
    def oom_containers(self) -> Tuple[ContainerStop, ...]:
        """The containers stopped for memory: by their own reason, or SIGKILLed in a task
        whose stop reason names memory."""
        task_says_memory = "memory" in self.stopped_reason.lower() or OOM_REASON in self.stopped_reason
        return tuple(c for c in self.containers if c.is_oom or (c.exit_code == SIGKILL_EXIT_CODE and task_says_memory))

    @property
    def is_oom(self) -> bool:
        """OOM evidence: a container stopped for memory, in a stop that is not excluded."""
        return not self.is_excluded and bool(self.oom_containers)


class TaskStops(Dict[str, List[TaskStop]]):
    """ECS service name -> its stops in the window, oldest first. ``events`` counts the log
    events read and ``malformed`` those skipped as not a task-stop event."""

    def __init__(self, log_group: str, events: int = 0, malformed: int = 0) -> None:
        super().__init__()
        self.log_group = log_group
        self.events = events
        self.malformed = malformed


class MalformedStop(ValueError):
    """A log event that is not an ECS task-stop event as EventBridge delivers it."""


def _int(value: Any) -> Optional[int]:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MalformedStop(f"expected a number, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MalformedStop(f"expected a number, got {value!r}") from None


def _time(value: Any) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise MalformedStop(f"expected an ISO 8601 time, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedStop(f"expected an ISO 8601 time, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_task_stop(event: Mapping[str, Any]) -> Optional[TaskStop]:
    """The stop one EventBridge event records; None for an event about something else (a
    task not yet stopped, a task outside any service). Raises :class:`MalformedStop` when the
    event is not shaped as ECS sends it."""
    if not isinstance(event, Mapping):
        raise MalformedStop("not a JSON object")
    detail = event.get("detail")
    if event.get("source") != "aws.ecs" or not isinstance(detail, Mapping):
        raise MalformedStop("not an ECS event (source aws.ecs with a detail object)")
    if detail.get("lastStatus") != "STOPPED":
        return None
    group = detail.get("group")
    if not isinstance(group, str) or not group.startswith(SERVICE_GROUP_PREFIX):
        return None
    task_arn = detail.get("taskArn")
    if not isinstance(task_arn, str) or not task_arn:
        raise MalformedStop("no detail.taskArn")
    stopped_at = _time(detail.get("stoppedAt") or detail.get("executionStoppedAt") or event.get("time"))
    raw_containers = detail.get("containers") or []
    if not isinstance(raw_containers, list):
        raise MalformedStop("detail.containers is not a list")
    containers = []
    for raw in raw_containers:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise MalformedStop("a container without a name")
        containers.append(ContainerStop(raw["name"], _int(raw.get("exitCode")), _text(raw.get("reason"))))
    return TaskStop(
        service=group[len(SERVICE_GROUP_PREFIX) :],
        task_arn=task_arn,
        stopped_at=stopped_at,
        stop_code=_text(detail.get("stopCode")),
        stopped_reason=_text(detail.get("stoppedReason")),
        containers=tuple(containers),
        task_definition_arn=_text(detail.get("taskDefinitionArn")),
        memory_mib=_int(detail.get("memory")),
        cpu_units=_int(detail.get("cpu")),
    )


def _millis(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def read_task_stops(
    logs_client: Any,
    log_group: str,
    start: dt.datetime,
    end: dt.datetime,
    services: Optional[Collection[str]] = None,
) -> TaskStops:
    """Every service's stopped tasks recorded in ``log_group`` between ``start`` and ``end``:
    one paginated FilterLogEvents. ``services`` (ECS service names) limits the answer to
    those, each present even without stops; None keeps every service found. Raises
    :class:`TaskStopLogMissing` when the group does not exist."""
    wanted = set(services) if services is not None else None
    result = TaskStops(log_group)
    newest: Dict[str, Tuple[int, TaskStop]] = {}
    try:
        events = paginate(
            logs_client.filter_log_events,
            "events",
            logGroupName=log_group,
            startTime=_millis(start),
            endTime=_millis(end),
            filterPattern=STOP_FILTER_PATTERN,
            limit=EVENTS_PER_PAGE,
        )
        for event in events:
            result.events += 1
            try:
                message = json.loads(str(event.get("message", "")))
                stop = parse_task_stop(message)
                version = _int(message["detail"].get("version")) or 0 if stop is not None else 0
            except (ValueError, MalformedStop):
                result.malformed += 1
                continue
            if stop is None or (wanted is not None and stop.service not in wanted):
                continue
            seen = newest.get(stop.task_arn)
            if seen is None or version >= seen[0]:
                newest[stop.task_arn] = (version, stop)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise TaskStopLogMissing(log_group) from None
        raise
    for name in sorted(wanted or ()):
        result[name] = []
    for _, stop in sorted(newest.values(), key=lambda item: (item[1].stopped_at, item[1].task_arn)):
        result.setdefault(stop.service, []).append(stop)
    if result.malformed:
        log.warning(
            "%s: skipped %d of %d log events that are not ECS task-stop events",
            log_group,
            result.malformed,
            result.events,
        )
    return result
