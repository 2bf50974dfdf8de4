"""The autoscaling maximum and the alarms: at its maximum a service's busiest hour must stay
below the cpu-high / memory-high thresholds, or the alarm fires although nothing is wrong.
Pure (no AWS call); :func:`sizing.plan_service` applies it to every policy's result."""

from __future__ import annotations

import math
from typing import List, Mapping, Tuple

from ..core.fargate import all_pairs
from ..core.model import ServiceState
from ..core.usage import Usage
from .alarm_thresholds import CPU_HIGH, MEMORY_HIGH, tracking_alarm_threshold
from .task_sizes import Size, fmt_size, task_hourly


def peak_demand(current: ServiceState, usage: Usage) -> Tuple[float, float]:
    """(CPU units, MiB) the whole service used at its busiest: the highest hourly average CPU
    (p95 when the peak is unknown) and the highest memory, over what ``current`` reserves."""
    peak_cpu = usage.cpu_peak_pct if usage.cpu_peak_pct is not None else usage.cpu_p95_pct
    return (
        peak_cpu / 100.0 * current.cpu * current.desired_count,
        usage.mem_peak_pct / 100.0 * current.memory * current.desired_count,
    )


def tasks_below_alarm(demand: float, per_task: int, threshold_pct: float) -> int:
    """The fewest tasks of ``per_task`` units over which ``demand`` stays strictly below
    ``threshold_pct`` percent of each task (at least 1)."""
    return max(1, math.floor(demand / (per_task * threshold_pct / 100.0)) + 1)


def _tasks_below_alarms(demand: Tuple[float, float], size: Size, thresholds: Mapping[str, float]) -> int:
    needs = [1]
    if CPU_HIGH in thresholds:
        needs.append(tasks_below_alarm(demand[0], size[0], thresholds[CPU_HIGH]))
    if MEMORY_HIGH in thresholds:
        needs.append(tasks_below_alarm(demand[1], size[1], thresholds[MEMORY_HIGH]))
    return max(needs)


def alarm_safe_ceiling(
    current: ServiceState,
    usage: Usage,
    size: Size,
    autoscaling_targets: Mapping[str, float],
    notes: List[str],
) -> Tuple[Size, int]:
    """(size, autoscaling maximum) such that the busiest observed hour, spread over the
    maximum, stays below the cpu-high / memory-high thresholds the plan sets.

    Autoscaling holds a tracked metric at its target and the alarm sits a margin above it
    (:func:`alarm_thresholds.tracking_alarm_threshold`), so the alarm only fires when the
    autoscaler cannot add tasks: at its maximum. Sizing covers the busiest hour at up to 100%
    of a task, so at a maximum that low the alarm fires although nothing is wrong. When the
    busiest hour at today's maximum is at or above an alarm, there are two remedies:

    * raise the maximum to the fewest tasks that keep the busiest hour strictly below the
      alarms. It costs nothing until the autoscaler uses it, and then only in the hours
      whose load needs the extra tasks;
    * keep the maximum and grow the size to the cheapest Fargate pair, no smaller than
      ``size`` in CPU or memory, that keeps the busiest hour below the alarms at it. That
      costs more on every task in every hour.

    The maximum is raised unless growing the size makes the service cheaper at its top
    (maximum x task price), so the plan never leaves the service able to spend more in its
    busiest hour than the other remedy would. Metrics without a target-tracking value have
    no alarm tied to the maximum and are left out. Every input is absolute (the peak demand,
    the sizing result, the maximum), so a re-run reaches the same answer and changes nothing.
    """
    thresholds = {
        kind: tracking_alarm_threshold(target)
        for kind, target in autoscaling_targets.items()
        if kind in (CPU_HIGH, MEMORY_HIGH)
    }
    if not thresholds:
        return size, current.max_capacity
    demand = peak_demand(current, usage)
    needed = _tasks_below_alarms(demand, size, thresholds)
    if needed <= current.max_capacity:
        return size, current.max_capacity
    what = " and ".join(f"{kind} {value:g}%" for kind, value in sorted(thresholds.items()))
    arch = current.architecture
    larger = [
        pair
        for pair in all_pairs()
        if pair[0] >= size[0]
        and pair[1] >= size[1]
        and _tasks_below_alarms(demand, pair, thresholds) <= current.max_capacity
    ]
    grown = min(larger, key=lambda s: (task_hourly(s, arch), s[0], s[1])) if larger else None
    if grown is None or needed * task_hourly(size, arch) <= current.max_capacity * task_hourly(grown, arch):
        notes.append(
            f"autoscaling maximum raised from {current.max_capacity} to {needed} so that the busiest "
            f"observed hour stays below the alarms ({what}) when autoscaling is at its maximum"
        )
        return size, needed
    notes.append(
        f"grown from {fmt_size(size)} to {fmt_size(grown)} so that the busiest observed hour stays "
        f"below the alarms ({what}) at the autoscaling maximum of {current.max_capacity}: cheaper "
        f"at the top than raising the maximum to {needed}"
    )
    return grown, current.max_capacity
