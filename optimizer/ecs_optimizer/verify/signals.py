"""The metric series ``verify`` reads, for every service of a run in one batched read.

Per service:

* ``AWS/ECS`` ``CPUUtilization`` (Average) and ``MemoryUtilization`` (Maximum), dimensions
  ClusterName and ServiceName: the statistics the sizing reads (:mod:`metrics`);
* per target group of the service (the compute outputs' ``targetGroupArnSuffix`` and, for
  blue/green, ``alternateTargetGroupArnSuffix``), ``AWS/ApplicationELB`` ``RequestCount``
  (Sum), ``HTTPCode_Target_5XX_Count`` (Sum) and ``TargetResponseTime`` (Average),
  dimensions TargetGroup and LoadBalancer (the network outputs' ``albArnSuffix``).

Every series is read at one period (a minute by default) and reduced here: sums, peaks and
the p99 of the per-period response times are computed client-side from the series, as the
sizing does, because percentile statistics are not available everywhere the optimizer runs.

GetMetricData takes 500 queries and returns 100,800 datapoints a call, with one time range.
The two windows are read either as one range spanning both (the run in between) or as two
ranges, whichever needs fewer calls (:func:`read_plan`), and each range's queries are packed
into as few calls as both limits allow.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Sequence, Tuple

from ..live.aws import AwsContext, chunks
from ..live.metrics import CPU, MAX_DATAPOINTS_PER_CALL, MAX_QUERIES_PER_CALL, MEMORY, MetricSpec, read_metric_data
from .windows import Window, Windows

ELB_NAMESPACE = "AWS/ApplicationELB"
REQUESTS = MetricSpec("req", ELB_NAMESPACE, "RequestCount", "Sum")
ERRORS_5XX = MetricSpec("e5xx", ELB_NAMESPACE, "HTTPCode_Target_5XX_Count", "Sum")
RESPONSE_TIME = MetricSpec("rt", ELB_NAMESPACE, "TargetResponseTime", "Average")
#: Read once per service.
SERVICE_SPECS = (CPU, MEMORY)
#: Read once per target group of a service.
TARGET_GROUP_SPECS = (REQUESTS, ERRORS_5XX, RESPONSE_TIME)

Series = Dict[dt.datetime, float]


@dataclass(frozen=True)
class ServiceMetrics:
    """Where one service's metrics are: its ECS service name and its target groups."""

    service: str
    service_name: str
    target_groups: Tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricRequest:
    service: str
    spec: MetricSpec
    dimensions: Tuple[Tuple[str, str], ...]
    #: The target group for the load balancer's metrics, "" for the service's own.
    target_group: str = ""


@dataclass
class Sides:
    """One metric's series in each window."""

    before: Series = field(default_factory=dict)
    after: Series = field(default_factory=dict)


def requests_for(cluster: str, services: Sequence[ServiceMetrics], load_balancer: str) -> List[MetricRequest]:
    """Every query the services need; the load balancer's only with a load balancer suffix."""
    out: List[MetricRequest] = []
    for svc in services:
        for spec in SERVICE_SPECS:
            out.append(MetricRequest(svc.service, spec, (("ClusterName", cluster), ("ServiceName", svc.service_name))))
        if not load_balancer:
            continue
        for group in svc.target_groups:
            for spec in TARGET_GROUP_SPECS:
                dims = (("LoadBalancer", load_balancer), ("TargetGroup", group))
                out.append(MetricRequest(svc.service, spec, dims, group))
    return out


def points(window: Window, period: int) -> int:
    return max(1, math.ceil(window.length.total_seconds() / period))


def calls_for(queries: int, points_per_query: int) -> int:
    """GetMetricData calls ``queries`` need at ``points_per_query`` datapoints each (the
    fewest both limits allow; 0 for no queries)."""
    if queries <= 0:
        return 0
    return max(
        math.ceil(queries / MAX_QUERIES_PER_CALL), math.ceil(queries * points_per_query / MAX_DATAPOINTS_PER_CALL)
    )


def read_plan(queries: int, windows: Windows) -> List[Window]:
    """The time ranges to read: one spanning both windows, or the two windows, whichever
    takes fewer calls (the span when they tie: half the requests' overhead)."""
    joint = calls_for(queries, points(windows.span, windows.period))
    split = calls_for(queries, points(windows.before, windows.period)) + calls_for(
        queries, points(windows.after, windows.period)
    )
    return [windows.span] if joint <= split else [windows.before, windows.after]


def _query(query_id: str, request: MetricRequest, period: int) -> dict:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": request.spec.namespace,
                "MetricName": request.spec.metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in request.dimensions],
            },
            "Period": period,
            "Stat": request.spec.stat,
        },
        "ReturnData": True,
    }


def read_series(ctx: AwsContext, requests: Sequence[MetricRequest], windows: Windows) -> List[Sides]:
    """Each request's series in the before and after windows (in ``requests`` order)."""
    out = [Sides() for _ in requests]
    if not requests or windows.after.length.total_seconds() < windows.period:
        return out  # nothing after the run yet: nothing to compare
    for span in read_plan(len(requests), windows):
        per_call = max(1, min(MAX_QUERIES_PER_CALL, MAX_DATAPOINTS_PER_CALL // points(span, windows.period)))
        for batch_no, batch in enumerate(chunks(list(range(len(requests))), per_call)):
            ids = {f"q{batch_no}_{i}": i for i in batch}
            queries = [_query(qid, requests[i], windows.period) for qid, i in ids.items()]
            for result in read_metric_data(ctx, queries, span.start, span.end):
                sides = out[ids[result["Id"]]]
                for ts, value in zip(result.get("Timestamps", []), result.get("Values", [])):
                    at = ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)
                    if windows.before.holds(at):
                        sides.before[at] = float(value)
                    elif windows.after.holds(at):
                        sides.after[at] = float(value)
    return out


def by_service(requests: Sequence[MetricRequest], series: Sequence[Sides]) -> Dict[str, Dict[Tuple[str, str], Sides]]:
    """Service -> (metric key, target group) -> its series."""
    out: Dict[str, Dict[Tuple[str, str], Sides]] = {}
    for request, sides in zip(requests, series):
        out.setdefault(request.service, {})[(request.spec.key, request.target_group)] = sides
    return out


def nearest_rank(values: Sequence[float], quantile: float) -> float:
    """The ``quantile`` (0-1] of ``values`` by the nearest-rank method: the smallest observed
    value with at least that share of the values at or below it (a value that occurred)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(quantile * len(ordered))) - 1]


def weighted_response_times(
    groups: Mapping[str, Tuple[Series, Series]],
) -> List[float]:
    """Per period, the target groups' average response times weighted by their request
    counts (``groups``: target group -> (response time, requests)); periods without
    requests are left out."""
    totals: Dict[dt.datetime, List[float]] = {}
    for times, requests in groups.values():
        for ts, seconds in times.items():
            count = requests.get(ts, 0.0)
            if count > 0:
                acc = totals.setdefault(ts, [0.0, 0.0])
                acc[0] += seconds * count
                acc[1] += count
    return [total / count for total, count in (totals[ts] for ts in sorted(totals))]
