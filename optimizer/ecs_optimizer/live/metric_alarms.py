"""Reads and writes of the services' CloudWatch metric alarms: every field but the threshold
copied through PutMetricAlarm's own input shape (see :mod:`resources`)."""

from __future__ import annotations

from typing import Any, Dict, List

from .aws import AwsContext, describe_in_batches
from .resources import input_fields

#: The IAM actions this module's AWS calls need (collected into iam_actions.json by
#: :mod:`ecs_optimizer.apply.permissions`).
IAM_ACTIONS = ("cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm")

#: DescribeAlarms: the most alarm names one call takes (the API's limit).
DESCRIBE_ALARMS_BATCH = 100


def describe_alarms(ctx: AwsContext, names: List[str]) -> Dict[str, dict]:
    """Metric alarms by name, 100 names per call (the API's limit)."""
    return describe_in_batches(
        ctx.cloudwatch.describe_alarms,
        "MetricAlarms",
        "AlarmName",
        "AlarmNames",
        sorted(set(names)),
        DESCRIBE_ALARMS_BATCH,
        AlarmTypes=["MetricAlarm"],
    )


#: PutMetricAlarm refuses these beside ``Metrics``, which holds them per query instead.
#: DescribeAlarms can still return some for a metric-math alarm (an empty ``Dimensions``).
SINGLE_METRIC_FIELDS = ("Namespace", "MetricName", "Dimensions", "Period", "Unit", "Statistic", "ExtendedStatistic")


def set_alarm_threshold(ctx: AwsContext, alarm: dict, threshold: float) -> None:
    """PutMetricAlarm with every field of ``alarm`` unchanged but the threshold.

    The alarm's tags are neither read nor sent: PutMetricAlarm on an existing alarm ignores
    ``Tags`` and keeps the tags the alarm has (tags change only through TagResource and
    UntagResource). A metric-math alarm (``Metrics``) is sent with its queries and none of the
    single-metric fields, which the API rejects alongside them.
    """
    params = input_fields(ctx.cloudwatch.raw, "PutMetricAlarm", alarm)
    if params.get("Metrics"):
        for key in SINGLE_METRIC_FIELDS:
            params.pop(key, None)
    params["Threshold"] = float(threshold)
    ctx.cloudwatch.put_metric_alarm(**params)


def same_number(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-9
