"""History: the CloudWatch utilization the optimizer's metrics policy reads, written as synthetic traces.

:func:`seed_fleet_history` writes two weeks of hourly CPU and memory utilization for every
service of a seeded fleet (one trace shape per service, from :func:`ecs_optimizer_lab.synthetic.fleet_traces`),
with the Container Insights reservations when the cluster has them on. :func:`seed_history`
and :func:`write_history` write the traces a caller chooses, to the emulator or through any
CloudWatch client (moto in-process in the tests).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from ecs_optimizer.live.aws import chunks

from .emulator import emulator_client
from .fleet import FleetSpec
from .synthetic import DEFAULT_SEED, TraceSpec, fleet_traces, generate_trace, history_start
from .workers import Progress, in_parallel, quiet

#: PutMetricData takes at most 1,000 metric data items per call.
METRIC_DATA_PER_CALL = 1000

#: The history ``ecs-optimizer-lab up`` and the demo write: the optimizer's default lookback.
HISTORY_DAYS = 14


@dataclass(frozen=True)
class HistoryReport:
    services: int
    hours: int
    datapoints: int  # metric data items written
    calls: int  # PutMetricData calls
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Reservation:
    """What a service's tasks reserve: task size and how many tasks run."""

    cpu: int  # CPU units per task
    memory: int  # MiB per task
    tasks: int


def fleet_reservations(fleet: FleetSpec) -> Dict[str, Reservation]:
    """ECS service name -> its reservation as the compute outputs declare it."""
    return {
        spec["serviceName"]: Reservation(int(spec["cpu"]), int(spec["memory"]), int(spec["desiredCount"]))
        for spec in fleet.compute_outputs.get("services", {}).values()
    }


def container_insights_enabled(fleet: FleetSpec) -> bool:
    return any(
        s.get("name") == "containerInsights" and s.get("value") in ("enabled", "enhanced")
        for s in fleet.cluster.get("settings", [])
    )


def metric_data(
    cluster: str, service_name: str, hours: Sequence[Any], reservation: Optional[Reservation] = None
) -> Iterator[Dict[str, Any]]:
    """PutMetricData items for one service, one of each metric per hour.

    ``AWS/ECS`` CPU and memory utilization go in as ``StatisticValues`` of the hour's
    five-minute samples: ECS publishes them every minute, and one aggregated item carries
    the same hourly Average and Maximum, which is all a 1-hour period query can see. With a
    ``reservation`` (Container Insights on), ``ECS/ContainerInsights`` ``CpuReserved``,
    ``MemoryReserved`` and ``RunningTaskCount`` are written too, as the service's totals.
    """
    dimensions = [{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": service_name}]
    for hour in hours:
        for name, stats in (("CPUUtilization", hour.cpu), ("MemoryUtilization", hour.memory)):
            yield {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": hour.start,
                "StatisticValues": stats.statistic_values(),
                "Unit": "Percent",
            }
        if reservation is not None:
            for name, value, unit in (
                ("CpuReserved", reservation.cpu * reservation.tasks, "None"),
                ("MemoryReserved", reservation.memory * reservation.tasks, "Megabytes"),
                ("RunningTaskCount", reservation.tasks, "Count"),
            ):
                yield {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": hour.start,
                    "Value": float(value),
                    "Unit": unit,
                    "_namespace": "ECS/ContainerInsights",
                }


def seed_history(
    endpoint: str, region: str, cluster: str, traces: Mapping[str, TraceSpec], **options: Any
) -> HistoryReport:
    """Write the history to the emulator at ``endpoint``; ``options`` are
    :func:`write_history`'s (``days``, ``seed``, ``now``, ``reservations``, ``concurrency``,
    ``progress``)."""
    pool = max(16, int(options.get("concurrency", 8)) * 2)
    return write_history(emulator_client(endpoint, region, "cloudwatch", pool), cluster, traces, **options)


def write_history(
    client: Any,
    cluster: str,
    traces: Mapping[str, TraceSpec],
    days: int = 14,
    seed: int | str = DEFAULT_SEED,
    now: Optional[dt.datetime] = None,
    reservations: Optional[Mapping[str, Reservation]] = None,
    concurrency: int = 8,
    progress: Progress = quiet,
) -> HistoryReport:
    """Write ``days`` of hourly utilization per service through the CloudWatch ``client``,
    ending at the last full hour.

    ``traces`` maps each ECS service name to the shape of its load. ``reservations`` (ECS
    service name -> what it reserved over those days) adds the Container Insights series,
    which the optimizer uses to read each hour against the reservation of that hour. The
    history ends at the last full hour before ``now``, where the optimizer's lookback
    window ends too, so it sees all of it.
    """
    start = history_start(days, now)
    by_namespace: Dict[str, List[Dict[str, Any]]] = {}
    hours = 0
    for service_name in sorted(traces):
        trace = generate_trace(traces[service_name], days, start, seed)
        hours = trace.hour_count
        reservation = (reservations or {}).get(service_name)
        for item in metric_data(cluster, service_name, trace.hours(), reservation):
            namespace = item.pop("_namespace", "AWS/ECS")
            by_namespace.setdefault(namespace, []).append(item)
    batches = [
        (namespace, batch)
        for namespace, items in sorted(by_namespace.items())
        for batch in chunks(items, METRIC_DATA_PER_CALL)
    ]
    total = sum(len(items) for items in by_namespace.values())
    done = [0, 0]
    lock = threading.Lock()

    def put(job: Tuple[str, List[Dict[str, Any]]]) -> None:
        namespace, batch = job
        client.put_metric_data(Namespace=namespace, MetricData=batch)
        with lock:
            done[0] += 1
            done[1] += len(batch)
            if done[0] % 20 == 0 or done[0] == len(batches):
                progress(f"history: {done[0]}/{len(batches)} PutMetricData calls, {done[1]}/{total} datapoints")

    in_parallel(put, batches, concurrency)
    return HistoryReport(
        services=len(traces),
        hours=hours,
        datapoints=total,
        calls=len(batches),
        start=start,
        end=start + dt.timedelta(hours=hours),
    )


@dataclass(frozen=True)
class FleetHistory:
    """What :func:`seed_fleet_history` wrote: each catalog service's trace shape, and the totals."""

    traces: Dict[str, TraceSpec]  # catalog name -> trace
    report: HistoryReport


def seed_fleet_history(
    endpoint: str,
    fleet: FleetSpec,
    seed: int | str = DEFAULT_SEED,
    days: int = HISTORY_DAYS,
    progress: Progress = quiet,
) -> FleetHistory:
    """Write ``days`` of hourly utilization for every service of ``fleet`` (already seeded at
    ``endpoint``), one generated trace per service, with the Container Insights series when
    the cluster has Container Insights on."""
    names = fleet.service_names
    traces = fleet_traces(sorted(names), seed)
    report = seed_history(
        endpoint,
        fleet.region,
        fleet.cluster_name,
        {names[n]: t for n, t in traces.items()},
        days=days,
        seed=seed,
        reservations=fleet_reservations(fleet) if container_insights_enabled(fleet) else None,
        progress=progress,
    )
    return FleetHistory(traces, report)
