"""Load-balancer request history in the lab: what the optimizer's idle check reads.

An Application Load Balancer publishes ``RequestCountPerTarget`` for each target group
(namespace ``AWS/ApplicationELB``, dimension ``TargetGroup``: the target group ARN's suffix,
``targetgroup/<name>/<id>``). AWS documents it as always reported, so a target group that
served nothing shows zeros rather than gaps; its ``Sum`` over an hour is the requests each
target received in that hour. :func:`write_requests` writes one datapoint per hour per target
group, ending at the last full hour (where the optimizer's lookback window ends), so a test
can give one service's target group no requests and the others steady traffic.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Iterator, List, Mapping, Optional

from ecs_optimizer.live.requests import METRIC, NAMESPACE

from .synthetic import history_start

#: PutMetricData takes up to 1,000 metric data items a call.
ITEMS_PER_CALL = 1000


def request_items(target_group: str, start: dt.datetime, hours: int, per_hour: float) -> Iterator[Dict[str, Any]]:
    """One ``RequestCountPerTarget`` item per hour from ``start`` for ``target_group`` (a suffix)."""
    if per_hour < 0:
        raise ValueError(f"requests per hour must not be negative, got {per_hour}")
    for h in range(hours):
        yield {
            "MetricName": METRIC,
            "Dimensions": [{"Name": "TargetGroup", "Value": target_group}],
            "Timestamp": start + dt.timedelta(hours=h),
            "StatisticValues": {
                "SampleCount": 60.0,
                "Sum": float(per_hour),
                "Minimum": 0.0,
                "Maximum": float(per_hour),
            },
            "Unit": "Count",
        }


def write_requests(
    client: Any, target_groups: Mapping[str, float], days: int, now: Optional[dt.datetime] = None
) -> int:
    """Write ``days`` of hourly requests per target group (suffix -> requests per target per
    hour; 0 for a target group that served nothing) through the CloudWatch ``client``;
    returns the datapoints written."""
    start = history_start(days, now)
    items: List[Dict[str, Any]] = [
        item for name in sorted(target_groups) for item in request_items(name, start, days * 24, target_groups[name])
    ]
    for i in range(0, len(items), ITEMS_PER_CALL):
        client.put_metric_data(Namespace=NAMESPACE, MetricData=items[i : i + ITEMS_PER_CALL])
    return len(items)
