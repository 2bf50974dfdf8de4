"""Alarm thresholds for a new task size: held above autoscaling's target, or keeping the same absolute spare capacity."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Optional

from ..core import facts
from ..core.model import ServiceState

#: The alarm kinds a service has, and the ones this module treats apart (checked against the facts).
ALARM_KINDS = tuple(facts.service_alarm_patterns())
CPU_HIGH = facts.alarm_kind("cpuHigh")
MEMORY_HIGH = facts.alarm_kind("memoryHigh")
RUNNING_TASKS_LOW = facts.alarm_kind("runningTasksLow")
#: Kinds that count hosts or responses, which a task size does not change.
COUNTING_KINDS = (facts.alarm_kind("unhealthyHosts"), facts.alarm_kind("http5xx"))

#: Alarm thresholds recomputed for a new task size stay inside this band (percent): below 50
#: an alarm would fire on ordinary load, above 95 it would fire too late to act on.
ALARM_THRESHOLD_BAND = (50.0, 95.0)

#: Percentage points a cpu-high / memory-high alarm sits above the service's autoscaling
#: target-tracking value for the same metric. Autoscaling holds the metric at its target, so an
#: alarm at or below it would fire whenever the service is simply busy; 10 points above, it
#: fires when autoscaling can no longer hold the target (at its maximum, or scaling too slowly).
ALARM_TARGET_MARGIN = 10.0


def alarm_threshold(
    kind: str,
    old_threshold: float,
    before: ServiceState,
    after: ServiceState,
    autoscaling_target: Optional[float] = None,
) -> float:
    """The threshold an alarm of ``kind`` needs once ``before`` has become ``after``.

    ``cpuHigh`` / ``memoryHigh`` are percentages of the task reservation. When the service
    has a target-tracking policy on the same metric (``autoscaling_target``, percent), the
    alarm is set to that target plus :data:`ALARM_TARGET_MARGIN`, whatever the task size:
    autoscaling keeps the metric near its target, so only a load it cannot absorb crosses the
    alarm. The value depends on nothing the run changes, so a re-run after an interrupted run
    sets exactly what an uninterrupted one does.

    Without such a policy, a smaller task reaches a given absolute load at a higher
    percentage, so the alarm keeps the same absolute spare capacity:
    ``100 - (100 - old) x old_size / new_size`` (80% of 512 units -> 60% of 256). Both are
    clamped to :data:`ALARM_THRESHOLD_BAND` and rounded to 0.1.

    ``runningTasksLow`` watches for the service falling below its floor, so it is the
    autoscaling minimum the run leaves (also when an interrupted run already set that
    minimum). ``unhealthyHosts`` and ``http5xx`` count hosts and responses, which a task size
    does not change. Whatever did not change keeps its threshold exactly, so a re-run
    rewrites nothing.
    """
    if kind not in ALARM_KINDS:
        raise ValueError(f"alarm kind {kind!r} is not one of: {', '.join(ALARM_KINDS)}")
    if kind == RUNNING_TASKS_LOW:
        return float(after.min_capacity)
    if kind in COUNTING_KINDS:
        return old_threshold
    if autoscaling_target is not None:
        return tracking_alarm_threshold(autoscaling_target)
    old_size, new_size = (before.cpu, after.cpu) if kind == CPU_HIGH else (before.memory, after.memory)
    if old_size == new_size:
        return old_threshold
    # Decimal so that a threshold like 80.95 rounds up as written, not down as its float does.
    hundred = Decimal(100)
    return _in_band(hundred - (hundred - Decimal(str(old_threshold))) * old_size / new_size)


def tracking_alarm_threshold(autoscaling_target: float) -> float:
    """The cpu-high / memory-high threshold for a metric autoscaling tracks at
    ``autoscaling_target`` percent: :data:`ALARM_TARGET_MARGIN` above it, in the band, to 0.1.

    It does not depend on the task size, so sizing can plan against it before it picks one.
    """
    return _in_band(Decimal(str(autoscaling_target)) + Decimal(str(ALARM_TARGET_MARGIN)))


def _in_band(wanted: Decimal) -> float:
    low, high = (Decimal(str(bound)) for bound in ALARM_THRESHOLD_BAND)
    clamped = min(high, max(low, wanted))
    return float(clamped.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
