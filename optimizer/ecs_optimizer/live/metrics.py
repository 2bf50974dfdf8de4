"""Utilization history from CloudWatch, reduced to :class:`usage.Usage` per service.

The optimizer asks CloudWatch only for plain statistics and computes percentiles itself
from the per-period series (``usage.usage_from_series``): percentile statistics are not
available everywhere the optimizer runs (emulators), and per-period series let the sizing
policy judge how much history there is.

Per service and hour it reads ``AWS/ECS`` ``CPUUtilization`` (Average) and
``MemoryUtilization`` (Maximum), which are percentages of what the service reserved *at that
hour*, and Container Insights' ``CpuReserved`` / ``MemoryReserved`` (Average), which say what
that reservation was. Each hour is re-expressed as a percentage of today's reservation
(task size x desired count), so history recorded before an earlier optimization is not
mistaken for a heavier load on the smaller tasks, and a re-run finds nothing to change.
Hours without a reservation datapoint (Container Insights off) are taken as recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

from ..core.model import ServiceState
from ..core.usage import Usage, usage_from_series
from .aws import AwsContext, chunks
from .requests import request_query, total_requests

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("cloudwatch:GetMetricData",)

log = logging.getLogger(__name__)

PERIOD_SECONDS = 3600
#: GetMetricData limits: 500 queries and 100,800 datapoints per call.
MAX_QUERIES_PER_CALL = 500
MAX_DATAPOINTS_PER_CALL = 100_800


@dataclass(frozen=True)
class MetricSpec:
    key: str  # short id fragment
    namespace: str
    metric_name: str
    stat: str


CPU = MetricSpec("cpu", "AWS/ECS", "CPUUtilization", "Average")
MEMORY = MetricSpec("mem", "AWS/ECS", "MemoryUtilization", "Maximum")
CPU_RESERVED = MetricSpec("cpures", "ECS/ContainerInsights", "CpuReserved", "Average")
MEMORY_RESERVED = MetricSpec("memres", "ECS/ContainerInsights", "MemoryReserved", "Average")
SPECS = (CPU, MEMORY, CPU_RESERVED, MEMORY_RESERVED)
#: Series key prefix of a target group's request sums (``req:<target group>``).
REQUESTS_KEY = "req"

Series = Dict[dt.datetime, float]


def window(lookback_days: int, now: Optional[dt.datetime] = None) -> Tuple[dt.datetime, dt.datetime]:
    """[start, end) aligned to whole periods, ending at the last full hour."""
    now = now or dt.datetime.now(dt.timezone.utc)
    end = now.replace(minute=0, second=0, microsecond=0)
    return end - dt.timedelta(days=lookback_days), end


def queries_per_call(lookback_days: int, period: int = PERIOD_SECONDS) -> int:
    """How many queries of the lookback's periods fit one GetMetricData call."""
    points_per_query = max(1, lookback_days * 86400 // period)
    return max(1, min(MAX_QUERIES_PER_CALL, MAX_DATAPOINTS_PER_CALL // points_per_query))


def services_per_call(lookback_days: int, period: int = PERIOD_SECONDS) -> int:
    """How many services (one query per metric each) fit one GetMetricData call."""
    return max(1, queries_per_call(lookback_days, period) // len(SPECS))


def _query(query_id: str, spec: MetricSpec, cluster: str, service_name: str, period: int) -> dict:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": spec.namespace,
                "MetricName": spec.metric_name,
                "Dimensions": [
                    {"Name": "ClusterName", "Value": cluster},
                    {"Name": "ServiceName", "Value": service_name},
                ],
            },
            "Period": period,
            "Stat": spec.stat,
        },
        "ReturnData": True,
    }


def fetch_series(
    ctx: AwsContext,
    cluster: str,
    service_names: Mapping[str, str],
    lookback_days: int,
    now: Optional[dt.datetime] = None,
    period: int = PERIOD_SECONDS,
    target_groups: Optional[Mapping[str, Tuple[str, ...]]] = None,
) -> Dict[str, Dict[str, Series]]:
    """Per catalog name and metric key, the hourly values by timestamp.

    ``target_groups`` (catalog name -> the target groups its tasks register with) adds each
    target group's request sums under the key ``req:<target group>``, in the same calls: the
    queries of every service are packed into as few GetMetricData calls as its limits allow."""
    start, end = window(lookback_days, now)
    names = sorted(service_names)
    series: Dict[str, Dict[str, Series]] = {n: {s.key: {} for s in SPECS} for n in names}
    wanted: List[Tuple[str, str, dict]] = []  # (name, key, query without its Id)
    for name in names:
        for spec in SPECS:
            wanted.append((name, spec.key, _query("", spec, cluster, service_names[name], period)))
        for group in (target_groups or {}).get(name, ()):
            key = f"{REQUESTS_KEY}:{group}"
            series[name][key] = {}
            wanted.append((name, key, request_query("", group, period)))
    for batch_no, batch in enumerate(chunks(wanted, queries_per_call(lookback_days, period))):
        ids: Dict[str, Tuple[str, str]] = {}
        queries = []
        for i, (name, key, query) in enumerate(batch):
            query_id = f"q{batch_no}_{i}"
            ids[query_id] = (name, key)
            queries.append({**query, "Id": query_id})
        for result in read_metric_data(ctx, queries, start, end):
            name, key = ids[result["Id"]]
            series[name][key].update(zip(result.get("Timestamps", []), (float(v) for v in result.get("Values", []))))
    return series


def read_metric_data(ctx: AwsContext, queries: List[dict], start: dt.datetime, end: dt.datetime) -> List[dict]:
    """All results of one query batch, following NextToken; pages of one Id are merged."""
    merged: Dict[str, dict] = {}
    kwargs = dict(MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending")
    while True:
        page = ctx.cloudwatch.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            into = merged.setdefault(result["Id"], {"Id": result["Id"], "Timestamps": [], "Values": []})
            into["Timestamps"].extend(result.get("Timestamps", []))
            into["Values"].extend(result.get("Values", []))
        token = page.get("NextToken")
        if not token:
            return list(merged.values())
        kwargs["NextToken"] = token


def as_share_of_now(percent: Series, reserved: Series, reserved_now: float) -> List[float]:
    """Each hour's percentage re-expressed against today's total reservation, in time order."""
    out = []
    for ts in sorted(percent):
        then = reserved.get(ts)
        out.append(percent[ts] * then / reserved_now if then and reserved_now > 0 else percent[ts])
    return out


def fetch_history(
    ctx: AwsContext,
    cluster: str,
    service_names: Mapping[str, str],
    current: Mapping[str, ServiceState],
    lookback_days: int,
    now: Optional[dt.datetime] = None,
    target_groups: Optional[Mapping[str, Tuple[str, ...]]] = None,
) -> Tuple[Dict[str, Optional[Usage]], Dict[str, Optional[float]]]:
    """(usage, requests) per catalog name over the lookback, read in the same calls: usage
    as a share of each service's current reservation (percentiles computed client-side;
    None for a service without datapoints); requests summed over the service's target groups
    (``target_groups``), None where it has none or they returned no datapoint."""
    series = fetch_series(ctx, cluster, service_names, lookback_days, now, target_groups=target_groups)
    requests = {
        name: total_requests(v for k, v in s.items() if k.startswith(f"{REQUESTS_KEY}:")) for name, s in series.items()
    }
    usage: Dict[str, Optional[Usage]] = {}
    for name, s in series.items():
        state = current[name]
        cpu = as_share_of_now(s[CPU.key], s[CPU_RESERVED.key], state.cpu * state.desired_count)
        mem = as_share_of_now(s[MEMORY.key], s[MEMORY_RESERVED.key], state.memory * state.desired_count)
        usage[name] = u = usage_from_series(cpu, mem, PERIOD_SECONDS)
        if u is None:
            log.info("%s: no utilization datapoints in the last %d days", name, lookback_days)
        else:
            log.info(
                "%s: %d hourly datapoints over %.1f days (cpu p95 %.1f%%, memory peak %.1f%% of today's reservation)",
                name,
                u.datapoints,
                u.days_covered,
                u.cpu_p95_pct,
                u.mem_peak_pct,
            )
    return usage, requests
