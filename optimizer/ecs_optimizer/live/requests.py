"""The requests a service's load balancer target groups served: the request half of the idle check.

An ECS service behind an Application Load Balancer registers its tasks with one or more target
groups (``loadBalancers[].targetGroupArn`` of DescribeServices, which the inventory already
holds). The load balancer publishes ``RequestCountPerTarget`` per target group (namespace
``AWS/ApplicationELB``, the one target-group metric whose sole dimension is ``TargetGroup``,
the ARN's ``targetgroup/<name>/<id>`` suffix). AWS documents it as always reported, with
``Sum`` as its statistic, so a target group that served nothing has zeros, and a sum of zero
over the lookback means no request reached the service.

The queries built here go into the same ``GetMetricData`` calls as the service's CPU and
memory (:func:`live.metrics.fetch_series`): the idle check costs no call of its own.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

NAMESPACE = "AWS/ApplicationELB"
METRIC = "RequestCountPerTarget"
STAT = "Sum"


def target_group_suffix(target_group_arn: str) -> str:
    """``targetgroup/<name>/<id>``: the ``TargetGroup`` dimension value of a target group ARN."""
    return target_group_arn.rsplit(":", 1)[-1]


def service_target_groups(service: Mapping[str, Any]) -> Tuple[str, ...]:
    """The target groups (ARN suffixes, sorted, once each) a DescribeServices entry registers with."""
    arns = (lb.get("targetGroupArn") for lb in service.get("loadBalancers") or [] if isinstance(lb, Mapping))
    return tuple(sorted({target_group_suffix(a) for a in arns if isinstance(a, str) and a}))


def request_query(query_id: str, target_group: str, period: int) -> Dict[str, Any]:
    """The GetMetricData query of one target group's hourly request sums."""
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": NAMESPACE,
                "MetricName": METRIC,
                "Dimensions": [{"Name": "TargetGroup", "Value": target_group}],
            },
            "Period": period,
            "Stat": STAT,
        },
        "ReturnData": True,
    }


def total_requests(series: Iterable[Mapping[Any, float]]) -> Optional[float]:
    """Requests over the lookback from each target group's hourly sums; None when no target
    group returned a datapoint (unknown, which is never taken as idle)."""
    values = [float(v) for s in series for v in s.values() if math.isfinite(float(v))]
    return sum(values) if values else None
