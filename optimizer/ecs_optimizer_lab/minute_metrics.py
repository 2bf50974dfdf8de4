"""Minute-by-minute service metrics around a run, for ``verify``: what ECS and the load
balancer publish every minute, written into the emulator for a time range.

Per ECS service and minute: ``AWS/ECS`` ``CPUUtilization`` and ``MemoryUtilization`` (dimensions
ClusterName, ServiceName); per target group of the service, when it has traffic,
``AWS/ApplicationELB`` ``RequestCount``, ``HTTPCode_Target_5XX_Count`` and
``TargetResponseTime`` (dimensions LoadBalancer, TargetGroup). The load balancer publishes
nothing for a minute without requests, and no 5xx count for a minute without errors, as AWS
does; the values are constant over the range (a test states the load it means).

A run's journal is written as the run goes, so its after window starts when it ends. To
verify a run "that finished N minutes ago" without waiting, :func:`date_back_journal` moves
every time in the journal N minutes earlier (the times are the only thing that changes), and
the metrics are written around the new times.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Sequence, Tuple

from ecs_optimizer.live.aws import chunks

#: PutMetricData: the most items one call takes.
METRIC_DATA_PER_CALL = 1000
ELB_NAMESPACE = "AWS/ApplicationELB"


@dataclass(frozen=True)
class MinuteLoad:
    """One minute of a service: utilization in percent, requests and 5xx responses per target
    group, and the targets' average response time in seconds."""

    cpu: float
    memory: float
    requests: float = 0.0
    errors_5xx: float = 0.0
    response_time: float = 0.0


@dataclass(frozen=True)
class ServiceLoad:
    service_name: str
    target_groups: Tuple[str, ...]
    load: MinuteLoad


def minutes(start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    """Every whole minute in [start, end)."""
    at = start.replace(second=0, microsecond=0)
    if at < start:
        at += dt.timedelta(minutes=1)
    while at < end:
        yield at
        at += dt.timedelta(minutes=1)


def _items(cluster: str, load_balancer: str, svc: ServiceLoad, at: dt.datetime) -> Iterator[Tuple[str, Dict[str, Any]]]:
    ecs_dims = [{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": svc.service_name}]
    for name, value in (("CPUUtilization", svc.load.cpu), ("MemoryUtilization", svc.load.memory)):
        yield (
            "AWS/ECS",
            {"MetricName": name, "Dimensions": ecs_dims, "Timestamp": at, "Value": value, "Unit": "Percent"},
        )
    if svc.load.requests <= 0:
        return
    for group in svc.target_groups:
        dims = [{"Name": "LoadBalancer", "Value": load_balancer}, {"Name": "TargetGroup", "Value": group}]
        values = [
            ("RequestCount", svc.load.requests, "Count"),
            ("TargetResponseTime", svc.load.response_time, "Seconds"),
        ]
        if svc.load.errors_5xx > 0:
            values.append(("HTTPCode_Target_5XX_Count", svc.load.errors_5xx, "Count"))
        for name, value, unit in values:
            yield ELB_NAMESPACE, {"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": value, "Unit": unit}


def write_minute_metrics(
    client: Any,
    cluster: str,
    load_balancer: str,
    services: Sequence[ServiceLoad],
    start: dt.datetime,
    end: dt.datetime,
) -> int:
    """Write every minute of [start, end) for ``services`` through the CloudWatch ``client``;
    returns the datapoints written."""
    by_namespace: Dict[str, List[Dict[str, Any]]] = {}
    for at in minutes(start, end):
        for svc in services:
            for namespace, item in _items(cluster, load_balancer, svc, at):
                by_namespace.setdefault(namespace, []).append(item)
    for namespace, items in sorted(by_namespace.items()):
        for batch in chunks(items, METRIC_DATA_PER_CALL):
            client.put_metric_data(Namespace=namespace, MetricData=batch)
    return sum(len(items) for items in by_namespace.values())


def service_loads(
    compute_outputs: Mapping[str, Any], loads: Mapping[str, MinuteLoad], default: MinuteLoad
) -> List[ServiceLoad]:
    """Each service of the compute outputs with its target groups and its load (``loads`` by
    catalog name, else ``default``)."""
    out = []
    for name, spec in sorted(compute_outputs.get("services", {}).items()):
        groups = tuple(g for g in (spec.get("targetGroupArnSuffix"), spec.get("alternateTargetGroupArnSuffix")) if g)
        out.append(ServiceLoad(spec["serviceName"], groups, loads.get(name, default)))
    return out


def _earlier(value: Any, by: dt.timedelta) -> Any:
    if isinstance(value, dict):
        return {
            k: (_shift_time(v, by) if k == "time" and isinstance(v, str) else _earlier(v, by)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_earlier(v, by) for v in value]
    return value


def _shift_time(text: str, by: dt.timedelta) -> str:
    at = dt.datetime.fromisoformat(text.replace("Z", "+00:00")) - by
    return at.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def date_back_journal(journal: Path, by: dt.timedelta) -> Tuple[dt.datetime, dt.datetime]:
    """Move every ``time`` in the journal at ``journal`` ``by`` earlier, in place; returns
    the run's new (start, end): its header's time and its latest line's."""
    lines = [_earlier(json.loads(line), by) for line in journal.read_text().splitlines() if line.strip()]
    journal.write_text("".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))
    times = [dt.datetime.fromisoformat(line["time"].replace("Z", "+00:00")) for line in lines if "time" in line]
    return times[0], max(times)
