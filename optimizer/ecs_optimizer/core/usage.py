"""Observed utilization: CloudWatch's per-period series reduced to what sizing reads, and rescaled to another task size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from .model import ServiceState


@dataclass(frozen=True)
class Usage:
    """Observed utilization, in percent of the CURRENT task reservation.

    ``AWS/ECS`` ``CPUUtilization`` and ``MemoryUtilization`` are service-wide averages across
    the running tasks, as a percentage of what each task reserves.
    """

    cpu_p95_pct: float
    mem_peak_pct: float
    datapoints: int
    days_covered: float
    #: The busiest period's average CPU; None when unknown (then the p95 stands in for it).
    cpu_peak_pct: Optional[float] = None


def usage_from_series(cpu_series: Sequence[float], mem_series: Sequence[float], period_seconds: int) -> Optional[Usage]:
    """Reduce per-period CloudWatch series to a :class:`Usage`; None when there is no data.

    ``cpu_series`` holds the per-period Averages, ``mem_series`` the per-period Maxima.
    CPU uses the 95th percentile by the nearest-rank method (the smallest observed value
    with at least 95% of the periods at or below it): it is always a value that actually
    occurred, never an interpolation, and is the same whichever order the periods come in.
    Memory uses the peak, because running out of memory kills a task while running out of
    CPU only slows it. Percentiles are computed here rather than asked of CloudWatch so that
    the result does not depend on extended-statistics support.

    ``days_covered`` counts the periods that have both metrics, so gaps in the data shorten
    the history rather than being bridged.
    """
    if period_seconds <= 0:
        raise ValueError(f"period_seconds must be positive, got {period_seconds}")
    cpu = sorted(float(v) for v in cpu_series if math.isfinite(v))
    mem = [float(v) for v in mem_series if math.isfinite(v)]
    if not cpu or not mem:
        return None
    rank = math.ceil(0.95 * len(cpu))  # 1-based nearest rank
    datapoints = min(len(cpu), len(mem))
    return Usage(
        cpu_p95_pct=cpu[rank - 1],
        mem_peak_pct=max(mem),
        datapoints=datapoints,
        days_covered=datapoints * period_seconds / 86400.0,
        cpu_peak_pct=cpu[-1],
    )


def rescale_usage(usage: Usage, before: ServiceState, after: ServiceState) -> Usage:
    """The same absolute need, as a percentage of ``after``'s total reservation.

    What a fresh reading would show once ``after`` is running the same load; used to check
    that a plan is a fixed point, and by callers that hold readings taken before a change.
    """
    cpu_ratio = (before.cpu * before.desired_count) / (after.cpu * after.desired_count)
    mem_ratio = (before.memory * before.desired_count) / (after.memory * after.desired_count)
    return Usage(
        cpu_p95_pct=usage.cpu_p95_pct * cpu_ratio,
        mem_peak_pct=usage.mem_peak_pct * mem_ratio,
        datapoints=usage.datapoints,
        days_covered=usage.days_covered,
        cpu_peak_pct=None if usage.cpu_peak_pct is None else usage.cpu_peak_pct * cpu_ratio,
    )
