"""The local AWS emulator process: moto's server, with the fidelity fixes the optimizer needs.

In-process (under moto's ``mock_aws``), :func:`apply_fidelity_patches` applies the same fixes.
Run as ``python -m ecs_optimizer_lab.emulator_server --host 127.0.0.1``; :mod:`ecs_optimizer_lab.emulator`
starts and stops it. It binds the port itself (port 0 picks a free one, so two runs cannot
race for a port) and prints ``listening on http://HOST:PORT`` as its first line. It exits
when its standard input closes, so it never outlives the process that started it, even one
killed without a chance to clean up. With ``--detached`` it ignores its standard input and
runs until it is sent SIGTERM: ``ecs-optimizer-lab up`` starts it that way, in its own
session, and ``ecs-optimizer-lab down`` stops it. ``--instance ID`` names one server (it
shows in the process's command line and at ``GET /_emulator/info``), so a stop can check that
a process id still belongs to the server it started.

moto answers every call the optimizer makes, but a few of its answers differ from AWS in
ways that would make an end-to-end run meaningless or impractically slow. Each difference
is fixed here, in the emulator, never by changing the optimizer:

ECS services
    ``CreateService`` drops ``capacityProviderStrategy`` and ``deploymentConfiguration`` (its
    alarms, strategy and bake time; ``UpdateService`` keeps it); a service's running count is a fixed
    number from ``MOTO_ECS_SERVICE_RUNNING`` instead of its desired count; and
    ``UpdateService`` never starts a new deployment, so a wait for the new task definition's
    rollout could never end. Here a service keeps its strategy, runs its desired count, and
    an update that changes the task definition or the strategy (or forces a deployment)
    starts a PRIMARY deployment that completes after ``--rollout-seconds`` (the old one stays
    ACTIVE until then), as ECS does for a healthy rollout.

    ``CreateService`` also drops ``deploymentConfiguration``: here a service keeps it, and a
    deployment watched by CloudWatch alarms (``deploymentConfiguration.alarms`` enabled) is
    judged by them as ECS does. It stays IN_PROGRESS for its rollout and then its bake (ECS's
    bake time, BLUE_GREEN ``bakeTimeInMinutes`` or the one ECS derives from the alarms for a
    rolling update, is ``MOTO_DEPLOYMENT_BAKE_SECONDS`` here, default 0). When a named alarm
    is in ALARM before it completes (checked as the deployment starts and at every
    DescribeServices), the deployment is FAILED with a ``rolloutStateReason`` naming the
    alarms; with ``rollback: true`` the service goes back to the task definition of its last
    completed deployment, which becomes PRIMARY again and rolls out, while the failed
    deployment stays ACTIVE until that rollout completes. Two service events record it: the
    failure naming the alarms, and the rollback naming the deployment and revision it goes
    back to. (The wording is the lab's: the optimizer reads the alarm names, not the text.)

    Fault injection: ``MOTO_FAIL_DEPLOYMENTS=svc-a,svc-b`` makes a deployment of those
    services FAILED at once, with no task running, whenever it runs a task definition other
    than the one the service was created with: what a deployment circuit breaker reports for
    a bad revision. The variable is read at each deployment, so a test can set it mid-run.
ECR images
    moto stamps pushes with whole seconds, so images pushed in one second tie and "the newest
    N" is undefined; and it reports the manifest's config blob size as the image size. Here
    push times are sub-second and strictly increasing, and the size is the sum of the
    compressed layers, as ECR reports it.
CloudWatch GetMetricData
    moto scans every stored datapoint once per query and period, which is hours of CPU for
    two weeks of history of a few hundred services. Here a call indexes the datapoints once
    and answers every metric query from the index, with the same statistics code.

CloudWatch alarm history
    moto does not implement ``DescribeAlarmHistory``, and ``SetAlarmState`` keeps only the
    previous state on the alarm. Here every state change records a ``StateUpdate`` item as
    CloudWatch does (``HistorySummary`` "Alarm updated from OK to ALARM", ``HistoryData`` JSON
    with ``oldState`` and ``newState``), kept after the alarm is deleted, and
    ``DescribeAlarmHistory`` answers with AlarmName, AlarmTypes, HistoryItemType, StartDate,
    EndDate, ScanBy (newest first by default) and MaxRecords (1-100) pages with NextToken.
    Only state updates are recorded: configuration updates and actions are not.

CloudWatch Logs FilterLogEvents
    moto lets every event through a JSON filter pattern. Here the JSON patterns the optimizer
    uses are evaluated as AWS does (see :mod:`ecs_optimizer_lab.fidelity_logs`).

Savings Plans
    moto has no Savings Plans API. :mod:`ecs_optimizer_lab.savings_plans` stands in for it
    (offering rates seeded with lab data, plans bought with ``CreateSavingsPlan``), in the
    server and in-process alike; its gaps are listed there and in docs/testing.md.

Page sizes
    ``ListTaskDefinitions`` and ``DescribeScalingPolicies`` page as AWS documents (see
    :mod:`ecs_optimizer_lab.fidelity_paging`), so the calls counted are the calls AWS needs.

It also counts the API calls it serves, by ``service:Operation``, at ``GET /_emulator/calls``
(``POST /_emulator/calls/reset`` clears the counts): the scale benchmark reads what actually
reached "AWS", retries included. ``GET /_emulator/info`` answers the server's process id and
``--instance``.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import parse_qs

from .fidelity_logs import patch_json_filter_patterns
from .fidelity_paging import patch_page_sizes
from .savings_plans import SERVICE as SAVINGS_PLANS_SERVICE
from .savings_plans import SavingsPlansApp, patch_in_process

#: Services (comma-separated names) whose deployments of a new revision fail.
FAIL_DEPLOYMENTS_ENV = "MOTO_FAIL_DEPLOYMENTS"
#: Seconds a deployment watched by alarms bakes after its rollout (stands in for ECS's bake time).
DEPLOYMENT_BAKE_ENV = "MOTO_DEPLOYMENT_BAKE_SECONDS"

CALLS_PATH = "/_emulator/calls"
RESET_PATH = "/_emulator/calls/reset"
INFO_PATH = "/_emulator/info"

#: botocore signing names that differ from the service names the optimizer's recorder uses.
_SIGNING_NAME_ALIASES = {"monitoring": "cloudwatch"}


# ----------------------------------------------------------------------------- call counter


def operation_of(environ: Dict[str, Any]) -> Optional[str]:
    """``service:Operation`` of one request, from whichever protocol carried it.

    JSON protocols name the operation in ``X-Amz-Target``; Smithy RPC v2 CBOR (CloudWatch in
    current botocore) in the path ``/service/<Service>/operation/<Operation>``; the query
    protocol in the form field ``Action``. The service is the SigV4 credential scope's.
    """
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = "unknown"
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = _SIGNING_NAME_ALIASES.get(scope[3], scope[3])
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    path = environ.get("PATH_INFO", "")
    if service == SAVINGS_PLANS_SERVICE:  # rest-json: POST /<Operation>
        return f"{service}:{path.strip('/')}"
    if "/operation/" in path:
        return f"{service}:{path.rsplit('/operation/', 1)[1].strip('/')}"
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = _read_body(environ)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return f"{service}:{action[0]}"
    query_action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if query_action:
        return f"{service}:{query_action[0]}"
    return None


def _read_body(environ: Dict[str, Any]) -> bytes:
    """Read the request body and put it back, so the application still sees all of it."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class CallCounter:
    """WSGI middleware: counts each API request by operation and serves the counts."""

    def __init__(self, app: Callable, instance: str = "") -> None:
        self.app = app
        self.instance = instance
        self._lock = threading.Lock()
        self.counts: Counter = Counter()

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == INFO_PATH and environ.get("REQUEST_METHOD") == "GET":
            return _reply(start_response, json.dumps({"pid": os.getpid(), "instance": self.instance}).encode())
        if path == CALLS_PATH and environ.get("REQUEST_METHOD") == "GET":
            with self._lock:
                body = json.dumps(dict(sorted(self.counts.items()))).encode()
            return _reply(start_response, body)
        if path == RESET_PATH and environ.get("REQUEST_METHOD") == "POST":
            with self._lock:
                self.counts.clear()
            return _reply(start_response, b"{}")
        operation = operation_of(environ)
        if operation:
            with self._lock:
                self.counts[operation] += 1
        return self.app(environ, start_response)


def _reply(start_response: Callable, body: bytes) -> List[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


# ----------------------------------------------------------------------------- ECS


def _patch_ecs(rollout_seconds: float) -> None:
    from moto.ecs import models, responses

    backend_cls = models.EC2ContainerServiceBackend
    service_cls = models.Service
    original_init = service_cls.__init__
    original_create = responses.EC2ContainerServiceResponse.create_service
    original_update = backend_cls.update_service
    original_describe = backend_cls.describe_services

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.running_count = self.desired_count
        self.pending_count = 0
        self.capacity_provider_strategy = []
        self._rollout_done_at = None
        self._created_with = self.task_definition
        self._rollback_to = None
        self._watching = False
        self.deployment_configuration = None
        for deployment in self.deployments:
            deployment.update(
                runningCount=self.desired_count,
                pendingCount=0,
                rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
            )

    def create_service(self: Any) -> Any:
        strategy = self._get_param("capacityProviderStrategy")
        configuration = self._get_param("deploymentConfiguration")
        result = original_create(self)
        cluster = self.ecs_backend._get_cluster(self._get_param("cluster", "default"))
        service = self.ecs_backend.services[f"{cluster.name}:{self._get_param('serviceName')}"]
        if configuration:
            # Kept as given (alarms, strategy, bake time, ...), as UpdateService already keeps it.
            service.deployment_configuration = configuration
        if strategy:
            service.capacity_provider_strategy = strategy
            # A service placed by capacity providers has no launch type in ECS's answers.
            service.launch_type = None
            for deployment in service.deployments:
                deployment["launchType"] = None
                deployment["capacityProviderStrategy"] = strategy
                deployment["platformFamily"] = "FARGATE"
        return result

    def update_service(self: Any, service_properties: Dict[str, Any]) -> Any:
        props = dict(service_properties)
        cluster = self._get_cluster(props.get("cluster", "default"))
        name = str(props.get("service", "")).split("/")[-1]
        current = self.services.get(f"{cluster.name}:{name}")
        before = (
            (current.task_definition, list(current.capacity_provider_strategy or [])) if current is not None else None
        )
        forced = bool(props.get("force_new_deployment"))
        last_completed = _last_completed(current) if current is not None else None
        service = original_update(self, service_properties)
        if service.capacity_provider_strategy:
            service.launch_type = None
        elif service.launch_type is None:
            service.launch_type = "FARGATE"
        service.running_count = 0 if _fails(service) else service.desired_count
        service.pending_count = 0
        after = (service.task_definition, list(service.capacity_provider_strategy or []))
        if forced or before != after:
            _start_deployment(service, rollout_seconds, last_completed)
        else:
            for deployment in service.deployments:
                if deployment.get("status") == "PRIMARY":
                    deployment.update(desiredCount=service.desired_count, runningCount=service.desired_count)
        return service

    def describe_services(self: Any, *args: Any, **kwargs: Any) -> Any:
        found, failures = original_describe(self, *args, **kwargs)
        for service in found:
            _settle_deployment(service)
        return found, failures

    service_cls.__init__ = init
    responses.EC2ContainerServiceResponse.create_service = create_service
    backend_cls.update_service = update_service
    backend_cls.describe_services = describe_services


def _fails(service: Any) -> bool:
    """A deployment of this service fails: named in ``MOTO_FAIL_DEPLOYMENTS`` and running a
    revision other than the one it was created with."""
    names = {n.strip() for n in os.environ.get(FAIL_DEPLOYMENTS_ENV, "").split(",") if n.strip()}
    return service.name in names and service.task_definition != getattr(service, "_created_with", None)


def _last_completed(service: Any) -> Optional[Dict[str, Any]]:
    """The service's last completed deployment (what an alarm rollback returns to)."""
    return next(
        (dict(d) for d in service.deployments if d.get("status") == "PRIMARY" and d.get("rolloutState") == "COMPLETED"),
        None,
    )


def _bake_seconds() -> float:
    raw = os.environ.get(DEPLOYMENT_BAKE_ENV, "").strip()
    return max(0.0, float(raw)) if raw else 0.0


def _watched_alarms(service: Any) -> Tuple[List[str], bool]:
    """(alarm names, rollback) of the service's deployment alarms; no names when disabled."""
    alarms = (getattr(service, "deployment_configuration", None) or {}).get("alarms") or {}
    if not alarms.get("enable"):
        return [], False
    return [str(n) for n in alarms.get("alarmNames") or []], bool(alarms.get("rollback"))


def _alarms_firing(service: Any, names: List[str], since: Any) -> List[str]:
    """The named alarms that went to ALARM at or after ``since`` (the deployment's start) and
    are in it now. ECS judges a deployment by alarms that fire during it: one already in
    ALARM when the deployment starts does not fail it."""
    from moto.cloudwatch.models import cloudwatch_backends

    alarms = cloudwatch_backends[service._account_id][service.region_name].alarms
    return [
        n
        for n in names
        if n in alarms
        and alarms[n].state_value == "ALARM"
        and (since is None or alarms[n].state_updated_timestamp >= since)
    ]


def _start_deployment(service: Any, rollout_seconds: float, last_completed: Optional[Dict[str, Any]] = None) -> None:
    from moto.core.utils import utcnow
    from moto.moto_api._internal import mock_random

    now = utcnow()
    if _fails(service):
        _fail_deployment(service, now, f"ecs-svc/{mock_random.randint(0, 32**12)}")
        return
    watched, _ = _watched_alarms(service)
    service._watching = bool(watched)
    service._rollback_to = last_completed
    service._rollout_seconds = rollout_seconds
    rollout_seconds = rollout_seconds + (_bake_seconds() if watched else 0.0)
    done = rollout_seconds <= 0 and not watched
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    previous = [dict(d, status="ACTIVE") for d in service.deployments if d.get("status") == "PRIMARY"]
    primary = {
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": service.task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": 0 if done else service.desired_count,
        "runningCount": service.desired_count if done else 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "capacityProviderStrategy": list(service.capacity_provider_strategy or []) or None,
        "platformFamily": "FARGATE",
        "rolloutState": "COMPLETED" if done else "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment_id} {'completed' if done else 'in progress'}.",
    }
    service.deployments = [primary] if done else [primary] + previous
    service._rollout_done_at = None if done else time.monotonic() + rollout_seconds
    if watched:
        _settle_deployment(service)  # an alarm already in ALARM fails it at once


def _alarm_failure(service: Any, firing: List[str], rollback: bool) -> None:
    """The PRIMARY deployment FAILED on ``firing`` alarms; with ``rollback``, the service
    back on its last completed deployment's task definition (see the module docstring)."""
    from moto.core.utils import utcnow
    from moto.moto_api._internal import mock_random

    now = utcnow()
    failed = next(d for d in service.deployments if d.get("status") == "PRIMARY")
    names = ", ".join(firing)
    failed.update(
        rolloutState="FAILED",
        rolloutStateReason=f"ECS deployment {failed['id']} failed: alarm(s) {names} in ALARM state.",
        updatedAt=now,
    )
    events = [
        f"(service {service.name}) (deployment {failed['id']}) deployment failed: alarm(s) {names} in ALARM state."
    ]
    target = service._rollback_to
    service._rollback_to = None
    service._watching = False
    if not rollback or target is None:
        service.deployments = [failed]
        service._rollout_done_at = None
    else:
        service.task_definition = target["taskDefinition"]
        restored = {
            **target,
            "id": target.get("id") or f"ecs-svc/{mock_random.randint(0, 32**12)}",
            "status": "PRIMARY",
            "desiredCount": service.desired_count,
            "runningCount": 0,
            "pendingCount": service.desired_count,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {target.get('id')} in progress.",
            "updatedAt": now,
        }
        failed["status"] = "ACTIVE"
        service.deployments = [restored, failed]
        # the rollback rolls out like any deployment; the failed one drains meanwhile
        service._rollout_done_at = time.monotonic() + getattr(service, "_rollout_seconds", 0.0)
        events.append(
            f"(service {service.name}) rolling back to deployment {restored['id']} "
            f"(task definition {target['taskDefinition']}) after alarm(s) {names} went to ALARM."
        )
    for message in events:
        service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": now, "message": message})


def _fail_deployment(service: Any, now: Any, deployment_id: str) -> None:
    service.deployments = [
        {
            "id": deployment_id,
            "status": "PRIMARY",
            "taskDefinition": service.task_definition,
            "desiredCount": service.desired_count,
            "pendingCount": 0,
            "runningCount": 0,
            "failedTasks": 1,
            "createdAt": now,
            "updatedAt": now,
            "launchType": service.launch_type,
            "capacityProviderStrategy": list(service.capacity_provider_strategy or []) or None,
            "platformFamily": "FARGATE",
            "rolloutState": "FAILED",
            "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start.",
        }
    ]
    service.running_count = 0
    service._rollout_done_at = None


def _settle_deployment(service: Any) -> None:
    """Fail a deployment whose alarms fire before it completes; complete a rollout whose time
    has come: the new tasks run, the old deployment drains."""
    done_at = getattr(service, "_rollout_done_at", None)
    if done_at is None:
        return
    if getattr(service, "_watching", False):
        names, rollback = _watched_alarms(service)
        rolling: Dict[str, Any] = next((d for d in service.deployments if d.get("status") == "PRIMARY"), {})
        firing = _alarms_firing(service, names, rolling.get("createdAt"))
        if firing:
            _alarm_failure(service, firing, rollback)
            return
    if time.monotonic() < done_at:
        return
    from moto.core.utils import utcnow

    primary = [d for d in service.deployments if d.get("status") == "PRIMARY"]
    for deployment in primary:
        deployment.update(
            runningCount=service.desired_count,
            pendingCount=0,
            rolloutState="COMPLETED",
            rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
            updatedAt=utcnow(),
        )
    service.deployments = primary
    service.running_count = service.desired_count
    service._rollout_done_at = None
    service._watching = False


# ----------------------------------------------------------------------------- ECR


def _patch_ecr() -> None:
    from moto.ecr import models

    original_put = models.ECRBackend.put_image
    original_size = models.Image.get_image_size_in_bytes
    lock = threading.Lock()

    def put_image(self: Any, repository_name: str, *args: Any, **kwargs: Any) -> Any:
        with lock:
            known = (
                {id(i) for i in self.repositories[repository_name].images}
                if repository_name in self.repositories
                else set()
            )
            image: Any = original_put(self, repository_name, *args, **kwargs)
            if id(image) not in known:
                others: List[float] = [
                    i.image_pushed_at for i in self.repositories[repository_name].images if i is not image
                ]
                stamp = time.time()
                if others and stamp <= max(others):
                    stamp = max(others) + 0.001
                image.image_pushed_at = stamp
            return image

    def image_size(self: Any) -> Optional[int]:
        manifest = json.loads(self.image_manifest)
        layers = manifest.get("layers")
        if layers and all("size" in layer for layer in layers):
            return int(sum(int(layer["size"]) for layer in layers))
        return original_size(self)

    models.ECRBackend.put_image = put_image
    models.Image.get_image_size_in_bytes = image_size


# ----------------------------------------------------------------------------- CloudWatch


def _dimension_key(dimensions: Iterable[Any]) -> Tuple[Tuple[str, str], ...]:
    pairs = []
    for d in dimensions or []:
        if isinstance(d, dict):
            pairs.append((str(d["Name"]), str(d["Value"])))
        else:
            pairs.append((str(d.name), str(d.value)))
    return tuple(sorted(pairs))


def _patch_cloudwatch() -> None:
    from moto.cloudwatch import models

    backend_cls = models.CloudWatchBackend
    original = backend_cls.get_metric_data

    def get_metric_data(
        self: Any,
        queries: List[Dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> List[Dict[str, Any]]:
        if not queries or any("MetricStat" not in q for q in queries):
            return original(self, queries, start_time, end_time, scan_by)
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        if start_time >= end_time:
            # moto's own validation messages for these cases.
            return original(self, queries, start_time, end_time, scan_by)
        index: Dict[Tuple[str, str, Tuple[Tuple[str, str], ...]], List[Any]] = {}
        for datum in self.get_all_metrics():
            if start_time <= datum.timestamp < end_time:
                key = (datum.namespace, datum.name, _dimension_key(datum.dimensions))
                index.setdefault(key, []).append(datum)
        results = []
        for query in queries:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            delta = timedelta(seconds=int(stat["Period"]))
            key = (metric["Namespace"], metric["MetricName"], _dimension_key(metric.get("Dimensions", [])))
            buckets: Dict[int, List[Any]] = {}
            for datum in index.get(key, []):
                if stat.get("Unit") and datum.unit != stat["Unit"]:
                    continue
                buckets.setdefault(int((datum.timestamp - start_time) / delta), []).append(datum)
            timestamps, values = [], []
            for slot in sorted(buckets):
                period_start = start_time + slot * delta
                stats = models.Statistics([stat["Stat"]], period_start)
                stats.metric_data = buckets[slot]
                timestamps.append(period_start)
                values.append(stats.get_statistics_for_type(stat["Stat"]))
            if scan_by == "TimestampDescending":
                timestamps.reverse()
                values.reverse()
            if query.get("ReturnData", True):
                results.append(
                    {
                        "id": query["Id"],
                        "label": query.get("Label") or f"{metric['MetricName']} {stat['Stat']}",
                        "values": values,
                        "timestamps": timestamps,
                        "status_code": "Complete",
                    }
                )
        return results

    backend_cls.get_metric_data = get_metric_data


def _patch_alarm_history() -> None:
    from moto.cloudwatch import models, responses
    from moto.cloudwatch.exceptions import InvalidParameterValue
    from moto.core.responses import ActionResult

    original_set_state = models.CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        old = (alarm.state_value, alarm.state_reason) if alarm is not None else None
        original_set_state(self, alarm_name, reason, reason_data, state_value)
        alarm = self.alarms[alarm_name]
        if old is None or old[0] == state_value:
            return  # CloudWatch records a state update when the state changes
        new_state: Dict[str, Any] = {"stateValue": state_value, "stateReason": reason}
        if reason_data:
            new_state["stateReasonData"] = json.loads(reason_data)
        data = {"version": "1.0", "oldState": {"stateValue": old[0], "stateReason": old[1]}, "newState": new_state}
        self.__dict__.setdefault("alarm_history_items", []).append(
            {
                "AlarmName": alarm_name,
                "AlarmType": "CompositeAlarm" if alarm.rule is not None else "MetricAlarm",
                "Timestamp": _aware(alarm.state_updated_timestamp),
                "HistoryItemType": "StateUpdate",
                "HistorySummary": f"Alarm updated from {old[0]} to {state_value}",
                "HistoryData": json.dumps(data),
            }
        )

    def describe_alarm_history(self: Any) -> Any:
        backend = self.cloudwatch_backend
        items = list(backend.__dict__.get("alarm_history_items", []))
        name = self._get_param("AlarmName")
        types = self._get_param("AlarmTypes") or ["MetricAlarm"]
        kind = self._get_param("HistoryItemType")
        start, end = self._get_param("StartDate"), self._get_param("EndDate")
        max_records = int(self._get_param("MaxRecords") or 100)
        if not 1 <= max_records <= 100:
            raise InvalidParameterValue("MaxRecords must be between 1 and 100")
        descending = (self._get_param("ScanBy") or "TimestampDescending") == "TimestampDescending"

        def wanted(item: Dict[str, Any]) -> bool:
            at = item["Timestamp"]
            return (
                (not name or item["AlarmName"] == name)
                and item["AlarmType"] in types
                and (not kind or item["HistoryItemType"] == kind)
                and (start is None or at >= _aware(start))
                and (end is None or at <= _aware(end))
            )

        chosen = sorted((i for i in items if wanted(i)), key=lambda i: i["Timestamp"], reverse=descending)
        token = self._get_param("NextToken")
        first = int(token) if token and str(token).isdigit() else 0
        page = chosen[first : first + max_records]
        result: Dict[str, Any] = {"AlarmHistoryItems": page}
        if first + max_records < len(chosen):
            result["NextToken"] = str(first + max_records)
        return ActionResult(result)

    models.CloudWatchBackend.set_alarm_state = set_alarm_state
    responses.CloudWatchResponse.describe_alarm_history = describe_alarm_history


def _aware(value: Any) -> datetime:
    """A request timestamp as an aware UTC datetime (moto's own timestamps are aware)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


_PATCHED: List[float] = []


def apply_fidelity_patches(rollout_seconds: float = 0.0) -> None:
    """Apply every fix described in the module docstring to this process's moto, once (a
    second call, with any ``rollout_seconds``, changes nothing)."""
    if _PATCHED:
        return
    _PATCHED.append(rollout_seconds)
    _patch_ecs(rollout_seconds)
    _patch_ecr()
    _patch_cloudwatch()
    _patch_alarm_history()
    patch_page_sizes()
    patch_json_filter_patterns()
    patch_in_process()


# ----------------------------------------------------------------------------- process


def _exit_when_parent_goes() -> None:
    """Block until stdin closes (the parent exited or closed our pipe), then exit at once."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def _stop_on_sigterm(server: Any) -> None:
    """SIGTERM ends ``serve_forever`` (from another thread, as it requires), then the process."""

    def handle(signum: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, name="shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, handle)


def serve(host: str, port: int, rollout_seconds: float, detached: bool = False, instance: str = "") -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    # One log line per request would cost more than some requests; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    apply_fidelity_patches(rollout_seconds)
    app = CallCounter(SavingsPlansApp(DomainDispatcherApplication(create_backend_app)), instance)
    # werkzeug explains a port in use over several lines and exits 1; say it in one, exit 2.
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            probe.bind((host, port))
        server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    os.environ["MOTO_PORT"] = str(server.server_port)
    print(f"listening on http://{host}:{server.server_port}", flush=True)
    # Nobody reads stdout after that line; anything printed later goes to the log instead
    # of filling a pipe until the server blocks.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    if detached:
        _stop_on_sigterm(server)
    else:
        threading.Thread(target=_exit_when_parent_goes, name="parent-watch", daemon=True).start()
    server.serve_forever()


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 (default) picks a free one")
    parser.add_argument(
        "--rollout-seconds",
        type=float,
        default=0.0,
        help="how long an ECS deployment stays IN_PROGRESS before it completes (default 0)",
    )
    parser.add_argument(
        "--detached",
        action="store_true",
        help="run until SIGTERM instead of exiting when standard input closes (ecs-optimizer-lab up)",
    )
    parser.add_argument("--instance", default="", help="a name for this server, shown at GET /_emulator/info")
    args = parser.parse_args(argv)
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        # An emulator answers any caller with full "AWS" access: never expose it.
        parser.error(f"--host {args.host}: the emulator binds loopback addresses only (127.0.0.1, ::1)")
    serve(args.host, args.port, args.rollout_seconds, detached=args.detached, instance=args.instance)


if __name__ == "__main__":
    main()
